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
    switch (next(9)) {
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
