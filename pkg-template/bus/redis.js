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
// off (the bus keeps its own bounded queue) and its reconnection on.
import { codedError, loadPeer, sleep } from "./common.js";

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
  const base = {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResubscribe: false,
    autoResendUnfulfilledCommands: false,
    retryStrategy: (times) => Math.min(maxBackoffMs, minBackoffMs * 2 ** Math.min(times - 1, 16)),
    connectionName: `cascade-edge-bus-${h.origin}`,
    ...redisOptions,
  };
  const cmd = new Redis(url, base);
  cmd.defineCommand("cascadeEdgePublish", { numberOfKeys: 2, lua: PUBLISH });
  const sub = subscribe ? new Redis(url, base) : null;

  let closed = false;
  let lastId = null; // the last stream id this member applied or skipped
  let catching = false;
  let buffer = [];
  let round = 0;
  let started;
  const firstUp = new Promise((resolve) => {
    started = resolve;
  });

  // ioredis reports every failed attempt as an error event; the close/ready events say enough.
  cmd.on("error", () => {});
  sub?.on("error", () => {});
  cmd.on("ready", () => {
    if (!sub) {
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
        if (attempt === 0) h.log(`catching up after a reconnection failed (${error?.message ?? error}); retrying`);
        await sleep(Math.min(maxBackoffMs, minBackoffMs * 2 ** Math.min(attempt, 16)));
      }
    }
    if (closed || mine !== round) return;
    catching = false;
    const pending = buffer;
    buffer = [];
    for (const [id, message] of pending) live(id, message);
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
    send(message) {
      return cmd.cascadeEdgePublish(stream, topic, JSON.stringify(message), trim, maxLog);
    },
    async close() {
      closed = true;
      round++;
      cmd.disconnect();
      sub?.disconnect();
    },
  };
}
