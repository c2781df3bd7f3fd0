// Where the playground's files come from, for the dev server and for the static build.
// The page lives here; the wasm package is the repo's built `pkg/`; the preset schemas are the blog
// example and the schema fixtures of tests/fixtures, copied at build time rather than committed twice.
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

/** Preset schema name → source file, served as `schemas/<name>.graphql`. */
export function schemaSources() {
  const fixtures = join(root, "tests", "fixtures", "schemas");
  return {
    blog: join(root, "examples", "node", "blog.graphql"),
    swapi: join(fixtures, "swapi.graphql"),
    github: join(fixtures, "github.graphql"),
  };
}
