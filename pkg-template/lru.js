// LruCache: a bounded LRU cache that understands cascade keys (SPEC §5). Wasm owns recency, TTLs,
// the key trie, tags and the fence; this side owns the values and the key ↔ slot mirror, and
// batches what crosses (hits, keys, rows of text) through wasm memory.
import { WasmLru } from "./cascade_edge.js";
import { CascadeEngine, lruCaches } from "./engine.js";
import { codedError, freedInner, requireKey, requireString, toJson, useAfterFree } from "./errors.js";
import { MAX_KEY_LEN, MAX_SEGMENTS, PACK, PROVIDE_ROWS, PROVIDE_TEXT, QUEUED_SET } from "./protocol.js";
import { call, coded, encoder, u32Memory, u8Memory } from "./wasm.js";

function estimateBytes(value) {
  if (typeof value === "string") return value.length * 2;
  try {
    return (JSON.stringify(value) ?? "").length * 2;
  } catch {
    return 0;
  }
}

function ms(value, what) {
  if (value === undefined || value === null) return 0;
  if (typeof value !== "number" || !(value > 0)) throw codedError("INVALID_OPTIONS", `${what} must be a positive number of milliseconds`);
  return value;
}

// Keys set since wasm last indexed that make it index them now (see LruCache#stored), and the
// length of LruCache#keyless: a bound on the pause of the next invalidation (indexing costs
// about 1-3 µs a key in wasm).
const INDEX_BACKLOG = 4096;
// A char no plain key has: non-ASCII, or `*`.
const NOT_PLAIN_CHAR = /[^\x00-\x29\x2b-\x7f]/;

// Hits are recorded here and handed to wasm in batches: the first of this many slots, each later
// one twice as long as the one before while the batch fills, up to the larger of TOUCH_BATCH and
// TOUCHES_PER_ENTRY × maxEntries, capped at TOUCH_BATCH_MAX (see LruCache#collapse).
const TOUCH_BATCH = 1024;
const TOUCHES_PER_ENTRY = 4;
const TOUCH_BATCH_MAX = 65536;

/**
 * A bounded LRU cache that understands cascade keys: hierarchy, wildcards, tags.
 *
 * Layout: wasm owns recency, TTLs, the key trie, tags and the fence, addressed by numeric slots;
 * values never enter wasm: this side mirrors key → slot in a `Map` and slot → value/key in arrays,
 * so `get` never sends a string into wasm and removals come back as slot numbers. A key set
 * without options reaches wasm only when something needs the trie (an invalidation, a set with
 * options): until then wasm knows its length, and a key evicted first never crosses at all.
 * Without TTLs nothing can expire, and hits are queued and replayed (`touchBatch`) before
 * anything that reads recency or counters, each slot moved once per batch (`#collapse`); with
 * TTLs each hit asks wasm. Without TTLs or
 * a byte budget a set of a cached key cannot evict or fail, and is queued with the hits.
 */
export class LruCache {
  #inner;
  #engine;
  #weigh;
  #slots = new Map();
  #values = [];
  #keys = [];
  #pending = new Uint32Array(TOUCH_BATCH);
  #pendingCount = 0;
  // The length of `#pending` (a field: the hot paths compare with it), and the most it grows to.
  #pendingLimit = TOUCH_BATCH;
  #pendingMax = TOUCH_BATCH;
  // Whether `#pending` holds a queued set (which `#collapse` must not reorder or drop).
  #pendingSets = false;
  // Slot → index of its last hit in `#pending` (`#collapse`'s scratch), grown to the slots seen.
  #lastHit = new Int32Array(0);
  #misses = 0;
  #mayExpire;
  // No byte budget: a set of a cached key can be queued while nothing can expire either.
  #unweighed;
  // The delimiter's char code when the fast `set` can check keys here (an ASCII delimiter), else -1.
  #delimiter;
  // Slots stored by `setKeyless` whose keys wasm has not been given yet (the first
  // `#keylessCount`; a slot may be listed twice, or be free by now); `#provide` hands the keys
  // over before any call that reads keys in wasm, and when the list is full. Made by the first.
  #keyless = null;
  #keylessCount = 0;
  #provideSlots = 0;
  #provideText = 0;
  #freed = false;

  constructor(options = {}) {
    if (options === null || typeof options !== "object") throw codedError("INVALID_OPTIONS", "options must be an object");
    const { maxEntries = 1000, maxBytes, ttlMs, engine, delimiter = ":", now: clock, sizeOf } = options;
    if (engine !== undefined && !(engine instanceof CascadeEngine)) {
      throw codedError("INVALID_OPTIONS", "`engine` must be a CascadeEngine");
    }
    if (maxBytes !== undefined && !(typeof maxBytes === "number" && maxBytes >= 1)) {
      throw codedError("INVALID_OPTIONS", "`maxBytes` must be a number of at least 1");
    }
    if (typeof maxEntries !== "number") throw codedError("INVALID_OPTIONS", "`maxEntries` must be a number");
    if (clock !== undefined && typeof clock !== "function") throw codedError("INVALID_OPTIONS", "`now` must be a function returning ms");
    const ttl = ms(ttlMs, "`ttlMs`");
    this.#inner = call(() => new WasmLru(maxEntries, maxBytes ?? 0, ttl, requireString(delimiter, "`delimiter`"), clock));
    this.#engine = engine;
    engine?._attach(this);
    lruCaches.add(this);
    this.#mayExpire = ttl > 0;
    this.#pendingMax = Math.max(TOUCH_BATCH, Math.min(TOUCH_BATCH_MAX, TOUCHES_PER_ENTRY * maxEntries));
    this.#unweighed = maxBytes === undefined;
    this.#delimiter = delimiter.length === 1 && delimiter.charCodeAt(0) < 0x80 ? delimiter.charCodeAt(0) : -1;
    // Weighing a value costs a serialisation, so it is only done when a byte budget needs it.
    this.#weigh = maxBytes === undefined ? () => 0 : typeof sizeOf === "function" ? sizeOf : estimateBytes;
  }

  /** `#flush`, and the keys wasm has not been given yet: call before anything that reads keys in wasm. */
  #sync() {
    this.#flush();
    this.#provide();
  }

  /** Where wasm reads rows of text from (`#provideSlots`, `#provideText`), allocated on first use. */
  #provideBuffers() {
    if (this.#provideSlots === 0) {
      this.#provideSlots = this.#inner.provideSlots();
      this.#provideText = this.#inner.provideText();
    }
  }

  /** Hands wasm the keys of the entries `setKeyless` stored, in batches (see `provideKeys`). */
  #provide() {
    const list = this.#keyless;
    const count = this.#keylessCount;
    if (count === 0) return;
    this.#keylessCount = 0;
    this.#provideBuffers();
    let rows = 0;
    let text = 0;
    for (let i = 0; i < count; i++) {
      const slot = list[i];
      // Gone since (its slot may hold a newer entry, which is listed later and gets its key now).
      const key = this.#keys[slot];
      if (key === undefined) continue;
      if (rows === PROVIDE_ROWS || text + key.length > PROVIDE_TEXT) {
        this.#provideBatch(rows);
        rows = 0;
        text = 0;
      }
      // Views are fetched per key: only a wasm call can grow memory, but that is cheap to test.
      const u8 = u8Memory();
      const u32 = u32Memory();
      const pair = (this.#provideSlots >>> 2) + 2 * rows;
      u32[pair] = slot;
      u32[pair + 1] = key.length;
      const at = this.#provideText + text;
      if (key.length <= 32) {
        for (let j = 0; j < key.length; j++) u8[at + j] = key.charCodeAt(j);
      } else {
        encoder.encodeInto(key, u8.subarray(at, at + key.length));
      }
      rows++;
      text += key.length;
    }
    if (rows > 0) this.#provideBatch(rows);
  }

  /** `#plainLength` of a key over 32 chars, by string searches. */
  #plainLongLength(key, len, d) {
    if (NOT_PLAIN_CHAR.test(key) || key.charCodeAt(0) === d || key.charCodeAt(len - 1) === d) return -1;
    const delimiter = String.fromCharCode(d);
    let segments = 1;
    for (let at = key.indexOf(delimiter); at !== -1; at = key.indexOf(delimiter, at + 1)) {
      if (key.charCodeAt(at + 1) === d || ++segments > MAX_SEGMENTS) return -1;
    }
    return len;
  }

  #provideBatch(rows) {
    const broken = this.#inner.provideKeys(rows);
    if (broken !== 0) throw codedError("INTERNAL", `cascade-edge bug: wasm refused ${broken} keys of the LRU's fast set`);
  }

  /** Replays queued hits and misses into wasm, in order; call before reading recency or counters. */
  #flush() {
    if (this.#pendingCount > 0) {
      const n = this.#pendingCount;
      const pending = this.#pending;
      this.#pendingCount = 0;
      if (!this.#pendingSets) this.#collapse(pending, n);
      this.#pendingSets = false;
      this.#inner.touchBatch(pending.subarray(0, n));
      // A full batch: the next one may be longer, so more of its hits repeat a slot.
      if (n === this.#pendingLimit && n < this.#pendingMax) {
        this.#pendingLimit = Math.min(2 * n, this.#pendingMax);
        this.#pending = new Uint32Array(this.#pendingLimit);
      }
    }
    if (this.#misses > 0) {
      this.#inner.recordMisses(this.#misses);
      this.#misses = 0;
    }
  }

  /**
   * Rewrites `n` queued hits (no sets) into the same number that wasm replays much faster, with
   * the same outcome: each slot once, at its last hit, in that order (the recency wasm ends with
   * is the same, since an earlier hit of a slot is overtaken by its last one), then the last slot
   * again for each hit dropped (it is then the most recent, so wasm only counts those hits: a
   * move in wasm costs about ten times as much as a hit of the most recent entry).
   */
  #collapse(pending, n) {
    let last = this.#lastHit;
    for (let i = 0; i < n; i++) {
      const slot = pending[i];
      if (slot >= last.length) last = this.#growLastHit(slot);
      last[slot] = i;
    }
    let kept = 0;
    for (let i = 0; i < n; i++) {
      const slot = pending[i];
      if (last[slot] === i) pending[kept++] = slot;
    }
    if (kept < n) pending.fill(pending[kept - 1], kept, n);
  }

  #growLastHit(slot) {
    const grown = new Int32Array(Math.max(slot + 1, 2 * this.#lastHit.length, TOUCH_BATCH));
    this.#lastHit = grown;
    return grown;
  }

  /** Drops this side's handles of an entry wasm removed. */
  #forget(key) {
    const slot = this.#slots.get(key);
    if (slot === undefined) return;
    this.#slots.delete(key);
    this.#values[slot] = undefined;
    this.#keys[slot] = undefined;
  }

  /** Forgets the entries in the slots wasm removed; returns their keys, in wasm's order. */
  #removed(slots) {
    const keys = new Array(slots.length);
    for (let i = 0; i < slots.length; i++) keys[i] = this.#drop(slots[i]);
    return keys;
  }

  /** The value of `key` (marking it most recent), or undefined. */
  get(key) {
    if (typeof key !== "string") requireString(key, "the key");
    const slot = this.#slots.get(key);
    if (slot === undefined) {
      this.#misses++;
      return undefined;
    }
    if (this.#mayExpire) {
      this.#flush();
      if (!this.#inner.touch(slot)) {
        this.#forget(key);
        return undefined;
      }
    } else {
      this.#pending[this.#pendingCount++] = slot;
      if (this.#pendingCount === this.#pendingLimit) this.#flush();
    }
    return this.#values[slot];
  }

  /** The value of `key` without changing recency or counters. */
  peek(key) {
    if (typeof key !== "string") requireString(key, "the key");
    const slot = this.#slots.get(key);
    if (slot === undefined || (this.#mayExpire && !this.#inner.isLive(slot))) return undefined;
    return this.#values[slot];
  }

  /** Whether `key` holds a live value. */
  has(key) {
    if (typeof key !== "string") requireString(key, "the key");
    const slot = this.#slots.get(key);
    return slot !== undefined && (!this.#mayExpire || this.#inner.isLive(slot));
  }

  /** Stores a value; `tags` are entity keys it contains; `token` (from beginRead) fences stale writes. Returns the evicted keys. */
  set(key, value, options) {
    // Without options, a plain ASCII key is checked here and only its length crosses: wasm gets
    // its text later, when something needs the index (`#provide`), or never if it is evicted
    // first. A key already cached goes by its slot alone. Anything else, or a refusal, takes the
    // general path (which throws the error).
    if (options === undefined && typeof key === "string") {
      const slot = this.#slots.get(key);
      if (slot !== undefined && this.#unweighed && !this.#mayExpire && slot < QUEUED_SET) {
        this.#values[slot] = value;
        this.#pending[this.#pendingCount++] = slot + QUEUED_SET;
        this.#pendingSets = true;
        if (this.#pendingCount === this.#pendingLimit) this.#flush();
        return [];
      }
      const len = slot === undefined ? this.#plainLength(key) : 0;
      if (len >= 0) {
        if (this.#pendingCount > 0) this.#flush();
        let result;
        try {
          const bytes = this.#weigh(value);
          result = slot === undefined ? this.#inner.setKeyless(len, bytes) : this.#inner.setExisting(slot, bytes);
        } catch (error) {
          throw coded(error);
        }
        if (result !== -1) return this.#stored(key, value, result, slot !== undefined, slot === undefined);
      }
    }
    return this.#setWith(key, value, options);
  }

  /**
   * The length of `key` if the core's one-pass check would accept it as it stands (ASCII, no
   * `*`, no empty segment, within MAX_KEY_LEN and MAX_SEGMENTS: the core's `is_plain_key`),
   * else -1 (the general path then decides, and says what is wrong).
   */
  #plainLength(key) {
    const len = key.length;
    const d = this.#delimiter;
    if (len === 0 || len > MAX_KEY_LEN || d < 0) return -1;
    // A longer key is checked with native string searches rather than char by char.
    if (len > 32) return this.#plainLongLength(key, len, d);
    let segments = 1;
    let afterDelimiter = true;
    for (let i = 0; i < len; i++) {
      const c = key.charCodeAt(i);
      if (c > 0x7f || c === 42) return -1;
      if (c === d) {
        if (afterDelimiter) return -1;
        segments++;
        afterDelimiter = true;
      } else {
        afterDelimiter = false;
      }
    }
    return afterDelimiter || segments > MAX_SEGMENTS ? -1 : len;
  }

  #setWith(key, value, options = {}) {
    requireKey(key, "the key");
    const { ttlMs, tags, token } = options ?? {};
    if (tags !== undefined && !(Array.isArray(tags) && tags.every((t) => typeof t === "string"))) {
      throw codedError("INVALID_OPTIONS", "`tags` must be an array of entity keys");
    }
    tags?.forEach((t) => requireKey(t, "a tag"));
    if (token !== undefined && !(Number.isSafeInteger(token) && token >= 0)) {
      throw codedError("INVALID_OPTIONS", "`token` must come from beginRead()");
    }
    const tagText = tags && tags.length > 0 ? JSON.stringify(tags) : "";
    const ttl = ms(ttlMs, "`ttlMs`");
    this.#sync();
    if (ttl > 0) this.#mayExpire = true;
    const inner = this.#inner;
    return this.#stored(key, value, call(() => inner.setSlot(key, this.#weigh(value), ttl, tagText, token ?? -1)));
  }

  /**
   * Records a stored entry on this side from a set's result (one number: see `pack` in the
   * wasm binding's LRU); returns the evicted keys. `known`: the key already holds the slot;
   * `keyless`: wasm does not have the key yet.
   */
  #stored(key, value, result, known = false, keyless = false) {
    let slot = result;
    let evicted;
    // Evicted slots are forgotten before the new entry is recorded: it may reuse one of them.
    if (result < PACK && result >= 0) {
      evicted = [];
    } else if (result >= PACK) {
      slot = result % PACK;
      evicted = [this.#drop((result - slot) / PACK - 1)];
    } else {
      const inner = this.#inner;
      slot = -2 - result;
      evicted = [];
      for (let i = 0, n = inner.removedCount(); i < n; i++) evicted.push(this.#drop(inner.removedSlot(i)));
    }
    this.#values[slot] = value;
    if (!known) {
      this.#slots.set(key, slot);
      this.#keys[slot] = key;
      if (keyless) {
        (this.#keyless ??= new Uint32Array(INDEX_BACKLOG))[this.#keylessCount++] = slot;
        if (this.#keylessCount === INDEX_BACKLOG) {
          this.#provide();
          this.#inner.indexWaiting();
        }
      }
    }
    return evicted;
  }

  /** Forgets the entry in `slot`, which wasm removed; returns its key. */
  #drop(slot) {
    const key = this.#keys[slot];
    this.#slots.delete(key);
    this.#values[slot] = undefined;
    this.#keys[slot] = undefined;
    return key;
  }

  /** Removes `key` only (not the keys below it); returns whether it was there. */
  delete(key) {
    if (typeof key !== "string") requireString(key, "the key");
    const slot = this.#slots.get(key);
    if (slot === undefined) return false;
    this.#flush();
    this.#inner.deleteSlot(slot);
    this.#forget(key);
    return true;
  }

  clear() {
    this.#flush();
    this.#keylessCount = 0;
    this.#inner.clear();
    this.#slots.clear();
    this.#values = [];
    this.#keys = [];
  }

  /** Entries held (expired ones not yet noticed included). */
  get size() {
    return this.#slots.size;
  }

  /** Live keys, most recently used first. */
  keys() {
    this.#flush();
    const slots = this.#inner.liveSlots();
    const keys = new Array(slots.length);
    for (let i = 0; i < slots.length; i++) keys[i] = this.#keys[slots[i]];
    return keys[Symbol.iterator]();
  }

  [Symbol.iterator]() {
    return this.keys();
  }

  /**
   * Removes `key`, every key below it and every entry tagged with them; with an engine attached,
   * also every key of the cascade set. Returns the removed keys.
   */
  invalidate(key) {
    requireKey(key, "the key");
    const set = this.#engine?._cascadeKey(key);
    this.#sync();
    if (set === undefined) return this.#removed(call(() => this.#inner.invalidate(key)));
    return this.#invalidateLists(set.keys, set.patterns);
  }

  /**
   * Removes exactly what a cascade set names: its keys (with everything below them), its patterns,
   * and the entries tagged with them. Use it with `engine.cascade(change)` when the change carries
   * data, which makes the set exact where `invalidate(key)` alone would widen foreign keys to `*`.
   */
  invalidateSet(set) {
    if (set === null || typeof set !== "object" || !Array.isArray(set.keys)) {
      throw codedError("INVALID_ARGUMENT", "invalidateSet takes a cascade set { keys, patterns }");
    }
    this.#sync();
    return this.#invalidateLists(set.keys, Array.isArray(set.patterns) ? set.patterns : []);
  }

  /** Removes `keys` and `patterns` (after `#sync`); returns the removed keys. */
  #invalidateLists(keys, patterns) {
    const inner = this.#inner;
    if (this.#writeRows(keys, patterns)) return this.#removed(call(() => inner.invalidateRows(keys.length, patterns.length)));
    return this.#removed(call(() => inner.invalidateSet(toJson(keys, "keys"), toJson(patterns, "patterns"))));
  }

  /**
   * Writes `keys` then `patterns` where `invalidateRows` reads them (the rows and text `#provide`
   * uses, free once `#sync` ran): whether they fit and are all ASCII strings. Otherwise nothing
   * is read, and the set crosses as JSON (which also says what is wrong with it).
   */
  #writeRows(keys, patterns) {
    if (keys.length + patterns.length > PROVIDE_ROWS) return false;
    this.#provideBuffers();
    const u8 = u8Memory();
    const u32 = u32Memory();
    const rows = this.#provideSlots >>> 2;
    let at = this.#provideText;
    let row = 0;
    for (const list of [keys, patterns]) {
      for (let i = 0; i < list.length; i++) {
        const text = list[i];
        if (typeof text !== "string" || at + text.length > this.#provideText + PROVIDE_TEXT) return false;
        for (let j = 0; j < text.length; j++) {
          const c = text.charCodeAt(j);
          if (c > 0x7f) return false;
          u8[at + j] = c;
        }
        u32[rows + 2 * row + 1] = text.length;
        at += text.length;
        row++;
      }
    }
    return true;
  }

  /** `invalidate` for several keys as one step. */
  invalidateBatch(keys) {
    if (!Array.isArray(keys) || !keys.every((k) => typeof k === "string")) {
      throw codedError("INVALID_ARGUMENT", "invalidateBatch takes an array of keys");
    }
    keys.forEach((k) => requireKey(k, "a key"));
    const all = new Set(keys);
    const patterns = new Set();
    for (const key of keys) {
      const set = this.#engine?._cascadeKey(key);
      set?.keys.forEach((k) => all.add(k));
      set?.patterns.forEach((p) => patterns.add(p));
    }
    this.#sync();
    return this.#invalidateLists([...all], [...patterns]);
  }

  /** Removes every key matching a pattern (`post:*:comments`, `feed:*`) and the keys below them. */
  invalidatePattern(pattern) {
    requireKey(pattern, "the pattern");
    this.#sync();
    return this.#removed(call(() => this.#inner.invalidatePattern(pattern)));
  }

  /** Removes the field at a dotted path from the cached values of a key or pattern; returns the keys changed. */
  invalidateField(keyOrPattern, path) {
    requireKey(keyOrPattern, "the key or pattern");
    requireString(path, "the field path");
    this.#sync();
    return JSON.parse(call(() => this.#inner.invalidateField(keyOrPattern, path, this.#values)));
  }

  /** Schedules `invalidate(key)` after `delayMs`; the same key scheduled twice runs once. Run with flushDue. */
  invalidateLazy(key, delayMs) {
    requireKey(key, "the key");
    if (typeof delayMs !== "number") throw codedError("INVALID_OPTIONS", "delayMs must be a number");
    call(() => this.#inner.invalidateLazy(key, delayMs));
  }

  /** Runs the lazy invalidations due at `now` (ms, default the cache clock's now); returns the removed keys. */
  flushDue(now = Date.now()) {
    // NaN would compare as "everything is due"; a time is required to be a real one.
    if (!Number.isFinite(now)) throw codedError("INVALID_ARGUMENT", "flushDue takes a finite time in ms");
    this.#sync();
    return this.#removed(this.#inner.flushDue(now));
  }

  /** A token for a read of `key`; pass it to `set` to refuse the write if `key` was invalidated since. */
  beginRead(key) {
    return this.#inner.beginRead(requireKey(key, "the key"));
  }

  /** Hits, misses, sets, evictions, expirations, invalidations, entries, bytes. */
  stats() {
    this.#flush();
    return JSON.parse(this.#inner.stats());
  }

  /**
   * Releases the cache's wasm memory and drops its values now, rather than when the garbage
   * collector finalizes the cache. Every later call on the cache throws `USE_AFTER_FREE`.
   * Calling `free()` again does nothing.
   */
  free() {
    if (this.#freed) return;
    this.#freed = true;
    const inner = this.#inner;
    this.#inner = freedInner("LruCache");
    // The hot paths start from the key map: this one throws on every use.
    const fail = () => {
      throw useAfterFree("LruCache");
    };
    this.#slots = { get: fail, has: fail, set: fail, delete: fail, clear: fail, get size() { return fail(); } };
    this.#values = [];
    this.#keys = [];
    this.#pendingCount = 0;
    this.#pendingSets = false;
    this.#misses = 0;
    this.#keylessCount = 0;
    this.#provideSlots = 0;
    this.#provideText = 0;
    this.#engine?._detach(this);
    inner.free();
  }

  /** @internal */
  _inner() {
    if (this.#freed) throw useAfterFree("LruCache");
    this.#sync();
    return this.#inner;
  }
}
