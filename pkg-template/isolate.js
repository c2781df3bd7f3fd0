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
// Two stores hold the record, chosen by the option given:
//  - `kv` (the "eventual" mode): a Workers KV key. See the consistency window below.
//  - `coordinator` (the "strong" mode): a Durable Object namespace bound to GenerationCoordinator
//    (exported here: re-export it from the Worker's main module). One object (`name`, default
//    "cascade") holds the record; it serialises every publish (no lost entry) and every read sees
//    the latest generation, so an isolate is at most `checkIntervalMs` behind any publish.
//
// Consistency window of the KV mode (be honest with yourself about it):
//  - KV is eventually consistent. A write is visible at once in the location that wrote it, but
//    other locations may serve the previous value for up to ~60 seconds (KV's edge cache of reads).
//    So another isolate may serve a stale LRU entry for up to checkIntervalMs + ~60 s after a
//    mutation elsewhere; in the same location, for up to checkIntervalMs (plus KV's own propagation).
//  - KV has no compare-and-swap: two mutations publishing at the same moment (read-append-write
//    racing) can lose one log entry. An isolate that then replays sees the surviving entry only and
//    may keep an entry the lost one should have removed. Use `mode: "clear"` (any generation change
//    clears the whole LRU) where that matters more than hit rate; it is immune to lost entries, since
//    every published generation is unique and any change is noticed.
//  - That race is KV's (no compare-and-swap), not fixable on top of it: where it matters, use the
//    `coordinator` mode.

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
  #store;
  #cache;
  #interval;
  #maxLog;
  #now;
  #mode;
  #gen = undefined; // undefined: never checked (the LRU may hold anything: clear on first check)
  #lastCheck = -Infinity;

  constructor(options = {}) {
    const { kv, coordinator, name = "cascade", cache, key = "__cascade_gen", checkIntervalMs = 1000, maxLog = 50, now = Date.now, mode = "replay" } =
      options ?? {};
    if (coordinator !== undefined) {
      if (kv !== undefined) throw codedError("INVALID_OPTIONS", "pass `kv` or `coordinator`, not both");
      if (typeof coordinator?.idFromName !== "function" || typeof coordinator?.get !== "function") {
        throw codedError("INVALID_OPTIONS", "`coordinator` must be a Durable Object namespace bound to GenerationCoordinator");
      }
      if (typeof name !== "string" || name === "") throw codedError("INVALID_OPTIONS", "`name` must be a non-empty string");
    } else if (!kv || typeof kv.get !== "function" || typeof kv.put !== "function") {
      throw codedError("INVALID_OPTIONS", "`kv` must be a KV namespace (with get() and put()), or pass `coordinator`");
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
    this.#store = coordinator !== undefined ? coordinatorStore(coordinator, name) : kvStore(kv, key);
    this.#cache = cache;
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
    return readable(await this.#store.read());
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
   * Never rejects because of the store: when it cannot be read, the LRU is cleared (every read
   * becomes a miss) and the result carries `error: { code, message }`.
   */
  async check({ force = false } = {}) {
    const now = this.#now();
    if (!force && now - this.#lastCheck < this.#interval) {
      return { checked: false, changed: false, action: "none", removed: [], generation: this.#gen };
    }
    this.#lastCheck = now;
    let record;
    try {
      record = await this.#read();
    } catch (error) {
      // The store is unreachable: what other isolates published is unknown, so nothing in this LRU
      // is known fresh. Degrade to misses (clear) rather than fail the request; the generation
      // becomes unknown, so the first check that reads the store clears once more.
      this.#gen = undefined;
      this.#cache.clear();
      return { checked: true, changed: true, action: "clear", removed: [], generation: undefined, error: storeError(error) };
    }
    return { checked: true, ...this.#apply(record), generation: this.#gen };
  }

  /**
   * Invalidates `set` (a CascadeSet: `keys`, `patterns`) in this isolate's LRU, and publishes it as
   * a new generation so the other isolates drop it too. Returns `{ generation, removed, published }`;
   * when the store cannot be written, `published` is false and `error` says why (it does not reject).
   */
  async publish(set) {
    if (set === null || typeof set !== "object") throw codedError("INVALID_ARGUMENT", "publish takes a CascadeSet");
    const keys = Array.isArray(set.keys) ? set.keys : [];
    const patterns = Array.isArray(set.patterns) ? set.patterns : [];
    // Locally first, before any await: a request this isolate serves next must not see stale entries.
    const removed = this.#invalidate(keys, patterns);
    let record;
    try {
      record = readable(await this.#store.append({ keys, patterns }, this.#maxLog, this.#now));
    } catch (error) {
      // The mutation has happened and this isolate is clean; the others cannot be told. Resolve
      // with what happened instead of failing the caller's request: `published: false` says the
      // other isolates keep serving their LRU until their own check reads a newer generation.
      return { generation: this.#gen, removed, published: false, error: storeError(error) };
    }
    // The record ends with this entry: applying it replays what others published before it, so
    // this isolate never skips someone else's entry.
    this.#apply(record);
    this.#lastCheck = this.#now();
    return { generation: this.#gen, removed, published: true };
  }
}

/** A store failure as `{ code, message }`: COORDINATOR_FAILED as thrown below, else SYNC_STORE_FAILED. */
function storeError(error) {
  const code = typeof error?.code === "string" ? error.code : "SYNC_STORE_FAILED";
  return { code, message: String(error?.message ?? error).slice(0, 300) };
}

function readable(record) {
  if (record === null || record === undefined) return null;
  if (typeof record !== "object" || record.v !== VERSION || typeof record.gen !== "string" || !Array.isArray(record.log)) {
    return { v: VERSION, gen: `unreadable:${JSON.stringify(record).slice(0, 40)}`, log: [] };
  }
  return record;
}

/** The record with `entry` appended as a fresh generation, the log kept to `maxLog` entries. */
function appended(record, entry, maxLog, now) {
  const gen = freshGeneration(now);
  const seq = (record?.seq ?? 0) + 1;
  return { v: VERSION, gen, seq, log: [...(record?.log ?? []), { gen, seq, ...entry }].slice(-maxLog) };
}

// KV: read, append, write back. Two isolates appending at once can lose one entry (see above).
function kvStore(kv, key) {
  return {
    read: () => kv.get(key, { type: "json" }),
    async append(entry, maxLog, now) {
      const next = appended(readable(await kv.get(key, { type: "json" })), entry, maxLog, now());
      await kv.put(key, JSON.stringify(next));
      return next;
    },
  };
}

// A Durable Object: the object appends, one request at a time.
function coordinatorStore(namespace, name) {
  const call = async (init) => {
    // A stub per call: a stub made while serving one request is not for another's I/O.
    const stub = namespace.get(namespace.idFromName(name));
    const res = await stub.fetch("https://generation-coordinator/record", init);
    if (!res.ok) throw codedError("COORDINATOR_FAILED", `the GenerationCoordinator answered HTTP ${res.status}: ${(await res.text()).slice(0, 200)}`);
    return res.json();
  };
  return {
    read: () => call({ method: "GET" }),
    append: (entry, maxLog) => call({ method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ ...entry, maxLog }) }),
  };
}

const RECORD_BYTES = 100 * 1024; // under a Durable Object value's 128 KiB

/**
 * The Durable Object behind GenerationSync's `coordinator` mode: holds the generation record and
 * appends published sets one at a time, so no entry is lost and every read sees the latest
 * generation. Export it from the Worker's main module and bind a namespace to it
 * (`[[durable_objects.bindings]] name = "CASCADE_COORDINATOR", class_name = "GenerationCoordinator"`).
 */
export class GenerationCoordinator {
  #storage;
  #record = undefined;

  constructor(state) {
    this.#storage = state.storage;
  }

  async fetch(request) {
    this.#record ??= readable((await this.#storage.get("record")) ?? null);
    if (request.method === "GET") return Response.json(this.#record);
    if (request.method !== "POST") return new Response("GET reads the record, POST appends { keys, patterns, maxLog }", { status: 405 });
    let body;
    try {
      body = await request.json();
    } catch {
      return new Response("the body must be JSON: { keys, patterns, maxLog }", { status: 400 });
    }
    const list = (v) => (Array.isArray(v) ? v.filter((x) => typeof x === "string") : []);
    const maxLog = Number.isInteger(body?.maxLog) && body.maxLog >= 1 ? Math.min(body.maxLog, 1000) : 50;
    // No await between reading the record and replacing it: appends never interleave.
    const next = appended(this.#record, { keys: list(body?.keys), patterns: list(body?.patterns) }, maxLog, Date.now());
    while (next.log.length > 1 && JSON.stringify(next).length > RECORD_BYTES) next.log.shift();
    this.#record = next;
    await this.#storage.put("record", next);
    return Response.json(next);
  }
}
