// cascade-edge/bus on Redis: three member processes per scenario against a real redis-server
// (Debian's), started here on a random port on 127.0.0.1 and stopped at the end.
// Needs pkg/ built (`node scripts/build-pkg.mjs`) and `ioredis` (a dev dependency).
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import Redis from "ioredis";
import { allHold, closeAll, FILL, fleetOf, fleetScenarios } from "./support/bus-scenarios.mjs";
import { eventually } from "./support/fleet.mjs";
import { root } from "./support/installed.mjs";
import { redisMissing, startRedis } from "./support/redis.mjs";

const skip = redisMissing();
const { LruCache } = await import(join(root, "pkg", "node.js"));
const { connectBus } = await import(join(root, "pkg", "bus.js"));

describe("cascade-edge/bus on Redis", { skip }, () => {
  let server;
  let admin;
  before(async () => {
    server = await startRedis();
    admin = new Redis(server.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
    admin.on("error", () => {});
    await admin.connect();
  });
  after(async () => {
    admin?.disconnect();
    await server?.stop();
  });

  const subscriberIds = async (memberIds) => {
    const list = await admin.client("LIST");
    return list
      .split("\n")
      .filter((line) => / sub=[1-9]/.test(line) && memberIds.some((id) => line.includes(`name=cascade-edge-bus-${id}`)))
      .map((line) => / id=(\d+)/.exec(` ${line}`)[1]);
  };

  fleetScenarios({
    engine: "Redis",
    skip,
    server: () => server,
    async cutSubscribers(members) {
      const ids = await subscriberIds(members.map((m) => m.memberId));
      assert.equal(ids.length, 3, "each member has one subscriber connection");
      await admin.client("KILL", "TYPE", "pubsub");
    },
    halt: () => {
      admin.disconnect();
      return server.halt();
    },
    async resume() {
      await server.start();
      admin = new Redis(server.url, { maxRetriesPerRequest: 1 });
      admin.on("error", () => {});
    },
    async afterOutage(members) {
      // An empty server: the stream no longer holds any member's last id, so b and c cannot prove
      // they missed nothing, and clear; a, the publisher, clears for the same reason.
      await allHold(members, [], "every member to clear its cache after the server lost the stream");
      for (const m of members) assert.ok((await m.call("stats")).clears >= 1, `${m.name} counted a clear`);
    },
    report: (what, numbers) => console.log(`# ${what}: ${JSON.stringify(numbers)}`),
  });

  test("Redis: a member whose last id was trimmed away clears its cache instead of trusting the rest", async () => {
    const members = await fleetOf(server.url, "trimmed", { maxLog: 3, b: { minBackoffMs: 1500, maxBackoffMs: 1500 } });
    try {
      for (const m of members) await m.call("fill", { keys: FILL });
      const [a, b, c] = members;
      const [bSub] = await subscriberIds([b.memberId]);
      await admin.client("KILL", "ID", bSub);
      for (let i = 0; i < 5; i++) await a.call("publish", { set: { keys: [`post:${i}`] } });
      // c was connected throughout: it applied the five sets and kept the rest.
      await allHold([a, c], ["comment:9", "user:1", "user:2"], "a and c to apply the five sets");
      // b reconnects 1.5 s later: the stream keeps 3 entries, its last id is gone: it clears.
      await allHold([b], [], "b to clear its cache");
      const s = await b.call("stats");
      assert.equal(s.clears, 1);
      assert.equal(s.received, 0);
      assert.equal((await c.call("stats")).clears, 0);
      // And b is a member again.
      await b.call("fill", { keys: ["user:7"] });
      await a.call("publish", { set: { keys: ["user:7"] } });
      await allHold([b], [], "b to apply a set published after it caught up");
    } finally {
      await closeAll(members);
    }
  });

  test("Redis: bad options and bad sets are coded errors", async () => {
    const cache = new LruCache({ maxEntries: 10 });
    await assert.rejects(connectBus({ url: "http://x", cache }), (e) => e.code === "INVALID_OPTIONS");
    await assert.rejects(connectBus({ url: server.url, cache: {} }), (e) => e.code === "INVALID_OPTIONS");
    await assert.rejects(connectBus({ url: server.url, cache, channel: "no spaces" }), (e) => e.code === "INVALID_OPTIONS");
    await assert.rejects(connectBus({ url: server.url, cache, maxLog: 0 }), (e) => e.code === "INVALID_OPTIONS");
    await assert.rejects(connectBus({ url: "redis://127.0.0.1:1", cache, connectTimeoutMs: 300, logger: null }), (e) => e.code === "BUS_CONNECT_FAILED");
    const bus = await connectBus({ url: server.url, cache, channel: "errors", logger: null });
    try {
      cache.set("user:1", 1);
      await assert.rejects(bus.publish(null), (e) => e.code === "INVALID_ARGUMENT");
      await assert.rejects(bus.publish({ keys: [1] }), (e) => e.code === "INVALID_ARGUMENT");
      assert.equal(cache.has("user:1"), true, "a rejected set leaves the cache untouched");
      assert.equal(bus.stats().published, 0);
    } finally {
      await bus.close();
    }
  });
});
