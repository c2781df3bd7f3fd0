// Where the playground's files come from, for the dev server and for the static build.
// The page lives here; the wasm package is the repo's built `pkg/`; the preset schemas are the blog
// example and the shared fixtures, copied at build time rather than committed a second time.
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const pageDir = dirname(fileURLToPath(import.meta.url));
export const root = resolve(pageDir, "..", "..");
export const pkgDir = join(root, "pkg");

/** The page's own files (everything here except the Node scripts). */
export function pageFiles() {
  return readdirSync(pageDir).filter((name) => /\.(html|css|js|svg|webmanifest)$/.test(name));
}

/** The files of the built package the browser entry needs (`browser.js` and what it imports). */
export function pkgFiles() {
  if (!existsSync(join(pkgDir, "browser.js"))) {
    throw new Error(`${pkgDir} is not built: run \`node scripts/build-pkg.mjs\` first`);
  }
  return readdirSync(pkgDir).filter((name) => name.endsWith(".js") || name.endsWith(".wasm"));
}

// `shared/` sits beside the repository (CI's fresh clone); from a git worktree it sits beside the
// main checkout, which `git rev-parse --git-common-dir` finds. CASCADE_EDGE_FIXTURES overrides both.
function fixturesDir() {
  const candidates = [process.env.CASCADE_EDGE_FIXTURES, join(root, "..", "shared", "fixtures", "schemas")];
  try {
    const common = execFileSync("git", ["rev-parse", "--path-format=absolute", "--git-common-dir"], {
      cwd: root,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    }).trim();
    candidates.push(join(common, "..", "..", "shared", "fixtures", "schemas"));
  } catch {
    // Not a git checkout: the sibling directory is the only place to look.
  }
  const found = candidates.find((dir) => dir && existsSync(join(dir, "swapi.graphql")));
  if (!found) {
    throw new Error(`the schema fixtures were not found (looked in ${candidates.filter(Boolean).join(", ")}); set CASCADE_EDGE_FIXTURES`);
  }
  return found;
}

/** Preset schema name → source file, served as `schemas/<name>.graphql`. */
export function schemaSources() {
  const fixtures = fixturesDir();
  return {
    blog: join(root, "examples", "node", "blog.graphql"),
    swapi: join(fixtures, "swapi.graphql"),
    github: join(fixtures, "github.graphql"),
  };
}
