// cascade-edge/yoga with the real graphql-yoga and @envelop/response-cache: what a mutation
// purges when its change data comes late (an async `changeFor`) or from its own result.
import assert from "node:assert/strict";
import { test } from "node:test";
import { CascadeEngine } from "../../pkg/node.js";
import { createResponseCacheStore } from "../../pkg/yoga.js";
import { blogSchema } from "./support/blog-db.mjs";
import { blogServer } from "./support/yoga.mjs";

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
