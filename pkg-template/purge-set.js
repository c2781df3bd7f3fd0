// What every purger of the package shares: the documented limits of each backend (where each
// default comes from), reading and checking a CascadeSet, segment-aware key coverage (SPEC §1),
// and the continuation and settling helpers of the budgeted runners (KV, Cache API).

/** Cloudflare: purge by tag/prefix/hostname accepts at most 100 operations per request on every plan
 * (developers.cloudflare.com/cache/how-to/purge-cache, "Purge limits"). */
export const CLOUDFLARE_MAX_ITEMS_PER_CALL = 100;

/** Fastly: "Up to 256 surrogate keys can be purged in one batch request" (Fastly API reference,
 * POST /service/{service_id}/purge, bulk purge by surrogate key). */
export const FASTLY_MAX_KEYS_PER_CALL = 256;

/** Cloudflare purge rate limits per account for tags, prefixes, hostnames (same docs page): a token
 * bucket per plan. Free: 5 requests/minute, bucket 25; Pro: 5/s, 25; Business: 10/s, 50;
 * Enterprise: 50/s, 500. */
export const CLOUDFLARE_PLAN_LIMITS = Object.freeze({
  free: Object.freeze({ capacity: 25, refillPerSecond: 5 / 60 }),
  pro: Object.freeze({ capacity: 25, refillPerSecond: 5 }),
  business: Object.freeze({ capacity: 50, refillPerSecond: 10 }),
  enterprise: Object.freeze({ capacity: 500, refillPerSecond: 50 }),
});

/** Workers KV: 1,000 operations per Worker invocation (developers.cloudflare.com/kv/platform/limits),
 * and list() returns at most 1,000 keys per page (kv/api/list-keys). */
export const KV_DEFAULT_MAX_OPERATIONS = 1000;
export const KV_MAX_LIST_LIMIT = 1000;

/** Workers allow 6 simultaneous outgoing connections per request (workers/platform/limits); more
 * concurrent deletes would only queue, so 6 is the default fan-out for KV and Cache API deletes. */
export const DEFAULT_CONCURRENCY = 6;

export const CONTINUATION_VERSION = 1;

export function assertDelimiter(delimiter) {
  if (typeof delimiter !== "string" || delimiter.length === 0) {
    throw new TypeError(`cascade-edge purge: delimiter must be a non-empty string, got ${describe(delimiter)}`);
  }
  if (delimiter.includes("*")) {
    throw new TypeError("cascade-edge purge: delimiter must not contain '*' (it is the wildcard segment)");
  }
}

export function describe(value) {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value === "string" ? JSON.stringify(value) : typeof value;
}

export function stringList(set, field) {
  const value = set[field];
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) {
    throw new TypeError(`cascade-edge purge: set.${field} must be an array of strings, got ${describe(value)}`);
  }
  for (let i = 0; i < value.length; i++) {
    if (typeof value[i] !== "string") {
      throw new TypeError(`cascade-edge purge: set.${field}[${i}] must be a string, got ${describe(value[i])}`);
    }
  }
  return value;
}

// A malformed set is a programming error, not a partial purge: throwing is the loud option.
export function readSet(set) {
  if (set === null || typeof set !== "object" || Array.isArray(set)) {
    throw new TypeError(`cascade-edge purge: expected a CascadeSet object, got ${describe(set)}`);
  }
  return { keys: stringList(set, "keys"), patterns: stringList(set, "patterns"), tags: stringList(set, "tags") };
}

export function dedupe(items) {
  return [...new Set(items)];
}

export function isWildcard(item, delimiter) {
  return item.split(delimiter).includes("*");
}

/**
 * Does `pattern` (a key, or a key pattern with `*` segments) cover `key`?
 * Covered means: the key equals a match of the pattern or lies below one. An inner `*` takes exactly
 * one segment; a trailing `*` needs at least one, and anything deeper is "below" — so both reduce to
 * "the key has at least as many segments and every non-`*` segment is equal". Segment-aware:
 * keyCovers("user:1", "user:10") is false.
 */
export function keyCovers(pattern, key, delimiter = ":") {
  if (typeof pattern !== "string" || typeof key !== "string") return false;
  assertDelimiter(delimiter);
  const p = pattern.split(delimiter);
  const k = key.split(delimiter);
  if (k.length < p.length) return false;
  for (let i = 0; i < p.length; i++) {
    if (p[i] !== "*" && p[i] !== k[i]) return false;
  }
  return true;
}

// a subsumes b when everything b covers is covered by a; used to drop redundant work
// (`user:1:posts` beside `user:1` costs nothing extra in KV: user:1's listing already finds it).
export function subsumes(a, b, delimiter) {
  const sa = a.split(delimiter);
  const sb = b.split(delimiter);
  if (sb.length < sa.length) return false;
  for (let i = 0; i < sa.length; i++) {
    if (sa[i] === "*") continue;
    if (sb[i] === "*" || sb[i] !== sa[i]) return false;
  }
  return true;
}

// The literal prefix a KV listing must scan: for a key K, K + delimiter (K itself is deleted
// directly); for a pattern, the literal segments before its first `*`, plus the delimiter.
export function listPrefixOf(item, delimiter) {
  const segs = item.split(delimiter);
  const star = segs.indexOf("*");
  if (star === -1) return item + delimiter;
  if (star === 0) return "";
  return segs.slice(0, star).join(delimiter) + delimiter;
}

export function chunk(items, size) {
  const out = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export function positiveInt(name, value, { max = Number.MAX_SAFE_INTEGER } = {}) {
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw new RangeError(`cascade-edge purge: ${name} must be an integer in 1..${max}, got ${describe(value)}${typeof value === "number" ? ` (${value})` : ""}`);
  }
  return value;
}

// Infinity is allowed: a Node script or a Durable Object has no per-invocation operation limit.
export function budget(value) {
  if (value === Infinity) return value;
  return positiveInt("maxOperations", value);
}

export function errorMessage(err) {
  if (err instanceof Error) {
    const cause = err.cause instanceof Error ? err.cause.code || err.cause.message : undefined;
    return cause && !err.message.includes(cause) ? `${err.message} (${cause})` : err.message;
  }
  return String(err);
}

// User mapping callbacks may return one string, a list, or nothing.
export function mapItem(fn, item, what) {
  const out = fn(item);
  if (out === undefined || out === null) return [];
  const list = typeof out === "string" ? [out] : out;
  if (!Array.isArray(list) || list.some((u) => typeof u !== "string")) {
    throw new TypeError(`${what}(${JSON.stringify(item)}) must return a string, an array of strings, or null`);
  }
  return list;
}

export function checkContinuation(cont, backend) {
  if (cont === null || typeof cont !== "object" || cont.v !== CONTINUATION_VERSION || cont.backend !== backend) {
    throw new TypeError(`cascade-edge purge: opts.continuation is not a ${backend} continuation returned by this version`);
  }
  return JSON.parse(JSON.stringify(cont)); // never mutate the caller's object
}

export async function settleAll(tasks) {
  return Promise.allSettled(tasks.map((t) => Promise.resolve().then(t)));
}
