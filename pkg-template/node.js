// Node.js (ESM): compile the .wasm next to this file synchronously, so no init call is needed.
import { readFileSync } from "node:fs";
import { initSync } from "./cascade_edge.js";

// Idempotent: initSync returns at once when the glue is already initialised (e.g. another entry ran).
initSync({ module: new WebAssembly.Module(readFileSync(new URL("./cascade_edge_bg.wasm", import.meta.url))) });

/** Already initialised; kept so code written for the browser entry runs unchanged. */
export async function init() {}

export * from "./api.js";
