// Types of response tagging (tags.js).

import type { EngineSchema } from "./index.js";

/** The part of a CascadeEngine that tagging reads: its `schema`, or what that is built from. */
export type TaggingEngine =
  | { readonly schema: EngineSchema }
  | {
      entities(): Array<{ type: string; keyspace: string; keyFields: string[] }>;
      relationships(): Array<{ holder: string; field: string; target: string; cardinality: "one" | "many" }>;
      toJSON(): { delimiter?: string };
    };

export interface TagsForResponseOptions {
  /** Maximum header value size in bytes (default 16384, the Cloudflare and Fastly header budget). */
  budgetBytes?: number;
  /** `cloudflare`: comma-separated `Cache-Tag`; `fastly`: space-separated `Surrogate-Key`. */
  format?: "cloudflare" | "fastly";
  /** Top-level fields that are a list of a parent entity: `{ posts: { entity: "User", id: "1" } }` → `user:1:posts`. */
  parents?: Record<string, { entity: string; id: string | number; field?: string }>;
}

export interface ResponseTags {
  /** The header value. */
  header: string;
  /** The tags, in first-seen order. */
  tags: string[];
  /** The exact keys behind the fine tags (no wildcard forms, never coarsened): `LruCache.set`'s `tags` for the same response. */
  keys: string[];
  /** Whether fine tags were replaced by keyspace tags to fit the budget. */
  coarsened: boolean;
  /** The coarse tags used (`post:*`, or `*`), sorted. Purge with `withCoarseTags(set)` to reach them. */
  coarseTags: string[];
}

/** The `Cache-Tag` / `Surrogate-Key` value for a GraphQL response: entity keys, parent-scoped list keys and their wildcards. */
export function tagsForResponse(engine: TaggingEngine, response: unknown, options?: TagsForResponseOptions): ResponseTags;

/** `set` with the coarse tags appended (`ks:*` per keyspace touched, and `*`), so purges reach coarsened responses. */
export function withCoarseTags<S extends { keys?: string[]; patterns?: string[]; tags?: string[] }>(
  set: S,
  options?: { delimiter?: string },
): S & { tags: string[] };

/** Encodes an id (a string, or a number as its text) as one key segment, exactly like the core. */
export function encodeSegment(value: string | number, delimiter?: string): string;

/** Renders a key as a CDN tag, exactly like the core's CascadeSet `tags`. */
export function tagForKey(key: string): string;
