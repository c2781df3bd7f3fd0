// What the cascade-edge/yoga tests share: a real graphql-yoga server with the real
// @envelop/response-cache plugin over any cache, a Workers KV namespace in real workerd
// (Miniflare) with fault injection, and a clock the tests move.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createSchema, createYoga } from "graphql-yoga";
import { useResponseCache } from "@envelop/response-cache";
import { Miniflare } from "miniflare";

/**
 * A Yoga server: `run(query, variables)` returns `data` (and fails the test on errors), `send`
 * the whole body. `responseCache` options go to `useResponseCache` (with `session: () => null`).
 */
export function yogaServer({ typeDefs, resolvers, cache, responseCache = {}, plugins = [] }) {
  const yoga = createYoga({
    schema: createSchema({ typeDefs, resolvers }),
    plugins: [...plugins, useResponseCache({ session: () => null, cache, ...responseCache })],
    logging: false,
  });
  const send = async (query, variables) => {
    const response = await yoga.fetch("http://yoga/graphql", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query, variables }),
    });
    return response.json();
  };
  const run = async (query, variables) => {
    const body = await send(query, variables);
    assert.equal(body.errors, undefined, JSON.stringify(body.errors));
    return body.data;
  };
  return { run, send, yoga };
}

/** A clock for the store (`now`) that only moves when told. */
export function manualClock(start = 1_700_000_000_000) {
  let t = start;
  const now = () => t;
  now.advance = (ms) => {
    t += ms;
  };
  return now;
}

/**
 * Workers KV in real workerd (Miniflare): `namespace(name)` gives a fresh namespace, `dispose()`
 * stops workerd and removes its storage.
 */
export async function startWorkerdKv(names) {
  const root = mkdtempSync(join(existsSync("/dev/shm") ? "/dev/shm" : tmpdir(), "cascade-edge-yoga-kv-"));
  const mf = new Miniflare({
    kvPersist: root,
    modules: true,
    script: "export default { fetch() { return new Response('') } }",
    kvNamespaces: names,
  });
  await mf.ready;
  return {
    mf,
    namespace: (name) => mf.getKVNamespace(name),
    async dispose() {
      await mf.dispose();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** Every key name in a KV namespace, sorted. */
export async function kvNames(kv) {
  const names = [];
  let cursor;
  for (;;) {
    const page = await kv.list(cursor ? { cursor } : {});
    names.push(...page.keys.map((k) => k.name));
    if (page.list_complete) break;
    cursor = page.cursor;
  }
  return names.sort();
}

/**
 * A KV namespace that passes every call to `kv` unless a fault is armed: `fail.delete`,
 * `fail.put`, `fail.get`, `fail.list` (a count of calls to reject, or Infinity). `calls` counts
 * the calls that reached `kv`.
 */
export function faultyKv(kv) {
  const fail = { delete: 0, put: 0, get: 0, list: 0 };
  const calls = { delete: 0, put: 0, get: 0, list: 0 };
  const wrap = (method) => async (...args) => {
    if (fail[method] > 0) {
      fail[method]--;
      throw new Error(`injected KV ${method} failure`);
    }
    calls[method]++;
    return kv[method](...args);
  };
  return { fail, calls, get: wrap("get"), put: wrap("put"), delete: wrap("delete"), list: wrap("list") };
}

/** Collects unhandled promise rejections while `fn` runs (Node exits on them by default). */
export async function withoutUnhandledRejections(fn) {
  const seen = [];
  const listener = (reason) => seen.push(reason);
  process.on("unhandledRejection", listener);
  try {
    await fn();
    // Rejections are reported after the microtask queue drains.
    await new Promise((resolve) => setTimeout(resolve, 20));
  } finally {
    process.off("unhandledRejection", listener);
  }
  assert.deepEqual(seen.map(String), [], "no unhandled rejection");
}

export const blogTypeDefs = /* GraphQL */ `
  type User { id: ID! name: String posts: [Post!]! }
  type Post { id: ID! title: String author: User! comments: [Comment!]! }
  type Comment { id: ID! body: String author: User! post: Post! }
  type Query { user(id: ID!): User post(id: ID!): Post }
  type Mutation {
    createPost(authorId: ID!, title: String!): Post
    movePost(id: ID!, authorId: ID!): Post
    renameUser(id: ID!, name: String!): User
  }
`;

/** A blog server over `cache`: the database, resolver call counts, and the change log `changeFor` reads. */
/** The blog's data: two users, two posts, and the change log `changeFor` reads. */
export function blogDb() {
  return {
    users: new Map([
      ["1", { id: "1", name: "ada" }],
      ["2", { id: "2", name: "bob" }],
    ]),
    posts: new Map([
      ["10", { id: "10", title: "first", author_id: "1" }],
      ["11", { id: "11", title: "second", author_id: "2" }],
    ]),
    nextId: 100,
    changes: new Map(), // "Post:10" → { op, before, data } of the last write
  };
}

/** A blog server over `cache` and `db` (share one `db` to play two isolates of one deployment). */
export function blogServer(cache, { responseCache = {}, plugins = [], db = blogDb() } = {}) {
  const { users, posts, changes } = db;
  const calls = { user: 0, post: 0 };
  const resolvers = {
    Query: {
      user: (_, { id }) => (calls.user++, users.get(id) ?? null),
      post: (_, { id }) => (calls.post++, posts.get(id) ?? null),
    },
    User: { posts: (u) => [...posts.values()].filter((p) => p.author_id === u.id) },
    Post: { author: (p) => users.get(p.author_id), comments: () => [] },
    Mutation: {
      createPost(_, { authorId, title }) {
        const post = { id: String(db.nextId++), title, author_id: authorId };
        posts.set(post.id, post);
        changes.set(`Post:${post.id}`, { op: "create", data: { ...post } });
        return post;
      },
      movePost(_, { id, authorId }) {
        const before = { ...posts.get(id) };
        posts.get(id).author_id = authorId;
        changes.set(`Post:${id}`, { op: "update", before, data: { ...posts.get(id) } });
        return posts.get(id);
      },
      renameUser(_, { id, name }) {
        const before = { ...users.get(id) };
        users.get(id).name = name;
        changes.set(`User:${id}`, { op: "update", before, data: { ...users.get(id) } });
        return users.get(id);
      },
    },
  };
  const { run, send } = yogaServer({ typeDefs: blogTypeDefs, resolvers, cache, responseCache, plugins });
  const changeFor = ({ typename, id }) => changes.get(`${typename}:${id}`);
  return { run, send, calls, changeFor, db };
}
