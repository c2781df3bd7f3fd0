// The CLI as a user runs it: the installed package's bin, in the consumer project.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { installPackage } from "./helpers/consumer.mjs";

const SDL = `type User { id: ID! name: String posts: [Post!]! }
type Post { id: ID! title: String status: String author: User! comments: [Comment!]! }
type Comment { id: ID! body: String author: User! post: Post! }
type Query { user(id: ID!): User posts: [Post!]! }
`;
const RULES = [
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
const SETUP = [
  "CASCADE: Detected relationship: User -> Post (field: posts)",
  "CASCADE: Detected relationship: Post -> User (field: author)",
  "CASCADE: Detected relationship: Post -> Comment (field: comments)",
  "CASCADE: Detected relationship: Comment -> User (field: author)",
  "CASCADE: Detected relationship: Comment -> Post (field: post)",
  ...RULES.map((r) => `CASCADE: Rule: ${r}`),
  "CASCADE: Created 10 CASCADE rules",
];

let bin;
let dir;

before(() => {
  const { consumer } = installPackage();
  bin = join(consumer, "node_modules", ".bin", "cascade-edge");
  dir = mkdtempSync(join(consumer, "cli-"));
  writeFileSync(join(dir, "blog.graphql"), SDL);
  writeFileSync(join(dir, "broken.graphql"), "type User {\n  id: ID!\n  name: \n}\n");
});

after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function cli(...args) {
  const result = spawnSync(bin, args, { cwd: dir, encoding: "utf8" });
  if (result.error) throw result.error;
  return result;
}

describe("cascade-edge CLI", () => {
  test("rules prints the relationships and rules like the design document", () => {
    const { status, stdout, stderr } = cli("rules", "blog.graphql");
    assert.equal(stderr, "");
    assert.equal(status, 0);
    assert.equal(stdout, `${SETUP.join("\n")}\n`);
  });

  test("rules --json", () => {
    const { status, stdout } = cli("rules", "blog.graphql", "--json");
    assert.equal(status, 0);
    const out = JSON.parse(stdout);
    assert.deepEqual(out.rules.map((r) => r.id), RULES);
    assert.deepEqual(out.relationships.map((r) => `${r.holder}.${r.field}`), ["User.posts", "Post.author", "Post.comments", "Comment.author", "Comment.post"]);
  });

  test("cascade prints the cascade set with its trace, and nothing on stderr", () => {
    const { status, stdout, stderr } = cli("cascade", "blog.graphql", "--entity", "user", "--id", "123");
    assert.equal(stderr, "");
    assert.equal(status, 0);
    assert.equal(stdout, [
      "cascade set: 4 keys, 0 patterns, depth 1",
      "keys:",
      "  user:123",
      "  user:123:posts  ← user:123 via user -> user:{id}:posts (depth 1)",
      "  post:author:123  ← user:123 via user -> post:author:{id} (depth 1)",
      "  comment:author:123  ← user:123 via user -> comment:author:{id} (depth 1)",
      "tags: user:123, user:123:posts, post:author:123, comment:author:123",
      "",
    ].join("\n"));
  });

  test("cascade --data fills foreign keys; without it the keys are coarse patterns", () => {
    const withData = cli("cascade", "blog.graphql", "--entity", "Post", "--id", "9", "--data", '{"author_id":123}', "--json");
    assert.equal(withData.status, 0, withData.stderr);
    assert.deepEqual(JSON.parse(withData.stdout).keys, ["post:9", "post:9:comments", "comment:post:9", "user:123:posts", "post:author:123"]);
    const coarse = cli("cascade", "blog.graphql", "--entity", "post", "--id", "9");
    assert.equal(coarse.status, 0);
    assert.equal(coarse.stdout, [
      "cascade set: 3 keys, 2 patterns, depth 1",
      "keys:",
      "  post:9",
      "  post:9:comments  ← post:9 via post -> post:{id}:comments (depth 1)",
      "  comment:post:9  ← post:9 via post -> comment:post:{id} (depth 1)",
      "patterns:",
      "  user:*:posts  ← post:9 via post -> user:{author_id}:posts (depth 1) [coarse]",
      "  post:author:*  ← post:9 via post -> post:author:{author_id} (depth 1) [coarse]",
      "tags: post:9, post:9:comments, comment:post:9, user:*:posts, post:author:*",
      "",
    ].join("\n"));
  });

  test("--verbose logs the engine to stderr, keeping stdout clean", () => {
    const { status, stdout, stderr } = cli("cascade", "blog.graphql", "--entity", "user", "--id", "123", "--json", "-v");
    assert.equal(status, 0);
    assert.deepEqual(JSON.parse(stdout).keys, ["user:123", "user:123:posts", "post:author:123", "comment:author:123"]);
    const lines = stderr.trimEnd().split("\n");
    assert.deepEqual(lines.slice(0, 17), [...SETUP, "[CASCADE] user:123 changed"]);
    assert.match(lines.at(-1), /^\[CASCADE\] ✓ CASCADE complete in [\d.]+ms$/);
  });

  test("graph in every format", () => {
    const tree = cli("graph", "blog.graphql");
    assert.equal(tree.status, 0);
    assert.equal(tree.stdout.split("\n").slice(0, 4).join("\n"), "user\n├─ user:{id}:posts → user\n├─ post:author:{id} → post\n└─ comment:author:{id} → comment");
    assert.equal(cli("graph", "blog.graphql", "--format", "tree").stdout, tree.stdout);
    const dot = cli("graph", "blog.graphql", "--format", "dot");
    assert.equal(dot.status, 0);
    assert.ok(dot.stdout.startsWith("digraph cascade {\n"), dot.stdout);
    assert.ok(dot.stdout.includes('  "comment" -> "post" [label="post:{post_id}:comments"];\n'), dot.stdout);
    assert.ok(dot.stdout.endsWith("}\n"));
    const mermaid = cli("graph", "blog.graphql", "--format", "mermaid");
    assert.equal(mermaid.stdout.split("\n")[0], "graph LR");
    assert.equal(mermaid.stdout.split("\n").filter((l) => l.includes("-->")).length, 10);
    const json = JSON.parse(cli("graph", "blog.graphql", "--format", "json").stdout);
    assert.deepEqual(json.nodes, ["user", "post", "comment"]);
    assert.equal(json.edges.length, 10);
  });

  test("compile writes precompiled rules that cascade loads without the schema", () => {
    const { status, stdout, stderr } = cli("compile", "blog.graphql", "-o", "rules.json");
    assert.equal(status, 0);
    assert.equal(stdout, "");
    assert.equal(stderr, "wrote 10 rules to rules.json\n");
    const compiled = JSON.parse(readFileSync(join(dir, "rules.json"), "utf8"));
    assert.equal(compiled.format, "cascade-edge/rules");
    assert.equal(compiled.version, 2);
    assert.equal(compiled.derived, true, "the auto rules are derived again on load, not stored");
    assert.deepEqual(compiled.rules, []);
    assert.equal(cli("compile", "blog.graphql").stdout, readFileSync(join(dir, "rules.json"), "utf8"));
    const fromSchema = cli("cascade", "blog.graphql", "--entity", "post", "--id", "9", "--data", '{"author_id":"1"}');
    const fromRules = cli("cascade", "rules.json", "--entity", "post", "--id", "9", "--data", '{"author_id":"1"}');
    assert.equal(fromRules.status, 0, fromRules.stderr);
    assert.equal(fromRules.stdout, fromSchema.stdout);
    assert.equal(cli("graph", "rules.json").stdout, cli("graph", "blog.graphql").stdout);
  });

  test("--help exits 0", () => {
    const { status, stdout } = cli("--help");
    assert.equal(status, 0);
    assert.match(stdout, /^cascade-edge — /);
    assert.match(stdout, /Exit codes: 0 success, 1 error/);
  });

  const failures = [
    [["rules", "broken.graphql"], "error[SCHEMA_SYNTAX]: schema syntax error at 4:1: Unexpected `}`; Expected Name or [\n"],
    [["rules", "missing.graphql"], "error[ENOENT]: cannot read 'missing.graphql': no such file or directory\n"],
    [["cascade", "blog.graphql", "--entity", "usr", "--id", "1"], "error[UNKNOWN_ENTITY]: unknown entity `usr` — did you mean `user`?\n"],
    [["cascade", "blog.graphql", "--entity", "user", "--id", "x".repeat(2000)], "error[LIMIT_EXCEEDED]: key length is 2005, above the limit of 1024\n"],
    [["cascade", "broken.json", "--entity", "user", "--id", "1"], null],
  ];
  for (const [args, expected] of failures) {
    test(`runtime error exits 1: ${args.join(" ").slice(0, 60)}`, () => {
      if (args[1] === "broken.json") writeFileSync(join(dir, "broken.json"), "{");
      const { status, stdout, stderr } = cli(...args);
      assert.equal(status, 1);
      assert.equal(stdout, "");
      if (expected) assert.equal(stderr, expected);
      else assert.match(stderr, /^error\[INVALID_JSON\]: 'broken\.json' is not valid JSON: /);
    });
  }

  test("usage errors exit 2", () => {
    const { status, stdout, stderr } = cli("graph", "blog.graphql", "--format", "png");
    assert.equal(status, 2);
    assert.equal(stdout, "");
    assert.equal(stderr, "error: unknown format 'png' (expected one of: tree, dot, mermaid, json)\nRun 'cascade-edge --help' for usage.\n");
  });
});
