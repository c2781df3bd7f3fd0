// The PostgreSQL watcher with the bus and with company: `pg watch --purge bus` purges the LruCache
// of every member process, and several watchers share one outbox (FOR UPDATE SKIP LOCKED), one
// taking over the rows of another that is killed. Real PostgreSQL (Debian's), started here.
// Needs pkg/ built (`node scripts/build-pkg.mjs`) and `pg` (a dev dependency).
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import pg from "pg";
import { allHold, closeAll, fleetOf } from "./support/bus-scenarios.mjs";
import { eventually } from "./support/fleet.mjs";
import { root } from "./support/installed.mjs";
import { postgresMissing, startPostgres } from "./support/postgres.mjs";

const skip = postgresMissing();
const { installSql } = await import(join(root, "pkg", "pg.js"));
const CLI = join(root, "pkg", "bin", "cascade-edge.mjs");

const SDL = `
type User { id: ID! name: String posts: [Post] }
type Post { id: ID! title: String author: User }
type Query { user(id: ID!): User }
`;
const DDL = `
CREATE TABLE tv_user (id int PRIMARY KEY, name text);
CREATE TABLE tv_post (id int PRIMARY KEY, author_id int, title text);
`;

describe("the watcher feeds the bus; several watchers share an outbox", { skip }, () => {
  let server;
  let work;
  let dbCount = 0;
  const clients = [];
  const children = [];

  before(async () => {
    server = await startPostgres();
    work = mkdtempSync(join(tmpdir(), "cascade-edge-buswatch-"));
    writeFileSync(join(work, "schema.graphql"), SDL);
  });
  after(async () => {
    for (const child of children) child.kill("SIGKILL");
    for (const c of clients) await c.end().catch(() => {});
    server?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  async function freshDatabase() {
    const url = await server.createDatabase(`w${++dbCount}`);
    const db = new pg.Client({ connectionString: url });
    db.on("error", () => {});
    await db.connect();
    clients.push(db);
    await db.query(DDL);
    await db.query(installSql({ tables: ["tv_user", "tv_post"] }));
    return { url, db };
  }

  function watch(args) {
    const child = spawn(process.execPath, [CLI, "pg", "watch", "--schema", join(work, "schema.graphql"), ...args], { stdio: ["ignore", "pipe", "pipe"] });
    children.push(child);
    let stderr = "";
    child.stdout.resume();
    const ready = new Promise((resolve, reject) => {
      child.stderr.on("data", (chunk) => {
        stderr += chunk;
        if (stderr.includes("watching ")) resolve();
      });
      child.on("exit", (code) => reject(new Error(`pg watch exited (${code}) before watching:\n${stderr}`)));
    });
    const exited = new Promise((resolve) => child.on("exit", (code, signal) => resolve({ code, signal })));
    return { child, ready, exited, stderr: () => stderr };
  }

  /** An HTTP purge endpoint recording each batch's outbox ids; `respond(n)`: ms to wait, or null to hang. */
  async function endpoint(respond) {
    const requests = [];
    const hanging = [];
    const http = createServer((req, res) => {
      let text = "";
      req.on("data", (chunk) => (text += chunk));
      req.on("end", () => {
        const n = requests.length;
        const entry = { ids: JSON.parse(text).outboxIds, answered: false };
        requests.push(entry);
        const delay = respond(n);
        if (delay === null) return hanging.push(res);
        setTimeout(() => {
          entry.answered = true;
          res.writeHead(200).end("ok");
        }, delay);
      });
    });
    await new Promise((resolve) => http.listen(0, "127.0.0.1", resolve));
    return {
      url: `http://127.0.0.1:${http.address().port}/purge`,
      requests,
      purgedIds: () => requests.filter((r) => r.answered).flatMap((r) => r.ids),
      close: () =>
        new Promise((resolve) => {
          for (const res of hanging) res.destroy();
          http.closeAllConnections?.();
          http.close(resolve);
        }),
    };
  }

  const outboxCount = async (db) => (await db.query("SELECT count(*)::int AS n FROM cascade_edge_outbox")).rows[0].n;

  test("pg watch --purge bus: a database write purges the LruCache of three member processes", async () => {
    const { url, db } = await freshDatabase();
    await db.query("INSERT INTO tv_user VALUES (1, 'ada'), (2, 'bob'); INSERT INTO tv_post VALUES (5, 2, 'hi')");
    await db.query("DELETE FROM cascade_edge_outbox");
    const members = await fleetOf(url, "cascade_edge");
    const watcher = watch(["--url", url, "--purge", "bus"]);
    try {
      await watcher.ready;
      const keys = ["post:5", "user:1", "user:1:posts", "user:2"];
      for (const m of members) await m.call("fill", { keys });
      await db.query("UPDATE tv_user SET name = 'ada lovelace' WHERE id = 1");
      await allHold(members, ["post:5", "user:2"], "every member to drop user 1's keys");
      // The watcher deletes the row once its publish has returned, which may be just after the
      // members saw the set: wait for it rather than race it.
      await eventually(async () => (await outboxCount(db)) === 0, "the outbox row to go once the bus had the set");
      for (const m of members) assert.equal((await m.call("stats")).received, 1);
    } finally {
      watcher.child.kill("SIGTERM");
      await watcher.exited;
      await closeAll(members);
    }
  });

  test("two watchers on one outbox: every change purged once, none twice", async () => {
    const { url, db } = await freshDatabase();
    const purge = await endpoint(() => 20);
    const args = ["--url", url, "--purge", "http", "--endpoint", purge.url, "--batch-size", "10", "--batch-window", "0"];
    const [a, b] = [watch(args), watch(args)];
    try {
      await Promise.all([a.ready, b.ready]);
      await db.query("INSERT INTO tv_user SELECT g, 'u' || g FROM generate_series(1, 300) g");
      await eventually(async () => (await outboxCount(db)) === 0, "the backlog to drain");
      const ids = purge.purgedIds();
      assert.equal(ids.length, 300, "300 changes purged");
      assert.equal(new Set(ids).size, 300, "no change purged twice");
    } finally {
      a.child.kill("SIGTERM");
      b.child.kill("SIGTERM");
      await Promise.all([a.exited, b.exited]);
      await purge.close();
    }
  });

  test("a watcher killed mid-backlog: another takes over its claimed rows, nothing is lost", async () => {
    const { url, db } = await freshDatabase();
    await db.query("INSERT INTO tv_user SELECT g, 'u' || g FROM generate_series(1, 100) g");
    // The first batch (the first watcher's) hangs; the rest answer at once.
    const purge = await endpoint((n) => (n === 0 ? null : 5));
    const args = ["--url", url, "--purge", "http", "--endpoint", purge.url, "--batch-size", "10", "--batch-window", "0"];
    const first = watch(args);
    await first.ready;
    await eventually(() => purge.requests.length === 1, "the first watcher to claim its first batch");
    const held = purge.requests[0].ids;
    assert.equal(held.length, 10);
    const second = watch(args);
    try {
      await second.ready;
      // The second drains everything but the claimed batch, which stays locked while its owner lives.
      await eventually(async () => (await outboxCount(db)) === 10, "the second watcher to drain the unclaimed rows");
      const left = (await db.query("SELECT id::text AS id FROM cascade_edge_outbox ORDER BY cascade_edge_outbox.id")).rows.map((r) => r.id);
      assert.deepEqual(left, held, "what is left is exactly the first watcher's claim");
      assert.deepEqual(purge.purgedIds().filter((id) => held.includes(id)), [], "nobody purged the claimed rows while their owner lived");
      first.child.kill("SIGKILL");
      await first.exited;
      await eventually(async () => (await outboxCount(db)) === 0, "the second watcher to take over the killed watcher's rows");
      const ids = purge.purgedIds();
      assert.equal(new Set(ids).size, 100, "every change purged");
      assert.equal(ids.length, 100, "each once: the killed watcher's batch never completed");
      assert.deepEqual(
        held.filter((id) => ids.includes(id)),
        held,
        "the killed watcher's batch was purged by the other",
      );
    } finally {
      second.child.kill("SIGTERM");
      await second.exited;
      await purge.close();
    }
  });
});
