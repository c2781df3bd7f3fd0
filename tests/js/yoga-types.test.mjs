// cascade-edge/yoga with the real graphql-yoga and @envelop/response-cache: records of types the
// engine does not track (id-less types, types keyed by other `idFields`) are tracked by type tags
// (`Typename`, `Typename:id`), as the plugin's own store does, never dropped.
import assert from "node:assert/strict";
import { test } from "node:test";
import { CascadeEngine } from "../../pkg/node.js";
import { createResponseCacheStore } from "../../pkg/yoga.js";
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
