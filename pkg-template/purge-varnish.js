// Varnish with vmod xkey (SPEC §6): purge a CascadeSet's tags from Varnish Cache, the open-source
// surrogate-key cache that Fastly's purging descends from.
//
// Responses carry their tags in an `xkey` response header, space-separated
// (`tagsForResponse(engine, response, { format: "fastly" }).header`); a purge is one HTTP request
// to Varnish (method PURGE by default) whose `xkey-purge` (or, soft, `xkey-softpurge`) request
// header lists the tags, space-separated, and which the VCL hands to `xkey.purge()` /
// `xkey.softpurge()` (examples/varnish/default.vcl). Varnish refuses a request header line longer
// than its `http_req_hdr_len` parameter (8 KB by default) with HTTP 400, so the tags are split across
// requests whose header line stays under `maxHeaderBytes`. Retries, timeouts and reporting are the
// shared HTTP policy of purge.js; every tag ends up in `purged` or `failed`.
import { httpOptions, httpVerdict, positiveInt, readSet, resolveBucket, runBatches, sendWithRetry } from "./purge.js";

/** Varnish's default `http_req_hdr_len` is 8192 bytes for one header line (name, ": " and value);
 * 8000 leaves room for a proxy in front that adds a prefix or counts the line ending. */
export const VARNISH_MAX_HEADER_BYTES = 8000;

// vmod xkey splits its argument on blanks (newer versions also on commas), and an HTTP header value
// cannot hold control characters: a tag is printable ASCII without ',' — exactly what the core and
// tagForKey render, so only a hand-written tag can fail this.
const VALID_TAG = /^[\x21-\x2B\x2D-\x7E]+$/;
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const METHOD = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

function describe(value) {
  return typeof value === "string" ? JSON.stringify(value) : value === null ? "null" : typeof value;
}

function readConfig(config, opts) {
  if (!config || typeof config !== "object") throw new TypeError("cascade-edge purgeVarnish: config object required");
  const { url } = config;
  if (typeof url !== "string" || !/^https?:\/\/[^/]/.test(url)) {
    throw new TypeError(`cascade-edge purgeVarnish: url must be the http(s) URL of a Varnish listen address, got ${describe(url)}`);
  }
  const soft = (opts ?? {}).soft ?? config.soft ?? false;
  if (typeof soft !== "boolean") throw new TypeError("cascade-edge purgeVarnish: soft must be a boolean");
  const header = config.header ?? (soft ? "xkey-softpurge" : "xkey-purge");
  if (typeof header !== "string" || !HEADER_NAME.test(header)) {
    throw new TypeError(`cascade-edge purgeVarnish: header must be an HTTP header name, got ${describe(header)}`);
  }
  const method = config.method ?? "PURGE";
  if (typeof method !== "string" || !METHOD.test(method)) {
    throw new TypeError(`cascade-edge purgeVarnish: method must be an HTTP method token, got ${describe(method)}`);
  }
  const maxHeaderBytes = positiveInt("maxHeaderBytes", config.maxHeaderBytes ?? VARNISH_MAX_HEADER_BYTES);
  return { url, soft, header: header.toLowerCase(), method, maxHeaderBytes };
}

/**
 * The requests purgeVarnish sends for `set`, without sending them (a dry run): batches of tags
 * whose header line (`name: tag tag …`) fits in maxHeaderBytes, in the set's order, deduplicated.
 * Tags that cannot be sent (empty, blanks, commas, control or non-ASCII characters, or longer than
 * the header allows on their own) are in `failed`.
 */
export function planVarnish(set, config = {}) {
  const s = readSet(set);
  const { header, maxHeaderBytes, method, soft } = readConfig({ url: "http://plan.invalid", ...config });
  const room = maxHeaderBytes - header.length - 2; // "name: " before the value
  const failed = [];
  const batches = [];
  let items = [];
  let size = 0;
  for (const tag of new Set(s.tags)) {
    if (!VALID_TAG.test(tag)) {
      failed.push({ item: tag, error: "not an xkey tag: it must be printable ASCII without blanks or ','" });
    } else if (tag.length > room) {
      failed.push({ item: tag, error: `tag longer than the header allows (${tag.length} > ${room} bytes after "${header}: "; maxHeaderBytes ${maxHeaderBytes})` });
    } else {
      const grown = items.length === 0 ? tag.length : size + 1 + tag.length;
      if (grown > room) {
        batches.push({ kind: header, items });
        items = [tag];
        size = tag.length;
      } else {
        items.push(tag);
        size = grown;
      }
    }
  }
  if (items.length > 0) batches.push({ kind: header, items });
  return { backend: "varnish", method, soft, header, batches, failed };
}

// 405 and 501 mean the request reached something that does not handle the purge method (a VCL
// without the PURGE branch passes it to the origin): every batch would fail the same way.
function varnishVerdict(status, text) {
  const verdict = httpVerdict(status, text);
  if (verdict && (status === 405 || status === 501)) {
    return { ...verdict, error: `${verdict.error} (does the VCL handle this method? see examples/varnish/default.vcl)`, fatal: true };
  }
  return verdict;
}

/**
 * Purge a CascadeSet's tags from Varnish with vmod xkey: `method` (default PURGE) to `url` with the
 * tags space-separated in `header` (default `xkey-purge`, or `xkey-softpurge` when soft), as many
 * requests as maxHeaderBytes needs. Any 2xx is a purge; 408, 429, 5xx, resets and timeouts are
 * retried with backoff; a 403 (the purger ACL) or 404/405/501 stops the remaining requests. The set's
 * keys and patterns are not sent: Varnish purges by tag. Purge every Varnish instance (one call per
 * `url`). `soft` may be passed in config or in the third argument (which wins).
 */
export async function purgeVarnish(config, set, opts = {}) {
  const cfg = readConfig(config, opts);
  const http = httpOptions(config, "purgeVarnish");
  const bucket = resolveBucket(config.rateLimit, undefined);
  const plan = planVarnish(set, { ...config, soft: cfg.soft });
  const result = await runBatches(http, bucket, plan.batches, (batch) =>
    sendWithRetry(http, bucket, cfg.url, { method: cfg.method, headers: { [cfg.header]: batch.items.join(" ") } }, varnishVerdict),
  );
  return { purged: result.purged, failed: [...plan.failed, ...result.failed] };
}
