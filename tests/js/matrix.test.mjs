// The transparency matrix: a seeded random script of reads and writes against the blog database,
// served once through an LruCache purged by cascade sets and once straight from the database. Every
// cached read must deep-equal the uncached one. {create, update, delete, re-parent, delete a user
// with their posts} × {entity, list, nested list}.
//
// Short mode by default (a few seeds × 2,000 ops); MATRIX_OPS=100000 for the long run, MATRIX_SEED=n
// to replay one seed.
import assert from "node:assert/strict";
import { isDeepStrictEqual } from "node:util";
import { test } from "node:test";
import { CascadeEngine, LruCache } from "../../pkg/node.js";
import { BlogDb, blogSchema, prng, reads, readThrough, scriptStep } from "./support/blog-db.mjs";

const OPS = Number(process.env.MATRIX_OPS ?? 2000);
const SEEDS = process.env.MATRIX_SEED !== undefined ? [Number(process.env.MATRIX_SEED)] : [1, 2, 3];
/** Every so many ops, every cached entry is compared with a fresh load (not only the ones read). */
const SWEEP_EVERY = 25;

/**
 * Runs one seeded script. Returns { ops, reads, hits, writes, purged, byOp } or throws with the
 * seed, the op index and the stale key.
 */
export function runMatrix(seed, ops, { maxEntries = 400, purge = (engine, changes) => engine.cascadeBatch(changes) } = {}) {
  const engine = CascadeEngine.fromSchema(blogSchema);
  const cache = new LruCache({ maxEntries, engine });
  const db = new BlogDb();
  const rng = prng(seed);
  const resolvers = reads(db);
  // Which read produced each cached key, so a sweep can reload it.
  const readOfKey = new Map();
  const counts = { ops, reads: 0, hits: 0, writes: 0, purged: 0, coarse: 0, byOp: {} };
  // The writes since the last sweep: one of them made the stale key stale.
  let recent = [];

  const fail = (i, key, cached, fresh) => {
    const message =
      `stale read: seed=${seed} op=${i} key=${key}\n  writes since the last full check: ${recent.join("; ")}\n` +
      `  cached: ${JSON.stringify(cached)}\n  fresh:  ${JSON.stringify(fresh)}\n` +
      `  replay: MATRIX_SEED=${seed} MATRIX_OPS=${i + 1} node --test tests/js/matrix.test.mjs`;
    console.error(message);
    assert.fail(message);
  };

  for (let i = 0; i < ops; i++) {
    const step = scriptStep(rng, db);
    if (step.kind === "write") {
      const changes = step.run();
      counts.byOp[step.name] = (counts.byOp[step.name] ?? 0) + 1;
      if (changes.length === 0) continue;
      counts.writes++;
      recent.push(`op ${i} ${step.name} ${changes.map(({ entity, id, op }) => `${op} ${entity}:${id}`).join(", ")}`);
      const set = purge(engine, changes);
      counts.coarse += set.trace.filter((t) => t.coarse).length;
      counts.purged += cache.invalidateSet(set).length;
    } else {
      counts.reads++;
      const read = resolvers[step.name](...step.args);
      const had = cache.has(read.key);
      const cached = readThrough(cache, read);
      if (had) counts.hits++;
      readOfKey.set(read.key, read);
      const fresh = read.load().value;
      if (!isDeepStrictEqual(cached, fresh)) fail(i, read.key, cached, fresh);
    }
    if (i % SWEEP_EVERY === SWEEP_EVERY - 1) {
      for (const key of cache.keys()) {
        const fresh = readOfKey.get(key).load().value;
        const cached = cache.peek(key).v;
        if (!isDeepStrictEqual(cached, fresh)) fail(i, key, cached, fresh);
      }
      recent = [];
    }
  }
  return counts;
}

for (const seed of SEEDS) {
  test(`matrix: seed ${seed}, ${OPS} ops — every cached read equals the uncached read`, () => {
    const started = Date.now();
    const c = runMatrix(seed, OPS);
    const ms = Date.now() - started;
    console.log(
      `# matrix seed=${seed} ops=${c.ops} reads=${c.reads} hits=${c.hits} writes=${c.writes} ` +
        `purged=${c.purged} coarse-keys=${c.coarse} ${ms}ms ${JSON.stringify(c.byOp)}`,
    );
    // The matrix proves something only if the cache served reads and writes purged entries.
    assert.ok(c.hits > c.reads / 5, `too few cache hits (${c.hits} of ${c.reads}) for the matrix to mean anything`);
    assert.ok(c.purged > 0, "no write purged anything");
    for (const name of ["createUser", "updateUser", "deleteUser", "createPost", "updatePost", "reparentPost", "deletePost", "createComment", "updateComment", "deleteComment"]) {
      assert.ok(c.byOp[name] > 0, `the script never ran ${name}`);
    }
  });
}

test("matrix: a re-parented post leaves neither author's lists stale", () => {
  const engine = CascadeEngine.fromSchema(blogSchema);
  const cache = new LruCache({ maxEntries: 100, engine });
  const db = new BlogDb();
  db.createUser("a"); // user 1
  db.createUser("b"); // user 2
  db.createPost("1", "hello"); // post 3
  const r = reads(db);
  for (const read of [r.userPosts("1"), r.userPosts("2"), r.authorPage("1", 0), r.authorPage("2", 0)]) readThrough(cache, read);
  const changes = db.reparentPost("3", "2");
  const set = engine.cascadeBatch(changes);
  for (const key of ["user:1:posts", "user:2:posts", "post:author:1", "post:author:2"]) {
    assert.ok(set.keys.includes(key), `${key} missing from ${JSON.stringify(set.keys)}`);
  }
  cache.invalidateSet(set);
  assert.deepEqual(readThrough(cache, r.userPosts("1")), []);
  assert.deepEqual(readThrough(cache, r.userPosts("2")), [{ id: "3", title: "hello" }]);
  assert.deepEqual(readThrough(cache, r.authorPage("1", 0)), []);
  assert.deepEqual(readThrough(cache, r.authorPage("2", 0)), [{ id: "3", title: "hello", comments: [] }]);
});

test("matrix: it catches staleness (purging only the changed entities' own keys fails)", () => {
  // What an entity-tagging cache does: purge `post:9`, not the lists post 9 joins or leaves.
  const ownKeysOnly = (engine, changes) => ({
    keys: changes.map((c) => `${c.entity.toLowerCase()}:${c.id}`),
    patterns: [],
    trace: [],
  });
  const errors = console.error;
  console.error = () => {};
  try {
    assert.throws(() => runMatrix(1, OPS, { purge: ownKeysOnly }), /stale read: seed=1 op=\d+ key=\S+/);
  } finally {
    console.error = errors;
  }
});

// A holder with two lists of one type (issue 19): `User.posts` and `User.likedPosts`, both of
// `Post`, with one `Post.author`. Reads are the two lists and a post; writes create, update and
// delete posts (a deleted post leaves every list that held it) and like or unlike them (a change
// of the user whose list it is). Every cached read must equal the uncached one.
const likesSchema = `
  type User { id: ID!, name: String, posts: [Post!]!, likedPosts: [Post!]! }
  type Post { id: ID!, title: String, author: User! }
  type Query { user(id: ID!): User }
`;

function runLikesMatrix(seed, ops, options) {
  const engine = CascadeEngine.fromSchema(likesSchema, options);
  const cache = new LruCache({ maxEntries: 200, engine });
  const rng = prng(seed);
  const users = ["1", "2", "3", "4"];
  const posts = new Map(); // id → { author, title }
  const likes = new Map(users.map((u) => [u, new Set()]));
  let next = 10;
  const list = (ids) => [...ids].sort().map((id) => ({ id, title: posts.get(id).title }));
  const load = {
    posts: (u) => list([...posts].filter(([, p]) => p.author === u).map(([id]) => id)),
    likedPosts: (u) => list(likes.get(u)),
  };
  const counts = { hits: 0, purged: 0 };
  for (let i = 0; i < ops; i++) {
    const u = rng.pick(users);
    const p = posts.size > 0 ? rng.pick([...posts.keys()]) : undefined;
    const roll = rng.next();
    let changes = [];
    if (roll < 0.2) {
      const id = String(next++);
      posts.set(id, { author: u, title: `t${i}` });
      changes = [{ entity: "Post", id, op: "create", data: { author_id: u } }];
    } else if (roll < 0.3 && p) {
      posts.get(p).title = `t${i}`;
      changes = [{ entity: "Post", id: p, op: "update", data: { author_id: posts.get(p).author, title: `t${i}` } }];
    } else if (roll < 0.4 && p) {
      const { author } = posts.get(p);
      posts.delete(p);
      for (const set of likes.values()) set.delete(p);
      changes = [{ entity: "Post", id: p, op: "delete", data: { author_id: author } }];
    } else if (roll < 0.55 && p) {
      if (likes.get(u).has(p)) likes.get(u).delete(p);
      else likes.get(u).add(p);
      changes = [{ entity: "User", id: u, op: "update", data: {} }];
    } else {
      const field = rng.next() < 0.5 ? "posts" : "likedPosts";
      const key = `user:${u}:${field}`;
      if (cache.has(key)) counts.hits++;
      else cache.set(key, load[field](u));
    }
    if (changes.length > 0) counts.purged += cache.invalidateSet(engine.cascadeBatch(changes)).length;
    for (const key of cache.keys()) {
      const [, owner, field] = key.split(":");
      const fresh = load[field](owner);
      if (!isDeepStrictEqual(cache.peek(key), fresh)) {
        assert.fail(`stale read: seed=${seed} op=${i} key=${key}\n  cached: ${JSON.stringify(cache.peek(key))}\n  fresh:  ${JSON.stringify(fresh)}`);
      }
    }
  }
  return counts;
}

for (const seed of SEEDS) {
  test(`matrix: two lists of one type, seed ${seed} — every cached list equals the uncached one`, () => {
    const c = runLikesMatrix(seed, Math.min(OPS, 2000));
    assert.ok(c.hits > 0 && c.purged > 0, JSON.stringify(c));
    // Naming the one pairing that holds keeps the other list exact too.
    runLikesMatrix(seed, Math.min(OPS, 2000), { inverses: { "User.posts": "Post.author", "User.likedPosts": null } });
  });
}

test("matrix: two lists of one type — pairing `likedPosts` with `Post.author` (the old guess) goes stale", () => {
  const guessed = { inverses: { "User.likedPosts": "Post.author" } };
  assert.throws(() => runLikesMatrix(1, Math.min(OPS, 2000), guessed), /stale read: seed=1 op=\d+ key=user:\d:likedPosts/);
});
