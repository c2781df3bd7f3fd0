// Edge purge helpers for cascade-edge.
//
// Plain ES module, zero dependencies: it must run unchanged in Cloudflare Workers (workerd), Node and
// browsers, next to the wasm core. Everything takes a CascadeSet ({ keys, patterns, tags, ... }) and
// returns { purged, failed, continuation? }: a purge that could not be done is always reported in
// `failed`, never dropped.
//
// Key semantics (SPEC §1): a key is segments joined by a delimiter; purging K purges K and every key
// below it (K + delimiter + ...), never a sibling that merely shares characters (user:1 vs user:10).
// A `*` segment in a pattern matches exactly one segment; a trailing `*` one or more; keys below a
// match are covered too. Ids are percent-encoded by the core, so a literal delimiter or `*` never
// appears inside a segment and plain string splitting is exact.
//
// This module is the purgers' face: planPurge, every purger, and the helpers a purger of another
// backend builds on, each from the module that owns it (purge-set.js: limits and set helpers;
// purge-kv.js, purge-cache.js, purge-cdn.js: one backend each; purge-http.js: pacing, retries).
import { planCache } from "./purge-cache.js";
import { planCloudflare, planFastly } from "./purge-cdn.js";
import { planKv } from "./purge-kv.js";
import { describe, readSet } from "./purge-set.js";

export { CLOUDFLARE_MAX_ITEMS_PER_CALL, FASTLY_MAX_KEYS_PER_CALL, CLOUDFLARE_PLAN_LIMITS, keyCovers } from "./purge-set.js";
export { purgeKv } from "./purge-kv.js";
export { purgeCache } from "./purge-cache.js";
export { purgeCloudflare, purgeFastly } from "./purge-cdn.js";
export { createTokenBucket, parseRetryAfter } from "./purge-http.js";
// For purgers of other backends (package-internal: api.js exports the public names only).
export { chunk, dedupe, describe, errorMessage, mapItem, positiveInt, readSet } from "./purge-set.js";
export { httpOptions, httpVerdict, resolveBucket, runBatches, sendWithRetry } from "./purge-http.js";

/**
 * Turn one CascadeSet into the work a backend would do, without doing it (a dry run). The purge
 * functions execute exactly this plan, so what you see here is what they send.
 *  - "kv": exact deletes and prefix listings (with the keys/patterns each listing filters for);
 *  - "cache": URLs to delete (via opts.keyToUrls);
 *  - "cloudflare": batches of ≤ 100 tags, then batches of prefixes (via opts.keyToPrefix);
 *  - "fastly": batches of ≤ 256 surrogate keys.
 * Items that cannot be planned (an empty key, a throwing mapper) are in the plan's `failed`.
 */
export function planPurge(set, backend, opts = {}) {
  const s = readSet(set);
  const o = opts ?? {};
  switch (backend) {
    case "kv":
      return planKv(s, o);
    case "cache":
      return planCache(s, o);
    case "cloudflare":
      return planCloudflare(s, o);
    case "fastly":
      return planFastly(s, o);
    default:
      throw new TypeError(`cascade-edge planPurge: unknown backend ${describe(backend)} (expected "kv", "cache", "cloudflare" or "fastly")`);
  }
}
