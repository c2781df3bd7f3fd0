// Types of the cascade-edge package (SPEC §8). Every structured value is a plain JS object.

export {
  planPurge,
  purgeKv,
  purgeCache,
  purgeCloudflare,
  purgeFastly,
  keyCovers,
} from "./purge.js";
export { purgeVarnish } from "./purge-varnish.js";
export {
  signPurgeRequest,
  verifyPurgeRequest,
  createReplayGuard,
  verifyBearer,
  timingSafeEqualText,
  PURGE_TIMESTAMP_HEADER,
  PURGE_SIGNATURE_HEADER,
} from "./purge-auth.js";
export type { RequestLike, PurgeSecret, PurgeSignatureHeaders, ReplayGuard, VerifyPurgeOptions, VerifiedPurgeRequest } from "./purge-auth.js";
export type { VarnishPurgeOptions } from "./purge-varnish.js";
export type {
  PurgeableSet,
  PurgeFailure,
  PurgeResult,
  KvListOptions,
  KvListResult,
  KvNamespaceLike,
  KvContinuation,
  PurgeKvOptions,
  CacheLike,
  KeyToUrls,
  CacheContinuation,
  PurgeCacheOptions,
  CachePurgeResult,
  FetchInitLike,
  FetchResponseLike,
  FetchLike,
  Clock,
  TokenBucket,
  RateLimitSpec,
  HttpPurgeOptions,
  CloudflarePlan,
  CloudflarePurgeOptions,
  FastlyPurgeOptions,
  KvPlan,
  CachePlan,
  CloudflarePlanResult,
  FastlyPlan,
} from "./purge.js";

/** The version of the cascade-edge build. */
export function version(): string;

/** What `init` accepts: where to load the wasm module from, or the module itself. */
export type InitInput =
  | string
  | URL
  | Request
  | Response
  | BufferSource
  | WebAssembly.Module
  | Promise<string | URL | Request | Response | BufferSource | WebAssembly.Module>;

/**
 * Loads the wasm module. Required once in browsers (`await init()`), idempotent, and a no-op in
 * Node and Workers, where the module is ready on import.
 */
export function init(source?: InitInput): Promise<void>;

/** The stable `code` of every error cascade-edge throws. */
export type ErrorCode =
  | "SCHEMA_SYNTAX"
  | "SCHEMA_INVALID"
  | "KEYSPACE_COLLISION"
  | "INVALID_KEY"
  | "INVALID_TEMPLATE"
  | "UNKNOWN_PLACEHOLDER"
  | "UNKNOWN_ENTITY"
  | "INVALID_RULE"
  | "UNKNOWN_RULE"
  | "INVALID_CHANGE"
  | "INVALID_JSON"
  | "INVALID_OPTIONS"
  | "LIMIT_EXCEEDED"
  | "STALE_WRITE"
  | "INVALID_ARGUMENT"
  /** A call on an engine or cache after its `free()`. */
  | "USE_AFTER_FREE"
  /** `CascadeEngine.fromSchema` in the edge build (`cascade-edge/edge`), which loads precompiled rules only. */
  | "UNSUPPORTED"
  /** A call before the wasm is loaded: the browser entry before `await init()`, or a subpath imported without its entry. */
  | "NOT_INITIALIZED"
  /** A bug in cascade-edge (a trap in the wasm); the message says what happened. */
  | "INTERNAL"
  /** verifyPurgeRequest: no timestamp or signature header (status 401). */
  | "UNSIGNED_REQUEST"
  /** verifyPurgeRequest: the signature does not match the body and timestamp (status 401). */
  | "BAD_SIGNATURE"
  /** verifyPurgeRequest: the timestamp is outside the tolerance (status 401). */
  | "STALE_REQUEST"
  /** verifyPurgeRequest: this signature was already accepted within the window (status 401). */
  | "REPLAYED_REQUEST"
  /** verifyPurgeRequest: the body is over `maxBytes` (status 413). */
  | "REQUEST_TOO_LARGE"
  /** verifyPurgeRequest: the replay guard is full; refused rather than risk a replay (status 503). */
  | "REPLAY_CACHE_FULL"
  /** A purge endpoint or API answered with a failure (cascade-edge/pg's httpPurge). */
  | "PURGE_FAILED";

/** What every cascade-edge function throws: an `Error` with a stable `code`. */
export type CascadeError = Error & { code: ErrorCode };

/** A JSON value, as change data and cached values carry. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
/** A JSON object. */
export type JsonObject = { [key: string]: JsonValue };

/** Options of `CascadeEngine.fromSchema` (and the logger of `fromJSON`). */
export interface EngineOptions {
  /** Keyspace overrides by GraphQL type name (`{ BlogPost: "post" }`). */
  keyspaces?: Record<string, string>;
  /** Key fields by type name, when an entity is not keyed by `id` (`{ Product: "sku" }`). */
  keyFields?: Record<string, string | string[]>;
  /**
   * The inverse of a list field, when it is not the one unambiguous pairing
   * (`{ "User.posts": "Post.author", "User.likedPosts": null }`; `null`: no inverse, purged whole).
   */
  inverses?: Record<string, string | null>;
  /** The one-character delimiter between key segments (default `:`). */
  delimiter?: string;
  /** How many levels a cascade may go (0–64, default 3). */
  maxDepth?: number;
  /** The fan-out budget: keys and patterns in one cascade set (default 10000). */
  maxKeys?: number;
  /** Log setup and cascades (to `logger`, or to `console.log` without one). */
  verbose?: boolean;
  /** Receives each log line; given alone, it also enables logging. */
  logger?: (line: string) => void;
}

/** An entity change. `entity` is a keyspace (`user`) or a type name (`User`). */
export interface Change {
  entity: string;
  /**
   * The entity's id. For a composite key (`@key(fields: "orgId number")`), its segment form: each
   * value encoded as a key segment (`encodeSegment`), joined by `,` (`"1,7"`, `"a%2Cb,7"`).
   */
  id: string | number;
  op?: "create" | "update" | "delete";
  /** The changed entity's data; defaults to `after`. */
  data?: JsonObject;
  before?: JsonObject;
  after?: JsonObject;
}

/** A change as `changesFromMutation` returns it: ids are strings, `op` is always set. */
export interface DetectedChange extends Change {
  id: string;
  op: "create" | "update" | "delete";
  /**
   * The entity's object in the response: the response's own object when the response is plain
   * JSON data, a copy (as its JSON) when it holds anything else (a `Date`, `undefined`, …).
   */
  data: JsonObject;
}

/** Where one key of a cascade set came from. */
export interface TraceEntry {
  key: string;
  /** The rule that produced it; null for the changed entity's own key. */
  rule: string | null;
  /** The key whose change produced it; null for the changed entity's own key. */
  from: string | null;
  depth: number;
  /** True when a missing value made a placeholder `*`. */
  coarse: boolean;
}

/** Everything to purge after a change. */
export interface CascadeSet {
  /** Exact keys (each implies everything below it); the changed entity's key first. */
  keys: string[];
  /** Keys with wildcards. */
  patterns: string[];
  /** The same set as flat CDN tags. */
  tags: string[];
  trace: TraceEntry[];
  /** The deepest level reached. */
  depth: number;
  /** True when a depth or fan-out budget cut the cascade short. */
  truncated: boolean;
}

/** A declarative condition on the changed data. */
export type Condition =
  | { field: string; eq: JsonValue }
  | { field: string; ne: JsonValue }
  | { field: string; in: JsonValue[] }
  | { field: string; exists: boolean }
  | { field: string; gt: number | string }
  | { field: string; lt: number | string }
  | { all: Condition[] }
  | { any: Condition[] }
  | { not: Condition }
  | { changed: string[] };

/** A manual rule, as `addRule` takes it. */
export interface RuleInput {
  /** Keyspace or type name. */
  entity: string;
  /** Key templates such as `user:{author_id}:feed`. */
  cascadeTo: string[];
  /** Fires only when it holds: declarative, or a JS predicate on the change data. */
  when?: Condition | ((data: JsonObject) => boolean);
  /** Fires only when one of these fields changed between `before` and `after`. */
  onFields?: string[];
  /** How far the cascade continues from keys this rule produced. */
  maxDepth?: number;
}

/** A rule, as `rules()` lists it. */
export interface Rule {
  id: string;
  /** The keyspace. */
  entity: string;
  cascadeTo: string[];
  /** A declarative condition, or `{ external: n }` for a JS predicate. */
  when?: Condition | { external: number };
  onFields?: string[];
  maxDepth?: number;
  /** True when a template can only be rendered with a wildcard. */
  coarse: boolean;
  source: "auto" | "manual";
  /** For auto rules, the schema field it comes from (`User.posts`). */
  relationship?: string;
}

/** A relationship detected in the schema. */
export interface Relationship {
  holder: string;
  field: string;
  target: string;
  cardinality: "one" | "many";
  /** Types walked through (connections, edges, payloads). */
  via: string[];
  /** Fields of the target pointing back at the holder. */
  inverse: string[];
}

/** An entity type of the schema. */
export interface Entity {
  type: string;
  keyspace: string;
  keyFields: string[];
}

/** An entity type as `engine.schema` holds it. */
export interface SchemaEntity {
  readonly type: string;
  readonly keyspace: string;
  readonly keyFields: readonly string[];
  /** Its to-many relationship fields (`posts` of `User`), whose list keys are `user:{id}:posts`. */
  readonly toMany: readonly string[];
}

/** What JS reads of an engine's schema (`engine.schema`): built once per engine, read-only. */
export interface EngineSchema {
  /** The delimiter between key segments. */
  readonly delimiter: string;
  /** The entity types, in `entities()` order. */
  readonly entities: readonly SchemaEntity[];
  readonly byType: ReadonlyMap<string, SchemaEntity>;
  readonly byKeyspace: ReadonlyMap<string, SchemaEntity>;
  /** The entity a change's `entity` names: a keyspace, else a type name. */
  entity(name: string): SchemaEntity | undefined;
}

/** Counters and timings of an engine (SPEC §7). */
export interface EngineStats {
  invalidations: number;
  cascades: number;
  keys: number;
  averageDepth: number;
  /** Mean time per cascade call. Without a logger, one data-less `cascade({ entity, id })` in 16 is timed and stands for the others. */
  averageTimeMs: number;
  /** Most frequent edges, such as `user -> post`. */
  topEdges: { edge: string; count: number }[];
  keysPerBackend: { backend: string; count: number }[];
}

/** A finding of `lint()`. */
export interface Lint {
  rule: string;
  code: "OVER_BROAD" | "NEVER_FIRES" | "COARSE" | "REDUNDANT";
  message: string;
}

export type GraphFormat = "tree" | "dot" | "mermaid" | "json";

/** The rule graph as `graph({ format: "json" })` returns it. */
export interface RuleGraph {
  nodes: string[];
  edges: { from: string; to: string; template: string; rule: string; cached?: number }[];
}

export interface GraphOptions<F extends GraphFormat = GraphFormat> {
  format?: F;
  /** Count, per edge, the cached keys it reaches. */
  cache?: LruCache;
}

/** Precompiled rules, format version 1 (`toJSON({ version: 1 })`): every rule spelled out. */
export interface CompiledRulesV1 {
  format: "cascade-edge/rules";
  version: 1;
  delimiter: string;
  maxDepth: number;
  maxKeys: number;
  entities: (Entity & { fields: string[] })[];
  relationships: Relationship[];
  rules: Rule[];
}

/** Precompiled rules (`toJSON()`, format version 2), loaded at the edge with `CascadeEngine.fromJSON`. */
export interface CompiledRules {
  format: "cascade-edge/rules";
  version: 2;
  delimiter: string;
  maxDepth: number;
  maxKeys: number;
  /** `[type, keyspace, keyFields, fields]`; a list is one space-joined string, or an array. */
  entities: [string, string, string | string[], string | string[]][];
  /** `[holder, field, target, "one" | "many", via, inverse]`. */
  relationships: [string, string, string, "one" | "many", string | string[], string | string[]][];
  /** Whether the auto rules are derived again on load (they are then not in `rules`). */
  derived: boolean;
  rules: Rule[];
}

/** Derives cascade rules from a GraphQL schema and computes what to purge after a change. */
export class CascadeEngine {
  private constructor();
  /**
   * Parses SDL, detects relationships and derives the auto rules. Not in the edge build
   * (`cascade-edge/edge`, no SDL parser): there it throws `UNSUPPORTED`; load `toJSON()` output
   * with `fromJSON` instead.
   */
  static fromSchema(sdl: string, options?: EngineOptions): CascadeEngine;
  /** Loads precompiled rules (an object or JSON text); no schema is parsed. */
  static fromJSON(json: CompiledRules | CompiledRulesV1 | string, options?: Pick<EngineOptions, "verbose" | "logger">): CascadeEngine;
  /** Entities by type name and keyspace, key fields, to-many fields, the delimiter; built on first use, read-only. */
  readonly schema: EngineSchema;
  relationships(): Relationship[];
  entities(): Entity[];
  rules(): Rule[];
  /** Validates and adds a manual rule; returns its id. */
  addRule(rule: RuleInput): string;
  removeRule(id: string): void;
  clearRules(): void;
  cascade(change: Change): CascadeSet;
  cascadeBatch(changes: Change[]): CascadeSet;
  changesFromMutation(response: { data?: JsonValue; [key: string]: unknown }): DetectedChange[];
  graph(options: GraphOptions<"json">): RuleGraph;
  graph(options?: GraphOptions<"tree" | "dot" | "mermaid">): string;
  graph(options?: GraphOptions): string | RuleGraph;
  stats(): EngineStats;
  /** Releases the engine's wasm memory now; later calls throw `USE_AFTER_FREE`. Idempotent. */
  free(): void;
  lint(): Lint[];
  /** Slim (auto rules are derived again on load, lists joined by spaces); `fromJSON` reads both versions. */
  toJSON(options?: { version?: 2 }): CompiledRules;
  /** The verbose format version 1. */
  toJSON(options: { version: 1 }): CompiledRulesV1;
}

export interface LruOptions {
  /** Most entries (default 1000). */
  maxEntries?: number;
  /** Byte budget (key plus estimated value size). */
  maxBytes?: number;
  /** Default time to live. */
  ttlMs?: number;
  /** Invalidations also remove the cascade set of this engine. */
  engine?: CascadeEngine;
  /** The key delimiter (default `:`). */
  delimiter?: string;
  /** The clock, in ms (default `Date.now`). */
  now?: () => number;
  /** Weighs a value for `maxBytes`. */
  sizeOf?: (value: unknown) => number;
}

/** A token from `beginRead`. */
export type ReadToken = number;

export interface SetOptions {
  ttlMs?: number;
  /** Entity keys the value contains. */
  tags?: string[];
  /** From `beginRead`: the write is refused (STALE_WRITE) if the key was invalidated since. */
  token?: ReadToken;
}

/** Counters of an LruCache. */
export interface LruStats {
  hits: number;
  misses: number;
  sets: number;
  evictions: number;
  expirations: number;
  invalidations: number;
  entries: number;
  bytes: number;
}

/** A bounded LRU cache that understands cascade keys: hierarchy, wildcards, tags. */
export class LruCache<V = unknown> implements Iterable<string> {
  constructor(options?: LruOptions);
  get(key: string): V | undefined;
  peek(key: string): V | undefined;
  has(key: string): boolean;
  /** Returns the keys evicted to make room. */
  set(key: string, value: V, options?: SetOptions): string[];
  delete(key: string): boolean;
  clear(): void;
  readonly size: number;
  /** Live keys, most recently used first. */
  keys(): IterableIterator<string>;
  [Symbol.iterator](): IterableIterator<string>;
  /**
   * Removes exactly what a cascade set names: its keys (with everything below them), its patterns,
   * and the entries tagged with them. Returns the removed keys.
   */
  invalidateSet(set: Pick<CascadeSet, "keys"> & Partial<Pick<CascadeSet, "patterns">>): string[];
  /** Removes the key, the keys below it, entries tagged with them and (with an engine) the cascade set. */
  invalidate(key: string): string[];
  invalidateBatch(keys: string[]): string[];
  invalidatePattern(pattern: string): string[];
  /** Removes a dotted field path from cached values; returns the keys changed. */
  invalidateField(keyOrPattern: string, path: string): string[];
  invalidateLazy(key: string, delayMs: number): void;
  flushDue(now?: number): string[];
  beginRead(key: string): ReadToken;
  stats(): LruStats;
  /** Releases the cache's wasm memory and values now; later calls throw `USE_AFTER_FREE`. Idempotent. */
  free(): void;
}

export { tagsForResponse, withCoarseTags, encodeSegment, tagForKey } from "./tags.js";
export type { TagsForResponseOptions, ResponseTags, TaggingEngine } from "./tags.js";
export { GenerationCoordinator, GenerationSync } from "./isolate.js";
export type { GenerationSyncOptions, CheckResult } from "./isolate.js";
