// cascade-edge/yoga's KV tier over Workers KV in real workerd (Miniflare), behind the real
// graphql-yoga and @envelop/response-cache: failures of KV never fail a request nor leave a read
// stale, and TTLs hold in KV as in the LRU. A fresh store over the same namespace plays a cold
// isolate (empty LRU).
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { CascadeEngine } from "../../pkg/node.js";
import { createResponseCacheStore } from "../../pkg/yoga.js";
import { blogSchema } from "./support/blog-db.mjs";
import { blogServer, faultyKv, kvNames, manualClock, startWorkerdKv, withoutUnhandledRejections } from "./support/yoga.mjs";

const ADA_POSTS = `{ user(id: "1") { id name posts { id title } } }`;
const BOB_POSTS = `{ user(id: "2") { id name posts { id title } } }`;
const CREATE = `mutation { createPost(authorId: "1", title: "fresh") { id title } }`;

const NAMESPACES = ["PURGE_FAILS", "PUT_FAILS", "LIST_FAILS", "TTL", "TTL_TYPES"];
let workerd;
before(async () => {
  workerd = await startWorkerdKv(NAMESPACES);
});
after(async () => {
  await workerd?.dispose();
});

/** A blog server whose store keeps its responses in `kv` too; `errors` collects what the store reported. */
async function kvBlog(kv, { db, responseCache, ...options } = {}) {
  const engine = CascadeEngine.fromSchema(blogSchema);
  const errors = [];
  let server;
  const store = createResponseCacheStore({
    engine,
    kv,
    changeFor: (e) => server.changeFor(e),
    onError: (error, where) => errors.push(`${where}: ${error.code ?? error.message}`),
    ...options,
  });
  server = blogServer(store, { responseCache, db });
  return { store, server, errors, engine };
}

test("yoga + KV: a failed KV purge fails no request, serves nothing stale, and is retried", async () => {
  const kv = faultyKv(await workerd.namespace("PURGE_FAILS"));
  const now = manualClock();
  await withoutUnhandledRejections(async () => {
    const { store, server, errors } = await kvBlog(kv, { now });
    await server.run(ADA_POSTS);
    await server.run(BOB_POSTS);
    await store.settled();
    assert.ok((await kvNames(kv)).some((n) => n.startsWith("user:1:posts:@response:")));

    // Every KV delete fails while the mutation purges: the LRU is purged, KV is not.
    kv.fail.delete = Infinity;
    const created = (await server.run(CREATE)).createPost;
    await store.settled();
    assert.ok(errors.some((e) => e === "kv purge: PURGE_FAILED"), errors.join());
    assert.ok(store.stats().kvOwed > 0);

    // The next read misses the LRU and finds the stale response in KV: a miss, not a failed request.
    const posts = (await server.run(ADA_POSTS)).user.posts;
    assert.deepEqual(posts.map((p) => p.id), ["10", created.id]);
    // Later requests keep working, and later invalidations still reach KV.
    assert.deepEqual((await server.run(BOB_POSTS)).user.posts.map((p) => p.id), ["11"]);

    // KV heals; past the back-off the next read retries what is owed and the stale entries go.
    kv.fail.delete = 0;
    now.advance(60_000);
    await server.run(BOB_POSTS);
    await store.settled();
    assert.equal(store.stats().kvOwed, 0);
    // The retry purged what it owed, and the fresh copy written meanwhile under the same keys with it
    // (wider, never stale): a cold isolate reads the new list from the database.
    assert.deepEqual((await kvNames(kv)).filter((n) => n.startsWith("user:1:")), []);
    const cold = await kvBlog(kv, { now, db: server.db });
    assert.deepEqual((await cold.server.run(ADA_POSTS)).user.posts.map((p) => p.id), ["10", created.id]);
  });
});

test("yoga + KV: a cold isolate never serves what a failed purge owes, once it is retried", async () => {
  const kv = faultyKv(await workerd.namespace("LIST_FAILS"));
  const now = manualClock();
  const { store, server, errors } = await kvBlog(kv, { now });
  await server.run(ADA_POSTS);
  await store.settled();
  kv.fail.list = Infinity;
  await server.run(CREATE);
  await store.settled();
  assert.ok(errors.includes("kv purge: PURGE_FAILED"));
  // Another invalidation while KV still fails: it is attempted (not skipped for good) and owes more.
  await server.run(`mutation { renameUser(id: "2", name: "robert") { id } }`);
  await store.settled();
  assert.ok(errors.filter((e) => e === "kv purge: PURGE_FAILED").length >= 2);
  kv.fail.list = 0;
  // The next invalidation carries what is owed.
  await server.run(`mutation { renameUser(id: "2", name: "bobby") { id } }`);
  await store.settled();
  assert.equal(store.stats().kvOwed, 0);
  const cold = await kvBlog(kv, { now, db: server.db });
  assert.equal((await cold.server.run(ADA_POSTS)).user.posts.length, 2);
  assert.equal(cold.store.stats().hits, 0, "the stale list was purged from KV");
});

test("yoga + KV: a failed KV write caches nothing half-indexed and fails no request", async () => {
  const kv = faultyKv(await workerd.namespace("PUT_FAILS"));
  await withoutUnhandledRejections(async () => {
    const { store, server, errors } = await kvBlog(kv);
    kv.fail.put = 1; // the first index key put fails
    await server.run(ADA_POSTS);
    await store.settled();
    assert.deepEqual(errors, ["kv write: injected KV put failure"]);
    // No response in KV without every index key a purge needs to find it.
    assert.ok(!(await kvNames(kv)).some((n) => n.startsWith("@response:")));
    // The LRU still serves it.
    await server.run(ADA_POSTS);
    assert.equal(store.stats().hits, 1);
    kv.fail.get = 1;
    const cold = await kvBlog(kv, { db: server.db });
    assert.equal((await cold.server.run(BOB_POSTS)).user.name, "bob");
    assert.deepEqual(cold.errors, ["kv.get: injected KV get failure"]);
  });
});

test("yoga + KV: a response is served no longer than its TTL from KV, nor from an LRU refilled from KV", async () => {
  const kv = await workerd.namespace("TTL");
  const now = manualClock();
  const { server, store } = await kvBlog(kv, { now, responseCache: { ttl: 100 } });
  await server.run(ADA_POSTS);
  await store.settled();
  now.advance(50);
  // A cold isolate reads it from KV with the 50 ms it has left, and refills its LRU with that.
  const cold = await kvBlog(kv, { now, db: server.db });
  await cold.server.run(ADA_POSTS);
  await cold.server.run(ADA_POSTS);
  assert.equal(cold.server.calls.user, 0);
  assert.equal(cold.store.stats().hits, 2);
  now.advance(60);
  // 110 ms on: expired in both tiers of both isolates, although KV keeps the value for a minute.
  await cold.server.run(ADA_POSTS);
  await server.run(ADA_POSTS);
  assert.equal(cold.server.calls.user, 1);
  assert.equal(server.calls.user, 2);
  assert.equal((await kvBlog(kv, { now, db: server.db })).store.stats().hits, 0);
});

test("yoga + KV: per-type and per-coordinate TTLs hold in KV; a TTL of 0 caches nothing", async () => {
  const kv = await workerd.namespace("TTL_TYPES");
  const now = manualClock();
  const responseCache = { ttlPerSchemaCoordinate: { User: 1000, "Query.post": 0 } };
  const { server, store } = await kvBlog(kv, { now, responseCache });
  const POST_11 = `{ post(id: "11") { id title } }`;
  await server.run(ADA_POSTS); // holds a User: 1 s
  await server.run(POST_11); // Query.post: never cached
  await store.settled();
  assert.equal((await kvNames(kv)).filter((n) => n.startsWith("@response:")).length, 1);
  now.advance(999);
  const cold = () => kvBlog(kv, { now, responseCache, db: server.db });
  const warm = await cold();
  await warm.server.run(ADA_POSTS);
  assert.equal(warm.server.calls.user, 0, "within its type's TTL");
  now.advance(2);
  // Past the type's TTL, neither the LRU refilled from KV nor KV itself answers: the resolver runs.
  await warm.server.run(ADA_POSTS);
  assert.equal(warm.server.calls.user, 1, "the LRU refilled from KV expired with it, and so did KV");
  // A store that never held it reads KV alone; what it finds is the response `warm` just wrote
  // again (a fresh TTL), never the expired one.
  await warm.store.settled();
  const late = await cold();
  const answer = await late.server.run(ADA_POSTS);
  assert.equal(late.server.calls.user, 0, "the response warm cached again");
  assert.deepEqual(answer, await warm.server.run(ADA_POSTS));
});
