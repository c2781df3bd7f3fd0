// Edge purge helpers for cascade-edge.
//
// Plain ES module, zero dependencies: it must run unchanged in Cloudflare Workers (workerd), Node and
// browsers, next to the wasm core. Everything takes a CascadeSet ({ keys, patterns, tags, ... }) and
// returns { purged, failed, continuation? }: a purge that could not be done is always reported in
// `failed`, never dropped.
//
// Key semantics (SPEC §1): a key is segments joined by a delimiter; purging K purges K and every key
// below it (K + delimiter + ...), never a sibling that merely shares characters (user:1 vs user:10).
// A `*` segment in a pattern matches exactly one segment; a trailing `*` one or more; keys below a
// match are covered too. Ids are percent-encoded by the core, so a literal delimiter or `*` never
// appears inside a segment and plain string splitting is exact.

// ---------------------------------------------------------------------------------------------
// Documented limits (where each default comes from)
// ---------------------------------------------------------------------------------------------

/** Cloudflare: purge by tag/prefix/hostname accepts at most 100 operations per request on every plan
 * (developers.cloudflare.com/cache/how-to/purge-cache, "Purge limits"). */
export const CLOUDFLARE_MAX_ITEMS_PER_CALL = 100;

/** Fastly: "Up to 256 surrogate keys can be purged in one batch request" (Fastly API reference,
 * POST /service/{service_id}/purge, bulk purge by surrogate key). */
export const FASTLY_MAX_KEYS_PER_CALL = 256;

/** Cloudflare purge rate limits per account for tags, prefixes, hostnames (same docs page): a token
 * bucket per plan. Free: 5 requests/minute, bucket 25; Pro: 5/s, 25; Business: 10/s, 50;
 * Enterprise: 50/s, 500. */
export const CLOUDFLARE_PLAN_LIMITS = Object.freeze({
  free: Object.freeze({ capacity: 25, refillPerSecond: 5 / 60 }),
  pro: Object.freeze({ capacity: 25, refillPerSecond: 5 }),
  business: Object.freeze({ capacity: 50, refillPerSecond: 10 }),
  enterprise: Object.freeze({ capacity: 500, refillPerSecond: 50 }),
});

/** Workers KV: 1,000 operations per Worker invocation (developers.cloudflare.com/kv/platform/limits),
 * and list() returns at most 1,000 keys per page (kv/api/list-keys). */
const KV_DEFAULT_MAX_OPERATIONS = 1000;
const KV_MAX_LIST_LIMIT = 1000;

/** Workers allow 6 simultaneous outgoing connections per request (workers/platform/limits); more
 * concurrent deletes would only queue, so 6 is the default fan-out for KV and Cache API deletes. */
const DEFAULT_CONCURRENCY = 6;

const CONTINUATION_VERSION = 1;

// ---------------------------------------------------------------------------------------------
// Input validation and key helpers
// ---------------------------------------------------------------------------------------------

function assertDelimiter(delimiter) {
  if (typeof delimiter !== "string" || delimiter.length === 0) {
    throw new TypeError(`cascade-edge purge: delimiter must be a non-empty string, got ${describe(delimiter)}`);
  }
  if (delimiter.includes("*")) {
    throw new TypeError("cascade-edge purge: delimiter must not contain '*' (it is the wildcard segment)");
  }
}

function describe(value) {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value === "string" ? JSON.stringify(value) : typeof value;
}

function stringList(set, field) {
  const value = set[field];
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) {
    throw new TypeError(`cascade-edge purge: set.${field} must be an array of strings, got ${describe(value)}`);
  }
  for (let i = 0; i < value.length; i++) {
    if (typeof value[i] !== "string") {
      throw new TypeError(`cascade-edge purge: set.${field}[${i}] must be a string, got ${describe(value[i])}`);
    }
  }
  return value;
}

// A malformed set is a programming error, not a partial purge: throwing is the loud option.
function readSet(set) {
  if (set === null || typeof set !== "object" || Array.isArray(set)) {
    throw new TypeError(`cascade-edge purge: expected a CascadeSet object, got ${describe(set)}`);
  }
  return { keys: stringList(set, "keys"), patterns: stringList(set, "patterns"), tags: stringList(set, "tags") };
}

function dedupe(items) {
  return [...new Set(items)];
}

function isWildcard(item, delimiter) {
  return item.split(delimiter).includes("*");
}

/**
 * Does `pattern` (a key, or a key pattern with `*` segments) cover `key`?
 * Covered means: the key equals a match of the pattern or lies below one. An inner `*` takes exactly
 * one segment; a trailing `*` needs at least one, and anything deeper is "below" — so both reduce to
 * "the key has at least as many segments and every non-`*` segment is equal". Segment-aware:
 * keyCovers("user:1", "user:10") is false.
 */
export function keyCovers(pattern, key, delimiter = ":") {
  if (typeof pattern !== "string" || typeof key !== "string") return false;
  assertDelimiter(delimiter);
  const p = pattern.split(delimiter);
  const k = key.split(delimiter);
  if (k.length < p.length) return false;
  for (let i = 0; i < p.length; i++) {
    if (p[i] !== "*" && p[i] !== k[i]) return false;
  }
  return true;
}

// a subsumes b when everything b covers is covered by a; used to drop redundant work
// (`user:1:posts` beside `user:1` costs nothing extra in KV: user:1's listing already finds it).
function subsumes(a, b, delimiter) {
  const sa = a.split(delimiter);
  const sb = b.split(delimiter);
  if (sb.length < sa.length) return false;
  for (let i = 0; i < sa.length; i++) {
    if (sa[i] === "*") continue;
    if (sb[i] === "*" || sb[i] !== sa[i]) return false;
  }
  return true;
}

// The literal prefix a KV listing must scan: for a key K, K + delimiter (K itself is deleted
// directly); for a pattern, the literal segments before its first `*`, plus the delimiter.
function listPrefixOf(item, delimiter) {
  const segs = item.split(delimiter);
  const star = segs.indexOf("*");
  if (star === -1) return item + delimiter;
  if (star === 0) return "";
  return segs.slice(0, star).join(delimiter) + delimiter;
}

function chunk(items, size) {
  const out = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

function positiveInt(name, value, { max = Number.MAX_SAFE_INTEGER } = {}) {
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw new RangeError(`cascade-edge purge: ${name} must be an integer in 1..${max}, got ${describe(value)}${typeof value === "number" ? ` (${value})` : ""}`);
  }
  return value;
}

// Infinity is allowed: a Node script or a Durable Object has no per-invocation operation limit.
function budget(value) {
  if (value === Infinity) return value;
  return positiveInt("maxOperations", value);
}

function errorMessage(err) {
  if (err instanceof Error) {
    const cause = err.cause instanceof Error ? err.cause.code || err.cause.message : undefined;
    return cause && !err.message.includes(cause) ? `${err.message} (${cause})` : err.message;
  }
  return String(err);
}

// User mapping callbacks may return one string, a list, or nothing.
function mapItem(fn, item, what) {
  const out = fn(item);
  if (out === undefined || out === null) return [];
  const list = typeof out === "string" ? [out] : out;
  if (!Array.isArray(list) || list.some((u) => typeof u !== "string")) {
    throw new TypeError(`${what}(${JSON.stringify(item)}) must return a string, an array of strings, or null`);
  }
  return list;
}

// ---------------------------------------------------------------------------------------------
// Planner
// ---------------------------------------------------------------------------------------------

function planKv(set, opts) {
  const delimiter = opts.delimiter ?? ":";
  assertDelimiter(delimiter);
  const failed = [];
  // Keys first, then patterns: the order the set gives, deduplicated. A `*` segment makes an item a
  // pattern wherever it was listed (a literal `*` can never be a segment: ids are encoded).
  const items = [];
  for (const item of dedupe([...set.keys, ...set.patterns])) {
    if (item.length === 0) failed.push({ item, error: "empty key: nothing to purge (refusing to list the whole namespace)" });
    else items.push(item);
  }
  const exact = new Set(items.filter((i) => !isWildcard(i, delimiter)));
  const wild = items.filter((i) => isWildcard(i, delimiter));
  const kept = items.filter((b) => {
    // Subsumed by an exact key? Look up its proper segment-prefixes: O(segments), not O(n).
    const segs = b.split(delimiter);
    for (let n = 1; n < segs.length; n++) {
      if (segs.slice(0, n).includes("*")) break;
      if (exact.has(segs.slice(0, n).join(delimiter))) return false;
    }
    // Subsumed by a pattern (patterns are few: this stays cheap).
    return !wild.some((a) => a !== b && subsumes(a, b, delimiter));
  });

  const deletes = kept.filter((i) => !isWildcard(i, delimiter));
  // One listing per literal prefix; a listing whose prefix lies inside another listing's prefix
  // is folded into the outer one (it would only re-read keys the outer listing reads anyway), so
  // the remaining listings are disjoint and no key is found twice.
  const byPrefix = new Map();
  for (const item of kept) {
    const prefix = listPrefixOf(item, delimiter);
    if (!byPrefix.has(prefix)) byPrefix.set(prefix, []);
    byPrefix.get(prefix).push(item);
  }
  const outerOf = (prefix) => {
    if (prefix !== "" && byPrefix.has("")) return "";
    const segs = prefix.slice(0, -delimiter.length).split(delimiter);
    for (let n = 1; n < segs.length; n++) {
      const candidate = segs.slice(0, n).join(delimiter) + delimiter;
      if (byPrefix.has(candidate)) return candidate;
    }
    return prefix;
  };
  const lists = [];
  const listIndex = new Map();
  for (const [prefix, matchers] of byPrefix) {
    const outer = outerOf(prefix);
    if (!listIndex.has(outer)) {
      listIndex.set(outer, lists.length);
      lists.push({ prefix: outer, matchers: [] });
    }
    lists[listIndex.get(outer)].matchers.push(...matchers);
  }
  return {
    backend: "kv",
    delimiter,
    deletes,
    lists,
    // Lower bound for a dry run: each listing costs at least one page; listed keys add one op each.
    minOperations: deletes.length + lists.length,
    failed,
  };
}

function planCache(set, opts) {
  if (typeof opts.keyToUrls !== "function") {
    throw new TypeError("cascade-edge purgeCache/planPurge('cache'): opts.keyToUrls(keyOrPattern) => string[] is required");
  }
  const failed = [];
  const urls = [];
  const index = new Map();
  for (const item of dedupe([...set.keys, ...set.patterns])) {
    let mapped;
    try {
      mapped = mapItem(opts.keyToUrls, item, "keyToUrls");
    } catch (err) {
      failed.push({ item, error: `keyToUrls failed: ${errorMessage(err)}` });
      continue;
    }
    for (const url of mapped) {
      if (!index.has(url)) {
        index.set(url, urls.length);
        urls.push({ url, items: [] });
      }
      urls[index.get(url)].items.push(item);
    }
  }
  return { backend: "cache", urls, failed };
}

function planCloudflare(set, opts) {
  const batchSize = positiveInt("batchSize", opts.batchSize ?? CLOUDFLARE_MAX_ITEMS_PER_CALL);
  const failed = [];
  const batches = chunk(dedupe(set.tags), batchSize).map((items) => ({ kind: "tags", items }));
  if (opts.keyToPrefix !== undefined) {
    if (typeof opts.keyToPrefix !== "function") throw new TypeError("cascade-edge purgeCloudflare: keyToPrefix must be a function");
    const prefixes = [];
    for (const item of dedupe([...set.keys, ...set.patterns])) {
      try {
        prefixes.push(...mapItem(opts.keyToPrefix, item, "keyToPrefix"));
      } catch (err) {
        failed.push({ item, error: `keyToPrefix failed: ${errorMessage(err)}` });
      }
    }
    // Tags and prefixes go in separate calls: a purge_cache request carries one kind of target.
    batches.push(...chunk(dedupe(prefixes), batchSize).map((items) => ({ kind: "prefixes", items })));
  }
  return { backend: "cloudflare", batches, failed };
}

function planFastly(set, opts) {
  const batchSize = positiveInt("batchSize", opts.batchSize ?? FASTLY_MAX_KEYS_PER_CALL);
  const batches = chunk(dedupe(set.tags), batchSize).map((items) => ({ kind: "surrogate_keys", items }));
  return { backend: "fastly", batches, failed: [] };
}

/**
 * Turn one CascadeSet into the work a backend would do, without doing it (a dry run). The purge
 * functions execute exactly this plan, so what you see here is what they send.
 *  - "kv": exact deletes and prefix listings (with the keys/patterns each listing filters for);
 *  - "cache": URLs to delete (via opts.keyToUrls);
 *  - "cloudflare": batches of ≤ 100 tags, then batches of prefixes (via opts.keyToPrefix);
 *  - "fastly": batches of ≤ 256 surrogate keys.
 * Items that cannot be planned (an empty key, a throwing mapper) are in the plan's `failed`.
 */
export function planPurge(set, backend, opts = {}) {
  const s = readSet(set);
  const o = opts ?? {};
  switch (backend) {
    case "kv":
      return planKv(s, o);
    case "cache":
      return planCache(s, o);
    case "cloudflare":
      return planCloudflare(s, o);
    case "fastly":
      return planFastly(s, o);
    default:
      throw new TypeError(`cascade-edge planPurge: unknown backend ${describe(backend)} (expected "kv", "cache", "cloudflare" or "fastly")`);
  }
}

// ---------------------------------------------------------------------------------------------
// Budgeted runner for KV and the Cache API
// ---------------------------------------------------------------------------------------------

function checkContinuation(cont, backend) {
  if (cont === null || typeof cont !== "object" || cont.v !== CONTINUATION_VERSION || cont.backend !== backend) {
    throw new TypeError(`cascade-edge purge: opts.continuation is not a ${backend} continuation returned by this version`);
  }
  return JSON.parse(JSON.stringify(cont)); // never mutate the caller's object
}

async function settleAll(tasks) {
  return Promise.allSettled(tasks.map((t) => Promise.resolve().then(t)));
}

/**
 * Purge a CascadeSet from a Workers KV namespace.
 *
 * Each exact key is deleted directly, then its subtree is found with list({ prefix: K + delimiter });
 * patterns list the literal prefix before their first `*`. Listed names are filtered with keyCovers,
 * so `user:1` never deletes `user:10`. Every list page and every delete counts against
 * maxOperations; when the budget is spent the remaining work (pending deletes and the exact list
 * cursor) comes back as `continuation`, a JSON object to pass as opts.continuation in a later
 * invocation (the set argument is then ignored: the continuation carries all remaining work).
 *
 * KV's delete() does not say whether a key existed, so an exact key is reported in `purged` whenever
 * its delete succeeded. A failing delete reports that key in `failed`; a failing list reports every
 * key/pattern whose expansion it was serving (feed those back as a new set to retry).
 * KV listings are eventually consistent: a key written moments ago elsewhere may not be listed yet.
 */
export async function purgeKv(namespace, set, opts = {}) {
  if (!namespace || typeof namespace.list !== "function" || typeof namespace.delete !== "function") {
    throw new TypeError("cascade-edge purgeKv: namespace must be a KV namespace (with list() and delete())");
  }
  const o = opts ?? {};
  const maxOperations = budget(o.maxOperations ?? KV_DEFAULT_MAX_OPERATIONS);
  const listLimit = positiveInt("listLimit", o.listLimit ?? KV_MAX_LIST_LIMIT, { max: KV_MAX_LIST_LIMIT });
  const concurrency = positiveInt("concurrency", o.concurrency ?? DEFAULT_CONCURRENCY);

  const purged = [];
  const failed = [];
  let state;
  if (o.continuation !== undefined) {
    state = checkContinuation(o.continuation, "kv");
  } else {
    const plan = planKv(readSet(set), { delimiter: o.delimiter });
    failed.push(...plan.failed);
    state = {
      v: CONTINUATION_VERSION,
      backend: "kv",
      delimiter: plan.delimiter,
      deletes: plan.deletes,
      lists: plan.lists.map((l) => ({ prefix: l.prefix, matchers: l.matchers, cursor: null })),
    };
  }
  const { delimiter } = state;
  // Keys already queued in this invocation: an eventually consistent listing may return a key
  // again after we deleted it; deleting it twice would waste budget.
  const queued = new Set(state.deletes);

  let ops = 0;
  // Every iteration spends at least one operation, so the loop is bounded by maxOperations.
  while ((state.deletes.length > 0 || state.lists.length > 0) && ops < maxOperations) {
    if (state.deletes.length > 0) {
      const take = Math.min(concurrency, maxOperations - ops, state.deletes.length);
      const batch = state.deletes.splice(0, take);
      ops += batch.length;
      const results = await settleAll(batch.map((key) => () => namespace.delete(key)));
      results.forEach((r, i) => {
        if (r.status === "fulfilled") purged.push(batch[i]);
        else failed.push({ item: batch[i], error: `KV delete failed: ${errorMessage(r.reason)}` });
      });
      continue;
    }
    const list = state.lists[0];
    ops += 1;
    let page;
    try {
      const req = { prefix: list.prefix, limit: listLimit };
      if (list.cursor) req.cursor = list.cursor;
      page = await namespace.list(req);
      if (!page || !Array.isArray(page.keys)) throw new Error("list() returned no keys array");
    } catch (err) {
      state.lists.shift();
      for (const m of list.matchers) {
        failed.push({ item: m, error: `KV list of prefix ${JSON.stringify(list.prefix)} failed: ${errorMessage(err)}` });
      }
      continue;
    }
    for (const { name } of page.keys) {
      if (typeof name !== "string" || queued.has(name)) continue;
      if (list.matchers.some((m) => keyCovers(m, name, delimiter))) {
        queued.add(name);
        state.deletes.push(name);
      }
    }
    // A page can be empty while more remain: only list_complete ends a listing.
    if (page.list_complete) {
      state.lists.shift();
    } else if (typeof page.cursor === "string" && page.cursor.length > 0 && page.cursor !== list.cursor) {
      list.cursor = page.cursor;
    } else {
      // No usable cursor but not complete: following it would loop forever. Say so.
      state.lists.shift();
      for (const m of list.matchers) {
        failed.push({ item: m, error: `KV list of prefix ${JSON.stringify(list.prefix)} stopped: incomplete page without a new cursor` });
      }
    }
  }

  const result = { purged, failed };
  if (state.deletes.length > 0 || state.lists.length > 0) result.continuation = state;
  return result;
}

/**
 * Delete the Workers Cache API entries a CascadeSet maps to. opts.keyToUrls(keyOrPattern) returns
 * the URL(s) cached for that key (patterns included: map them to what you cache, or return []).
 *
 * cache.delete(url) resolves false when nothing was cached under that URL in this data center: that
 * is not a failure (nothing stale remains), so such URLs go to `notFound`, not to `purged` or
 * `failed`. Note the Cache API is per data center: this purges the local colo only.
 * maxOperations (default 1000, each delete is a subrequest) bounds the deletes of one call; the rest
 * comes back as a continuation.
 */
export async function purgeCache(cache, set, opts = {}) {
  if (!cache || typeof cache.delete !== "function") {
    throw new TypeError("cascade-edge purgeCache: cache must be a Cache (with delete())");
  }
  const o = opts ?? {};
  const maxOperations = budget(o.maxOperations ?? KV_DEFAULT_MAX_OPERATIONS);
  const concurrency = positiveInt("concurrency", o.concurrency ?? DEFAULT_CONCURRENCY);
  const purged = [];
  const notFound = [];
  const failed = [];
  let pending;
  if (o.continuation !== undefined) {
    pending = checkContinuation(o.continuation, "cache").urls;
  } else {
    const plan = planCache(readSet(set), o);
    failed.push(...plan.failed);
    pending = plan.urls.map((u) => u.url);
  }
  let ops = 0;
  while (pending.length > 0 && ops < maxOperations) {
    const batch = pending.splice(0, Math.min(concurrency, maxOperations - ops));
    ops += batch.length;
    const results = await settleAll(batch.map((url) => () => cache.delete(url)));
    results.forEach((r, i) => {
      if (r.status === "rejected") failed.push({ item: batch[i], error: `cache.delete failed: ${errorMessage(r.reason)}` });
      else if (r.value === false) notFound.push(batch[i]);
      else purged.push(batch[i]);
    });
  }
  const result = { purged, notFound, failed };
  if (pending.length > 0) result.continuation = { v: CONTINUATION_VERSION, backend: "cache", urls: pending };
  return result;
}

// ---------------------------------------------------------------------------------------------
// HTTP: pacing, retries, timeouts (shared by Cloudflare and Fastly)
// ---------------------------------------------------------------------------------------------

const realSleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// A clock that also advances by every sleep we take. With the real sleep it tracks Date.now(); with
// an injected no-wait sleep (tests) it still moves forward, so the token bucket sees the time it
// believes it waited and paces correctly instead of spinning.
function makeClock(now, sleep) {
  let virtual = now();
  return {
    now() {
      virtual = Math.max(virtual, now());
      return virtual;
    },
    async sleep(ms) {
      if (ms <= 0) return;
      virtual = this.now() + ms;
      await sleep(ms);
    },
  };
}

/**
 * A token bucket: `capacity` calls may burst, then `refillPerSecond` calls per second. Share one
 * bucket across purge calls (opts.rateLimit) to pace them together; the provider's limit is per
 * account, so isolates that purge concurrently can still draw 429s, which the retry policy absorbs.
 */
export function createTokenBucket({ capacity, refillPerSecond }) {
  if (!(capacity >= 1) || !Number.isFinite(capacity)) throw new RangeError("cascade-edge createTokenBucket: capacity must be a finite number ≥ 1");
  if (!(refillPerSecond > 0) || !Number.isFinite(refillPerSecond)) throw new RangeError("cascade-edge createTokenBucket: refillPerSecond must be a finite number > 0");
  let tokens = capacity;
  let last = null;
  return {
    capacity,
    refillPerSecond,
    /** Take one token, sleeping on `clock` until one is available; resolves to the ms waited. */
    async take(clock) {
      const t = clock.now();
      if (last === null) last = t;
      tokens = Math.min(capacity, tokens + (Math.max(0, t - last) * refillPerSecond) / 1000);
      last = Math.max(last, t);
      if (tokens >= 1) {
        tokens -= 1;
        return 0;
      }
      const wait = Math.ceil(((1 - tokens) * 1000) / refillPerSecond);
      await clock.sleep(wait);
      // The token that accrued while we slept is the one we use.
      tokens = 0;
      last = t + wait;
      return wait;
    },
  };
}

function resolveBucket(rateLimit, plan) {
  if (rateLimit === false) return null;
  if (rateLimit && typeof rateLimit.take === "function") return rateLimit;
  if (rateLimit && typeof rateLimit === "object") return createTokenBucket(rateLimit);
  if (plan === undefined) return null;
  const limits = CLOUDFLARE_PLAN_LIMITS[plan];
  if (!limits) throw new TypeError(`cascade-edge purgeCloudflare: unknown plan ${describe(plan)} (expected ${Object.keys(CLOUDFLARE_PLAN_LIMITS).join(", ")})`);
  return createTokenBucket(limits);
}

/** Parse Retry-After (delta-seconds or an HTTP date) into ms; null when absent or unreadable. */
export function parseRetryAfter(value, nowMs = Date.now()) {
  if (typeof value !== "string" || value.trim() === "") return null;
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
  const date = Date.parse(v);
  if (Number.isNaN(date)) return null;
  return Math.max(0, date - nowMs);
}

class TimeoutError extends Error {}

function httpOptions(cfg, name) {
  const fetchFn = cfg.fetch ?? globalThis.fetch;
  if (typeof fetchFn !== "function") throw new TypeError(`cascade-edge ${name}: no fetch available (pass opts.fetch)`);
  const maxRetries = cfg.maxRetries ?? 5;
  if (!Number.isInteger(maxRetries) || maxRetries < 0 || maxRetries > 100) throw new RangeError(`cascade-edge ${name}: maxRetries must be an integer in 0..100`);
  const now = cfg.now ?? Date.now;
  const clock = makeClock(now, cfg.sleep ?? realSleep);
  return {
    fetch: fetchFn,
    maxRetries,
    timeoutMs: positiveInt("timeoutMs", cfg.timeoutMs ?? 10000),
    baseDelayMs: positiveInt("baseDelayMs", cfg.baseDelayMs ?? 500),
    maxDelayMs: positiveInt("maxDelayMs", cfg.maxDelayMs ?? 30000),
    // A Retry-After longer than this is not slept through (a Worker cannot wait minutes); the
    // batch fails with the server's requested delay in the error so the caller can reschedule.
    maxRetryAfterMs: positiveInt("maxRetryAfterMs", cfg.maxRetryAfterMs ?? 60000),
    random: cfg.random ?? Math.random,
    clock,
  };
}

// One attempt: fetch and read the body under a single timeout. Racing the timer (not only aborting)
// also covers fetch implementations that ignore the signal.
async function attemptOnce(http, url, init) {
  const controller = new AbortController();
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(new TimeoutError(`timed out after ${http.timeoutMs}ms`));
    }, http.timeoutMs);
  });
  try {
    return await Promise.race([
      (async () => {
        const res = await http.fetch(url, { ...init, signal: controller.signal });
        const text = await res.text();
        return { status: res.status, headers: res.headers, text };
      })(),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function snippet(text) {
  const t = String(text ?? "").replace(/\s+/g, " ").trim();
  return t.length > 300 ? `${t.slice(0, 300)}…` : t;
}

/**
 * POST with pacing, a per-attempt timeout and bounded retries. Retries 408, 429, 5xx, network
 * errors and timeouts with exponential backoff and full jitter (delay = random() * min(maxDelay,
 * base * 2^attempt)); a Retry-After header replaces the backoff. `interpret(status, text)` returns
 * null for success or { error, retry } for a failure the backend spells differently (Cloudflare's
 * `success: false` on HTTP 200).
 * Resolves { ok: true, attempts } or { ok: false, error, status?, fatal, attempts } — never throws.
 */
async function sendWithRetry(http, bucket, url, init, interpret) {
  let lastError = "not attempted";
  let lastStatus;
  for (let attempt = 0; attempt <= http.maxRetries; attempt++) {
    if (bucket) await bucket.take(http.clock);
    let retryAfterMs = null;
    let retryable;
    try {
      const res = await attemptOnce(http, url, init);
      lastStatus = res.status;
      const verdict = interpret(res.status, res.text);
      if (verdict === null) return { ok: true, attempts: attempt + 1, status: res.status };
      lastError = verdict.error;
      retryable = verdict.retry;
      if (!retryable) {
        return { ok: false, error: lastError, status: res.status, fatal: verdict.fatal === true, attempts: attempt + 1 };
      }
      retryAfterMs = parseRetryAfter(res.headers?.get?.("retry-after") ?? null, http.clock.now());
    } catch (err) {
      lastStatus = undefined;
      lastError = err instanceof TimeoutError ? err.message : `network error: ${errorMessage(err)}`;
      retryable = true;
    }
    if (attempt === http.maxRetries) break;
    let delay;
    if (retryAfterMs !== null) {
      if (retryAfterMs > http.maxRetryAfterMs) {
        return {
          ok: false,
          error: `${lastError}; server asked to retry after ${retryAfterMs}ms, more than maxRetryAfterMs (${http.maxRetryAfterMs}ms)`,
          status: lastStatus,
          fatal: false,
          attempts: attempt + 1,
        };
      }
      delay = retryAfterMs;
    } else {
      delay = Math.floor(http.random() * Math.min(http.maxDelayMs, http.baseDelayMs * 2 ** attempt));
    }
    await http.clock.sleep(delay);
  }
  return { ok: false, error: `${lastError} (gave up after ${http.maxRetries + 1} attempts)`, status: lastStatus, fatal: false, attempts: http.maxRetries + 1 };
}

function httpVerdict(status, text) {
  if (status >= 200 && status < 300) return null;
  const error = `HTTP ${status}${text ? `: ${snippet(text)}` : ""}`;
  const retry = status === 408 || status === 429 || status >= 500;
  // Bad credentials or a wrong zone/service fail every batch the same way: stop sending.
  const fatal = status === 401 || status === 403 || status === 404;
  return { error, retry, fatal };
}

async function runBatches(http, bucket, batches, send) {
  const purged = [];
  const failed = [];
  let fatal = null;
  for (const batch of batches) {
    if (fatal) {
      for (const item of batch.items) failed.push({ item, error: `not sent: an earlier call failed with ${fatal}` });
      continue;
    }
    const r = await send(batch);
    if (r.ok) purged.push(...batch.items);
    else {
      for (const item of batch.items) failed.push({ item, error: r.error });
      if (r.fatal) fatal = r.error;
    }
  }
  return { purged, failed };
}

// The shared HTTP policy, for the purgers in their own modules (purge-varnish.js). Not public API:
// api.js re-exports only the purge functions.
export { readSet, positiveInt, httpOptions, resolveBucket, sendWithRetry, httpVerdict, runBatches };

// ---------------------------------------------------------------------------------------------
// Cloudflare
// ---------------------------------------------------------------------------------------------

function cloudflareVerdict(status, text) {
  const base = httpVerdict(status, text);
  let body = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  const apiErrors =
    body && Array.isArray(body.errors) && body.errors.length > 0
      ? body.errors.map((e) => (e && typeof e === "object" ? `${e.code ?? "?"} ${e.message ?? ""}`.trim() : String(e))).join("; ")
      : null;
  if (base) return apiErrors ? { ...base, error: `HTTP ${status}: ${apiErrors}` } : base;
  // Cloudflare's envelope can report failure on a 2xx; that is not a purge.
  if (!body || body.success !== true) {
    return { error: `Cloudflare API returned success: false${apiErrors ? `: ${apiErrors}` : body ? "" : " (body is not JSON)"}`, retry: false, fatal: false };
  }
  return null;
}

/**
 * Purge Cloudflare's zone cache by the set's tags (and, when keyToPrefix maps keys/patterns to URL
 * prefixes, by prefix). POST {apiBase}/zones/{zoneId}/purge_cache with { tags } or { prefixes },
 * ≤ 100 items per call, paced by the plan's token bucket, retried per sendWithRetry.
 * purged lists the tags/prefixes of calls Cloudflare accepted; every other item is in failed.
 */
export async function purgeCloudflare(config, set) {
  if (!config || typeof config !== "object") throw new TypeError("cascade-edge purgeCloudflare: config object required");
  if (typeof config.zoneId !== "string" || config.zoneId === "") throw new TypeError("cascade-edge purgeCloudflare: zoneId is required");
  if (typeof config.token !== "string" || config.token === "") throw new TypeError("cascade-edge purgeCloudflare: token is required");
  const http = httpOptions(config, "purgeCloudflare");
  const bucket = resolveBucket(config.rateLimit, config.plan ?? "enterprise");
  const plan = planCloudflare(readSet(set), config);
  const apiBase = (config.apiBase ?? "https://api.cloudflare.com/client/v4").replace(/\/+$/, "");
  const url = `${apiBase}/zones/${encodeURIComponent(config.zoneId)}/purge_cache`;
  const result = await runBatches(http, bucket, plan.batches, (batch) =>
    sendWithRetry(
      http,
      bucket,
      url,
      {
        method: "POST",
        headers: { authorization: `Bearer ${config.token}`, "content-type": "application/json", accept: "application/json" },
        body: JSON.stringify({ [batch.kind]: batch.items }),
      },
      cloudflareVerdict,
    ),
  );
  return { purged: result.purged, failed: [...plan.failed, ...result.failed] };
}

// ---------------------------------------------------------------------------------------------
// Fastly
// ---------------------------------------------------------------------------------------------

/**
 * Purge Fastly by surrogate key: POST {apiBase}/service/{serviceId}/purge with
 * { "surrogate_keys": [...] } (≤ 256 per call), header Fastly-Key, and fastly-soft-purge: 1 when
 * soft (marks objects stale instead of removing them). Fastly documents surrogate-key purges as not
 * counted against its API rate limit, so no pacing unless opts.rateLimit is given; 429/5xx are
 * still retried. `soft` may be passed in config or in the third argument (which wins).
 */
export async function purgeFastly(config, set, opts = {}) {
  if (!config || typeof config !== "object") throw new TypeError("cascade-edge purgeFastly: config object required");
  if (typeof config.serviceId !== "string" || config.serviceId === "") throw new TypeError("cascade-edge purgeFastly: serviceId is required");
  if (typeof config.token !== "string" || config.token === "") throw new TypeError("cascade-edge purgeFastly: token is required");
  const soft = (opts ?? {}).soft ?? config.soft ?? false;
  const http = httpOptions(config, "purgeFastly");
  const bucket = resolveBucket(config.rateLimit, undefined);
  const plan = planFastly(readSet(set), config);
  const apiBase = (config.apiBase ?? "https://api.fastly.com").replace(/\/+$/, "");
  const url = `${apiBase}/service/${encodeURIComponent(config.serviceId)}/purge`;
  const headers = { "fastly-key": config.token, "content-type": "application/json", accept: "application/json" };
  if (soft) headers["fastly-soft-purge"] = "1";
  const result = await runBatches(http, bucket, plan.batches, (batch) =>
    sendWithRetry(http, bucket, url, { method: "POST", headers, body: JSON.stringify({ surrogate_keys: batch.items }) }, httpVerdict),
  );
  return { purged: result.purged, failed: [...plan.failed, ...result.failed] };
}
