// PostgreSQL's own security, as the watcher and cascade-edge/bus use it: a real PostgreSQL started
// here with `ssl=on` and a throwaway CA (openssl), where the roles `watcher` and `member` must
// connect over TLS (`hostssl` … scram-sha-256; `host` … reject) with a password, from the URL or
// PGPASSWORD. `sslmode` is node-postgres's (README, "Credentials"). Servers and temporary
// directories are removed at the end. Needs pkg/ (node scripts/build-pkg.mjs).
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import pg from "pg";
import { eventually } from "./support/fleet.mjs";
import { root } from "./support/installed.mjs";
import { postgresMissing, startPostgres } from "./support/postgres.mjs";
import { makeCertificates, opensslMissing } from "./support/tls.mjs";

const skip = postgresMissing() || opensslMissing();
const { CascadeEngine, LruCache } = await import(join(root, "pkg", "node.js"));
const { createWatcher, installSql } = await import(join(root, "pkg", "pg.js"));
const { busInstallSql, connectBus } = await import(join(root, "pkg", "bus.js"));

const SDL = "type User { id: ID! name: String }\ntype Query { user(id: ID!): User }\n";
const PASSWORDS = { watcher: "watch-Pw-6c0e", member: "member-Pw-9a41" };
const WRONG = "wrong-Pw-27bd";
const NEVER_PRINTED = [...Object.values(PASSWORDS), WRONG];
// What a bus member needs when the tables exist (`install: false`), as README.md ("Fleets") lists.
const MEMBER_GRANTS = `GRANT SELECT, INSERT, DELETE ON cascade_edge_bus TO member;
GRANT USAGE ON SEQUENCE cascade_edge_bus_id_seq TO member;
GRANT SELECT, INSERT, UPDATE ON cascade_edge_bus_pruned TO member;`;

let server;
let dir;
let certs;
let adminUrl;

/** `user`'s URL to the app database, with `query` (sslmode…); the password only when given. */
const urlOf = (user, query, password = PASSWORDS[user]) =>
  `postgres://${user}${password === undefined ? "" : `:${password}`}@127.0.0.1:${server.port}/app${query ? `?${query}` : ""}`;
const verifyFull = (ca = certs.ca) => `sslmode=verify-full&sslrootcert=${ca}`;

async function query(sql, params) {
  const c = new pg.Client({ connectionString: adminUrl });
  await c.connect();
  try {
    return await c.query(sql, params);
  } finally {
    await c.end();
  }
}

/** Whether every connection whose pg_stat_activity row matches `where` is encrypted; at least one. */
async function encrypted(where, params) {
  const { rows } = await query(`SELECT s.ssl FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE ${where}`, params);
  return rows.length > 0 && rows.every((r) => r.ssl === true);
}

async function withPgPassword(value, fn) {
  const saved = process.env.PGPASSWORD;
  process.env.PGPASSWORD = value;
  try {
    return await fn();
  } finally {
    if (saved === undefined) delete process.env.PGPASSWORD;
    else process.env.PGPASSWORD = saved;
  }
}

function assertNothingPrinted(texts) {
  for (const text of texts) for (const secret of NEVER_PRINTED) assert.ok(!String(text).includes(secret), `printed a credential: ${text}`);
}

before(async () => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), "cascade-edge-pg-tls-"));
  certs = makeCertificates(dir);
  server = await startPostgres({
    ssl: certs,
    hba: ["hostssl all watcher,member 127.0.0.1/32 scram-sha-256", "host all watcher,member 127.0.0.1/32 reject"],
  });
  adminUrl = await server.createDatabase("app");
  await query(`CREATE ROLE watcher LOGIN PASSWORD '${PASSWORDS.watcher}'; CREATE ROLE member LOGIN PASSWORD '${PASSWORDS.member}';
    CREATE TABLE tv_user (id int PRIMARY KEY, name text);`);
  await query(installSql({ tables: ["tv_user"] }));
  await query("GRANT SELECT, UPDATE, DELETE ON cascade_edge_outbox TO watcher");
  // The bus's tables, created once by their owner with the package's SQL; the members only use them.
  await query(busInstallSql());
  await query(MEMBER_GRANTS);
});

after(() => {
  server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** A watcher on `url` collecting the keys it purges and its log. */
function watcherOn(url) {
  const purged = [];
  const lines = [];
  const watcher = createWatcher({
    url,
    engine: CascadeEngine.fromSchema(SDL),
    purge: async (set) => {
      purged.push(...set.keys);
    },
    tables: ["tv_user"],
    batchWindowMs: 0,
    minBackoffMs: 50,
    maxBackoffMs: 200,
    logger: (line) => lines.push(line),
  });
  return { watcher, purged, lines };
}

/** watcher.start(), failing (with the watcher stopped) when it has not connected within 15 s. */
async function started({ watcher, lines }) {
  let timer;
  try {
    await Promise.race([
      watcher.start(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`the watcher did not start within 15 s:\n${lines.join("\n")}`)), 15000);
      }),
    ]);
  } catch (error) {
    await watcher.stop();
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

describe("the watcher over TLS", { skip }, () => {
  test("sslmode=verify-full (or node-postgres's require) with the server's CA: an encrypted connection that purges; the password from the URL, then from PGPASSWORD", async () => {
    let id = 0;
    for (const [url, env] of [
      [urlOf("watcher", verifyFull()), undefined],
      [urlOf("watcher", verifyFull(), undefined), PASSWORDS.watcher],
      [urlOf("watcher", `sslmode=require&sslrootcert=${certs.ca}`), undefined],
    ]) {
      const w = watcherOn(url);
      const { watcher, purged, lines } = w;
      const run = async () => {
        await started(w);
        try {
          assert.ok(await encrypted("a.usename = 'watcher'"), "the watcher's connection is TLS");
          id++;
          await query("INSERT INTO tv_user VALUES ($1, 'ada')", [id]);
          await eventually(() => purged.includes(`user:${id}`), `the watcher to purge user:${id}`);
        } finally {
          await watcher.stop();
        }
      };
      if (env === undefined) await run();
      else await withPgPassword(env, run);
      assertNothingPrinted(lines);
    }
  });

  test("a wrong CA, node-postgres's sslmode=require without one, and a plain client of a hostssl-only role are refused, each saying why; nothing is purged", async () => {
    await query("INSERT INTO tv_user VALUES (100, 'grace')");
    const cases = [
      [verifyFull(certs.otherCa), /cannot connect \(unable to verify the first certificate\); retrying/],
      // pg 8 reads require as verify-full: without the CA the certificate is not trusted.
      ["sslmode=require", /cannot connect \(unable to verify the first certificate\); retrying/],
      ["sslmode=disable", /cannot connect \(pg_hba\.conf rejects connection for host "127\.0\.0\.1", user "watcher", database "app", no encryption\); retrying/],
    ];
    for (const [sslQuery, expected] of cases) {
      const { watcher, purged, lines } = watcherOn(urlOf("watcher", sslQuery));
      watcher.start().catch(() => {});
      try {
        await eventually(() => lines.some((l) => expected.test(l)), `the watcher to say why (${sslQuery})`);
      } finally {
        await watcher.stop();
      }
      assert.deepEqual(purged, []);
      assertNothingPrinted(lines);
    }
    // libpq's require (encrypt, do not verify), asked for explicitly.
    const w = watcherOn(urlOf("watcher", "sslmode=require&uselibpqcompat=true"));
    const { watcher, purged } = w;
    await started(w);
    try {
      assert.ok(await encrypted("a.usename = 'watcher'"));
      await eventually(() => purged.includes("user:100"), "the watcher to purge user:100");
    } finally {
      await watcher.stop();
    }
  });
});

describe("cascade-edge/bus on PostgreSQL over TLS", { skip }, () => {
  test("two members with only the README's grants share invalidations over verified TLS (password in the URL, then PGPASSWORD)", async () => {
    const caches = [new LruCache({ maxEntries: 10 }), new LruCache({ maxEntries: 10 })];
    for (const cache of caches) for (const key of ["user:1", "user:2"]) cache.set(key, 1);
    const lines = [];
    const options = { channel: "tls", install: false, logger: (l) => lines.push(l) };
    const a = await connectBus({ url: urlOf("member", verifyFull()), cache: caches[0], ...options });
    const b = await withPgPassword(PASSWORDS.member, () => connectBus({ url: urlOf("member", verifyFull(), undefined), cache: caches[1], ...options }));
    try {
      assert.ok(await encrypted("a.application_name = ANY($1)", [[a.memberId, b.memberId].map((id) => `cascade-edge-bus-${id}`)]));
      await a.publish({ keys: ["user:1"] });
      await eventually(() => !caches[1].has("user:1"), "b to apply the set");
      assert.equal(caches[1].has("user:2"), true);
    } finally {
      await a.close();
      await b.close();
    }
    assertNothingPrinted(lines);
  });

  test("a wrong CA is BUS_TLS_FAILED, a plain client of a hostssl-only role and a wrong password BUS_AUTH_FAILED, at once and without the password", async () => {
    const cases = [
      [urlOf("member", verifyFull(certs.otherCa)), "BUS_TLS_FAILED", /^TLS with PostgreSQL at postgres:\/\/127\.0\.0\.1:\d+\/app failed: unable to verify the first certificate \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\)$/],
      [
        urlOf("member", "sslmode=disable"),
        "BUS_AUTH_FAILED",
        /^PostgreSQL at postgres:\/\/127\.0\.0\.1:\d+\/app refused this client: pg_hba\.conf rejects connection for host "127\.0\.0\.1", user "member", database "app", no encryption/,
      ],
      [urlOf("member", verifyFull(), WRONG), "BUS_AUTH_FAILED", /refused this client: password authentication failed for user "member"/],
    ];
    for (const [url, code, message] of cases) {
      const started = Date.now();
      await assert.rejects(connectBus({ url, cache: new LruCache({ maxEntries: 10 }), channel: "tls", install: false, logger: null }), (error) => {
        assert.equal(error.code, code, error.message);
        assert.match(error.message, message);
        assertNothingPrinted([error.message]);
        return true;
      });
      assert.ok(Date.now() - started < 5000, "refused at once, not after connectTimeoutMs (10 s)");
    }
  });
});
