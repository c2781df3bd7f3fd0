// cascade-edge/bus on PostgreSQL: three member processes per scenario against a real PostgreSQL
// server (Debian's), started here on a temporary data directory and a random port on 127.0.0.1.
// Needs pkg/ built (`node scripts/build-pkg.mjs`) and `pg` (a dev dependency).
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import pg from "pg";
import { allHold, closeAll, FILL, fleetOf, fleetScenarios } from "./support/bus-scenarios.mjs";
import { postgresMissing, startPostgres } from "./support/postgres.mjs";

const skip = postgresMissing();

describe("cascade-edge/bus on PostgreSQL", { skip }, () => {
  let server;
  const sql = async (text, params) => {
    const client = new pg.Client({ connectionString: server.url });
    await client.connect();
    try {
      return (await client.query(text, params)).rows;
    } finally {
      await client.end();
    }
  };
  const terminate = (memberIds) =>
    sql("SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE application_name = ANY($1)", [memberIds.map((id) => `cascade-edge-bus-${id}`)]);

  before(async () => {
    server = await startPostgres();
  });
  after(() => server?.stop());

  fleetScenarios({
    engine: "PostgreSQL",
    skip,
    server: () => server,
    async cutSubscribers(members) {
      const killed = await terminate(members.map((m) => m.memberId));
      assert.equal(killed.length, 3, "each member has one connection");
    },
    halt: () => server.halt(),
    resume: () => server.start(),
    async afterOutage(members) {
      // The log survived the restart: b and c read the set from their cursors, no clear needed.
      await allHold(members, ["comment:9", "user:2"], "all three to drop the set published during the outage");
      for (const m of members.slice(1)) {
        const s = await m.call("stats");
        assert.equal(s.clears, 0, `${m.name} proved it missed nothing`);
        assert.equal(s.received, 1);
      }
    },
    report: (what, numbers) => console.log(`# ${what}: ${JSON.stringify(numbers)}`),
  });

  test("PostgreSQL: a member whose cursor was pruned clears its cache instead of trusting the rest", async () => {
    const members = await fleetOf(server.url, "pruned", { maxLog: 3, pruneEvery: 1, b: { minBackoffMs: 1500, maxBackoffMs: 1500 } });
    try {
      for (const m of members) await m.call("fill", { keys: FILL });
      const [a, b, c] = members;
      await terminate([b.memberId]);
      for (let i = 0; i < 5; i++) await a.call("publish", { set: { keys: [`post:${i}`] } });
      await allHold([a, c], ["comment:9", "user:1", "user:2"], "a and c to apply the five sets");
      await allHold([b], [], "b to clear its cache");
      const s = await b.call("stats");
      assert.equal(s.clears, 1);
      assert.equal(s.received, 0);
      assert.equal((await c.call("stats")).clears, 0);
      const [{ n }] = await sql("SELECT count(*)::int AS n FROM cascade_edge_bus WHERE channel = 'pruned'");
      assert.equal(n, 3, "the log keeps maxLog rows");
    } finally {
      await closeAll(members);
    }
  });

  test("PostgreSQL: a set far over NOTIFY's 8000 bytes reaches every member", async () => {
    const keys = Array.from({ length: 2000 }, (_, i) => `post:${i}:comments:page:${i}`);
    const members = await fleetOf(server.url, "large");
    try {
      for (const m of members) await m.call("fill", { keys: [...keys, "user:1"] });
      await members[0].call("publish", { set: { keys } });
      await allHold(members, ["user:1"], "all three to drop 2000 keys");
    } finally {
      await closeAll(members);
    }
  });
});
