// examples/worker in real workerd (Miniflare): GraphQL Yoga with the cascade-edge response cache
// store, over HTTP with real GraphQL documents. Hit counters (the response cache's own
// `extensions.responseCache.hit`, the store's stats, the resolvers' database reads) prove each
// claim; Cloudflare's purge API is a stand-in HTTP server on 127.0.0.1 reached through CLOUDFLARE_API_BASE.
// Needs pkg/ (node scripts/build-pkg.mjs).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Miniflare } from "miniflare";
import { buildWorker, sizes } from "../../examples/worker/build.mjs";
import { startRecorder, CF_OK } from "./helpers/recorder.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const toml = readFileSync(join(root, "examples", "worker", "wrangler.toml"), "utf8");
const compatibilityDate = toml.match(/^compatibility_date = "([^"]+)"/m)[1];
const ADMIN_TOKEN = "test-admin-token-5f1c";

let built;
let mf;
let persist;
let cdn;
let cdnScript = () => CF_OK; // what the stand-in Cloudflare API answers; tests swap it

function workerOptions(name, overrides = {}) {
  const bindings = Object.fromEntries(
    Object.entries({
      LRU_CHECK_MS: "0",
      ADMIN_TOKEN,
      CLOUDFLARE_ZONE_ID: "zone-test",
      CLOUDFLARE_API_TOKEN: "cf-test-token",
      CLOUDFLARE_API_BASE: `${cdn.base}/client/v4`,
      ...overrides,
    }).filter(([, v]) => v !== undefined),
  );
  return {
    name,
    modules: true,
    scriptPath: built.script,
    modulesRoot: built.outdir,
    modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"] }],
    compatibilityDate,
    // Same namespace ids in both workers: they share KV, like two isolates of one deployment.
    kvNamespaces: { BLOG_DB: "blog-db", CACHE_KV: "blog-cache" },
    bindings,
  };
}

before(async () => {
  cdn = await startRecorder((req, i) => cdnScript(req, i));
  built = await buildWorker({ outdir: mkdtempSync(join(tmpdir(), "cascade-edge-worker-")) });
  console.log(`[worker bundle] ${sizes(built)}`);
  // The Worker imports the edge build, and its wasm is what runs here.
  assert.deepEqual(readFileSync(built.wasm), readFileSync(join(root, "pkg", "edge", "cascade_edge_bg.wasm")));
  persist = mkdtempSync(join(existsSync("/dev/shm") ? "/dev/shm" : tmpdir(), "cascade-edge-worker-kv-"));
  mf = new Miniflare({ kvPersist: persist, workers: [workerOptions("a"), workerOptions("b")] });
  await mf.ready;
});

after(async () => {
  await mf?.dispose();
  await cdn?.close();
  if (persist) rmSync(persist, { recursive: true, force: true });
  if (built) rmSync(built.outdir, { recursive: true, force: true });
});

const BASE = "http://blog.local";
const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };

async function call(path, init = {}, worker = "a") {
  return (await mf.getWorker(worker)).fetch(`${BASE}${path}`, init);
}

/** POST a GraphQL document; returns data, whether the response cache hit, and the extensions. */
async function gql(query, variables = {}, worker = "a") {
  const res = await call("/graphql", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ query, variables }) }, worker);
  const body = await res.json();
  assert.equal(res.status, 200, JSON.stringify(body));
  assert.equal(body.errors, undefined, JSON.stringify(body.errors));
  return { data: body.data, hit: body.extensions?.responseCache?.hit, cascade: body.extensions?.cascade };
}

/** GET a GraphQL query (the Cache API tier); returns data, x-cache and the Cache-Tag header. */
async function gqlGet(query) {
  const res = await call(`/graphql?query=${encodeURIComponent(query)}`);
  const body = await res.json();
  assert.equal(res.status, 200, JSON.stringify(body));
  return { data: body.data, edge: res.headers.get("x-cache") === "edge", tags: res.headers.get("cache-tag") };
}

async function stats(worker = "a") {
  const res = await call("/admin/stats", { headers: auth }, worker);
  assert.equal(res.status, 200);
  return res.json();
}

// The purges run in ctx.waitUntil, after the response: wait for this isolate's report of purge `n`.
async function purgeReport(n, worker = "a") {
  for (let i = 0; i < 200; i++) {
    const { purges } = await stats(worker);
    if (purges.length >= n) return purges[n - 1];
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`purge report ${n} never came`);
}

async function kvKeys(name) {
  const kv = await mf.getKVNamespace(name);
  const names = [];
  let cursor;
  for (;;) {
    const page = await kv.list(cursor ? { cursor } : {});
    names.push(...page.keys.map((k) => k.name));
    if (page.list_complete) return names.sort();
    cursor = page.cursor;
  }
}

// The views: every object selects __typename and id, as Apollo Client and urql send them.
const VIEWS = {
  ada: ['query ($id: ID!) { user(id: $id) { __typename id name posts { __typename id title } } }', { id: "1" }],
  grace: ['query ($id: ID!) { user(id: $id) { __typename id name posts { __typename id title } } }', { id: "10" }],
  colon: ['query ($id: ID!) { user(id: $id) { __typename id name posts { __typename id title } } }', { id: "1:2" }],
  post9: ['query { post(id: "9") { __typename id title author { __typename id name } comments { __typename id body author { __typename id name } } } }'],
  post10: ['query { post(id: "10") { __typename id title author { __typename id name } } }'],
};
const view = (name, worker) => gql(VIEWS[name][0], VIEWS[name][1], worker);

test("admin endpoints need the secret: without it 401, and nothing changes", async () => {
  const before = { db: await kvKeys("BLOG_DB"), cache: await kvKeys("CACHE_KV"), calls: cdn.requests.length };
  assert.deepEqual(before.db, []);
  const attempts = [
    ["/admin/seed", { method: "POST" }],
    ["/admin/seed", { method: "POST", headers: { authorization: `Bearer ${ADMIN_TOKEN}x` } }],
    ["/admin/seed", { method: "POST", headers: { authorization: ADMIN_TOKEN } }],
    ["/admin/purge", { method: "POST", body: JSON.stringify({ changes: [{ entity: "User", id: "1" }] }) }],
    ["/admin/purge", { method: "POST", headers: { authorization: "Bearer " }, body: JSON.stringify({ changes: [{ entity: "User", id: "1" }] }) }],
    ["/admin/stats", {}],
  ];
  for (const [path, init] of attempts) {
    const res = await call(path, init);
    assert.equal(res.status, 401, path);
    assert.equal((await res.json()).error.code, "UNAUTHORIZED");
    assert.equal(res.headers.get("www-authenticate"), "Bearer");
  }
  await new Promise((r) => setTimeout(r, 200));
  assert.deepEqual(await kvKeys("BLOG_DB"), before.db, "no seed");
  assert.deepEqual(await kvKeys("CACHE_KV"), before.cache, "no purge");
  assert.equal(cdn.requests.length, before.calls, "no CDN purge");

  const seeded = await call("/admin/seed", { method: "POST", headers: auth });
  assert.equal(seeded.status, 200);
  assert.deepEqual(await seeded.json(), { seeded: { users: 3, posts: 2, comments: 1 } });
  assert.deepEqual(await kvKeys("BLOG_DB"), ["comments/5", "meta/nextId", "posts/10", "posts/9", "users/1", "users/10", "users/1:2"]);
});

test("queries are response cache hits the second time, without touching the database", async () => {
  for (const name of Object.keys(VIEWS)) assert.equal((await view(name)).hit, false, name);
  const warm = await stats();
  for (const name of Object.keys(VIEWS)) assert.equal((await view(name)).hit, true, name);
  const hot = await stats();
  assert.equal(hot.store.hits - warm.store.hits, 5);
  assert.equal(hot.counters.dbReads, warm.counters.dbReads, "no database read on a hit");
  assert.equal(hot.counters["Query.user"], warm.counters["Query.user"]);
  assert.deepEqual((await view("post9")).data.post.comments, [{ __typename: "Comment", id: "5", body: "Nice", author: { __typename: "User", id: "10", name: "Grace" } }]);
});

test("createPost makes exactly the views holding its author miss, purges the CDN by tag, and keeps the rest", async () => {
  const calls = cdn.requests.length;
  const { purges } = await stats();
  const res = await gql('mutation { createPost(authorId: "1", title: "Fresh") { __typename id title } }');
  assert.deepEqual(res.data.createPost, { __typename: "Post", id: "100", title: "Fresh" });
  assert.deepEqual(res.cascade.keys, ["post:100", "post:100:comments", "comment:post:100", "user:1:posts", "post:author:1"]);
  assert.deepEqual(res.cascade.patterns, []);

  // This isolate's LRU was purged before the response: ada's list is fresh at once. Views holding
  // user 1 miss (the store tags every User with its list keys); the others stay hits.
  const ada = await view("ada");
  assert.equal(ada.hit, false);
  assert.deepEqual(ada.data.user.posts.map((p) => [p.id, p.title]), [["9", "Cascades"], ["100", "Fresh"]]);
  assert.equal((await view("post9")).hit, false);
  for (const name of ["grace", "colon", "post10"]) assert.equal((await view(name)).hit, true, name);

  const report = await purgeReport(purges.length + 1);
  assert.equal(report.kv, "ok");
  assert.deepEqual(report.cloudflare, { purged: 9, failed: [], continuation: false });
  const sent = cdn.requests.slice(calls);
  assert.equal(sent.length, 1);
  assert.equal(sent[0].path, "/client/v4/zones/zone-test/purge_cache");
  assert.equal(sent[0].headers.authorization, "Bearer cf-test-token");
  // The cascade's tags, plus the coarse tags a response over the header budget would carry.
  assert.deepEqual(sent[0].body, { tags: ["post:100", "post:100:comments", "comment:post:100", "user:1:posts", "post:author:1", "post:*", "comment:*", "user:*", "*"] });
  // The KV tier lost exactly user 1's responses: KV-backed reads of the others remain.
  const responses = (await kvKeys("CACHE_KV")).filter((k) => k.startsWith("@response:"));
  assert.equal(responses.length, 5, responses.join(" ")); // 3 kept + ada and post9 cached again
});

test("an id holding the delimiter purges only that user's views", async () => {
  const res = await gql('mutation { createPost(authorId: "1:2", title: "Colon\'s post") { __typename id } }');
  assert.deepEqual(res.cascade.keys, ["post:101", "post:101:comments", "comment:post:101", "user:1%3A2:posts", "post:author:1%3A2"]);
  const colon = await view("colon");
  assert.equal(colon.hit, false);
  assert.deepEqual(colon.data.user.posts.map((p) => p.title), ["Colon's post"]);
  for (const name of ["ada", "grace", "post9", "post10"]) assert.equal((await view(name)).hit, true, name);
});

test("a rename refreshes every view embedding the name", async () => {
  const res = await gql('mutation { renameUser(id: "10", name: "Grace H.") { __typename id name } }');
  assert.deepEqual(res.cascade.keys, ["user:10", "user:10:posts", "user:10:comments", "post:author:10", "comment:author:10"]);
  const grace = await view("grace");
  const post9 = await view("post9"); // Grace commented on post 9
  const post10 = await view("post10"); // Grace wrote post 10
  assert.deepEqual([grace.hit, post9.hit, post10.hit], [false, false, false]);
  assert.equal(grace.data.user.name, "Grace H.");
  assert.equal(post9.data.post.comments[0].author.name, "Grace H.");
  assert.equal(post10.data.post.author.name, "Grace H.");
  for (const name of ["ada", "colon"]) assert.equal((await view(name)).hit, true, name);
});

test("GET responses: the Cache API serves them tagged, and a mutation deletes exactly the stale ones", async () => {
  const ada = VIEWS.ada[0].replace("$id", "$id").replace("query ($id: ID!) { user(id: $id)", '{ user(id: "1")');
  const grace = ada.replace('"1"', '"10"');
  const first = await gqlGet(ada);
  assert.equal(first.edge, false);
  assert.equal(first.tags, "user:1,user:1:posts,user:*:posts,post:9,post:100");
  await gqlGet(grace);
  await new Promise((r) => setTimeout(r, 200)); // the Cache API put runs in waitUntil
  assert.equal((await gqlGet(ada)).edge, true);
  assert.equal((await gqlGet(grace)).edge, true);

  const { purges } = await stats();
  await gql('mutation { updatePost(id: "9", title: "Cascades, revised") { __typename id } }');
  const report = await purgeReport(purges.length + 1);
  assert.deepEqual(report.cache, { purged: 1, failed: [], continuation: false }, "one Cache API entry held user:1:posts");
  const fresh = await gqlGet(ada);
  assert.equal(fresh.edge, false);
  assert.equal(fresh.data.user.posts[0].title, "Cascades, revised");
  assert.equal((await gqlGet(grace)).edge, true, "grace's response holds no tag of the cascade");
});

test("the CDN purge rides out 429 and 5xx from the purge API, and a refusal is reported, never silent", async () => {
  const calls = cdn.requests.length;
  cdnScript = (_, i) => [{ status: 429, headers: { "retry-after": "1" }, body: { success: false, errors: [{ code: 971, message: "throttled" }] } }, { status: 503, body: "busy" }][i - calls] ?? CF_OK;
  let { purges } = await stats();
  await gql('mutation { addComment(postId: "10", authorId: "1", body: "Agreed") { __typename id } }');
  let report = await purgeReport(purges.length + 1);
  assert.deepEqual(report.cloudflare.failed, []);
  assert.equal(report.cloudflare.purged, 9);
  const retried = cdn.requests.slice(calls);
  assert.equal(retried.length, 3, "429, 503, then accepted");
  assert.ok(retried.every((r) => JSON.stringify(r.body) === JSON.stringify(retried[0].body)));
  assert.ok(retried[0].body.tags.includes("post:10:comments"));

  // A permanent refusal: every tag is reported failed; the write stands and the local tiers were purged.
  cdnScript = () => ({ status: 403, body: { success: false, errors: [{ code: 10000, message: "Authentication error" }] } });
  try {
    ({ purges } = await stats());
    const before = await view("post10");
    assert.equal(before.hit, false, "addComment on post 10 purged it");
    assert.equal((await view("post10")).hit, true);
    const res = await gql('mutation { updatePost(id: "10", title: "Compilers, revised") { __typename id title } }');
    assert.equal(res.data.updatePost.title, "Compilers, revised");
    report = await purgeReport(purges.length + 1);
    assert.equal(report.cloudflare.purged, 0);
    assert.equal(report.cloudflare.failed.length, 9);
    assert.match(report.cloudflare.failed[0].error, /HTTP 403: 10000 Authentication error/);
    const after = await view("post10");
    assert.equal(after.hit, false);
    assert.equal(after.data.post.title, "Compilers, revised");
  } finally {
    cdnScript = () => CF_OK;
  }
});

test("/admin/purge purges a write made outside GraphQL; bad changes are a 400 that purges nothing", async () => {
  await view("ada");
  assert.equal((await view("ada")).hit, true);
  await view("grace");
  const bad = await call("/admin/purge", { method: "POST", headers: auth, body: JSON.stringify({ changes: [{ entity: "Nope", id: "1" }] }) });
  assert.equal(bad.status, 400);
  assert.ok((await bad.json()).error.code);
  assert.equal((await view("ada")).hit, true, "nothing purged");
  const res = await call("/admin/purge", { method: "POST", headers: auth, body: JSON.stringify({ changes: [{ entity: "User", id: "1", op: "update" }] }) });
  assert.equal(res.status, 200);
  assert.deepEqual((await res.json()).keys, ["user:1", "user:1:posts", "user:1:comments", "post:author:1", "comment:author:1"]);
  assert.equal((await view("ada")).hit, false);
  assert.equal((await view("grace")).hit, true);
});

test("another isolate drops its stale LRU entries through the KV generation stamp", async () => {
  await view("post9", "b");
  assert.equal((await view("post9", "b")).hit, true);
  await view("grace", "b");
  assert.equal((await view("grace", "b")).hit, true);
  const { purges } = await stats();
  await gql('mutation { updatePost(id: "9", title: "Cascades, third cut") { __typename id } }');
  await purgeReport(purges.length + 1); // KV and the stamp are written
  const inB = await view("post9", "b");
  assert.equal(inB.hit, false);
  assert.equal(inB.data.post.title, "Cascades, third cut");
  assert.equal((await view("grace", "b")).hit, true, "a replay of the set, not a full clear");
});

test("cold start: a new workerd instance instantiates the Worker (time reported, not asserted)", async () => {
  const t0 = performance.now();
  const cold = new Miniflare({ ...workerOptions("cold", { ADMIN_TOKEN: undefined }), kvNamespaces: ["BLOG_DB", "CACHE_KV"] });
  try {
    await cold.ready;
    const t1 = performance.now();
    const res = await cold.dispatchFetch(`${BASE}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: '{ user(id: "1") { __typename id name } }' }),
    });
    assert.equal(res.status, 200);
    assert.deepEqual((await res.json()).data, { user: null }); // empty database
    const t2 = performance.now();
    console.log(
      `[worker cold start] workerd up + Worker instantiated (wasm compile, initSync, fromJSON, Yoga): ${(t1 - t0).toFixed(1)} ms; ` +
        `first request: ${(t2 - t1).toFixed(1)} ms`,
    );
    // A Worker without ADMIN_TOKEN refuses every admin call, even an empty bearer token.
    const seed = await cold.dispatchFetch(`${BASE}/admin/seed`, { method: "POST", headers: { authorization: "Bearer " } });
    assert.equal(seed.status, 401);
  } finally {
    await cold.dispose();
  }
});

test("examples/worker/rules.json is what compile-rules.mjs writes from schema.graphql today", async () => {
  // The Worker loads these precompiled rules; rules compiled by an older engine keep its
  // derivations (an inverse it guessed, say) until recompiled.
  const { CascadeEngine } = await import("../../pkg/node.js");
  const sdl = readFileSync(join(root, "examples", "worker", "schema.graphql"), "utf8");
  const committed = readFileSync(join(root, "examples", "worker", "rules.json"), "utf8");
  assert.equal(committed, `${JSON.stringify(CascadeEngine.fromSchema(sdl).toJSON(), null, 2)}\n`, "run: node examples/worker/compile-rules.mjs");
});
