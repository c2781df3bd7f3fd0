// The Workers KV tier of cascade-edge/yoga's store (yoga.js), and the key spelling both tiers share.
//
// Layout: a response at `{kvPrefix}:{id}` holding `{ id, result, tags, expires? }`, and one empty
// index key per tag, `{tag}:@response:{id}`, so purging a cascade set from KV (`purgeKv`) deletes
// the index keys below its keys; each deleted index key names a response to delete.
//
// Promises: every write and purge runs on one queue, so a purge never races a write of the same
// response; nothing here rejects or throws: a failed KV call is reported (`report`) and, for a
// purge, owed: what it did not purge is retried with the next purge (or a read after a back-off),
// and until then every read it may cover is a miss. A response whose TTL ran out is a miss too,
// whatever KV's own (minute-granular) expiration says.
import { codedError } from "./errors.js";
import { encodeSegment } from "./encoding.js";
import { purgeKv } from "./purge-kv.js";
import { isWildcard, keyCovers } from "./purge-set.js";

/** The keyspace of responses in the LRU, and the marker segment of KV index keys. */
export const RESPONSE = "@response";
/** Longest encoded id segment kept as is; longer ones are hashed, in tags, cascade sets and response keys. */
export const MAX_SEGMENT = 128;
/** Workers KV refuses keys over 512 bytes. */
const KV_MAX_KEY_BYTES = 512;
/** KV expirations are whole seconds, at least 60. */
const KV_MIN_TTL_S = 60;
const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 30_000;

const utf8 = new TextEncoder();

function fnv1a(text) {
  let h = 0xcbf29ce484222325n;
  for (const byte of utf8.encode(text)) {
    h ^= BigInt(byte);
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return h.toString(16).padStart(16, "0");
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** `text` with each lone UTF-16 surrogate replaced by U+FFFD (keys must be well-formed). */
export function wellFormed(text) {
  return typeof text.toWellFormed === "function" ? text.toWellFormed() : text.replace(LONE_SURROGATE, "\uFFFD");
}

/**
 * A segment as keys carry it: over MAX_SEGMENT chars it becomes `~` and a hash of it (hex, which
 * `encodeSegment` leaves as is). Two segments hashing alike only purge together: never stale.
 */
export function boundSegment(segment) {
  return segment.length > MAX_SEGMENT ? `~${fnv1a(segment)}` : segment;
}

/** An id (string or number) as one bounded, well-formed key segment. */
export function idSegment(id, delimiter) {
  return boundSegment(encodeSegment(wellFormed(String(id)), delimiter));
}

/** A key or pattern of a cascade set with each over-long segment hashed as `boundSegment` does. */
export function boundKey(key, delimiter) {
  const text = wellFormed(key);
  if (text.length <= MAX_SEGMENT) return text;
  return text.split(delimiter).map(boundSegment).join(delimiter);
}

/**
 * The KV tier over `kv`. `report(error, where)` hears every failure; `stats` is the store's
 * counters object (kvErrors, kvOwed); `generation()` the store's count of invalidations begun.
 */
export function createKvTier({ kv, prefix, delimiter: d, now, report, stats, generation }) {
  const kvKey = (key) => `${prefix}${key.slice(RESPONSE.length)}`;
  const indexKey = (tag, key) => `${tag}${d}${key}`;
  // What a failed purge still owes: keys and patterns to purge again, and responses to delete.
  const owedItems = new Set();
  const owedResponses = new Set();
  let attempts = 0;
  let retryAt = 0;
  // One queue for writes and purges; `purged` settles when the last purge queued has run.
  let queue = Promise.resolve();
  let purged = Promise.resolve();

  const fail = (error, where) => {
    stats.kvErrors++;
    report(error, where);
  };
  const enqueue = (step, where) => {
    const run = queue.then(step).catch((error) => fail(error, where));
    queue = run;
    return run;
  };
  const owes = () => owedItems.size + owedResponses.size > 0;
  const updateOwed = () => {
    stats.kvOwed = owedItems.size + owedResponses.size;
  };

  /** The response an index key names (`user:1:@response:q` → `@response:q`), or undefined. */
  function responseOf(name) {
    const segments = String(name).split(d);
    const at = segments.lastIndexOf(RESPONSE);
    return at >= 0 && at < segments.length - 1 ? `${RESPONSE}${d}${segments.slice(at + 1).join(d)}` : undefined;
  }

  /** Deletes a response, then its index keys; false when the response itself could not be deleted. */
  async function deleteResponse(key) {
    let stored = null;
    try {
      stored = await kv.get(kvKey(key), "json");
    } catch (error) {
      fail(error, "kv.get");
    }
    try {
      await kv.delete(kvKey(key));
    } catch (error) {
      fail(error, "kv.delete");
      return false;
    }
    // An index key left behind only names a response that is gone: harmless.
    const tags = Array.isArray(stored?.tags) ? stored.tags : [];
    await Promise.allSettled(tags.map((tag) => kv.delete(indexKey(tag, key))));
    return true;
  }

  async function purgeStep(set) {
    const items = new Set([...owedItems, ...set.keys, ...set.patterns]);
    const responses = new Set(owedResponses);
    owedItems.clear();
    owedResponses.clear();
    const owe = (item) => {
      const response = responseOf(item);
      if (response !== undefined) owedResponses.add(response);
      owedItems.add(item);
    };
    if (items.size > 0) {
      const list = [...items];
      let result;
      try {
        result = await purgeKv(kv, { keys: list.filter((k) => !isWildcard(k, d)), patterns: list.filter((k) => isWildcard(k, d)) }, { delimiter: d });
      } catch (error) {
        result = { purged: [], failed: list.map((item) => ({ item, error: String(error?.message ?? error) })) };
      }
      for (const name of result.purged) {
        const response = responseOf(name);
        if (response !== undefined) responses.add(response);
      }
      for (const { item } of result.failed) owe(item);
      // Past the per-invocation budget: what is left is owed like a failure, and retried.
      const rest = result.continuation;
      if (rest !== undefined) {
        rest.deletes.forEach(owe);
        for (const list of rest.lists) list.matchers.forEach(owe);
      }
    }
    const deleted = await Promise.all([...responses].map(async (key) => [key, await deleteResponse(key)]));
    for (const [key, ok] of deleted) if (!ok) owedResponses.add(key);
    updateOwed();
    if (owes()) {
      attempts++;
      retryAt = now() + Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** (attempts - 1));
      throw codedError("PURGE_FAILED", `KV purge incomplete: ${owedItems.size} key(s) or pattern(s) and ${owedResponses.size} response(s) owed, retried with the next purge; reads they cover are misses meanwhile`);
    }
    attempts = 0;
  }

  /** Whether a failed purge may still owe this response: then it is not served. */
  function blocked(key, tags) {
    if (owedResponses.has(key)) return true;
    for (const item of owedItems) {
      if (keyCovers(item, kvKey(key), d) || tags.some((tag) => keyCovers(item, tag, d))) return true;
    }
    return false;
  }

  const tier = {
    /** Purges a cascade set (and whatever earlier purges owe); settles when done, never rejects. */
    purge(set) {
      purged = enqueue(() => purgeStep(set), "kv purge");
      return purged;
    },

    /** Retries what failed purges owe once their back-off has passed. */
    retryIfDue() {
      if (owes() && now() >= retryAt) tier.purge({ keys: [], patterns: [] });
    },

    /** Writes a response and its index keys; settles when done, never rejects. */
    write(key, value, tags, ttlMs) {
      return enqueue(async () => {
        const expirationTtl = ttlMs === undefined ? undefined : Math.max(KV_MIN_TTL_S, Math.ceil(ttlMs / 1000));
        const options = expirationTtl === undefined ? {} : { expirationTtl };
        const names = tags.map((tag) => indexKey(tag, key));
        if ([kvKey(key), ...names].some((name) => utf8.encode(name).length > KV_MAX_KEY_BYTES)) {
          stats.kvSkipped++;
          return;
        }
        // Index keys first: a response is in KV only once every purge that should reach it can find it.
        const results = await Promise.allSettled(names.map((name) => kv.put(name, "", options)));
        const failed = results.find((r) => r.status === "rejected");
        if (failed !== undefined) throw failed.reason;
        const expires = ttlMs === undefined ? undefined : now() + ttlMs;
        await kv.put(kvKey(key), JSON.stringify({ ...value, tags, expires }), options);
      }, "kv write");
    },

    /**
     * The response stored for `key` (after the purges queued before this read), as `{ value,
     * tags, ttlMs }` with the TTL it has left, or null: absent, another id, expired, possibly owed
     * by a failed purge, or invalidated while it was read. Never rejects.
     */
    async read(key, id) {
      tier.retryIfDue();
      await purged;
      const started = generation();
      let stored;
      try {
        stored = await kv.get(kvKey(key), "json");
      } catch (error) {
        fail(error, "kv.get");
        return null;
      }
      if (stored === null || typeof stored !== "object" || stored.id !== id) return null;
      const tags = Array.isArray(stored.tags) ? stored.tags : [];
      const left = typeof stored.expires === "number" ? stored.expires - now() : undefined;
      if (left !== undefined && left <= 0) return null;
      if (blocked(key, tags)) {
        owedResponses.add(key);
        updateOwed();
        return null;
      }
      if (generation() !== started) return null;
      return { value: { id: stored.id, result: stored.result }, tags, ttlMs: left };
    },

    /** Settles when every write and purge queued so far has run. */
    settled: () => queue.then(() => undefined),
  };
  return tier;
}
