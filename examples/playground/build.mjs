#!/usr/bin/env node
// Assembles the playground as one static directory (default dist/playground): the page, the
// browser files of pkg/, and the preset schemas. Deploy that directory anywhere static.
//   node examples/playground/build.mjs [outDir]
import { copyFileSync, mkdirSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { pageDir, pageFiles, pkgDir, pkgFiles, root, schemaSources } from "./site.mjs";

/** Writes the static site into `outDir` (replacing it) and returns `outDir`. */
export function buildPlayground(outDir = join(root, "dist", "playground")) {
  const pkg = pkgFiles();
  const schemas = schemaSources();
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(join(outDir, "pkg"), { recursive: true });
  mkdirSync(join(outDir, "schemas"), { recursive: true });
  for (const name of pageFiles()) copyFileSync(join(pageDir, name), join(outDir, name));
  for (const name of pkg) copyFileSync(join(pkgDir, name), join(outDir, "pkg", name));
  for (const [name, source] of Object.entries(schemas)) copyFileSync(source, join(outDir, "schemas", `${name}.graphql`));
  return outDir;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  try {
    const out = buildPlayground(process.argv[2] ? resolve(process.argv[2]) : undefined);
    console.log(`[playground] built ${out}`);
  } catch (error) {
    console.error(`[playground] error: ${error.message}`);
    process.exit(1);
  }
}
