// Cloudflare Workers (workerd): the bundler hands us the compiled WebAssembly.Module.
import module from "./cascade_edge_bg.wasm";
import { initSync } from "./cascade_edge.js";

// Idempotent: initSync returns at once when the glue is already initialised (e.g. another entry ran).
initSync({ module });

/** Already initialised; kept so code written for the browser entry runs unchanged. */
export async function init() {}

export * from "./api.js";
