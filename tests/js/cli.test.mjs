// The CLI as a user runs it: the installed package's bin, in the consumer project.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { importPackage, installPackage } from "./helpers/consumer.mjs";

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

// Two types whose default keyspaces are both `blog_post`.
const COLLISION = `type BlogPost { id: ID! title: String author: User! }
type Blog_Post { id: ID! title: String }
type User { id: ID! posts: [BlogPost!]! }
type Query { user(id: ID!): User }
`;
// Tag has no id, so it is not an entity unless its key fields are given; Item's key is composite.
const KEYLESS = `type Tag { slug: String! label: String posts: [Post!]! }
type Post { id: ID! title: String tag: Tag }
type Item { orgId: ID! number: Int! name: String }
type Query { post(id: ID!): Post }
`;
// A holder with two lists of one type: which one Post.author is the inverse of is for the user to say.
const LIKED = `type User { id: ID! posts: [Post!]! likedPosts: [Post!]! }
type Post { id: ID! title: String author: User! }
type Query { user(id: ID!): User }
`;
const USAGE = "Run 'cascade-edge --help' for usage.\n";

let bin;
let dir;

before(() => {
  const { consumer } = installPackage();
  bin = join(consumer, "node_modules", ".bin", "cascade-edge");
  dir = mkdtempSync(join(consumer, "cli-"));
  writeFileSync(join(dir, "blog.graphql"), SDL);
  writeFileSync(join(dir, "broken.graphql"), "type User {\n  id: ID!\n  name: \n}\n");
  writeFileSync(join(dir, "collision.graphql"), COLLISION);
  writeFileSync(join(dir, "keyless.graphql"), KEYLESS);
  writeFileSync(join(dir, "liked.graphql"), LIKED);
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

  test("--help lists the engine options, and each subcommand takes them", () => {
    const { stdout } = cli("--help");
    for (const flag of ["--options <file|json>", "--keyspaces <Type=ks>", "--key-fields <Type=f,g>", "--inverses <H.f=T.g|none>", "--max-depth <n>", "--max-keys <n>"]) {
      assert.ok(stdout.includes(`\n  ${flag}`), `--help lists ${flag}`);
    }
    for (const command of ["rules", "cascade", "graph", "compile"]) {
      assert.match(stdout, new RegExp(`\\n  cascade-edge ${command} [^\\n]*(\\n {23}[^\\n]*)?\\[engine options\\]`), `${command}'s usage line`);
      assert.equal(cli(command, "--help").stdout, stdout);
    }
    const pg = cli("pg", "--help");
    assert.equal(pg.status, 0);
    assert.ok(pg.stdout.includes(stdout.slice(stdout.indexOf("Engine options"), stdout.indexOf("--max-keys"))), pg.stdout);
    for (const sub of ["install", "watch"]) {
      assert.match(pg.stdout, new RegExp(`\\n  cascade-edge pg ${sub} [^\\n]*(\\n {20,}[^\\n]*)*\\n {20,}\\[engine options\\]`), `pg ${sub}'s usage`);
    }
  });

  test("a keyspace collision names the --keyspaces flag, and --keyspaces resolves it", () => {
    const collided = cli("rules", "collision.graphql");
    assert.equal(collided.status, 1);
    assert.equal(collided.stderr, "error[KEYSPACE_COLLISION]: types `BlogPost` and `Blog_Post` both map to keyspace `blog_post`; " +
      "give one of them its own keyspace with --keyspaces Blog_Post=<keyspace> (or `keyspaces` in --options)\n");
    const rules = cli("rules", "collision.graphql", "--keyspaces", "Blog_Post=legacy_post", "--json");
    assert.equal(rules.status, 0, rules.stderr);
    assert.deepEqual(JSON.parse(rules.stdout).rules.map((r) => r.id), ["blog_post -> user:{author_id}:posts", "blog_post -> blog_post:author:{author_id}", "user -> user:{id}:posts", "user -> blog_post:author:{id}"]);
    const set = cli("cascade", "collision.graphql", "--keyspaces", "Blog_Post=legacy_post", "--entity", "Blog_Post", "--id", "4", "--json");
    assert.equal(set.status, 0, set.stderr);
    assert.deepEqual(JSON.parse(set.stdout).keys, ["legacy_post:4"]);
    // Renaming the other one works as well, and the flag may be repeated.
    const both = cli("cascade", "collision.graphql", "--keyspaces", "BlogPost=post", "--keyspaces", "Blog_Post=old_post", "--entity", "post", "--id", "9", "--data", '{"author_id":"1"}', "--json");
    assert.equal(both.status, 0, both.stderr);
    assert.deepEqual(JSON.parse(both.stdout).keys, ["post:9", "user:1:posts", "post:author:1"]);
    const graph = cli("graph", "collision.graphql", "--keyspaces", "Blog_Post=legacy_post", "--format", "json");
    assert.equal(graph.status, 0, graph.stderr);
    assert.deepEqual(JSON.parse(graph.stdout).nodes, ["blog_post", "legacy_post", "user"]);
  });

  test("--key-fields makes an entity of a type without an id, composite keys included", () => {
    const unknown = cli("cascade", "keyless.graphql", "--entity", "Tag", "--id", "rust");
    assert.equal(unknown.status, 1);
    assert.match(unknown.stderr, /^error\[UNKNOWN_ENTITY\]: /);
    const tag = cli("cascade", "keyless.graphql", "--key-fields", "Tag=slug", "--entity", "Tag", "--id", "rust", "--json");
    assert.equal(tag.status, 0, tag.stderr);
    assert.deepEqual(JSON.parse(tag.stdout).keys, ["tag:rust", "tag:rust:posts", "post:tag:rust"]);
    const post = cli("cascade", "keyless.graphql", "--key-fields", "Tag=slug", "--entity", "post", "--id", "9", "--data", '{"tag_slug":"rust"}', "--json");
    assert.equal(post.status, 0, post.stderr);
    assert.deepEqual(JSON.parse(post.stdout).keys, ["post:9", "tag:rust:posts", "post:tag:rust"]);
    // compile keeps the key fields, a composite key's in order: the precompiled rules know the
    // entities without the flag.
    assert.equal(cli("compile", "keyless.graphql", "--key-fields", "Tag=slug", "--key-fields", "Item=orgId,number", "-o", "keyless.json").status, 0);
    const entities = JSON.parse(readFileSync(join(dir, "keyless.json"), "utf8")).entities.map((e) => e.slice(0, 3));
    assert.deepEqual(entities, [["Tag", "tag", "slug"], ["Post", "post", "id"], ["Item", "item", "orgId number"]]);
    const compiled = cli("cascade", "keyless.json", "--entity", "Tag", "--id", "rust", "--json");
    assert.equal(compiled.status, 0, compiled.stderr);
    assert.deepEqual(JSON.parse(compiled.stdout).keys, JSON.parse(tag.stdout).keys);
  });

  test("--max-depth and --max-keys bound the cascade set", () => {
    const full = JSON.parse(cli("cascade", "blog.graphql", "--entity", "user", "--id", "123", "--json").stdout);
    assert.deepEqual([full.keys, full.truncated], [["user:123", "user:123:posts", "post:author:123", "comment:author:123"], false]);
    const shallow = cli("cascade", "blog.graphql", "--entity", "user", "--id", "123", "--max-depth", "0", "--json");
    assert.equal(shallow.status, 0, shallow.stderr);
    assert.deepEqual([JSON.parse(shallow.stdout).keys, JSON.parse(shallow.stdout).truncated], [["user:123"], true]);
    const few = cli("cascade", "blog.graphql", "--entity", "user", "--id", "123", "--max-keys", "2");
    assert.equal(few.status, 0, few.stderr);
    assert.equal(few.stdout, [
      "cascade set: 2 keys, 2 patterns, depth 1 (truncated by a depth or fan-out budget)",
      "keys:",
      "  user:123",
      "  user:123:posts  ← user:123 via user -> user:{id}:posts (depth 1)",
      "patterns:",
      "  post:*  ← user:123 via user -> post:author:{id} (depth 1) [coarse]",
      "  comment:*  ← user:123 via user -> comment:author:{id} (depth 1) [coarse]",
      "tags: user:123, user:123:posts, post:*, comment:*",
      "",
    ].join("\n"));
    // compile keeps them too.
    const compiled = JSON.parse(cli("compile", "blog.graphql", "--max-depth", "2", "--max-keys", "50").stdout);
    assert.deepEqual([compiled.maxDepth, compiled.maxKeys], [2, 50]);
  });

  test("--options takes the options object from a file or inline; it equals the flags, and flags override it", () => {
    const flags = ["--keyspaces", "Blog_Post=legacy_post", "--key-fields", "User=id", "--max-keys", "2"];
    writeFileSync(join(dir, "options.json"), JSON.stringify({ keyspaces: { Blog_Post: "legacy_post" }, keyFields: { User: ["id"] }, maxKeys: 2 }));
    const change = ["--entity", "user", "--id", "1", "--json"];
    const byFlags = cli("cascade", "collision.graphql", ...flags, ...change);
    assert.equal(byFlags.status, 0, byFlags.stderr);
    assert.deepEqual(JSON.parse(byFlags.stdout).keys, ["user:1", "user:1:posts"]);
    const byFile = cli("cascade", "collision.graphql", "--options", "options.json", ...change);
    assert.equal(byFile.status, 0, byFile.stderr);
    assert.equal(byFile.stdout, byFlags.stdout);
    const inline = cli("cascade", "collision.graphql", "--options", readFileSync(join(dir, "options.json"), "utf8"), ...change);
    assert.equal(inline.stdout, byFlags.stdout);
    for (const command of [["rules", "collision.graphql", "--json"], ["graph", "collision.graphql"], ["compile", "collision.graphql"]]) {
      const a = cli(...command, "--options", "options.json");
      assert.equal(a.status, 0, a.stderr);
      assert.equal(a.stdout, cli(...command, ...flags).stdout, command.join(" "));
    }
    // A flag overrides the file's value; the file's other entries stay.
    const over = cli("cascade", "collision.graphql", "--options", "options.json", "--max-keys", "3", "--keyspaces", "User=member", "--entity", "Blog_Post", "--id", "4", "--json");
    assert.equal(over.status, 0, over.stderr);
    assert.deepEqual(JSON.parse(over.stdout).keys, ["legacy_post:4"]);
    const member = JSON.parse(cli("cascade", "collision.graphql", "--options", "options.json", "--max-keys", "3", "--keyspaces", "User=member", "--entity", "User", "--id", "1", "--json").stdout);
    assert.deepEqual(member.keys, ["member:1", "member:1:posts", "blog_post:author:1"]);
  });

  test("--inverses reaches the engine's `inverses` option", async () => {
    const { CascadeEngine } = await importPackage();
    const inverses = { "User.posts": "Post.author", "User.likedPosts": null };
    let expected;
    try {
      expected = { rules: CascadeEngine.fromSchema(LIKED, { inverses }).rules().map((r) => r.id) };
    } catch (error) {
      expected = { error };
    }
    const run = cli("rules", "liked.graphql", "--inverses", "User.posts=Post.author", "--max-depth", "3", "--inverses", "User.likedPosts=none", "--json");
    if (expected.error) {
      // An engine without the option refuses it, and says so for the flag.
      assert.equal(expected.error.code, "INVALID_OPTIONS");
      assert.equal(run.status, 2);
      assert.equal(run.stderr, `error[INVALID_OPTIONS]: ${expected.error.message} (given by --inverses)\n${USAGE}`);
    } else {
      assert.equal(run.status, 0, run.stderr);
      assert.deepEqual(JSON.parse(run.stdout).rules.map((r) => r.id), expected.rules);
      const viaFile = cli("rules", "liked.graphql", "--options", JSON.stringify({ inverses }), "--json");
      assert.equal(viaFile.stdout, run.stdout);
    }
  });

  const badOptions = [
    [["--max-depth", "deep"], "--max-depth takes a whole number, not 'deep'"],
    [["--max-keys=-1"], "--max-keys takes a whole number, not '-1'"],
    [["--max-keys=1.5"], "--max-keys takes a whole number, not '1.5'"],
    [["--max-depth", "65"], "invalid options: `maxDepth` must be a whole number from 0 to 64 (given by --max-depth)"],
    [["--max-keys", "0"], "invalid options: maxKeys must be at least 1 (given by --max-keys)"],
    [["--keyspaces", "User"], "--keyspaces takes Type=keyspace, e.g. BlogPost=post, not 'User'"],
    [["--keyspaces", "Usr=member"], "invalid options: keyspaces names type `Usr`, which the schema does not define — did you mean `User`? (given by --keyspaces)"],
    [["--key-fields", "User=id,,na-me"], "--key-fields takes Type=field or Type=field1,field2 (a composite key): 'na-me' is not a field name"],
    [["--key-fields", "User=nickname"], "invalid options: key_fields names `User.nickname`, but `User` has no field `nickname` (given by --key-fields)"],
    [["--inverses", "User.posts"], "--inverses takes Holder.field=Target.field or Holder.field=none, e.g. User.likedPosts=none, not 'User.posts'"],
    [["--inverses", "User.posts=author"], "--inverses takes Holder.field=Target.field or Holder.field=none, e.g. User.likedPosts=none: 'author' is not Type.field"],
    [["--options", "nothing.json"], "--options: cannot read 'nothing.json': no such file or directory"],
    [["--options", "{maxDepth: 2}"], /^--options is not valid JSON: Expected property name /],
    [["--options", "[1]"], '--options must hold a JSON object, e.g. {"keyspaces":{"BlogPost":"post"},"maxDepth":2}'],
    [["--options", '{"maxdepth":2}'], "invalid options: unknown option `maxdepth`; options are keyspaces, keyFields, inverses, delimiter, maxDepth, maxKeys, verbose, logger (given by --options)"],
    [["--options", '{"delimiter":"ab"}'], 'invalid options: `delimiter` must be a single character such as ":" (given by --options)'],
    [["--options", '{"logger":"console"}'], "--options cannot hold `logger`, a function: --verbose logs to stderr"],
  ];
  for (const [flags, message] of badOptions) {
    test(`a bad engine option exits 2 with a coded message: ${flags.join(" ")}`, () => {
      const { status, stdout, stderr } = cli("cascade", "blog.graphql", "--entity", "user", "--id", "1", ...flags);
      assert.equal(status, 2, stderr);
      assert.equal(stdout, "");
      const [head, tail] = [stderr.slice(0, stderr.indexOf(": ") + 2), stderr.slice(stderr.indexOf(": ") + 2)];
      assert.equal(head, "error[INVALID_OPTIONS]: ");
      assert.ok(tail.endsWith(`\n${USAGE}`), stderr);
      if (typeof message === "string") assert.equal(tail, `${message}\n${USAGE}`);
      else assert.match(tail, message);
      assert.doesNotMatch(stderr, /\n {4}at /, "no stack trace");
    });
  }

  test("precompiled rules keep their options: engine options with a .json schema are a usage error", () => {
    assert.equal(cli("compile", "blog.graphql", "-o", "plain.json").status, 0);
    const { status, stderr } = cli("cascade", "plain.json", "--entity", "user", "--id", "1", "--max-depth", "1");
    assert.equal(status, 2);
    assert.equal(stderr, "error: 'plain.json' holds precompiled rules, whose options were fixed when they were compiled: " +
      `give --max-depth to \`cascade-edge compile\` with the SDL schema instead\n${USAGE}`);
    // `rules` lists what the analysis of SDL detects; precompiled rules are listed as JSON.
    const listed = cli("rules", "plain.json");
    assert.equal(listed.status, 2);
    assert.equal(listed.stderr, `error: 'plain.json' holds precompiled rules: list them with 'cascade-edge rules plain.json --json'\n${USAGE}`);
    const json = cli("rules", "plain.json", "--json");
    assert.equal(json.status, 0, json.stderr);
    assert.equal(json.stdout, cli("rules", "blog.graphql", "--json").stdout);
  });

  test("usage errors exit 2", () => {
    const { status, stdout, stderr } = cli("graph", "blog.graphql", "--format", "png");
    assert.equal(status, 2);
    assert.equal(stdout, "");
    assert.equal(stderr, "error: unknown format 'png' (expected one of: tree, dot, mermaid, json)\nRun 'cascade-edge --help' for usage.\n");
  });
});
