// The design document's blog (examples/node/blog.graphql) as a tiny in-memory database, a resolver
// layer that reads through an LruCache keyed by cascade-edge's conventions, and a seeded random
// script of queries and mutations. Used by tests/js/matrix.test.mjs.
//
// Keys (the library's conventions):
//   user:{id}                 entity                 { id, name }
//   post:{id}                 entity                 { id, title, author_id }
//   user:{id}:posts           list (User.posts)      [{ id, title }]
//   post:author:{id}:page:{n} paged author list      [{ id, title, comments: [{ id, body, author: { id, name } }] }]
//                             (nested: each post's comments, each comment's author)
//   comment:post:{id}         list (Comment.post)    [{ id, body, author_id }]
//   post:{id}:comments        list (Post.comments)   { post: { id, title }, comments: [{ id, body }] }
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const blogSchema = readFileSync(
  join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "examples", "node", "blog.graphql"),
  "utf8",
);

export const PAGE_SIZE = 3;

/** mulberry32: a small, fast, seeded PRNG; the same seed gives the same script everywhere. */
export function prng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (n) => Math.floor(next() * n),
    pick(array) {
      return array.length === 0 ? undefined : array[Math.floor(next() * array.length)];
    },
  };
}

const byId = (a, b) => Number(a.id) - Number(b.id);
const copy = (row) => (row === undefined ? undefined : { ...row });

/** Rows keyed by string ids; every write returns the entity changes it made, with before and after data. */
export class BlogDb {
  users = new Map();
  posts = new Map();
  comments = new Map();
  #next = 1;

  #id() {
    return String(this.#next++);
  }

  /** The highest id handed out so far. */
  get ceiling() {
    return this.#next - 1;
  }

  createUser(name) {
    const row = { id: this.#id(), name };
    this.users.set(row.id, row);
    return [{ entity: "User", id: row.id, op: "create", after: copy(row) }];
  }

  updateUser(id, name) {
    const before = copy(this.users.get(id));
    if (!before) return [];
    this.users.get(id).name = name;
    return [{ entity: "User", id, op: "update", before, after: copy(this.users.get(id)) }];
  }

  /** Deletes the user, their posts (with those posts' comments) and the comments they wrote. */
  deleteUser(id) {
    const before = copy(this.users.get(id));
    if (!before) return [];
    const changes = [];
    for (const post of [...this.posts.values()].filter((p) => p.author_id === id)) {
      changes.push(...this.deletePost(post.id));
    }
    for (const c of [...this.comments.values()].filter((c) => c.author_id === id)) {
      changes.push(...this.deleteComment(c.id));
    }
    this.users.delete(id);
    changes.push({ entity: "User", id, op: "delete", before });
    return changes;
  }

  createPost(authorId, title) {
    if (!this.users.has(authorId)) return [];
    const row = { id: this.#id(), title, author_id: authorId };
    this.posts.set(row.id, row);
    return [{ entity: "Post", id: row.id, op: "create", after: copy(row) }];
  }

  updatePost(id, title) {
    const before = copy(this.posts.get(id));
    if (!before) return [];
    this.posts.get(id).title = title;
    return [{ entity: "Post", id, op: "update", before, after: copy(this.posts.get(id)) }];
  }

  /** Moves a post to another author: its `author_id` changes. */
  reparentPost(id, authorId) {
    const before = copy(this.posts.get(id));
    if (!before || !this.users.has(authorId)) return [];
    this.posts.get(id).author_id = authorId;
    return [{ entity: "Post", id, op: "update", before, after: copy(this.posts.get(id)) }];
  }

  /** Deletes the post and its comments. */
  deletePost(id) {
    const before = copy(this.posts.get(id));
    if (!before) return [];
    const changes = [];
    for (const c of [...this.comments.values()].filter((c) => c.post_id === id)) {
      changes.push(...this.deleteComment(c.id));
    }
    this.posts.delete(id);
    changes.push({ entity: "Post", id, op: "delete", before });
    return changes;
  }

  createComment(postId, authorId, body) {
    if (!this.posts.has(postId) || !this.users.has(authorId)) return [];
    const row = { id: this.#id(), body, post_id: postId, author_id: authorId };
    this.comments.set(row.id, row);
    return [{ entity: "Comment", id: row.id, op: "create", after: copy(row) }];
  }

  updateComment(id, body) {
    const before = copy(this.comments.get(id));
    if (!before) return [];
    this.comments.get(id).body = body;
    return [{ entity: "Comment", id, op: "update", before, after: copy(this.comments.get(id)) }];
  }

  deleteComment(id) {
    const before = copy(this.comments.get(id));
    if (!before) return [];
    this.comments.delete(id);
    return [{ entity: "Comment", id, op: "delete", before }];
  }

  postsOf(userId) {
    return [...this.posts.values()].filter((p) => p.author_id === userId).sort(byId);
  }

  commentsOf(postId) {
    return [...this.comments.values()].filter((c) => c.post_id === postId).sort(byId);
  }
}

/**
 * The resolver layer. Each read is a key and a loader returning `{ value, tags }`; `tags` are the
 * entity keys and parent-scoped list keys the value embeds beyond what its own key says.
 */
export function reads(db) {
  const userBrief = (id) => {
    const u = db.users.get(id);
    return u ? { id: u.id, name: u.name } : null;
  };
  return {
    user: (id) => ({ key: `user:${id}`, load: () => ({ value: copy(db.users.get(id)) ?? null }) }),
    post: (id) => ({ key: `post:${id}`, load: () => ({ value: copy(db.posts.get(id)) ?? null }) }),
    userPosts: (id) => ({
      key: `user:${id}:posts`,
      load: () => ({ value: db.postsOf(id).map((p) => ({ id: p.id, title: p.title })) }),
    }),
    authorPage: (id, page) => ({
      key: `post:author:${id}:page:${page}`,
      load() {
        const tags = new Set();
        const value = db.postsOf(id).slice(page * PAGE_SIZE, (page + 1) * PAGE_SIZE).map((p) => {
          tags.add(`post:${p.id}:comments`);
          return {
            id: p.id,
            title: p.title,
            comments: db.commentsOf(p.id).map((c) => {
              tags.add(`user:${c.author_id}`);
              return { id: c.id, body: c.body, author: userBrief(c.author_id) };
            }),
          };
        });
        return { value, tags: [...tags] };
      },
    }),
    commentsByPost: (id) => ({
      key: `comment:post:${id}`,
      load: () => ({ value: db.commentsOf(id).map((c) => ({ id: c.id, body: c.body, author_id: c.author_id })) }),
    }),
    postComments: (id) => ({
      key: `post:${id}:comments`,
      load() {
        const p = db.posts.get(id);
        return {
          value: p ? { post: { id: p.id, title: p.title }, comments: db.commentsOf(id).map((c) => ({ id: c.id, body: c.body })) } : null,
        };
      },
    }),
  };
}

/** Reads through the cache: a hit returns the cached value, a miss loads and stores it with its tags. */
export function readThrough(cache, read) {
  const hit = cache.get(read.key);
  if (hit !== undefined) return hit.v;
  const { value, tags } = read.load();
  cache.set(read.key, { v: value }, tags?.length ? { tags } : undefined);
  return value;
}

/** Draws an id, mostly of a live row, sometimes of a deleted or never-created one. */
function someId(rng, map, ceiling) {
  if (rng.next() < 0.85 && map.size > 0) return rng.pick([...map.keys()]);
  // A recent id: maybe deleted, maybe of another kind, maybe not handed out yet.
  return String(Math.max(1, ceiling - rng.int(200)));
}

/**
 * The random script: returns the next operation as `{ kind: "read", name, args }` or
 * `{ kind: "write", name, run: () => changes }`. About one op in three writes.
 */
export function scriptStep(rng, db) {
  const ceiling = db.ceiling + 2;
  const uid = () => someId(rng, db.users, ceiling);
  const pid = () => someId(rng, db.posts, ceiling);
  const cid = () => someId(rng, db.comments, ceiling);
  const word = () => `w${rng.int(1000)}`;
  if (rng.next() < 0.35) {
    let r = rng.int(100);
    // Keep the population steady (about 30 users, 120 posts, 250 comments) however long the
    // script runs, so lists, pages and re-parents keep colliding and the cache keeps hitting:
    // past a ceiling, a create becomes a delete of the same kind.
    if (r < 6 && db.users.size >= 30) r = 13;
    if (r >= 15 && r < 35 && db.posts.size >= 120) r = 60;
    if (r >= 63 && r < 83 && db.comments.size >= 250) r = 95;
    if (r < 6 || db.users.size < 3) return { kind: "write", name: "createUser", run: () => db.createUser(word()) };
    if (r < 12) return { kind: "write", name: "updateUser", run: () => db.updateUser(uid(), word()) };
    if (r < 15) return { kind: "write", name: "deleteUser", run: () => db.deleteUser(uid()) };
    if (r < 35) return { kind: "write", name: "createPost", run: () => db.createPost(uid(), word()) };
    if (r < 47) return { kind: "write", name: "updatePost", run: () => db.updatePost(pid(), word()) };
    if (r < 57) return { kind: "write", name: "reparentPost", run: () => db.reparentPost(pid(), uid()) };
    if (r < 63) return { kind: "write", name: "deletePost", run: () => db.deletePost(pid()) };
    if (r < 83) return { kind: "write", name: "createComment", run: () => db.createComment(pid(), uid(), word()) };
    if (r < 93) return { kind: "write", name: "updateComment", run: () => db.updateComment(cid(), word()) };
    return { kind: "write", name: "deleteComment", run: () => db.deleteComment(cid()) };
  }
  const r = rng.int(6);
  if (r === 0) return { kind: "read", name: "user", args: [uid()] };
  if (r === 1) return { kind: "read", name: "post", args: [pid()] };
  if (r === 2) return { kind: "read", name: "userPosts", args: [uid()] };
  if (r === 3) return { kind: "read", name: "authorPage", args: [uid(), rng.int(3)] };
  if (r === 4) return { kind: "read", name: "commentsByPost", args: [pid()] };
  return { kind: "read", name: "postComments", args: [pid()] };
}

/** The blog as a world of the transparency matrix (see shop-db.mjs for the other). */
export const blogWorld = {
  name: "blog",
  schema: blogSchema,
  options: undefined,
  newDb: () => new BlogDb(),
  reads,
  step: scriptStep,
  writes: ["createUser", "updateUser", "deleteUser", "createPost", "updatePost", "reparentPost", "deletePost", "createComment", "updateComment", "deleteComment"],
};
