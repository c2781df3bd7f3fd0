// The public JS API of cascade-edge, shared by every runtime entry.
// Placeholder: the real file exports the SPEC §8 names (CascadeEngine, LruCache) and the purge helpers.
// It must not call into wasm at module top level: entries initialise the module after importing this.
export { version } from "./cascade_edge.js";
