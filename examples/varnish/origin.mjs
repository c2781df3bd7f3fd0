// A GraphQL origin for Varnish (default.vcl beside this file): GraphQL Yoga on Node. Every cacheable
// GET response carries its tags in `xkey`; every mutation purges Varnish by the cascade of what it
// changed before it answers, so a client reading through Varnish after its write sees the write.
//
//   node examples/varnish/origin.mjs          # PORT (default 4000), VARNISH_URL (default http://127.0.0.1:6081/)
//
// In your own project, import from "cascade-edge" instead of ../../pkg/node.js.
import { createServer } from "node:http";
import { pathToFileURL } from "node:url";
import { createSchema, createYoga } from "graphql-yoga";
import { CascadeEngine, purgeVarnish, tagsForResponse, withCoarseTags } from "../../pkg/node.js";

export const typeDefs = /* GraphQL */ `
  type User { id: ID! name: String posts: [Post!]! }
  type Post { id: ID! title: String author: User! }
  type Query { user(id: ID!): User post(id: ID!): Post }
  type Mutation {
    createPost(authorId: ID!, title: String!): Post
    updatePost(id: ID!, title: String!): Post
    movePost(id: ID!, authorId: ID!): Post
    renameUser(id: ID!, name: String!): User
  }
`;

/**
 * Can every object of `data` be tagged? Tags come from the response itself, so each object must say
 * what it is (`__typename`, which Apollo Client and urql add by default) and an entity must carry
 * its key fields (`id`). A response with an object that does not could hold data no tag names: it
 * is left untagged, and the VCL does not cache it.
 */
function fullyIdentified(schema, value, depth = 0) {
  if (Array.isArray(value)) return value.every((v) => fullyIdentified(schema, v, depth));
  if (value === null || typeof value !== "object") return true;
  if (depth > 0) {
    if (typeof value.__typename !== "string") return false;
    const fields = schema.byType.get(value.__typename)?.keyFields;
    if (fields && fields.some((f) => value[f] === undefined || value[f] === null)) return false;
  }
  return Object.values(value).every((v) => fullyIdentified(schema, v, depth + 1));
}

/**
 * A Yoga plugin: a successful GET result gets `xkey` (its tags, space-separated) and a Cache-Control
 * that lets Varnish keep it until a purge (and serve it stale for `staleWhileRevalidate` seconds
 * after a soft purge). Varnish refuses a backend response header line over `http_resp_hdr_len`
 * (8 KB by default), so the tags stay within `budgetBytes`; over it, tagsForResponse coarsens whole
 * keyspaces, which withCoarseTags(set) on the purge side still reaches.
 */
export function useXkey(engine, { maxAge = 3600, staleWhileRevalidate = 60, budgetBytes = 8000 } = {}) {
  const tagged = new WeakMap();
  return {
    onResultProcess({ request, result }) {
      if (request.method !== "GET" || !result || Array.isArray(result) || result.errors?.length || !result.data) return;
      if (!fullyIdentified(engine.schema, result.data)) return;
      const { header } = tagsForResponse(engine, result, { format: "fastly", budgetBytes });
      if (header) tagged.set(request, header);
    },
    onResponse({ request, response }) {
      const header = tagged.get(request);
      if (header === undefined || response.status !== 200) return;
      response.headers.set("xkey", header);
      response.headers.set("cache-control", `public, max-age=0, s-maxage=${maxAge}, stale-while-revalidate=${staleWhileRevalidate}`);
    },
  };
}

/**
 * The origin: an in-memory blog, Yoga with useXkey, and a purge of Varnish after every write.
 * Returns { server (a node:http server, not listening yet), engine, db, calls, purges }: `calls`
 * counts the Query resolvers the origin ran, `purges` holds every purgeVarnish result.
 */
export function createOrigin({ varnishUrl = "http://127.0.0.1:6081/", soft = false, logger = console.error, purgeOptions = {} } = {}) {
  const engine = CascadeEngine.fromSchema(typeDefs);
  const db = {
    users: new Map([["1", { id: "1", name: "ada" }], ["2", { id: "2", name: "bob" }]]),
    posts: new Map([["10", { id: "10", title: "first", author_id: "1" }], ["11", { id: "11", title: "second", author_id: "2" }]]),
  };
  let nextId = 100;
  const calls = { user: 0, post: 0 };
  const purges = [];
  // The change of one write, as the engine takes it: the row before and after (its foreign keys
  // name the lists it leaves and joins).
  async function changed(entity, op, before, after) {
    const set = withCoarseTags(engine.cascade({ entity, id: (after ?? before).id, op, before, after }));
    const result = await purgeVarnish({ url: varnishUrl, soft, ...purgeOptions }, set);
    purges.push(result);
    if (result.failed.length > 0) {
      // The write stands; Varnish may serve the old data until its TTL. For purges that survive a
      // crash or an outage, write to PostgreSQL and run `cascade-edge pg watch --purge varnish`.
      logger(`purge failed for ${result.failed.length} tag(s), e.g. ${result.failed[0].item}: ${result.failed[0].error}`);
    }
  }
  const resolvers = {
    Query: {
      user: (_, { id }) => (calls.user++, db.users.get(id) ?? null),
      post: (_, { id }) => (calls.post++, db.posts.get(id) ?? null),
    },
    User: { posts: (u) => [...db.posts.values()].filter((p) => p.author_id === u.id) },
    Post: { author: (p) => db.users.get(p.author_id) },
    Mutation: {
      async createPost(_, { authorId, title }) {
        const post = { id: String(nextId++), title, author_id: authorId };
        db.posts.set(post.id, post);
        await changed("Post", "create", undefined, { ...post });
        return post;
      },
      async updatePost(_, { id, title }) {
        const post = db.posts.get(id);
        if (!post) return null;
        const before = { ...post };
        post.title = title;
        await changed("Post", "update", before, { ...post });
        return post;
      },
      async movePost(_, { id, authorId }) {
        const post = db.posts.get(id);
        if (!post) return null;
        const before = { ...post };
        post.author_id = authorId;
        await changed("Post", "update", before, { ...post });
        return post;
      },
      async renameUser(_, { id, name }) {
        const user = db.users.get(id);
        if (!user) return null;
        const before = { ...user };
        user.name = name;
        await changed("User", "update", before, { ...user });
        return user;
      },
    },
  };
  const yoga = createYoga({ schema: createSchema({ typeDefs, resolvers }), plugins: [useXkey(engine)], logging: false });
  return { server: createServer(yoga), engine, db, calls, purges };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const port = Number(process.env.PORT ?? 4000);
  const { server } = createOrigin({ varnishUrl: process.env.VARNISH_URL, soft: process.env.VARNISH_SOFT_PURGE === "1" });
  server.listen(port, "127.0.0.1", () => console.error(`GraphQL origin on http://127.0.0.1:${port}/graphql`));
}
