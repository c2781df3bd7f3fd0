#!/usr/bin/env node
// Precompiles the blog schema into rules.json, so the Worker loads rules with
// CascadeEngine.fromJSON and never parses SDL at the edge. Run after changing schema.graphql:
//   node examples/worker/compile-rules.mjs
// It uses the package's Node entry: `cascade-edge` when installed, else this repository's pkg/.
import { readFileSync, writeFileSync } from "node:fs";

let lib;
try {
  lib = await import("cascade-edge");
} catch {
  lib = await import("../../pkg/node.js"); // inside the cascade-edge repository (build pkg/ first)
}
const { CascadeEngine } = lib;

const here = new URL(".", import.meta.url);
const sdl = readFileSync(new URL("schema.graphql", here), "utf8");
const engine = CascadeEngine.fromSchema(sdl);
const lint = engine.lint();
const json = engine.toJSON();
writeFileSync(new URL("rules.json", here), `${JSON.stringify(json, null, 2)}\n`);
console.log(`rules.json: ${json.rules?.length ?? "?"} rules for ${json.entities?.length ?? "?"} entities` +
  (Array.isArray(lint) && lint.length ? ` (lint: ${lint.length} findings)` : ""));
