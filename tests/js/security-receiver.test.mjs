// examples/purge-receiver in real workerd (Miniflare): a signed purge deletes the KV keys it
// names; a forged, replayed, stale or unsigned one is refused with 401 and nothing is deleted; the
// limits (items and bytes per request and per minute, purge-everything) answer 413, 429 and 403,
// again deleting nothing. Needs pkg/ (node scripts/build-pkg.mjs).
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, test } from "node:test";
import { Miniflare } from "miniflare";
import { buildReceiver } from "../../examples/purge-receiver/build.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const { signPurgeRequest } = await import(join(root, "pkg", "node.js"));
const toml = readFileSync(join(root, "examples", "purge-receiver", "wrangler.toml"), "utf8");
const compatibilityDate = toml.match(/^compatibility_date = "([^"]+)"/m)[1];
const SECRET = "receiver-secret-3f9a61";
const CACHED = ["user:1", "user:1:posts", "user:2", "user:10", "post:9", "post:author:1", "post:author:2"];

let built;
let mf;
let persist;

before(async () => {
  built = await buildReceiver({ outdir: mkdtempSync(join(tmpdir(), "cascade-edge-receiver-")) });
  persist = mkdtempSync(join(existsSync("/dev/shm") ? "/dev/shm" : tmpdir(), "cascade-edge-receiver-kv-"));
  const worker = (name, bindings) => ({
    name,
    modules: true,
    scriptPath: built.script,
    modulesRoot: built.outdir,
    modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"] }],
    compatibilityDate,
    kvNamespaces: { CACHE_KV: `kv-${name}` },
    bindings,
  });
  mf = new Miniflare({
    kvPersist: persist,
    workers: [
      worker("main", { PURGE_SECRET: SECRET, MAX_ITEMS_PER_REQUEST: "20", MAX_BODY_BYTES: "4096", MAX_ITEMS_PER_MINUTE: "1000000" }),
      worker("tight", { PURGE_SECRET: SECRET, MAX_ITEMS_PER_MINUTE: "5" }),
      worker("open", { PURGE_SECRET: SECRET, ALLOW_PURGE_ALL: "1" }),
      worker("unset", {}),
    ],
  });
  await mf.ready;
});

after(async () => {
  await mf?.dispose();
  if (persist) rmSync(persist, { recursive: true, force: true });
  if (built) rmSync(built.outdir, { recursive: true, force: true });
});

async function seed(name) {
  const kv = await mf.getKVNamespace("CACHE_KV", name);
  for (const key of (await kv.list()).keys) await kv.delete(key.name);
  for (const key of CACHED) await kv.put(key, "cached");
}
const left = async (name) => (await (await mf.getKVNamespace("CACHE_KV", name)).list()).keys.map((k) => k.name).sort();

async function send(name, body, headers) {
  const res = await (await mf.getWorker(name)).fetch("http://receiver.local/purge", { method: "POST", headers: { "content-type": "application/json", ...headers }, body });
  return { status: res.status, headers: res.headers, body: await res.json() };
}
const signed = async (body, extra = {}) => ({ body, headers: await signPurgeRequest(body, extra.secret ?? SECRET, extra) });

test("a signed purge deletes exactly what it names; its replay is refused and deletes nothing", async () => {
  await seed("main");
  const req = await signed(JSON.stringify({ keys: ["user:1"], patterns: ["post:author:*"], tags: ["user:1"] }));
  const ok = await send("main", req.body, req.headers);
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
  assert.deepEqual(await left("main"), ["post:9", "user:10", "user:2"]);
  // The keys come back (a later read re-caches them); the replay must not delete them again.
  await seed("main");
  const replay = await send("main", req.body, req.headers);
  assert.deepEqual([replay.status, replay.body.error.code], [401, "REPLAYED_REQUEST"]);
  assert.deepEqual(await left("main"), [...CACHED].sort());
});

test("forged, stale and unsigned purges are refused with 401 and nothing is deleted", async () => {
  await seed("main");
  const body = JSON.stringify({ keys: ["user:2"], patterns: [], tags: [] });
  const genuine = await signed(body);
  const cases = [
    ["UNSIGNED_REQUEST", body, {}],
    ["BAD_SIGNATURE", body, (await signed(body, { secret: "guessed-secret" })).headers],
    ["BAD_SIGNATURE", JSON.stringify({ keys: ["user:1"], patterns: [], tags: [] }), genuine.headers],
    ["STALE_REQUEST", body, (await signed(body, { timestamp: Date.now() - 301_000 })).headers],
    ["UNSIGNED_REQUEST", body, { authorization: `Bearer ${SECRET}` }],
  ];
  for (const [code, sent, headers] of cases) {
    const res = await send("main", sent, headers);
    assert.deepEqual([res.status, res.body.error.code], [401, code], JSON.stringify(res.body));
  }
  // No PURGE_SECRET configured: nothing is accepted, even a well-signed request.
  const unset = await send("unset", genuine.body, genuine.headers);
  assert.equal(unset.status, 401);
  assert.deepEqual(await left("main"), [...CACHED].sort());
});

test("limits: items and bytes per request (413), purge-everything (403 unless allowed), the minute's budget (429)", async () => {
  await seed("main");
  const tooMany = await signed(JSON.stringify({ keys: Array.from({ length: 21 }, (_, i) => `user:${i}`) }));
  assert.deepEqual([(await send("main", tooMany.body, tooMany.headers)).status], [413]);
  const tooBig = await signed(JSON.stringify({ keys: ["user:1"], pad: "x".repeat(5000) }));
  const big = await send("main", tooBig.body, tooBig.headers);
  assert.deepEqual([big.status, big.body.error.code], [413, "REQUEST_TOO_LARGE"]);
  for (const item of [{ patterns: ["*"] }, { keys: ["*"] }, { patterns: ["*:1"] }, { tags: ["*"] }]) {
    const all = await signed(JSON.stringify(item));
    const res = await send("main", all.body, all.headers);
    assert.deepEqual([res.status, res.body.error.code], [403, "PURGE_ALL_REFUSED"], JSON.stringify(item));
  }
  assert.deepEqual(await left("main"), [...CACHED].sort());

  // Allowed explicitly (ALLOW_PURGE_ALL=1): a `*` purge goes through.
  await seed("open");
  const all = await signed(JSON.stringify({ patterns: ["*"] }));
  assert.equal((await send("open", all.body, all.headers)).status, 200);
  assert.deepEqual(await left("open"), []);

  // Five items a minute: the first three-key purge passes, the next is refused with Retry-After.
  await seed("tight");
  const first = await signed(JSON.stringify({ keys: ["user:1", "user:2", "user:10"] }));
  assert.equal((await send("tight", first.body, first.headers)).status, 200);
  const second = await signed(JSON.stringify({ keys: ["post:9", "post:author:1", "post:author:2"] }));
  const limited = await send("tight", second.body, second.headers);
  assert.deepEqual([limited.status, limited.body.error.code], [429, "RATE_LIMITED"]);
  assert.ok(Number(limited.headers.get("retry-after")) >= 1);
  // user:1 takes its subtree (user:1:posts) with it; user:10 is not below user:1.
  assert.deepEqual(await left("tight"), ["post:9", "post:author:1", "post:author:2"]);
});
