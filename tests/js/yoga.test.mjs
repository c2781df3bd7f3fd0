// cascade-edge/yoga with the real graphql-yoga and @envelop/response-cache: a cached query is a
// hit, a mutation that creates a post refreshes its author's post list, and unrelated cached
// queries stay cached. Hit counters (the store's and the resolvers' own) prove each claim.
import assert from "node:assert/strict";
import { test } from "node:test";
import { createInMemoryCache } from "@envelop/response-cache";
import { CascadeEngine, LruCache } from "../../pkg/node.js";
import { createResponseCacheStore, encodeSegment } from "../../pkg/yoga.js";
import { blogSchema } from "./support/blog-db.mjs";
import { blogServer } from "./support/yoga.mjs";

const ADA_POSTS = `{ user(id: "1") { id name posts { id title } } }`;
const BOB_POSTS = `{ user(id: "2") { id name posts { id title } } }`;
const POST_11 = `{ post(id: "11") { id title } }`;

function setup(storeOptions = {}) {
  const engine = CascadeEngine.fromSchema(blogSchema);
  let server;
  const store = createResponseCacheStore({
    engine,
    changeFor: storeOptions.exact === false ? undefined : (e) => server.changeFor(e),
    ...storeOptions,
  });
  server = blogServer(store);
  return { store, server, engine };
}

test("yoga: a created post refreshes its author's list; unrelated cached queries stay cached", async () => {
  const { store, server } = setup();
  const { run, calls } = server;
  assert.deepEqual((await run(ADA_POSTS)).user.posts, [{ id: "10", title: "first" }]);
  await run(BOB_POSTS);
  await run(POST_11);
  assert.deepEqual({ ...calls }, { user: 2, post: 1 });
  assert.equal(store.stats().hits, 0);

  // Second runs are hits: the resolvers are not called again.
  await run(ADA_POSTS);
  await run(BOB_POSTS);
  await run(POST_11);
  assert.deepEqual({ ...calls }, { user: 2, post: 1 });
  assert.equal(store.stats().hits, 3);

  // The mutation returns the new post only: its id was in no cached response, so entity tags miss.
  const created = (await run(`mutation { createPost(authorId: "1", title: "fresh") { id title } }`)).createPost;

  const ada = await run(ADA_POSTS);
  assert.deepEqual(ada.user.posts, [{ id: "10", title: "first" }, { id: created.id, title: "fresh" }]);
  assert.equal(calls.user, 3, "ada's list was re-resolved");
  // Bob's list and post 11 were not touched by the change: still served from the cache.
  const hitsBefore = store.stats().hits;
  await run(BOB_POSTS);
  await run(POST_11);
  assert.equal(store.stats().hits, hitsBefore + 2);
  assert.deepEqual({ ...calls }, { user: 3, post: 1 });
});

test("yoga: without change data the purge widens (every user's list), never goes stale", async () => {
  const { store, server } = setup({ exact: false });
  const { run, calls } = server;
  await run(ADA_POSTS);
  await run(BOB_POSTS);
  await run(POST_11);
  await run(`mutation { createPost(authorId: "1", title: "fresh") { id } }`);
  assert.equal((await run(ADA_POSTS)).user.posts.length, 2);
  await run(BOB_POSTS); // `user:*:posts` reached bob's list too: re-resolved
  assert.equal(calls.user, 4);
  await run(POST_11); // but a post query holds no user list: still a hit
  assert.equal(calls.post, 1);
  assert.equal(store.stats().hits, 1);
});

test("yoga: moving a post refreshes the old and the new author's lists", async () => {
  const { server } = setup();
  const { run, calls } = server;
  await run(ADA_POSTS);
  await run(BOB_POSTS);
  await run(`mutation { movePost(id: "10", authorId: "2") { id } }`);
  assert.deepEqual((await run(ADA_POSTS)).user.posts, []);
  assert.deepEqual((await run(BOB_POSTS)).user.posts.map((p) => p.id), ["10", "11"]);
  assert.equal(calls.user, 4);
});

test("yoga: renaming a user refreshes every response that shows them, and only those", async () => {
  const { store, server } = setup();
  const { run, calls } = server;
  const byPost = `{ post(id: "10") { id title author { id name } } }`;
  await run(byPost);
  await run(POST_11);
  await run(`mutation { renameUser(id: "1", name: "ada lovelace") { id } }`);
  assert.equal((await run(byPost)).post.author.name, "ada lovelace");
  await run(POST_11);
  assert.equal(calls.post, 3);
  assert.equal(store.stats().hits, 1);
});

test("yoga: the default entity-tagging store serves the stale list (why this adapter exists)", async () => {
  const { run } = blogServer(createInMemoryCache());
  await run(ADA_POSTS);
  await run(`mutation { createPost(authorId: "1", title: "fresh") { id title } }`);
  assert.equal((await run(ADA_POSTS)).user.posts.length, 1, "the in-memory store missed the new post");
});

test("yoga store: tags are entity keys plus parent-scoped list keys, encoded like the core", () => {
  const engine = CascadeEngine.fromSchema(blogSchema);
  const store = createResponseCacheStore({ engine, lru: new LruCache({ maxEntries: 10 }) });
  assert.deepEqual(store.tagsOf([{ typename: "User", id: 1 }, { typename: "Post", id: "a:b c" }, { typename: "Comment" }, { typename: "UpdatePostPayload" }]), [
    "user:1",
    "user:1:posts",
    "post:a%3Ab%20c",
    "post:a%3Ab%20c:comments",
    "comment",
    "UpdatePostPayload", // no entity: a type tag, as the plugin's own store keeps
  ]);
  for (const id of ["a:b c", "x*y", "", "{}", "100%", "é,\u00a0"]) {
    assert.equal(`post:${encodeSegment(id)}`, engine.cascade({ entity: "Post", id }).keys[0], JSON.stringify(id));
  }
  assert.throws(() => createResponseCacheStore({}), { code: "INVALID_OPTIONS" });
});

/** An in-memory Workers KV namespace: get/put/delete/list with prefix and cursor paging. */
function memoryKv() {
  const map = new Map();
  return {
    map,
    async get(key, type) {
      const v = map.get(key);
      return v === undefined ? null : type === "json" ? JSON.parse(v) : v;
    },
    async put(key, value) {
      map.set(key, value);
    },
    async delete(key) {
      map.delete(key);
    },
    async list({ prefix = "", cursor, limit = 1000 }) {
      const names = [...map.keys()].filter((k) => k.startsWith(prefix)).sort();
      const start = cursor ? Number(cursor) : 0;
      const keys = names.slice(start, start + limit).map((name) => ({ name }));
      const done = start + limit >= names.length;
      return { keys, list_complete: done, cursor: done ? undefined : String(start + limit) };
    },
  };
}

test("yoga store with KV: a second tier survives a cold LRU and is purged by the same cascade", async () => {
  const engine = CascadeEngine.fromSchema(blogSchema);
  const kv = memoryKv();
  const entities = [{ typename: "User", id: "1" }, { typename: "Post", id: "10" }];
  const warm = createResponseCacheStore({ engine, kv });
  await warm.set("q-ada", { data: { user: { id: "1" } } }, entities, Infinity);
  await warm.set("q-other", { data: { post: { id: "11" } } }, [{ typename: "Post", id: "11" }], Infinity);

  // A fresh isolate: empty LRU, same KV.
  const cold = createResponseCacheStore({ engine, kv });
  assert.deepEqual(await cold.get("q-ada"), { data: { user: { id: "1" } } });
  assert.equal(cold.stats().hits, 1);

  // Post 12 by user 1 is created: `user:1:posts` purges q-ada from both tiers; q-other stays.
  const exact = createResponseCacheStore({ engine, kv, changeFor: () => ({ op: "create", data: { author_id: "1" } }) });
  await exact.invalidate([{ typename: "Post", id: "12" }]);
  assert.equal(await exact.get("q-ada"), null);
  assert.equal(await createResponseCacheStore({ engine, kv }).get("q-ada"), null);
  assert.deepEqual(await exact.get("q-other"), { data: { post: { id: "11" } } });
  // Every index key of q-ada went with it, not only the one the cascade reached.
  assert.deepEqual([...kv.map.keys()].filter((k) => k.includes("q-ada")), []);
  assert.ok(kv.map.has("post:11:@response:q-other"));
});

test("cascade-edge/yoga resolves from the installed package (exports subpath and types)", async () => {
  const { installPackage } = await import("./support/installed.mjs");
  const pkg = installPackage();
  try {
    const script = `
      import { readFileSync } from "node:fs";
      import { CascadeEngine } from "cascade-edge";
      import { createResponseCacheStore } from "cascade-edge/yoga";
      const engine = CascadeEngine.fromSchema(${JSON.stringify(blogSchema)});
      const store = createResponseCacheStore({ engine });
      store.set("q", { data: 1 }, [{ typename: "User", id: "1" }], Infinity);
      const hit = store.get("q");
      store.invalidate([{ typename: "Post", id: "9" }]);
      console.log(JSON.stringify([hit, store.get("q")]));`;
    assert.equal(pkg.node(["--input-type=module", "-e", script]), JSON.stringify([{ data: 1 }, null]));
    const manifest = JSON.parse(pkg.node(["-p", "JSON.stringify(require('./node_modules/cascade-edge/package.json').exports['./yoga'])"]));
    assert.deepEqual(manifest, { types: "./yoga.d.ts", default: "./yoga.js" });
    // The edge build's store: over the edge build's classes, with rules from fromJSON.
    const rules = JSON.stringify(CascadeEngine.fromSchema(blogSchema).toJSON());
    const edge = `
      import { CascadeEngine } from "cascade-edge/edge";
      import { createResponseCacheStore } from "cascade-edge/edge/yoga";
      const engine = CascadeEngine.fromJSON(${JSON.stringify(rules)});
      const store = createResponseCacheStore({ engine });
      store.set("q", { data: 1 }, [{ typename: "User", id: "1" }], Infinity);
      store.set("r", { data: 2 }, [{ typename: "User", id: "2" }], Infinity);
      const hit = store.get("q");
      store.invalidate([{ typename: "Post", id: "9" }]);
      console.log(JSON.stringify([hit, store.get("q"), store.get("r")]));`;
    assert.equal(pkg.node(["--input-type=module", "-e", edge]), JSON.stringify([{ data: 1 }, null, null]));
    // Without its entry, the store cannot reach a loaded wasm: the error says what to import.
    const unloaded = `
      import { CascadeEngine } from "cascade-edge/edge";
      import { createResponseCacheStore } from "cascade-edge/yoga";
      try {
        createResponseCacheStore({ engine: CascadeEngine.fromJSON(${JSON.stringify(rules)}) }).set("q", 1, [], Infinity);
      } catch (error) {
        console.log(error.code, error.message.includes("cascade-edge/edge/yoga"));
      }`;
    assert.equal(pkg.node(["--input-type=module", "-e", unloaded]), "NOT_INITIALIZED true");
    const edgeManifest = JSON.parse(pkg.node(["-p", "JSON.stringify(require('./node_modules/cascade-edge/package.json').exports['./edge/yoga'])"]));
    assert.deepEqual(edgeManifest, { types: "./yoga.d.ts", default: "./edge/yoga.js" });
    assert.ok(pkg.packed.files.some((f) => f.path === "yoga.d.ts"));
  } finally {
    pkg.remove();
  }
});
