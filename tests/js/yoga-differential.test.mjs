// One script of queries, mutations, direct invalidations and TTL expiries, run through the real
// graphql-yoga + @envelop/response-cache against the plugin's own in-memory store and against
// cascade-edge/yoga's store (LRU alone, and LRU + Workers KV in real workerd), each over its own
// copy of the same data. Every read must be the same (data and hit/miss), except where ours is
// deliberately more conservative; each such step says why (`ours`):
//  - "fresher": a list gains a member that was in no cached response (createPost): the plugin's
//    store keeps serving the old list (its tags are the entities it showed); ours purges the
//    parent's list key (`user:1:posts`), so it misses and serves the new list.
//  - "missed": a purge wider than the plugin's (a cascade without the change data reaches every
//    author's list, `user:*:posts`): ours misses where the plugin's store still hits the same data.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { createInMemoryCache } from "@envelop/response-cache";
import { CascadeEngine } from "../../pkg/node.js";
import { createResponseCacheStore } from "../../pkg/yoga.js";
import { blogDb, blogServer, startWorkerdKv } from "./support/yoga.mjs";
import { blogTypeDefs } from "./support/yoga.mjs";

const ADA = `{ user(id: "1") { id name posts { id title } } }`;
const BOB = `{ user(id: "2") { id name posts { id title } } }`;
const POST_10 = `{ post(id: "10") { id title author { id name } } }`;
const POST_11 = `{ post(id: "11") { id title } }`;
const NOBODY = `{ user(id: "9") { id name } }`;

// [step, expectation of ours]; a query's read is compared, other steps only run.
const SCRIPT = [
  [{ query: ADA }],
  [{ query: BOB }],
  [{ query: POST_10 }],
  [{ query: POST_11 }],
  [{ query: NOBODY }], // null: tagged by its type, as the plugin does
  [{ query: ADA }],
  [{ query: POST_10 }],
  [{ mutation: `mutation { renameUser(id: "1", name: "ada l") { id name } }` }],
  [{ query: ADA }],
  [{ query: POST_10 }], // shows user 1: purged by the entity tag in both
  [{ query: POST_11 }],
  [{ query: BOB }],
  [{ mutation: `mutation { createPost(authorId: "1", title: "fresh") { id title } }` }],
  [{ query: ADA }, "fresher"],
  [{ query: BOB }, "missed"],
  [{ query: POST_11 }],
  [{ invalidate: [{ typename: "Post", id: "11" }] }],
  [{ query: POST_11 }],
  [{ query: BOB }], // holds post 11 too: purged in both
  [{ invalidate: [{ typename: "User" }] }], // type-wide
  [{ query: ADA }],
  [{ query: NOBODY }],
  [{ query: POST_11 }],
  [{ query: BOB }],
  [{ mutation: `mutation { movePost(id: "10", authorId: "2") { id } }` }],
  [{ query: ADA }], // held post 10: purged in both
  [{ query: BOB }, "fresher"], // gained post 10, which its cached response did not show
];

// TTLs run on the real clock in the plugin's store: a short script of its own, so the time
// between a set and its read stays far below the TTL.
const TTL_SCRIPT = [
  [{ query: POST_11 }],
  [{ query: NOBODY }],
  [{ query: POST_11 }], // within Post's TTL
  [{ sleep: 500 }],
  [{ query: POST_11 }], // past it: expired in both
  [{ query: NOBODY }], // shows no post: no TTL, still cached
];

const responseCache = { includeExtensionMetadata: true };
const ttlResponseCache = { ttlPerSchemaCoordinate: { Post: 400 }, includeExtensionMetadata: true };

async function play(cache, script = SCRIPT, options = responseCache) {
  const db = blogDb();
  const server = blogServer(cache, { responseCache: options, db });
  const reads = [];
  for (const [step] of script) {
    if (step.query) {
      const body = await server.send(step.query);
      assert.equal(body.errors, undefined, JSON.stringify(body.errors));
      reads.push({ data: body.data, hit: body.extensions?.responseCache?.hit === true });
    } else if (step.mutation) {
      await server.run(step.mutation);
      await cache.settled?.();
      reads.push(null);
    } else if (step.invalidate) {
      await cache.invalidate(step.invalidate);
      reads.push(null);
    } else {
      await new Promise((resolve) => setTimeout(resolve, step.sleep));
      reads.push(null);
    }
  }
  await cache.settled?.();
  return reads;
}

function compare(theirs, ours, script = SCRIPT) {
  script.forEach(([step, expected], i) => {
    if (!step.query) return;
    const what = `step ${i}: ${step.query}`;
    if (expected === undefined) {
      assert.deepEqual(ours[i], theirs[i], what);
    } else if (expected === "fresher") {
      assert.equal(theirs[i].hit, true, `${what}: the plugin's store serves its old list`);
      assert.equal(ours[i].hit, false, what);
      assert.notDeepEqual(ours[i].data, theirs[i].data, what);
    } else {
      assert.equal(theirs[i].hit, true, what);
      assert.deepEqual([ours[i].hit, ours[i].data], [false, theirs[i].data], what);
    }
  });
}

/** What the plugin's in-memory store read: a fresh run each time (its TTLs run on the real clock). */
const theirs = () => play(createInMemoryCache());
const engine = () => CascadeEngine.fromSchema(blogTypeDefs);

let workerd;
before(async () => {
  workerd = await startWorkerdKv(["DIFF", "DIFF_TTL"]);
});
after(async () => {
  await workerd?.dispose();
});

test("differential: cascade-edge/yoga (LRU) reads what the plugin's own store reads, or fresher", async () => {
  compare(await theirs(), await play(createResponseCacheStore({ engine: engine() })));
});

test("differential: per-type TTLs expire the same responses in both stores, in both tiers", async () => {
  const ttl = (cache) => play(cache, TTL_SCRIPT, ttlResponseCache);
  const reference = await ttl(createInMemoryCache());
  assert.deepEqual(reference.filter(Boolean).map((r) => r.hit), [false, false, true, false, true]);
  compare(reference, await ttl(createResponseCacheStore({ engine: engine() })), TTL_SCRIPT);
  const kv = await workerd.namespace("DIFF_TTL");
  compare(reference, await ttl(createResponseCacheStore({ engine: engine(), kv })), TTL_SCRIPT);
});

test("differential: cascade-edge/yoga (LRU + workerd KV) reads the same, and so does a cold isolate", async () => {
  const kv = await workerd.namespace("DIFF");
  compare(await theirs(), await play(createResponseCacheStore({ engine: engine(), kv })));
  // Every response the run left in KV is either expired or still true of a fresh database.
  const cold = createResponseCacheStore({ engine: engine(), kv });
  const fresh = blogServer(cold, { responseCache });
  const body = await fresh.send(NOBODY);
  assert.deepEqual(body.data, { user: null });
  await cold.settled();
});
