// The SPEC §8 API of the installed package, on the design document's blog schema: exact outputs of
// every public name, every error code, module health after errors, and hostile inputs.
import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import { importPackage } from "./helpers/consumer.mjs";

let CascadeEngine;
let LruCache;
let api;

before(async () => {
  api = await importPackage();
  ({ CascadeEngine, LruCache } = api);
});

const SDL = `type User { id: ID! name: String posts: [Post!]! }
type Post { id: ID! title: String status: String author: User! comments: [Comment!]! }
type Comment { id: ID! body: String author: User! post: Post! }
type Query { user(id: ID!): User posts: [Post!]! }`;

const AUTO_RULES = [
  "user -> user:{id}:posts",
  "user -> post:author:{id}",
  "user -> comment:author:{id}",
  "post -> post:{id}:comments",
  "post -> comment:post:{id}",
  "post -> user:{author_id}:posts",
  "post -> post:author:{author_id}",
  "comment -> post:{post_id}:comments",
  "comment -> comment:author:{author_id}",
  "comment -> comment:post:{post_id}",
];
const USER_123 = ["user:123", "user:123:posts", "post:author:123", "comment:author:123"];
const POST_9 = ["post:9", "post:9:comments", "comment:post:9", "user:123:posts", "post:author:123"];

const BATCH_FROM_MUTATION = [
  "post:9", "post:9:comments", "comment:post:9", "user:123:posts", "post:author:123",
  "user:123", "comment:author:123", "comment:5",
];

const blog = (options) => CascadeEngine.fromSchema(SDL, options);
const keysOf = (engine, change) => engine.cascade(change).keys;

/** Asserts that `fn` throws an Error with this code (and a message matching `message`). */
function throwsCode(fn, code, message) {
  let thrown;
  try {
    fn();
  } catch (error) {
    thrown = error;
  }
  assert.ok(thrown !== undefined, `expected ${code}, but nothing was thrown`);
  assert.ok(thrown instanceof Error, `expected an Error, got ${String(thrown)}`);
  assert.equal(thrown.code, code, thrown.message);
  if (message) assert.match(thrown.message, message);
  return thrown;
}

/** A valid call right after a failed one still gives the exact expected result. */
function assertHealthy() {
  assert.deepEqual(keysOf(blog(), { entity: "user", id: "123" }), USER_123);
  const cache = new LruCache({ maxEntries: 4 });
  cache.set("user:1", "a");
  cache.set("user:10", "b");
  assert.deepEqual(cache.invalidate("user:1"), ["user:1"]);
  assert.deepEqual([...cache.keys()], ["user:10"]);
}

describe("CascadeEngine.fromSchema", () => {
  test("detects the blog relationships", () => {
    assert.deepEqual(blog().relationships(), [
      { holder: "User", field: "posts", target: "Post", cardinality: "many", via: [], inverse: ["author"] },
      { holder: "Post", field: "author", target: "User", cardinality: "one", via: [], inverse: [] },
      { holder: "Post", field: "comments", target: "Comment", cardinality: "many", via: [], inverse: ["post"] },
      { holder: "Comment", field: "author", target: "User", cardinality: "one", via: [], inverse: [] },
      { holder: "Comment", field: "post", target: "Post", cardinality: "one", via: [], inverse: [] },
    ]);
  });

  test("derives exactly the ten auto rules, in order", () => {
    const rules = blog().rules();
    assert.deepEqual(rules.map((r) => r.id), AUTO_RULES);
    assert.deepEqual(rules[5], {
      id: "post -> user:{author_id}:posts",
      entity: "post",
      cascadeTo: ["user:{author_id}:posts"],
      coarse: false,
      source: "auto",
      relationship: "User.posts",
    });
  });

  test("the logger receives the design document's setup lines", () => {
    const lines = [];
    blog({ verbose: true, logger: (line) => lines.push(line) });
    assert.deepEqual(lines, [
      "CASCADE: Detected relationship: User -> Post (field: posts)",
      "CASCADE: Detected relationship: Post -> User (field: author)",
      "CASCADE: Detected relationship: Post -> Comment (field: comments)",
      "CASCADE: Detected relationship: Comment -> User (field: author)",
      "CASCADE: Detected relationship: Comment -> Post (field: post)",
      ...AUTO_RULES.map((id) => `CASCADE: Rule: ${id}`),
      "CASCADE: Created 10 CASCADE rules",
    ]);
  });

  test("the logger receives each cascade's lines", () => {
    const lines = [];
    const engine = blog({ verbose: true, logger: (line) => lines.push(line) });
    lines.length = 0;
    engine.cascade({ entity: "user", id: "123" });
    const timing = lines.pop();
    assert.match(timing, /^\[CASCADE\] ✓ CASCADE complete in \d+(\.\d+)?ms$/);
    assert.deepEqual(lines, [
      "[CASCADE] user:123 changed",
      "[CASCADE] → Evaluating rule: user -> user:{id}:posts",
      "[CASCADE] → Matched 1 keys",
      "[CASCADE] → Evaluating rule: user -> post:author:{id}",
      "[CASCADE] → Matched 1 keys",
      "[CASCADE] → Evaluating rule: user -> comment:author:{id}",
      "[CASCADE] → Matched 1 keys",
    ]);
  });

  test("a throwing logger does not break the engine", () => {
    const engine = blog({ verbose: true, logger: () => { throw new Error("boom"); } });
    assert.deepEqual(keysOf(engine, { entity: "user", id: "123" }), USER_123);
  });

  test("a logger alone (no verbose) receives the lines; no logger, no lines anywhere", () => {
    const lines = [];
    const engine = blog({ logger: (line) => lines.push(line) });
    assert.equal(lines.at(-1), "CASCADE: Created 10 CASCADE rules");
    lines.length = 0;
    engine.cascade({ entity: "user", id: "1" });
    assert.equal(lines[0], "[CASCADE] user:1 changed");
    assert.equal(lines.length, 8);
  });

  test("keyspaces, delimiter and maxDepth options", () => {
    const engine = blog({ keyspaces: { User: "u" }, delimiter: "/", maxDepth: 2 });
    assert.deepEqual(keysOf(engine, { entity: "User", id: "123" }), ["u/123", "u/123/posts", "post/author/123", "comment/author/123"]);
    assert.deepEqual(engine.rules().slice(0, 3).map((r) => r.id), ["u -> u/{id}/posts", "u -> post/author/{id}", "u -> comment/author/{id}"]);
    // A substituted value is one literal segment: the delimiter, `*`, braces, `%`, space and `,` are encoded.
    assert.deepEqual(keysOf(engine, { entity: "u", id: "a/b*{c}%d e,f" }).slice(0, 1), ["u/a%2Fb%2A%7Bc%7D%25d%20e%2Cf"]);
  });

  test("maxKeys truncates the cascade set", () => {
    const set = blog({ maxKeys: 2 }).cascade({ entity: "user", id: "123" });
    assert.deepEqual(set.keys, ["user:123", "user:123:posts"]);
    assert.equal(set.truncated, true);
  });
});

describe("cascade", () => {
  test("user 123 changes", () => {
    assert.deepEqual(blog().cascade({ entity: "user", id: "123" }), {
      keys: USER_123,
      patterns: [],
      tags: USER_123,
      trace: [
        { key: "user:123", rule: null, from: null, depth: 0, coarse: false },
        { key: "user:123:posts", rule: "user -> user:{id}:posts", from: "user:123", depth: 1, coarse: false },
        { key: "post:author:123", rule: "user -> post:author:{id}", from: "user:123", depth: 1, coarse: false },
        { key: "comment:author:123", rule: "user -> comment:author:{id}", from: "user:123", depth: 1, coarse: false },
      ],
      depth: 1,
      truncated: false,
    });
  });

  test("post 9 by author 123 changes (type name, numeric ids)", () => {
    const set = blog().cascade({ entity: "Post", id: 9, data: { author_id: 123 } });
    assert.deepEqual(set.keys, POST_9);
    assert.deepEqual(set.patterns, []);
    assert.deepEqual(set.trace.map((t) => [t.key, t.rule, t.from, t.depth, t.coarse]), [
      ["post:9", null, null, 0, false],
      ["post:9:comments", "post -> post:{id}:comments", "post:9", 1, false],
      ["comment:post:9", "post -> comment:post:{id}", "post:9", 1, false],
      ["user:123:posts", "post -> user:{author_id}:posts", "post:9", 1, false],
      ["post:author:123", "post -> post:author:{author_id}", "post:9", 1, false],
    ]);
  });

  test("the foreign key is also found as authorId, author.id, and in `after`", () => {
    const engine = blog();
    assert.deepEqual(keysOf(engine, { entity: "post", id: "9", data: { authorId: "123" } }), POST_9);
    assert.deepEqual(keysOf(engine, { entity: "post", id: "9", data: { author: { id: "123" } } }), POST_9);
    assert.deepEqual(keysOf(engine, { entity: "post", id: "9", after: { author_id: "123" } }), POST_9);
  });

  test("without the foreign key, the placeholder becomes * and the key is coarse", () => {
    const set = blog().cascade({ entity: "post", id: "9" });
    assert.deepEqual(set.keys, ["post:9", "post:9:comments", "comment:post:9"]);
    assert.deepEqual(set.patterns, ["user:*:posts", "post:author:*"]);
    assert.deepEqual(set.tags, ["post:9", "post:9:comments", "comment:post:9", "user:*:posts", "post:author:*"]);
    assert.deepEqual(set.trace.filter((t) => t.coarse).map((t) => t.key), ["user:*:posts", "post:author:*"]);
  });

  test("a produced entity key cascades transitively, bounded by maxDepth", () => {
    const engine = blog();
    engine.addRule({ entity: "comment", cascadeTo: ["post:{post_id}"] });
    const set = engine.cascade({ entity: "comment", id: "5", data: { post_id: "9", author_id: "1" } });
    assert.deepEqual(set.keys, ["comment:5", "post:9:comments", "comment:author:1", "comment:post:9", "post:9"]);
    assert.deepEqual(set.patterns, ["user:*:posts", "post:author:*"]);
    assert.deepEqual(set.trace.find((t) => t.key === "user:*:posts"), {
      key: "user:*:posts", rule: "post -> user:{author_id}:posts", from: "post:9", depth: 2, coarse: true,
    });
    assert.equal(set.depth, 2);
    const shallow = CascadeEngine.fromJSON({ ...engine.toJSON(), maxDepth: 1 });
    const cut = shallow.cascade({ entity: "comment", id: "5", data: { post_id: "9", author_id: "1" } });
    assert.deepEqual(cut.keys, ["comment:5", "post:9:comments", "comment:author:1", "comment:post:9", "post:9"]);
    assert.deepEqual(cut.patterns, []);
    assert.equal(cut.depth, 1);
  });

  test("cycles terminate", () => {
    const engine = blog();
    engine.addRule({ entity: "user", cascadeTo: ["post:{id}"] });
    engine.addRule({ entity: "post", cascadeTo: ["user:{id}"] });
    const set = engine.cascade({ entity: "user", id: "1" });
    assert.deepEqual(set.keys, ["user:1", "user:1:posts", "post:author:1", "comment:author:1", "post:1", "post:1:comments", "comment:post:1"]);
    assert.deepEqual(set.patterns, ["user:*:posts", "post:author:*"]);
  });

  test("cascadeBatch returns one deduplicated set", () => {
    const set = blog().cascadeBatch([
      { entity: "user", id: "123" },
      { entity: "post", id: "9", data: { author_id: "123" } },
      { entity: "user", id: "123" },
    ]);
    assert.deepEqual(set.keys, [...USER_123, "post:9", "post:9:comments", "comment:post:9"]);
    assert.deepEqual(set.patterns, []);
    assert.deepEqual(blog().cascadeBatch([]).keys, []);
  });

  test("changesFromMutation: numeric ids become strings, op from the field name", () => {
    const changes = blog().changesFromMutation({
      data: {
        createPost: { __typename: "Post", id: 9, title: "x", author: { __typename: "User", id: 123 } },
        deleteComment: { __typename: "Comment", id: 5 },
      },
    });
    assert.deepEqual(changes, [
      { entity: "post", id: "9", op: "create", data: { __typename: "Post", id: 9, title: "x", author: { __typename: "User", id: 123 } } },
      { entity: "user", id: "123", op: "update", data: { __typename: "User", id: 123 } },
      { entity: "comment", id: "5", op: "delete", data: { __typename: "Comment", id: 5 } },
    ]);
    // The changes feed cascadeBatch directly.
    const set = blog().cascadeBatch(changes);
    assert.deepEqual(set.keys, BATCH_FROM_MUTATION);
    // The deleted comment's data has no post or author: its list keys are coarse.
    assert.deepEqual(set.patterns, ["post:*:comments", "comment:author:*", "comment:post:*"]);
  });
});

describe("manual rules", () => {
  test("a declarative `when` fires only when it holds", () => {
    const engine = blog();
    const id = engine.addRule({ entity: "post", cascadeTo: ["feed:{author_id}"], when: { field: "status", eq: "published" } });
    assert.equal(id, 'post -> feed:{author_id} when {"field":"status","eq":"published"}');
    const published = { entity: "post", id: "1", data: { status: "published", author_id: "7" } };
    assert.deepEqual(keysOf(engine, published), ["post:1", "post:1:comments", "comment:post:1", "user:7:posts", "post:author:7", "feed:7"]);
    assert.deepEqual(keysOf(engine, { ...published, data: { status: "draft", author_id: "7" } }),
      ["post:1", "post:1:comments", "comment:post:1", "user:7:posts", "post:author:7"]);
    assert.deepEqual(engine.rules().at(-1), {
      id, entity: "post", cascadeTo: ["feed:{author_id}"], when: { field: "status", eq: "published" }, coarse: false, source: "manual",
    });
  });

  test("combined conditions: all, any, not, in, exists, gt, lt, ne, changed", () => {
    const engine = blog();
    engine.clearRules();
    engine.addRule({
      entity: "post",
      cascadeTo: ["hit:{id}"],
      when: { all: [{ any: [{ field: "n", gt: 10 }, { field: "n", lt: 0 }] }, { not: { field: "status", in: ["draft", "deleted"] } }, { field: "title", exists: true }, { field: "kind", ne: "x" }] },
    });
    engine.addRule({ entity: "post", cascadeTo: ["retitled:{id}"], when: { changed: ["title"] } });
    const hit = (data, before) => keysOf(engine, { entity: "post", id: "1", after: data, before });
    assert.deepEqual(hit({ n: 11, status: "live", title: "t" }), ["post:1", "hit:1", "retitled:1"]);
    assert.deepEqual(hit({ n: -1, status: "live", title: "t" }, { title: "t" }), ["post:1", "hit:1"]);
    assert.deepEqual(hit({ n: 5, status: "live", title: "t" }, { title: "old" }), ["post:1", "retitled:1"]);
    assert.deepEqual(hit({ n: 11, status: "draft", title: "t" }, { title: "t" }), ["post:1"]);
    assert.deepEqual(hit({ n: 11, status: "live" }, {}), ["post:1"]);
    assert.deepEqual(hit({ n: 11, status: "live", title: "t", kind: "x" }, { title: "t" }), ["post:1"]);
  });

  test("a JS function `when` receives the data", () => {
    const engine = blog();
    const seen = [];
    const when = (data) => {
      seen.push(data);
      return data.title === "hot";
    };
    assert.equal(engine.addRule({ entity: "post", cascadeTo: ["hot:list"], when }), 'post -> hot:list when {"external":0}');
    assert.deepEqual(keysOf(engine, { entity: "post", id: "2", data: { title: "hot" } }), ["post:2", "post:2:comments", "comment:post:2", "hot:list"]);
    assert.deepEqual(keysOf(engine, { entity: "post", id: "2", data: { title: "cold" } }), ["post:2", "post:2:comments", "comment:post:2"]);
    assert.deepEqual(seen, [{ title: "hot" }, { title: "cold" }]);
    // A throwing predicate fires the rule (purging more is safe).
    engine.addRule({ entity: "user", cascadeTo: ["boom:{id}"], when: () => { throw new Error("no"); } });
    assert.deepEqual(keysOf(engine, { entity: "user", id: "1" }), ["user:1", "user:1:posts", "post:author:1", "comment:author:1", "boom:1"]);
    // A function cannot be saved as precompiled rules.
    throwsCode(() => engine.toJSON(), "INVALID_RULE", /JS function/);
  });

  test("onFields fires only when one of the fields changed; with no `before`, always", () => {
    const engine = blog();
    assert.equal(engine.addRule({ entity: "user", cascadeTo: ["profile:{id}"], onFields: ["name"] }), "user -> profile:{id} on name");
    const base = ["user:1", "user:1:posts", "post:author:1", "comment:author:1"];
    assert.deepEqual(keysOf(engine, { entity: "user", id: "1", before: { name: "a" }, after: { name: "a" } }), base);
    assert.deepEqual(keysOf(engine, { entity: "user", id: "1", before: { name: "a" }, after: { name: "b" } }), [...base, "profile:1"]);
    assert.deepEqual(keysOf(engine, { entity: "user", id: "1", data: { name: "a" } }), [...base, "profile:1"]);
  });

  test("a rule's maxDepth stops the cascade from its keys", () => {
    const deep = blog();
    deep.addRule({ entity: "user", cascadeTo: ["post:{id}"] });
    const stopped = blog();
    assert.equal(stopped.addRule({ entity: "user", cascadeTo: ["post:{id}"], maxDepth: 0 }), "user -> post:{id} depth 0");
    const base = ["user:5", "user:5:posts", "post:author:5", "comment:author:5", "post:5"];
    assert.deepEqual(keysOf(deep, { entity: "user", id: "5" }), [...base, "post:5:comments", "comment:post:5"]);
    const set = stopped.cascade({ entity: "user", id: "5" });
    assert.deepEqual(set.keys, base);
    assert.deepEqual(set.patterns, []);
    assert.equal(set.depth, 1);
  });

  test("adding an identical rule twice keeps one; removeRule and clearRules", () => {
    const engine = blog();
    const rule = { entity: "user", cascadeTo: ["feed:{id}"] };
    assert.equal(engine.addRule(rule), "user -> feed:{id}");
    assert.equal(engine.addRule({ ...rule }), "user -> feed:{id}");
    assert.equal(engine.rules().length, 11);
    engine.removeRule("user -> feed:{id}");
    engine.removeRule("user -> post:author:{id}");
    assert.deepEqual(engine.rules().map((r) => r.id), AUTO_RULES.filter((id) => id !== "user -> post:author:{id}"));
    assert.deepEqual(keysOf(engine, { entity: "user", id: "1" }), ["user:1", "user:1:posts", "comment:author:1"]);
    engine.clearRules();
    assert.deepEqual(engine.rules(), []);
    assert.deepEqual(keysOf(engine, { entity: "user", id: "1" }), ["user:1"]);
  });
});

describe("graph, stats, lint, toJSON", () => {
  const TREE = `user
├─ user:{id}:posts → user
├─ post:author:{id} → post
└─ comment:author:{id} → comment
post
├─ post:{id}:comments → post
├─ comment:post:{id} → comment
├─ user:{author_id}:posts → user
└─ post:author:{author_id} → post
comment
├─ post:{post_id}:comments → post
├─ comment:author:{author_id} → comment
└─ comment:post:{post_id} → comment
`;

  test("tree (the default), dot, mermaid and json", () => {
    const engine = blog();
    assert.equal(engine.graph({ format: "tree" }), TREE);
    assert.equal(engine.graph(), TREE);
    const dot = engine.graph({ format: "dot" });
    assert.ok(dot.startsWith('digraph cascade {\n  rankdir=LR;\n  node [shape=box];\n  "user";\n  "post";\n  "comment";\n'), dot);
    assert.ok(dot.includes('  "post" -> "user" [label="user:{author_id}:posts"];\n'), dot);
    assert.ok(dot.endsWith("}\n"), dot);
    assert.equal(dot.split("\n").filter((l) => l.includes(" -> ")).length, 10);
    const mermaid = engine.graph({ format: "mermaid" }).split("\n");
    assert.equal(mermaid[0], "graph LR");
    assert.equal(mermaid[1], '  user[user] -->|"user:{id}:posts"| user[user]');
    assert.equal(mermaid.filter((l) => l.includes("-->")).length, 10);
    const json = engine.graph({ format: "json" });
    assert.deepEqual(json.nodes, ["user", "post", "comment"]);
    assert.deepEqual(json.edges[5], { from: "post", to: "user", template: "user:{author_id}:posts", rule: "post -> user:{author_id}:posts" });
    assert.equal(json.edges.length, 10);
  });

  test("with a cache, each edge shows how many cached keys it reaches", () => {
    const engine = blog();
    const cache = new LruCache({ maxEntries: 10 });
    for (const key of ["user:1:posts", "user:2:posts", "post:author:2", "user:1"]) cache.set(key, 1);
    const tree = engine.graph({ cache });
    assert.equal(tree.split("\n")[1], "├─ user:{id}:posts → user (2 cached)");
    assert.equal(tree.split("\n")[2], "├─ post:author:{id} → post (1 cached)");
    assert.equal(tree.split("\n")[3], "└─ comment:author:{id} → comment (0 cached)");
    const json = engine.graph({ format: "json", cache });
    assert.deepEqual(json.edges.map((e) => e.cached), [2, 1, 0, 0, 0, 2, 1, 0, 0, 0]);
  });

  test("stats counts cascades, depth and edges", () => {
    const engine = blog({ logger: () => {} });
    let t = 0;
    assert.deepEqual(engine.stats(), { invalidations: 0, cascades: 0, keys: 0, averageDepth: 0, averageTimeMs: 0, topEdges: [], keysPerBackend: [] });
    engine.cascade({ entity: "user", id: "123" });
    engine.cascade({ entity: "post", id: "9", data: { author_id: "123" } });
    const stats = engine.stats();
    assert.equal(stats.invalidations, 2);
    assert.equal(stats.cascades, 2);
    assert.equal(stats.keys, 9);
    assert.equal(stats.averageDepth, 1);
    assert.equal(typeof stats.averageTimeMs, "number");
    assert.ok(stats.averageTimeMs >= 0);
    assert.deepEqual(stats.topEdges, [
      { edge: "post -> post", count: 2 },
      { edge: "post -> comment", count: 1 },
      { edge: "post -> user", count: 1 },
      { edge: "user -> comment", count: 1 },
      { edge: "user -> post", count: 1 },
      { edge: "user -> user", count: 1 },
    ]);
    assert.deepEqual(stats.keysPerBackend, []);
    void t;
  });

  test("lint reports [\"*\"] as over-broad", () => {
    const engine = blog();
    assert.deepEqual(engine.lint(), []);
    engine.addRule({ entity: "user", cascadeTo: ["*"] });
    assert.deepEqual(engine.lint(), [{ rule: "user -> *", code: "OVER_BROAD", message: "`*` purges a whole keyspace or more on every change" }]);
  });

  test("toJSON → fromJSON (object and string) gives identical cascade sets", () => {
    const engine = blog();
    engine.addRule({ entity: "post", cascadeTo: ["feed:{author_id}"], when: { field: "status", eq: "published" } });
    engine.addRule({ entity: "user", cascadeTo: ["profile:{id}"], onFields: ["name"], maxDepth: 1 });
    const json = engine.toJSON();
    assert.equal(json.format, "cascade-edge/rules");
    assert.equal(json.version, 1);
    assert.equal(JSON.stringify(engine), JSON.stringify(json));
    const changes = [
      { entity: "user", id: "123" },
      { entity: "user", id: "1", before: { name: "a" }, after: { name: "b" } },
      { entity: "Post", id: 9, data: { author_id: 123, status: "published" } },
      { entity: "post", id: "9" },
      { entity: "comment", id: "3", data: { post_id: "9" } },
    ];
    for (const loaded of [CascadeEngine.fromJSON(json), CascadeEngine.fromJSON(JSON.stringify(json))]) {
      assert.deepEqual(loaded.rules(), engine.rules());
      assert.deepEqual(loaded.relationships(), engine.relationships());
      for (const change of changes) assert.deepEqual(loaded.cascade(change), engine.cascade(change));
      assert.deepEqual(loaded.toJSON(), json);
    }
  });
});
