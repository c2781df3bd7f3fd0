// cascade-edge/yoga with the real graphql-yoga and @envelop/response-cache: records of types the
// engine does not track (id-less types, types keyed by other `idFields`) are tracked by type tags
// (`Typename`, `Typename:id`), as the plugin's own store does, never dropped.
import assert from "node:assert/strict";
import { test } from "node:test";
import { CascadeEngine } from "../../pkg/node.js";
import { createSchema } from "graphql-yoga";
import { createResponseCacheStore, keyFieldsFor } from "../../pkg/yoga.js";
import { yogaServer } from "./support/yoga.mjs";

const statsTypeDefs = /* GraphQL */ `
  type User { id: ID! name: String }
  type Stats { count: Int }
  type Query { stats: Stats user(id: ID!): User }
  type Mutation { resetStats: Stats createStats: Boolean }
`;

function statsServer(store) {
  let stats = null;
  const calls = { stats: 0, user: 0 };
  const resolvers = {
    Query: {
      stats: () => (calls.stats++, stats),
      user: (_, { id }) => (calls.user++, { id, name: "ada" }),
    },
    Mutation: {
      resetStats: () => ((stats = null), null),
      createStats: () => ((stats = { count: 1 }), true),
    },
  };
  return { ...yogaServer({ typeDefs: statsTypeDefs, resolvers, cache: store }), calls };
}

test("yoga store: an id-less type's null field is tracked by its type tag and purged type-wide", async () => {
  const store = createResponseCacheStore({ engine: CascadeEngine.fromSchema(statsTypeDefs) });
  const server = statsServer(store);
  assert.deepEqual(await server.run(`{ stats { count } }`), { stats: null });
  await server.run(`{ user(id: "1") { id name } }`);
  assert.deepEqual(store.tagsOf([{ typename: "Stats" }]), ["Stats"]);

  // A mutation returning `resetStats: null` makes the plugin invalidate `Stats` type-wide.
  await server.run(`mutation { resetStats { count } }`);
  assert.deepEqual(await server.run(`{ stats { count } }`), { stats: null });
  assert.equal(server.calls.stats, 2);

  // Stats come to exist without a mutation the plugin could see: a direct type-wide invalidation.
  await server.run(`mutation { createStats }`);
  await store.invalidate([{ typename: "Stats" }]);
  assert.deepEqual(await server.run(`{ stats { count } }`), { stats: { count: 1 } });
  assert.equal(server.calls.stats, 3);
  // Responses without Stats were not touched.
  await server.run(`{ user(id: "1") { id name } }`);
  assert.equal(server.calls.user, 1);
});

const uuidTypeDefs = /* GraphQL */ `
  type User { uuid: ID! name: String posts: [Post!]! }
  type Post { uuid: ID! title: String author: User! }
  type Query { user(uuid: ID!): User }
  type Mutation { rename(uuid: ID!, name: String!): User createPost(authorUuid: ID!, title: String!): Post }
`;

/** A server whose types are identified by `uuid` (`useResponseCache({ idFields: ["uuid"] })`). */
function uuidServer(makeStore) {
  const users = new Map([["u1", { uuid: "u1", name: "ada" }], ["u2", { uuid: "u2", name: "bob" }]]);
  const posts = [];
  const calls = { user: 0 };
  const resolvers = {
    Query: { user: (_, { uuid }) => (calls.user++, users.get(uuid)) },
    User: { posts: (u) => posts.filter((p) => p.author_uuid === u.uuid) },
    Post: { author: (p) => users.get(p.author_uuid) },
    Mutation: {
      rename: (_, { uuid, name }) => Object.assign(users.get(uuid), { name }),
      createPost(_, { authorUuid, title }) {
        const post = { uuid: `p${posts.length + 1}`, title, author_uuid: authorUuid };
        posts.push(post);
        return post;
      },
    },
  };
  const changeFor = ({ typename, id }) => (typename === "Post" ? { op: "create", data: posts.find((p) => p.uuid === id) } : undefined);
  const schema = createSchema({ typeDefs: uuidTypeDefs, resolvers });
  const store = makeStore(schema, changeFor);
  const server = yogaServer({ typeDefs: uuidTypeDefs, resolvers, cache: store, responseCache: { idFields: ["uuid"] } });
  return { ...server, store, calls };
}

const U1 = `{ user(uuid: "u1") { uuid name posts { uuid } } }`;
const U2 = `{ user(uuid: "u2") { uuid name posts { uuid } } }`;

test("yoga store: a type keyed by other idFields is tracked by type tags, with a warning", async () => {
  const warnings = [];
  const { run, store, calls } = uuidServer(() =>
    createResponseCacheStore({ engine: CascadeEngine.fromSchema(uuidTypeDefs), idFields: ["uuid"], onWarning: (m) => warnings.push(m) }),
  );
  await run(U1);
  await run(U2);
  await run(`mutation { rename(uuid: "u1", name: "ada lovelace") { uuid name } }`);
  assert.equal((await run(U1)).user.name, "ada lovelace");
  await run(U2);
  assert.equal(calls.user, 3, "only u1's response was purged");
  assert.equal(store.stats().hits, 1);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /^User has an id field .* keyFieldsFor/);
});

test("yoga store: with keyFieldsFor(schema, idFields) the engine cascades by uuid", async () => {
  const warnings = [];
  const { run, calls } = uuidServer((schema, changeFor) => {
    const keyFields = keyFieldsFor(schema, ["uuid"]);
    assert.deepEqual(keyFields, { User: ["uuid"], Post: ["uuid"] });
    const engine = CascadeEngine.fromSchema(uuidTypeDefs, { keyFields });
    return createResponseCacheStore({ engine, idFields: ["uuid"], changeFor, onWarning: (m) => warnings.push(m) });
  });
  await run(U1);
  await run(U2);
  // The new post is in no cached response: only the cascade (`user:u1:posts`) reaches u1's list.
  await run(`mutation { createPost(authorUuid: "u1", title: "t") { uuid } }`);
  assert.deepEqual((await run(U1)).user.posts, [{ uuid: "p1" }]);
  await run(U2);
  assert.equal(calls.user, 3);
  assert.deepEqual(warnings, []);
});

test("yoga store: an entity keyed by a field outside idFields is tracked by type tags, with a warning", () => {
  const warnings = [];
  const engine = CascadeEngine.fromSchema(`type Product @key(fields: "sku") { id: ID! sku: String! } type Query { p: Product }`);
  const store = createResponseCacheStore({ engine, onWarning: (m) => warnings.push(m) });
  assert.deepEqual(store.tagsOf([{ typename: "Product", id: "7" }]), ["Product:7"]);
  assert.match(warnings.join(), /entity Product is keyed by sku, not by one of idFields \(id\)/);
});
