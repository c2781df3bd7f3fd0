// The PostgreSQL watcher purging a real Varnish: `cascade-edge pg watch --purge varnish --endpoint`
// (the CLI as a child process) against a real PostgreSQL and a real varnishd with vmod xkey
// (examples/varnish/default.vcl) in front of a GraphQL Yoga origin that reads the same database and
// tags its responses with useXkey from examples/varnish/origin.mjs. Every server is started here on
// 127.0.0.1 and stopped at the end. Needs pkg/ built (`node scripts/build-pkg.mjs`).
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { createSchema, createYoga } from "graphql-yoga";
import pg from "pg";
import { root } from "./support/installed.mjs";
import { postgresMissing, startPostgres } from "./support/postgres.mjs";
import { exampleVcl, freePort, startVarnish, varnishMissing } from "./support/varnish.mjs";

const skip = postgresMissing() || varnishMissing();
const { CascadeEngine } = await import(join(root, "pkg", "node.js"));
const { installSql } = await import(join(root, "pkg", "pg.js"));
const { typeDefs, useXkey } = await import(join(root, "examples", "varnish", "origin.mjs"));
const CLI = join(root, "pkg", "bin", "cascade-edge.mjs");

let server;
let varnish;
let http;
let db;
let work;
const calls = { user: 0 };

async function waitFor(fn, what, timeoutMs = 30000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

before(async () => {
  if (skip) return;
  server = await startPostgres();
  db = new pg.Client({ connectionString: server.url });
  await db.connect();
  await db.query(`
    CREATE TABLE tv_user (id int PRIMARY KEY, name text);
    CREATE TABLE tv_post (id int PRIMARY KEY, author_id int, title text);
    INSERT INTO tv_user VALUES (1, 'ada'), (2, 'bob');
    INSERT INTO tv_post VALUES (10, 1, 'first'), (11, 2, 'second');
  `);
  await db.query(installSql({ tables: ["tv_user", "tv_post"] }));
  await db.query("DELETE FROM cascade_edge_outbox");
  // The origin: Yoga over the same database, responses tagged for xkey.
  const engine = CascadeEngine.fromSchema(typeDefs);
  const one = async (sql, args) => (await db.query(sql, args)).rows[0] ?? null;
  const resolvers = {
    Query: {
      user: (_, { id }) => (calls.user++, one("SELECT id::text, name FROM tv_user WHERE id = $1", [id])),
      post: (_, { id }) => one("SELECT id::text, title, author_id::text FROM tv_post WHERE id = $1", [id]),
    },
    User: { posts: async (u) => (await db.query("SELECT id::text, title, author_id::text FROM tv_post WHERE author_id = $1 ORDER BY id", [u.id])).rows },
    Post: { author: (p) => one("SELECT id::text, name FROM tv_user WHERE id = $1", [p.author_id]) },
  };
  const yoga = createYoga({ schema: createSchema({ typeDefs, resolvers }), plugins: [useXkey(engine)], logging: false });
  const originPort = await freePort();
  http = createServer(yoga);
  await new Promise((resolve) => http.listen(originPort, "127.0.0.1", resolve));
  varnish = await startVarnish(exampleVcl(originPort));
  work = mkdtempSync(join(tmpdir(), "cascade-edge-pgvarnish-"));
  writeFileSync(join(work, "schema.graphql"), typeDefs);
});

after(async () => {
  await db?.end().catch(() => {});
  if (http) await new Promise((resolve) => http.close(resolve));
  await varnish?.stop();
  server?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

async function get(query) {
  const u = new URL("graphql", varnish.url);
  u.searchParams.set("query", query);
  const res = await fetch(u, { headers: { accept: "application/json" } });
  return { cache: res.headers.get("x-cache"), body: await res.json() };
}
const ADA = "{ user(id: \"1\") { __typename id name posts { __typename id title } } }";
const BOB = "{ user(id: \"2\") { __typename id name posts { __typename id title } } }";
const caches = async (...queries) => {
  const out = [];
  for (const q of queries) out.push((await get(q)).cache);
  return out;
};
const outbox = async () => (await db.query("SELECT count(*)::int AS n FROM cascade_edge_outbox")).rows[0].n;

test("pg watch --purge varnish: each write purges exactly the cached responses it changed, and an outage loses nothing", { skip }, async () => {
  const child = spawn(process.execPath, [
    CLI, "pg", "watch", "--url", server.url, "--schema", join(work, "schema.graphql"),
    "--purge", "varnish", "--endpoint", varnish.url, "--batch-window", "20",
  ], { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stdout.resume();
  child.stderr.on("data", (c) => (stderr += c));
  const exited = new Promise((resolve) => child.on("exit", (code, signal) => resolve({ code, signal })));
  try {
    await waitFor(() => stderr.includes("watching "), "the watcher to start");
    await caches(ADA, BOB);
    assert.deepEqual(await caches(ADA, BOB), ["HIT", "HIT"]);
    const written = async (sql) => {
      await db.query(sql);
      await waitFor(async () => (await outbox()) === 0, `the purge of: ${sql}`);
    };

    // Post 10 is on ada's page only.
    await written("UPDATE tv_post SET title = 'retitled' WHERE id = 10");
    assert.deepEqual(await caches(ADA, BOB), ["MISS", "HIT"]);
    assert.deepEqual((await get(ADA)).body.data.user.posts.map((p) => p.title), ["retitled"]);
    // A new post by bob reaches bob's list (user:2:posts), not ada's.
    await written("INSERT INTO tv_post VALUES (12, 2, 'third')");
    assert.deepEqual(await caches(ADA, BOB), ["HIT", "MISS"]);
    assert.deepEqual((await get(BOB)).body.data.user.posts.map((p) => p.id), ["11", "12"]);
    // Re-parenting post 12 from bob to ada: both lists.
    await written("UPDATE tv_post SET author_id = 1 WHERE id = 12");
    assert.deepEqual(await caches(ADA, BOB), ["MISS", "MISS"]);
    assert.deepEqual(await caches(ADA, BOB), ["HIT", "HIT"]);
    assert.match(stderr, /purged in \d+ms/);

    // varnishd down: the change stays in the outbox (the purge failed: connection refused) until
    // varnishd is back, then it is purged and deleted.
    await varnish.halt();
    await db.query("UPDATE tv_user SET name = 'robert' WHERE id = 2");
    await waitFor(() => /purge failed, keeping 1 outbox row/.test(stderr), "the failed purge", 60000);
    assert.match(stderr, /ECONNREFUSED/);
    assert.equal(await outbox(), 1);
    await varnish.start();
    await waitFor(async () => (await outbox()) === 0, "the outbox to drain after varnishd is back", 60000);
    await caches(ADA, BOB);
    assert.deepEqual(await caches(ADA, BOB), ["HIT", "HIT"]);
    await written("UPDATE tv_user SET name = 'rob' WHERE id = 2");
    assert.deepEqual(await caches(ADA, BOB), ["HIT", "MISS"]);
    assert.equal((await get(BOB)).body.data.user.name, "rob");
  } finally {
    child.kill("SIGTERM");
    await exited;
  }
  assert.equal((await exited).code, 0, stderr);
});

test("pg watch --purge varnish --dry-run prints the PURGE requests and keeps the outbox", { skip }, async () => {
  await db.query("UPDATE tv_post SET title = 'dry' WHERE id = 11");
  const child = spawn(process.execPath, [
    CLI, "pg", "watch", "--url", server.url, "--schema", join(work, "schema.graphql"),
    "--purge", "varnish", "--endpoint", varnish.url, "--dry-run",
  ], { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stdout.resume();
  child.stderr.on("data", (c) => (stderr += c));
  const exited = new Promise((resolve) => child.on("exit", (code) => resolve(code)));
  try {
    const line = await waitFor(() => stderr.split("\n").find((l) => l.includes("dry run: ")), `the dry-run line in:\n${stderr}`);
    const plan = JSON.parse(line.slice(line.indexOf("would purge ") + "would purge ".length));
    assert.equal(plan.backend, "varnish");
    assert.equal(plan.method, "PURGE");
    assert.deepEqual(plan.failed, []);
    // One request: the cascade's tags, then the coarse tags that reach coarsened responses.
    assert.deepEqual(plan.batches, [{ kind: "xkey-purge", items: ["post:11", "user:2:posts", "post:author:2", "post:*", "user:*", "*"] }]);
    assert.equal(await outbox(), 1);
  } finally {
    child.kill("SIGTERM");
    await exited;
  }
  await db.query("DELETE FROM cascade_edge_outbox");
});

test("pg watch --purge varnish without --endpoint is a usage error", async () => {
  const dir = mkdtempSync(join(tmpdir(), "cascade-edge-pgvarnish-usage-"));
  try {
    writeFileSync(join(dir, "schema.graphql"), typeDefs);
    const env = { ...process.env };
    delete env.CASCADE_EDGE_PURGE_URL;
    const r = spawnSync(process.execPath, [CLI, "pg", "watch", "--url", "postgres://127.0.0.1:1/x", "--schema", join(dir, "schema.graphql"), "--purge", "varnish"], { encoding: "utf8", env });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /--purge varnish needs --endpoint <url of Varnish>/);
    const bad = spawnSync(process.execPath, [CLI, "pg", "watch", "--url", "postgres://127.0.0.1:1/x", "--schema", join(dir, "schema.graphql"), "--purge", "varnish", "--endpoint", "varnish:6081"], { encoding: "utf8", env });
    assert.equal(bad.status, 2, bad.stderr);
    // The value is not echoed: an endpoint may carry a password.
    assert.match(bad.stderr, /--endpoint must be an http\(s\) URL/);
    assert.doesNotMatch(bad.stderr, /varnish:6081/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

for (const [backend, kind] of [["cloudflare", "tags"], ["fastly", "surrogate_keys"]]) {
  test(`pg watch --purge ${backend} --dry-run purges the coarse tags too, as Varnish does`, { skip }, async () => {
    await db.query("UPDATE tv_post SET title = 'dry' WHERE id = 11");
    const child = spawn(process.execPath, [
      CLI, "pg", "watch", "--url", server.url, "--schema", join(work, "schema.graphql"), "--purge", backend, "--dry-run",
    ], { stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stdout.resume();
    child.stderr.on("data", (c) => (stderr += c));
    const exited = new Promise((resolve) => child.on("exit", (code) => resolve(code)));
    try {
      const line = await waitFor(() => stderr.split("\n").find((l) => l.includes("dry run: ")), `the dry-run line in:\n${stderr}`);
      const plan = JSON.parse(line.slice(line.indexOf("would purge ") + "would purge ".length));
      assert.equal(plan.backend, backend);
      const items = plan.batches.flatMap((b) => b.items);
      assert.deepEqual(items, ["post:11", "user:2:posts", "post:author:2", "post:*", "user:*", "*"], JSON.stringify(plan));
      assert.ok(plan.batches.every((b) => b.kind === kind), JSON.stringify(plan));
    } finally {
      child.kill("SIGTERM");
      await exited;
    }
    await db.query("DELETE FROM cascade_edge_outbox");
  });
}
