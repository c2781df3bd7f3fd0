// Purging CDNs by tag through their HTTP APIs: Cloudflare (tags, or URL prefixes) and Fastly
// (surrogate keys), in batches of the documented size, paced and retried (purge-http.js).

import { httpOptions, httpVerdict, resolveBucket, runBatches, sendWithRetry } from "./purge-http.js";
import {
  CLOUDFLARE_MAX_ITEMS_PER_CALL,
  FASTLY_MAX_KEYS_PER_CALL,
  chunk,
  dedupe,
  errorMessage,
  mapItem,
  positiveInt,
  readSet,
} from "./purge-set.js";

export function planCloudflare(set, opts) {
  const batchSize = positiveInt("batchSize", opts.batchSize ?? CLOUDFLARE_MAX_ITEMS_PER_CALL);
  const failed = [];
  const batches = chunk(dedupe(set.tags), batchSize).map((items) => ({ kind: "tags", items }));
  if (opts.keyToPrefix !== undefined) {
    if (typeof opts.keyToPrefix !== "function") throw new TypeError("cascade-edge purgeCloudflare: keyToPrefix must be a function");
    const prefixes = [];
    for (const item of dedupe([...set.keys, ...set.patterns])) {
      try {
        prefixes.push(...mapItem(opts.keyToPrefix, item, "keyToPrefix"));
      } catch (err) {
        failed.push({ item, error: `keyToPrefix failed: ${errorMessage(err)}` });
      }
    }
    // Tags and prefixes go in separate calls: a purge_cache request carries one kind of target.
    batches.push(...chunk(dedupe(prefixes), batchSize).map((items) => ({ kind: "prefixes", items })));
  }
  return { backend: "cloudflare", batches, failed };
}

export function planFastly(set, opts) {
  const batchSize = positiveInt("batchSize", opts.batchSize ?? FASTLY_MAX_KEYS_PER_CALL);
  const batches = chunk(dedupe(set.tags), batchSize).map((items) => ({ kind: "surrogate_keys", items }));
  return { backend: "fastly", batches, failed: [] };
}

function cloudflareVerdict(status, text) {
  const base = httpVerdict(status, text);
  let body = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  const apiErrors =
    body && Array.isArray(body.errors) && body.errors.length > 0
      ? body.errors.map((e) => (e && typeof e === "object" ? `${e.code ?? "?"} ${e.message ?? ""}`.trim() : String(e))).join("; ")
      : null;
  if (base) return apiErrors ? { ...base, error: `HTTP ${status}: ${apiErrors}` } : base;
  // Cloudflare's envelope can report failure on a 2xx; that is not a purge.
  if (!body || body.success !== true) {
    return { error: `Cloudflare API returned success: false${apiErrors ? `: ${apiErrors}` : body ? "" : " (body is not JSON)"}`, retry: false, fatal: false };
  }
  return null;
}

/**
 * Purge Cloudflare's zone cache by the set's tags (and, when keyToPrefix maps keys/patterns to URL
 * prefixes, by prefix). POST {apiBase}/zones/{zoneId}/purge_cache with { tags } or { prefixes },
 * ≤ 100 items per call, paced by the plan's token bucket, retried per sendWithRetry.
 * purged lists the tags/prefixes of calls Cloudflare accepted; every other item is in failed.
 */
export async function purgeCloudflare(config, set) {
  if (!config || typeof config !== "object") throw new TypeError("cascade-edge purgeCloudflare: config object required");
  if (typeof config.zoneId !== "string" || config.zoneId === "") throw new TypeError("cascade-edge purgeCloudflare: zoneId is required");
  if (typeof config.token !== "string" || config.token === "") throw new TypeError("cascade-edge purgeCloudflare: token is required");
  const http = httpOptions(config, "purgeCloudflare");
  const bucket = resolveBucket(config.rateLimit, config.plan ?? "enterprise");
  const plan = planCloudflare(readSet(set), config);
  const apiBase = (config.apiBase ?? "https://api.cloudflare.com/client/v4").replace(/\/+$/, "");
  const url = `${apiBase}/zones/${encodeURIComponent(config.zoneId)}/purge_cache`;
  const result = await runBatches(http, bucket, plan.batches, (batch) =>
    sendWithRetry(
      http,
      bucket,
      url,
      {
        method: "POST",
        headers: { authorization: `Bearer ${config.token}`, "content-type": "application/json", accept: "application/json" },
        body: JSON.stringify({ [batch.kind]: batch.items }),
      },
      cloudflareVerdict,
    ),
  );
  return { purged: result.purged, failed: [...plan.failed, ...result.failed] };
}

/**
 * Purge Fastly by surrogate key: POST {apiBase}/service/{serviceId}/purge with
 * { "surrogate_keys": [...] } (≤ 256 per call), header Fastly-Key, and fastly-soft-purge: 1 when
 * soft (marks objects stale instead of removing them). Fastly documents surrogate-key purges as not
 * counted against its API rate limit, so no pacing unless opts.rateLimit is given; 429/5xx are
 * still retried. `soft` may be passed in config or in the third argument (which wins).
 */
export async function purgeFastly(config, set, opts = {}) {
  if (!config || typeof config !== "object") throw new TypeError("cascade-edge purgeFastly: config object required");
  if (typeof config.serviceId !== "string" || config.serviceId === "") throw new TypeError("cascade-edge purgeFastly: serviceId is required");
  if (typeof config.token !== "string" || config.token === "") throw new TypeError("cascade-edge purgeFastly: token is required");
  const soft = (opts ?? {}).soft ?? config.soft ?? false;
  const http = httpOptions(config, "purgeFastly");
  const bucket = resolveBucket(config.rateLimit, undefined);
  const plan = planFastly(readSet(set), config);
  const apiBase = (config.apiBase ?? "https://api.fastly.com").replace(/\/+$/, "");
  const url = `${apiBase}/service/${encodeURIComponent(config.serviceId)}/purge`;
  const headers = { "fastly-key": config.token, "content-type": "application/json", accept: "application/json" };
  if (soft) headers["fastly-soft-purge"] = "1";
  const result = await runBatches(http, bucket, plan.batches, (batch) =>
    sendWithRetry(http, bucket, url, { method: "POST", headers, body: JSON.stringify({ surrogate_keys: batch.items }) }, httpVerdict),
  );
  return { purged: result.purged, failed: [...plan.failed, ...result.failed] };
}
