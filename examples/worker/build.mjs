#!/usr/bin/env node
// Bundles the Worker for workerd without wrangler (the tests use this; `wrangler deploy` does the
// same on its own): esbuild resolves `cascade-edge` with the `workerd` export condition, and the
// .wasm stays a separate module (a CompiledWasm module in workerd) next to the bundle.
//   node examples/worker/build.mjs   →   examples/worker/dist/index.js + cascade_edge_bg.wasm
import { build } from "esbuild";
import { copyFileSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const pkg = join(here, "..", "..", "pkg");

// `cascade-edge` → the file pkg/package.json's exports map names for the `workerd` condition, i.e.
// what a bundler resolves for an installed package.
const cascadeEdgeFromPkg = {
  name: "cascade-edge-from-pkg",
  setup(b) {
    b.onResolve({ filter: /^cascade-edge$/ }, () => {
      const manifest = JSON.parse(readFileSync(join(pkg, "package.json"), "utf8"));
      const entry = manifest.exports["."].workerd.default;
      return { path: join(pkg, entry) };
    });
  },
};

export async function buildWorker({ outdir = join(here, "dist") } = {}) {
  if (!existsSync(join(pkg, "workerd.js"))) {
    throw new Error("pkg/ is missing: run `node scripts/build-pkg.mjs` first");
  }
  mkdirSync(outdir, { recursive: true });
  await build({
    entryPoints: [join(here, "src", "index.js")],
    outfile: join(outdir, "index.js"),
    bundle: true,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    conditions: ["workerd", "worker", "browser"],
    plugins: [cascadeEdgeFromPkg],
    external: ["*.wasm"],
    logLevel: "warning",
  });
  copyFileSync(join(pkg, "cascade_edge_bg.wasm"), join(outdir, "cascade_edge_bg.wasm"));
  return { script: join(outdir, "index.js"), wasm: join(outdir, "cascade_edge_bg.wasm"), outdir };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const out = await buildWorker();
  console.log(`built ${out.script}`);
}
