// Cascade sets as wasm writes them (the compact form, `CompactSet` in the Rust core): numbers in
// wasm memory, read into `{ keys, patterns, tags, trace, depth, truncated }` without a JSON text.
//
// Layout at u32 index p: SET_HEADER words (truncated 0/1, depth, n); then n entries of ENTRY words (key length,
// rule index + 1 or 0, the index + 1 of the key it came from or 0, depth, flags, tag length or 0
// when the tag is the key); then the text's address and length. Keys follow one another in the
// text, then the tags that differ from their key. Plans append more after the text (plans.js).
import { FLAG_COARSE as COARSE, FLAG_PATTERN as PATTERN, SET_ENTRY as ENTRY, SET_HEADER } from "./protocol.js";
import { readText, u32Memory } from "./wasm.js";

// u32 words per key of a compact set, and an entry's flags (a placeholder was made `*`; the key is
// a pattern): generated from the Rust protocol (`src/wasm/protocol.rs`).
export { COARSE, ENTRY, PATTERN };

/**
 * The number of keys of the compact set at u32 index `p`, the index just past its entries (where
 * the text's address and length are), and its text.
 */
export function compactText(p) {
  const meta = u32Memory();
  const n = meta[p + 2];
  const end = p + SET_HEADER + ENTRY * n;
  return { n, end, text: readText(meta[end], meta[end + 1]) };
}

/**
 * The cascade set of the compact set at u32 index `p`. A rule's id is `ruleIds[index]`, or
 * `ruleId(index)` the first time (a call into wasm, which may grow the memory: the view is
 * fetched again after it).
 */
export function readCompactSet(p, ruleIds, ruleId) {
  const { n, end, text } = compactText(p);
  let meta = u32Memory();
  const truncated = meta[p] === 1;
  const depth = meta[p + 1];
  const keys = [];
  const patterns = [];
  const trace = new Array(n);
  // Tags that differ from their key follow the keys in the text; usually there are none, and
  // the tags are the keys then the patterns.
  let tagAt = 0;
  let odd = false;
  for (let m = p + SET_HEADER; m < end; m += ENTRY) {
    tagAt += meta[m];
    if (meta[m + 5] !== 0) odd = true;
  }
  const keyTags = odd ? [] : undefined;
  const patternTags = odd ? [] : undefined;
  let at = 0;
  for (let i = 0, m = p + SET_HEADER; i < n; i++, m += ENTRY) {
    const key = text.slice(at, (at += meta[m]));
    const rule = meta[m + 1];
    const from = meta[m + 2];
    const flags = meta[m + 4];
    if (flags & PATTERN) patterns.push(key);
    else keys.push(key);
    if (odd) {
      const tagLength = meta[m + 5];
      const tag = tagLength === 0 ? key : text.slice(tagAt, (tagAt += tagLength));
      (flags & PATTERN ? patternTags : keyTags).push(tag);
    }
    const entryDepth = meta[m + 3];
    let id = null;
    if (rule !== 0) {
      id = ruleIds[rule - 1];
      if (id === undefined) {
        id = ruleId(rule - 1);
        meta = u32Memory();
      }
    }
    trace[i] = {
      key,
      rule: id,
      from: from === 0 ? null : trace[from - 1].key,
      depth: entryDepth,
      coarse: (flags & COARSE) === COARSE,
    };
  }
  // Copied by hand: `concat` costs more than the loop on arrays this small.
  let tags;
  if (odd) {
    tags = keyTags;
    for (const t of patternTags) tags.push(t);
  } else {
    tags = new Array(n);
    let k = 0;
    for (const t of keys) tags[k++] = t;
    for (const t of patterns) tags[k++] = t;
  }
  return { keys, patterns, tags, trace, depth, truncated };
}
