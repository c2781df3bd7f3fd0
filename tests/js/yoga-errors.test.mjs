// cascade-edge/yoga with the real graphql-yoga and @envelop/response-cache: ids the core's keys
// cannot hold as they are (over-long, ill-formed) and a throwing `changeFor` never fail a request,
// and the purge stays exact (hashed segments match on both sides) or only widens.
import assert from "node:assert/strict";
import { test } from "node:test";
import { CascadeEngine } from "../../pkg/node.js";
import { createResponseCacheStore } from "../../pkg/yoga.js";
import { blogSchema } from "./support/blog-db.mjs";
import { blogServer, yogaServer } from "./support/yoga.mjs";

const typeDefs = /* GraphQL */ `
  type Item { id: ID! name: String }
  type Query { item(id: ID!): Item }
  type Mutation { rename(id: ID!, name: String!): Item }
`;

function itemServer(ids) {
  const items = new Map(ids.map((id) => [id, { id, name: "old" }]));
  const calls = { item: 0 };
  const errors = [];
  const store = createResponseCacheStore({
    engine: CascadeEngine.fromSchema(typeDefs),
    onError: (error, where) => errors.push(`${where}: ${error.code}`),
  });
  const resolvers = {
    Query: { item: (_, { id }) => (calls.item++, items.get(id) ?? null) },
    Mutation: {
      rename(_, { id, name }) {
        items.get(id).name = name;
        return items.get(id);
      },
    },
  };
  return { ...yogaServer({ typeDefs, resolvers, cache: store }), store, calls, errors };
}

const ITEM = `query ($id: ID!) { item(id: $id) { id name } }`;
const RENAME = `mutation ($id: ID!) { rename(id: $id, name: "new") { id name } }`;

for (const [what, id] of [
  ["an id over the core's 1024-byte key limit", "x".repeat(1500)],
  ["an id longer than a KV key", "é".repeat(300)],
  ["an id with a lone UTF-16 surrogate", "bad\uD800id"],
]) {
  test(`yoga store: ${what} is cached, purged exactly, and fails no request`, async () => {
    const server = itemServer([id, "plain"]);
    await server.run(ITEM, { id });
    await server.run(ITEM, { id: "plain" });
    assert.equal((await server.run(ITEM, { id })).item.name, "old");
    assert.equal(server.calls.item, 2, "the second read was a hit");

    const body = await server.send(RENAME, { id });
    assert.equal(body.errors, undefined, JSON.stringify(body.errors));
    assert.equal(body.data.rename.name, "new");

    assert.equal((await server.run(ITEM, { id })).item.name, "new");
    await server.run(ITEM, { id: "plain" });
    assert.equal(server.calls.item, 3, "only the renamed item's response was purged");
    assert.equal(server.store.stats().widened, 0);
    assert.deepEqual(server.errors, []);
  });
}

test("yoga store: a throwing changeFor widens the purge; the mutation still succeeds", async () => {
  const errors = [];
  const store = createResponseCacheStore({
    engine: CascadeEngine.fromSchema(blogSchema),
    changeFor: () => {
      throw new Error("change log unavailable");
    },
    onError: (error, where) => errors.push(`${where}: ${error.message}`),
  });
  const { run, send } = blogServer(store);
  await run(`{ user(id: "1") { id posts { id } } }`);
  await run(`{ user(id: "2") { id posts { id } } }`);
  const body = await send(`mutation { createPost(authorId: "1", title: "t") { id } }`);
  assert.equal(body.errors, undefined);
  // Without the change data, `user:*:posts`: both lists were purged, the new post shows.
  assert.equal((await run(`{ user(id: "1") { id posts { id } } }`)).user.posts.length, 2);
  assert.equal(store.stats().hits, 0);
  assert.deepEqual(errors, ["changeFor: change log unavailable"]);
});

test("yoga store: a store whose LRU refuses everything serves every request uncached", async () => {
  const errors = [];
  const store = createResponseCacheStore({ engine: CascadeEngine.fromSchema(blogSchema), onError: (e, where) => errors.push(where) });
  store.lru.free(); // every call on the LRU now throws USE_AFTER_FREE
  const { run, send, calls } = blogServer(store);
  await run(`{ user(id: "1") { id name } }`);
  await run(`{ user(id: "1") { id name } }`);
  assert.equal(calls.user, 2);
  assert.equal((await send(`mutation { renameUser(id: "1", name: "x") { id } }`)).errors, undefined);
  assert.ok(errors.includes("get") && errors.includes("set") && errors.includes("invalidate"), errors.join());
});
