// How ids and keys are spelled, exactly as the core spells them (README, "Encoding"): an id as one
// key segment, and a key or pattern as a CDN tag. Pure JS: tags.js and yoga.js build keys with it.

// Rust's char::is_whitespace (Unicode White_Space), which the core uses; JS's \s differs (U+FEFF, U+0085).
const WHITESPACE = /[\t\n\v\f\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]/u;
const utf8 = new TextEncoder();

function hex(byte) {
  return `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
}

/** Encodes an id (a string, or a number as its text) as exactly one key segment, like the core (`encode_segment`). */
export function encodeSegment(value, delimiter = ":") {
  const text = String(value);
  if (text === "") return "%00";
  let out = "";
  for (const ch of text) {
    if (ch === "%" || ch === delimiter || ch === "*" || ch === "{" || ch === "}" || ch === "," || WHITESPACE.test(ch)) {
      for (const b of utf8.encode(ch)) out += hex(b);
    } else {
      out += ch;
    }
  }
  return out;
}

/** A composite key's id segment from its values (SPEC §2): each encoded, joined by a literal `,` (`1,7`). */
export function joinKeyParts(parts, delimiter = ":") {
  return parts.map((part) => encodeSegment(part, delimiter)).join(",");
}

/**
 * The id segment of an entity with `keyFields` key fields from a change's id, like the core
 * (`push_id_segment`): `encodeSegment(id)` for one key field; for a composite key the id is
 * already the segment form (each value encoded, joined by `,`: `1,7`), and each part is decoded
 * and encoded again, so its escapes stay and anything else that needs it is encoded. Undefined
 * when a composite id has another number of parts.
 */
export function idSegmentOf(id, keyFields, delimiter = ":") {
  const text = String(id);
  if (keyFields <= 1) return encodeSegment(text, delimiter);
  const parts = text.split(",");
  if (parts.length !== keyFields) return undefined;
  return parts.map((part) => encodeSegment(part.includes("%") ? decodeSegment(part) : part, delimiter)).join(",");
}

/** Reverses `encodeSegment` (`decode_segment`): `%XX` become their bytes, invalid UTF-8 as U+FFFD. */
function decodeSegment(segment) {
  if (segment === "%00") return "";
  const bytes = [];
  for (let i = 0; i < segment.length; ) {
    if (segment[i] === "%" && /^[0-9A-Fa-f]{2}$/.test(segment.slice(i + 1, i + 3))) {
      bytes.push(parseInt(segment.slice(i + 1, i + 3), 16));
      i += 3;
    } else {
      const ch = String.fromCodePoint(segment.codePointAt(i));
      for (const b of utf8.encode(ch)) bytes.push(b);
      i += ch.length;
    }
  }
  return new TextDecoder().decode(new Uint8Array(bytes));
}

/** Renders a key or pattern as a CDN tag, like the core (`tag_for`): printable ASCII except `,`. */
export function tagForKey(key) {
  let out = "";
  for (const ch of key) {
    const c = ch.codePointAt(0);
    if (c > 0x20 && c < 0x7f && ch !== ",") out += ch;
    else for (const b of utf8.encode(ch)) out += hex(b);
  }
  return out;
}
