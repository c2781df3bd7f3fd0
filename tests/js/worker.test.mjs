// examples/worker in real workerd (miniflare): bundle it, run queries and mutations through
// dispatchFetch, and assert exactly what remains in KV, what the LRU serves, and that a second
// isolate (a second worker sharing the KV namespaces) drops its stale LRU entry.
// Needs pkg/ (node scripts/build-pkg.mjs).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Miniflare } from "miniflare";
import { buildWorker } from "../../examples/worker/build.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

let built;
let mf;
let persist;

function workerOptions(name, checkMs) {
  return {
    name,
    modules: true,
    scriptPath: built.script,
    modulesRoot: built.outdir,
    modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"] }],
    // Same namespace ids in both workers: they share KV, like two isolates of one deployment.
    kvNamespaces: { BLOG_DB: "blog-db", CACHE_KV: "blog-cache" },
    bindings: { LRU_CHECK_MS: String(checkMs) },
  };
}

before(async () => {
  built = await buildWorker({ outdir: mkdtempSync(join(tmpdir(), "cascade-edge-worker-")) });
  // The Worker imports the edge build, and its wasm is what runs here.
  assert.deepEqual(readFileSync(built.wasm), readFileSync(join(root, "pkg", "edge", "cascade_edge_bg.wasm")));
  persist = mkdtempSync(join(existsSync("/dev/shm") ? "/dev/shm" : tmpdir(), "cascade-edge-worker-kv-"));
  mf = new Miniflare({ kvPersist: persist, workers: [workerOptions("a", 0), workerOptions("b", 0)] });
  await mf.ready;
});

after(async () => {
  await mf?.dispose();
  if (persist) rmSync(persist, { recursive: true, force: true });
  if (built) rmSync(built.outdir, { recursive: true, force: true });
});

async function gql(body, worker) {
  const init = { method: "POST", body: JSON.stringify(body), headers: { "content-type": "application/json" } };
  const res = worker ? await (await mf.getWorker(worker)).fetch("http://blog.local/graphql", init) : await mf.dispatchFetch("http://blog.local/graphql", init);
  const json = await res.json();
  assert.equal(res.status, 200, JSON.stringify(json));
  return { json, cache: res.headers.get("x-cache"), tags: res.headers.get("cache-tag"), fragments: res.headers.get("x-fragments") };
}

async function kvKeys(kv) {
  const names = [];
  let cursor;
  for (;;) {
    const page = await kv.list(cursor ? { cursor } : {});
    names.push(...page.keys.map((k) => k.name));
    if (page.list_complete) return names.sort();
    cursor = page.cursor;
  }
}

// The purges run in ctx.waitUntil, after the response: wait until KV settles on `expected`
// (or give up after 5 s and let the exact assertion report the difference).
async function settle(kv, expected) {
  let keys;
  for (let i = 0; i < 100; i++) {
    keys = await kvKeys(kv);
    if (JSON.stringify(keys) === JSON.stringify(expected)) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return keys;
}

test("a mutation purges exactly the cascade set from KV; near misses stay; queries see fresh data", async () => {
  const seed = await mf.dispatchFetch("http://blog.local/admin/seed", { method: "POST" });
  assert.equal(seed.status, 200);
  await seed.text();
  const cacheKv = await mf.getKVNamespace("CACHE_KV");

  // Fill the fragment cache through real queries (users 1, 10 and "1:2", an id with the delimiter).
  const first = await gql({ query: "user", id: "1" });
  assert.equal(first.cache, "miss");
  assert.equal(first.tags, "user:1,user:1:posts,user:*:posts,post:9");
  assert.deepEqual(first.json.data.user.posts.map((p) => p.id), ["9"]);
  assert.equal((await gql({ query: "user", id: "1" })).cache, "lru");
  await gql({ query: "user", id: "10" });
  await gql({ query: "user", id: "1:2" });
  const post9 = await gql({ query: "post", id: "9" });
  assert.equal(post9.tags, "post:9,post:9:comments,post:*:comments,user:1,comment:5,user:10");
  // Near misses and keys below the purged list, written directly.
  for (const k of ["user:1x", "user:10:posts:page:2", "user:1:posts:page:2", "post:author:1", "post:author:10", "post:author:1%3A2"]) {
    await cacheKv.put(k, "{}");
  }
  const fragments = [
    "post:9",
    "post:9:comments",
    "user:1",
    "user:1%3A2",
    "user:1%3A2:posts",
    "user:10",
    "user:10:posts",
    "user:1:posts",
  ];
  const extra = ["post:author:1", "post:author:10", "post:author:1%3A2", "user:10:posts:page:2", "user:1:posts:page:2", "user:1x"];
  const beforeKeys = await settle(cacheKv, [...fragments, ...extra].sort());
  assert.deepEqual(beforeKeys, [...fragments, ...extra].sort());

  // The mutation: a new post by user 1.
  const res = await gql({ mutation: "createPost", authorId: "1", title: "Fresh" });
  const newId = res.json.data.createPost.id;
  assert.equal(newId, "100");
  assert.deepEqual(res.json.extensions.cascade.keys, ["post:100", "post:100:comments", "comment:post:100", "user:1:posts", "post:author:1"]);
  assert.deepEqual(res.json.extensions.cascade.patterns, []);

  // Exactly the cascade keys (and everything below them) are gone; the generation stamp appeared.
  const expected = [
    "__cascade_gen",
    "post:9",
    "post:9:comments",
    "post:author:10",
    "post:author:1%3A2",
    "user:1",
    "user:1%3A2",
    "user:1%3A2:posts",
    "user:10",
    "user:10:posts",
    "user:10:posts:page:2",
    "user:1x",
  ].sort();
  assert.deepEqual(await settle(cacheKv, expected), expected);

  // Fresh: the new post is in the author's list (rebuilt from the database), and the response is
  // tagged with it; an unrelated cached response is still an LRU hit.
  const after1 = await gql({ query: "user", id: "1" });
  assert.equal(after1.cache, "miss");
  assert.deepEqual(after1.json.data.user.posts.map((p) => [p.id, p.title]), [["9", "Cascades"], ["100", "Fresh"]]);
  assert.equal(after1.fragments, "user:1=cache,user:1:posts=db");
  assert.equal(after1.tags, "user:1,user:1:posts,user:*:posts,post:9,post:100");
  const unrelated = await gql({ query: "user", id: "10" });
  assert.equal(unrelated.cache, "lru");
  assert.equal((await gql({ query: "post", id: "9" })).cache, "lru");
});

test("a mutation for an id containing the delimiter purges only that author's keys", async () => {
  const cacheKv = await mf.getKVNamespace("CACHE_KV");
  const before = await kvKeys(cacheKv);
  const res = await gql({ mutation: "createPost", authorId: "1:2", title: "Colon's post" });
  assert.deepEqual(res.json.extensions.cascade.keys, ["post:101", "post:101:comments", "comment:post:101", "user:1%3A2:posts", "post:author:1%3A2"]);
  const expected = before.filter((k) => k !== "user:1%3A2:posts" && k !== "post:author:1%3A2");
  assert.ok(expected.includes("user:1"), "user:1 is not touched by user 1:2");
  assert.deepEqual(await settle(cacheKv, expected), expected);
  const q = await gql({ query: "user", id: "1:2" });
  assert.deepEqual(q.json.data.user.posts.map((p) => p.title), ["Colon's post"]);
});

test("another isolate drops its stale LRU entry through the KV generation stamp", async () => {
  const cacheKv = await mf.getKVNamespace("CACHE_KV");
  // Isolate b caches post 9 (its first request also performs its first generation check).
  await gql({ query: "post", id: "9" }, "b");
  assert.equal((await gql({ query: "post", id: "9" }, "b")).cache, "lru");
  const unrelatedInB = await gql({ query: "user", id: "10" }, "b");
  assert.equal((await gql({ query: "user", id: "10" }, "b")).cache, "lru", unrelatedInB.cache);

  // Isolate a renames the post; its purges run in waitUntil.
  const res = await gql({ mutation: "updatePost", id: "9", title: "Cascades, revised" });
  assert.deepEqual(res.json.extensions.cascade.keys, ["post:9", "post:9:comments", "comment:post:9", "user:1:posts", "post:author:1"]);
  const stamp = async () => (await cacheKv.get("__cascade_gen", { type: "json" }))?.log?.length;
  for (let i = 0; i < 100 && (await stamp()) !== 3; i++) await new Promise((r) => setTimeout(r, 50));
  assert.equal(await stamp(), 3, "three mutations published");
  await settle(cacheKv, (await kvKeys(cacheKv)).filter((k) => !k.startsWith("post:9")));

  // b (LRU_CHECK_MS=0) sees the new generation, replays the entry and serves fresh data.
  const inB = await gql({ query: "post", id: "9" }, "b");
  assert.equal(inB.cache, "miss");
  assert.equal(inB.json.data.post.title, "Cascades, revised");
  assert.equal((await gql({ query: "user", id: "10" }, "b")).cache, "lru", "replay, not a full clear");
});

test("cold start: a new workerd instance instantiates the Worker (time reported, not asserted)", async () => {
  const t0 = performance.now();
  const cold = new Miniflare({ ...workerOptions("cold", 1000), kvNamespaces: ["BLOG_DB", "CACHE_KV"] });
  try {
    await cold.ready;
    const t1 = performance.now();
    const res = await cold.dispatchFetch("http://blog.local/graphql", { method: "POST", body: JSON.stringify({ query: "user", id: "1" }) });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { data: { user: null } }); // empty database
    const t2 = performance.now();
    console.log(
      `[worker cold start] workerd up + Worker instantiated (wasm compile, initSync, fromJSON): ${(t1 - t0).toFixed(1)} ms; ` +
        `first request: ${(t2 - t1).toFixed(1)} ms`,
    );
  } finally {
    await cold.dispose();
  }
});
