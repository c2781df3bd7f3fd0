// The public JS API of cascade-edge (SPEC §8), shared by every runtime entry: the names each
// entry exports, from the modules that own them. Every failure surfaces as an Error with a
// stable `code` (errors.js). Nothing here calls into wasm at module top level, since entries
// initialise the module after importing this file.
export { version } from "./wasm.js";
export { CascadeEngine } from "./engine.js";
export { LruCache } from "./lru.js";
export { planPurge, purgeKv, purgeCache, purgeCloudflare, purgeFastly, keyCovers } from "./purge.js";
export { purgeVarnish } from "./purge-varnish.js";
export { tagsForResponse, withCoarseTags, encodeSegment, tagForKey } from "./tags.js";
export { GenerationCoordinator, GenerationSync } from "./isolate.js";
export {
  signPurgeRequest,
  verifyPurgeRequest,
  createReplayGuard,
  verifyBearer,
  timingSafeEqualText,
  PURGE_TIMESTAMP_HEADER,
  PURGE_SIGNATURE_HEADER,
} from "./purge-auth.js";
