// Types for cascade-edge/bus: invalidations shared by every process's LruCache (bus.js).

/** What the bus needs of a cache: an LruCache (without an attached engine) fits. */
export interface BusCache {
  invalidateBatch(keys: string[]): string[];
  invalidatePattern(pattern: string): string[];
  clear(): void;
}

export interface BusOptions {
  /**
   * `redis://…` / `rediss://…` (TLS; needs `ioredis`) or `postgres://…` / `postgresql://…` (needs
   * `pg`; TLS from its `sslmode`). The password: the URL's, else `redisOptions.password` /
   * `pgOptions.password`, else $REDIS_PASSWORD / $PGPASSWORD. Never shown in logs or errors.
   */
  url: string;
  /** This process's cache; null or omitted: the bus only publishes (e.g. a watcher). */
  cache?: BusCache | null;
  /** Members on the same channel share invalidations. 1–40 of letters, digits, `_ . : -`. Default "cascade_edge". */
  channel?: string;
  /** Publishes waiting for the server at most (default 1000); past it publish rejects BUS_QUEUE_FULL. */
  maxQueue?: number;
  /** How long a publish waits for the server (default 30000 ms) before it rejects BUS_PUBLISH_TIMEOUT. */
  publishTimeoutMs?: number;
  /** During an outage the cache is cleared every this many ms (default 30000): the staleness bound of an outage. */
  maxOutageMs?: number;
  /** Wait between two attempts to send the queue (default 250 ms). */
  retryMs?: number;
  /**
   * connectBus rejects BUS_CONNECT_FAILED when not connected within this (default 10000 ms); at once
   * BUS_AUTH_FAILED, BUS_NOT_PERMITTED or BUS_TLS_FAILED when the server refuses the credentials, a
   * command or grant, or the certificate is not trusted.
   */
  connectTimeoutMs?: number;
  /** Entries the Redis stream / rows the PostgreSQL log keep per channel (default 10000). */
  maxLog?: number;
  /** PostgreSQL: prune the log on every this-many-th id (default 100). */
  pruneEvery?: number;
  /** PostgreSQL: read the log this often even without a notification (default 5000 ms). */
  pollIntervalMs?: number;
  /** PostgreSQL: create the log table and publish function on connection (default true). */
  install?: boolean;
  /** Reconnection backoff (default 50 / 2000 ms). */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** Extra options for the ioredis connections (e.g. `{ tls: { ca } }`) / the pg Client. */
  redisOptions?: Record<string, unknown>;
  pgOptions?: Record<string, unknown>;
  /** Log lines (connection lost, cache cleared and why); default console.error, null for silence. */
  logger?: ((line: string) => void) | null;
  /** Called for every set received from another member. */
  onReceive?: (received: {
    id: string;
    source: "live" | "catchup";
    keys: string[];
    patterns: string[];
    removed: string[];
    lagMs: number | null;
    from: string;
  }) => void;
}

export interface BusStats {
  published: number;
  sent: number;
  received: number;
  caughtUp: number;
  clears: number;
  reconnects: number;
  queued: number;
  connected: boolean;
  lagMs: { last: number | null; max: number | null; avg: number | null };
}

export interface Bus {
  /** This member's id (its messages carry it). */
  readonly memberId: string;
  /** Drops the set locally at once, then sends it to every member; resolves once the server has it. */
  publish(set: { keys?: string[]; patterns?: string[] }): Promise<{ removed: string[]; id: string }>;
  stats(): BusStats;
  close(): Promise<void>;
}

export declare const DEFAULT_CHANNEL: "cascade_edge";

/** Joins `channel` on the server at `url`; resolves once subscribed. */
export function connectBus(options: BusOptions): Promise<Bus>;

/** A purge function for the PostgreSQL watcher: `createWatcher({ purge: busPurge(bus) })`. */
export function busPurge(bus: Bus): (set: { keys: string[]; patterns: string[] }) => Promise<{ purged: string[]; failed: [] }>;

/** The SQL creating the PostgreSQL bus's tables and publish function (idempotent), for members connecting with `install: false`. */
export function busInstallSql(): string;
