#!/usr/bin/env node
// Bundles the receiver for workerd as examples/worker/build.mjs bundles the blog Worker (the same
// resolution of `cascade-edge/edge` to this repository's pkg/edge/, the .wasm kept beside it).
//   node examples/purge-receiver/build.mjs   →   examples/purge-receiver/dist/
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildWorker, sizes } from "../worker/build.mjs";

const here = dirname(fileURLToPath(import.meta.url));

export const buildReceiver = ({ outdir = join(here, "dist") } = {}) => buildWorker({ outdir, entry: join(here, "src", "index.js") });

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const out = await buildReceiver();
  console.log(`built ${out.script}: ${sizes(out)}`);
}
