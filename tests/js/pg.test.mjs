// cascade-edge/pg against a real PostgreSQL server (Debian's postgresql package), started here on a
// temporary data directory and a random port on 127.0.0.1, stopped and removed at the end.
// Needs pkg/ built (`node scripts/build-pkg.mjs`) and `pg` (a dev dependency).
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import pg from "pg";
import { root } from "./support/installed.mjs";
import { postgresMissing, startPostgres } from "./support/postgres.mjs";

const skip = postgresMissing();
const { CascadeEngine, LruCache, tagsForResponse } = await import(join(root, "pkg", "node.js"));
const { createWatcher, httpPurge, installSql, tableToEntity } = await import(join(root, "pkg", "pg.js"));
const CLI = join(root, "pkg", "bin", "cascade-edge.mjs");

const SDL = `
type User { id: ID! name: String email: String posts: [Post] }
type Post { id: ID! title: String author: User comments: [Comment] }
type Comment { id: ID! body: String post: Post author: User }
type OrderLineItem { id: ID! qty: Int }
type Query { user(id: ID!): User }
`;
const TABLES = ["tv_user", "tv_post", "tv_comment", "tv_order_line_item"];
const DDL = `
CREATE TABLE tv_user (id int PRIMARY KEY, name text, email text);
CREATE TABLE tv_post (id int PRIMARY KEY, author_id int, title text);
CREATE TABLE tv_comment (id int PRIMARY KEY, post_id int, author_id int, body text);
CREATE TABLE tv_order_line_item (id int PRIMARY KEY, qty int);
`;

function makeEngine() {
  const engine = CascadeEngine.fromSchema(SDL);
  // A smart-cascade rule: the profile page shows the name only.
  engine.addRule({ entity: "user", cascadeTo: ["profile:{id}"], onFields: ["name"] });
  return engine;
}

/** Polls `fn` until it returns a truthy value; bounded by `timeoutMs`. */
async function waitFor(fn, what, timeoutMs = 8000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

let server;
let work;
let dbCount = 0;
const clients = [];

/** A fresh database with the query-side tables and the capture triggers; returns its URL and a client. */
async function freshDatabase(ddl = DDL, tables = TABLES) {
  const url = await server.createDatabase(`t${++dbCount}`);
  const db = new pg.Client({ connectionString: url });
  db.on("error", () => {}); // a server restart ends this connection; the test reconnects
  await db.connect();
  clients.push(db);
  await db.query(ddl);
  await db.query(installSql({ tables }));
  return { url, db };
}

const outboxIds = async (db) => (await db.query("SELECT id::text AS id FROM cascade_edge_outbox ORDER BY cascade_edge_outbox.id")).rows.map((r) => r.id);

/** A watcher whose purge records every set it received (and what it was told about the batch). */
function recordingWatcher(url, extra = {}) {
  const purged = [];
  const lines = [];
  const watcher = createWatcher({
    url,
    engine: makeEngine(),
    tables: TABLES,
    batchWindowMs: 30,
    minBackoffMs: 30,
    maxBackoffMs: 300,
    logger: (line) => lines.push(line),
    purge: async (set, info) => {
      purged.push({ keys: set.keys, patterns: set.patterns, tags: set.tags, ids: info.ids });
      return { purged: set.keys, failed: [] };
    },
    ...extra,
  });
  return { watcher, purged, lines };
}

before(async () => {
  if (skip) return;
  server = await startPostgres();
  work = mkdtempSync(join(tmpdir(), "cascade-edge-pgtest-"));
  writeFileSync(join(work, "schema.graphql"), SDL);
});

after(async () => {
  for (const c of clients) await c.end().catch(() => {});
  server?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("tableToEntity", { skip }, () => {
  test("strips tv_/v_ prefixes, keeps multi-word keyspaces, honours overrides, names known keyspaces", () => {
    const engine = makeEngine();
    assert.equal(tableToEntity("tv_user", engine).keyspace, "user");
    assert.equal(tableToEntity("v_user", engine).keyspace, "user");
    assert.equal(tableToEntity("public.tv_post", engine).keyspace, "post");
    assert.equal(tableToEntity("tv_order_line_item", engine).keyspace, "order_line_item");
    assert.equal(tableToEntity("members", engine, { members: "User" }).keyspace, "user");
    assert.throws(() => tableToEntity("tv_account", engine), (error) => {
      assert.equal(error.code, "UNKNOWN_TABLE");
      assert.match(error.message, /tv_account/);
      assert.match(error.message, /known keyspaces: user, post, comment, order_line_item/);
      return true;
    });
  });
});

describe("the watcher on a real PostgreSQL", { skip }, () => {
  test("updates, inserts, deletes and re-parenting purge the exact cascade sets; rows go after the purge", async () => {
    const { url, db } = await freshDatabase();
    const { watcher, purged } = recordingWatcher(url);
    await watcher.start();
    const step = async (sql) => {
      const n = purged.length;
      await db.query(sql);
      await watcher.idle();
      assert.equal(purged.length, n + 1, `one batch for: ${sql}`);
      return purged[n].keys;
    };
    try {
      // Insert: no before row, so every rule fires (profile:1 too).
      assert.deepEqual(await step("INSERT INTO tv_user VALUES (1, 'Ada', 'ada@x')"), [
        "user:1", "user:1:posts", "post:author:1", "comment:author:1", "profile:1",
      ]);
      await step("INSERT INTO tv_user VALUES (2, 'Bob', 'bob@x')");
      // Update of a field the onFields rule ignores: no profile:1.
      assert.deepEqual(await step("UPDATE tv_user SET email = 'ada@y' WHERE id = 1"), [
        "user:1", "user:1:posts", "post:author:1", "comment:author:1",
      ]);
      assert.deepEqual(await step("UPDATE tv_user SET name = 'Ada L' WHERE id = 1"), [
        "user:1", "user:1:posts", "post:author:1", "comment:author:1", "profile:1",
      ]);
      // The foreign key author_id reaches the author's post list.
      assert.deepEqual(await step("INSERT INTO tv_post VALUES (9, 1, 'Hello')"), [
        "post:9", "post:9:comments", "comment:post:9", "user:1:posts", "post:author:1",
      ]);
      // Re-parenting: both the new and the old author's lists.
      assert.deepEqual(await step("UPDATE tv_post SET author_id = 2 WHERE id = 9"), [
        "post:9", "post:9:comments", "comment:post:9", "user:2:posts", "user:1:posts", "post:author:2", "post:author:1",
      ]);
      // Delete: the old row is the data.
      assert.deepEqual(await step("DELETE FROM tv_post WHERE id = 9"), [
        "post:9", "post:9:comments", "comment:post:9", "user:2:posts", "post:author:2",
      ]);
      assert.deepEqual(await step("INSERT INTO tv_order_line_item VALUES (5, 3)"), ["order_line_item:5"]);
      // A burst in one transaction is one batch with one deduplicated set.
      const n = purged.length;
      await db.query("BEGIN; INSERT INTO tv_comment VALUES (70, 9, 1, 'a'); INSERT INTO tv_comment VALUES (71, 9, 2, 'b'); UPDATE tv_order_line_item SET qty = 4 WHERE id = 5; COMMIT");
      await watcher.idle();
      assert.equal(purged.length, n + 1);
      assert.equal(purged[n].ids.length, 3);
      assert.deepEqual(purged[n].keys, [
        "comment:70", "post:9:comments", "comment:post:9", "comment:author:1", "comment:71", "comment:author:2", "order_line_item:5",
      ]);
      assert.deepEqual(await outboxIds(db), []);
      assert.equal(watcher.stats().purgeFailures, 0);
    } finally {
      await watcher.stop();
    }
  });
});

describe("composite keys through the watcher", { skip }, () => {
  // An item is keyed by (orgId, number); SQL rows spell the fields in snake_case (org_id,
  // item_org_id). Its id segment is each value encoded, joined by `,` (SPEC §2).
  const ITEMS = `
    type Item @key(fields: "orgId number") { orgId: ID! number: Int! title: String comments: [Comment!]! }
    type Comment { id: ID! body: String item: Item! }
    type Query { item(orgId: ID!, number: Int!): Item }
  `;
  const ITEM_DDL = `
    CREATE TABLE tv_item (org_id text, number int, title text, PRIMARY KEY (org_id, number));
    CREATE TABLE tv_comment (id int PRIMARY KEY, item_org_id text, item_number int, body text);
  `;

  test("rows of a composite-key table and of its holders purge item:org,number keys, and the LRU entry tagged from the response", async () => {
    const { url, db } = await freshDatabase(ITEM_DDL, ["tv_item", "tv_comment"]);

    const engine = CascadeEngine.fromSchema(ITEMS);
    const cache = new LruCache({ maxEntries: 100 });
    // The cached response of item ("a,b", 7) with its comments, tagged by the keys it holds.
    const response = { data: { item: { __typename: "Item", orgId: "a,b", number: 7, comments: [] } } };
    const { keys, tags } = tagsForResponse(engine, response);
    assert.deepEqual(keys, ["item:a%2Cb,7", "item:a%2Cb,7:comments"]);
    assert.deepEqual(tags, ["item:a%2Cb%2C7", "item:a%2Cb%2C7:comments", "item:*:comments"]);
    const fill = () => {
      cache.set("response:item-ab-7", response, { tags: keys });
      cache.set("response:item-acme-7", { other: true }, { tags: ["item:acme,7", "item:acme,7:comments"] });
    };

    const purged = [];
    const watcher = createWatcher({
      url,
      engine,
      tables: ["tv_item", "tv_comment"],
      batchWindowMs: 30,
      minBackoffMs: 30,
      maxBackoffMs: 300,
      logger: () => {},
      purge: async (set) => {
        purged.push(set);
        cache.invalidateSet(set);
        return { purged: set.keys, failed: [] };
      },
    });
    await watcher.start();
    const step = async (sql) => {
      fill();
      const n = purged.length;
      await db.query(sql);
      await watcher.idle();
      assert.equal(purged.length, n + 1, `one batch for: ${sql}`);
      return { keys: purged[n].keys, patterns: purged[n].patterns, cached: [...cache.keys()].sort() };
    };
    try {
      assert.deepEqual(await step("INSERT INTO tv_item VALUES ('a,b', 7, 'x')"), {
        keys: ["item:a%2Cb,7", "item:a%2Cb,7:comments", "comment:item:a%2Cb,7"],
        patterns: [],
        cached: ["response:item-acme-7"],
      });
      // A new comment on item ("a,b", 7): its list, found from item_org_id and item_number.
      assert.deepEqual(await step("INSERT INTO tv_comment VALUES (3, 'a,b', 7, 'hi')"), {
        keys: ["comment:3", "item:a%2Cb,7:comments", "comment:item:a%2Cb,7"],
        patterns: [],
        cached: ["response:item-acme-7"],
      });
      // Moving it to item ("acme", 7) purges both items' lists, and no other.
      assert.deepEqual(await step("UPDATE tv_comment SET item_org_id = 'acme' WHERE id = 3"), {
        keys: ["comment:3", "item:acme,7:comments", "item:a%2Cb,7:comments", "comment:item:acme,7", "comment:item:a%2Cb,7"],
        patterns: [],
        cached: [],
      });
      assert.deepEqual(await outboxIds(db), []);
    } finally {
      await watcher.stop();
      engine.free();
      cache.free();
    }
  });
});

/** A purge endpoint on 127.0.0.1 recording every POST; `respond(body)` picks the status (or null to hang). */
async function purgeEndpoint(respond) {
  const requests = [];
  const hanging = [];
  const http = createServer((req, res) => {
    let text = "";
    req.on("data", (chunk) => (text += chunk));
    req.on("end", () => {
      const body = JSON.parse(text);
      const status = respond(body, requests.length);
      requests.push({ body, status });
      if (status === null) hanging.push(res);
      else res.writeHead(status).end(status === 200 ? "ok" : "boom");
    });
  });
  await new Promise((resolve) => http.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${http.address().port}/purge`,
    requests,
    close: () =>
      new Promise((resolve) => {
        for (const res of hanging) res.destroy();
        http.closeAllConnections?.();
        http.close(resolve);
      }),
  };
}

/** `cascade-edge pg watch` as a child process; resolves once it logs that it is watching. */
function cliWatch(args) {
  const child = spawn(process.execPath, [CLI, "pg", "watch", ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  let stdout = "";
  child.stdout.on("data", (chunk) => {
    stdout += chunk;
  });
  const ready = new Promise((resolve, reject) => {
    child.stderr.on("data", (chunk) => {
      stderr += chunk;
      if (stderr.includes("watching ")) resolve();
    });
    child.on("exit", (code) => reject(new Error(`pg watch exited (${code}) before watching:\n${stderr}`)));
  });
  const exited = new Promise((resolve) => child.on("exit", (code, signal) => resolve({ code, signal })));
  return { child, ready, exited, stderr: () => stderr, stdout: () => stdout };
}

describe("the watcher survives failures", { skip }, () => {
  test("killing the watcher mid-backlog and restarting it replays exactly the unpurged changes", async () => {
    const { url, db } = await freshDatabase();
    // A backlog of 20 changes written while no watcher runs.
    await db.query("INSERT INTO tv_user SELECT g, 'u' || g, NULL FROM generate_series(1, 20) g");
    const all = await outboxIds(db);
    assert.equal(all.length, 20);
    let hang = true;
    // The third batch hangs: the watcher is killed while that purge is in flight.
    const endpoint = await purgeEndpoint((_body, n) => (n === 2 && hang ? null : 200));
    const args = ["--url", url, "--schema", join(work, "schema.graphql"), "--purge", "http", "--endpoint", endpoint.url, "--batch-size", "5"];
    try {
      const first = cliWatch(args);
      await first.ready;
      await waitFor(() => endpoint.requests.length === 3, "the third purge request");
      first.child.kill("SIGKILL");
      assert.equal((await first.exited).signal, "SIGKILL");
      assert.match(first.stderr(), /batch 2: 5 changes \(ids \d+–\d+: tv_user insert ×5\) → 20 keys, 0 patterns, 20 tags; purged in \d+ms\n.*backlog: 10 done, 10 left, lag \d/);
      // Two batches were purged and deleted; the in-flight one and the rest stay.
      assert.deepEqual(await outboxIds(db), all.slice(10));
      hang = false;
      const second = cliWatch(args);
      await second.ready;
      await waitFor(async () => (await outboxIds(db)).length === 0, "the outbox to drain");
      second.child.kill("SIGTERM");
      assert.equal((await second.exited).code, 0);
      const acked = endpoint.requests.filter((r) => r.status === 200).flatMap((r) => r.body.outboxIds);
      // Every change purged successfully exactly once, in order; only the killed batch was sent twice.
      assert.deepEqual(acked, all);
      assert.deepEqual(endpoint.requests.map((r) => r.body.outboxIds), [
        all.slice(0, 5), all.slice(5, 10), all.slice(10, 15), all.slice(10, 15), all.slice(15, 20),
      ]);
      assert.deepEqual(endpoint.requests[3].body.keys.filter((k) => /^user:\d+$/.test(k)), ["user:11", "user:12", "user:13", "user:14", "user:15"]);
    } finally {
      await endpoint.close();
    }
  });

  test("restarting PostgreSQL while the watcher runs loses nothing", async () => {
    const { url, db } = await freshDatabase();
    const { watcher, purged, lines } = recordingWatcher(url);
    await watcher.start();
    try {
      await db.query("INSERT INTO tv_order_line_item VALUES (1, 1)");
      await watcher.idle();
      server.restart();
      const db2 = new pg.Client({ connectionString: url });
      await db2.connect();
      clients.push(db2);
      await db2.query("INSERT INTO tv_order_line_item VALUES (2, 1)");
      await waitFor(() => purged.some((p) => p.keys.includes("order_line_item:2")), "the change after the restart");
      await db2.query("UPDATE tv_order_line_item SET qty = 2 WHERE id = 1");
      await waitFor(() => purged.some((p) => p.keys.includes("order_line_item:1") && p !== purged[0]), "a second change after the restart");
      assert.deepEqual(purged.map((p) => p.keys), [["order_line_item:1"], ["order_line_item:2"], ["order_line_item:1"]]);
      assert.deepEqual(await outboxIds(db2), []);
      assert.ok(watcher.stats().reconnects >= 1, lines.join("\n"));
      assert.ok(lines.some((l) => /connection lost/.test(l)) && lines.some((l) => /reconnected/.test(l)), lines.join("\n"));
    } finally {
      await watcher.stop();
    }
  });

  test("a purge endpoint answering 500 keeps the rows in the outbox until it recovers", async () => {
    const { url, db } = await freshDatabase();
    let failing = true;
    const endpoint = await purgeEndpoint(() => (failing ? 500 : 200));
    const { watcher, lines } = recordingWatcher(url, { purge: httpPurge(endpoint.url) });
    await watcher.start();
    try {
      await db.query("INSERT INTO tv_post VALUES (3, 7, 'x'); INSERT INTO tv_post VALUES (4, 7, 'y')");
      const ids = await outboxIds(db);
      await waitFor(() => endpoint.requests.length >= 3, "three failed attempts");
      // Still there, every one of them.
      assert.deepEqual(await outboxIds(db), ids);
      assert.ok(lines.some((l) => /purge failed, keeping \d+ outbox row/.test(l) && /HTTP 500/.test(l)), lines.join("\n"));
      failing = false;
      await waitFor(async () => (await outboxIds(db)).length === 0, "the outbox to drain after recovery");
      const ok = endpoint.requests.filter((r) => r.status === 200);
      assert.equal(ok.length, 1);
      assert.deepEqual(ok[0].body.outboxIds, ids);
      assert.deepEqual(ok[0].body.keys, ["post:3", "post:3:comments", "comment:post:3", "user:7:posts", "post:author:7", "post:4", "post:4:comments", "comment:post:4"]);
      assert.ok(endpoint.requests.filter((r) => r.status === 500).every((r) => JSON.stringify(r.body.outboxIds) === JSON.stringify(ids)));
      assert.ok(watcher.stats().purgeFailures >= 3);
    } finally {
      await watcher.stop();
      await endpoint.close();
    }
  });

  test("a dry run shows the plan and keeps every row; an unknown table is an error at start-up", async () => {
    const { url, db } = await freshDatabase();
    await db.query("INSERT INTO tv_user VALUES (1, 'a', NULL)");
    const { watcher, purged, lines } = recordingWatcher(url, { dryRun: true });
    await watcher.start();
    await watcher.idle();
    await watcher.stop();
    assert.deepEqual(purged, []);
    assert.ok(lines.some((l) => l.includes('dry run: 1 change') && l.includes('"keys":["user:1","user:1:posts","post:author:1","comment:author:1","profile:1"]')), lines.join("\n"));
    assert.equal((await outboxIds(db)).length, 1);

    await db.query("CREATE TABLE tv_account (id int PRIMARY KEY)");
    await db.query(installSql({ tables: [...TABLES, "tv_account"] }));
    const bad = recordingWatcher(url, { tables: undefined });
    await assert.rejects(bad.watcher.start(), (error) => {
      assert.equal(error.code, "UNKNOWN_TABLE");
      assert.match(error.message, /tv_account.*known keyspaces: user, post, comment, order_line_item/s);
      return true;
    });
    await bad.watcher.stop();
  });
});

describe("pg install and pg watch take the engine options", { skip }, () => {
  test("--keyspaces maps a table to a renamed keyspace, --max-keys bounds each purged set", async () => {
    const { url, db } = await freshDatabase();
    await db.query("CREATE TABLE tv_line (id int PRIMARY KEY, qty int)");
    const schema = join(work, "schema.graphql");
    const pgCli = (...args) => spawnSync(process.execPath, [CLI, "pg", ...args], { encoding: "utf8", timeout: 30000 });
    // Without the option, tv_line maps to no keyspace and nothing is installed.
    const refused = pgCli("install", "--schema", schema, "--tables", "tv_line", "--url", url);
    assert.equal(refused.status, 1, refused.stderr);
    assert.match(refused.stderr, /^error\[UNKNOWN_TABLE\]: .*tv_line/);
    const flags = ["--keyspaces", "OrderLineItem=line", "--max-keys", "2"];
    const installed = pgCli("install", "--schema", schema, "--tables", "tv_line", "--url", url, ...flags);
    assert.equal(installed.status, 0, installed.stderr);
    assert.equal(installed.stderr, "installed change capture on tv_line (line)\n");
    // The same options from a file.
    writeFileSync(join(work, "options.json"), JSON.stringify({ keyspaces: { OrderLineItem: "line" }, maxKeys: 2 }));
    const watcher = cliWatch(["--url", url, "--schema", schema, "--tables", "tv_line,tv_user", "--options", join(work, "options.json"), "--batch-window", "0"]);
    try {
      await watcher.ready;
      assert.match(watcher.stderr(), /watching tv_line → line, tv_user → user /);
      await db.query("INSERT INTO tv_line VALUES (1, 3)");
      await waitFor(() => watcher.stdout().includes("\n"), "the first purge");
      await db.query("INSERT INTO tv_user VALUES (1, 'a', NULL)");
      await waitFor(() => watcher.stdout().split("\n").length > 2, "the second purge");
      watcher.child.kill("SIGTERM");
      assert.equal((await watcher.exited).code, 0);
      const sets = watcher.stdout().trim().split("\n").map((line) => JSON.parse(line));
      assert.deepEqual(sets.map((set) => [set.keys, set.patterns]), [
        [["line:1"], []],
        // Two keys, then the budget widens the rest to their keyspaces.
        [["user:1", "user:1:posts"], ["post:*", "comment:*"]],
      ]);
      assert.deepEqual(await outboxIds(db), []);
    } finally {
      watcher.child.kill("SIGKILL");
    }
    const bad = pgCli("watch", "--url", url, "--schema", schema, "--max-depth", "deep");
    assert.equal(bad.status, 2);
    assert.equal(bad.stderr, "error[INVALID_OPTIONS]: --max-depth takes a whole number, not 'deep'\nRun 'cascade-edge pg --help' for usage.\n");
  });
});
