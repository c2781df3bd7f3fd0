// The package's LruCache held against an obviously-correct model (an array in recency order), over
// seeded random scripts. The JS side mirrors wasm's slots in a Map and arrays, queues hits, and
// leaves keys set without options out of the invalidation index until something needs it; every
// one of those paths is in the op mix, and the keys, values, order and size are compared after
// every step.
import assert from "node:assert/strict";
import { before, test } from "node:test";
import { importPackage } from "./helpers/consumer.mjs";

let LruCache;

before(async () => {
  ({ LruCache } = await importPackage());
});

const KEYS = ["a", "b", "a:1", "a:10", "a:1:x", "b:2:y", "c:1", "c:2", "c:3", "é:1"];
const TARGETS = ["a", "b", "a:1", "a:10", "a:1:x", "b:2", "c", "c:2", "é"];
const PATTERNS = ["a:*", "*:1", "*:2:y", "a:*:x", "c:*", "*"];

/** `key` is `target` or below it, by whole segments. */
const covers = (target, key) => key === target || key.startsWith(`${target}:`);

/** A pattern (`*` one segment inside, trailing `*` one or more) covers `key` or a key above it. */
function patternCovers(pattern, key) {
  const p = pattern.split(":");
  const k = key.split(":");
  for (let i = 0; i < p.length; i++) {
    if (p[i] === "*" && i === p.length - 1) return k.length > i;
    if (i >= k.length || (p[i] !== "*" && p[i] !== k[i])) return false;
  }
  return true;
}

function rng(seed) {
  let x = seed >>> 0 || 1;
  return (n) => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % n;
  };
}

function run(seed, max) {
  const next = rng(seed);
  const cache = new LruCache({ maxEntries: max });
  // Most recent first: [key, value, tags].
  let model = [];
  const at = (key) => model.findIndex(([k]) => k === key);
  const removeWhere = (hit) => {
    const gone = model.filter(([k, , tags]) => hit(k) || tags.some(hit)).map(([k]) => k);
    model = model.filter(([k, , tags]) => !(hit(k) || tags.some(hit)));
    return gone.sort();
  };
  for (let step = 0; step < 300; step++) {
    const key = KEYS[next(KEYS.length)];
    const where = `seed ${seed}, step ${step}`;
    switch (next(10)) {
      case 0:
      case 1: {
        // A set without options: the fast path (a new key waits for the index).
        const value = { n: step };
        const i = at(key);
        let evicted = [];
        if (i >= 0) model.splice(i, 1);
        else if (model.length === max) evicted = [model.pop()[0]];
        model.unshift([key, value, []]);
        assert.deepEqual(cache.set(key, value), evicted, where);
        break;
      }
      case 2: {
        // A set with tags: the general path, which indexes every waiting key first.
        const tags = next(2) === 0 ? [] : [TARGETS[next(TARGETS.length)]];
        const i = at(key);
        let evicted = [];
        if (i >= 0) model.splice(i, 1);
        else if (model.length === max) evicted = [model.pop()[0]];
        model.unshift([key, step, tags]);
        assert.deepEqual(cache.set(key, step, { tags }), evicted, where);
        break;
      }
      case 3:
      case 4: {
        const i = at(key);
        const expected = i >= 0 ? model[i][1] : undefined;
        if (i >= 0) model.unshift(model.splice(i, 1)[0]);
        assert.equal(cache.get(key), expected, where);
        break;
      }
      case 5: {
        const i = at(key);
        assert.equal(cache.peek(key), i >= 0 ? model[i][1] : undefined, where);
        assert.equal(cache.has(key), i >= 0, where);
        break;
      }
      case 6: {
        const i = at(key);
        if (i >= 0) model.splice(i, 1);
        assert.equal(cache.delete(key), i >= 0, where);
        break;
      }
      case 7: {
        const target = TARGETS[next(TARGETS.length)];
        const expected = removeWhere((k) => covers(target, k));
        assert.deepEqual(cache.invalidate(target).sort(), expected, `${where}: invalidate ${target}`);
        break;
      }
      case 8: {
        const pattern = PATTERNS[next(PATTERNS.length)];
        const expected = removeWhere((k) => patternCovers(pattern, k));
        assert.deepEqual(cache.invalidatePattern(pattern).sort(), expected, `${where}: ${pattern}`);
        break;
      }
      case 9: {
        // A cascade set: keys and patterns at once (rows of text, or JSON when one is not ASCII).
        const keys = TARGETS.filter(() => next(4) === 0);
        const patterns = PATTERNS.filter(() => next(6) === 0);
        const expected = removeWhere((k) => keys.some((t) => covers(t, k)) || patterns.some((p) => patternCovers(p, k)));
        const removed = cache.invalidateSet({ keys, patterns });
        assert.deepEqual(removed.sort(), expected, `${where}: invalidateSet ${JSON.stringify({ keys, patterns })}`);
        break;
      }
    }
    assert.deepEqual([...cache.keys()], model.map(([k]) => k), `${where}: recency order`);
    assert.equal(cache.size, model.length, where);
  }
  return cache.stats();
}

test("LruCache matches the model over random scripts (fast and general sets, hits, invalidations)", () => {
  let sets = 0;
  for (let seed = 1; seed <= 150; seed++) sets += run(seed, 1 + (seed % 6)).sets;
  // Every script really ran: 150 scripts of 300 steps, a third of them sets.
  assert.ok(sets > 10_000, `only ${sets} sets`);
});

test("keys wasm has not seen yet reach the index in full, over batch limits and reused slots", () => {
  // Long keys overflow one batch of key text (16 KB) many times; many short keys overflow one
  // batch of slots (1024); the first half of each run is evicted before any invalidation, so
  // slots are reused while their first keys were never handed over.
  const long = (i) => `t:${i % 50}:${"v".repeat(90)}${i}`;
  const short = (i) => `s:${i % 50}:${i}`;
  for (const [name, keyOf, max] of [["long", long, 3000], ["short", short, 5000], ["longest", (i) => `m:${i % 50}:${"w".repeat(1000)}${i}`.slice(0, 1024), 400]]) {
    const cache = new LruCache({ maxEntries: max });
    for (let i = 0; i < 2 * max; i++) cache.set(keyOf(i), i);
    const live = Array.from({ length: max }, (_, j) => keyOf(max + j));
    const prefix = keyOf(7).split(":").slice(0, 2).join(":");
    const expected = live.filter((k) => k.startsWith(`${prefix}:`)).sort();
    assert.ok(expected.length > 0, name);
    assert.deepEqual(cache.invalidate(prefix).sort(), expected, `${name}: invalidate ${prefix}`);
    assert.equal(cache.size, max - expected.length, name);
    assert.deepEqual([...cache.keys()], live.filter((k) => !expected.includes(k)).reverse(), `${name}: recency order`);
    // Every other key is indexed now: a pattern reaches all of them.
    assert.equal(cache.invalidatePattern(`${prefix.split(":")[0]}:*`).length, max - expected.length, name);
    assert.equal(cache.size, 0, name);
  }
});

test("set refuses every key the core refuses, short or long, on the fast path too", () => {
  const pad = "p".repeat(40);
  const bad = ["", ":a", "a:", "a::b", "a:*", "*", "a:*:b", "a*b", `${pad}:`, `:${pad}`, `${pad}::x`, `${pad}*`,
    `${pad}:*:x`, Array.from({ length: 33 }, (_, i) => `s${i}`).join(":"), "k".repeat(1025)];
  const good = ["a", "a:b", "é:1", `${pad}:1`, `${pad}:é`, Array.from({ length: 32 }, (_, i) => `s${i}`).join(":"),
    "k".repeat(1024), `${pad}:a-b_c.d~e!f`];
  const cache = new LruCache({ maxEntries: 100 });
  for (const key of bad) {
    assert.throws(() => cache.set(key, 1), (e) => ["INVALID_KEY", "LIMIT_EXCEEDED"].includes(e.code), JSON.stringify(key));
  }
  for (const key of good) cache.set(key, key);
  assert.equal(cache.size, good.length);
  // Every good key went into the index as it was given.
  const removed = cache.invalidatePattern("*");
  assert.deepEqual(removed.sort(), [...good].sort());
});

test("long runs of hits between reads replay to the model's recency, evictions and counts", () => {
  // Hits are queued and handed to wasm in batches that grow with use (and are rewritten before
  // they cross: each slot once, at its last hit); runs of up to tens of thousands of gets, skewed
  // so slots repeat within a batch, with queued sets of cached keys among them, must leave the
  // same order, evict the same keys and count the same hits, misses and sets as the model.
  for (const [seed, max] of [[1, 3], [2, 40], [3, 700], [4, 3000]]) {
    const next = rng(seed);
    const cache = new LruCache({ maxEntries: max });
    const keyOf = (i) => `h:${i}`;
    // Least recent first (a Map keeps insertion order): key → value.
    const model = new Map();
    const counts = { hits: 0, misses: 0, sets: 0 };
    const set = (key, value) => {
      let evicted = [];
      if (model.has(key)) model.delete(key);
      else if (model.size === max) {
        evicted = [model.keys().next().value];
        model.delete(evicted[0]);
      }
      model.set(key, value);
      counts.sets++;
      assert.deepEqual(cache.set(key, value), evicted, `seed ${seed}: set ${key}`);
    };
    for (let i = 0; i < max; i++) set(keyOf(i), i);
    for (let round = 0; round < 12; round++) {
      const where = `seed ${seed}, round ${round}`;
      const gets = next(4) === 0 ? next(50) : next(25 * max + 5000);
      const withSets = next(2) === 0;
      // A skewed pick: a few hot keys, then the rest, then some never cached.
      const hot = 1 + next(Math.max(1, max >> 3));
      for (let g = 0; g < gets; g++) {
        const r = next(10);
        const i = r < 6 ? next(hot) : r < 9 ? next(max + (max >> 2)) : next(max * 4);
        const key = keyOf(i);
        if (withSets && next(16) === 0 && model.has(key)) {
          set(key, -g);
          continue;
        }
        const expected = model.get(key);
        if (expected === undefined) counts.misses++;
        else {
          counts.hits++;
          model.delete(key);
          model.set(key, expected);
        }
        if (cache.get(key) !== expected) assert.equal(cache.get(key), expected, `${where}: get ${key}`);
      }
      // A new key evicts the least recent entry: wasm's order must be the model's at this point.
      if (next(2) === 0) set(keyOf(max * 8 + round), round);
      assert.deepEqual([...cache.keys()], [...model.keys()].reverse(), `${where}: recency order`);
      const stats = cache.stats();
      assert.deepEqual({ hits: stats.hits, misses: stats.misses, sets: stats.sets }, counts, `${where}: counts`);
    }
  }
});
