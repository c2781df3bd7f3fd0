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
