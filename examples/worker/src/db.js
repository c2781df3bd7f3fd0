// The blog's database: Workers KV (BLOG_DB) as a stand-in for D1 or a Durable Object, and the
// GraphQL resolvers over it. Every write records the change it made (`{ entity, id, op, before,
// data }`, what CascadeEngine.cascade takes) in the request's `changes`, which the server purges by.
import { GraphQLError } from "graphql";

/** Per-isolate read counters: how often the resolvers reached the database. */
export const counters = { dbReads: 0, "Query.user": 0, "Query.post": 0 };

const SEED = {
  users: [
    { id: "1", name: "Ada", postIds: ["9"], commentIds: [] },
    { id: "10", name: "Grace", postIds: ["10"], commentIds: ["5"] },
    { id: "1:2", name: "Colon", postIds: [], commentIds: [] },
  ],
  posts: [
    { id: "9", title: "Cascades", body: "How a write reaches every cache.", authorId: "1", commentIds: ["5"] },
    { id: "10", title: "Compilers", body: "Notes on COBOL.", authorId: "10", commentIds: [] },
  ],
  comments: [{ id: "5", body: "Nice", authorId: "10", postId: "9" }],
};

const get = (env, kind, id) => {
  counters.dbReads++;
  return env.BLOG_DB.get(`${kind}/${id}`, { type: "json" });
};
const put = (env, kind, id, value) => env.BLOG_DB.put(`${kind}/${id}`, JSON.stringify(value));

/** Writes the demo data (idempotent: the same records every time). */
export async function seed(env) {
  await Promise.all([
    ...SEED.users.map((u) => put(env, "users", u.id, u)),
    ...SEED.posts.map((p) => put(env, "posts", p.id, p)),
    ...SEED.comments.map((c) => put(env, "comments", c.id, c)),
    env.BLOG_DB.put("meta/nextId", "100"),
  ]);
  return { users: SEED.users.length, posts: SEED.posts.length, comments: SEED.comments.length };
}

async function nextId(env) {
  // Demo id allocation: KV has no atomic increment (use D1 or a Durable Object in production).
  const n = Number((await env.BLOG_DB.get("meta/nextId")) ?? "100");
  await env.BLOG_DB.put("meta/nextId", String(n + 1));
  return String(n);
}

const notFound = (what) => new GraphQLError(`no ${what}`, { extensions: { code: "NOT_FOUND" } });
const many = (env, kind, ids) => Promise.all(ids.map((id) => get(env, kind, id))).then((rows) => rows.filter(Boolean));
// What the engine reads of a row: its id and foreign keys (authorId → user:{id}:posts).
const row = (record) =>
  Object.fromEntries(["id", "authorId", "postId", "title", "name"].filter((f) => record[f] !== undefined).map((f) => [f, record[f]]));

/** Resolvers over BLOG_DB; the context carries `env` and the request's `changes`. */
export const resolvers = {
  Query: {
    user: (_, { id }, { env }) => (counters["Query.user"]++, get(env, "users", id)),
    post: (_, { id }, { env }) => (counters["Query.post"]++, get(env, "posts", id)),
  },
  User: {
    posts: (u, _, { env }) => many(env, "posts", u.postIds),
    comments: (u, _, { env }) => many(env, "comments", u.commentIds),
  },
  Post: {
    author: (p, _, { env }) => get(env, "users", p.authorId),
    comments: (p, _, { env }) => many(env, "comments", p.commentIds),
  },
  Comment: {
    author: (c, _, { env }) => get(env, "users", c.authorId),
    post: (c, _, { env }) => get(env, "posts", c.postId),
  },
  Mutation: {
    async createPost(_, { authorId, title, body }, { env, changes }) {
      const author = await get(env, "users", authorId);
      if (!author) throw notFound(`user ${authorId}`);
      const id = await nextId(env);
      const post = { id, title, body: body ?? null, authorId: author.id, commentIds: [] };
      author.postIds.push(id);
      await Promise.all([put(env, "posts", id, post), put(env, "users", author.id, author)]);
      changes.push({ entity: "Post", id, op: "create", data: row(post) });
      return post;
    },
    async updatePost(_, { id, title }, { env, changes }) {
      const post = await get(env, "posts", id);
      if (!post) throw notFound(`post ${id}`);
      const before = row(post);
      post.title = title;
      await put(env, "posts", id, post);
      changes.push({ entity: "Post", id, op: "update", before, data: row(post) });
      return post;
    },
    async renameUser(_, { id, name }, { env, changes }) {
      const user = await get(env, "users", id);
      if (!user) throw notFound(`user ${id}`);
      const before = row(user);
      user.name = name;
      await put(env, "users", id, user);
      changes.push({ entity: "User", id, op: "update", before, data: row(user) });
      return user;
    },
    async addComment(_, { postId, authorId, body }, { env, changes }) {
      const [post, author] = await Promise.all([get(env, "posts", postId), get(env, "users", authorId)]);
      if (!post) throw notFound(`post ${postId}`);
      if (!author) throw notFound(`user ${authorId}`);
      const id = await nextId(env);
      const comment = { id, body, authorId: author.id, postId: post.id };
      post.commentIds.push(id);
      author.commentIds.push(id);
      await Promise.all([put(env, "comments", id, comment), put(env, "posts", post.id, post), put(env, "users", author.id, author)]);
      changes.push({ entity: "Comment", id, op: "create", data: row(comment) });
      return comment;
    },
  },
};
