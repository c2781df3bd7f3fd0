#!/usr/bin/env node
// Bundles the Worker for workerd without wrangler (the tests use this; `wrangler deploy` does the
// same on its own): esbuild resolves `cascade-edge/edge` (the build without the SDL parser: the
// Worker loads precompiled rules) with the `workerd` export condition and `cascade-edge/edge/yoga`
// beside it, bundles graphql-yoga and the schema text, minifies, and keeps the .wasm a separate
// module (a CompiledWasm module in workerd) next to the bundle. Prints the sizes.
//   node examples/worker/build.mjs   →   examples/worker/dist/index.js + cascade_edge_bg.wasm
import { build } from "esbuild";
import { copyFileSync, existsSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const pkg = join(here, "..", "..", "pkg");

// `cascade-edge` and its subpaths → the file pkg/package.json's exports map names for the `workerd`
// condition (else its default), i.e. what a bundler resolves for an installed package. Records the
// directories of the entries it resolved, so the wasm beside the one the Worker uses is copied next
// to the bundle.
function cascadeEdgeFromPkg(resolved) {
  return {
    name: "cascade-edge-from-pkg",
    setup(b) {
      b.onResolve({ filter: /^cascade-edge(\/.*)?$/ }, (args) => {
        const manifest = JSON.parse(readFileSync(join(pkg, "package.json"), "utf8"));
        const target = manifest.exports[args.path.replace("cascade-edge", ".")];
        if (target === undefined) return { errors: [{ text: `cascade-edge has no export ${args.path}` }] };
        const entry = join(pkg, target.workerd?.default ?? target.default);
        resolved.add(dirname(entry));
        return { path: entry };
      });
    },
  };
}

const kb = (bytes) => `${(bytes / 1024).toFixed(1)} KB`;
/** Raw and gzip sizes of the bundle and the wasm, as one line. */
export function sizes(out) {
  const of = (file) => {
    const bytes = readFileSync(file);
    return `${kb(statSync(file).size)} raw / ${kb(gzipSync(bytes, { level: 9 }).length)} gzip`;
  };
  return `index.js ${of(out.script)}; cascade_edge_bg.wasm ${of(out.wasm)}`;
}

/** Bundles `entry` (default this Worker's src/index.js; examples/purge-receiver passes its own). */
export async function buildWorker({ outdir = join(here, "dist"), entry = join(here, "src", "index.js") } = {}) {
  if (!existsSync(join(pkg, "workerd.js"))) {
    throw new Error("pkg/ is missing: run `node scripts/build-pkg.mjs` first");
  }
  mkdirSync(outdir, { recursive: true });
  const resolved = new Set();
  await build({
    entryPoints: [entry],
    outfile: join(outdir, "index.js"),
    bundle: true,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    conditions: ["workerd", "worker", "browser"],
    mainFields: ["browser", "module", "main"],
    loader: { ".graphql": "text" },
    minify: true,
    plugins: [cascadeEdgeFromPkg(resolved)],
    external: ["*.wasm"],
    logLevel: "warning",
  });
  // Two builds' glue in one bundle would need two wasm modules of one name.
  if (resolved.size !== 1) throw new Error(`the Worker must import one cascade-edge build, not ${resolved.size}`);
  copyFileSync(join([...resolved][0], "cascade_edge_bg.wasm"), join(outdir, "cascade_edge_bg.wasm"));
  return { script: join(outdir, "index.js"), wasm: join(outdir, "cascade_edge_bg.wasm"), outdir };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const out = await buildWorker();
  console.log(`built ${out.script}: ${sizes(out)}`);
}
