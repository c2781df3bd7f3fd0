// Types of cascade-edge/yoga: a store for @envelop/response-cache (GraphQL Yoga's response cache).

/** An entity record as @envelop/response-cache collects it. */
export interface CacheEntityRecord {
  typename: string;
  id?: number | string;
}

/** The change data of a mutated entity; `before` lets a moved entity purge its old parent's lists. */
export interface EntityChangeData {
  op?: "create" | "update" | "delete";
  data?: Record<string, unknown>;
  after?: Record<string, unknown>;
  before?: Record<string, unknown>;
}

import type { EngineSchema } from "./index.js";

/** The parts of a CascadeEngine the store uses: `cascadeBatch`, and its `schema` (or what that is built from). */
export type CascadeEngineLike = {
  cascadeBatch(changes: object[]): { keys: string[]; patterns: string[]; tags: string[] };
} & (
  | { readonly schema: EngineSchema }
  | {
      entities(): { type: string; keyspace: string; keyFields: string[] }[];
      relationships(): { holder: string; field: string; target: string; cardinality: string }[];
    }
);

/** A Workers KV namespace (or anything with the same four methods). */
export interface KvNamespaceLike {
  get(key: string, type: "json"): Promise<unknown>;
  put(key: string, value: string, options?: { expirationTtl?: number }): Promise<unknown>;
  delete(key: string): Promise<unknown>;
  list(options: { prefix?: string; cursor?: string; limit?: number }): Promise<{
    keys: { name: string }[];
    list_complete?: boolean;
    cursor?: string;
  }>;
}

export interface ResponseCacheStoreOptions {
  engine: CascadeEngineLike;
  /** Where responses live (an `LruCache` from `cascade-edge`); default a new one of `maxEntries`. */
  lru?: unknown;
  /** Size of the default LRU (1000). */
  maxEntries?: number;
  /** A second tier in Workers KV: responses plus one index key per tag, purged with `purgeKv`. */
  kv?: KvNamespaceLike;
  /** Keyspace of responses in KV (`@response`). */
  kvPrefix?: string;
  /**
   * Change data for a mutated entity, so foreign keys are exact (`user:1:posts`) instead of
   * widened to every parent (`user:*:posts`). May return a promise: the changed entities' own keys
   * are purged at once, and reads wait for the rest of the purge.
   */
  changeFor?: (entity: { typename: string; id: number | string }) =>
    | EntityChangeData
    | undefined
    | Promise<EntityChangeData | undefined>;
  /** The engine's delimiter (`:`). */
  delimiter?: string;
  /**
   * Hears every error the store absorbs (default: a console warning). None reaches the plugin:
   * a failed `set` caches nothing, a failed `get` is a miss, a failed purge purges wider or is
   * retried. `where` names the step (`"set"`, `"kv purge"`, `"kv.get"`…).
   */
  onError?: (error: Error & { code?: string }, where: string) => void;
  /**
   * The `idFields` given to `useResponseCache` (`["id"]`). Entities keyed by one of them are
   * tracked by their keys and cascades; other types by type tags (`Typename`, `Typename:id`), as
   * the plugin's own store does, with a warning. `keyFieldsFor` builds the engine to match.
   * Entities with a composite key are found by `plugin()` in each result by their key fields.
   */
  idFields?: string[];
  /** Hears each warning once (default: a console warning). */
  onWarning?: (message: string) => void;
  /** The clock of TTLs in ms (`Date.now`), for the default LRU and the expiry stored in KV. */
  now?: () => number;
}

export interface ResponseCacheStoreStats {
  hits: number;
  misses: number;
  sets: number;
  invalidations: number;
  /** Cached responses removed by invalidations. */
  purged: number;
  /** Errors the store absorbed (each also went to `onError`). */
  errors: number;
  /** Responses not cached because storing them failed. */
  skipped: number;
  /** Invalidations that purged every response because a narrower purge failed. */
  widened: number;
  /** Failed KV calls. */
  kvErrors: number;
  /** Keys, patterns and responses a failed KV purge still owes (retried; reads they cover are misses). */
  kvOwed: number;
  /** Responses kept out of KV because a key would exceed KV's 512-byte limit. */
  kvSkipped: number;
}

/** @envelop/response-cache's `Cache` interface, plus introspection. */
export interface ResponseCacheStore {
  get(id: string): unknown | null | Promise<unknown | null>;
  set(id: string, data: unknown, entities: Iterable<CacheEntityRecord>, ttl: number): void | Promise<void>;
  invalidate(entities: Iterable<CacheEntityRecord>): void | Promise<void>;
  /** The LruCache holding the responses. */
  readonly lru: unknown;
  stats(): ResponseCacheStoreStats;
  /** The tags `set` records for these entities: entity keys and parent-scoped list keys. */
  tagsOf(entities: Iterable<CacheEntityRecord>): string[];
  /**
   * An envelop plugin to list beside `useResponseCache({ cache: store })`: it reads each
   * mutation's result, so foreign keys shown there (`createPost { author { id } }`) make the purge
   * exact (`user:1:posts`) instead of widened (`user:*:posts`). `changeFor`, when it answers, wins.
   */
  plugin(): { onExecute(payload: any): void };
  /** Settles when every KV write and purge begun so far has run (pass it to `ctx.waitUntil`). */
  settled(): Promise<void>;
}

/** A `cache` for `useResponseCache({ cache })` that purges by the schema's cascades. */
export function createResponseCacheStore(options: ResponseCacheStoreOptions): ResponseCacheStore;

/**
 * `CascadeEngine.fromSchema`'s `keyFields` keying each object type as `useResponseCache({ idFields })`
 * identifies it: by its first field named in `idFields`. `schema` is a GraphQLSchema (`createSchema`).
 */
export function keyFieldsFor(schema: { getTypeMap(): Record<string, unknown> }, idFields?: string[]): Record<string, string[]>;

/** Percent-encodes an id into one key segment, as the core does. */
export function encodeSegment(value: string | number, delimiter?: string): string;
