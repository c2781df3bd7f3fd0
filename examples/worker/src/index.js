// cascade-edge in a Cloudflare Worker: a GraphQL server (GraphQL Yoga) for a blog whose database is
// Workers KV, cached in three tiers and purged by the schema's cascades.
//
//   GET/POST /graphql      GraphQL (queries over GET are kept in the Cache API; mutations are POST)
//   POST /admin/seed       writes the demo data into BLOG_DB (idempotent)          } Authorization:
//   POST /admin/purge      { "changes": [{ "entity": "User", "id": "1" }] }: purge  } Bearer ADMIN_TOKEN
//   GET  /admin/stats      per-isolate hit counters and the last purge reports     }
//
// Reads: the Cache API (GET, this data center) → the response cache (`useResponseCache` with the
// `cascade-edge/edge/yoga` store: this isolate's LRU, then CACHE_KV) → the resolvers (BLOG_DB).
// Writes: a mutation's resolvers record what they changed; the cascade set of those changes purges
// this isolate's LRU before the response leaves, and CACHE_KV, the other isolates' LRUs, the Cache
// API and Cloudflare's CDN (purge by tag) in ctx.waitUntil. See README.md.
import { createApp } from "./app.js";
import { isAdmin } from "./auth.js";
import { counters, seed } from "./db.js";
import { edgeKey, edgeMatch, edgePut } from "./edge.js";

let app; // one per isolate, made on the first request (it needs env)

const json = (value, status = 200, headers = {}) =>
  new Response(JSON.stringify(value), { status, headers: { "content-type": "application/json", ...headers } });
const fail = (status, code, message, headers) => json({ error: { code, message } }, status, headers);

async function admin(request, env, ctx, url) {
  // Before anything is read or written: without the secret, nothing changes.
  if (!(await isAdmin(request, env))) {
    return fail(401, "UNAUTHORIZED", "send Authorization: Bearer <ADMIN_TOKEN> (a Worker secret)", { "www-authenticate": "Bearer" });
  }
  const route = `${request.method} ${url.pathname}`;
  if (route === "POST /admin/seed") return json({ seeded: await seed(env) });
  if (route === "GET /admin/stats") return json({ store: app.store.stats(), counters, purges: app.purges });
  if (route === "POST /admin/purge") {
    let body;
    try {
      body = await request.json();
    } catch {
      return fail(400, "INVALID_JSON", "the body must be JSON: { \"changes\": [{ \"entity\": \"User\", \"id\": \"1\" }] }");
    }
    const changes = body?.changes;
    if (!Array.isArray(changes) || changes.length === 0 || changes.length > 100 || !changes.every((c) => c && typeof c === "object")) {
      return fail(400, "INVALID_ARGUMENT", "`changes` must be an array of 1 to 100 changes ({ entity, id, op?, data?, before? })");
    }
    try {
      const set = app.purge(changes, (p) => ctx.waitUntil(p));
      return json({ keys: set.keys, patterns: set.patterns, tags: set.tags });
    } catch (error) {
      return fail(400, error.code ?? "INVALID_ARGUMENT", error.message);
    }
  }
  return fail(404, "NOT_FOUND", "admin routes: POST /admin/seed, POST /admin/purge, GET /admin/stats");
}

export default {
  async fetch(request, env, ctx) {
    app ??= createApp(env);
    const url = new URL(request.url);
    if (url.pathname.startsWith("/admin/")) return admin(request, env, ctx, url);
    if (url.pathname !== "/graphql") return new Response("not found: GraphQL is at /graphql", { status: 404 });
    // Another isolate's mutation reaches this isolate's LRU here (at most every LRU_CHECK_MS).
    await app.sync.check();
    const context = { env, execution: ctx, changes: [] };
    if (request.method !== "GET" || !url.searchParams.has("query")) return app.yoga.fetch(request, context);

    const key = await edgeKey(url);
    const hit = await edgeMatch(key);
    if (hit) return hit;
    const response = await app.yoga.fetch(request, context);
    const tags = response.headers.get("cache-tag");
    if (response.status === 200 && tags) {
      ctx.waitUntil(edgePut(env, key, response.clone(), tags.split(",")).catch((e) => console.log(`[cascade-edge] cache put failed: ${e}`)));
    }
    return response;
  },
};
