// Who may purge (RELIABILITY.md, "Security"): signed purge requests (signPurgeRequest /
// verifyPurgeRequest over Web Crypto), bearer tokens compared in constant time, and httpPurge
// signing what the PostgreSQL watcher sends. Real Fetch API Requests, the built package.
// Needs pkg/ (node scripts/build-pkg.mjs).
import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, test } from "node:test";
import { root } from "./support/installed.mjs";

const api = await import(join(root, "pkg", "node.js"));
const { signPurgeRequest, verifyPurgeRequest, createReplayGuard, verifyBearer, timingSafeEqualText } = api;
const { httpPurge } = await import(join(root, "pkg", "pg.js"));

const SECRET = "purge-secret-8b1e0c";
const BODY = JSON.stringify({ keys: ["user:1", "user:1:posts"], patterns: ["post:author:*"], tags: [] });
const NOW = 1_735_689_600_000;

const post = (body, headers = {}) => new Request("https://receiver.test/purge", { method: "POST", headers: { "content-type": "application/json", ...headers }, body });
const fresh = (extra = {}) => ({ now: () => NOW, replay: createReplayGuard(), ...extra });

async function refused(promise, code, status) {
  await assert.rejects(promise, (error) => {
    assert.equal(error.code, code, error.message);
    assert.equal(error.status, status);
    return true;
  });
}

describe("signed purge requests", () => {
  test("a signed request verifies and yields the exact body; every entry exports the verifier", async () => {
    const headers = await signPurgeRequest(BODY, SECRET, { timestamp: NOW });
    assert.equal(headers["x-cascade-edge-timestamp"], String(NOW));
    assert.match(headers["x-cascade-edge-signature"], /^v1=[0-9a-f]{64}$/);
    const verified = await verifyPurgeRequest(post(BODY, headers), SECRET, fresh());
    assert.deepEqual(verified, { body: BODY, timestamp: NOW, signature: headers["x-cascade-edge-signature"].slice(3) });
    // Non-ASCII bodies: the HMAC is over the bytes sent.
    const text = JSON.stringify({ keys: ["user:Zoë"] });
    assert.equal((await verifyPurgeRequest(post(text, await signPurgeRequest(text, SECRET, { timestamp: NOW })), SECRET, fresh())).body, text);
    for (const entry of ["node.js", "browser.js", join("edge", "node.js")]) {
      const mod = await import(join(root, "pkg", entry));
      for (const name of ["signPurgeRequest", "verifyPurgeRequest", "createReplayGuard", "verifyBearer"]) assert.equal(typeof mod[name], "function", `${entry}: ${name}`);
    }
  });

  test("forged requests are refused: no signature, another secret, a changed body or timestamp, malformed hex", async () => {
    const headers = await signPurgeRequest(BODY, SECRET, { timestamp: NOW });
    const guard = createReplayGuard();
    const opts = fresh({ replay: guard });
    await refused(verifyPurgeRequest(post(BODY), SECRET, opts), "UNSIGNED_REQUEST", 401);
    await refused(verifyPurgeRequest(post(BODY, await signPurgeRequest(BODY, "another-secret", { timestamp: NOW })), SECRET, opts), "BAD_SIGNATURE", 401);
    const widened = BODY.replace('"user:1"', '"*"');
    await refused(verifyPurgeRequest(post(widened, headers), SECRET, opts), "BAD_SIGNATURE", 401);
    await refused(verifyPurgeRequest(post(BODY, { ...headers, "x-cascade-edge-timestamp": String(NOW + 1) }), SECRET, opts), "BAD_SIGNATURE", 401);
    await refused(verifyPurgeRequest(post(BODY, { ...headers, "x-cascade-edge-signature": "v1=zz" }), SECRET, opts), "BAD_SIGNATURE", 401);
    await refused(verifyPurgeRequest(post(BODY, { ...headers, "x-cascade-edge-signature": headers["x-cascade-edge-signature"].replace("v1=", "v0=") }), SECRET, opts), "BAD_SIGNATURE", 401);
    // Forgeries never enter the replay guard, so they cannot fill it.
    assert.equal(guard.size, 0);
    // The genuine request still goes through afterwards.
    assert.equal((await verifyPurgeRequest(post(BODY, headers), SECRET, opts)).body, BODY);
  });

  test("a replayed request is refused within the window; outside it, the timestamp refuses it", async () => {
    const guard = createReplayGuard();
    const headers = await signPurgeRequest(BODY, SECRET, { timestamp: NOW });
    await verifyPurgeRequest(post(BODY, headers), SECRET, fresh({ replay: guard }));
    await refused(verifyPurgeRequest(post(BODY, headers), SECRET, fresh({ replay: guard })), "REPLAYED_REQUEST", 401);
    await refused(verifyPurgeRequest(post(BODY, headers), SECRET, fresh({ replay: guard, now: () => NOW + 299_000 })), "REPLAYED_REQUEST", 401);
    await refused(verifyPurgeRequest(post(BODY, headers), SECRET, fresh({ replay: guard, now: () => NOW + 300_001 })), "STALE_REQUEST", 401);
    // The same body signed again (a retry a millisecond later) is a new request.
    const retry = await signPurgeRequest(BODY, SECRET, { timestamp: NOW + 1 });
    assert.equal((await verifyPurgeRequest(post(BODY, retry), SECRET, fresh({ replay: guard }))).body, BODY);
    // The default guard (one per process) refuses a replay too.
    const once = await signPurgeRequest(BODY, SECRET);
    await verifyPurgeRequest(post(BODY, once), SECRET);
    await refused(verifyPurgeRequest(post(BODY, once), SECRET), "REPLAYED_REQUEST", 401);
  });

  test("timestamps outside ±tolerance are refused before the body is read; the tolerance is an option", async () => {
    for (const [offset, ok] of [[-300_000, true], [300_000, true], [-300_001, false], [300_001, false]]) {
      const headers = await signPurgeRequest(BODY, SECRET, { timestamp: NOW + offset });
      const result = verifyPurgeRequest(post(BODY, headers), SECRET, fresh());
      if (ok) assert.equal((await result).body, BODY);
      else await refused(result, "STALE_REQUEST", 401);
    }
    const headers = await signPurgeRequest(BODY, SECRET, { timestamp: NOW - 20_000 });
    await refused(verifyPurgeRequest(post(BODY, headers), SECRET, fresh({ toleranceMs: 10_000 })), "STALE_REQUEST", 401);
    await refused(verifyPurgeRequest(post(BODY, { ...headers, "x-cascade-edge-timestamp": "1e12" }), SECRET, fresh()), "STALE_REQUEST", 401);
  });

  test("bodies over maxBytes are refused (declared or streamed); a full guard refuses rather than forgets", async () => {
    const big = JSON.stringify({ keys: Array.from({ length: 200 }, (_, i) => `user:${i}`) });
    const headers = await signPurgeRequest(big, SECRET, { timestamp: NOW });
    await refused(verifyPurgeRequest(post(big, headers), SECRET, fresh({ maxBytes: 1000 })), "REQUEST_TOO_LARGE", 413);
    const stream = new ReadableStream({
      start(c) {
        c.enqueue(new TextEncoder().encode(big));
        c.close();
      },
    });
    const streamed = new Request("https://receiver.test/purge", { method: "POST", headers, body: stream, duplex: "half" });
    assert.equal(streamed.headers.get("content-length"), null);
    await refused(verifyPurgeRequest(streamed, SECRET, fresh({ maxBytes: 1000 })), "REQUEST_TOO_LARGE", 413);

    const guard = createReplayGuard({ maxEntries: 2 });
    for (let i = 0; i < 2; i++) await verifyPurgeRequest(post(BODY, await signPurgeRequest(BODY, SECRET, { timestamp: NOW + i })), SECRET, fresh({ replay: guard }));
    await refused(verifyPurgeRequest(post(BODY, await signPurgeRequest(BODY, SECRET, { timestamp: NOW + 2 })), SECRET, fresh({ replay: guard })), "REPLAY_CACHE_FULL", 503);
    // Once the window has passed, expired signatures make room.
    const later = NOW + 400_000;
    const headersLater = await signPurgeRequest(BODY, SECRET, { timestamp: later });
    assert.equal((await verifyPurgeRequest(post(BODY, headersLater), SECRET, fresh({ replay: guard, now: () => later }))).body, BODY);
    assert.equal(guard.size, 1);
  });

  test("a rotation accepts the old and the new secret; an empty secret is an error, not an open door", async () => {
    const rotation = ["new-secret-1", SECRET];
    for (const s of rotation) {
      const headers = await signPurgeRequest(BODY, s, { timestamp: NOW });
      assert.equal((await verifyPurgeRequest(post(BODY, headers), rotation, fresh())).body, BODY);
    }
    for (const bad of ["", [], [""], undefined, 42]) {
      await assert.rejects(verifyPurgeRequest(post(BODY, await signPurgeRequest(BODY, SECRET)), bad, fresh()), { code: "INVALID_OPTIONS" });
      await assert.rejects(signPurgeRequest(BODY, bad), { code: "INVALID_OPTIONS" });
    }
  });
});

describe("bearer tokens", () => {
  test("verifyBearer accepts only the exact token, and nothing when no token is configured", async () => {
    const req = (value) => new Request("https://x.test/", { headers: value === undefined ? {} : { authorization: value } });
    assert.equal(await verifyBearer(req("Bearer s3cret-token"), "s3cret-token"), true);
    for (const given of [undefined, "", "Bearer ", "Bearer s3cret-toke", "Bearer s3cret-token2", "bearer s3cret-token", "Basic s3cret-token", "s3cret-token"]) {
      assert.equal(await verifyBearer(req(given), "s3cret-token"), false, String(given));
    }
    for (const unset of [undefined, ""]) assert.equal(await verifyBearer(req("Bearer "), unset), false);
    assert.equal(await timingSafeEqualText("abc", "abc"), true);
    assert.equal(await timingSafeEqualText("abc", "abcd"), false);
  });
});

describe("httpPurge sends credentials", () => {
  test("with a secret, each request (retries included) is signed and verifies; headers go along", async () => {
    const guard = createReplayGuard();
    const seen = [];
    const fetch = async (url, init) => {
      const request = new Request(url, init);
      const auth = request.headers.get("authorization");
      const { body } = await verifyPurgeRequest(request, SECRET, { replay: guard });
      seen.push({ auth, body: JSON.parse(body) });
      return new Response("ok");
    };
    const purge = httpPurge("https://receiver.test/purge", { fetch, secret: SECRET, headers: { authorization: "Bearer t0ken" } });
    const set = { keys: ["user:1"], patterns: [], tags: ["user:1"] };
    await purge(set, { ids: ["7"] });
    await purge(set, { ids: ["7"] }); // the watcher's retry of the same batch: signed anew, not a replay
    assert.deepEqual(seen.map((s) => s.body.outboxIds), [["7"], ["7"]]);
    assert.deepEqual(seen.map((s) => s.auth), ["Bearer t0ken", "Bearer t0ken"]);
  });

  test("credentials never show in its errors: none in the URL, and a failure names the URL without its query", async () => {
    assert.throws(() => httpPurge("https://user:hunter2@receiver.test/purge"), (error) => error.code === "INVALID_OPTIONS" && !error.message.includes("hunter2"));
    const purge = httpPurge("https://receiver.test/purge?token=hunter2", { fetch: async () => new Response("no", { status: 401 }), headers: { authorization: "Bearer hunter3" } });
    await assert.rejects(purge({ keys: ["user:1"], patterns: [], tags: [] }), (error) => {
      assert.equal(error.code, "PURGE_FAILED");
      assert.equal(error.message, "POST https://receiver.test/purge answered HTTP 401: no");
      return true;
    });
  });
});
