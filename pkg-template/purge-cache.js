// Purging the Workers Cache API: the URLs a CascadeSet maps to (opts.keyToUrls), deleted within a
// budget of operations per invocation (the rest comes back as a continuation).

import {
  CONTINUATION_VERSION,
  DEFAULT_CONCURRENCY,
  KV_DEFAULT_MAX_OPERATIONS,
  budget,
  checkContinuation,
  dedupe,
  errorMessage,
  mapItem,
  positiveInt,
  readSet,
  settleAll,
} from "./purge-set.js";

export function planCache(set, opts) {
  if (typeof opts.keyToUrls !== "function") {
    throw new TypeError("cascade-edge purgeCache/planPurge('cache'): opts.keyToUrls(keyOrPattern) => string[] is required");
  }
  const failed = [];
  const urls = [];
  const index = new Map();
  for (const item of dedupe([...set.keys, ...set.patterns])) {
    let mapped;
    try {
      mapped = mapItem(opts.keyToUrls, item, "keyToUrls");
    } catch (err) {
      failed.push({ item, error: `keyToUrls failed: ${errorMessage(err)}` });
      continue;
    }
    for (const url of mapped) {
      if (!index.has(url)) {
        index.set(url, urls.length);
        urls.push({ url, items: [] });
      }
      urls[index.get(url)].items.push(item);
    }
  }
  return { backend: "cache", urls, failed };
}

/**
 * Delete the Workers Cache API entries a CascadeSet maps to. opts.keyToUrls(keyOrPattern) returns
 * the URL(s) cached for that key (patterns included: map them to what you cache, or return []).
 *
 * cache.delete(url) resolves false when nothing was cached under that URL in this data center: that
 * is not a failure (nothing stale remains), so such URLs go to `notFound`, not to `purged` or
 * `failed`. Note the Cache API is per data center: this purges the local colo only.
 * maxOperations (default 1000, each delete is a subrequest) bounds the deletes of one call; the rest
 * comes back as a continuation.
 */
export async function purgeCache(cache, set, opts = {}) {
  if (!cache || typeof cache.delete !== "function") {
    throw new TypeError("cascade-edge purgeCache: cache must be a Cache (with delete())");
  }
  const o = opts ?? {};
  const maxOperations = budget(o.maxOperations ?? KV_DEFAULT_MAX_OPERATIONS);
  const concurrency = positiveInt("concurrency", o.concurrency ?? DEFAULT_CONCURRENCY);
  const purged = [];
  const notFound = [];
  const failed = [];
  let pending;
  if (o.continuation !== undefined) {
    pending = checkContinuation(o.continuation, "cache").urls;
  } else {
    const plan = planCache(readSet(set), o);
    failed.push(...plan.failed);
    pending = plan.urls.map((u) => u.url);
  }
  let ops = 0;
  while (pending.length > 0 && ops < maxOperations) {
    const batch = pending.splice(0, Math.min(concurrency, maxOperations - ops));
    ops += batch.length;
    const results = await settleAll(batch.map((url) => () => cache.delete(url)));
    results.forEach((r, i) => {
      if (r.status === "rejected") failed.push({ item: batch[i], error: `cache.delete failed: ${errorMessage(r.reason)}` });
      else if (r.value === false) notFound.push(batch[i]);
      else purged.push(batch[i]);
    });
  }
  const result = { purged, notFound, failed };
  if (pending.length > 0) result.continuation = { v: CONTINUATION_VERSION, backend: "cache", urls: pending };
  return result;
}
