// purgeCache against the real workerd Cache API (miniflare's caches.default).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { Miniflare, Response } from "miniflare";
import { purgeCache } from "../../pkg-template/purge.js";

let mf;
let cache;
before(async () => {
  mf = new Miniflare({ modules: true, script: "export default { fetch() { return new Response('') } }" });
  cache = (await mf.getCaches()).default;
});
after(async () => {
  await mf?.dispose();
});

const urlOf = (k) => `https://example.com/${k.split(":").join("/")}`;
const keyToUrls = (k) => (k.includes("*") ? [] : [urlOf(k), `${urlOf(k)}?view=full`]);

async function put(url) {
  await cache.put(url, new Response("cached", { headers: { "cache-control": "max-age=3600" } }));
}

test("cache: deletes mapped URLs; a URL with nothing cached is notFound, not failed", async () => {
  await put(urlOf("user:1"));
  await put(`${urlOf("user:1")}?view=full`);
  await put(urlOf("user:10"));
  const res = await purgeCache(cache, { keys: ["user:1", "user:2"], patterns: ["post:*"] }, { keyToUrls });
  assert.deepEqual(res.purged, [urlOf("user:1"), `${urlOf("user:1")}?view=full`]);
  assert.deepEqual(res.notFound, [urlOf("user:2"), `${urlOf("user:2")}?view=full`]);
  assert.deepEqual(res.failed, []);
  assert.equal(await cache.match(urlOf("user:1")), undefined);
  assert.ok(await cache.match(urlOf("user:10")), "near miss untouched");
});

test("cache: a throwing delete or mapper is reported; budget spills to a continuation", async () => {
  for (const k of ["a:1", "a:2", "a:3", "a:4"]) await put(urlOf(k));
  const flaky = {
    delete: (url) => (url === urlOf("a:2") ? Promise.reject(new Error("injected")) : cache.delete(url)),
  };
  const mapper = (k) => {
    if (k === "bad") throw new Error("unmapped");
    return [urlOf(k)];
  };
  const first = await purgeCache(flaky, { keys: ["a:1", "a:2", "bad", "a:3", "a:4"] }, { keyToUrls: mapper, maxOperations: 2 });
  assert.deepEqual(first.purged, [urlOf("a:1")]);
  assert.deepEqual(first.failed.map((f) => f.item), ["bad", urlOf("a:2")]);
  assert.deepEqual(first.continuation, { v: 1, backend: "cache", urls: [urlOf("a:3"), urlOf("a:4")] });
  const second = await purgeCache(flaky, {}, { keyToUrls: mapper, continuation: JSON.parse(JSON.stringify(first.continuation)) });
  assert.deepEqual(second.purged, [urlOf("a:3"), urlOf("a:4")]);
  assert.equal(second.continuation, undefined);
});
