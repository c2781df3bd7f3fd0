// purgeKv against the real workerd KV (miniflare). Fault injection wraps the real namespace.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { purgeKv, keyCovers } from "../../pkg-template/purge.js";
import { startKv, populate, allKeys, instrument, bulkKey, NEAR_MISSES, MUST_GO, BULK, SET } from "./helpers/kv-fixture.mjs";

// Fault tests need several pages, not 2,500 keys: a smaller bulk with small pages keeps them fast.
const SMALL_BULK = 120;
const SMALL_PAGE = { listLimit: 50 };

const NAMES = ["FULL", "BUDGET", "FAILDEL", "FAILLIST", "EMPTYPAGE", "SMALLBUDGET"];
let env;
before(async () => {
  env = await startKv(NAMES);
});
after(async () => {
  await env?.dispose();
});

const expectedRemaining = [...NEAR_MISSES].sort();

test("keyCovers is segment-aware", () => {
  assert.equal(keyCovers("user:1", "user:1"), true);
  assert.equal(keyCovers("user:1", "user:1:posts"), true);
  assert.equal(keyCovers("user:1", "user:10"), false);
  assert.equal(keyCovers("user:1", "user:1%3A2"), false);
  assert.equal(keyCovers("user:1", "user"), false);
  assert.equal(keyCovers("post:*:comments", "post:9:comments"), true);
  assert.equal(keyCovers("post:*:comments", "post:9:comments:page:1"), true);
  assert.equal(keyCovers("post:*:comments", "post:9:commentsX"), false);
  assert.equal(keyCovers("post:*:comments", "post:comments"), false);
  assert.equal(keyCovers("feed:follower:*", "feed:follower"), false); // trailing * needs ≥ 1 segment
  assert.equal(keyCovers("feed:follower:*", "feed:follower:7"), true);
  assert.equal(keyCovers("feed:follower:*", "feed:follower:7:page:2"), true);
  assert.equal(keyCovers("a/b", "a/b/c", "/"), true);
  assert.equal(keyCovers("a/b", "a/bc", "/"), false);
});

test("purgeKv removes exactly user:1's subtree and post:*:comments matches, across list pages", async () => {
  const kv = instrument(env.spaces.FULL);
  await populate(env, "FULL");
  const res = await purgeKv(kv, SET, { maxOperations: Infinity });
  assert.deepEqual(res.failed, []);
  assert.equal(res.continuation, undefined);
  assert.deepEqual(await allKeys(env.spaces.FULL), expectedRemaining);
  assert.deepEqual([...res.purged].sort(), [...MUST_GO, ...Array.from({ length: BULK }, (_, i) => bulkKey(i))].sort());
  // Several pages were followed under user:1: (2,500 keys, 1,000 per page).
  assert.ok(kv.stats.listCalls.filter((c) => c.prefix === "user:1:").length >= 3);
  // Nothing deleted twice.
  assert.ok([...kv.stats.deleted.values()].every((n) => n === 1));
});

test("purgeKv with a small budget returns continuations that finish with the same result", async () => {
  const ns = env.spaces.BUDGET;
  await populate(env, "BUDGET");
  const kv = instrument(ns);
  const maxOperations = 300;
  let cont;
  let calls = 0;
  let sawMidListingCursor = false;
  const purged = [];
  for (; calls < 500; calls++) {
    const before = kv.stats.lists + kv.stats.deletes;
    const res = await purgeKv(kv, SET, { maxOperations, listLimit: 100, continuation: cont });
    assert.ok(kv.stats.lists + kv.stats.deletes - before <= maxOperations, "budget respected");
    assert.deepEqual(res.failed, []);
    purged.push(...res.purged);
    if (!res.continuation) break;
    // The continuation must survive storage as JSON.
    cont = JSON.parse(JSON.stringify(res.continuation));
    if (cont.lists.some((l) => l.cursor !== null)) sawMidListingCursor = true;
  }
  assert.ok(calls >= 8, `expected many budgeted calls, got ${calls}`);
  assert.ok(sawMidListingCursor, "some continuation resumed in the middle of a listing");
  assert.deepEqual(await allKeys(ns), expectedRemaining);
  assert.equal(purged.length, MUST_GO.length + BULK);
  assert.equal(new Set(purged).size, purged.length, "no key reported twice");
  assert.ok([...kv.stats.deleted.values()].every((n) => n === 1), "no key deleted twice");
});

test("purgeKv with maxOperations 1 still makes progress and terminates", async () => {
  const ns = env.spaces.SMALLBUDGET;
  await ns.put("user:1", "v");
  await ns.put("user:1:a", "v");
  await ns.put("user:10", "v");
  let cont;
  let i = 0;
  for (; i < 20; i++) {
    const res = await purgeKv(ns, { keys: ["user:1"] }, { maxOperations: 1, continuation: cont });
    if (!res.continuation) break;
    cont = res.continuation;
  }
  assert.ok(i < 20);
  assert.deepEqual(await allKeys(ns), ["user:10"]);
});

test("a failing delete is reported in failed; everything else is purged", async () => {
  const ns = env.spaces.FAILDEL;
  await populate(env, "FAILDEL", SMALL_BULK);
  const kv = instrument(ns, { failDelete: "user:1:posts" });
  const res = await purgeKv(kv, SET, SMALL_PAGE);
  assert.equal(res.failed.length, 1);
  assert.equal(res.failed[0].item, "user:1:posts");
  assert.match(res.failed[0].error, /injected delete failure/);
  assert.ok(!res.purged.includes("user:1:posts"));
  assert.deepEqual(await allKeys(ns), [...expectedRemaining, "user:1:posts"].sort());
});

test("a failing list reports the keys/patterns it served; other listings still run", async () => {
  const ns = env.spaces.FAILLIST;
  await populate(env, "FAILLIST", SMALL_BULK);
  const kv = instrument(ns, { failListPrefix: "post:" });
  const res = await purgeKv(kv, SET, SMALL_PAGE);
  assert.deepEqual(res.failed.map((f) => f.item), ["post:*:comments"]);
  assert.match(res.failed[0].error, /list of prefix "post:" failed: injected list failure/);
  const remaining = await allKeys(ns);
  assert.ok(!remaining.some((k) => k === "user:1" || k.startsWith("user:1:")));
  assert.ok(remaining.includes("post:9:comments"), "not purged, and reported as failed");
});

test("an empty page with a cursor does not end the listing", async () => {
  const ns = env.spaces.EMPTYPAGE;
  await populate(env, "EMPTYPAGE", SMALL_BULK);
  const kv = instrument(ns, { emptyFirstPage: true });
  const res = await purgeKv(kv, SET, SMALL_PAGE);
  assert.deepEqual(res.failed, []);
  assert.deepEqual(await allKeys(ns), expectedRemaining);
});

test("purgeKv rejects a malformed set or continuation loudly", async () => {
  const kv = env.spaces.FULL;
  await assert.rejects(purgeKv(kv, { keys: "user:1" }), TypeError);
  await assert.rejects(purgeKv(kv, { keys: [1] }), TypeError);
  await assert.rejects(purgeKv(kv, SET, { continuation: { v: 99 } }), TypeError);
  await assert.rejects(purgeKv(kv, SET, { maxOperations: 0 }), RangeError);
  const res = await purgeKv(kv, { keys: [""] });
  assert.equal(res.failed.length, 1);
});
