// The Redis side of RELIABILITY.md's "Security": cascade-edge/bus against a real redis-server
// (Debian's) that requires a password, with an ACL user holding only the commands, keys and
// channels the README lists ("Fleets"), and over TLS with a throwaway CA made by openssl. Every
// server and temporary directory is removed at the end. Needs pkg/ (node scripts/build-pkg.mjs).
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import Redis from "ioredis";
import { eventually } from "./support/fleet.mjs";
import { root } from "./support/installed.mjs";
import pg from "pg";
import { postgresMissing, startPostgres } from "./support/postgres.mjs";
import { redisMissing, startRedis } from "./support/redis.mjs";
import { makeCertificates, opensslMissing } from "./support/tls.mjs";

const skip = redisMissing() || opensslMissing();
const { LruCache } = await import(join(root, "pkg", "node.js"));
const { connectBus } = await import(join(root, "pkg", "bus.js"));
const { installSql } = await import(join(root, "pkg", "pg.js"));
const CLI = join(root, "pkg", "bin", "cascade-edge.mjs");

const ADMIN_PASSWORD = "admin-Pw-3e8c";
const BUS_PASSWORD = "bus-Pw/7d2b"; // in a URL: bus-Pw%2F7d2b
const WRONG = ["wrong-Pw-1f6a", "wrong-Pw-env-52c9"];
const NEVER_PRINTED = [ADMIN_PASSWORD, BUS_PASSWORD, encodeURIComponent(BUS_PASSWORD), ...WRONG];
// The ACL of README.md ("Fleets"): the bus's keys and channels, and the commands it runs.
const BUS_ACL = ["~cascade-edge:*", "&cascade-edge:*", "+eval", "+evalsha", "+xadd", "+xrange", "+xrevrange", "+publish", "+subscribe", "+client|setname"];
const SERVER_ARGS = ["--requirepass", ADMIN_PASSWORD, "--user", "bus", "on", `>${BUS_PASSWORD}`, ...BUS_ACL];
const FILL = ["user:1", "user:2", "post:1"];

const withUser = (url, user, password) => url.replace("://", `://${user}${password === undefined ? "" : `:${encodeURIComponent(password)}`}@`);

/** A bus over a fresh cache holding FILL; `lines` collects its log. */
async function member(url, channel, options = {}) {
  const cache = new LruCache({ maxEntries: 100 });
  for (const key of FILL) cache.set(key, 1);
  const lines = [];
  const bus = await connectBus({ url, cache, channel, logger: (line) => lines.push(line), connectTimeoutMs: 5000, minBackoffMs: 20, maxBackoffMs: 200, ...options });
  return { bus, cache, lines };
}

/** Runs `fn` with REDIS_PASSWORD set to `value`, then restores it. */
async function withEnvPassword(value, fn) {
  const saved = process.env.REDIS_PASSWORD;
  process.env.REDIS_PASSWORD = value;
  try {
    return await fn();
  } finally {
    if (saved === undefined) delete process.env.REDIS_PASSWORD;
    else process.env.REDIS_PASSWORD = saved;
  }
}

function assertNothingPrinted(texts) {
  for (const text of texts) for (const secret of NEVER_PRINTED) assert.ok(!String(text).includes(secret), `printed a credential: ${text}`);
}

describe("cascade-edge/bus on a Redis that requires a password", { skip }, () => {
  let server;
  let admin;
  before(async () => {
    server = await startRedis({ args: SERVER_ARGS });
    admin = new Redis(withUser(server.url, "default", ADMIN_PASSWORD), { maxRetriesPerRequest: 1 });
    admin.on("error", () => {});
  });
  after(async () => {
    admin?.disconnect();
    await server?.stop();
  });

  test("a wrong or missing password is BUS_AUTH_FAILED at once: no crash, nothing delivered, nothing printed", async () => {
    const good = await member(withUser(server.url, "bus", BUS_PASSWORD), "auth");
    const errors = [];
    try {
      const attempts = [
        () => connectBus({ url: withUser(server.url, "bus", WRONG[0]), cache: new LruCache({ maxEntries: 10 }), channel: "auth", logger: (l) => errors.push(l) }),
        () => withEnvPassword(WRONG[1], () => connectBus({ url: withUser(server.url, "bus"), cache: new LruCache({ maxEntries: 10 }), channel: "auth", logger: (l) => errors.push(l) })),
        () => connectBus({ url: server.url, channel: "auth", logger: (l) => errors.push(l) }),
      ];
      for (const attempt of attempts) {
        const started = Date.now();
        await assert.rejects(attempt(), (error) => {
          errors.push(error.message);
          assert.equal(error.code, "BUS_AUTH_FAILED", error.message);
          assert.match(error.message, /^Redis at redis:\/\/127\.0\.0\.1:\d+ refused this client: (WRONGPASS|NOAUTH)/);
          return true;
        });
        assert.ok(Date.now() - started < 3000, "refused at once, not after connectTimeoutMs (10 s)");
      }
      // Nothing reached the channel: only the good member's anchor entry is in the stream, and
      // its cache is whole.
      assert.equal(await admin.xlen("cascade-edge:auth:log"), 1);
      assert.deepEqual([...good.cache.keys()].sort(), [...FILL].sort());
      assert.equal(good.bus.stats().received, 0);
    } finally {
      await good.bus.close();
    }
    assertNothingPrinted([...errors, ...good.lines]);
  });

  test("an ACL user with only the README's commands: two buses share invalidations (password in the URL, then in REDIS_PASSWORD)", async () => {
    const a = await member(withUser(server.url, "bus", BUS_PASSWORD), "acl");
    const b = await withEnvPassword(BUS_PASSWORD, () => member(withUser(server.url, "bus"), "acl"));
    try {
      const { removed } = await a.bus.publish({ keys: ["user:1"], patterns: ["post:*"] });
      assert.deepEqual(removed.sort(), ["post:1", "user:1"]);
      await eventually(() => b.bus.stats().received === 1, "b to receive the set");
      assert.deepEqual([...b.cache.keys()], ["user:2"]);
      // Both members' connections are the ACL user's.
      const users = (await admin.client("LIST")).split("\n").filter((l) => / name=cascade-edge-bus-/.test(l)).map((l) => / user=(\S+)/.exec(l)[1]);
      assert.deepEqual(users, ["bus", "bus", "bus", "bus"]);
      // And that user can do nothing else.
      const bus = new Redis(withUser(server.url, "bus", BUS_PASSWORD), { maxRetriesPerRequest: 1 });
      try {
        await assert.rejects(bus.get("session:1"), /NOPERM/);
        await assert.rejects(bus.xrange("other:log", "-", "+"), /NOPERM/);
        await assert.rejects(bus.flushall(), /NOPERM/);
        await assert.rejects(bus.publish("other", "x"), /NOPERM/);
      } finally {
        bus.disconnect();
      }
    } finally {
      await a.bus.close();
      await b.bus.close();
    }
    assertNothingPrinted([...a.lines, ...b.lines]);
  });

  test("a user without a command the bus runs is BUS_NOT_PERMITTED at once", async () => {
    // No XREVRANGE: a joining member reads the stream's last entry with it.
    const acl = BUS_ACL.filter((rule) => rule !== "+xrevrange");
    await admin.acl("SETUSER", "partial", "on", ">partial-Pw-1", ...acl);
    const started = Date.now();
    await assert.rejects(connectBus({ url: withUser(server.url, "partial", "partial-Pw-1"), cache: new LruCache({ maxEntries: 10 }), channel: "partial", logger: null }), (error) => {
      assert.equal(error.code, "BUS_NOT_PERMITTED", error.message);
      assert.match(error.message, /^Redis at redis:\/\/127\.0\.0\.1:\d+ denied the bus a command or a table: NOPERM .*'xrevrange'/);
      return true;
    });
    assert.ok(Date.now() - started < 3000, "refused at once");
  });

  test("after a server restart every connection authenticates again and messages flow; a refused password later is logged and retried", async () => {
    const a = await member(withUser(server.url, "bus", BUS_PASSWORD), "restart");
    const b = await withEnvPassword(BUS_PASSWORD, () => member(withUser(server.url, "bus"), "restart"));
    try {
      admin.disconnect();
      await server.halt();
      await server.start();
      admin = new Redis(withUser(server.url, "default", ADMIN_PASSWORD), { maxRetriesPerRequest: 1 });
      admin.on("error", () => {});
      await eventually(() => a.bus.stats().connected && b.bus.stats().connected && a.bus.stats().reconnects >= 1 && b.bus.stats().reconnects >= 1, "both buses to reconnect");
      // The restarted server is empty: both cleared (they cannot prove they missed nothing).
      assert.equal(b.cache.size, 0);
      b.cache.set("user:1", 1);
      b.cache.set("user:2", 1);
      await a.bus.publish({ keys: ["user:1"] });
      await eventually(() => !b.cache.has("user:1"), "b to apply a set published after the restart");
      assert.equal(b.cache.has("user:2"), true);
      const users = (await admin.client("LIST")).split("\n").filter((l) => / name=cascade-edge-bus-/.test(l)).map((l) => / user=(\S+)/.exec(l)[1]);
      assert.deepEqual(users, ["bus", "bus", "bus", "bus"]);

      // The password changed under running buses: each says so and retries; restored, they carry on.
      await admin.acl("SETUSER", "bus", "resetpass", ">changed-Pw-0b7e");
      await admin.client("KILL", "USER", "bus");
      await eventually(() => [a, b].every((m) => m.lines.some((l) => /refused this client: WRONGPASS .*; retrying$/.test(l))), "both buses to log the refusal");
      assert.equal(a.bus.stats().connected, false);
      await admin.acl("SETUSER", "bus", "resetpass", `>${BUS_PASSWORD}`);
      await eventually(() => a.bus.stats().connected && b.bus.stats().connected, "both buses to reconnect");
      b.cache.set("user:3", 1);
      await a.bus.publish({ keys: ["user:3"] });
      await eventually(() => !b.cache.has("user:3"), "b to apply a set published after the password came back");
    } finally {
      await a.bus.close();
      await b.bus.close();
    }
    assertNothingPrinted([...a.lines, ...b.lines]);
  });
});

describe("cascade-edge/bus over TLS (rediss://)", { skip }, () => {
  let server;
  let certs;
  let dir;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "cascade-edge-redis-tls-"));
    certs = makeCertificates(dir);
    server = await startRedis({ tls: certs, args: SERVER_ARGS });
  });
  after(async () => {
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("with the server's CA two buses share invalidations; an untrusted certificate is BUS_TLS_FAILED; a plain client is told to use rediss://", async () => {
    const url = withUser(server.url, "bus", BUS_PASSWORD);
    assert.match(url, /^rediss:\/\//);
    const tls = { ca: readFileSync(certs.ca) };
    const a = await member(url, "tls", { redisOptions: { tls } });
    const b = await member(url, "tls", { redisOptions: { tls } });
    const errors = [];
    try {
      await a.bus.publish({ keys: ["user:2"] });
      await eventually(() => !b.cache.has("user:2"), "b to receive the set over TLS");
      assert.deepEqual([...b.cache.keys()].sort(), ["post:1", "user:1"]);

      // No CA (the scheme alone, in capitals, asks for TLS), then the wrong CA.
      for (const [target, redisOptions] of [
        [url.replace("rediss://", "REDISS://"), {}],
        [url, { tls: { ca: readFileSync(certs.otherCa) } }],
      ]) {
        const started = Date.now();
        await assert.rejects(connectBus({ url: target, cache: new LruCache({ maxEntries: 10 }), channel: "tls", logger: null, redisOptions }), (error) => {
          errors.push(error.message);
          assert.equal(error.code, "BUS_TLS_FAILED", error.message);
          assert.match(error.message, /^TLS with Redis at rediss:\/\/127\.0\.0\.1:\d+ failed: self-signed certificate in certificate chain \(SELF_SIGNED_CERT_IN_CHAIN\)$/);
          return true;
        });
        assert.ok(Date.now() - started < 3000, "refused at once");
      }
      await assert.rejects(connectBus({ url: url.replace("rediss://", "redis://"), cache: new LruCache({ maxEntries: 10 }), channel: "tls", logger: null, connectTimeoutMs: 1500 }), (error) => {
        errors.push(error.message);
        assert.equal(error.code, "BUS_CONNECT_FAILED", error.message);
        assert.match(error.message, /within 1500ms \(connectTimeoutMs\): last error: .*\(if the server accepts only TLS, use rediss:\/\/\)$/);
        return true;
      });
      assert.equal(b.bus.stats().received, 1, "nothing else reached the channel");
    } finally {
      await a.bus.close();
      await b.bus.close();
    }
    assertNothingPrinted([...errors, ...a.lines, ...b.lines]);
  });
});

describe("cascade-edge pg watch --purge bus over rediss:// as an ACL user", { skip: skip || postgresMissing() }, () => {
  let redis;
  let postgres;
  let dir;
  let certs;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "cascade-edge-watch-tls-"));
    certs = makeCertificates(dir);
    writeFileSync(join(dir, "schema.graphql"), "type User { id: ID! name: String }\ntype Query { user(id: ID!): User }\n");
    redis = await startRedis({ tls: certs, args: SERVER_ARGS });
    postgres = await startPostgres();
    const db = new pg.Client({ connectionString: postgres.url });
    await db.connect();
    await db.query(`CREATE TABLE tv_user (id int PRIMARY KEY, name text); ${installSql({ tables: ["tv_user"] })}`);
    await db.end();
  });
  after(async () => {
    await redis?.stop();
    postgres?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** `pg watch --purge bus` with `env`; resolves once its output matches `until`. */
  function watch(env, until) {
    const args = ["pg", "watch", "--schema", join(dir, "schema.graphql"), "--url", postgres.url, "--purge", "bus", "--bus-url", withUser(redis.url, "bus"), "--batch-window", "10"];
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } });
    let output = "";
    const exited = new Promise((resolve) => child.on("exit", resolve));
    const seen = new Promise((resolve, reject) => {
      const onData = (chunk) => {
        output += chunk;
        if (until.test(output)) resolve();
      };
      child.stdout.on("data", onData);
      child.stderr.on("data", onData);
      exited.then((code) => reject(new Error(`pg watch exited (${code}) before ${until}:\n${output}`)));
      setTimeout(() => reject(new Error(`pg watch: no ${until} within 15 s:\n${output}`)), 15000).unref();
    });
    return {
      seen,
      exited,
      output: () => output,
      async stop() {
        if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
        await exited;
      },
    };
  }

  test("the password from REDIS_PASSWORD and the CA from NODE_EXTRA_CA_CERTS: a database write leaves a member's cache; a wrong password stops it with BUS_AUTH_FAILED", async () => {
    const cache = new LruCache({ maxEntries: 10 });
    cache.set("user:1", 1);
    cache.set("user:2", 1);
    const bus = await connectBus({ url: withUser(redis.url, "bus", BUS_PASSWORD), cache, logger: null, redisOptions: { tls: { ca: readFileSync(certs.ca) } } });
    const watcher = watch({ REDIS_PASSWORD: BUS_PASSWORD, NODE_EXTRA_CA_CERTS: certs.ca }, /watching tv_user → user/);
    try {
      await watcher.seen;
      const db = new pg.Client({ connectionString: postgres.url });
      await db.connect();
      await db.query("INSERT INTO tv_user VALUES (1, 'ada')");
      await db.end();
      await eventually(() => !cache.has("user:1"), "the member to drop user:1");
      assert.equal(cache.has("user:2"), true);
    } finally {
      await watcher.stop();
      await bus.close();
    }
    const refused = watch({ REDIS_PASSWORD: WRONG[1], NODE_EXTRA_CA_CERTS: certs.ca }, /error\[BUS_AUTH_FAILED\]: Redis at rediss:\/\/127\.0\.0\.1:\d+ refused this client: WRONGPASS/);
    try {
      await refused.seen;
      assert.equal(await refused.exited, 1);
    } finally {
      await refused.stop();
    }
    assertNothingPrinted([watcher.output(), refused.output()]);
  });
});
