// The redis:// transport of cascade-edge/bus (see ../bus.js).
//
// Every message goes, in one Lua script (atomic), into a capped stream `cascade-edge:<channel>:log`
// and out on PUBLISH `cascade-edge:<channel>` as "<stream id> <json>". A member applies PUBLISHed
// messages as they come and remembers the last stream id it saw. When its subscriber connection
// comes back it first subscribes again (buffering what arrives), then reads the stream from that id:
//  - the stream still holds the id: nothing after it was trimmed (trimming only removes the oldest
//    entries), so the entries after it are exactly what was missed: apply them, then the buffer;
//  - the id is gone (trimmed past, or the server restarted without it): the member cannot prove it
//    missed nothing, and clears its cache.
// A member's starting point is the stream's last entry; on an empty stream it adds an anchor entry
// (no invalidation) so it always has an id to find again.
//
// `ioredis` is an optional peer dependency; the connections are ioredis's, with its offline queue
// off (the bus keeps its own bounded queue) and its reconnection on. ioredis authenticates every
// connection it opens, reconnections included, with the user and password of the URL
// (`redis://user:password@host`), else `redisOptions.password`, else $REDIS_PASSWORD; `rediss://`
// (or `redisOptions.tls`, e.g. `{ ca }` for a private CA) connects over TLS. A refused password, a
// denied command or an untrusted certificate fails connectBus at once with a coded error (see
// refusal() in common.js); after the first connection they are logged and retried.
import { safeUrl, urlPassword } from "../redact.js";
import { codedError, loadPeer, refusal, sleep } from "./common.js";

const PUBLISH = `local id = redis.call('XADD', KEYS[1], 'MAXLEN', ARGV[2], ARGV[3], '*', 'm', ARGV[1])
redis.call('PUBLISH', KEYS[2], id .. ' ' .. ARGV[1])
return id`;
const PAGE = 500;

/** Orders stream ids ("ms-seq"). */
function compareIds(a, b) {
  const [am, as] = a.split("-").map(BigInt);
  const [bm, bs] = b.split("-").map(BigInt);
  return am === bm ? (as === bs ? 0 : as < bs ? -1 : 1) : am < bm ? -1 : 1;
}

function fieldsToMessage(fields) {
  for (let i = 0; i + 1 < fields.length; i += 2) {
    if (fields[i] === "m") {
      try {
        return JSON.parse(fields[i + 1]);
      } catch {
        return null;
      }
    }
  }
  return null; // an anchor entry
}

export async function createTransport(options, h) {
  const { url, channel, subscribe, maxLog = 10000, minBackoffMs = 50, maxBackoffMs = 2000, redisOptions = {} } = options;
  if (!Number.isInteger(maxLog) || maxLog < 1) throw codedError("INVALID_OPTIONS", "`maxLog` (entries the stream keeps) must be an integer ≥ 1");
  const Redis = await loadPeer("ioredis", "a redis:// bus");
  // Approximate trimming is cheaper; on a short stream it would not trim at all, so trim exactly there.
  const trim = maxLog >= 1000 ? "~" : "=";
  const stream = `cascade-edge:${channel}:log`;
  const topic = `cascade-edge:${channel}`;
  const tls = /^rediss:/i.test(url);
  const base = {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResubscribe: false,
    autoResendUnfulfilledCommands: false,
    // The ready check runs INFO, which a least-privilege ACL user need not have; while a server
    // loads its data, the bus's commands fail and are retried anyway.
    enableReadyCheck: false,
    retryStrategy: (times) => Math.min(maxBackoffMs, minBackoffMs * 2 ** Math.min(times - 1, 16)),
    connectionName: `cascade-edge-bus-${h.origin}`,
    ...redisOptions,
  };
  // ioredis recognises only a lower-case rediss://; the bus accepts any case, and never sends in clear.
  if (tls && !base.tls) base.tls = {};
  // Given first, it wins over the URL's empty password (`redis://user@host`).
  const password = urlPassword(url) ?? redisOptions.password ?? globalThis.process?.env?.REDIS_PASSWORD;
  const auth = password === undefined ? {} : { password };
  const cmd = new Redis(auth, url, base);
  cmd.defineCommand("cascadeEdgePublish", { numberOfKeys: 2, lua: PUBLISH });
  const sub = subscribe ? new Redis(auth, url, base) : null;
  const where = `Redis at ${safeUrl(url)}`;

  let closed = false;
  let lastId = null; // the last stream id this member applied or skipped
  let catching = false;
  let buffer = [];
  let round = 0;
  let started;
  let failStart;
  const firstUp = new Promise((resolve, reject) => {
    started = resolve;
    failStart = reject;
  });

  // ioredis reports every failed attempt as an error event. Before the first connection, one that
  // retrying cannot cure fails the start; the others only say why connectBus is still waiting.
  // Later, the close/ready events say enough, except a refusal, logged when it changes.
  let everUp = false;
  let lastError = null;
  let lastLogged = null;
  const describe = (error) => {
    const text = error?.message ?? String(error);
    // A TLS-only server closes a plain connection without a word.
    return !tls && /ECONNRESET|Connection is closed/.test(text) ? `${text} (if the server accepts only TLS, use rediss://)` : text;
  };
  const onError = (error) => {
    const refused = refusal(error, where);
    lastError = refused?.message ?? describe(error);
    if (refused && !everUp) {
      failStart(refused);
    } else if (refused && lastLogged !== refused.message) {
      lastLogged = refused.message;
      h.log(`${refused.message}; retrying`);
    }
  };
  cmd.on("error", onError);
  sub?.on("error", onError);
  cmd.on("ready", () => {
    lastLogged = null;
    if (!sub) {
      everUp = true;
      h.up();
      started();
    }
    h.writable();
  });
  cmd.on("close", () => {
    if (!sub && !closed) h.down(new Error("connection closed"));
  });

  async function anchor() {
    const last = await cmd.xrevrange(stream, "+", "-", "COUNT", 1);
    if (last.length > 0) return last[0][0];
    return cmd.xadd(stream, "MAXLEN", trim, maxLog, "*", "a", h.origin);
  }

  async function catchUp() {
    if (lastId === null) {
      lastId = await anchor();
      return;
    }
    let from = lastId;
    for (let first = true; ; first = false) {
      const entries = await cmd.xrange(stream, from, "+", "COUNT", PAGE);
      if (first && (entries.length === 0 || entries[0][0] !== from)) {
        h.gap(`the stream no longer holds ${from}, the last message this member saw (trimmed past it, or the server lost it)`);
        lastId = await anchor();
        return;
      }
      for (const [id, fields] of entries) {
        if (id === from) continue;
        lastId = id;
        const message = fieldsToMessage(fields);
        if (message) h.deliver(message, { id, source: "catchup" });
      }
      if (entries.length < PAGE) return;
      from = entries[entries.length - 1][0];
    }
  }

  function live(id, message) {
    if (lastId !== null && compareIds(id, lastId) <= 0) return;
    lastId = id;
    h.deliver(message, { id, source: "live" });
  }

  async function resync() {
    const mine = ++round;
    catching = true;
    buffer = [];
    for (let attempt = 0; ; attempt++) {
      if (closed || mine !== round) return;
      try {
        await sub.subscribe(topic);
        await catchUp();
        break;
      } catch (error) {
        const refused = refusal(error, where);
        if (refused && !everUp) return failStart(refused);
        if (attempt === 0) h.log(`catching up after a reconnection failed (${refused?.message ?? error?.message ?? error}); retrying`);
        await sleep(Math.min(maxBackoffMs, minBackoffMs * 2 ** Math.min(attempt, 16)));
      }
    }
    if (closed || mine !== round) return;
    catching = false;
    const pending = buffer;
    buffer = [];
    for (const [id, message] of pending) live(id, message);
    everUp = true;
    lastLogged = null;
    h.up();
    started();
  }

  if (sub) {
    sub.on("message", (from, text) => {
      if (from !== topic) return;
      const space = text.indexOf(" ");
      let message;
      try {
        message = JSON.parse(text.slice(space + 1));
      } catch {
        h.log(`ignored an unreadable message on ${topic}`);
        return;
      }
      const id = text.slice(0, space);
      if (catching) buffer.push([id, message]);
      else live(id, message);
    });
    sub.on("ready", () => {
      resync();
    });
    sub.on("close", () => {
      if (closed) return;
      round++; // a resync in progress on the old connection is void
      catching = true;
      h.down(new Error("subscriber connection closed"));
    });
  }

  return {
    start() {
      cmd.connect().catch(() => {}); // ioredis keeps retrying; readiness comes as events
      sub?.connect().catch(() => {});
      return firstUp;
    },
    /** Why the first connection is not up yet (the last error), or null. */
    lastError: () => lastError,
    send(message) {
      return cmd.cascadeEdgePublish(stream, topic, JSON.stringify(message), trim, maxLog);
    },
    async close() {
      closed = true;
      round++;
      // A TLS socket ended mid-handshake (a start failed on the other connection's certificate
      // error) reports the server's alert after ioredis stopped listening: unheard, it would crash
      // the process.
      for (const c of [cmd, sub]) c?.stream?.on("error", () => {});
      cmd.disconnect();
      sub?.disconnect();
    },
  };
}
