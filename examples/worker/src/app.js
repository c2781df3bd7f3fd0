// One per isolate: the engine (precompiled rules), the response cache store (this isolate's LRU plus
// the CACHE_KV tier), the generation stamp that reaches the other isolates' LRUs, and GraphQL Yoga.
import { createSchema, createYoga } from "graphql-yoga";
import { useResponseCache } from "@envelop/response-cache";
import { CascadeEngine, GenerationSync, LruCache, purgeCloudflare, tagsForResponse, withCoarseTags } from "cascade-edge/edge";
import { createResponseCacheStore } from "cascade-edge/edge/yoga";
import { getOperationAST } from "graphql";
import rules from "../rules.json";
import typeDefs from "../schema.graphql";
import { resolvers } from "./db.js";
import { edgePurge } from "./edge.js";

/** Seconds a response cache entry lives at most (LRU and KV), whatever purges reached it. */
const RESPONSE_TTL_MS = 5 * 60_000;

/**
 * Can every object of `data` be tagged? Tags come from the response itself, so each object must say
 * what it is (`__typename`, which Apollo Client and urql add) and an entity must carry its key fields
 * (`id`). A response with an object that does not could hold data no tag names: it gets no
 * `Cache-Tag` and stays out of the Cache API (the response cache tags by its own means).
 */
function fullyIdentified(schema, value, depth = 0) {
  if (Array.isArray(value)) return value.every((v) => fullyIdentified(schema, v, depth));
  if (value === null || typeof value !== "object") return true;
  if (depth > 0) {
    if (typeof value.__typename !== "string") return false;
    const fields = schema.byType.get(value.__typename)?.keyFields;
    if (fields && fields.some((f) => value[f] === undefined || value[f] === null)) return false;
  }
  return Object.entries(value).every(([k, v]) => k === "__typename" || fullyIdentified(schema, v, depth + 1));
}

const settled = (r) => (r.status === "fulfilled" ? r.value : { error: String(r.reason?.message ?? r.reason) });
const summary = (r) => (r && !r.error && !r.skipped ? { purged: r.purged?.length ?? 0, failed: r.failed ?? [], continuation: !!r.continuation } : r);

export function createApp(env) {
  const engine = CascadeEngine.fromJSON(rules);
  // Answers the store's `changeFor` while `purge` hands it a request's changes (synchronously).
  let changing;
  const store = createResponseCacheStore({
    engine,
    lru: new LruCache({ maxEntries: 1000 }),
    kv: env.CACHE_KV,
    changeFor: ({ typename, id }) => changing?.get(`${typename}:${id}`),
  });
  const sync = new GenerationSync({ kv: env.CACHE_KV, cache: store.lru, checkIntervalMs: Number(env.LRU_CHECK_MS ?? 1000) });
  const purges = []; // the last reports, for /admin/stats

  function cdnConfig() {
    if (!env.CLOUDFLARE_ZONE_ID || !env.CLOUDFLARE_API_TOKEN) return undefined;
    const config = {
      zoneId: env.CLOUDFLARE_ZONE_ID,
      token: env.CLOUDFLARE_API_TOKEN,
      plan: env.CLOUDFLARE_PLAN || "enterprise",
    };
    if (env.CLOUDFLARE_API_BASE) config.apiBase = env.CLOUDFLARE_API_BASE; // the injectable endpoint
    return config;
  }

  /**
   * Purges every tier by the cascade of `changes`: this isolate's LRU before it returns, then KV, the
   * other isolates' LRUs (generation stamp), the Cache API and the CDN in `waitUntil`. Returns the set.
   */
  function purge(changes, waitUntil) {
    const set = engine.cascadeBatch(changes);
    changing = new Map(changes.map((c) => [`${c.entity}:${c.id}`, c]));
    let kvTier;
    try {
      kvTier = store.invalidate(changes.map((c) => ({ typename: c.entity, id: c.id })));
    } catch (error) {
      kvTier = Promise.reject(error);
    } finally {
      changing = undefined;
    }
    const cdnSet = withCoarseTags(set);
    const cdn = cdnConfig();
    const work = Promise.allSettled([
      Promise.resolve(kvTier),
      sync.publish(set),
      edgePurge(env, cdnSet.tags),
      cdn ? purgeCloudflare(cdn, cdnSet) : Promise.resolve({ skipped: "CLOUDFLARE_ZONE_ID / CLOUDFLARE_API_TOKEN not set" }),
    ]).then(([kv, generation, cache, cloudflare]) => {
      const report = {
        keys: set.keys,
        patterns: set.patterns,
        kv: kv.status === "fulfilled" ? "ok" : settled(kv),
        generation: settled(generation).generation ?? settled(generation),
        cache: summary(settled(cache)),
        cloudflare: summary(settled(cloudflare)),
      };
      purges.push(report);
      if (purges.length > 20) purges.shift();
      // Never silent: ship these lines to your log drain.
      console.log(`[cascade-edge] purge ${JSON.stringify(report)}`);
    });
    waitUntil(work);
    return set;
  }

  // The Yoga plugin: a mutation's changes are purged before its response leaves, and returned in
  // `extensions.cascade`; a fully identified GET result gets its `Cache-Tag`. It runs before
  // useResponseCache, and marks mutations so that the response cache leaves them alone.
  const tagged = new WeakMap();
  const useCascade = {
    onExecute({ args }) {
      if (getOperationAST(args.document, args.operationName)?.operation !== "mutation") return undefined;
      args.contextValue.mutation = true;
      return {
        onExecuteDone({ result, setResult }) {
          const { changes, execution } = args.contextValue;
          if (changes.length === 0) return;
          const set = purge(changes, (p) => execution.waitUntil(p));
          setResult({ ...result, extensions: { ...result.extensions, cascade: { keys: set.keys, patterns: set.patterns, tags: set.tags } } });
        },
      };
    },
    onResultProcess({ request, result }) {
      if (request.method !== "GET" || !result || Array.isArray(result) || result.errors?.length || !result.data) return;
      if (!fullyIdentified(engine.schema, result.data)) return;
      const { header, tags } = tagsForResponse(engine, result, { format: "cloudflare" });
      if (header) tagged.set(request, { header, tags });
    },
    onResponse({ request, response }) {
      const tags = tagged.get(request);
      if (tags === undefined || response.status !== 200) return;
      response.headers.set("cache-tag", tags.header);
    },
  };

  const yoga = createYoga({
    schema: createSchema({ typeDefs, resolvers }),
    graphqlEndpoint: "/graphql",
    landingPage: false,
    logging: false,
    plugins: [
      useCascade,
      useResponseCache({
        session: () => null, // one public cache: nothing here is per user
        // The store's KV writes finish in waitUntil: the plugin does not await `set`.
        cache: (context) => ({
          get: (id) => store.get(id),
          set: (...args) => {
            const written = store.set(...args);
            if (written) context.execution.waitUntil(written.catch((e) => console.log(`[cascade-edge] KV write failed: ${e}`)));
          },
          invalidate: (entities) => store.invalidate(entities),
        }),
        ttl: RESPONSE_TTL_MS,
        // Mutations are neither cached nor used to invalidate by their result's entities: `useCascade`
        // invalidates, with the change data of each write (exact foreign keys).
        enabled: (context) => context.mutation !== true,
        invalidateViaMutation: false,
        includeExtensionMetadata: true, // `extensions.responseCache.hit`
      }),
    ],
  });

  return { engine, store, sync, yoga, purge, purges };
}
