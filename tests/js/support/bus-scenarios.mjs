// The fleet scenarios every bus engine must pass, each with three member processes: registered by
// tests/js/bus-redis.test.mjs and tests/js/bus-pg.test.mjs with the engine's own server controls.
import assert from "node:assert/strict";
import { test } from "node:test";
import { join } from "node:path";
import { eventually, percentiles, startMember } from "./fleet.mjs";
import { root } from "./installed.mjs";

const { LruCache } = await import(join(root, "pkg", "node.js"));
const { connectBus } = await import(join(root, "pkg", "bus.js"));

const FILL = ["comment:9", "post:1", "post:2", "post:3", "user:1", "user:2"];
const SET = { keys: ["user:1"], patterns: ["post:*"] };
const AFTER_SET = ["comment:9", "user:2"];

/** Starts three members a, b, c on `channel` (`extra.b`: options for b only); close them with `closeAll`. */
export async function fleetOf(url, channel, extra = {}) {
  const { a, b, c, ...common } = extra; // options for every member, then for one
  const own = { a, b, c };
  return Promise.all(["a", "b", "c"].map((name) => startMember({ url, channel, ...common, ...own[name] }, name)));
}

export const closeAll = (members) => Promise.all(members.map((m) => m.close()));

/** Waits until every member holds exactly `keys`. */
export async function allHold(members, keys, what) {
  await eventually(async () => {
    const held = await Promise.all(members.map((m) => m.call("keys")));
    return held.every((k) => JSON.stringify(k) === JSON.stringify(keys)) || Object.fromEntries(members.map((m, i) => [m.name, held[i]]));
  }, what);
}

/**
 * Registers the common scenarios. `server()` returns the running server: `{ url }`;
 * `cutSubscribers()` drops every member's connection with the server up; `halt()` / `resume()`
 * kill and restart the server; `channel(name)` makes a channel name unique to the run.
 */
export function fleetScenarios({ engine, skip, server, cutSubscribers, halt, resume, afterOutage, report }) {
  test(`${engine}: a set published in one process leaves all three caches, and nothing else does`, { skip }, async () => {
    const members = await fleetOf(server().url, "basic");
    try {
      for (const m of members) assert.deepEqual(await m.call("fill", { keys: FILL }), FILL);
      const [a, b, c] = members;
      const published = await a.call("publish", { set: SET });
      assert.deepEqual(published.removed, ["post:1", "post:2", "post:3", "user:1"]);
      assert.deepEqual(await a.call("keys"), AFTER_SET, "the publisher's own cache drops the set before publish resolves");
      await allHold(members, AFTER_SET, "all three to drop the set");
      for (const m of [b, c]) {
        const s = await m.call("stats");
        assert.equal(s.received, 1);
        assert.equal(s.clears, 0);
      }
      const s = await a.call("stats");
      assert.equal(s.published, 1);
      assert.equal(s.sent, 1);
      assert.equal(s.received, 0, "a member does not apply its own message twice");

      // Delivery latency, reported for the README (never asserted).
      for (const m of [b, c]) await m.call("lags");
      for (let i = 0; i < 200; i++) await a.call("publish", { set: { keys: [`user:${i}`] } });
      await eventually(async () => (await b.call("stats")).received >= 201 && (await c.call("stats")).received >= 201, "200 more sets in b and c");
      const lags = [...(await b.call("lags")), ...(await c.call("lags"))];
      report?.(`${engine} delivery latency, publisher to member (ms)`, percentiles(lags));
    } finally {
      await closeAll(members);
    }
  });

  test(`${engine}: every subscriber connection cut, a set published at once still reaches all three`, { skip }, async () => {
    // b and c come back 500 ms later than a: the set is published while they are away, and they
    // must read it back from the stream / the log (caughtUp), not receive it live.
    const slow = { minBackoffMs: 500, maxBackoffMs: 500 };
    const members = await fleetOf(server().url, "cut", { b: slow, c: slow });
    try {
      for (const m of members) await m.call("fill", { keys: FILL });
      const [a, b, c] = members;
      await cutSubscribers(members);
      const published = await a.call("publish", { set: SET });
      assert.ok(published.id, `the publish resolved: ${JSON.stringify(published)}`);
      await allHold(members, AFTER_SET, "all three to drop the set after their connections were cut");
      for (const m of [b, c]) {
        const s = await m.call("stats");
        assert.equal(s.received, 1, `${m.name} applied the set once`);
        assert.equal(s.caughtUp, 1, `${m.name} read the set back after reconnecting`);
        assert.equal(s.clears, 0, `${m.name} proved it missed nothing: no clear`);
      }
    } finally {
      await closeAll(members);
    }
  });

  test(`${engine}: the server killed, a set published during the outage, the server back: all three drop it`, { skip }, async () => {
    const members = await fleetOf(server().url, "outage");
    try {
      for (const m of members) await m.call("fill", { keys: FILL });
      const [a] = members;
      await halt();
      const pending = a.call("publish", { set: SET });
      await eventually(async () => (await a.call("stats")).queued === 1 || (await a.call("stats")), "the publish to wait in the queue");
      assert.deepEqual(await a.call("keys"), AFTER_SET, "the publisher dropped the set locally at once");
      await resume();
      const published = await pending;
      assert.ok(published.id, `the queued publish resolved once the server was back: ${JSON.stringify(published)}`);
      await afterOutage(members);
      // The fleet works on after the outage.
      for (const m of members) await m.call("fill", { keys: FILL });
      await members[1].call("publish", { set: { keys: ["comment:9"] } });
      await allHold(members, FILL.filter((k) => k !== "comment:9"), "a set published after the outage to reach all three");
    } finally {
      await closeAll(members);
    }
  });

  test(`${engine}: the publish queue is bounded and every publish resolves or rejects with a code`, { skip }, async () => {
    const cache = new LruCache({ maxEntries: 100 });
    // publishTimeoutMs outlasts a server restart, so the third publish below can wait it out.
    const bus = await connectBus({ url: server().url, cache, channel: "queue", maxQueue: 2, publishTimeoutMs: 2500, maxOutageMs: 400, maxBackoffMs: 100, logger: null });
    try {
      for (const key of FILL) cache.set(key, 1);
      await halt();
      const first = bus.publish({ keys: ["user:1"] });
      const second = bus.publish({ keys: ["user:2"] });
      await assert.rejects(bus.publish({ keys: ["post:1"] }), (error) => error.code === "BUS_QUEUE_FULL");
      assert.equal(cache.has("post:1"), false, "a rejected publish still purged the local cache");
      await assert.rejects(first, (error) => error.code === "BUS_PUBLISH_TIMEOUT");
      await assert.rejects(second, (error) => error.code === "BUS_PUBLISH_TIMEOUT");
      // The outage lasts past maxOutageMs: the member cannot know what it misses, it clears.
      cache.set("user:9", 1);
      await eventually(() => !cache.has("user:9"), "the cache to be cleared during the outage");
      assert.ok(bus.stats().clears >= 1);
      assert.equal(bus.stats().connected, false);
      const third = bus.publish({ keys: ["post:2"] });
      await resume();
      assert.ok((await third).id, "a publish queued within its timeout resolves once the server is back");
      await eventually(() => bus.stats().connected, "the bus to reconnect");
    } finally {
      await bus.close();
    }
    await assert.rejects(bus.publish({ keys: ["x"] }), (error) => error.code === "BUS_CLOSED");
  });
}

export { AFTER_SET, FILL, SET };
