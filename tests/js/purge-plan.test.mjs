// planPurge: the dry-run plans the purge helpers execute.
import { test } from "node:test";
import assert from "node:assert/strict";
import { planPurge } from "../../pkg-template/purge.js";
import { tagsN } from "./helpers/recorder.mjs";

test("plan kv: exact deletes, one listing per disjoint prefix, subsumed items dropped", () => {
  const plan = planPurge(
    {
      keys: ["user:1", "user:1:posts", "post:9", "user:1", "post:author:123", "post:9:comments"],
      patterns: ["post:*:comments", "feed:follower:*", "feed:follower:*:page"],
      tags: ["ignored"],
    },
    "kv",
  );
  assert.deepEqual(plan, {
    backend: "kv",
    delimiter: ":",
    // user:1:posts lies below user:1; post:9:comments below both post:9 and post:*:comments;
    // feed:follower:*:page is covered by feed:follower:*.
    deletes: ["user:1", "post:9", "post:author:123"],
    lists: [
      { prefix: "user:1:", matchers: ["user:1"] },
      // post:9: and post:author:123: lie inside post:, which post:*:comments must list anyway.
      { prefix: "post:", matchers: ["post:9", "post:author:123", "post:*:comments"] },
      { prefix: "feed:follower:", matchers: ["feed:follower:*"] },
    ],
    minOperations: 6,
    failed: [],
  });
});

test("plan kv: a leading * lists the whole namespace; custom delimiter; empty key fails", () => {
  assert.deepEqual(planPurge({ keys: ["a/b"], patterns: ["*/x"] }, "kv", { delimiter: "/" }), {
    backend: "kv",
    delimiter: "/",
    deletes: ["a/b"],
    lists: [{ prefix: "", matchers: ["a/b", "*/x"] }],
    minOperations: 2,
    failed: [],
  });
  const p = planPurge({ keys: [""] }, "kv");
  assert.deepEqual(p.deletes, []);
  assert.deepEqual(p.lists, []);
  assert.equal(p.failed[0].item, "");
});

test("plan kv: a * in keys is treated as the pattern it is", () => {
  const p = planPurge({ keys: ["post:*:comments"] }, "kv");
  assert.deepEqual(p.deletes, []);
  assert.deepEqual(p.lists, [{ prefix: "post:", matchers: ["post:*:comments"] }]);
});

test("plan cloudflare: tag batches of 100, deduplicated, prefixes separately", () => {
  const tags = tagsN(250);
  const plan = planPurge({ keys: ["user:1", "user:2"], patterns: ["post:*"], tags: [...tags, tags[0]] }, "cloudflare", {
    keyToPrefix: (k) => (k === "post:*" ? ["example.com/post/"] : `example.com/${k}`),
  });
  assert.deepEqual(
    plan.batches.map((b) => [b.kind, b.items.length]),
    [["tags", 100], ["tags", 100], ["tags", 50], ["prefixes", 3]],
  );
  assert.deepEqual(plan.batches[3].items, ["example.com/user:1", "example.com/user:2", "example.com/post/"]);
  assert.deepEqual(plan.failed, []);
  assert.deepEqual(planPurge({ tags: ["a", "b", "c"] }, "cloudflare", { batchSize: 2 }).batches, [
    { kind: "tags", items: ["a", "b"] },
    { kind: "tags", items: ["c"] },
  ]);
});

test("plan cloudflare: a throwing keyToPrefix becomes a planned failure", () => {
  const plan = planPurge({ keys: ["bad"], tags: [] }, "cloudflare", {
    keyToPrefix: () => {
      throw new Error("no route");
    },
  });
  assert.deepEqual(plan, { backend: "cloudflare", batches: [], failed: [{ item: "bad", error: "keyToPrefix failed: no route" }] });
});

test("plan fastly: surrogate-key batches of 256", () => {
  const keys = tagsN(600);
  const plan = planPurge({ tags: keys }, "fastly");
  assert.deepEqual(plan.batches.map((b) => b.items.length), [256, 256, 88]);
  assert.ok(plan.batches.every((b) => b.kind === "surrogate_keys"));
  assert.deepEqual(plan.batches.flatMap((b) => b.items), keys);
  assert.deepEqual(planPurge({ keys: ["user:1"] }, "fastly"), { backend: "fastly", batches: [], failed: [] });
});

test("plan cache: URLs deduplicated with the items they serve", () => {
  const plan = planPurge({ keys: ["user:1", "user:2"], patterns: ["post:*"] }, "cache", {
    keyToUrls: (k) => (k === "post:*" ? null : [`https://x/${k}`, "https://x/users"]),
  });
  assert.deepEqual(plan, {
    backend: "cache",
    urls: [
      { url: "https://x/user:1", items: ["user:1"] },
      { url: "https://x/users", items: ["user:1", "user:2"] },
      { url: "https://x/user:2", items: ["user:2"] },
    ],
    failed: [],
  });
});

test("planPurge rejects unknown backends and malformed sets", () => {
  assert.throws(() => planPurge({ keys: [] }, "redis"), /unknown backend "redis"/);
  assert.throws(() => planPurge(null, "kv"), TypeError);
  assert.throws(() => planPurge({ tags: [null] }, "fastly"), /set.tags\[0\] must be a string/);
  assert.throws(() => planPurge({ tags: ["a"] }, "cloudflare", { batchSize: 0 }), RangeError);
  assert.throws(() => planPurge({ keys: ["a"] }, "cache", {}), /keyToUrls/);
});
