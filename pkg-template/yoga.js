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
import { encodeSegment, joinKeyParts } from "./encoding.js";
import { codedError } from "./errors.js";
import { MAX_TAGS_PER_ENTRY as MAX_TAGS } from "./protocol.js";
import { schemaOf } from "./schema.js";
import { MAX_SEGMENT, RESPONSE, boundKey, boundSegment, createKvTier, idSegment, wellFormed } from "./yoga-kv.js";

export { encodeSegment };

/** What nothing can be: an empty set. */
const NOTHING = Object.freeze({ keys: [], patterns: [], tags: [] });

const isPromise = (v) => v !== null && typeof v === "object" && typeof v.then === "function";

/**
 * An id as the engine must see it so that its keys match the tags (`idSegment`): well-formed, and
 * over-long ids as their hashed segment (which encodes to itself).
 */
function keyId(id, delimiter) {
  const text = wellFormed(String(id));
  const encoded = encodeSegment(text, delimiter);
  return encoded.length > MAX_SEGMENT ? boundSegment(encoded) : text;
}

/** Change data with every string as `keyId` spells it (what a key built from it would hold). */
function keyData(value, delimiter, depth = 0) {
  if (typeof value === "string") return keyId(value, delimiter);
  if (value === null || typeof value !== "object" || depth > 8) return value;
  if (Array.isArray(value)) return value.map((v) => keyData(v, delimiter, depth + 1));
  const out = {};
  for (const [k, v] of Object.entries(value)) out[k] = k === "entity" || k === "op" ? v : keyData(v, delimiter, depth + 1);
  return out;
}

/**
 * The `keyFields` option of `CascadeEngine.fromSchema` that keys each object type the way
 * `useResponseCache({ idFields })` identifies it: by the first of its fields named in `idFields`.
 * `schema` is the GraphQLSchema Yoga serves (`createSchema(...)`).
 */
export function keyFieldsFor(schema, idFields = ["id"]) {
  if (typeof schema?.getTypeMap !== "function") {
    throw codedError("INVALID_ARGUMENT", "keyFieldsFor takes a GraphQLSchema (graphql-yoga's createSchema, or graphql's buildSchema)");
  }
  const roots = new Set([schema.getQueryType?.(), schema.getMutationType?.(), schema.getSubscriptionType?.()].map((t) => t?.name));
  const keyFields = {};
  for (const [name, type] of Object.entries(schema.getTypeMap())) {
    if (name.startsWith("__") || roots.has(name) || Object.prototype.toString.call(type) !== "[object GraphQLObjectType]") continue;
    const field = Object.keys(type.getFields()).find((f) => idFields.includes(f));
    if (field !== undefined) keyFields[name] = [field];
  }
  return keyFields;
}

/** Mutation results noted by `plugin()` and not yet invalidated, at most. */
const MAX_NOTED = 1000;

/** The operation type (`"query"`, `"mutation"`…) a document runs under `operationName`. */
function operationOf(document, operationName) {
  const operations = (document?.definitions ?? []).filter((d) => d.kind === "OperationDefinition");
  const operation = operationName ? operations.find((o) => o.name?.value === operationName) : operations.length === 1 ? operations[0] : undefined;
  return operation?.operation;
}

/** The default report of store errors: a warning (a store error never fails a request, but is never silent). */
function warn(error, where) {
  console.warn(`[cascade-edge/yoga] ${where}: ${error?.code ? `${error.code}: ` : ""}${error?.message ?? error}`);
}

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
 *   May return a promise: reads wait for invalidations still in flight.
 * @param {(error: Error, where: string) => void} [options.onError] hears every store error (default
 *   a console warning); none of them reaches the plugin or fails a request.
 * @param {() => number} [options.now=Date.now] the clock of TTLs (ms), for the default LRU and KV.
 * @param {string} [options.delimiter=":"] the engine's delimiter.
 */
export function createResponseCacheStore(options = {}) {
  const { engine, lru, kv, maxEntries = 1000, kvPrefix = RESPONSE, changeFor, delimiter = ":", onError, now = Date.now } = options ?? {};
  const { idFields = ["id"], onWarning = (message) => console.warn(`[cascade-edge/yoga] ${message}`) } = options ?? {};
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
  if (onError !== undefined && typeof onError !== "function") throw codedError("INVALID_OPTIONS", "`onError` must be a function (error, where) => void");
  if (typeof now !== "function") throw codedError("INVALID_OPTIONS", "`now` must be a function returning ms");
  if (!Array.isArray(idFields) || idFields.length === 0 || !idFields.every((f) => typeof f === "string")) {
    throw codedError("INVALID_OPTIONS", "`idFields` must be the field names given to useResponseCache({ idFields }), e.g. [\"id\"]");
  }
  if (typeof onWarning !== "function") throw codedError("INVALID_OPTIONS", "`onWarning` must be a function (message) => void");
  const d = delimiter;
  const cache = lru ?? new LruCache({ maxEntries, delimiter: d, now });
  // Responses with more tags than an entry can carry: key → keyspaces they touch; any purge in
  // one of those keyspaces removes them (coarser, never stale).
  const wide = new Map();
  const stats = { hits: 0, misses: 0, sets: 0, invalidations: 0, purged: 0, errors: 0, skipped: 0, widened: 0, kvErrors: 0, kvOwed: 0, kvSkipped: 0 };
  let generation = 0;
  const warned = new Set();
  // What mutations' own results said of each entity (`plugin()`), until its invalidation: "Type:id" → change data.
  const noted = new Map();
  // Invalidations waiting for an async `changeFor`: reads wait for them.
  const inflight = new Set();

  function report(error, where) {
    stats.errors++;
    try {
      (onError ?? warn)(error, where);
    } catch {
      // A throwing reporter must not turn a reported error into a failed request.
    }
  }

  const tier = kv ? createKvTier({ kv, prefix: kvPrefix, delimiter: d, now, report, stats, generation: () => generation }) : undefined;

  const responseKey = (id) => `${RESPONSE}${d}${idSegment(id, d)}`;

  // The entities the plugin reports by their key: keyed by one field, one of `idFields`. The
  // others' records carry another field's value as their id: they are tracked by type tags.
  const tracked = new Map();
  // Entities keyed by several fields (`@key(fields: "orgId number")`), which the plugin cannot
  // report (one id field per type): `plugin()` finds them in each result by their key fields and
  // the store tags the response with their keys (`item:1,7`, `item:1,7:comments`).
  const composite = new Map();
  // A result → the keys of its composite-key entities, or the type of one without its key fields.
  const composites = new WeakMap();
  let pluginListed = false;
  for (const entity of schema.entities) {
    if (entity.keyFields.length === 1 && idFields.includes(entity.keyFields[0])) tracked.set(entity.type, entity);
    else if (entity.keyFields.length > 1) composite.set(entity.type, entity);
    else warnOnce(entity.type, `entity ${entity.type} is keyed by ${entity.keyFields.join(", ")}, not by one of idFields (${idFields.join(", ")}): its responses are tracked by type tags (${entity.type}:id) only, without cascades; give useResponseCache and this store idFields that name its key`);
  }

  function warnOnce(type, message) {
    if (warned.has(type)) return;
    warned.add(type);
    try {
      onWarning(message);
    } catch {
      // A warning must not fail anything.
    }
  }

  /** The engine's entity a record of `typename` is tracked as, or undefined (then: type tags). */
  function entityOf(typename, id) {
    const entity = tracked.get(typename);
    if (entity === undefined && id !== undefined && id !== null && !schema.byType.has(typename)) {
      warnOnce(typename, `${typename} has an id field (idFields: ${idFields.join(", ")}) but is no entity of the engine: tracked by type tags (${typename}:id) only, without cascades; build the engine with keyFields: keyFieldsFor(schema, idFields)`);
    }
    return entity;
  }

  /** The type tag of a record no entity tracks: `Typename`, or `Typename:id` below it. */
  function typeTag(typename, id) {
    const type = idSegment(typename, d);
    return id === undefined || id === null ? type : `${type}${d}${idSegment(id, d)}`;
  }

  /**
   * The tags of a response: entity keys, the list keys of each entity, keyspaces for id-less
   * records; type tags for the records of types the engine does not track.
   */
  function tagsOf(entities) {
    const tags = new Set();
    for (const { typename, id } of entities) {
      const entity = entityOf(typename, id);
      if (entity === undefined) {
        tags.add(typeTag(typename, id));
        continue;
      }
      if (id === undefined || id === null) {
        tags.add(entity.keyspace); // an empty list or null field of this type: only a type-wide purge reaches it
        continue;
      }
      const key = `${entity.keyspace}${d}${idSegment(id, d)}`;
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
      const entity = entityOf(record.typename, record.id);
      if (entity === undefined) {
        keyspaces.push(typeTag(record.typename, record.id)); // as the plugin's own store: by type tag
        continue;
      }
      if (record.id === undefined || record.id === null) {
        keyspaces.push(entity.keyspace); // type-wide, as the plugin asks
        continue;
      }
      const change = { entity: record.typename, id: keyId(record.id, d) };
      let extra;
      try {
        extra = changeFor?.({ typename: record.typename, id: record.id });
      } catch (error) {
        report(error, "changeFor"); // without its data the cascade widens: never stale
      }
      const key = `${record.typename}${d}${change.id}`;
      extra ??= noted.get(key);
      noted.delete(key);
      const merge = (e) => Object.assign(change, e ?? {}, { entity: change.entity, id: change.id });
      if (isPromise(extra)) pending.push(Promise.resolve(extra).then(merge, (error) => report(error, "changeFor")));
      else if (extra) merge(extra);
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
      } else if (hitKeyspaces.has("*") || hitKeyspaces.has(RESPONSE) || [...keyspaces].some((ks) => hitKeyspaces.has(ks))) {
        cache.delete(key);
        wide.delete(key);
        removed.push(key);
      }
    }
    stats.purged += removed.filter((key) => key.startsWith(`${RESPONSE}${d}`)).length;
  }

  /** Stores a response in the LRU, tagged (or, past MAX_TAGS, tracked by keyspace in `wide`). */
  function putLru(key, value, tags, ttlMs) {
    if (tags.length <= MAX_TAGS) {
      cache.set(key, value, { ttlMs, tags });
      wide.delete(key);
    } else {
      cache.set(key, value, { ttlMs });
      wide.set(key, new Set(tags.map((t) => t.split(d)[0])));
    }
  }

  /** The widest purge, when a narrower one fails: every response, in every tier. */
  function purgeEverything(error) {
    report(error, "invalidate");
    stats.widened++;
    const all = { keys: [RESPONSE], patterns: [], tags: [] };
    try {
      purgeLru(all);
    } catch (failure) {
      report(failure, "invalidate");
      wide.clear();
      try {
        cache.clear();
      } catch {
        // A cache that cannot even be cleared serves nothing either (every get then fails: a miss).
      }
    }
    return tier?.purge({ keys: [kvPrefix], patterns: [], tags: [] }); // every response in KV
  }

  /** The cascade set of `changes`; when the engine refuses their data, of the data as keys spell it. */
  function cascadeOf(changes) {
    if (changes.length === 0) return NOTHING;
    try {
      return engine.cascadeBatch(changes);
    } catch {
      return engine.cascadeBatch(changes.map((c) => keyData(c, d)));
    }
  }

  /** Purges the cascade set of `changes` (and whole keyspaces) from every tier; never throws. */
  function finish(changes, keyspaces) {
    let set;
    try {
      const cascade = cascadeOf(changes);
      set = {
        keys: [...new Set([...cascade.keys, ...keyspaces])].map((k) => boundKey(k, d)),
        patterns: cascade.patterns.map((p) => boundKey(p, d)),
        tags: [],
      };
      purgeLru(set);
    } catch (error) {
      return purgeEverything(error);
    }
    return tier?.purge(set);
  }

  /**
   * The keys of the composite-key entities in a result's data (each with its list keys), and
   * `unkeyed`: the type of one whose key fields the query did not select (nothing names it).
   */
  function compositesIn(value, found, depth) {
    if (value === null || typeof value !== "object" || depth > 64) return found;
    if (Array.isArray(value)) {
      for (const v of value) compositesIn(v, found, depth + 1);
      return found;
    }
    const entity = composite.get(value.__responseCacheTypeName ?? value.__typename);
    if (entity !== undefined) {
      const parts = entity.keyFields.map((f) => value[f]);
      if (parts.every((p) => typeof p === "string" || typeof p === "number")) {
        const key = `${entity.keyspace}${d}${boundSegment(joinKeyParts(parts.map((p) => wellFormed(String(p))), d))}`;
        found.keys.push(key);
        for (const field of entity.toMany) found.keys.push(`${key}${d}${field}`);
      } else {
        found.unkeyed ??= entity.type;
      }
    }
    for (const k in value) compositesIn(value[k], found, depth + 1);
    return found;
  }

  /** Notes the composite-key entities of a query's result, for `set` (see `composite`). */
  function noteQuery(result) {
    if (result === null || typeof result !== "object" || result.data == null) return;
    try {
      composites.set(result, compositesIn(result.data, { keys: [], unkeyed: undefined }, 0));
    } catch (error) {
      report(error, "plugin");
    }
  }

  /**
   * Notes the entities of a mutation's result (as the plugin's aliased selections carry them:
   * `__responseCacheTypeName`, `__responseCacheId`) with their data, for its invalidation.
   */
  function noteMutation(result) {
    try {
      const changes = engine.changesFromMutation({ data: normalized(result?.data, 0) });
      // Composite-key entities the plugin cannot report: purged here, before the response goes.
      const keyed = changes.filter((c) => composite.has(schema.entity(c.entity)?.type));
      if (keyed.length > 0) {
        stats.invalidations++;
        generation++;
        const done = finish(
          keyed.map((c) => ({ entity: c.entity, id: c.id, op: c.op, data: c.data })),
          [],
        );
        if (isPromise(done)) {
          inflight.add(done);
          done.finally(() => inflight.delete(done));
        }
      }
      for (const change of changes) {
        const entity = schema.entity(change.entity);
        if (entity === undefined || !tracked.has(entity.type)) continue;
        noted.delete(`${entity.type}${d}${change.id}`); // re-inserted last: the newest is kept longest
        noted.set(`${entity.type}${d}${change.id}`, { op: change.op, data: change.data });
      }
      // Results whose invalidation never came (another cache, an error) are not kept forever.
      for (const key of noted.keys()) {
        if (noted.size <= MAX_NOTED) break;
        noted.delete(key);
      }
    } catch (error) {
      report(error, "plugin"); // the invalidation then widens where the result would have been exact
    }
  }

  /** A result's data with `__typename` and key fields where the plugin's aliases stand. */
  function normalized(value, depth) {
    if (value === null || typeof value !== "object" || depth > 64) return value;
    if (Array.isArray(value)) return value.map((v) => normalized(v, depth + 1));
    const out = {};
    for (const [k, v] of Object.entries(value)) out[k] = normalized(v, depth + 1);
    const typename = out.__responseCacheTypeName ?? out.__typename;
    if (typeof typename !== "string") return out;
    out.__typename = typename;
    const keyField = tracked.get(typename)?.keyFields[0];
    if (keyField !== undefined && out[keyField] === undefined && out.__responseCacheId !== undefined) out[keyField] = out.__responseCacheId;
    return out;
  }

  const store = {
    /**
     * An envelop plugin to list beside `useResponseCache({ cache: store })`: it reads each
     * mutation's result, so foreign keys it shows (`createPost { author { id } }`) make the purge
     * exact (`user:1:posts`) where they would widen (`user:*:posts`). `changeFor`, when it answers, wins.
     */
    plugin() {
      pluginListed = true;
      return {
        onExecute({ args, executeFn, setExecuteFn }) {
          const note = operationOf(args.document, args.operationName) === "mutation" ? noteMutation : composite.size > 0 ? noteQuery : undefined;
          if (note === undefined) return;
          setExecuteFn((execArgs) => {
            const result = executeFn(execArgs);
            if (isPromise(result)) return Promise.resolve(result).then((r) => (note(r), r));
            note(result);
            return result;
          });
        },
      };
    },

    /** The LruCache holding the responses. */
    lru: cache,
    /** hits, misses, sets, invalidations, responses purged, and the errors the store absorbed. */
    stats: () => ({ ...stats }),
    /** The tags `set` records for these entities (entity keys and parent-scoped list keys). */
    tagsOf: (entities) => tagsOf([...entities]),
    /** Settles when every KV write and purge begun so far has run (for `ctx.waitUntil`). */
    settled: () => (tier ? tier.settled() : Promise.resolve()),

    get(id) {
      if (inflight.size > 0) return Promise.all(inflight).then(() => store.get(id));
      tier?.retryIfDue();
      let key;
      try {
        key = responseKey(id);
        const hit = cache.get(key);
        if (hit !== undefined && hit.id === String(id)) {
          stats.hits++;
          return hit.result;
        }
      } catch (error) {
        report(error, "get");
        stats.misses++;
        return null;
      }
      if (!tier) {
        stats.misses++;
        return null;
      }
      return tier.read(key, String(id)).then((found) => {
        if (found === null) {
          stats.misses++;
          return null;
        }
        stats.hits++;
        try {
          putLru(key, found.value, found.tags, found.ttlMs);
        } catch (error) {
          report(error, "get");
        }
        return found.value.result;
      });
    },

    set(id, data, entities, ttl) {
      tier?.retryIfDue();
      let key;
      try {
        key = responseKey(id);
        if (!pluginListed && composite.size > 0) {
          const types = [...composite.keys()].join(", ");
          const one = composite.size === 1;
          warnOnce("@plugin", `${types} ${one ? "has a composite key" : "have composite keys"}, which the plugin cannot report: list store.plugin() beside useResponseCache, or ${one ? "its" : "their"} changes never purge the responses holding ${one ? "it" : "them"}`);
        }
        const found = composites.get(data);
        if (found?.unkeyed !== undefined) {
          // Nothing names that entity: cached, a change of it could not reach the response.
          stats.skipped++;
          warnOnce(`${found.unkeyed} unkeyed`, `a response holding ${found.unkeyed} without its key fields (${composite.get(found.unkeyed).keyFields.join(", ")}) is not cached: select them to cache it`);
          return undefined;
        }
        const tags = found === undefined ? tagsOf([...entities]) : [...new Set([...tagsOf([...entities]), ...found.keys])];
        const ttlMs = Number.isFinite(ttl) && ttl > 0 ? ttl : undefined;
        const value = { id: String(id), result: data };
        putLru(key, value, tags, ttlMs);
        stats.sets++;
        return tier?.write(key, value, tags, ttlMs);
      } catch (error) {
        // Not cached: a miss later, never a failed request.
        stats.skipped++;
        report(error, "set");
        try {
          if (key !== undefined) cache.delete(key);
        } catch {
          // The key itself was the problem: nothing was stored under it.
        }
        return undefined;
      }
    },

    invalidate(entities) {
      stats.invalidations++;
      generation++;
      try {
        const { changes, keyspaces, pending } = changesOf([...entities]);
        if (pending.length === 0) return finish(changes, keyspaces);
        // The changed entities' own keys go at once; their cascade once `changeFor` settles, and
        // reads wait for it meanwhile (the plugin does not await invalidate).
        const own = changes.map((c) => `${tracked.get(c.entity).keyspace}${d}${idSegment(c.id, d)}`);
        purgeLru({ keys: [...own, ...keyspaces], patterns: [] });
        const done = Promise.all(pending).then(() => finish(changes, keyspaces));
        inflight.add(done);
        done.finally(() => inflight.delete(done));
        return done;
      } catch (error) {
        return purgeEverything(error);
      }
    },
  };
  return store;
}
