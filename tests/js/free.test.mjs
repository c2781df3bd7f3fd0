// free() gives an engine's and a cache's wasm memory back at once: a process that makes and frees
// them over and over stays within the memory it needed for the first few.
import assert from "node:assert/strict";
import { test } from "node:test";
import { wasmMemory } from "../../pkg/cascade_edge.js";
import { CascadeEngine, LruCache } from "../../pkg/node.js";

const SDL = `type User { id: ID! name: String posts: [Post!]! }
type Post { id: ID! title: String author: User! }
type Query { user(id: ID!): User }`;

/** Makes, uses and frees `n` engines with a filled cache each; returns the wasm memory's size. */
function churn(n) {
  for (let i = 0; i < n; i++) {
    const engine = CascadeEngine.fromSchema(SDL);
    const cache = new LruCache({ engine, maxEntries: 2000 });
    for (let k = 0; k < 2000; k++) cache.set(`user:${k}:posts`, k);
    for (let k = 0; k < 3; k++) engine.cascade({ entity: "user", id: String(k) });
    assert.deepEqual(cache.invalidate("user:1"), ["user:1:posts"]);
    cache.free();
    engine.free();
  }
  return wasmMemory().buffer.byteLength;
}

test("engines and caches made and freed over and over leave wasm memory where the first ones put it", () => {
  const first = churn(10);
  const later = churn(300);
  // Each round holds ~0.3 MB in wasm; without free() 300 rounds outgrow 10 until the GC finalizes them.
  assert.ok(later <= first + 4 * 65536, `wasm memory grew from ${first} to ${later} bytes`);
});
