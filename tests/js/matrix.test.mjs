// The transparency matrix: a seeded random script of reads and writes against a small database,
// served once through an LruCache purged by cascade sets and once straight from the database. Every
// cached read must deep-equal the uncached one. {create, update, delete, re-parent, delete a user
// with their posts} × {entity, list, nested list}, in two worlds: the blog, and a shop with a
// composite key and a holder with two lists of one type (tests/js/support/shop-db.mjs).
//
// Short mode by default (a few seeds × 2,000 ops); MATRIX_OPS=100000 for the long run, MATRIX_SEED=n
// to replay one seed.
import assert from "node:assert/strict";
import { isDeepStrictEqual } from "node:util";
import { test } from "node:test";
import { CascadeEngine, LruCache, tagsForResponse } from "../../pkg/node.js";
import { BlogDb, blogSchema, blogWorld, prng, reads, readThrough } from "./support/blog-db.mjs";
import { shopWorld } from "./support/shop-db.mjs";

const OPS = Number(process.env.MATRIX_OPS ?? 2000);
const SEEDS = process.env.MATRIX_SEED !== undefined ? [Number(process.env.MATRIX_SEED)] : [1, 2, 3];
/** Every so many ops, every cached entry is compared with a fresh load (not only the ones read). */
const SWEEP_EVERY = 25;

/**
 * Runs one seeded script in `world` (blog-db.mjs's `blogWorld` or shop-db.mjs's `shopWorld`).
 * Returns { ops, reads, hits, writes, purged, byOp } or throws with the seed, the op index and
 * the stale key.
 */
export function runMatrix(seed, ops, { world = blogWorld, maxEntries = 400, purge = (engine, changes) => engine.cascadeBatch(changes) } = {}) {
  const engine = CascadeEngine.fromSchema(world.schema, world.options);
  const cache = new LruCache({ maxEntries, engine });
  const db = world.newDb();
  const rng = prng(seed);
  const resolvers = world.reads(db);
  // Which read produced each cached key, so a sweep can reload it.
  const readOfKey = new Map();
  const counts = { ops, reads: 0, hits: 0, writes: 0, purged: 0, coarse: 0, byOp: {} };
  // The writes since the last sweep: one of them made the stale key stale.
  let recent = [];

  const fail = (i, key, cached, fresh) => {
    const message =
      `stale read: seed=${seed} op=${i} key=${key}\n  writes since the last full check: ${recent.join("; ")}\n` +
      `  cached: ${JSON.stringify(cached)}\n  fresh:  ${JSON.stringify(fresh)}\n` +
      `  replay: MATRIX_SEED=${seed} MATRIX_OPS=${i + 1} node --test --test-name-pattern ${world.name} tests/js/matrix.test.mjs`;
    console.error(message);
    assert.fail(message);
  };

  for (let i = 0; i < ops; i++) {
    const step = world.step(rng, db);
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

for (const world of [blogWorld, shopWorld]) {
  for (const seed of SEEDS) {
    test(`matrix ${world.name}: seed ${seed}, ${OPS} ops — every cached read equals the uncached read`, () => {
      const started = Date.now();
      const c = runMatrix(seed, OPS, { world });
      const ms = Date.now() - started;
      console.log(
        `# matrix ${world.name} seed=${seed} ops=${c.ops} reads=${c.reads} hits=${c.hits} writes=${c.writes} ` +
          `purged=${c.purged} coarse-keys=${c.coarse} ${ms}ms ${JSON.stringify(c.byOp)}`,
      );
      // The matrix proves something only if the cache served reads and writes purged entries.
      assert.ok(c.hits > c.reads / 5, `too few cache hits (${c.hits} of ${c.reads}) for the matrix to mean anything`);
      assert.ok(c.purged > 0, "no write purged anything");
      for (const name of world.writes) assert.ok(c.byOp[name] > 0, `the script never ran ${name}`);
    });
  }
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

// Composite keys (SPEC §2): items keyed by (orgId, number), with org ids that would collide if the
// joining `,` or the delimiter were not encoded ("1" with 17 and "1,1" with 7; "a:b"), and comments
// created, edited, moved between items and deleted. A read is an item's page (the item and its
// comments), cached in an LruCache under the keys tagsForResponse finds in it; the changes are
// what a data layer knows (foreign keys as item_orgId / itemOrgId / item { orgId }, before on a
// move) and changesFromMutation's own. Every cached read must deep-equal the uncached one.
const ITEM_SDL = `
  type Item @key(fields: "orgId number") { orgId: ID! number: Int! title: String! comments: [Comment!]! }
  type Comment { id: ID! body: String! item: Item! }
  type Query { item(orgId: ID!, number: Int!): Item }
`;

export function runItemMatrix(seed, ops) {
  const engine = CascadeEngine.fromSchema(ITEM_SDL);
  const cache = new LruCache({ maxEntries: 30 });
  const rng = prng(seed);
  const ORGS = ["1", "1,1", "11", "a:b", "50%", "x y"];
  const NUMBERS = [1, 7, 17];
  const pairs = ORGS.flatMap((orgId) => NUMBERS.map((number) => ({ orgId, number, title: "t" })));
  const comments = new Map(); // id → { body, item }
  let nextId = 0;
  const page = (item) => ({
    data: {
      item: {
        __typename: "Item",
        orgId: item.orgId,
        number: item.number,
        title: item.title,
        comments: [...comments].filter(([, c]) => c.item === item).map(([id, c]) => ({ __typename: "Comment", id, body: c.body })),
      },
    },
  });
  // The foreign key of a comment on `item`, in one of the spellings a change may carry.
  const fk = (item) =>
    rng.pick([
      { item_orgId: item.orgId, item_number: item.number },
      { itemOrgId: item.orgId, itemNumber: item.number },
      { item: { orgId: item.orgId, number: item.number } },
    ]);
  const counts = { reads: 0, hits: 0, writes: 0, purged: 0 };
  for (let i = 0; i < ops; i++) {
    const n = rng.int(pairs.length);
    const item = pairs[n];
    const r = rng.next();
    if (r < 0.55) {
      counts.reads++;
      const key = `response:${n}`;
      const fresh = page(item);
      const cached = cache.get(key);
      if (cached === undefined) cache.set(key, fresh, { tags: tagsForResponse(engine, fresh).keys });
      else {
        counts.hits++;
        if (!isDeepStrictEqual(cached, fresh)) {
          assert.fail(`stale read: seed=${seed} op=${i} item=(${item.orgId}, ${item.number})\n  cached: ${JSON.stringify(cached)}\n  fresh:  ${JSON.stringify(fresh)}`);
        }
      }
      continue;
    }
    const ids = [...comments.keys()];
    const id = ids.length > 0 ? rng.pick(ids) : undefined;
    const comment = id === undefined ? undefined : comments.get(id);
    let changes;
    if (r < 0.7 || comment === undefined) {
      const created = String(++nextId);
      comments.set(created, { body: `b${i}`, item });
      changes = [{ entity: "Comment", id: created, op: "create", data: { body: `b${i}`, ...fk(item) } }];
    } else if (r < 0.78) {
      comment.body = `b${i}`;
      changes = [{ entity: "Comment", id, data: { body: comment.body, ...fk(comment.item) } }];
    } else if (r < 0.86) {
      const from = comment.item;
      comment.item = item;
      changes = [{ entity: "Comment", id, data: fk(item), before: fk(from) }];
    } else if (r < 0.93) {
      comments.delete(id);
      changes = [{ entity: "Comment", id, op: "delete", data: fk(comment.item) }];
    } else {
      item.title = `t${i}`;
      // The mutation's own result names the item: its change carries the composite id.
      changes = engine.changesFromMutation({ data: { updateItem: { __typename: "Item", orgId: item.orgId, number: item.number, title: item.title } } });
    }
    counts.writes++;
    counts.purged += cache.invalidateSet(engine.cascadeBatch(changes)).length;
  }
  cache.free();
  engine.free();
  return counts;
}

for (const seed of SEEDS) {
  test(`matrix: composite keys, seed ${seed} — every cached item page equals the uncached one`, () => {
    const c = runItemMatrix(seed, OPS);
    assert.ok(c.hits > c.reads / 5, `too few cache hits (${c.hits} of ${c.reads})`);
    assert.ok(c.purged > 0, "no write purged anything");
  });
}

test("matrix shop: with no `inverses` option both lists of comments stay transparent (coarse)", () => {
  const c = runMatrix(1, OPS, { world: { ...shopWorld, options: undefined } });
  assert.ok(c.coarse > 0, "an ambiguous pair must widen to user:*:…");
});

test("matrix shop: it catches a guessed inverse (likedComments paired with Comment.author fails)", () => {
  // What guessing by type alone derives: `comment -> user:{author_id}:likedComments`.
  const guessed = { ...shopWorld, options: { inverses: { "User.comments": "Comment.author", "User.likedComments": "Comment.author" } } };
  const errors = console.error;
  console.error = () => {};
  try {
    assert.throws(() => runMatrix(1, OPS, { world: guessed }), /stale read: seed=1 op=\d+ key=user:\d+:likedComments/);
  } finally {
    console.error = errors;
  }
});
