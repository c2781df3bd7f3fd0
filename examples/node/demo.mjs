// The demo of `make demo`: detect cascade rules from the design document's blog schema, apply a
// mutation to a populated LruCache, and show the cascade set and which cached keys it removed.
// In your own project: import { CascadeEngine, LruCache } from "cascade-edge";
import { readFileSync } from "node:fs";
import { CascadeEngine, LruCache } from "../../pkg/node.js";

const sdl = readFileSync(new URL("./blog.graphql", import.meta.url), "utf8");

console.log("== 1. Detect relationships and rules from the schema\n");
const lines = [];
const engine = CascadeEngine.fromSchema(sdl, { verbose: true, logger: (line) => lines.push(line) });
console.log(lines.join("\n"));

console.log("\n== 2. A cache populated by earlier queries\n");
const cache = new LruCache({ maxEntries: 1000, engine });
const cached = {
  "user:123": { id: "123", name: "Ada" },
  "user:123:posts": [{ id: "9" }, { id: "12" }],
  "user:1234": { id: "1234", name: "Not Ada" },
  "user:1234:posts": [{ id: "77" }],
  "post:9": { id: "9", title: "Cascades", author: { id: "123" } },
  "post:9:comments": [{ id: "1" }],
  "post:10": { id: "10", title: "Unrelated" },
  "post:author:123:page:1": [{ id: "9" }, { id: "12" }],
  "comment:post:9": [{ id: "1" }],
  "comment:post:90": [{ id: "5" }],
};
for (const [key, value] of Object.entries(cached)) cache.set(key, value);
// A rendered page that shows post 9 records it as a tag, so it goes when post 9 changes.
cache.set("page:/blog", "<html>…Cascades…</html>", { tags: ["post:9"] });
console.log([...cache.keys()].sort().join("\n"));

console.log("\n== 3. A mutation response arrives\n");
const response = {
  data: {
    updatePost: {
      post: { __typename: "Post", id: 9, title: "Cascades, revised", author: { __typename: "User", id: "123" } },
    },
  },
};
console.log(JSON.stringify(response));
// The response names the post (updated) and its author (only referenced): cascade the post. Its
// data carries `author.id`, which fills `{author_id}` so the author's list key is exact.
const changes = engine.changesFromMutation(response).filter((c) => c.entity === "post");
console.log("changes:", JSON.stringify(changes.map(({ entity, id, op }) => ({ entity, id, op }))));

const set = engine.cascadeBatch(changes);
console.log("\n== 4. The cascade set\n");
console.log("keys:     ", set.keys.join(", "));
console.log("patterns: ", set.patterns.join(", ") || "(none)");
console.log("tags:     ", set.tags.join(", "));
console.log("trace:");
for (const t of set.trace) {
  const from = t.from ? `from ${t.from} by \`${t.rule}\`` : "the changed entity";
  console.log(`  depth ${t.depth}  ${t.key.padEnd(24)} ${from}${t.coarse ? " (coarse)" : ""}`);
}

console.log("\n== 5. Purge the cache\n");
const removed = cache.invalidateSet(set);
console.log("removed:", removed.sort().join(", "));
console.log("kept:   ", [...cache.keys()].sort().join(", "));
