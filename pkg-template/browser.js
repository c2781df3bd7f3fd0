// Browsers and other runtimes: `await init()` once before using the API.
import initWasm from "./cascade_edge.js";

let ready;

/**
 * Loads the wasm module once; later calls return the same promise (a failed load may be retried).
 * `source` is optional: a URL or string, Response, bytes, or a WebAssembly.Module (or a promise of one).
 */
export function init(source) {
  ready ??= initWasm({ module_or_path: source ?? new URL("./cascade_edge_bg.wasm", import.meta.url) }).then(
    () => undefined,
    (error) => {
      ready = undefined;
      throw error;
    },
  );
  return ready;
}

export * from "./api.js";
