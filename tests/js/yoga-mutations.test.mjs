// cascade-edge/yoga with the real graphql-yoga and @envelop/response-cache: what a mutation
// purges when its change data comes late (an async `changeFor`) or from its own result.
import assert from "node:assert/strict";
import { test } from "node:test";
import { CascadeEngine } from "../../pkg/node.js";
import { createResponseCacheStore } from "../../pkg/yoga.js";
import { blogSchema } from "./support/blog-db.mjs";
import { blogServer, yogaServer } from "./support/yoga.mjs";

const ADA_POSTS = `{ user(id: "1") { id name posts { id title } } }`;
const BOB_POSTS = `{ user(id: "2") { id name posts { id title } } }`;

test("yoga store: with an async changeFor, a read right after the mutation waits for its purge", async () => {
  let server;
  const store = createResponseCacheStore({
    engine: CascadeEngine.fromSchema(blogSchema),
    // A change log read over the network: the plugin does not await invalidate.
    changeFor: (e) => new Promise((resolve) => setTimeout(() => resolve(server.changeFor(e)), 30)),
  });
  server = blogServer(store);
  await server.run(ADA_POSTS);
  await server.run(BOB_POSTS);
  const created = (await server.run(`mutation { createPost(authorId: "1", title: "fresh") { id } }`)).createPost;
  // The mutation's response is out; its purge is not done yet. This read must not be served stale.
  assert.deepEqual((await server.run(ADA_POSTS)).user.posts.map((p) => p.id), ["10", created.id]);
  // Exact once the change data came: bob's list is still cached.
  await server.run(BOB_POSTS);
  assert.equal(server.calls.user, 3);
});

test("yoga store: store.plugin() makes the purge exact where the mutation's own result names the parent", async () => {
  const store = createResponseCacheStore({ engine: CascadeEngine.fromSchema(blogSchema) });
  const server = blogServer(store, { plugins: [store.plugin()] });
  await server.run(ADA_POSTS);
  await server.run(BOB_POSTS);
  // The result names the author: `user:1:posts`, not `user:*:posts`.
  const created = (await server.run(`mutation { createPost(authorId: "1", title: "a") { id author { id } } }`)).createPost;
  assert.deepEqual((await server.run(ADA_POSTS)).user.posts.map((p) => p.id), ["10", created.id]);
  await server.run(BOB_POSTS);
  assert.equal(server.calls.user, 3, "bob's list stayed cached");

  // A result that does not name the author widens, for what it lacks only.
  await server.run(`mutation { createPost(authorId: "2", title: "b") { id title } }`);
  assert.equal((await server.run(BOB_POSTS)).user.posts.length, 2);
  assert.equal((await server.run(ADA_POSTS)).user.posts.length, 2);
  assert.equal(server.calls.user, 5, "both lists were purged");
});

test("yoga store: without the plugin, the same mutation widens to every author's list", async () => {
  const store = createResponseCacheStore({ engine: CascadeEngine.fromSchema(blogSchema) });
  const server = blogServer(store);
  await server.run(ADA_POSTS);
  await server.run(BOB_POSTS);
  await server.run(`mutation { createPost(authorId: "1", title: "a") { id author { id } } }`);
  await server.run(BOB_POSTS);
  assert.equal(server.calls.user, 3, "user:*:posts reached bob's list");
});

// Composite keys (SPEC §2): an item is keyed by (orgId, number), which the plugin cannot report
// (one id field per type); store.plugin() finds items by their key fields, so responses are
// tagged `item:1,7` / `item:1,7:comments` and a change of item (1, 7) reaches only its own.
const ITEM_TYPES = `
  type Item @key(fields: "orgId number") { orgId: ID! number: Int! title: String! comments: [Comment!]! }
  type Comment { id: ID! body: String! item: Item! }
  type Query { item(orgId: ID!, number: Int!): Item }
  type Mutation {
    retitleItem(orgId: ID!, number: Int!, title: String!): Item!
    addComment(orgId: ID!, number: Int!, body: String!): Comment!
  }
`;
// The SDL the engine reads: the directive is declared for Yoga's schema builder.
const ITEM_SDL = `directive @key(fields: String!) on OBJECT\n${ITEM_TYPES}`;

function itemServer(store, { plugins = [store.plugin()] } = {}) {
  const items = new Map(["1,7", "1,8", "a,b,7"].map((k) => [k, { title: `item ${k}`, comments: [] }]));
  const calls = { item: 0 };
  const idOf = (orgId, number) => `${orgId},${number}`;
  const itemOf = (orgId, number) => {
    const row = items.get(idOf(orgId, number));
    return row && { orgId, number, title: row.title, comments: row.comments.map((c) => ({ ...c, item: { orgId, number } })) };
  };
  const { run } = yogaServer({
    typeDefs: ITEM_SDL,
    resolvers: {
      Query: {
        item: (_, { orgId, number }) => {
          calls.item++;
          return itemOf(orgId, number);
        },
      },
      Comment: { item: (c) => itemOf(c.item.orgId, c.item.number) },
      Mutation: {
        retitleItem: (_, { orgId, number, title }) => {
          items.get(idOf(orgId, number)).title = title;
          return itemOf(orgId, number);
        },
        addComment: (_, { orgId, number, body }) => {
          const comment = { id: String(Math.floor(Math.random() * 1e9)), body };
          items.get(idOf(orgId, number)).comments.push(comment);
          return { ...comment, item: { orgId, number } };
        },
      },
    },
    cache: store,
    plugins,
  });
  return { run, calls };
}

const ITEM = (orgId, number) => `{ item(orgId: ${JSON.stringify(orgId)}, number: ${number}) { orgId number title comments { id body } } }`;

test("yoga store: composite keys: responses are tagged item:org,number and a change of one item reaches only its own", async () => {
  const store = createResponseCacheStore({ engine: CascadeEngine.fromSchema(ITEM_SDL) });
  const { run, calls } = itemServer(store);
  for (const [org, n] of [["1", 7], ["1", 8], ["a,b", 7]]) await run(ITEM(org, n));
  assert.equal(calls.item, 3);
  assert.equal([...store.lru.keys()].length, 3);
  // A comment on item (1, 7): the mutation's result names the item by its key fields.
  await run(`mutation { addComment(orgId: "1", number: 7, body: "hi") { id item { orgId number } } }`);
  assert.deepEqual((await run(ITEM("1", 7))).item.comments.map((c) => c.body), ["hi"]);
  await run(ITEM("1", 8));
  await run(ITEM("a,b", 7));
  assert.equal(calls.item, 4, "items (1, 8) and (a,b, 7) stayed cached");
  // Retitling item ("a,b", 7): its id segment is a%2Cb,7, never confused with (a, b,7).
  await run(`mutation { retitleItem(orgId: "a,b", number: 7, title: "new") { orgId number title } }`);
  assert.equal((await run(ITEM("a,b", 7))).item.title, "new");
  await run(ITEM("1", 7));
  await run(ITEM("1", 8));
  assert.equal(calls.item, 5, "only item (a,b, 7) was read again");
  // A response holding an item without its key fields is not cached: nothing could name it.
  await run(`{ item(orgId: "1", number: 8) { title } }`);
  await run(`{ item(orgId: "1", number: 8) { title } }`);
  assert.equal(calls.item, 7);
  assert.ok(store.stats().skipped >= 2);
});

test("yoga store: composite keys without store.plugin() are named in a warning", async () => {
  const warnings = [];
  const store = createResponseCacheStore({ engine: CascadeEngine.fromSchema(ITEM_SDL), onWarning: (m) => warnings.push(m) });
  const { run } = itemServer(store, { plugins: [] });
  await run(ITEM("1", 7));
  assert.deepEqual(warnings, [
    "Item has a composite key, which the plugin cannot report: list store.plugin() beside useResponseCache, or its changes never purge the responses holding it",
  ]);
});
