// The PostgreSQL side of RELIABILITY.md's "Security": `cascade-edge pg install` and `pg watch` run
// as roles holding only the grants the README lists (no superuser), with passwords required
// (scram-sha-256) and taken from the URL or PGPASSWORD; no password, token or secret is ever
// printed; purges go out signed and a real verifier accepts them. A real PostgreSQL server, started
// here on 127.0.0.1. Needs pkg/ (node scripts/build-pkg.mjs).
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
const { CascadeEngine, createReplayGuard, verifyPurgeRequest } = await import(join(root, "pkg", "node.js"));
const { createWatcher } = await import(join(root, "pkg", "pg.js"));
const CLI = join(root, "pkg", "bin", "cascade-edge.mjs");

const SDL = "type User { id: ID! name: String posts: [Post] }\ntype Post { id: ID! title: String author: User }\ntype Query { user(id: ID!): User }\n";
const PASSWORDS = { installer: "inst-Pw-7c1d%40x", watcher: "watch-Pw-2b9e", writer: "write-Pw-5a3f" };
const SECRET = "purge-secret-e4d2a9";
const TOKEN = "purge-token-91fb3c";
const NEVER_PRINTED = [...Object.values(PASSWORDS), decodeURIComponent(PASSWORDS.installer), SECRET, TOKEN];

// The grants README.md lists ("PostgreSQL", roles), run as the roles that give them.
const OWNER_SETUP = `
CREATE TABLE tv_user (id int PRIMARY KEY, name text);
CREATE TABLE tv_post (id int PRIMARY KEY, author_id int, title text);
`;
const OUTBOX_GRANTS = `
GRANT SELECT, UPDATE, DELETE ON cascade_edge_outbox TO watcher;
GRANT INSERT, SELECT (id) ON cascade_edge_outbox TO writer;
GRANT USAGE ON SEQUENCE cascade_edge_outbox_id_seq TO writer;
GRANT SELECT, INSERT, UPDATE, DELETE ON tv_user, tv_post TO writer;
`;

let server;
let work;
let dbUrl;
const as = (user, password = PASSWORDS[user]) => dbUrl.replace("postgres@", `${user}:${password}@`);

async function query(url, sql) {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await c.query(sql);
  } finally {
    await c.end();
  }
}

function cli(args, env = {}) {
  const r = spawnSync(process.execPath, [CLI, "pg", ...args], { encoding: "utf8", env: { ...process.env, ...env }, timeout: 30000 });
  return { status: r.status, output: r.stdout + r.stderr };
}

/** `pg watch` as a child process; `until(re)` resolves once its stderr matches. */
function watchProcess(args, env) {
  const child = spawn(process.execPath, [CLI, "pg", "watch", ...args], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } });
  let output = "";
  const waiters = [];
  const onData = (chunk) => {
    output += chunk;
    for (const w of waiters.splice(0)) (w.re.test(output) ? w.resolve : (x) => waiters.push(x))(w);
  };
  child.stdout.on("data", onData);
  child.stderr.on("data", onData);
  const exited = new Promise((resolve) => child.on("exit", resolve));
  return {
    output: () => output,
    until: (re, what) =>
      Promise.race([
        new Promise((resolve) => (re.test(output) ? resolve() : waiters.push({ re, resolve }))),
        exited.then(() => Promise.reject(new Error(`pg watch exited before ${what}:\n${output}`))),
        new Promise((_, reject) => setTimeout(() => reject(new Error(`timed out waiting for ${what}:\n${output}`)), 15000)),
      ]),
    stop: async () => {
      child.kill("SIGTERM");
      await exited;
    },
  };
}

/** A purge receiver on 127.0.0.1 that accepts only requests verifyPurgeRequest accepts. */
async function signedReceiver() {
  const accepted = [];
  const refused = [];
  const guard = createReplayGuard();
  const http = createServer(async (req, res) => {
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    const request = new Request(`http://127.0.0.1${req.url}`, { method: "POST", headers: req.headers, body: Buffer.concat(chunks) });
    try {
      const { body } = await verifyPurgeRequest(request, SECRET, { replay: guard });
      accepted.push({ body: JSON.parse(body), authorization: req.headers.authorization });
      res.writeHead(200).end("ok");
    } catch (error) {
      refused.push(error.code);
      res.writeHead(error.status ?? 400).end(error.code);
    }
  });
  await new Promise((resolve) => http.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${http.address().port}/purge`, accepted, refused, close: () => new Promise((r) => http.close(r)) };
}

before(async () => {
  if (skip) return;
  // Password required for the three roles; the superuser (test set-up only) is trusted.
  server = await startPostgres({ hba: ["host all installer,watcher,writer 127.0.0.1/32 scram-sha-256"] });
  dbUrl = server.url.replace(/\/postgres$/, "/app");
  await query(server.url, "CREATE DATABASE app");
  await query(
    dbUrl,
    `CREATE ROLE installer LOGIN PASSWORD '${decodeURIComponent(PASSWORDS.installer)}';
     CREATE ROLE watcher LOGIN PASSWORD '${PASSWORDS.watcher}';
     CREATE ROLE writer LOGIN PASSWORD '${PASSWORDS.writer}';
     GRANT CREATE ON SCHEMA public TO installer;`,
  );
  await query(as("installer"), OWNER_SETUP);
  work = mkdtempSync(join(tmpdir(), "cascade-edge-security-pg-"));
  writeFileSync(join(work, "schema.graphql"), SDL);
});

after(() => {
  server?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("PostgreSQL roles with only the README's grants", { skip }, () => {
  test("install as the tables' owner (twice: idempotent), then watch as a role with SELECT, UPDATE and DELETE on the outbox; purges go out signed", async () => {
    const roles = (await query(dbUrl, "SELECT rolname, rolsuper, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname IN ('installer', 'watcher', 'writer') ORDER BY 1")).rows;
    assert.deepEqual(roles.map((r) => [r.rolname, r.rolsuper || r.rolcreaterole || r.rolcreatedb]), [["installer", false], ["watcher", false], ["writer", false]]);
    const schema = join(work, "schema.graphql");
    for (let i = 0; i < 2; i++) {
      const install = cli(["install", "--schema", schema, "--tables", "tv_user,tv_post", "--url", as("installer")]);
      assert.equal(install.status, 0, install.output);
      assert.match(install.output, /installed change capture on tv_user \(user\), tv_post \(post\)/);
    }
    await query(as("installer"), OUTBOX_GRANTS);

    const receiver = await signedReceiver();
    // The password comes from PGPASSWORD here, not the URL.
    const watch = watchProcess(["--schema", schema, "--url", as("watcher", "").replace("watcher:@", "watcher@"), "--purge", "http", "--endpoint", receiver.url, "--header", `Authorization: Bearer ${TOKEN}`, "--batch-window", "10"], {
      PGPASSWORD: PASSWORDS.watcher,
      CASCADE_EDGE_PURGE_SECRET: SECRET,
    });
    try {
      await watch.until(/watching tv_post → post, tv_user → user|watching tv_user → user, tv_post → post/, "watching");
      await query(as("writer"), "INSERT INTO tv_user VALUES (1, 'ada'); INSERT INTO tv_post VALUES (9, 1, 'hello')");
      await watch.until(/batch 1: .*purged/, "the first batch");
      assert.deepEqual(receiver.refused, []);
      assert.deepEqual(receiver.accepted.flatMap((a) => a.body.keys), ["user:1", "user:1:posts", "post:author:1", "post:9", "user:1:posts", "post:author:1"].filter((k, i, all) => all.indexOf(k) === i));
      assert.deepEqual(receiver.accepted.map((a) => a.authorization), [`Bearer ${TOKEN}`]);
      assert.equal((await query(as("watcher"), "SELECT count(*)::int AS n FROM cascade_edge_outbox")).rows[0].n, 0);
      assert.match(watch.output(), /purge requests: signed \(CASCADE_EDGE_PURGE_SECRET\), headers authorization/);
    } finally {
      await watch.stop();
      await receiver.close();
    }
    for (const secret of NEVER_PRINTED) assert.ok(!watch.output().includes(secret), `printed a credential:\n${watch.output()}`);
    // The watcher may not read the query-side tables themselves: it needs the outbox only.
    await assert.rejects(query(as("watcher"), "SELECT * FROM tv_user"), /permission denied/);
  });

  test("a wrong password, in the URL or in PGPASSWORD, is reported without printing it", async () => {
    const schema = join(work, "schema.graphql");
    for (const [url, env] of [
      [as("watcher", "wrong-Pw-url-61d0"), {}],
      [dbUrl.replace("postgres@", "watcher@"), { PGPASSWORD: "wrong-Pw-env-83c4" }],
    ]) {
      const watch = watchProcess(["--schema", schema, "--url", url, "--tables", "tv_user"], env);
      try {
        await watch.until(/cannot connect/, "the connection error");
      } finally {
        await watch.stop();
      }
      assert.match(watch.output(), /password authentication failed for user "watcher"/);
      for (const secret of ["wrong-Pw-url-61d0", "wrong-Pw-env-83c4"]) assert.ok(!watch.output().includes(secret), watch.output());
    }
    // A usage error quoting a URL does not print its password either.
    const bad = cli(["watch", "--schema", schema, "--url", as("installer"), "--purge", "varnish", "--endpoint", "ftp://x:pw@host/"]);
    assert.equal(bad.status, 2, bad.output);
    for (const secret of NEVER_PRINTED) assert.ok(!bad.output.includes(secret), bad.output);
  });
});

describe("the watcher's log", () => {
  test("masks the URL's password and PGPASSWORD even when a driver error quotes them", async () => {
    const lines = [];
    const saved = process.env.PGPASSWORD;
    process.env.PGPASSWORD = "env-Pw-0d3b";
    try {
      const url = "postgres://watcher:url-Pw%2F77@db.internal/app";
      // A client whose connect fails the way some drivers do: quoting what it was given.
      const client = () => ({
        on() {},
        connect: async () => {
          throw new Error("could not connect to postgres://watcher:url-Pw%2F77@db.internal/app (password url-Pw/77, PGPASSWORD env-Pw-0d3b)");
        },
        end: async () => {},
      });
      const watcher = createWatcher({ url, client, engine: CascadeEngine.fromSchema(SDL), purge: async () => {}, minBackoffMs: 5, maxBackoffMs: 5, logger: (l) => lines.push(l) });
      watcher.start().catch(() => {});
      while (lines.length === 0) await new Promise((r) => setTimeout(r, 5));
      await watcher.stop();
    } finally {
      if (saved === undefined) delete process.env.PGPASSWORD;
      else process.env.PGPASSWORD = saved;
    }
    assert.equal(lines[0], "[cascade-edge pg] cannot connect (could not connect to postgres://watcher:***@db.internal/app (password ***, PGPASSWORD ***)); retrying in 5ms");
  });
});
