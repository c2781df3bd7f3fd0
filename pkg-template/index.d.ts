// Types of the cascade-edge package. Placeholder until the SPEC §8 API (CascadeEngine, LruCache) lands.

/** The version of the cascade-edge build. */
export function version(): string;

/** What `init` accepts: where to load the wasm module from, or the module itself. */
export type InitInput =
  | string
  | URL
  | Request
  | Response
  | BufferSource
  | WebAssembly.Module
  | Promise<string | URL | Request | Response | BufferSource | WebAssembly.Module>;

/**
 * Loads the wasm module. Required once in browsers (`await init()`), idempotent, and a no-op in
 * Node and Workers, where the module is ready on import.
 */
export function init(source?: InitInput): Promise<void>;

export { tagsForResponse, withCoarseTags, encodeSegment, tagForKey } from "./tags.js";
export type { TagsForResponseOptions, ResponseTags, TaggingEngine } from "./tags.js";
export { GenerationSync } from "./isolate.js";
export type { GenerationSyncOptions, CheckResult } from "./isolate.js";
