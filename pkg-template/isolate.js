// Per-isolate LRU consistency through a generation stamp kept in Workers KV.
//
// Every Worker isolate holds its own LruCache. An invalidation processed in one isolate reaches the
// others like this:
//  - `publish(set)` (the isolate that ran the mutation) invalidates its own LRU at once, then reads
//    the stamp record at KV key `key` (default `__cascade_gen`), appends `{ gen, keys, patterns }`
//    with a fresh unique generation, keeps the last `maxLog` entries, and writes it back.
//  - `check()` (every isolate, before reading its LRU) reads the record at most once every
//    `checkIntervalMs`. Unchanged generation: nothing to do. Changed, and this isolate's generation
//    is still in the log: replay the entries after it (invalidate their keys and patterns). Changed
//    and not in the log (too far behind, first check of the isolate, record lost): clear the LRU.
//
// Give it an LruCache without an attached engine: published sets are complete cascade sets, and an
// attached engine would cascade each of their keys again, without the change's data (coarsely).
//
// Consistency window (be honest with yourself about it):
//  - KV is eventually consistent. A write is visible at once in the location that wrote it, but
//    other locations may serve the previous value for up to ~60 seconds (KV's edge cache of reads).
//    So another isolate may serve a stale LRU entry for up to checkIntervalMs + ~60 s after a
//    mutation elsewhere; in the same location, for up to checkIntervalMs (plus KV's own propagation).
//  - KV has no compare-and-swap: two mutations publishing at the same moment (read-append-write
//    racing) can lose one log entry. An isolate that then replays sees the surviving entry only and
//    may keep an entry the lost one should have removed. Use `mode: "clear"` (any generation change
//    clears the whole LRU) where that matters more than hit rate; it is immune to lost entries, since
//    every published generation is unique and any change is noticed.
//  - If you need strict cross-isolate ordering, use a Durable Object as the stamp instead; the
//    interface (get/put of one JSON value) is the same shape.

import { codedError } from "./errors.js";

const VERSION = 1;

function freshGeneration(now) {
  const rand =
    typeof crypto !== "undefined" && typeof crypto.randomUUID === "function"
      ? crypto.randomUUID().replaceAll("-", "").slice(0, 12)
      : Math.random().toString(16).slice(2, 14);
  return `${now.toString(36)}-${rand}`;
}

/** Removes a set's keys and patterns from `cache`; returns the keys removed (each once). */
export function invalidateSet(cache, keys, patterns) {
  const removed = keys.length > 0 ? cache.invalidateBatch([...new Set(keys)]) : [];
  for (const p of new Set(patterns)) removed.push(...cache.invalidatePattern(p));
  return [...new Set(removed)];
}

/** Keeps an isolate-local LruCache consistent with invalidations published by other isolates. */
export class GenerationSync {
  #kv;
  #cache;
  #key;
  #interval;
  #maxLog;
  #now;
  #mode;
  #gen = undefined; // undefined: never checked (the LRU may hold anything: clear on first check)
  #lastCheck = -Infinity;

  constructor(options = {}) {
    const { kv, cache, key = "__cascade_gen", checkIntervalMs = 1000, maxLog = 50, now = Date.now, mode = "replay" } =
      options ?? {};
    if (!kv || typeof kv.get !== "function" || typeof kv.put !== "function") {
      throw codedError("INVALID_OPTIONS", "`kv` must be a KV namespace (with get() and put())");
    }
    if (!cache || typeof cache.invalidateBatch !== "function" || typeof cache.clear !== "function") {
      throw codedError("INVALID_OPTIONS", "`cache` must be an LruCache");
    }
    if (typeof key !== "string" || key === "") throw codedError("INVALID_OPTIONS", "`key` must be a non-empty string");
    if (typeof checkIntervalMs !== "number" || !(checkIntervalMs >= 0)) {
      throw codedError("INVALID_OPTIONS", "`checkIntervalMs` must be a number ≥ 0");
    }
    if (!Number.isInteger(maxLog) || maxLog < 1) throw codedError("INVALID_OPTIONS", "`maxLog` must be an integer ≥ 1");
    if (mode !== "replay" && mode !== "clear") throw codedError("INVALID_OPTIONS", '`mode` must be "replay" or "clear"');
    this.#kv = kv;
    this.#cache = cache;
    this.#key = key;
    this.#interval = checkIntervalMs;
    this.#maxLog = maxLog;
    this.#now = now;
    this.#mode = mode;
  }

  /** The generation this isolate's LRU reflects (undefined before the first check). */
  get generation() {
    return this.#gen;
  }

  async #read() {
    const record = await this.#kv.get(this.#key, { type: "json" });
    if (record === null) return null;
    if (typeof record !== "object" || record.v !== VERSION || typeof record.gen !== "string" || !Array.isArray(record.log)) {
      return { v: VERSION, gen: `unreadable:${JSON.stringify(record).slice(0, 40)}`, log: [] };
    }
    return record;
  }

  // Brings the LRU up to `record`; returns what was done.
  #apply(record) {
    const gen = record?.gen ?? null;
    if (gen === this.#gen) return { changed: false, action: "none", removed: [] };
    const from = this.#gen;
    this.#gen = gen;
    const idx = from === undefined || from === null ? -1 : (record?.log ?? []).findIndex((e) => e.gen === from);
    if (this.#mode === "replay" && from === null && record?.log[0]?.seq === 1) {
      // No record when we last looked, and the log still starts at the first entry ever: replay all.
      return { changed: true, action: "replay", removed: this.#replay(record.log) };
    }
    if (this.#mode === "replay" && idx >= 0) {
      return { changed: true, action: "replay", removed: this.#replay(record.log.slice(idx + 1)) };
    }
    this.#cache.clear();
    return { changed: true, action: "clear", removed: [] };
  }

  #replay(entries) {
    const keys = [];
    const patterns = [];
    for (const e of entries) {
      if (Array.isArray(e.keys)) keys.push(...e.keys);
      if (Array.isArray(e.patterns)) patterns.push(...e.patterns);
    }
    return this.#invalidate(keys, patterns);
  }

  #invalidate(keys, patterns) {
    return invalidateSet(this.#cache, keys, patterns);
  }

  /**
   * Reads the stamp when `checkIntervalMs` has passed since the last read, and brings the LRU up to
   * date. Returns `{ checked, changed, action: "none" | "replay" | "clear", removed, generation }`.
   */
  async check({ force = false } = {}) {
    const now = this.#now();
    if (!force && now - this.#lastCheck < this.#interval) {
      return { checked: false, changed: false, action: "none", removed: [], generation: this.#gen };
    }
    this.#lastCheck = now;
    const record = await this.#read();
    return { checked: true, ...this.#apply(record), generation: this.#gen };
  }

  /**
   * Invalidates `set` (a CascadeSet: `keys`, `patterns`) in this isolate's LRU, and publishes it as
   * a new generation so the other isolates drop it too. Returns `{ generation, removed }`.
   */
  async publish(set) {
    if (set === null || typeof set !== "object") throw codedError("INVALID_ARGUMENT", "publish takes a CascadeSet");
    const keys = Array.isArray(set.keys) ? set.keys : [];
    const patterns = Array.isArray(set.patterns) ? set.patterns : [];
    // Locally first, before any await: a request this isolate serves next must not see stale entries.
    const removed = this.#invalidate(keys, patterns);
    const record = await this.#read();
    this.#apply(record); // catch up, so this isolate never skips someone else's entry
    const gen = freshGeneration(this.#now());
    const seq = (record?.seq ?? 0) + 1;
    const log = [...(record?.log ?? []), { gen, seq, keys, patterns }].slice(-this.#maxLog);
    await this.#kv.put(this.#key, JSON.stringify({ v: VERSION, gen, seq, log }));
    this.#gen = gen;
    this.#lastCheck = this.#now();
    return { generation: gen, removed };
  }
}
