// Cache poisoning across sessions (RELIABILITY.md, "Security"): the cascade-edge/yoga store keys a
// response by the id @envelop/response-cache gives it, which includes the session, so one
// session's response is never served to another: from the LRU, from KV (a second isolate sharing
// the namespace, real workerd KV through Miniflare), or on the hashed path of ids over 512 chars.
// Needs pkg/ (node scripts/build-pkg.mjs).
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { createSchema, createYoga } from "graphql-yoga";
import { useResponseCache } from "@envelop/response-cache";
import { CascadeEngine } from "../../pkg/node.js";
import { createResponseCacheStore } from "../../pkg/yoga.js";
import { startKv } from "./helpers/kv-fixture.mjs";

const typeDefs = /* GraphQL */ `
  type User { id: ID! name: String email: String }
  type Query { me: User }
`;
const USERS = { alice: { id: "1", name: "alice", email: "alice@private" }, bob: { id: "2", name: "bob", email: "bob@private" } };
const ME = "{ me { id name email } }";

let kvEnv;
before(async () => {
  kvEnv = await startKv(["RESPONSES"]);
});
after(async () => {
  await kvEnv?.dispose();
});

/** One isolate: a Yoga server whose `me` is the session's user, over a store (optionally on shared KV). */
function isolate({ kv, buildResponseCacheKey } = {}) {
  const reads = { me: 0 };
  const store = createResponseCacheStore({ engine: CascadeEngine.fromSchema(typeDefs), kv });
  const yoga = createYoga({
    schema: createSchema({ typeDefs, resolvers: { Query: { me: (_, __, ctx) => (reads.me++, USERS[ctx.request.headers.get("x-user")] ?? null) } } }),
    plugins: [
      useResponseCache({
        session: (ctx) => ctx.request.headers.get("x-user") ?? null,
        cache: store,
        includeExtensionMetadata: true,
        ...(buildResponseCacheKey ? { buildResponseCacheKey } : {}),
      }),
    ],
    logging: false,
  });
  const ask = async (user) => {
    const headers = { "content-type": "application/json", ...(user ? { "x-user": user } : {}) };
    const res = await yoga.fetch("http://yoga/graphql", { method: "POST", headers, body: JSON.stringify({ query: ME }) });
    const body = await res.json();
    return { me: body.data.me, hit: body.extensions?.responseCache?.hit ?? false };
  };
  return { ask, reads, store };
}

test("each session is served its own response from the LRU, and anonymous requests never see a user's", async () => {
  const one = isolate();
  for (let round = 0; round < 2; round++) {
    for (const user of ["alice", "bob", undefined]) {
      const { me, hit } = await one.ask(user);
      assert.deepEqual(me, user ? USERS[user] : null, `${user ?? "anonymous"}, round ${round}`);
      assert.equal(hit, round === 1, `${user ?? "anonymous"} ${round === 1 ? "hits" : "misses"} in round ${round}`);
    }
  }
  assert.equal(one.reads.me, 3);
});

test("a second isolate reading the shared KV tier serves each session its own response", async () => {
  // The plugin does not await the store's KV writes: track them, so none outlives the test.
  const real = kvEnv.spaces.RESPONSES;
  const writes = [];
  const kv = {
    get: (...a) => real.get(...a),
    list: (...a) => real.list(...a),
    delete: (...a) => real.delete(...a),
    put: (...a) => {
      const p = real.put(...a);
      writes.push(p);
      return p;
    },
  };
  const first = isolate({ kv });
  await first.ask("alice");
  await first.ask("bob");
  // The store queues its KV writes behind pending purges: wait until it has none in flight.
  await first.store.settled();
  await Promise.all(writes);
  const second = isolate({ kv }); // a fresh LRU: every answer below comes from KV
  assert.deepEqual(await second.ask("bob"), { me: USERS.bob, hit: true });
  assert.deepEqual(await second.ask("alice"), { me: USERS.alice, hit: true });
  assert.deepEqual(await second.ask(undefined), { me: null, hit: false });
  assert.equal(second.reads.me, 1);
  await Promise.all(writes);
});

test("ids over 512 characters (hashed in the key) still never cross sessions", async () => {
  // A key builder that puts the session in clear: long ids take the store's hashed path.
  const long = isolate({ buildResponseCacheKey: async ({ sessionId, documentString }) => `${"s".repeat(600)}|${sessionId}|${documentString}` });
  assert.deepEqual(await long.ask("alice"), { me: USERS.alice, hit: false });
  assert.deepEqual(await long.ask("bob"), { me: USERS.bob, hit: false });
  assert.deepEqual(await long.ask("alice"), { me: USERS.alice, hit: true });
  assert.deepEqual(await long.ask("bob"), { me: USERS.bob, hit: true });
});
