// purgeFastly against a recording HTTP server on 127.0.0.1.
import { test } from "node:test";
import assert from "node:assert/strict";
import { purgeFastly } from "../../pkg-template/purge.js";
import { startRecorder, recordingSleep, tagsN, FASTLY_OK } from "./helpers/recorder.mjs";

async function withServer(script, fn) {
  const srv = await startRecorder(script);
  try {
    return await fn(srv);
  } finally {
    await srv.close();
  }
}

function config(srv, extra = {}) {
  const { sleep, delays } = recordingSleep();
  return { delays, cfg: { serviceId: "svc1", token: "fastly-token", apiBase: srv.base, sleep, random: () => 0.5, baseDelayMs: 100, timeoutMs: 1000, ...extra } };
}

test("fastly: 600 keys go out as 256, 256, 88 with Fastly-Key and a surrogate_keys body", async () => {
  await withServer(() => FASTLY_OK, async (srv) => {
    const keys = tagsN(600, "k");
    const { cfg, delays } = config(srv);
    const res = await purgeFastly(cfg, { tags: keys });
    assert.deepEqual(res.failed, []);
    assert.deepEqual(res.purged, keys);
    assert.deepEqual(srv.requests.map((r) => r.body.surrogate_keys.length), [256, 256, 88]);
    assert.deepEqual(srv.requests.flatMap((r) => r.body.surrogate_keys), keys);
    for (const r of srv.requests) {
      assert.equal(r.method, "POST");
      assert.equal(r.path, "/service/svc1/purge");
      assert.equal(r.headers["fastly-key"], "fastly-token");
      assert.equal(r.headers["content-type"], "application/json");
      assert.equal(r.headers["fastly-soft-purge"], undefined);
      assert.equal(r.headers.authorization, undefined);
    }
    assert.deepEqual(delays, [], "Fastly does not rate limit surrogate-key purges: no pacing by default");
  });
});

test("fastly: soft purge sends fastly-soft-purge: 1 (config or third argument)", async () => {
  await withServer(() => FASTLY_OK, async (srv) => {
    const { cfg } = config(srv);
    await purgeFastly(cfg, { tags: ["a"] }, { soft: true });
    await purgeFastly({ ...cfg, soft: true }, { tags: ["b"] });
    await purgeFastly({ ...cfg, soft: true }, { tags: ["c"] }, { soft: false });
    assert.deepEqual(srv.requests.map((r) => r.headers["fastly-soft-purge"]), ["1", "1", undefined]);
  });
});

test("fastly: 429 with Retry-After, a reset and a slow response are retried with the shared policy", async () => {
  const plan = [{ status: 429, headers: { "retry-after": "2" }, body: { msg: "slow down" } }, { reset: true }, { delayMs: 2000, ...FASTLY_OK }];
  await withServer((_, i) => plan[i] ?? FASTLY_OK, async (srv) => {
    const { cfg, delays } = config(srv, { timeoutMs: 500 });
    const res = await purgeFastly(cfg, { tags: ["a", "b"] });
    assert.deepEqual(res.failed, []);
    assert.deepEqual(res.purged, ["a", "b"]);
    assert.equal(srv.requests.length, 4);
    assert.deepEqual(delays, [2000, 100, 200]);
  });
});

test("fastly: a batch failing after maxRetries is reported failed, never purged; a 400 is not retried", async () => {
  await withServer(
    (req) => {
      const first = req.body.surrogate_keys[0];
      if (first === "k0256") return { status: 502, body: "bad gateway" };
      if (first === "k0512") return { status: 400, body: { msg: "Bad request", detail: "key too long" } };
      return FASTLY_OK;
    },
    async (srv) => {
      const keys = tagsN(600, "k");
      const { cfg } = config(srv, { maxRetries: 3 });
      const res = await purgeFastly(cfg, { tags: keys });
      assert.deepEqual(res.purged, keys.slice(0, 256));
      assert.deepEqual(res.failed.map((f) => f.item), keys.slice(256));
      assert.match(res.failed[0].error, /HTTP 502: bad gateway \(gave up after 4 attempts\)/);
      assert.match(res.failed[300].error, /HTTP 400: .*key too long/);
      assert.equal(srv.requests.filter((r) => r.body.surrogate_keys[0] === "k0256").length, 4);
      assert.equal(srv.requests.filter((r) => r.body.surrogate_keys[0] === "k0512").length, 1);
    },
  );
});

test("fastly: an unreachable API is a reported failure, not a throw", async () => {
  const srv = await startRecorder(() => FASTLY_OK);
  const base = srv.base;
  await srv.close(); // nothing listens there now
  const { sleep, delays } = recordingSleep();
  const res = await purgeFastly({ serviceId: "s", token: "t", apiBase: base, sleep, maxRetries: 1, random: () => 0 }, { tags: ["x"] });
  assert.deepEqual(res.purged, []);
  assert.equal(res.failed.length, 1);
  assert.match(res.failed[0].error, /network error/);
  assert.deepEqual(delays, []); // backoff 0 is not a sleep
});
