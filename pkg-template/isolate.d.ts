// Types of per-isolate LRU consistency (isolate.js).

export interface GenerationSyncOptions {
  /** "Eventual" mode: the KV namespace holding the stamp record (KV's own caching: ≥ 30–60 s behind). */
  kv?: { get(key: string, options: { type: "json" }): Promise<unknown>; put(key: string, value: string): Promise<void> };
  /** "Strong" mode, instead of `kv`: a Durable Object namespace bound to GenerationCoordinator. */
  coordinator?: { idFromName(name: string): unknown; get(id: any): { fetch(url: string, init?: RequestInit): Promise<Response> } };
  /** The coordinator object's name (default "cascade"): one record per name. */
  name?: string;
  /** This isolate's LruCache. */
  cache: {
    invalidateBatch(keys: string[]): string[];
    invalidatePattern(pattern: string): string[];
    clear(): void;
  };
  /** KV key of the stamp record (default `__cascade_gen`). */
  key?: string;
  /** Read the stamp at most this often (default 1000 ms). */
  checkIntervalMs?: number;
  /** Entries kept in the record's log (default 50). */
  maxLog?: number;
  /** `replay` (default): replay missed entries, clear when too far behind; `clear`: clear on any change. */
  mode?: "replay" | "clear";
  now?: () => number;
}

export interface CheckResult {
  checked: boolean;
  changed: boolean;
  action: "none" | "replay" | "clear";
  removed: string[];
  generation: string | null | undefined;
  /** Set when the store could not be read: the LRU was cleared instead (every read a miss). */
  error?: { code: string; message: string };
}

export interface PublishResult {
  generation: string | null | undefined;
  removed: string[];
  /** false when the store could not be written: the other isolates were not told (see `error`). */
  published: boolean;
  error?: { code: string; message: string };
}

/** Keeps an isolate-local LruCache consistent with invalidations published by other isolates through KV. */
export class GenerationSync {
  constructor(options: GenerationSyncOptions);
  readonly generation: string | null | undefined;
  check(options?: { force?: boolean }): Promise<CheckResult>;
  publish(set: { keys?: string[]; patterns?: string[] }): Promise<PublishResult>;
}

/**
 * The Durable Object behind GenerationSync's `coordinator` mode: appends published sets one at a
 * time (no lost entry) and answers the latest generation. Re-export it from the Worker's main module.
 */
export class GenerationCoordinator {
  constructor(state: { storage: { get(key: string): Promise<unknown>; put(key: string, value: unknown): Promise<void> } }, env?: unknown);
  fetch(request: Request): Promise<Response>;
}
