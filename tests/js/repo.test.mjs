// The repository stands on its own: a user's clone has nothing beside it, so no tracked file may
// read (or tell a reader to read) a path outside it, and the docs cite only files that exist.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));

/** Tracked files (git), or every file but build output when the tree is not a git checkout. */
function trackedFiles() {
  if (existsSync(join(root, ".git"))) {
    return execFileSync("git", ["ls-files", "-z"], { cwd: root, encoding: "utf8" }).split("\0").filter(Boolean);
  }
  const skip = new Set([".git", "target", "node_modules", "pkg", "dist", "test-results"]);
  const out = [];
  const walk = (dir) => {
    for (const name of readdirSync(dir)) {
      if (skip.has(name)) continue;
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else out.push(relative(root, path));
    }
  };
  walk(root);
  return out;
}

// Spelled in pieces so that this file does not match itself.
const OUTSIDE = [
  ["a sibling checkout's shared folder", new RegExp("(\\.\\./)+" + "shared/")],
  ["the shared fixtures", new RegExp("shared" + "/fixtures")],
  ["an absolute path of one machine", new RegExp("(^|[\\s\"'`(=])/(" + ["work", "root", "home/[^/\\s]+", "Users/[^/\\s]+"].join("|") + ")/")],
  ["a throwaway script in the temporary folder", new RegExp("`/" + "tmp/[^`]*\\.(mjs|js|sh|py)")],
];

/** The offending lines of `text` for each pattern, as `file:line: what`. */
export function outsideReferences(file, text) {
  const found = [];
  text.split("\n").forEach((line, i) => {
    for (const [what, pattern] of OUTSIDE) {
      if (pattern.test(line)) found.push(`${file}:${i + 1}: ${what}: ${line.trim().slice(0, 120)}`);
    }
  });
  return found;
}

test("the patterns catch what they are for", () => {
  // Spelled in pieces too: this file is tracked, and must not match itself.
  const bad = [
    "const p = '../" + "shared/" + "fix" + "tures/schemas/github.graphql';",
    "let path = format!(\"/" + "work/" + "main/x\");",
    "see /home/" + "alice/project/file",
    "measured with `/" + "tmp/lru/flow.mjs`",
  ];
  for (const line of bad) assert.equal(outsideReferences("x", line).length > 0, true, line);
  const good = ["tests/fixtures/schemas/github.graphql", "join(tmpdir(), 'x')", "https://example.com/" + "work/", "#!/usr/bin/env bash"];
  for (const line of good) assert.deepEqual(outsideReferences("x", line), [], line);
});

test("no tracked file outside .ci/ names a path outside the repository", () => {
  const found = [];
  for (const file of trackedFiles()) {
    if (file.startsWith(".ci/") || file.endsWith(".lock") || file.endsWith("package-lock.json")) continue;
    const path = join(root, file);
    if (!existsSync(path)) continue;
    const bytes = readFileSync(path);
    if (bytes.includes(0)) continue; // binary
    found.push(...outsideReferences(file, bytes.toString("utf8")));
  }
  assert.deepEqual(found, []);
});

test("the schema fixtures are in the repository", () => {
  for (const name of ["github.graphql", "swapi.graphql", "README.md"]) {
    assert.ok(existsSync(join(root, "tests", "fixtures", "schemas", name)), name);
  }
});

const DOCS = ["README.md", "BENCHMARKS.md", "RELIABILITY.md", "examples/worker/README.md", "tests/fixtures/schemas/README.md"];
// A path of the repository inside backticks: `bench/run.mjs`, `node tests/js/x.test.mjs`, `scripts/setup.sh`.
const CITED = /(?:^|[\s`(])((?:bench|benches|scripts|tests|examples|src|pkg-template|fuzz)\/[\w./-]*\w)/g;

test("every file the docs cite exists", () => {
  const missing = [];
  for (const doc of DOCS) {
    const path = join(root, doc);
    if (!existsSync(path)) continue;
    for (const code of readFileSync(path, "utf8").match(/`[^`\n]+`/g) ?? []) {
      for (const [, cited] of code.matchAll(CITED)) {
        // Globs and placeholders (`tests/js/*.test.mjs`, `fuzz/corpus/<target>`) name a folder.
        const file = cited.replace(/[/.]?[*<].*$/, "");
        if (/(^|\/)(corpus|artifacts|target|test-results|dist)(\/|$)/.test(file)) continue;
        if (!existsSync(join(root, file))) missing.push(`${doc}: ${cited}`);
      }
    }
  }
  assert.deepEqual([...new Set(missing)], []);
});
