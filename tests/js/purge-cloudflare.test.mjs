// purgeCloudflare against a recording HTTP server on 127.0.0.1.
import { test } from "node:test";
import assert from "node:assert/strict";
import { purgeCloudflare, CLOUDFLARE_PLAN_LIMITS } from "../../pkg-template/purge.js";
import { startRecorder, recordingSleep, tagsN, CF_OK } from "./helpers/recorder.mjs";

const FIXED_NOW = Date.parse("2030-01-01T00:00:00Z");

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
  return {
    delays,
    cfg: {
      zoneId: "zone123",
      token: "secret-token",
      apiBase: `${srv.base}/client/v4`,
      sleep,
      random: () => 0.5,
      now: () => FIXED_NOW,
      baseDelayMs: 100,
      timeoutMs: 1000,
      ...extra,
    },
  };
}

test("cloudflare: 250 tags go out as 100, 100, 50 with bearer auth and JSON bodies", async () => {
  await withServer(() => CF_OK, async (srv) => {
    const tags = tagsN(250);
    const { cfg, delays } = config(srv);
    const res = await purgeCloudflare(cfg, { keys: ["user:1"], patterns: [], tags });
    assert.deepEqual(res.failed, []);
    assert.deepEqual(res.purged, tags);
    assert.deepEqual(srv.requests.map((r) => r.body.tags.length), [100, 100, 50]);
    assert.deepEqual(srv.requests.flatMap((r) => r.body.tags), tags);
    for (const r of srv.requests) {
      assert.equal(r.method, "POST");
      assert.equal(r.path, "/client/v4/zones/zone123/purge_cache");
      assert.equal(r.headers.authorization, "Bearer secret-token");
      assert.equal(r.headers["content-type"], "application/json");
      assert.deepEqual(Object.keys(r.body), ["tags"]);
    }
    assert.deepEqual(delays, [], "enterprise bucket: no pacing for 3 calls");
  });
});

test("cloudflare: 429 with Retry-After seconds, 500 and a connection reset are retried, then succeed", async () => {
  const plan = [{ status: 429, headers: { "retry-after": "3" }, body: { success: false, errors: [{ code: 971, message: "throttled" }] } }, { status: 500, body: "oops" }, { reset: true }];
  await withServer((_, i) => plan[i] ?? CF_OK, async (srv) => {
    const { cfg, delays } = config(srv);
    const res = await purgeCloudflare(cfg, { tags: ["a", "b"] });
    assert.deepEqual(res.failed, []);
    assert.deepEqual(res.purged, ["a", "b"]);
    assert.equal(srv.requests.length, 4);
    // Retry-After replaces the backoff; then full jitter: 0.5 * 100 * 2^1, 0.5 * 100 * 2^2.
    assert.deepEqual(delays, [3000, 100, 200]);
    assert.ok(srv.requests.every((r) => JSON.stringify(r.body) === JSON.stringify({ tags: ["a", "b"] })));
  });
});

test("cloudflare: Retry-After as an HTTP date is honoured", async () => {
  const plan = [{ status: 503, headers: { "retry-after": new Date(FIXED_NOW + 7000).toUTCString() }, body: "busy" }];
  await withServer((_, i) => plan[i] ?? CF_OK, async (srv) => {
    const { cfg, delays } = config(srv);
    const res = await purgeCloudflare(cfg, { tags: ["a"] });
    assert.deepEqual(res.purged, ["a"]);
    assert.deepEqual(delays, [7000]);
  });
});

test("cloudflare: a Retry-After beyond maxRetryAfterMs fails the batch instead of sleeping", async () => {
  await withServer(() => ({ status: 429, headers: { "retry-after": "3600" }, body: {} }), async (srv) => {
    const { cfg, delays } = config(srv);
    const res = await purgeCloudflare(cfg, { tags: ["a"] });
    assert.deepEqual(res.purged, []);
    assert.equal(res.failed.length, 1);
    assert.match(res.failed[0].error, /HTTP 429.*retry after 3600000ms/);
    assert.deepEqual(delays, []);
    assert.equal(srv.requests.length, 1);
  });
});

test("cloudflare: a response slower than timeoutMs is aborted and retried", async () => {
  const plan = [{ delayMs: 2000, ...CF_OK }];
  await withServer((_, i) => plan[i] ?? CF_OK, async (srv) => {
    const { cfg, delays } = config(srv, { timeoutMs: 500 });
    const started = Date.now();
    const res = await purgeCloudflare(cfg, { tags: ["a"] });
    assert.deepEqual(res.failed, []);
    assert.deepEqual(res.purged, ["a"]);
    assert.equal(srv.requests.length, 2);
    assert.deepEqual(delays, [50]); // full jitter after the first attempt: 0.5 * 100 * 2^0
    assert.ok(Date.now() - started < 1500, "did not wait for the slow response");
  });
});

test("cloudflare: success:false on HTTP 200 is a failure, not retried; other batches still purge", async () => {
  const bad = { status: 200, body: { success: false, errors: [{ code: 1134, message: "invalid tag" }] } };
  await withServer((_, i) => (i === 1 ? bad : CF_OK), async (srv) => {
    const tags = tagsN(250);
    const { cfg } = config(srv);
    const res = await purgeCloudflare(cfg, { tags });
    assert.equal(srv.requests.length, 3);
    assert.deepEqual(res.purged, [...tags.slice(0, 100), ...tags.slice(200)]);
    assert.deepEqual(res.failed.map((f) => f.item), tags.slice(100, 200));
    assert.match(res.failed[0].error, /success: false: 1134 invalid tag/);
  });
});

test("cloudflare: a batch failing after maxRetries is in failed and never in purged", async () => {
  await withServer((req) => (req.body.tags[0] === "t0100" ? { status: 500, body: { success: false, errors: [{ code: 10000, message: "boom" }] } } : CF_OK), async (srv) => {
    const tags = tagsN(250);
    const { cfg, delays } = config(srv, { maxRetries: 2 });
    const res = await purgeCloudflare(cfg, { tags });
    const failedItems = res.failed.map((f) => f.item);
    assert.deepEqual(failedItems, tags.slice(100, 200));
    assert.ok(!res.purged.some((t) => failedItems.includes(t)));
    assert.deepEqual(res.purged, [...tags.slice(0, 100), ...tags.slice(200)]);
    assert.match(res.failed[0].error, /HTTP 500: 10000 boom \(gave up after 3 attempts\)/);
    assert.equal(srv.requests.filter((r) => r.body.tags[0] === "t0100").length, 3);
    assert.deepEqual(delays, [50, 100]);
  });
});

test("cloudflare: 403 stops further calls; every item is reported failed", async () => {
  await withServer(() => ({ status: 403, body: { success: false, errors: [{ code: 10000, message: "Authentication error" }] } }), async (srv) => {
    const tags = tagsN(250);
    const { cfg } = config(srv);
    const res = await purgeCloudflare(cfg, { tags });
    assert.equal(srv.requests.length, 1);
    assert.deepEqual(res.purged, []);
    assert.deepEqual(res.failed.map((f) => f.item), tags);
    assert.match(res.failed[150].error, /not sent: an earlier call failed with HTTP 403/);
  });
});

test("cloudflare: free plan pacing keeps the call rate within its token bucket", async () => {
  await withServer(() => CF_OK, async (srv) => {
    const { cfg, delays } = config(srv, { plan: "free" });
    const tags = tagsN(3000); // 30 calls; the free bucket holds 25, then 5 per minute
    const res = await purgeCloudflare(cfg, { tags });
    assert.equal(res.purged.length, 3000);
    assert.equal(srv.requests.length, 30);
    assert.deepEqual(delays, [12000, 12000, 12000, 12000, 12000]);
    // The virtual timeline of calls never exceeds capacity + rate * window.
    const { capacity, refillPerSecond } = CLOUDFLARE_PLAN_LIMITS.free;
    const times = [];
    let t = 0;
    let d = 0;
    for (let i = 0; i < 30; i++) {
      if (i >= 25) t += delays[d++];
      times.push(t);
    }
    for (let a = 0; a < times.length; a++) {
      for (let b = a; b < times.length; b++) {
        assert.ok(b - a + 1 <= capacity + ((times[b] - times[a]) / 1000) * refillPerSecond + 1e-9);
      }
    }
  });
});

test("cloudflare: a custom rate limit paces retries too", async () => {
  const plan = [{ status: 500, body: "x" }];
  await withServer((_, i) => plan[i] ?? CF_OK, async (srv) => {
    const { cfg, delays } = config(srv, { rateLimit: { capacity: 1, refillPerSecond: 10 }, random: () => 0 });
    const res = await purgeCloudflare(cfg, { tags: tagsN(150) });
    assert.equal(res.purged.length, 150);
    // call 1 (token), backoff 0, retry waits 100ms for a token, next batch waits 100ms.
    assert.deepEqual(delays, [100, 100]);
  });
});

test("cloudflare: prefixes from keyToPrefix go in their own calls", async () => {
  await withServer(() => CF_OK, async (srv) => {
    const { cfg } = config(srv, {
      keyToPrefix: (k) => (k.includes("*") ? null : `example.com/${k.replaceAll(":", "/")}`),
    });
    const res = await purgeCloudflare(cfg, { keys: ["user:1", "post:9"], patterns: ["post:*:comments"], tags: ["user:1"] });
    assert.deepEqual(srv.requests.map((r) => r.body), [{ tags: ["user:1"] }, { prefixes: ["example.com/user/1", "example.com/post/9"] }]);
    assert.deepEqual(res.purged, ["user:1", "example.com/user/1", "example.com/post/9"]);
  });
});

test("cloudflare: no tags means no call", async () => {
  await withServer(() => CF_OK, async (srv) => {
    const { cfg } = config(srv);
    const res = await purgeCloudflare(cfg, { keys: ["user:1"], patterns: [], tags: [] });
    assert.deepEqual(res, { purged: [], failed: [] });
    assert.equal(srv.requests.length, 0);
  });
});
