// The edge tier: whole GraphQL GET responses in the Cache API of this data center, put with their
// `Cache-Tag` header (Cloudflare's purge by tag reaches them in every data center), and indexed by
// tag in CACHE_KV so a mutation deletes this data center's copies at once with `purgeCache`.
//
// Index keys are `@edge:{tag}:{origin}:{hash}`, the tag and the origin each one encoded segment, so a
// tag is matched literally, as a CDN matches it (`user:*:posts` is a tag here, not a pattern).
import { encodeSegment, purgeCache, purgeKv } from "cascade-edge/edge";

/** Seconds a response stays in the Cache API at most (the bound when a purge did not reach it). */
export const EDGE_MAX_AGE = 60;
const INDEX = "@edge";
const HASH = /^[0-9a-f]{64}$/;

async function sha256Hex(text) {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

const cacheUrl = (origin, hash) => `${origin}/graphql/@edge/${hash}`;

/** Where a GET request's response lives in the Cache API: one URL per canonical query string. */
export async function edgeKey(url) {
  const params = [...url.searchParams].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const hash = await sha256Hex(JSON.stringify(params));
  return { origin: url.origin, hash, url: cacheUrl(url.origin, hash) };
}

export async function edgeMatch(key) {
  const hit = await caches.default.match(key.url);
  if (!hit) return null;
  const response = new Response(hit.body, hit);
  response.headers.set("x-cache", "edge");
  return response;
}

/** Keeps a tagged 200 response in the Cache API and indexes it under each of its tags. */
export async function edgePut(env, key, response, tags) {
  const stored = new Response(response.body, response);
  stored.headers.set("cache-control", `public, max-age=${EDGE_MAX_AGE}`);
  stored.headers.delete("x-cache");
  const ttl = { expirationTtl: Math.max(60, EDGE_MAX_AGE) };
  const origin = encodeSegment(key.origin);
  await Promise.all([
    caches.default.put(key.url, stored),
    ...tags.map((tag) => env.CACHE_KV.put(`${INDEX}:${encodeSegment(tag)}:${origin}:${key.hash}`, "", ttl)),
  ]);
}

/**
 * Deletes this data center's Cache API responses carrying any of `tags` (CDN tags, matched exactly):
 * the index keys below each tag name the responses. Returns `{ purged, notFound, failed }` of the
 * Cache API deletes, failures of the index included.
 */
export async function edgePurge(env, tags) {
  const index = await purgeKv(env.CACHE_KV, { keys: tags.map((t) => `${INDEX}:${encodeSegment(t)}`), patterns: [], tags: [] });
  const urls = new Set();
  for (const name of index.purged) {
    const [, , origin, hash] = String(name).split(":");
    if (origin !== undefined && HASH.test(hash ?? "")) urls.add(cacheUrl(decodeURIComponent(origin), hash));
  }
  const deleted = await purgeCache(caches.default, { keys: [...urls], patterns: [], tags: [] }, { keyToUrls: (url) => [url] });
  return { ...deleted, failed: [...index.failed, ...deleted.failed], continuation: index.continuation ?? deleted.continuation };
}
