// Types for cascade-edge/pg: PostgreSQL change capture and the outbox watcher (pg.js).
// index.d.ts does not type the engine yet: the parts used here are spelled out.

export interface CascadeSet {
  keys: string[];
  patterns: string[];
  tags: string[];
  trace: Array<{ key: string; rule: string | null; from: string | null; depth: number; coarse: boolean }>;
  depth: number;
  truncated: boolean;
}

/** What the watcher needs of a CascadeEngine: `cascade`, and its `schema` (or `entities()`). */
export type CascadeEngine = {
  cascade(change: EngineChange): CascadeSet;
} & (
  | { readonly schema: { readonly entities: readonly { type: string; keyspace: string; keyFields: readonly string[] }[] } }
  | { entities(): Array<{ type: string; keyspace: string; keyFields: string[] }> }
);

export declare const DEFAULT_CHANNEL: "cascade_edge";
export declare const DEFAULT_OUTBOX: "cascade_edge_outbox";

export interface InstallOptions {
  /** Query-side tables (`tv_user`, `public.tv_post`), as an array or a comma-separated string. */
  tables: readonly string[] | string;
  /** NOTIFY channel. Default "cascade_edge". */
  channel?: string;
  /** Outbox table; also names the trigger function and triggers (`{outbox}_capture`). Default "cascade_edge_outbox". */
  outbox?: string;
}

/** SQL creating the outbox table, the capture trigger function and a trigger per table. Idempotent. */
export function installSql(options: InstallOptions): string;
/** SQL dropping the triggers and the function (the outbox table is kept). */
export function uninstallSql(options: InstallOptions): string;

export interface TableMapping {
  table: string;
  entity: string;
  keyspace: string;
  typeName: string;
  keyFields: string[];
}

/** `tv_user`, `v_user` → user; `tv_order_line_item` → order_line_item; throws `UNKNOWN_TABLE`. */
export function tableToEntity(table: string, engine: CascadeEngine, overrides?: Record<string, string>): TableMapping;

export interface OutboxRow {
  id: string;
  table_name: string;
  op: "INSERT" | "UPDATE" | "DELETE";
  old_row: Record<string, unknown> | null;
  new_row: Record<string, unknown> | null;
}

export interface EngineChange {
  entity: string;
  id: string;
  op: "create" | "update" | "delete";
  data: Record<string, unknown>;
  before?: Record<string, unknown>;
  after?: Record<string, unknown>;
}

/** The engine change of one outbox row (old row as `before`, new row as `after` and `data`). */
export function rowToChanges(row: OutboxRow, mapping: TableMapping): EngineChange[];

export interface PurgeInfo {
  changes: EngineChange[];
  /** The outbox ids of the batch (bigint as text). */
  ids: string[];
  rows: OutboxRow[];
}

/** Resolves on success; throws, or resolves `{ failed: [non-empty] }`, on failure (the batch is retried). */
export type WatchPurge = (set: CascadeSet, info: PurgeInfo) => Promise<{ failed?: readonly unknown[] } | void | unknown>;

/** POSTs `{ keys, patterns, tags, changes, outboxIds }` as JSON; any non-2xx answer is a failure. */
export function httpPurge(url: string, options?: { fetch?: typeof fetch; headers?: Record<string, string>; timeoutMs?: number }): WatchPurge;

/** node-postgres, loaded on demand; rejects with code MISSING_DEPENDENCY when it is not installed. */
export function loadPg(): Promise<unknown>;

/**
 * A node-postgres `Client` (or an object with the same connect, query, end and on("error" | "end" |
 * "notification") methods). Typed loosely so pg's overloads need no cast.
 */
export type PgClientLike = object;

export interface WatcherOptions {
  engine: CascadeEngine;
  /** Required unless dryRun. */
  purge?: WatchPurge;
  /** A connection string (needs `pg` installed) … */
  url?: string;
  connectionString?: string;
  /** … or a factory of new, unconnected clients (e.g. () => new pg.Client(config)). */
  client?: () => PgClientLike;
  /** Default: every table carrying the capture trigger. */
  tables?: readonly string[] | string;
  /** table → keyspace or type name. */
  overrides?: Record<string, string>;
  channel?: string;
  outbox?: string;
  /** Outbox rows per batch. Default 500. */
  batchSize?: number;
  /** Wait after a notification so a burst becomes one batch. Default 50. */
  batchWindowMs?: number;
  /** Re-read the outbox this often without notifications. Default 10000. */
  pollIntervalMs?: number;
  /** Several watchers: re-read this soon after finding every row claimed by another watcher. Default 1000. */
  takeoverMs?: number;
  /** Reconnect and purge-retry backoff bounds. Defaults 200 and 10000. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** One line per batch, reconnects, backlog progress. Default console.error. */
  logger?: (line: string) => void;
  /** Log each batch's plan; never purge nor delete outbox rows. */
  dryRun?: boolean;
  /** What a dry run shows for a set (e.g. set => planPurge(set, "cloudflare")). */
  plan?: (set: CascadeSet) => unknown;
}

export interface WatcherStats {
  batches: number;
  changes: number;
  purgeFailures: number;
  reconnects: number;
  lastBatchAt: number | null;
  pending: number | null;
}

export interface Watcher {
  /** Resolves once the tables are mapped and the first connection listens; rejects on UNKNOWN_TABLE, MISSING_DEPENDENCY, NOT_INSTALLED. */
  start(): Promise<void>;
  /** Resolves the next time the watcher finds the outbox empty. */
  idle(): Promise<void>;
  /** Stops the loop and closes the connection; unpurged rows stay in the outbox. */
  stop(): Promise<void>;
  stats(): WatcherStats;
}

export function createWatcher(options: WatcherOptions): Watcher;
