// purgeVarnish against a real varnishd with vmod xkey (Debian's varnish and varnish-modules), started
// here on a free port of 127.0.0.1 with examples/varnish/default.vcl, in front of the GraphQL Yoga
// origin of examples/varnish/origin.mjs. X-Cache (set by the VCL) and the origin's resolver counts
// say what Varnish served from cache. Needs pkg/ built (`node scripts/build-pkg.mjs`).
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { root } from "./support/installed.mjs";
import { exampleVcl, freePort, startVarnish, varnishMissing } from "./support/varnish.mjs";

const skip = varnishMissing();
const { purgeVarnish, tagsForResponse, CascadeEngine } = await import(join(root, "pkg", "node.js"));
const { planVarnish, VARNISH_MAX_HEADER_BYTES } = await import(join(root, "pkg", "purge-varnish.js"));
const { createOrigin, typeDefs } = await import(join(root, "examples", "varnish", "origin.mjs"));
const edge = await import(join(root, "pkg", "edge", "node.js"));

const tagsN = (n, prefix = "t") => Array.from({ length: n }, (_, i) => `${prefix}:${String(i).padStart(5, "0")}`);
// The shared HTTP policy without its waits: tests never sleep through a backoff.
const fast = { sleep: async () => {}, random: () => 0, baseDelayMs: 1, timeoutMs: 5000 };

describe("planVarnish: what purgeVarnish would send", () => {
  test("2,000 tags split into header lines under the default 8000 bytes, in order, nothing lost", () => {
    const tags = tagsN(2000, "post");
    const plan = planVarnish({ tags: [...tags, tags[5]] });
    assert.equal(VARNISH_MAX_HEADER_BYTES, 8000);
    assert.deepEqual(plan.failed, []);
    assert.deepEqual(plan.batches.flatMap((b) => b.items), tags);
    assert.equal(plan.batches.length, 3); // 2,000 × 11 bytes = 22 KB of tags
    for (const b of plan.batches) {
      assert.equal(b.kind, "xkey-purge");
      const line = `${b.kind}: ${b.items.join(" ")}`;
      assert.ok(line.length <= 8000, `header line of ${line.length} bytes`);
      if (b !== plan.batches.at(-1)) assert.ok(line.length > 8000 - 12, "each full batch is packed to the limit");
    }
    assert.equal(planVarnish({ tags }, { soft: true }).batches[0].kind, "xkey-softpurge");
    assert.equal(planVarnish({ tags }, { soft: true, header: "x-purge" }).batches[0].kind, "x-purge");
    assert.equal(planVarnish({ tags }, { maxHeaderBytes: 100 }).batches.every((b) => `xkey-purge: ${b.items.join(" ")}`.length <= 100), true);
  });

  test("tags xkey would split or a header cannot carry are failed, never sent; bad options throw", () => {
    const plan = planVarnish({ tags: ["ok:1", "two words", "a,b", "", "é", "x".repeat(90), "line\nbreak"] }, { maxHeaderBytes: 100 });
    assert.deepEqual(plan.batches, [{ kind: "xkey-purge", items: ["ok:1"] }]);
    assert.deepEqual(plan.failed.map((f) => f.item), ["two words", "a,b", "", "é", "x".repeat(90), "line\nbreak"]);
    assert.match(plan.failed[4].error, /longer than the header allows \(90 > 88 bytes/);
    assert.throws(() => planVarnish({ tags: [] }, { maxHeaderBytes: 0 }), /maxHeaderBytes/);
    assert.throws(() => planVarnish({ tags: [] }, { header: "bad header" }), /header must be an HTTP header name/);
    assert.throws(() => planVarnish({ tags: "post:1" }), /set.tags must be an array/);
    assert.rejects(() => purgeVarnish({ url: "varnish:6081" }, { tags: [] }), /url must be the http\(s\) URL/);
  });

  test("exported from cascade-edge and cascade-edge/edge", () => {
    assert.equal(typeof purgeVarnish, "function");
    assert.equal(typeof edge.purgeVarnish, "function");
  });
});

let varnish;
let origin;
let originPort;

async function get(query, variables) {
  const u = new URL("graphql", varnish.url);
  u.searchParams.set("query", query);
  if (variables) u.searchParams.set("variables", JSON.stringify(variables));
  const res = await fetch(u, { headers: { accept: "application/json" } });
  const text = await res.text();
  if (!text.startsWith("{")) throw new Error(`${res.status} ${text.slice(0, 600)}`);
  return { status: res.status, cache: res.headers.get("x-cache"), xkey: res.headers.get("xkey"), body: JSON.parse(text) };
}

async function post(query, variables) {
  const res = await fetch(new URL("graphql", varnish.url), {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json" },
    body: JSON.stringify({ query, variables }),
  });
  return { status: res.status, cache: res.headers.get("x-cache"), body: await res.json() };
}

const ADA = "{ user(id: \"1\") { __typename id name posts { __typename id title } } }";
const BOB = "{ user(id: \"2\") { __typename id name posts { __typename id title } } }";
const FIRST = "{ post(id: \"10\") { __typename id title author { __typename id name } } }";
const caches = async (...queries) => {
  const out = [];
  for (const q of queries) out.push((await get(q)).cache);
  return out;
};

before(async () => {
  if (skip) return;
  // The origin listens first, so varnishd's free port cannot be the origin's; its purges then go to
  // varnishd's address (purgeOptions is read at every purge).
  const purgeOptions = { ...fast, maxRetries: 1 };
  origin = createOrigin({ logger: () => {}, purgeOptions });
  originPort = await freePort();
  await new Promise((resolve) => origin.server.listen(originPort, "127.0.0.1", resolve));
  varnish = await startVarnish(exampleVcl(originPort));
  purgeOptions.url = varnish.url;
});

after(async () => {
  if (origin) await new Promise((resolve) => origin.server.close(resolve));
  await varnish?.stop();
});

describe("Varnish with vmod xkey in front of a GraphQL Yoga origin", { skip }, () => {
  test("GET queries are cached and tagged like tagsForResponse; POST mutations pass; mutations purge exactly", async () => {
    assert.deepEqual(await caches(ADA, BOB, FIRST), ["MISS", "MISS", "MISS"]);
    assert.deepEqual(await caches(ADA, BOB, FIRST), ["HIT", "HIT", "HIT"]);
    assert.deepEqual(origin.calls, { user: 2, post: 1 });
    // The origin's xkey is tagsForResponse's header (Varnish keeps it to itself).
    const engine = CascadeEngine.fromSchema(typeDefs);
    const direct = await (await fetch(`http://127.0.0.1:${originPort}/graphql?query=${encodeURIComponent(ADA)}`)).headers.get("xkey");
    assert.equal(direct, tagsForResponse(engine, (await get(ADA)).body, { format: "fastly" }).header);
    assert.equal(direct, "user:1 user:1:posts user:*:posts post:10");
    assert.equal((await get(ADA)).xkey, null);
    // The author object below says neither what it is nor which one: renaming them could not reach
    // this response, so it is not tagged, and Varnish does not cache it.
    const vague = "{ post(id: \"10\") { __typename id title author { name } } }";
    assert.equal((await fetch(`http://127.0.0.1:${originPort}/graphql?query=${encodeURIComponent(vague)}`)).headers.get("xkey"), null);
    assert.deepEqual(await caches(vague, vague), ["MISS", "MISS"]);
    origin.calls.user = origin.calls.post = 0;

    // A new post by ada: her post list goes; bob and post 10 stay.
    const created = await post("mutation { createPost(authorId: \"1\", title: \"new\") { id } }");
    assert.equal(created.cache, "PASS");
    assert.equal(created.body.data.createPost.id, "100");
    assert.deepEqual(origin.purges.at(-1).failed, []);
    assert.deepEqual(await caches(ADA, BOB, FIRST), ["MISS", "HIT", "HIT"]);
    assert.deepEqual((await get(ADA)).body.data.user.posts.map((p) => p.title), ["first", "new"]);

    // Renaming bob reaches bob's page only.
    await post("mutation { renameUser(id: \"2\", name: \"rob\") { id } }");
    assert.deepEqual(await caches(ADA, BOB, FIRST), ["HIT", "MISS", "HIT"]);
    assert.equal((await get(BOB)).body.data.user.name, "rob");

    // Moving post 10 from ada to bob: both lists and the post itself.
    await post("mutation { movePost(id: \"10\", authorId: \"2\") { id } }");
    assert.deepEqual(await caches(ADA, BOB, FIRST), ["MISS", "MISS", "MISS"]);
    assert.deepEqual(await caches(ADA, BOB, FIRST), ["HIT", "HIT", "HIT"]);
    assert.equal((await get(FIRST)).body.data.post.author.name, "rob");
    assert.deepEqual(origin.calls, { user: 4, post: 1 });
    // A mutation sent by GET is refused by the origin and never cached.
    const refused = await get("mutation { renameUser(id: \"1\", name: \"x\") { id } }");
    assert.equal(refused.status, 405);
    assert.equal(refused.cache, "MISS");
  });

  test("a soft purge serves the stale response once while Varnish refetches it in the background", async () => {
    const before = await get(FIRST);
    assert.equal((await get(FIRST)).cache, "HIT");
    const calls = origin.calls.post;
    origin.db.posts.get("10").title = "retitled"; // a write nobody purged yet
    const res = await purgeVarnish({ url: varnish.url, soft: true, ...fast }, { tags: ["post:10"] });
    assert.deepEqual(res, { purged: ["post:10"], failed: [] });
    const stale = await get(FIRST);
    assert.equal(stale.cache, "STALE");
    assert.deepEqual(stale.body, before.body);
    // The background fetch lands; from then on the new title is a hit, fetched exactly once.
    const deadline = Date.now() + 10000;
    let fresh;
    do {
      await new Promise((r) => setTimeout(r, 50));
      fresh = await get(FIRST);
    } while (fresh.body.data.post.title !== "retitled" && Date.now() < deadline);
    assert.equal(fresh.cache, "HIT");
    assert.equal(fresh.body.data.post.title, "retitled");
    assert.equal(origin.calls.post, calls + 1);
    // A hard purge, by contrast, leaves nothing to serve: the next request waits for the origin.
    origin.db.posts.get("10").title = "hard";
    assert.deepEqual((await purgeVarnish({ url: varnish.url, ...fast }, { tags: ["post:10"] })).failed, []);
    const miss = await get(FIRST);
    assert.equal(miss.cache, "MISS");
    assert.equal(miss.body.data.post.title, "hard");
  });

  test("a purge of 2,000 tags goes out as 3 requests under Varnish's header limit and reaches the last tag", async () => {
    await caches(ADA, BOB);
    assert.deepEqual(await caches(ADA, BOB), ["HIT", "HIT"]);
    const tags = [...tagsN(1999, "post"), "user:2"]; // 22 KB of tags; none of post:0xxxx is cached
    const sent = [];
    const recording = (url, init) => {
      sent.push(`${Object.keys(init.headers)[0]}: ${Object.values(init.headers)[0]}`);
      return fetch(url, init);
    };
    const res = await purgeVarnish({ url: varnish.url, fetch: recording, ...fast }, { tags });
    assert.deepEqual(res.failed, []);
    assert.deepEqual(res.purged, tags);
    assert.equal(sent.length, 3);
    assert.ok(sent.every((line) => line.length <= 8000));
    assert.ok(sent[2].endsWith(" user:2"));
    assert.deepEqual(await caches(ADA, BOB), ["HIT", "MISS"]);

    // The limit is Varnish's: one header line over http_req_hdr_len (8 KB) is refused with 400,
    // and every tag of that request is reported failed.
    await caches(BOB);
    const oneLine = [...tagsN(1499, "post"), "user:2"]; // 16.5 KB: one request with maxHeaderBytes 20000
    const tooBig = await purgeVarnish({ url: varnish.url, maxHeaderBytes: 20000, ...fast }, { tags: oneLine });
    assert.deepEqual(tooBig.purged, []);
    assert.deepEqual(tooBig.failed.map((f) => f.item), oneLine);
    assert.match(tooBig.failed[0].error, /^HTTP 400/);
    assert.deepEqual(await caches(ADA, BOB), ["HIT", "HIT"]);
  });

  test("varnishd down: every tag is failed (connection refused); restarted mid-run it serves and purges again", async () => {
    assert.deepEqual(await caches(ADA), ["HIT"]);
    await varnish.halt();
    const down = await purgeVarnish({ url: varnish.url, ...fast, maxRetries: 2 }, { tags: ["user:1", "user:1:posts"] });
    assert.deepEqual(down.purged, []);
    assert.deepEqual(down.failed.map((f) => f.item), ["user:1", "user:1:posts"]);
    assert.match(down.failed[0].error, /network error: .*ECONNREFUSED.*gave up after 3 attempts/);
    // A mutation while Varnish is down: the write stands, the origin reports the purge failure.
    await assert.rejects(post("mutation { renameUser(id: \"1\", name: \"ada2\") { id } }"));
    const direct = await fetch(`http://127.0.0.1:${originPort}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: "mutation { renameUser(id: \"1\", name: \"ada2\") { id } }" }),
    });
    assert.equal(direct.status, 200);
    assert.deepEqual(origin.purges.at(-1).purged, []);
    assert.ok(origin.purges.at(-1).failed.some((f) => f.item === "user:1"));

    await varnish.start();
    // A new varnishd starts empty: nothing stale survives the restart.
    assert.deepEqual(await caches(ADA, ADA), ["MISS", "HIT"]);
    assert.equal((await get(ADA)).body.data.user.name, "ada2");
    await post("mutation { renameUser(id: \"1\", name: \"ada3\") { id } }");
    assert.deepEqual(origin.purges.at(-1).failed, []);
    assert.deepEqual(await caches(ADA, ADA), ["MISS", "HIT"]);
    await varnish.restart();
    assert.deepEqual(await caches(ADA, ADA), ["MISS", "HIT"]);
  });

  test("an origin written for Fastly (Surrogate-Key, no xkey) is cached and purged by the same VCL", async () => {
    let served = 0;
    const fastlyOrigin = createServer((req, res) => {
      if (req.url.startsWith("/graphql")) served++; // not varnishd's readiness probe
      res.writeHead(200, { "content-type": "application/json", "surrogate-key": "user:7 user:7:posts", "cache-control": "public, s-maxage=3600" });
      res.end(JSON.stringify({ served }));
    });
    await new Promise((resolve) => fastlyOrigin.listen(0, "127.0.0.1", resolve));
    const second = await startVarnish(exampleVcl(fastlyOrigin.address().port));
    try {
      const hit = async () => {
        const r = await fetch(`${second.url}graphql?query=x`);
        return [r.headers.get("x-cache"), (await r.json()).served];
      };
      assert.deepEqual([await hit(), await hit()], [["MISS", 1], ["HIT", 1]]);
      assert.deepEqual(await purgeVarnish({ url: second.url, ...fast }, { tags: ["user:8:posts"] }), { purged: ["user:8:posts"], failed: [] });
      assert.deepEqual(await hit(), ["HIT", 1]);
      await purgeVarnish({ url: second.url, ...fast }, { tags: ["user:7:posts"] });
      assert.deepEqual([await hit(), await hit()], [["MISS", 2], ["HIT", 2]]);
    } finally {
      await second.stop();
      await new Promise((resolve) => fastlyOrigin.close(resolve));
    }
  });

  test("a purge sent to the origin instead of Varnish fails loudly (405) and stops", async () => {
    let requests = 0;
    const counting = (url, init) => (requests++, fetch(url, init));
    const res = await purgeVarnish({ url: `http://127.0.0.1:${originPort}/graphql`, fetch: counting, maxHeaderBytes: 100, ...fast }, { tags: tagsN(20) });
    assert.deepEqual(res.purged, []);
    assert.equal(res.failed.length, 20);
    assert.match(res.failed[0].error, /^HTTP 405.*does the VCL handle this method\? see examples\/varnish\/default\.vcl/);
    assert.equal(requests, 1);
  });

  test("a purger outside the VCL's ACL gets 403: reported failed, and no further request is sent", async () => {
    const locked = await startVarnish(exampleVcl(originPort, (vcl) => vcl.replace(/acl purgers \{[^}]*\}/, 'acl purgers {\n    "192.0.2.1";\n}')));
    try {
      let requests = 0;
      const counting = (url, init) => (requests++, fetch(url, init));
      const res = await purgeVarnish({ url: locked.url, fetch: counting, maxHeaderBytes: 100, ...fast }, { tags: tagsN(20) });
      assert.deepEqual(res.purged, []);
      assert.equal(res.failed.length, 20);
      assert.match(res.failed[0].error, /^HTTP 403/);
      assert.match(res.failed[19].error, /not sent: an earlier call failed with HTTP 403/);
      assert.equal(requests, 1);
    } finally {
      await locked.stop();
    }
  });
});
