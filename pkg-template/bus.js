// cascade-edge/bus: one invalidation, every process's LruCache.
//
// `connectBus({ url, cache, channel })` joins a channel on an engine the user already runs:
//  - `redis://` (bus/redis.js): PUBLISH for speed, plus a capped stream holding every message, so a
//    member whose connection dropped reads what it missed from its last stream id;
//  - `postgres://` (bus/pg.js): a log table read from each member's cursor; NOTIFY only wakes the
//    members, so NOTIFY's 8000-byte payload limit never matters.
//
// The promises, whatever the engine:
//  - `publish(set)` removes the set from the local cache before anything else (a request this
//    process serves next never sees a stale entry), then hands it to the server; every member
//    connected to the channel receives it at least once.
//  - A member that cannot prove it missed nothing (its stream id trimmed away or the stream reset,
//    its cursor pruned) clears its cache before it serves from it again. During an outage a member
//    cannot learn anything: it clears its cache every `maxOutageMs` until it is connected again, so
//    an outage never serves an entry older than that bound.
//  - A publish while the server is unreachable waits in a bounded queue (`maxQueue` sets, each for at
//    most `publishTimeoutMs`) and resolves once the server has it, or rejects with BUS_QUEUE_FULL,
//    BUS_PUBLISH_TIMEOUT or BUS_CLOSED: never dropped silently. The local cache is purged either way.
//
// Give it an LruCache without an attached engine: published sets are complete cascade sets, and an
// attached engine would cascade each of their keys again (coarsely, without the change's data).
// `redis` (ioredis) and `pg` (node-postgres) are optional peer dependencies, loaded on demand.

import { codedError } from "./bus/common.js";
import { invalidateSet } from "./isolate.js";
import { redactor, safeUrl, urlPassword } from "./redact.js";

const DEFAULT_CHANNEL = "cascade_edge";
const CHANNEL = /^[A-Za-z0-9_.:-]{1,40}$/;

function memberId() {
  const rand =
    typeof crypto !== "undefined" && typeof crypto.randomUUID === "function"
      ? crypto.randomUUID().replaceAll("-", "").slice(0, 16)
      : Math.random().toString(16).slice(2, 18);
  return rand;
}

const strings = (value, what) => {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || !value.every((v) => typeof v === "string")) {
    throw codedError("INVALID_ARGUMENT", `publish: \`${what}\` must be an array of strings`);
  }
  return value;
};

const positive = (value, name, { integer = false, zero = false } = {}) => {
  const ok = typeof value === "number" && Number.isFinite(value) && (zero ? value >= 0 : value > 0) && (!integer || Number.isInteger(value));
  if (!ok) throw codedError("INVALID_OPTIONS", `\`${name}\` must be a${integer ? "n integer" : " number"} ${zero ? "≥ 0" : "> 0"}`);
  return value;
};

/** Which transport serves a URL: "redis" or "postgres" (an INVALID_OPTIONS error otherwise). */
function engineOf(url) {
  if (typeof url !== "string") throw codedError("INVALID_OPTIONS", "`url` must be a redis://… or postgres://… connection string");
  if (/^rediss?:\/\//i.test(url)) return "redis";
  if (/^postgres(ql)?:\/\//i.test(url)) return "postgres";
  throw codedError("INVALID_OPTIONS", `\`url\` must start with redis://, rediss://, postgres:// or postgresql://, not '${url.split(":")[0]}:'`);
}

/** The bus of one process: the local cache, the publish queue, the counters. */
class Bus {
  #cache;
  #transport = null;
  #origin = memberId();
  #queue = [];
  #maxQueue;
  #publishTimeoutMs;
  #maxOutageMs;
  #retryMs;
  #log;
  #onReceive;
  #flushing = false;
  #retryTimer = null;
  #outageTimer = null;
  #down = false;
  #closed = false;
  #stats = { published: 0, sent: 0, received: 0, caughtUp: 0, clears: 0, reconnects: 0, lastLagMs: null, maxLagMs: null, lagSamples: 0, lagTotalMs: 0 };

  constructor({ cache, maxQueue, publishTimeoutMs, maxOutageMs, retryMs, logger, onReceive }) {
    this.#cache = cache;
    this.#maxQueue = maxQueue;
    this.#publishTimeoutMs = publishTimeoutMs;
    this.#maxOutageMs = maxOutageMs;
    this.#retryMs = retryMs;
    this.#log = (line) => logger?.(`[cascade-edge bus] ${line}`);
    this.#onReceive = onReceive;
  }

  /** @internal The handlers a transport calls. */
  _handlers() {
    return {
      origin: this.#origin,
      log: this.#log,
      deliver: (message, info) => this.#deliver(message, info),
      gap: (reason) => this.#gap(reason),
      up: () => this.#up(),
      down: (error) => this.#goneDown(error),
      writable: () => this.#kick(0),
    };
  }

  /** @internal */
  _attach(transport) {
    this.#transport = transport;
  }

  /** This process's member id (messages carry it, so a member skips its own). */
  get memberId() {
    return this.#origin;
  }

  /**
   * Removes `set` (a CascadeSet: `keys`, `patterns`) from the local cache at once, then sends it to
   * every other member. Resolves `{ removed, id }` once the server holds it (`id`: its stream id or
   * log row id); rejects BUS_QUEUE_FULL, BUS_PUBLISH_TIMEOUT or BUS_CLOSED when it cannot.
   */
  publish(set) {
    if (set === null || typeof set !== "object") return Promise.reject(codedError("INVALID_ARGUMENT", "publish takes a CascadeSet ({ keys, patterns })"));
    let keys;
    let patterns;
    try {
      keys = strings(set.keys, "keys");
      patterns = strings(set.patterns, "patterns");
    } catch (error) {
      return Promise.reject(error);
    }
    if (this.#closed) return Promise.reject(codedError("BUS_CLOSED", "publish after close(): connect a new bus"));
    // Before any await: this process's next request must not see what the set invalidates.
    const removed = this.#cache ? invalidateSet(this.#cache, keys, patterns) : [];
    this.#stats.published++;
    if (this.#queue.length >= this.#maxQueue) {
      return Promise.reject(
        codedError("BUS_QUEUE_FULL", `the publish queue is full (${this.#maxQueue} sets wait for the server): the set was purged locally only; raise maxQueue or fix the connection`),
      );
    }
    const message = { o: this.#origin, t: Date.now(), k: keys, p: patterns };
    return new Promise((resolve, reject) => {
      const entry = { message, resolve: (id) => resolve({ removed, id }), reject, timer: null };
      entry.timer = setTimeout(() => {
        const at = this.#queue.indexOf(entry);
        if (at < 0) return;
        this.#queue.splice(at, 1);
        reject(codedError("BUS_PUBLISH_TIMEOUT", `the server did not take the set within ${this.#publishTimeoutMs}ms (publishTimeoutMs): it was purged locally only`));
      }, this.#publishTimeoutMs);
      this.#queue.push(entry);
      this.#kick(0);
    });
  }

  /**
   * Counters of this member: `published` (sets published here), `sent` (of those, taken by the
   * server), `received` (sets from other members applied here), `caughtUp` (of those, read back after
   * a lost connection), `clears` (whole-cache clears: a gap it could not prove empty, or an outage
   * past maxOutageMs), `reconnects`, `queued` (publishes waiting), `connected`, and the delivery lag
   * of received sets in ms (`lagMs`: last, max, average; publisher's clock to receiver's).
   */
  stats() {
    const s = this.#stats;
    return {
      published: s.published,
      sent: s.sent,
      received: s.received,
      caughtUp: s.caughtUp,
      clears: s.clears,
      reconnects: s.reconnects,
      queued: this.#queue.length,
      connected: !this.#down && !this.#closed,
      lagMs: { last: s.lastLagMs, max: s.maxLagMs, avg: s.lagSamples ? s.lagTotalMs / s.lagSamples : null },
    };
  }

  /** Leaves the channel; publishes still queued reject BUS_CLOSED. */
  async close() {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#retryTimer);
    clearTimeout(this.#outageTimer);
    for (const entry of this.#queue.splice(0)) {
      clearTimeout(entry.timer);
      entry.reject(codedError("BUS_CLOSED", "the bus was closed before the server took the set: it was purged locally only"));
    }
    await this.#transport?.close();
  }

  #deliver(message, { id, source }) {
    if (this.#closed || message?.o === this.#origin) return;
    const keys = Array.isArray(message?.k) ? message.k.filter((k) => typeof k === "string") : [];
    const patterns = Array.isArray(message?.p) ? message.p.filter((p) => typeof p === "string") : [];
    const removed = this.#cache ? invalidateSet(this.#cache, keys, patterns) : [];
    const s = this.#stats;
    s.received++;
    if (source === "catchup") s.caughtUp++;
    const lagMs = typeof message.t === "number" ? Math.max(0, Date.now() - message.t) : null;
    if (lagMs !== null) {
      s.lastLagMs = lagMs;
      s.maxLagMs = Math.max(s.maxLagMs ?? 0, lagMs);
      s.lagSamples++;
      s.lagTotalMs += lagMs;
    }
    try {
      this.#onReceive?.({ id, source, keys, patterns, removed, lagMs, from: message.o });
    } catch (error) {
      this.#log(`onReceive threw: ${error?.message ?? error}`);
    }
  }

  #gap(reason) {
    if (this.#closed) return;
    this.#cache?.clear();
    this.#stats.clears++;
    this.#log(`cleared the cache: ${reason}`);
  }

  #up() {
    clearTimeout(this.#outageTimer);
    this.#outageTimer = null;
    if (this.#down) this.#log("connected again");
    this.#down = false;
    this.#kick(0);
  }

  #goneDown(error) {
    if (this.#closed || this.#down) return;
    this.#down = true;
    this.#stats.reconnects++;
    this.#log(`connection lost (${error?.message ?? error ?? "closed"}); reconnecting`);
    const tick = () => {
      if (!this.#down || this.#closed) return;
      this.#gap(`no connection for ${this.#maxOutageMs}ms (maxOutageMs): invalidations may be missing`);
      this.#outageTimer = setTimeout(tick, this.#maxOutageMs);
    };
    if (this.#cache) this.#outageTimer = setTimeout(tick, this.#maxOutageMs);
  }

  // Sends the queue in order; on a failure waits `retryMs` (or until the transport says writable).
  #kick(delay) {
    if (this.#flushing || this.#closed || this.#queue.length === 0) return;
    clearTimeout(this.#retryTimer);
    this.#retryTimer = setTimeout(() => this.#flush(), delay);
  }

  async #flush() {
    if (this.#flushing || !this.#transport) return;
    this.#flushing = true;
    try {
      while (this.#queue.length > 0 && !this.#closed) {
        const entry = this.#queue[0];
        let id;
        try {
          id = await this.#transport.send(entry.message);
        } catch (error) {
          this.#log(`publish waits for the server (${this.#queue.length} queued): ${error?.message ?? error}`);
          this.#flushing = false;
          this.#kick(this.#retryMs);
          return;
        }
        // A timeout may have taken it out meanwhile; the server has it anyway (at least once).
        const at = this.#queue.indexOf(entry);
        if (at >= 0) this.#queue.splice(at, 1);
        clearTimeout(entry.timer);
        this.#stats.sent++;
        entry.resolve(id);
      }
    } finally {
      this.#flushing = false;
    }
  }
}

/**
 * Connects this process's `cache` to `channel` on the server at `url`; resolves the bus once it is
 * subscribed (rejects BUS_CONNECT_FAILED after `connectTimeoutMs`, naming the last error; at once
 * BUS_AUTH_FAILED, BUS_NOT_PERMITTED or BUS_TLS_FAILED when the server refuses the credentials, a
 * command or grant, or TLS). Without `cache` the bus only publishes (a watcher that feeds the others).
 */
export async function connectBus(options = {}) {
  const {
    url,
    cache = null,
    channel = DEFAULT_CHANNEL,
    maxQueue = 1000,
    publishTimeoutMs = 30000,
    maxOutageMs = 30000,
    retryMs = 250,
    connectTimeoutMs = 10000,
    logger = (line) => console.error(line),
    onReceive,
    ...engineOptions
  } = options ?? {};
  const engine = engineOf(url);
  if (cache !== null && (typeof cache?.invalidateBatch !== "function" || typeof cache?.invalidatePattern !== "function" || typeof cache?.clear !== "function")) {
    throw codedError("INVALID_OPTIONS", "`cache` must be an LruCache (or null for a bus that only publishes)");
  }
  if (typeof channel !== "string" || !CHANNEL.test(channel)) {
    throw codedError("INVALID_OPTIONS", "`channel` must be 1–40 characters: letters, digits, _ . : -");
  }
  positive(maxQueue, "maxQueue", { integer: true });
  positive(publishTimeoutMs, "publishTimeoutMs");
  positive(maxOutageMs, "maxOutageMs");
  positive(retryMs, "retryMs");
  positive(connectTimeoutMs, "connectTimeoutMs");
  if (onReceive !== undefined && typeof onReceive !== "function") throw codedError("INVALID_OPTIONS", "`onReceive` must be a function");
  if (logger !== null && typeof logger !== "function") throw codedError("INVALID_OPTIONS", "`logger` must be a function or null");

  // No password reaches a log line or an error message, whichever way it was given.
  const env = globalThis.process?.env ?? {};
  const redact = redactor([urlPassword(url), engineOptions.redisOptions?.password, engineOptions.pgOptions?.password, env.REDIS_PASSWORD, env.PGPASSWORD]);
  const where = safeUrl(url);
  const bus = new Bus({ cache, maxQueue, publishTimeoutMs, maxOutageMs, retryMs, logger: logger && ((line) => logger(redact(line))), onReceive });
  const { createTransport } = engine === "redis" ? await import("./bus/redis.js") : await import("./bus/pg.js");
  const transport = await createTransport({ url, channel, subscribe: cache !== null, ...engineOptions }, bus._handlers());
  bus._attach(transport);
  let timer;
  try {
    await Promise.race([
      transport.start(),
      new Promise((_, reject) => {
        timer = setTimeout(() => {
          const last = transport.lastError?.();
          reject(codedError("BUS_CONNECT_FAILED", `no connection to ${where} within ${connectTimeoutMs}ms (connectTimeoutMs): ${last ? `last error: ${last}` : "is the server up?"}`));
        }, connectTimeoutMs);
      }),
    ]);
  } catch (error) {
    await bus.close().catch(() => {}); // its transport, and the outage timer a failed attempt started
    if (!error?.code) throw codedError("BUS_CONNECT_FAILED", redact(`cannot connect to ${where}: ${error?.message ?? error}`), error);
    error.message = redact(error.message);
    throw error;
  } finally {
    clearTimeout(timer);
  }
  return bus;
}

/** A purge function for the PostgreSQL watcher (`createWatcher({ purge: busPurge(bus) })`). */
export function busPurge(bus) {
  if (!bus || typeof bus.publish !== "function") throw codedError("INVALID_OPTIONS", "busPurge needs a bus from connectBus()");
  return async (set) => {
    await bus.publish(set);
    return { purged: [...(set.keys ?? []), ...(set.patterns ?? [])], failed: [] };
  };
}

export { DEFAULT_CHANNEL };
// The PostgreSQL bus's tables and publish function, for an owner to create them once when the
// members connect with `install: false` (least privilege; README "Fleets").
export { busInstallSql } from "./bus/pg.js";
