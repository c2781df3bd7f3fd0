// The postgres:// transport of cascade-edge/bus (see ../bus.js).
//
// Messages are rows of the log table `cascade_edge_bus` (id bigserial, channel, message); a member
// reads the rows after its cursor (the last id it read). NOTIFY `cascade_edge_bus:<channel>` only
// wakes the members (its payload is the id), so NOTIFY's 8000-byte limit never matters and a
// notification lost with a connection costs nothing: the next read starts from the cursor.
//
// Ids commit in id order: `cascade_edge_bus_publish()` takes a per-channel transaction-level
// advisory lock before it draws the id, so no reader's cursor can pass an id that commits later.
// Every `pruneEvery`-th id prunes the channel to its last `maxLog` rows and records the highest id
// removed in `cascade_edge_bus_pruned`; a member whose cursor is below it cannot prove it missed
// nothing, and clears its cache. Both are read in one statement (one snapshot).
//
// `pg` (node-postgres) is an optional peer dependency. The tables and the function are created on
// first connection (`install: false` to skip: then run the SQL of `busInstallSql()` yourself).
import { safeUrl } from "../redact.js";
import { codedError, loadPeer, refusal, sleep } from "./common.js";

const PAGE = 500;

/** The SQL creating the bus's tables and publish function (idempotent). */
export function busInstallSql() {
  return `CREATE TABLE IF NOT EXISTS cascade_edge_bus (
  id bigserial PRIMARY KEY,
  channel text NOT NULL,
  message text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX IF NOT EXISTS cascade_edge_bus_channel_id ON cascade_edge_bus (channel, id);
CREATE TABLE IF NOT EXISTS cascade_edge_bus_pruned (channel text PRIMARY KEY, upto bigint NOT NULL);
CREATE OR REPLACE FUNCTION cascade_edge_bus_publish(p_channel text, p_message text, p_keep bigint, p_prune_every bigint)
RETURNS bigint LANGUAGE plpgsql AS $cascade_edge$
DECLARE
  new_id bigint;
  cut bigint;
BEGIN
  -- Held until commit: the next publisher draws its id after this one is visible.
  PERFORM pg_advisory_xact_lock(hashtext('cascade_edge_bus'), hashtext(p_channel));
  INSERT INTO cascade_edge_bus (channel, message) VALUES (p_channel, p_message) RETURNING id INTO new_id;
  PERFORM pg_notify('cascade_edge_bus:' || p_channel, new_id::text);
  IF new_id % p_prune_every = 0 THEN
    SELECT id INTO cut FROM cascade_edge_bus WHERE channel = p_channel ORDER BY id DESC OFFSET p_keep LIMIT 1;
    IF cut IS NOT NULL THEN
      DELETE FROM cascade_edge_bus WHERE channel = p_channel AND id <= cut;
      INSERT INTO cascade_edge_bus_pruned AS p (channel, upto) VALUES (p_channel, cut)
        ON CONFLICT (channel) DO UPDATE SET upto = greatest(p.upto, excluded.upto);
    END IF;
  END IF;
  RETURN new_id;
END
$cascade_edge$;
`;
}

const READ = `SELECT coalesce((SELECT upto FROM cascade_edge_bus_pruned WHERE channel = $1), 0)::text AS upto,
       coalesce((SELECT max(id) FROM cascade_edge_bus WHERE channel = $1), 0)::text AS head,
       (SELECT coalesce(json_agg(json_build_array(r.id::text, r.message) ORDER BY r.id), '[]'::json)
          FROM (SELECT id, message FROM cascade_edge_bus WHERE channel = $1 AND id > $2::bigint ORDER BY id LIMIT $3) r) AS rows`;

const FATAL = new Set(["MISSING_DEPENDENCY", "INVALID_OPTIONS"]);
const max = (a, b) => (BigInt(a) > BigInt(b) ? a : b);

export async function createTransport(options, h) {
  const {
    url,
    channel,
    subscribe,
    maxLog = 10000,
    pruneEvery = 100,
    pollIntervalMs = 5000,
    minBackoffMs = 50,
    maxBackoffMs = 2000,
    install = true,
    pgOptions = {},
  } = options;
  if (!Number.isInteger(maxLog) || maxLog < 1) throw codedError("INVALID_OPTIONS", "`maxLog` (rows the log keeps per channel) must be an integer ≥ 1");
  if (!Number.isInteger(pruneEvery) || pruneEvery < 1) throw codedError("INVALID_OPTIONS", "`pruneEvery` must be an integer ≥ 1");
  const pg = await loadPeer("pg", "a postgres:// bus");
  const topic = `cascade_edge_bus:${channel}`;
  const where = `PostgreSQL at ${safeUrl(url)}`;
  let lastError = null;

  let closed = false;
  let client = null;
  let cursor = null; // the last log id this member read; null before the first read
  let wakePending = false;
  let wakeNow = null;
  let started;
  let failed;
  const firstUp = new Promise((resolve, reject) => {
    started = resolve;
    failed = reject;
  });

  const wake = () => {
    wakePending = true;
    wakeNow?.();
  };
  const waitForWake = (ms, broken) =>
    new Promise((resolve) => {
      if (wakePending || closed) return resolve();
      const timer = setTimeout(done, ms);
      broken.then(done);
      function done() {
        clearTimeout(timer);
        wakeNow = null;
        resolve();
      }
      wakeNow = done;
    });

  async function read(c, source) {
    for (;;) {
      wakePending = false;
      const res = await c.query(READ, [channel, cursor ?? "0", PAGE]);
      const { upto, head, rows } = res.rows[0];
      if (cursor === null) {
        cursor = max(head, upto);
        return;
      }
      if (BigInt(upto) > BigInt(cursor)) {
        h.gap(`the log was pruned past id ${cursor}, the last row this member read (maxLog rows are kept)`);
        cursor = max(head, upto);
        return;
      }
      for (const [id, text] of rows) {
        cursor = id;
        let message;
        try {
          message = JSON.parse(text);
        } catch {
          h.log(`ignored unreadable log row ${id}`);
          continue;
        }
        h.deliver(message, { id, source });
      }
      if (rows.length < PAGE) return;
    }
  }

  async function run() {
    let attempt = 0;
    let first = true;
    while (!closed) {
      let c = null;
      try {
        c = new pg.Client({ connectionString: url, keepAlive: true, connectionTimeoutMillis: 5000, application_name: `cascade-edge-bus-${h.origin}`, ...pgOptions });
        let broken = null;
        const whenBroken = new Promise((resolve) => {
          c.on("error", (error) => {
            broken ??= error;
            resolve();
          });
          c.on("end", () => {
            broken ??= new Error("connection ended");
            resolve();
          });
        });
        c.on("notification", (n) => {
          if (n.channel === topic) wake();
        });
        await c.connect();
        if (first && install) await c.query(`BEGIN; SELECT pg_advisory_xact_lock(hashtext('cascade_edge_bus'), 0); ${busInstallSql()} COMMIT;`);
        if (subscribe) {
          await c.query(`LISTEN "${topic}"`);
          await read(c, "catchup"); // the first time: only sets the cursor
        }
        client = c;
        attempt = 0;
        first = false;
        h.up();
        started();
        h.writable();
        while (!closed && !broken) {
          await waitForWake(pollIntervalMs, whenBroken);
          if (closed || broken) break;
          if (subscribe) await read(c, "live");
          else wakePending = false;
        }
        if (broken && !closed) throw broken;
      } catch (error) {
        client = null;
        c?.end().catch(() => {});
        if (closed) break;
        // A refused password or certificate, or a missing grant, will not cure itself: fail the
        // start with a coded error (later, it is logged and retried like any lost connection).
        const refused = FATAL.has(error?.code) ? error : refusal(error, where);
        if (first && refused) {
          failed(refused);
          return;
        }
        lastError = refused?.message ?? error?.message ?? String(error);
        h.down(refused ?? error);
        await sleep(Math.min(maxBackoffMs, minBackoffMs * 2 ** Math.min(attempt++, 16)));
      }
    }
    await client?.end().catch(() => {});
  }

  let loop = null;
  return {
    start() {
      loop = run();
      return firstUp;
    },
    /** Why the first connection is not up yet (the last error), or null. */
    lastError: () => lastError,
    async send(message) {
      if (!client) throw codedError("BUS_DISCONNECTED", "not connected to PostgreSQL");
      const res = await client.query("SELECT cascade_edge_bus_publish($1, $2, $3, $4)::text AS id", [channel, JSON.stringify(message), maxLog, pruneEvery]);
      return res.rows[0].id;
    },
    async close() {
      closed = true;
      const c = client;
      client = null;
      wake();
      await c?.end().catch(() => {});
      await loop;
    },
  };
}
