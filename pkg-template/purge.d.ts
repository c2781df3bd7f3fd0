// Types for cascade-edge's edge purge helpers (purge.js).

/** The part of a CascadeSet the purge helpers read; a full CascadeSet is accepted as is. */
export interface PurgeableSet {
  /** Exact keys; each also covers every key below it. */
  readonly keys?: readonly string[];
  /** Keys with `*` segments. */
  readonly patterns?: readonly string[];
  /** The set rendered as CDN tags / surrogate keys. */
  readonly tags?: readonly string[];
}

export interface PurgeFailure {
  /** The key, pattern, tag, prefix or URL that was not purged. */
  item: string;
  /** Why: the error message, HTTP status and API error text where there was one. */
  error: string;
}

export interface PurgeResult<C = never> {
  /** Items whose purge succeeded. */
  purged: string[];
  /** Items that were not purged, with the reason. Never silently dropped. */
  failed: PurgeFailure[];
  /** Present when an operation budget ran out: pass it back as `opts.continuation`. */
  continuation?: C;
}

// ---------------------------------------------------------------------------------------------
// Workers KV
// ---------------------------------------------------------------------------------------------

export interface KvListOptions {
  prefix: string;
  limit: number;
  cursor?: string;
}

export interface KvListResult {
  keys: ReadonlyArray<{ readonly name: string }>;
  list_complete: boolean;
  cursor?: string;
}

/** The subset of a Workers `KVNamespace` that purgeKv uses. */
export interface KvNamespaceLike {
  list(options: KvListOptions): Promise<KvListResult>;
  delete(key: string): Promise<unknown>;
}

/** Remaining KV work; plain JSON, safe to store (e.g. in a Queue message) and resume later. */
export interface KvContinuation {
  v: 1;
  backend: "kv";
  delimiter: string;
  /** Keys found or planned but not yet deleted. */
  deletes: string[];
  /** Listings not finished; `cursor` is where the next page starts (null: from the beginning). */
  lists: Array<{ prefix: string; matchers: string[]; cursor: string | null }>;
}

export interface PurgeKvOptions {
  /** Segment delimiter. Default ":". */
  delimiter?: string;
  /** Budget of list + delete operations for this call (Workers KV: 1000 per invocation). Default 1000. */
  maxOperations?: number;
  /** Keys per list page, 1..1000. Default 1000. */
  listLimit?: number;
  /** Concurrent deletes. Default 6. */
  concurrency?: number;
  /** Resume from a previous call's continuation (the set argument is then ignored). */
  continuation?: KvContinuation;
}

export function purgeKv(
  namespace: KvNamespaceLike,
  set: PurgeableSet,
  opts?: PurgeKvOptions,
): Promise<PurgeResult<KvContinuation>>;

/** True when `pattern` (a key or a key pattern) covers `key`: equal to a match or below one. */
export function keyCovers(pattern: string, key: string, delimiter?: string): boolean;

// ---------------------------------------------------------------------------------------------
// Cache API
// ---------------------------------------------------------------------------------------------

/** The subset of a Workers `Cache` that purgeCache uses. */
export interface CacheLike {
  delete(request: string): Promise<boolean>;
}

export type KeyToUrls = (keyOrPattern: string) => string | readonly string[] | null | undefined;

export interface CacheContinuation {
  v: 1;
  backend: "cache";
  urls: string[];
}

export interface PurgeCacheOptions {
  /** The URLs cached for a key or pattern. Required. */
  keyToUrls: KeyToUrls;
  /** Budget of cache.delete calls for this call. Default 1000. */
  maxOperations?: number;
  /** Concurrent deletes. Default 6. */
  concurrency?: number;
  continuation?: CacheContinuation;
}

export interface CachePurgeResult extends PurgeResult<CacheContinuation> {
  /** URLs for which cache.delete resolved false: nothing was cached there (not a failure). */
  notFound: string[];
}

export function purgeCache(cache: CacheLike, set: PurgeableSet, opts: PurgeCacheOptions): Promise<CachePurgeResult>;

// ---------------------------------------------------------------------------------------------
// HTTP (Cloudflare, Fastly)
// ---------------------------------------------------------------------------------------------

export interface FetchInitLike {
  method: string;
  headers: Record<string, string>;
  body: string;
  signal: AbortSignal;
}

export interface FetchResponseLike {
  readonly status: number;
  readonly headers: { get(name: string): string | null };
  text(): Promise<string>;
}

/** `globalThis.fetch` satisfies this. */
export type FetchLike = (url: string, init: FetchInitLike) => Promise<FetchResponseLike>;

export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export interface TokenBucket {
  readonly capacity: number;
  readonly refillPerSecond: number;
  /** Take one token, sleeping on `clock` until one is available; resolves to the ms waited. */
  take(clock: Clock): Promise<number>;
}

export interface RateLimitSpec {
  /** Calls that may burst. */
  capacity: number;
  /** Sustained calls per second. */
  refillPerSecond: number;
}

export function createTokenBucket(spec: RateLimitSpec): TokenBucket;

export interface HttpPurgeOptions {
  token: string;
  /** Default `globalThis.fetch`. */
  fetch?: FetchLike;
  apiBase?: string;
  /** Retries after the first attempt, for 408/429/5xx, network errors and timeouts. Default 5. */
  maxRetries?: number;
  /** Backoff base: attempt n sleeps random() * min(maxDelayMs, baseDelayMs * 2^n). Default 500. */
  baseDelayMs?: number;
  /** Backoff cap. Default 30000. */
  maxDelayMs?: number;
  /** Retry-After values above this fail the batch instead of sleeping. Default 60000. */
  maxRetryAfterMs?: number;
  /** Per-attempt timeout (request and body). Default 10000. */
  timeoutMs?: number;
  /** Pacing: a spec, a shared bucket, or false for none. */
  rateLimit?: RateLimitSpec | TokenBucket | false;
  /** Injectable for tests. Default: a setTimeout sleep. */
  sleep?: (ms: number) => Promise<void>;
  /** Injectable for tests. Default Math.random. */
  random?: () => number;
  /** Injectable for tests. Default Date.now. */
  now?: () => number;
  /** Items per call. Defaults: 100 (Cloudflare), 256 (Fastly). */
  batchSize?: number;
}

export type CloudflarePlan = "free" | "pro" | "business" | "enterprise";

export interface CloudflarePurgeOptions extends HttpPurgeOptions {
  zoneId: string;
  /** Selects the token bucket (ignored when rateLimit is given). Default "enterprise". */
  plan?: CloudflarePlan;
  /** Map keys/patterns to URL prefixes (e.g. "example.com/users/1") to also purge by prefix. */
  keyToPrefix?: (keyOrPattern: string) => string | readonly string[] | null | undefined;
}

export function purgeCloudflare(config: CloudflarePurgeOptions, set: PurgeableSet): Promise<PurgeResult>;

export interface FastlyPurgeOptions extends HttpPurgeOptions {
  serviceId: string;
  /** Soft purge (mark stale). Default false. */
  soft?: boolean;
}

export function purgeFastly(
  config: FastlyPurgeOptions,
  set: PurgeableSet,
  opts?: { soft?: boolean },
): Promise<PurgeResult>;

/** Retry-After (delta-seconds or HTTP date) in ms, or null. */
export function parseRetryAfter(value: string | null | undefined, nowMs?: number): number | null;

export declare const CLOUDFLARE_MAX_ITEMS_PER_CALL: 100;
export declare const FASTLY_MAX_KEYS_PER_CALL: 256;
export declare const CLOUDFLARE_PLAN_LIMITS: Readonly<Record<CloudflarePlan, Readonly<RateLimitSpec>>>;

// ---------------------------------------------------------------------------------------------
// Planner
// ---------------------------------------------------------------------------------------------

export interface KvPlan {
  backend: "kv";
  delimiter: string;
  /** Exact keys deleted directly. */
  deletes: string[];
  /** Listings; each listed name is deleted when one of `matchers` covers it. Disjoint prefixes. */
  lists: Array<{ prefix: string; matchers: string[] }>;
  /** deletes + one page per listing: the least the purge will spend. */
  minOperations: number;
  failed: PurgeFailure[];
}

export interface CachePlan {
  backend: "cache";
  urls: Array<{ url: string; items: string[] }>;
  failed: PurgeFailure[];
}

export interface CloudflarePlanResult {
  backend: "cloudflare";
  batches: Array<{ kind: "tags" | "prefixes"; items: string[] }>;
  failed: PurgeFailure[];
}

export interface FastlyPlan {
  backend: "fastly";
  batches: Array<{ kind: "surrogate_keys"; items: string[] }>;
  failed: PurgeFailure[];
}

export function planPurge(set: PurgeableSet, backend: "kv", opts?: { delimiter?: string }): KvPlan;
export function planPurge(set: PurgeableSet, backend: "cache", opts: { keyToUrls: KeyToUrls }): CachePlan;
export function planPurge(
  set: PurgeableSet,
  backend: "cloudflare",
  opts?: { batchSize?: number; keyToPrefix?: CloudflarePurgeOptions["keyToPrefix"] },
): CloudflarePlanResult;
export function planPurge(set: PurgeableSet, backend: "fastly", opts?: { batchSize?: number }): FastlyPlan;
