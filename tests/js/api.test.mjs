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

  test("SDL with non-ASCII text (encoded into wasm in two steps) reads as its ASCII twin", () => {
    const described = `"""Ünïcödé: ✓ — 🎉"""\n${SDL.replace("name: String", '"""naïve ☃ \uD800"""\n name: String')}`;
    const engine = CascadeEngine.fromSchema(described);
    assert.deepEqual(engine.rules(), CascadeEngine.fromSchema(SDL).rules());
    assert.deepEqual(engine.entities(), CascadeEngine.fromSchema(SDL).entities());
    // A position after non-ASCII text counts characters, as for any other SDL.
    assert.throws(() => CascadeEngine.fromSchema('"""é🎉"""\ntype User {\n  ü: \n}'), /^Error: schema syntax error at 3:3: /);
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

  test("a change of entity and id alone gives what it gives through JSON, for any id", () => {
    const engine = blog();
    const ids = ["9", "", "é", "日本", "a:b", "x y,z", "%41", "{id}", "x".repeat(600), "y".repeat(1500), "\uD800"];
    for (const entity of ["post", "Post", "usr", "é"]) {
      for (const id of ids) {
        const run = (f) => {
          try {
            return f();
          } catch (error) {
            return { code: error.code, message: error.message };
          }
        };
        const alone = run(() => engine.cascade({ entity, id }));
        assert.deepEqual(alone, run(() => engine.cascadeBatch([{ entity, id }])), `${entity} ${id.slice(0, 20)}`);
        if (id === "9") assert.equal(alone.keys?.[0] ?? alone.code, entity.startsWith("p") || entity.startsWith("P") ? "post:9" : "UNKNOWN_ENTITY");
      }
    }
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
    assert.equal(json.version, 2);
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

describe("LruCache", () => {
  test("get, set, has, delete, clear, size, peek and key iteration (most recent first)", () => {
    const cache = new LruCache({ maxEntries: 3 });
    assert.deepEqual(cache.set("a", 1), []);
    cache.set("b", { x: 1 });
    cache.set("c", "s");
    assert.equal(cache.get("a"), 1);
    assert.deepEqual([...cache.keys()], ["a", "c", "b"]);
    assert.equal(cache.peek("b").x, 1);
    assert.deepEqual([...cache], ["a", "c", "b"], "peek does not change recency");
    assert.deepEqual(cache.set("d", 4), ["b"], "the least recent entry is evicted");
    assert.equal(cache.has("b"), false);
    assert.equal(cache.get("b"), undefined);
    assert.equal(cache.size, 3);
    assert.equal(cache.delete("c"), true);
    assert.equal(cache.delete("c"), false);
    assert.deepEqual([...cache.keys()], ["d", "a"]);
    cache.clear();
    assert.equal(cache.size, 0);
    assert.deepEqual([...cache.keys()], []);
  });

  test("values keep their identity; maxBytes evicts by weight", () => {
    const value = { deep: [1, 2] };
    // Weight: the key plus the value (JSON length × 2): v = 29, s1 = 12, s2 = 16.
    const cache = new LruCache({ maxEntries: 10, maxBytes: 50 });
    cache.set("v", value);
    assert.equal(cache.get("v"), value);
    cache.set("s1", "12345");
    assert.deepEqual(cache.set("s2", "1234567"), ["v"]);
    assert.deepEqual([...cache.keys()], ["s2", "s1"]);
  });

  test("TTL (default and per entry) with an injected clock", () => {
    let t = 1000;
    const cache = new LruCache({ maxEntries: 10, ttlMs: 100, now: () => t });
    cache.set("a", 1);
    cache.set("b", 2, { ttlMs: 500 });
    t += 99;
    assert.equal(cache.get("a"), 1);
    t += 1;
    assert.equal(cache.get("a"), undefined);
    assert.equal(cache.has("b"), true);
    t += 400;
    assert.equal(cache.has("b"), false);
    assert.equal(cache.size, 1, "has() does not remove the expired entry");
    assert.equal(cache.get("b"), undefined);
    assert.equal(cache.size, 0);
    assert.deepEqual(cache.stats(), { hits: 1, misses: 2, sets: 2, evictions: 0, expirations: 2, invalidations: 0, entries: 0, bytes: 0 });
  });

  test("invalidate removes the key and everything below it: user:1 never touches user:10", () => {
    const cache = new LruCache({ maxEntries: 100 });
    for (const key of ["user:1", "user:1:posts", "user:1:posts:page:2", "user:10", "user:10:posts", "user:1x", "post:author:1"]) cache.set(key, key);
    assert.deepEqual(cache.invalidate("user:1").sort(), ["user:1", "user:1:posts", "user:1:posts:page:2"]);
    assert.deepEqual([...cache.keys()].sort(), ["post:author:1", "user:10", "user:10:posts", "user:1x"]);
  });

  test("with an engine attached, invalidate removes the whole cascade set", () => {
    const cache = new LruCache({ maxEntries: 100, engine: blog() });
    const keys = ["user:1", "user:1:posts", "user:1:posts:page:2", "user:10", "user:10:posts", "post:author:1", "post:author:10",
      "comment:author:1", "post:9:comments", "post:10:comments", "post:9", "profile:1"];
    for (const key of keys) cache.set(key, key);
    assert.deepEqual(cache.invalidate("user:1").sort(),
      ["comment:author:1", "post:author:1", "user:1", "user:1:posts", "user:1:posts:page:2"]);
    assert.deepEqual([...cache.keys()].sort(),
      ["post:10:comments", "post:9", "post:9:comments", "post:author:10", "profile:1", "user:10", "user:10:posts"]);
    // A post without data: its list keys are coarse patterns, so every user's posts list goes.
    assert.deepEqual(cache.invalidate("post:9").sort(), ["post:9", "post:9:comments", "post:author:10", "user:10:posts"]);
    assert.deepEqual([...cache.keys()].sort(), ["post:10:comments", "profile:1", "user:10"]);
  });

  test("invalidateBatch and invalidatePattern", () => {
    const cache = new LruCache({ maxEntries: 100, engine: blog() });
    for (const key of ["user:1", "user:2", "user:3", "post:author:2", "post:9:comments", "post:9:comments:page:1", "post:10:comments", "post:9:likes", "post:comments"]) {
      cache.set(key, 1);
    }
    assert.deepEqual(cache.invalidateBatch(["user:1", "user:2"]).sort(), ["post:author:2", "user:1", "user:2"]);
    assert.deepEqual(cache.invalidatePattern("post:*:comments").sort(), ["post:10:comments", "post:9:comments", "post:9:comments:page:1"]);
    assert.deepEqual([...cache.keys()].sort(), ["post:9:likes", "post:comments", "user:3"]);
  });

  test("invalidateSet: sets that fit one write, and those that cross as JSON, remove the same keys", () => {
    // Cached: 1500 `n:i` keys (each with a key below it) and 60 keys of 500 bytes.
    const fill = (cache) => {
      for (let i = 0; i < 1500; i++) {
        cache.set(`n:${i}`, i);
        cache.set(`n:${i}:x`, i);
      }
      for (let i = 0; i < 60; i++) cache.set(`l:${"a".repeat(500)}${i}`, i);
      cache.set("é:1", 1);
    };
    const cases = [
      ["a few keys and a pattern", { keys: ["n:1", "n:2:x", "n:missing"], patterns: ["n:*:x"] }, 1501],
      ["over the 1024 keys one write takes", { keys: Array.from({ length: 1200 }, (_, i) => `n:${i}`) }, 2400],
      ["over the 16 KB of text one write takes", { keys: Array.from({ length: 40 }, (_, i) => `l:${"a".repeat(500)}${i}`) }, 40],
      ["a key that is not ASCII", { keys: ["é", "n:7"], patterns: [] }, 3],
    ];
    for (const [name, set, count] of cases) {
      const cache = new LruCache({ maxEntries: 10_000 });
      fill(cache);
      const before = new Set(cache.keys());
      const removed = cache.invalidateSet(set);
      assert.equal(removed.length, count, name);
      assert.equal(new Set(removed).size, removed.length, `${name}: each key once`);
      const left = new Set(cache.keys());
      for (const key of before) assert.equal(left.has(key), !removed.includes(key), `${name}: ${key}`);
      cache.free();
    }
    const cache = new LruCache();
    cache.set("n:1", 1);
    throwsCode(() => cache.invalidateSet({ keys: ["n:1", 7] }), "INVALID_OPTIONS", /keys must be an array of strings/);
    throwsCode(() => cache.invalidateSet({ keys: ["n::1"] }), "INVALID_KEY", /empty segment/);
    throwsCode(() => cache.invalidateSet({ keys: ["n:1"], patterns: ["n:a*"] }), "INVALID_KEY", /whole segment/);
    // A refused set removes nothing.
    assert.deepEqual([...cache.keys()], ["n:1"]);
  });

  test("invalidateField removes one field path from cached objects", () => {
    const cache = new LruCache({ maxEntries: 10 });
    cache.set("post:1", { title: "t", author: { id: 1, name: "Ann" } });
    cache.set("post:2", { title: "u", author: { id: 2, name: "Bob" } });
    cache.set("post:3", "a string");
    assert.deepEqual(cache.invalidateField("post:1", "author.name"), ["post:1"]);
    assert.deepEqual(cache.get("post:1"), { title: "t", author: { id: 1 } });
    assert.deepEqual(cache.invalidateField("post:*", "author.name").sort(), ["post:2"]);
    assert.deepEqual(cache.get("post:2"), { title: "u", author: { id: 2 } });
    assert.equal(cache.get("post:3"), "a string");
  });

  test("invalidateLazy + flushDue: deferred and coalesced", () => {
    let t = 1000;
    const cache = new LruCache({ maxEntries: 10, now: () => t });
    for (const key of ["a:1", "a:1:x", "a:2"]) cache.set(key, 1);
    cache.invalidateLazy("a:1", 50);
    cache.invalidateLazy("a:1", 60);
    cache.invalidateLazy("a:1:x", 100);
    assert.deepEqual(cache.flushDue(1049), []);
    assert.deepEqual([...cache.keys()].sort(), ["a:1", "a:1:x", "a:2"]);
    assert.deepEqual(cache.flushDue(1060).sort(), ["a:1", "a:1:x"]);
    assert.deepEqual(cache.flushDue(2000), []);
    assert.deepEqual([...cache.keys()], ["a:2"]);
  });

  test("set with tags: invalidating the tagged entity removes the entry", () => {
    const cache = new LruCache({ maxEntries: 10 });
    cache.set("page:home", "<html>", { tags: ["user:10", "post:9"] });
    cache.set("page:about", "<html>", { tags: ["user:11"] });
    assert.deepEqual(cache.invalidate("user:10"), ["page:home"]);
    assert.deepEqual([...cache.keys()], ["page:about"]);
  });

  test("beginRead fences stale writes with STALE_WRITE", () => {
    const cache = new LruCache({ maxEntries: 10 });
    const token = cache.beginRead("post:9");
    cache.invalidate("post:9");
    const error = throwsCode(() => cache.set("post:9", "stale", { token }), "STALE_WRITE", /post:9/);
    assert.equal(error.message, "refused a stale write to `post:9`: it was invalidated after the read token was taken; read again");
    assert.equal(cache.has("post:9"), false);
    const fresh = cache.beginRead("post:9");
    assert.deepEqual(cache.set("post:9", "fresh", { token: fresh }), []);
    assert.equal(cache.get("post:9"), "fresh");
    // Invalidating a parent also fences the key below it.
    const child = cache.beginRead("user:1:posts");
    cache.invalidate("user:1");
    throwsCode(() => cache.set("user:1:posts", [], { token: child }), "STALE_WRITE");
  });

  test("stats counts exactly", () => {
    const cache = new LruCache({ maxEntries: 2 });
    cache.set("a", "x");
    cache.set("b", "y");
    cache.get("a");
    cache.get("nope");
    cache.set("c", "z"); // evicts b
    cache.invalidate("a");
    assert.deepEqual(cache.stats(), { hits: 1, misses: 1, sets: 3, evictions: 1, expirations: 0, invalidations: 1, entries: 1, bytes: 1 });
  });
});

describe("error codes", () => {
  const cases = [
    ["SCHEMA_SYNTAX", () => CascadeEngine.fromSchema("type User {\n  id: ID!\n  name: \n}"), /^schema syntax error at 4:1: /],
    ["SCHEMA_INVALID", () => CascadeEngine.fromSchema("type A { id: ID! } type A { id: ID! }"), /type `A` is defined twice/],
    ["KEYSPACE_COLLISION", () => CascadeEngine.fromSchema("type BlogPost { id: ID! } type Blog_Post { id: ID! }"), /both map to keyspace `blog_post`/],
    ["KEYSPACE_COLLISION", () => blog({ keyspaces: { Post: "user" } }), /`User` and `Post`/],
    ["INVALID_KEY", () => new LruCache().invalidate("user::1"), /empty segment/],
    ["INVALID_KEY", () => new LruCache().invalidatePattern("a*b"), /whole segment/],
    ["INVALID_TEMPLATE", () => blog().addRule({ entity: "user", cascadeTo: ["user:{id"] }), /never closed/],
    ["UNKNOWN_PLACEHOLDER", () => blog().addRule({ entity: "user", cascadeTo: ["user:{nope}"] }), /\{nope\}/],
    ["UNKNOWN_ENTITY", () => blog().addRule({ entity: "usr", cascadeTo: ["x:{id}"] }), /did you mean `user`\?/],
    ["UNKNOWN_ENTITY", () => blog().cascade({ entity: "usr", id: "1" }), /did you mean `user`\?/],
    ["INVALID_RULE", () => blog().addRule({ entity: "user", cascadeTo: [] }), /at least one template/],
    ["INVALID_RULE", () => blog().addRule({ entity: "user", cascadeTo: ["a:{id}"], when: { field: "x", foo: 1 } }), /eq, ne, in, exists, gt or lt/],
    ["INVALID_RULE", () => blog().addRule(null), /a rule must be an object/],
    ["UNKNOWN_RULE", () => blog().removeRule("nope"), /engine\.rules\(\) lists them/],
    ["INVALID_CHANGE", () => blog().cascade({ entity: "user" }), /has no `id`/],
    ["INVALID_CHANGE", () => blog().cascade({ entity: "user", id: true }), /string or a number/],
    ["INVALID_CHANGE", () => blog().cascadeBatch("x"), /array of changes/],
    ["INVALID_CHANGE", () => blog().changesFromMutation(5), /with `data`/],
    ["INVALID_JSON", () => CascadeEngine.fromJSON("{"), /^invalid JSON at byte 1/],
    ["INVALID_JSON", () => CascadeEngine.fromJSON({}), /not a cascade-edge rules document/],
    ["INVALID_OPTIONS", () => blog({ maxDepth: -1 }), /maxDepth/],
    ["INVALID_OPTIONS", () => blog({ bogus: 1 }), /unknown option `bogus`/],
    ["INVALID_OPTIONS", () => blog({ logger: "console" }), /`logger` must be a function/],
    ["INVALID_OPTIONS", () => new LruCache({ maxEntries: 0 }), /maxEntries/],
    ["INVALID_OPTIONS", () => blog().graph({ format: "png" }), /graph format `png`/],
    ["LIMIT_EXCEEDED", () => new LruCache().set("a".repeat(2000), 1), /key length is 2000, above the limit of 1024/],
    ["LIMIT_EXCEEDED", () => blog().addRule({ entity: "user", cascadeTo: Array.from({ length: 65 }, (_, i) => `x${i}:{id}`) }), /above the limit of 64/],
    ["LIMIT_EXCEEDED", () => CascadeEngine.fromJSON("[".repeat(200) + "]".repeat(200)), /nesting depth/],
    ["STALE_WRITE", () => {
      const cache = new LruCache();
      const token = cache.beginRead("k");
      cache.invalidate("k");
      cache.set("k", 1, { token });
    }, /stale write to `k`/],
    ["INVALID_ARGUMENT", () => CascadeEngine.fromSchema(42), /must be a string, not number/],
    ["INVALID_ARGUMENT", () => blog().removeRule(5), /must be a string/],
    ["INVALID_ARGUMENT", () => new CascadeEngine({}), /fromSchema/],
    ["USE_AFTER_FREE", () => {
      const engine = blog();
      engine.free();
      engine.rules();
    }, /this CascadeEngine was freed/],
    ["USE_AFTER_FREE", () => {
      const cache = new LruCache();
      cache.free();
      cache.get("k");
    }, /this LruCache was freed/],
  ];
  for (const [code, fn, message] of cases) {
    test(`${code}: ${message}`, () => {
      throwsCode(fn, code, message);
      assertHealthy();
    });
  }

  test("every code of src/error.rs is covered above", async () => {
    const { readFileSync } = await import("node:fs");
    const source = readFileSync(new URL("../../src/error.rs", import.meta.url), "utf8");
    const codes = [...source.matchAll(/=> "([A-Z_]+)",/g)].map((m) => m[1]);
    assert.equal(codes.length, 14);
    const covered = new Set(cases.map(([code]) => code));
    for (const code of [...codes, "INVALID_ARGUMENT"]) assert.ok(covered.has(code), `no test reaches ${code}`);
  });
});

describe("free()", () => {
  test("a freed engine throws USE_AFTER_FREE from every method, plans included; another engine is unaffected", () => {
    const engine = blog();
    const other = blog();
    // Three data-less cascades: the third is answered by a plan in JS, which free() must drop.
    for (let i = 0; i < 3; i++) assert.deepEqual(keysOf(engine, { entity: "user", id: "123" }), USER_123);
    const json = JSON.stringify(engine.toJSON());
    engine.free();
    engine.free();
    const calls = [
      () => engine.cascade({ entity: "user", id: "123" }),
      () => engine.cascade({ entity: "user", id: 7 }),
      () => engine.cascade({ entity: "post", id: "9", data: { author_id: "123" } }),
      () => engine.cascadeBatch([{ entity: "user", id: "1" }]),
      () => engine.rules(),
      () => engine.relationships(),
      () => engine.entities(),
      () => engine.addRule({ entity: "user", cascadeTo: ["x:{id}"] }),
      () => engine.removeRule("nope"),
      () => engine.clearRules(),
      () => engine.stats(),
      () => engine.lint(),
      () => engine.graph(),
      () => engine.toJSON(),
      () => engine.changesFromMutation({ data: {} }),
      () => new LruCache({ engine }),
    ];
    for (const call of calls) throwsCode(call, "USE_AFTER_FREE", /this CascadeEngine was freed: .*make a new CascadeEngine/);
    // The other engine, and one loaded from the freed one's rules, give the exact sets.
    assert.deepEqual(keysOf(other, { entity: "post", id: "9", data: { authorId: "123" } }), POST_9);
    assert.deepEqual(keysOf(CascadeEngine.fromJSON(json), { entity: "user", id: "123" }), USER_123);
    assertHealthy();
  });

  test("a freed cache throws USE_AFTER_FREE from every method and drops its values; its engine keeps working", () => {
    const engine = blog();
    const cache = new LruCache({ engine, maxEntries: 8 });
    cache.set("user:123:posts", "a");
    cache.set("post:author:123", "b");
    cache.get("user:123:posts");
    assert.match(engine.graph(), /\(1 cached\)|cached/);
    cache.free();
    cache.free();
    const calls = [
      () => cache.get("user:123:posts"),
      () => cache.get("absent"),
      () => cache.peek("user:123:posts"),
      () => cache.has("user:123:posts"),
      () => cache.set("user:1", 1),
      () => cache.set("user:1", 1, { ttlMs: 5 }),
      () => cache.delete("user:123:posts"),
      () => cache.clear(),
      () => cache.size,
      () => [...cache.keys()],
      () => cache.invalidate("user:123"),
      () => cache.invalidatePattern("user:*"),
      () => cache.invalidateBatch(["user:1"]),
      () => cache.invalidateSet({ keys: ["user:1"] }),
      () => cache.invalidateLazy("user:1", 5),
      () => cache.flushDue(0),
      () => cache.beginRead("user:1"),
      () => cache.stats(),
    ];
    for (const call of calls) throwsCode(call, "USE_AFTER_FREE", /this LruCache was freed/);
    // The engine no longer counts the freed cache, and still cascades exactly.
    assert.equal(engine.graph(), blog().graph());
    assert.deepEqual(keysOf(engine, { entity: "user", id: "123" }), USER_123);
    assertHealthy();
  });

  test("a cache whose engine was freed throws USE_AFTER_FREE from invalidate and keeps its entries", () => {
    const engine = blog();
    const cache = new LruCache({ engine });
    cache.set("user:123", 1);
    cache.set("post:author:123", 2);
    engine.free();
    throwsCode(() => cache.invalidate("user:123"), "USE_AFTER_FREE", /CascadeEngine/);
    throwsCode(() => cache.invalidateBatch(["user:123"]), "USE_AFTER_FREE", /CascadeEngine/);
    assert.deepEqual([...cache.keys()].sort(), ["post:author:123", "user:123"]);
    assert.deepEqual(cache.invalidatePattern("user:*"), ["user:123"]);
    assert.deepEqual([...cache.keys()], ["post:author:123"]);
  });
});

describe("hostile inputs", () => {
  const big = "x".repeat(2 * 1024 * 1024);
  let deepArray = [];
  let deepObject = {};
  for (let i = 0; i < 10_000; i++) {
    deepArray = [deepArray];
    deepObject = { a: deepObject };
  }
  const cyclic = {};
  cyclic.self = cyclic;
  const deepSdl = `type A { id: ID! f: ${"[".repeat(10_000)}A${"]".repeat(10_000)} }`;

  // Each call must throw a coded Error or return; `expect` is "ok" or a code.
  const engineCalls = [
    ["fromSchema(undefined)", () => CascadeEngine.fromSchema(undefined), "INVALID_ARGUMENT"],
    ["fromSchema(null)", () => CascadeEngine.fromSchema(null), "INVALID_ARGUMENT"],
    ["fromSchema(2 MB)", () => CascadeEngine.fromSchema(big), "SCHEMA_SYNTAX"],
    ["fromSchema(lone surrogate)", () => CascadeEngine.fromSchema("type \uD800 { id: ID! }"), "SCHEMA_SYNTAX"],
    ["fromSchema(10k-deep list type)", () => CascadeEngine.fromSchema(deepSdl), "SCHEMA_SYNTAX"],
    ["fromSchema(10k-deep directive value)", () => CascadeEngine.fromSchema(`type Q @d(a: ${"{a:".repeat(10_000)}1${"}".repeat(10_000)}) { f: Int }`), "SCHEMA_SYNTAX"],
    ["fromSchema(sdl, 5)", () => CascadeEngine.fromSchema(SDL, 5), "INVALID_OPTIONS"],
    ["fromSchema(sdl, cyclic)", () => CascadeEngine.fromSchema(SDL, { keyspaces: cyclic }), "INVALID_ARGUMENT"],
    ["fromSchema(sdl, NaN maxDepth)", () => CascadeEngine.fromSchema(SDL, { maxDepth: NaN }), "ok"],
    ["fromJSON(undefined)", () => CascadeEngine.fromJSON(undefined), "INVALID_ARGUMENT"],
    ["fromJSON(null)", () => CascadeEngine.fromJSON(null), "INVALID_JSON"],
    ["fromJSON(2 MB)", () => CascadeEngine.fromJSON(big), "INVALID_JSON"],
    ["fromJSON(cyclic)", () => CascadeEngine.fromJSON(cyclic), "INVALID_ARGUMENT"],
    ["fromJSON(10k-deep)", () => CascadeEngine.fromJSON(deepArray), "INVALID_ARGUMENT"],
    ["cascade(undefined)", (e) => e.cascade(undefined), "INVALID_ARGUMENT"],
    ["cascade(null)", (e) => e.cascade(null), "INVALID_CHANGE"],
    ["cascade(42)", (e) => e.cascade(42), "INVALID_CHANGE"],
    ["cascade(NaN id)", (e) => e.cascade({ entity: "user", id: NaN }), "INVALID_CHANGE"],
    ["cascade(Infinity id) says what is wrong", (e) => {
      try {
        e.cascade({ entity: "user", id: Infinity });
      } catch (error) {
        assert.match(error.message, /finite number, not Infinity/);
        throw error;
      }
    }, "INVALID_CHANGE"],
    ["cascade(2 MB id)", (e) => e.cascade({ entity: "user", id: big }), "LIMIT_EXCEEDED"],
    ["cascade(2 MB entity)", (e) => e.cascade({ entity: big, id: "1" }), "UNKNOWN_ENTITY"],
    ["cascade(cyclic data)", (e) => e.cascade({ entity: "user", id: "1", data: cyclic }), "INVALID_ARGUMENT"],
    ["cascade(10k-deep array data)", (e) => e.cascade({ entity: "user", id: "1", data: { x: deepArray } }), "INVALID_ARGUMENT"],
    ["cascade(10k-deep object data)", (e) => e.cascade({ entity: "user", id: "1", data: deepObject }), "INVALID_ARGUMENT"],
    ["cascade(2 MB data)", (e) => e.cascade({ entity: "user", id: "1", data: { name: big } }).keys.length, "ok"],
    ["cascadeBatch(undefined)", (e) => e.cascadeBatch(undefined), "INVALID_CHANGE"],
    ["cascadeBatch([null])", (e) => e.cascadeBatch([null]), "INVALID_CHANGE"],
    ["changesFromMutation(undefined)", (e) => e.changesFromMutation(undefined), "INVALID_ARGUMENT"],
    ["changesFromMutation(null)", (e) => e.changesFromMutation(null), "INVALID_CHANGE"],
    ["changesFromMutation(10k-deep)", (e) => e.changesFromMutation({ data: deepObject }), "INVALID_ARGUMENT"],
    ["changesFromMutation(cyclic)", (e) => e.changesFromMutation({ data: cyclic }), "INVALID_ARGUMENT"],
    ["addRule(undefined)", (e) => e.addRule(undefined), "INVALID_RULE"],
    ["addRule(numeric entity)", (e) => e.addRule({ entity: 5, cascadeTo: ["a"] }), "INVALID_RULE"],
    ["addRule(2 MB template)", (e) => e.addRule({ entity: "user", cascadeTo: [big] }), "LIMIT_EXCEEDED"],
    ["addRule(cyclic when)", (e) => e.addRule({ entity: "user", cascadeTo: ["a:{id}"], when: cyclic }), "INVALID_ARGUMENT"],
    ["addRule(10k-deep when)", (e) => e.addRule({ entity: "user", cascadeTo: ["a:{id}"], when: deepObject }), "INVALID_ARGUMENT"],
    ["removeRule(undefined)", (e) => e.removeRule(undefined), "INVALID_ARGUMENT"],
    ["removeRule(2 MB)", (e) => e.removeRule(big), "UNKNOWN_RULE"],
    ["graph(null)", (e) => e.graph(null).length, "ok"],
    ["graph({format: 5})", (e) => e.graph({ format: 5 }), "INVALID_ARGUMENT"],
    ["graph({format: lone surrogate})", (e) => e.graph({ format: "\uD800" }), "INVALID_OPTIONS"],
  ];
  for (const [name, fn, expect] of engineCalls) {
    test(name, () => {
      const engine = blog();
      if (expect === "ok") fn(engine);
      else throwsCode(() => fn(engine), expect);
      assert.deepEqual(keysOf(engine, { entity: "user", id: "123" }), USER_123);
      assertHealthy();
    });
  }

  const cacheCalls = [
    ["new LruCache(null)", () => new LruCache(null), "INVALID_OPTIONS"],
    ["new LruCache({maxEntries: NaN})", () => new LruCache({ maxEntries: NaN }), "INVALID_OPTIONS"],
    ["new LruCache({maxEntries: '5'})", () => new LruCache({ maxEntries: "5" }), "INVALID_OPTIONS"],
    ["new LruCache({engine: {}})", () => new LruCache({ engine: {} }), "INVALID_OPTIONS"],
    ["get(undefined)", (c) => c.get(undefined), "INVALID_ARGUMENT"],
    ["get(42)", (c) => c.get(42), "INVALID_ARGUMENT"],
    ["set(null, 1)", (c) => c.set(null, 1), "INVALID_ARGUMENT"],
    ["set(k, 2 MB)", (c) => assert.equal(c.set("k", big) && c.get("k"), big), "ok"],
    ["set(k, cyclic)", (c) => assert.equal(c.set("k", cyclic) && c.get("k"), cyclic), "ok"],
    ["set(2 MB key)", (c) => c.set(big, 1), "LIMIT_EXCEEDED"],
    ["set(k, v, {ttlMs: NaN})", (c) => c.set("k", 1, { ttlMs: NaN }), "INVALID_OPTIONS"],
    ["set(k, v, {tags: [5]})", (c) => c.set("k", 1, { tags: [5] }), "INVALID_OPTIONS"],
    ["invalidate(undefined)", (c) => c.invalidate(undefined), "INVALID_ARGUMENT"],
    ["invalidate(2 MB)", (c) => c.invalidate(big), "LIMIT_EXCEEDED"],
    ["invalidateBatch(null)", (c) => c.invalidateBatch(null), "INVALID_ARGUMENT"],
    ["invalidatePattern(5)", (c) => c.invalidatePattern(5), "INVALID_ARGUMENT"],
    ["invalidateField(k, undefined)", (c) => c.invalidateField("k", undefined), "INVALID_ARGUMENT"],
    ["invalidateField(cyclic value)", (c) => {
      c.set("k", cyclic);
      assert.deepEqual(c.invalidateField("k", "self.self.x"), []);
    }, "ok"],
    ["invalidateLazy(k, NaN)", (c) => c.invalidateLazy("k", NaN), "INVALID_OPTIONS"],
    ["invalidateLazy(k, '5')", (c) => c.invalidateLazy("k", "5"), "INVALID_OPTIONS"],
    ["flushDue('now')", (c) => c.flushDue("now"), "INVALID_ARGUMENT"],
    ["flushDue(NaN)", (c) => c.flushDue(NaN), "INVALID_ARGUMENT"],
    ["beginRead(null)", (c) => c.beginRead(null), "INVALID_ARGUMENT"],
  ];
  for (const [name, fn, expect] of cacheCalls) {
    test(`LruCache ${name}`, () => {
      const cache = new LruCache({ maxEntries: 10, engine: blog() });
      if (expect === "ok") fn(cache);
      else throwsCode(() => fn(cache), expect);
      cache.set("user:1", 1);
      cache.set("post:author:1", 1);
      assert.deepEqual(cache.invalidate("user:1").sort(), ["post:author:1", "user:1"]);
      assertHealthy();
    });
  }
});

describe("keys with lone surrogates", () => {
  test("are refused instead of aliasing U+FFFD", () => {
    const cache = new LruCache({ maxEntries: 10 });
    cache.set("\uFFFD", "replacement char");
    throwsCode(() => cache.set("\uD800", "lone"), "INVALID_KEY", /surrogate/);
    assert.equal(cache.get("\uDFFF"), undefined, "a key that cannot be stored is simply absent");
    assert.equal(cache.get("\uFFFD"), "replacement char");
    assert.deepEqual([...cache.keys()], ["\uFFFD"]);
    assert.equal(cache.has("user:\uD83D\uDE00"), false, "a well-formed pair is a normal key");
  });
});

describe("read tokens", () => {
  test("a token that is not one beginRead returns is refused, not ignored", () => {
    const cache = new LruCache({ maxEntries: 10 });
    const token = cache.beginRead("k");
    cache.invalidate("k");
    for (const bogus of [NaN, -1, 1.5, Infinity]) throwsCode(() => cache.set("k", 1, { token: bogus }), "INVALID_OPTIONS", /beginRead/);
    throwsCode(() => cache.set("k", 1, { token }), "STALE_WRITE");
    assert.equal(cache.has("k"), false);
  });
});
