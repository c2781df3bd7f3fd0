// cascade-edge/yoga: a store for @envelop/response-cache (GraphQL Yoga's response cache) that
// purges by schema-derived cascades instead of type-wide or entity-only purges.
//
// The plugin hands the store a response with the entities it contains ({ typename, id }) and, after
// a mutation, the entities in the mutation's result. The store tags each cached response with the
// entity keys it contains (`user:1`) and the parent-scoped list keys of those entities
// (`user:1:posts`), and turns a mutation's entities into changes whose cascade set names every tag
// to purge: creating post 60 by user 1 purges responses tagged `user:1:posts`, which no entity tag
// (`Post:60` is in no cached response yet) would reach.
//
// ESM only. Import `cascade-edge` first (it initialises the wasm); this module shares its classes.
// With the edge build, import `cascade-edge/edge` and `cascade-edge/edge/yoga` (this file over the
// edge build's classes) instead.
import { LruCache } from "./lru.js";
import { encodeSegment } from "./encoding.js";
import { codedError } from "./errors.js";
import { MAX_TAGS_PER_ENTRY as MAX_TAGS } from "./protocol.js";
import { purgeKv } from "./purge.js";
import { schemaOf } from "./schema.js";

export { encodeSegment };

/** The keyspace cached responses live under in the LRU, and the marker segment of KV index keys. */
const RESPONSE = "@response";
/** Longest response key kept as is; longer ids are hashed (and checked on read). */
const MAX_ID_LENGTH = 512;

function fnv1a(text) {
  let h = 0xcbf29ce484222325n;
  for (const byte of new TextEncoder().encode(text)) {
    h ^= BigInt(byte);
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return h.toString(16);
}

const isPromise = (v) => v !== null && typeof v === "object" && typeof v.then === "function";

/**
 * A `Cache` for `useResponseCache({ cache })` from `@envelop/response-cache`.
 *
 * @param {object} options
 * @param {import("./api.js").CascadeEngine} options.engine the schema's engine (rules, keyspaces).
 * @param {LruCache} [options.lru] where responses live; default a new `LruCache({ maxEntries })`.
 * @param {number} [options.maxEntries=1000] size of the default LRU.
 * @param {object} [options.kv] a Workers KV namespace (get/put/delete/list) as a second tier.
 * @param {string} [options.kvPrefix="@response"] keyspace of responses in KV.
 * @param {(entity: {typename: string, id: string|number}) => object|undefined} [options.changeFor]
 *   the change data of a mutated entity, `{ op?, data?, before? }`, so foreign keys are exact
 *   (`author_id` → `user:1:posts`) instead of widened to every parent (`user:*:posts`). For a
 *   change that moves an entity to another parent, give `before` too, or the old parent's lists stay.
 *   Keep it synchronous if you can: the plugin does not await `invalidate`, so with a promise the
 *   purge lands after the mutation's response, and a query racing it may still be served the old one.
 * @param {string} [options.delimiter=":"] the engine's delimiter.
 */
export function createResponseCacheStore(options = {}) {
  const { engine, lru, kv, maxEntries = 1000, kvPrefix = RESPONSE, changeFor, delimiter = ":" } = options ?? {};
  const schema = typeof engine?.cascadeBatch === "function" ? schemaOf(engine) : undefined;
  if (schema === undefined) {
    throw codedError("INVALID_OPTIONS", "`engine` must be a CascadeEngine (CascadeEngine.fromSchema(sdl))");
  }
  if (lru !== undefined && !(lru instanceof LruCache)) throw codedError("INVALID_OPTIONS", "`lru` must be an LruCache");
  if (kv !== undefined && !["get", "put", "delete", "list"].every((m) => typeof kv[m] === "function")) {
    throw codedError("INVALID_OPTIONS", "`kv` must be a KV namespace with get, put, delete and list");
  }
  if (changeFor !== undefined && typeof changeFor !== "function") {
    throw codedError("INVALID_OPTIONS", "`changeFor` must be a function ({ typename, id }) => ({ data, before, op })");
  }
  const d = delimiter;
  const cache = lru ?? new LruCache({ maxEntries, delimiter: d });
  // Responses with more tags than an entry can carry: key → keyspaces they touch; any purge in
  // one of those keyspaces removes them (coarser, never stale).
  const wide = new Map();
  const stats = { hits: 0, misses: 0, sets: 0, invalidations: 0, purged: 0 };
  let pendingKv = Promise.resolve();

  const responseKey = (id) => {
    const text = String(id);
    return text.length <= MAX_ID_LENGTH
      ? `${RESPONSE}${d}${encodeSegment(text, d)}`
      : `${RESPONSE}${d}h${d}${fnv1a(text)}${d}${text.length}`;
  };
  const kvKey = (key) => `${kvPrefix}${key.slice(RESPONSE.length)}`;

  /** The tags of a response: entity keys, the list keys of each entity, keyspaces for id-less records. */
  function tagsOf(entities) {
    const tags = new Set();
    for (const { typename, id } of entities) {
      const entity = schema.byType.get(typename);
      if (entity === undefined) continue; // not an entity (payloads, value types): nothing to purge by
      if (id === undefined || id === null) {
        tags.add(entity.keyspace); // an empty list or null field of this type: only a type-wide purge reaches it
        continue;
      }
      const key = `${entity.keyspace}${d}${encodeSegment(id, d)}`;
      tags.add(key);
      // The to-many fields: `User` → ["posts"] gives the list key `user:{id}:posts`.
      for (const field of entity.toMany) tags.add(`${key}${d}${field}`);
    }
    return [...tags];
  }

  function changesOf(entities) {
    const changes = [];
    const keyspaces = [];
    const pending = [];
    for (const record of entities) {
      const entity = schema.byType.get(record.typename);
      if (entity === undefined) continue;
      if (record.id === undefined || record.id === null) {
        keyspaces.push(entity.keyspace); // type-wide, as the plugin asks
        continue;
      }
      const change = { entity: record.typename, id: String(record.id) };
      const extra = changeFor?.({ typename: record.typename, id: record.id });
      if (isPromise(extra)) pending.push(extra.then((e) => Object.assign(change, e ?? {}, { entity: change.entity, id: change.id })));
      else if (extra) Object.assign(change, extra, { entity: change.entity, id: change.id });
      changes.push(change);
    }
    return { changes, keyspaces, pending };
  }

  function purgeLru(set) {
    const removed = cache.invalidateSet(set);
    const hitKeyspaces = new Set([...set.keys, ...set.patterns].map((k) => k.split(d)[0]));
    for (const [key, keyspaces] of wide) {
      if (!cache.has(key)) {
        wide.delete(key);
      } else if (hitKeyspaces.has("*") || [...keyspaces].some((ks) => hitKeyspaces.has(ks))) {
        cache.delete(key);
        wide.delete(key);
        removed.push(key);
      }
    }
    const responses = removed.filter((key) => key.startsWith(`${RESPONSE}${d}`)).length;
    stats.purged += responses;
    return set;
  }

  async function purgeKvTier(set) {
    // Index keys live below their tag (`user:1:posts:@response:{id}`), so purging the cascade set
    // from KV deletes them; each deleted index key names a response to delete.
    const result = await purgeKv(kv, set, { delimiter: d });
    const responses = new Set();
    for (const name of result.purged) {
      const segments = String(name).split(d);
      const at = segments.lastIndexOf(RESPONSE);
      if (at >= 0 && at < segments.length - 1) responses.add(`${RESPONSE}${d}${segments.slice(at + 1).join(d)}`);
    }
    // Each response takes all its index keys with it, not only the ones the cascade reached.
    await Promise.all(
      [...responses].map(async (key) => {
        const stored = await kv.get(kvKey(key), "json");
        await Promise.all((stored?.tags ?? []).map((tag) => kv.delete(`${tag}${d}${key}`)));
        await kv.delete(kvKey(key));
      }),
    );
    if (result.failed.length > 0) {
      throw codedError("PURGE_FAILED", `KV purge failed for ${result.failed.length} item(s): ${JSON.stringify(result.failed.slice(0, 3))}`);
    }
  }

  function finish(changes, keyspaces) {
    const set = changes.length > 0 ? engine.cascadeBatch(changes) : { keys: [], patterns: [], tags: [] };
    if (keyspaces.length > 0) set.keys = [...new Set([...set.keys, ...keyspaces])];
    purgeLru(set);
    if (kv) {
      pendingKv = pendingKv.then(() => purgeKvTier(set));
      return pendingKv.then(() => undefined);
    }
    return undefined;
  }

  return {
    /** The LruCache holding the responses. */
    lru: cache,
    /** hits, misses, sets, invalidations, and responses purged. */
    stats: () => ({ ...stats }),
    /** The tags `set` records for these entities (entity keys and parent-scoped list keys). */
    tagsOf: (entities) => tagsOf([...entities]),

    get(id) {
      const key = responseKey(id);
      const hit = cache.get(key);
      if (hit !== undefined && (hit.id === undefined || hit.id === String(id))) {
        stats.hits++;
        return hit.result;
      }
      if (!kv) {
        stats.misses++;
        return null;
      }
      // Wait for purges in flight, so KV never serves what a finished mutation made stale.
      return pendingKv.then(async () => {
        const stored = await kv.get(kvKey(key), "json");
        if (!stored || stored.id !== String(id)) {
          stats.misses++;
          return null;
        }
        stats.hits++;
        cache.set(key, { id: stored.id, result: stored.result }, stored.tags.length <= MAX_TAGS ? { tags: stored.tags } : undefined);
        return stored.result;
      });
    },

    set(id, data, entities, ttl) {
      const key = responseKey(id);
      const tags = tagsOf(entities);
      const ttlMs = Number.isFinite(ttl) && ttl > 0 ? ttl : undefined;
      const value = { id: String(id), result: data };
      if (tags.length <= MAX_TAGS) {
        cache.set(key, value, { ttlMs, tags });
        wide.delete(key);
      } else {
        cache.set(key, value, { ttlMs });
        wide.set(key, new Set(tags.map((t) => t.split(d)[0])));
      }
      stats.sets++;
      if (!kv) return undefined;
      // KV expirations are whole seconds, at least 60.
      const put = ttlMs === undefined ? {} : { expirationTtl: Math.max(60, Math.ceil(ttlMs / 1000)) };
      return Promise.all([
        kv.put(kvKey(key), JSON.stringify({ ...value, tags }), put),
        ...tags.map((tag) => kv.put(`${tag}${d}${key}`, "", put)),
      ]).then(() => undefined);
    },

    invalidate(entities) {
      stats.invalidations++;
      const { changes, keyspaces, pending } = changesOf([...entities]);
      if (pending.length > 0) return Promise.all(pending).then(() => finish(changes, keyspaces));
      return finish(changes, keyspaces);
    },
  };
}
