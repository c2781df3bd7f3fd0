// cascade-edge in a Cloudflare Worker: a GraphQL-ish blog API with three cache tiers.
//
//   POST /graphql  { "query": "user", "id": "1" }          → { data: { user: { …, posts: […] } } }
//                  { "query": "post", "id": "9" }          → { data: { post: { …, author, comments } } }
//                  { "mutation": "createPost", "authorId": "1", "title": "…", "body": "…" }
//                  { "mutation": "updatePost", "id": "9", "title": "…" }
//                  { "mutation": "renameUser", "id": "1", "name": "…" }
//                  { "mutation": "addComment", "postId": "9", "authorId": "2", "body": "…" }
//   POST /admin/seed  writes the demo data set into BLOG_DB (idempotent).
//
// Data lives in BLOG_DB (KV, the "database": users/<id>, posts/<id>, comments/<id>). Responses are
// assembled from fragments named by cascade keys (`user:1`, `user:1:posts`, `post:9`,
// `post:9:comments`), each read through the Cache API, then CACHE_KV, then BLOG_DB. Whole responses
// are kept in an isolate-local LruCache tagged with the entity and list keys they contain.
// A mutation computes the cascade set from its own response (changesFromMutation + cascadeBatch),
// invalidates the local LRU at once, and purges CACHE_KV, the Cache API and the other isolates' LRUs
// (generation stamp in CACHE_KV) with ctx.waitUntil.
import {
  CascadeEngine,
  GenerationSync,
  LruCache,
  encodeSegment,
  purgeCache,
  purgeKv,
  tagsForResponse,
} from "cascade-edge/edge";
import rules from "../rules.json";

// Module scope = one per isolate: the engine (precompiled rules, no SDL parse here) and the LRU.
const engine = CascadeEngine.fromJSON(rules);
// No `engine` on the LRU: we always invalidate complete cascade sets; an attached engine would
// cascade each of their keys again (without the change's data, so coarsely: `user:*:posts`).
const lru = new LruCache({ maxEntries: 500, ttlMs: 5 * 60_000 });
let sync; // created on the first request (needs env)

const FRAGMENT_ORIGIN = "https://fragments.cascade-edge.invalid/";
const fragmentUrl = (key) => `${FRAGMENT_ORIGIN}${encodeURIComponent(key)}`;
// A fragment is cached in the Cache API under exactly one URL; patterns cannot be listed there
// (the Cache API has no list), so they map to nothing and Cache API entries expire after this:
const FRAGMENT_MAX_AGE = 60;
const keyToUrls = (key) => (key.split(":").includes("*") ? [] : [fragmentUrl(key)]);

// Keys whose purge is still running in this isolate (waitUntil): reads of those fragments bypass
// the Cache API and CACHE_KV, which may still hold the stale value, and go to the database.
const purging = new Map(); // key or pattern → count

const json = (value, status = 200, headers = {}) =>
  new Response(JSON.stringify(value), { status, headers: { "content-type": "application/json", ...headers } });

const graphqlError = (message, status = 400) => json({ errors: [{ message }] }, status);

function covers(pattern, key) {
  const p = pattern.split(":");
  const k = key.split(":");
  return k.length >= p.length && p.every((s, i) => s === "*" || s === k[i]);
}

const isPurging = (key) => [...purging.keys()].some((p) => covers(p, key));

// ---------------------------------------------------------------------------------------------
// The database (BLOG_DB)
// ---------------------------------------------------------------------------------------------

const db = {
  get: (env, kind, id) => env.BLOG_DB.get(`${kind}/${id}`, { type: "json" }),
  put: (env, kind, id, value) => env.BLOG_DB.put(`${kind}/${id}`, JSON.stringify(value)),
};

const SEED = {
  users: [
    { id: "1", name: "Ada", postIds: ["9"], commentIds: [] },
    { id: "10", name: "Grace", postIds: ["10"], commentIds: ["5"] },
    { id: "1:2", name: "Colon", postIds: [], commentIds: [] },
  ],
  posts: [
    { id: "9", title: "Cascades", body: "…", authorId: "1", commentIds: ["5"] },
    { id: "10", title: "Compilers", body: "…", authorId: "10", commentIds: [] },
  ],
  comments: [{ id: "5", body: "Nice", authorId: "10", postId: "9" }],
};

async function seed(env) {
  const writes = [];
  for (const u of SEED.users) writes.push(db.put(env, "users", u.id, u));
  for (const p of SEED.posts) writes.push(db.put(env, "posts", p.id, p));
  for (const c of SEED.comments) writes.push(db.put(env, "comments", c.id, c));
  writes.push(env.BLOG_DB.put("meta/nextId", "100"));
  await Promise.all(writes);
}

// ---------------------------------------------------------------------------------------------
// Fragments: Cache API → CACHE_KV → BLOG_DB
// ---------------------------------------------------------------------------------------------

const ukey = (id) => `user:${encodeSegment(id)}`;
const pkey = (id) => `post:${encodeSegment(id)}`;

async function buildFragment(env, key) {
  const [ks, seg, field] = key.split(":");
  const id = decodeURIComponent(seg === "%00" ? "" : seg);
  if (ks === "user") {
    const u = await db.get(env, "users", id);
    if (!u) return null;
    if (field === undefined) return { __typename: "User", id: u.id, name: u.name };
    if (field === "posts") {
      const posts = await Promise.all(u.postIds.map((pid) => db.get(env, "posts", pid)));
      return posts.filter(Boolean).map((p) => ({ __typename: "Post", id: p.id, title: p.title }));
    }
  }
  if (ks === "post") {
    const p = await db.get(env, "posts", id);
    if (!p) return null;
    if (field === undefined) return { __typename: "Post", id: p.id, title: p.title, body: p.body, authorId: p.authorId };
    if (field === "comments") {
      const comments = await Promise.all(p.commentIds.map((cid) => db.get(env, "comments", cid)));
      return comments.filter(Boolean).map((c) => ({ __typename: "Comment", id: c.id, body: c.body, authorId: c.authorId }));
    }
  }
  throw new Error(`no fragment builder for ${key}`);
}

async function fragment(env, ctx, key, sources) {
  const bypass = isPurging(key);
  const cache = caches.default;
  if (!bypass) {
    const hit = await cache.match(fragmentUrl(key));
    if (hit) {
      sources.push(`${key}=cache`);
      return hit.json();
    }
    const kvHit = await env.CACHE_KV.get(key, { type: "json" });
    if (kvHit !== null) {
      sources.push(`${key}=kv`);
      ctx.waitUntil(cachePut(key, kvHit));
      return kvHit;
    }
  }
  const value = await buildFragment(env, key);
  sources.push(`${key}=db`);
  if (value !== null && !bypass) {
    ctx.waitUntil(Promise.all([env.CACHE_KV.put(key, JSON.stringify(value)), cachePut(key, value)]));
  }
  return value;
}

function cachePut(key, value) {
  const res = new Response(JSON.stringify(value), {
    headers: { "content-type": "application/json", "cache-control": `max-age=${FRAGMENT_MAX_AGE}` },
  });
  return caches.default.put(fragmentUrl(key), res);
}

// ---------------------------------------------------------------------------------------------
// Queries
// ---------------------------------------------------------------------------------------------

async function assemble(env, ctx, op, id, sources) {
  if (op === "user") {
    const [user, posts] = await Promise.all([fragment(env, ctx, ukey(id), sources), fragment(env, ctx, `${ukey(id)}:posts`, sources)]);
    return { data: { user: user && { ...user, posts: posts ?? [] } } };
  }
  const [post, comments] = await Promise.all([fragment(env, ctx, pkey(id), sources), fragment(env, ctx, `${pkey(id)}:comments`, sources)]);
  if (!post) return { data: { post: null } };
  const authorIds = [...new Set([post.authorId, ...(comments ?? []).map((c) => c.authorId)])];
  const authors = new Map(await Promise.all(authorIds.map(async (a) => [a, await fragment(env, ctx, ukey(a), sources)])));
  const { authorId, ...rest } = post;
  return {
    data: {
      post: {
        ...rest,
        author: authors.get(authorId),
        comments: (comments ?? []).map(({ authorId: a, ...c }) => ({ ...c, author: authors.get(a) })),
      },
    },
  };
}

async function query(env, ctx, body) {
  const op = body.query;
  if (op !== "user" && op !== "post") return graphqlError('unknown query: use "user" or "post"');
  if (typeof body.id !== "string" && typeof body.id !== "number") return graphqlError("`id` is required");
  const id = String(body.id);
  const lruKey = `query:${op}:${encodeSegment(id)}`;

  const cached = lru.get(lruKey);
  if (cached !== undefined) {
    return json(cached.body, 200, { "x-cache": "lru", "cache-tag": cached.tagHeader });
  }
  // The fence: if a mutation invalidates this key while we assemble, the result is not stored.
  const token = lru.beginRead(lruKey);
  const sources = [];
  const response = await assemble(env, ctx, op, id, sources);
  const tags = tagsForResponse(engine, response, { format: "cloudflare" });
  // LRU tags are keys: the wildcard tags are for CDN pattern purges (the LRU matches patterns itself).
  const lruTags = tags.tags.filter((t) => !t.split(":").includes("*"));
  try {
    lru.set(lruKey, { body: response, tagHeader: tags.header }, { tags: lruTags, token });
  } catch (error) {
    if (error.code !== "STALE_WRITE") throw error; // refused by the fence: serve, don't keep
  }
  return json(response, 200, {
    "x-cache": "miss",
    "x-fragments": sources.join(","),
    "cache-tag": tags.header,
    "cache-control": "private, no-store", // POST responses; the tags are for a GET variant behind a CDN
  });
}

// ---------------------------------------------------------------------------------------------
// Mutations
// ---------------------------------------------------------------------------------------------

async function nextId(env) {
  // Demo id allocation: KV has no atomic increment (use a Durable Object or D1 in production).
  const n = Number((await env.BLOG_DB.get("meta/nextId")) ?? "100");
  await env.BLOG_DB.put("meta/nextId", String(n + 1));
  return String(n);
}

async function runMutation(env, body) {
  switch (body.mutation) {
    case "createPost": {
      const author = await db.get(env, "users", String(body.authorId));
      if (!author) return { error: `no user ${body.authorId}` };
      const id = await nextId(env);
      const post = { id, title: String(body.title ?? ""), body: String(body.body ?? ""), authorId: author.id, commentIds: [] };
      author.postIds.push(id);
      await Promise.all([db.put(env, "posts", id, post), db.put(env, "users", author.id, author)]);
      return { data: { createPost: { __typename: "Post", id, title: post.title, authorId: author.id } } };
    }
    case "updatePost": {
      const post = await db.get(env, "posts", String(body.id));
      if (!post) return { error: `no post ${body.id}` };
      post.title = String(body.title ?? post.title);
      await db.put(env, "posts", post.id, post);
      return { data: { updatePost: { __typename: "Post", id: post.id, title: post.title, authorId: post.authorId } } };
    }
    case "renameUser": {
      const user = await db.get(env, "users", String(body.id));
      if (!user) return { error: `no user ${body.id}` };
      user.name = String(body.name ?? user.name);
      await db.put(env, "users", user.id, user);
      return { data: { renameUser: { __typename: "User", id: user.id, name: user.name } } };
    }
    case "addComment": {
      const [post, author] = await Promise.all([db.get(env, "posts", String(body.postId)), db.get(env, "users", String(body.authorId))]);
      if (!post || !author) return { error: "no such post or author" };
      const id = await nextId(env);
      const comment = { id, body: String(body.body ?? ""), authorId: author.id, postId: post.id };
      post.commentIds.push(id);
      author.commentIds.push(id);
      await Promise.all([db.put(env, "comments", id, comment), db.put(env, "posts", post.id, post), db.put(env, "users", author.id, author)]);
      return { data: { addComment: { __typename: "Comment", id, body: comment.body, authorId: author.id, postId: post.id } } };
    }
    default:
      return { error: 'unknown mutation: use "createPost", "updatePost", "renameUser" or "addComment"' };
  }
}

async function mutation(env, ctx, body) {
  const result = await runMutation(env, body);
  if (result.error) return graphqlError(result.error);
  const set = engine.cascadeBatch(engine.changesFromMutation(result));

  // Local LRU now (publish invalidates before its first await); KV, Cache API and the other
  // isolates' LRUs in the background. While the purge runs, this isolate reads those fragments
  // from the database.
  const marks = [...set.keys, ...set.patterns];
  for (const k of marks) purging.set(k, (purging.get(k) ?? 0) + 1);
  const work = Promise.allSettled([
    sync.publish(set),
    purgeKv(env.CACHE_KV, set),
    purgeCache(caches.default, set, { keyToUrls }),
  ]).then(([gen, kv, cache]) => {
    for (const k of marks) {
      const n = (purging.get(k) ?? 1) - 1;
      if (n <= 0) purging.delete(k);
      else purging.set(k, n);
    }
    const report = {
      generation: gen.status === "fulfilled" ? gen.value.generation : `failed: ${gen.reason}`,
      kv: kv.status === "fulfilled" ? { purged: kv.value.purged, failed: kv.value.failed, continuation: !!kv.value.continuation } : `failed: ${kv.reason}`,
      cache: cache.status === "fulfilled" ? { purged: cache.value.purged, failed: cache.value.failed } : `failed: ${cache.reason}`,
    };
    // Never silent: purge failures are logged (ship these to your log drain).
    console.log(`[cascade-edge] purge ${JSON.stringify(report)}`);
  });
  ctx.waitUntil(work);

  const cascade = { keys: set.keys, patterns: set.patterns, tags: set.tags, truncated: set.truncated };
  return json({ ...result, extensions: { cascade } }, 200, { "x-cascade-keys": [...set.keys, ...set.patterns].join(",") });
}

// ---------------------------------------------------------------------------------------------

export default {
  async fetch(request, env, ctx) {
    sync ??= new GenerationSync({
      kv: env.CACHE_KV,
      cache: lru,
      checkIntervalMs: Number(env.LRU_CHECK_MS ?? 1000),
    });
    const url = new URL(request.url);
    if (request.method === "POST" && url.pathname === "/admin/seed") {
      await seed(env);
      return json({ ok: true });
    }
    if (url.pathname !== "/graphql") return new Response("not found", { status: 404 });
    if (request.method !== "POST") return new Response("POST a JSON body to /graphql", { status: 405 });
    let body;
    try {
      body = await request.json();
    } catch {
      return graphqlError("the body must be JSON");
    }
    if (body === null || typeof body !== "object") return graphqlError("the body must be a JSON object");
    // Another isolate's mutation reaches this LRU here (at most every LRU_CHECK_MS).
    await sync.check();
    if (typeof body.mutation === "string") return mutation(env, ctx, body);
    if (typeof body.query === "string") return query(env, ctx, body);
    return graphqlError('send { "query": … } or { "mutation": … }');
  },
};
