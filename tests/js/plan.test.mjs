// Plans of cascades (pkg-template/plans.js `Planner`) against wasm: a seeded random
// script of changes without data (odd, long and numeric ids, every op, known and unknown
// entities), changes with data of repeated shapes and every kind of value (`randomData`),
// batches, rule additions and removals (conditions among them), and `stats()`, run on an
// engine that answers from plans and on one that always calls wasm (`_noPlan`). Every result,
// error and stats snapshot (time aside) must be the same.
//
// PLAN_SEED=n replays one seed; PLAN_OPS=n changes the script's length.
import assert from "node:assert/strict";
import { test } from "node:test";
import { CascadeEngine } from "../../pkg/node.js";
import { prng } from "./support/blog-db.mjs";
import { BLOG, fixture } from "./support/schemas.mjs";

const OPS = Number(process.env.PLAN_OPS ?? 1500);
const SEEDS = process.env.PLAN_SEED !== undefined ? [Number(process.env.PLAN_SEED)] : [1, 2];

// The SPEC's example with tags and self-references.
const SPEC = `
type User { id: ID! name: String manager: User friends: [User!]! posts: [Post!]! }
type Post { id: ID! title: String status: String author: User! comments: [Comment!]! tags: [Tag!]! }
type Comment { id: ID! body: String author: User! post: Post! }
type Tag { id: ID! label: String posts: [Post!]! }
type Query { user(id: ID!): User }
`;

const LONG = "L".repeat(1000);

/**
 * Manual rules over the keyspaces `ks`, with `D` standing for the delimiter: `[plannable,
 * unplannable]` (rules that stop plans of the entities they reach).
 */
function rulePool(ks, blogFields) {
  const [a, b = a, c = a] = ks;
  const fn = (data) => data?.status === "published";
  const unplannable = [
    { entity: a, cascadeTo: ["{id}Dmeta"] }, // the id in a first segment
    { entity: a, cascadeTo: ["p{id}xDlist"] },
    { entity: b, cascadeTo: ["{id}"] },
    { entity: a, cascadeTo: ["mapD{id}D日本"] }, // a tag unlike its key
  ];
  const pool = [
    { entity: a, cascadeTo: [`${a}D1`] }, // meets `a:{id}` for the id "1"
    { entity: a, cascadeTo: [`${a}Da{id}`, `${a}D{id}a`] }, // meet for ids of only `a`
    { entity: a, cascadeTo: [`${b}D{id}`] }, // cascades on as `b`
    { entity: b, cascadeTo: [`${a}D{id}`] }, // … and back: a cycle
    { entity: c, cascadeTo: [`${c}D{id}{id}`, `xD{id}-{id}D{id}`] },
    { entity: a, cascadeTo: [`feedD{id}`, "feedD*"] },
    { entity: a, cascadeTo: ["*"] },
    { entity: b, cascadeTo: [`${a}D${LONG}D{id}`] }, // long ids turn it coarse
    { entity: a, cascadeTo: ["tilde~^|D{id}D!$&@#"] }, // the plan's id mark must avoid these
    { entity: a, cascadeTo: ["pct%41D{id}"] },
    { entity: a, maxDepth: 0, cascadeTo: [`${b}D{id}Dx`] },
    { entity: a, maxDepth: 1, cascadeTo: [`${b}D{id}`] },
    { entity: a, when: { field: "status", eq: "published" }, cascadeTo: ["publishedD{id}"] },
    { entity: a, when: fn, cascadeTo: ["fnD{id}"] },
    { entity: b, onFields: ["title"], cascadeTo: [`${b}D{id}Dtitle`] },
    { entity: c, when: { changed: ["body"] }, cascadeTo: ["changedD{id}"] },
  ];
  if (blogFields) {
    pool.push({ entity: "post", cascadeTo: ["userD{author_id}Dfeed", "postD{id}Dby-{author_id}"] });
    pool.push({ entity: "comment", cascadeTo: ["postD{post_id}Dthread", "commentD{id}"] });
  }
  return [pool, unplannable];
}

const IDS = [
  "1", "42", "0", "7", "a", "aa", "aaa", "abc", "A-b_c.d", "~", "~~", "x~y", "^", "|", "!$&@#", "a:b", "a/b", "a|b",
  "a*b", "*", "{id}", "{", "}", "%", "%41", "a,b", "a b", " ", "", "\t", "é", "日本", "😀", "\uD800", "user", "post",
  "L", "LL", "1:2", "a\u007fb", "a\u0000b", "\"q\"", "back\\slash",
];
const CHARS = "abcAZ09_-.~^|!$&@#:/*{}%, é";

function randomId(rng) {
  const r = rng.next();
  if (r < 0.1) return rng.pick(["1", "a", "aa", "aaa"]); // where the pool's keys meet
  if (r < 0.4) return rng.pick(IDS);
  if (r < 0.7) return String(rng.int(100));
  if (r < 0.78) return rng.pick([42, 0, -1, 1.5, 1e21, 7]); // numeric ids take the JSON path
  const length = rng.pick([1, 2, 3, 5, 8, 17, 18, 19, 20, 40, 1015, 1018, 1019, 1020, 1030]);
  let id = "";
  const plain = rng.next() < 0.6;
  for (let i = 0; i < length; i++) id += plain ? "L" : CHARS[rng.int(CHARS.length)];
  return id;
}

// Field names a change's data may have: the blog's foreign keys in their spellings, fields the
// pool's conditions read, and the id.
const FIELDS = ["author_id", "authorId", "post_id", "postId", "manager_id", "status", "title", "id", "x"];

/**
 * Data for a change: mostly values a key may take (strings and safe integers, often the few that
 * make keys meet), sometimes `null`, booleans, other numbers, nested objects, arrays, `undefined`
 * or long and odd strings, so that plans of a shape meet every value they must refuse.
 */
function randomData(rng, depth = 0) {
  // Mostly one of a few shapes, so that shapes repeat and get planned, with values of all kinds.
  if (depth === 0 && rng.next() < 0.7) {
    const value = () => (rng.next() < 0.7 ? rng.pick(["1", "9", "a", "aa", "author", "comments", "posts", 5, 0]) : randomId(rng));
    switch (rng.int(5)) {
      case 0: return { author_id: value() };
      case 1: return { author_id: value(), title: value() };
      case 2: return { post_id: value(), author_id: value() };
      case 3: return { author: { id: value() }, status: "draft" };
      default: return { manager_id: value(), id: value() };
    }
  }
  const data = {};
  for (let k = rng.int(4); k > 0; k--) {
    const r = rng.next();
    data[rng.pick(FIELDS)] =
      r < 0.35 ? rng.pick(["1", "9", "a", "aa", "author", "comments", "posts", 5, 0, "L"])
      : r < 0.6 ? randomId(rng)
      : r < 0.67 ? null
      : r < 0.72 ? rng.pick([true, false, 1.5, -0])
      : r < 0.82 && depth < 2 ? randomData(rng, depth + 1)
      : r < 0.86 ? [rng.pick(["1", "9"])]
      : r < 0.9 ? undefined
      : rng.pick(["", " ", "a:b", "é", "%", "*", "L".repeat(1020)]);
  }
  if (depth === 0 && rng.next() < 0.25) data.author = { id: rng.pick(["1", "9", "a", 7]) };
  return data;
}

/** `data` with each value a key may take (strings, safe integers) drawn again: the same shape. */
/** `data` with some of its values changed (`revalue`), the others kept (equal, as `before` often is). */
function partlyChanged(rng, data) {
  if (Array.isArray(data) || data === null || typeof data !== "object") return data;
  const out = {};
  for (const [k, v] of Object.entries(data)) {
    const r = rng.next();
    out[k] = r < 0.55 ? v : r < 0.9 ? revalue(rng, { v }).v : typeof v === "string" ? Number.parseInt(v, 10) || v : v;
  }
  return out;
}

function revalue(rng, data) {
  if (Array.isArray(data) || data === null || typeof data !== "object") return data;
  const out = {};
  for (const [k, v] of Object.entries(data)) {
    if (rng.next() < 0.1 && (v === null || typeof v === "boolean" || typeof v === "number")) {
      out[k] = rng.pick([null, true, false, 1.5]); // another shape, mostly
    } else if (typeof v === "string" || Number.isSafeInteger(v)) {
      out[k] = rng.next() < 0.7 ? rng.pick(["1", "9", "a", "aa", "author", "comments", "posts", 5, 0, "x"]) : randomId(rng);
    } else {
      out[k] = revalue(rng, v);
    }
  }
  return out;
}

function outcome(fn) {
  try {
    return { value: fn() };
  } catch (error) {
    return { error: { code: error.code, message: error.message } };
  }
}

function statsOf(engine) {
  const { averageTimeMs, ...rest } = engine.stats();
  assert.ok(Number.isFinite(averageTimeMs) && averageTimeMs >= 0);
  return rest;
}

/** Runs one seeded script on a planning engine and a wasm-only one made by `make(options)`. */
function differential(name, make, seed, ops, { delimiter = ":", blogFields = false } = {}) {
  const planned = make({});
  const wasm = make({ _noPlan: true });
  const rng = prng(seed);
  const entities = planned.entities();
  const names = [...entities.map((e) => e.keyspace), ...entities.map((e) => e.type), "nope", "Post_"];
  const keyspaces = entities.map((e) => e.keyspace);
  // Favour a few entities so plans get reused; the rules name three of them.
  const hot = [rng.pick(keyspaces), rng.pick(keyspaces), rng.pick(keyspaces)];
  const [pool, unplannable] = rulePool(blogFields ? ["post", "user", "comment"] : hot, blogFields).map((rules) =>
    rules.map((r) => ({ ...r, cascadeTo: r.cascadeTo.map((t) => t.replaceAll("D", delimiter)) })),
  );
  const step = (what, fn) => {
    const a = outcome(() => fn(planned));
    const b = outcome(() => fn(wasm));
    assert.deepStrictEqual(a, b, `${name} seed=${seed}: ${what}`);
    return a;
  };
  const counts = { cascades: 0, planned: 0, rules: 0, withData: 0, dataPlanned: 0, beforePlanned: 0, batches: 0, batchesPlanned: 0 };
  const stats = statsOf;
  for (let i = 0; i < ops; i++) {
    const r = rng.next();
    if (r < 0.2) {
      // A change with data, of the favoured entities mostly: planned by its data's shape.
      const entity = rng.next() < 0.85 ? (blogFields ? rng.pick(["post", "user", "comment"]) : rng.pick(hot)) : rng.pick(names);
      const change = { entity, id: rng.next() < 0.5 ? rng.pick(["1", "9", "a", "author", 3]) : randomId(rng), data: randomData(rng) };
      const op = rng.pick([undefined, undefined, "create", "delete", "upsert"]);
      if (op !== undefined) change.op = op;
      // `before` as the watcher sends it: the same members, some values changed (or unrelated).
      const r2 = rng.next();
      if (r2 < 0.05) change.before = randomData(rng);
      else if (r2 < 0.3) change.before = partlyChanged(rng, change.data);
      // The same shape a few times over, with other values (and the id too, mostly).
      for (let again = rng.int(5); again >= 0; again--) {
        const before = planned._plannedCascades();
        step(`op ${i} cascade with data ${JSON.stringify(change)}`, (e) => e.cascade(change));
        counts.withData++;
        counts.dataPlanned += planned._plannedCascades() - before;
        if (change.before !== undefined) counts.beforePlanned += planned._plannedCascades() - before;
        change.data = revalue(rng, change.data);
        if (change.before !== undefined && rng.next() < 0.7) change.before = partlyChanged(rng, change.data);
        if (rng.next() < 0.8) change.id = revalue(rng, { id: change.id }).id;
      }
    } else if (r < 0.26) {
      // An entity key invalidated in a cache with the engine attached (`LruCache#invalidate`).
      const id = randomId(rng);
      const key = rng.next() < 0.85
        ? `${rng.next() < 0.8 ? rng.pick(hot) : rng.pick(names)}${delimiter}${id}`
        : rng.pick(["", delimiter, `${delimiter}1`, `post${delimiter}`, `post${delimiter}*`, `post${delimiter}1${delimiter}x`, `post${delimiter}%41`, "post", `Post${delimiter}1`]);
      step(`op ${i} _cascadeKey(${JSON.stringify(key)})`, (e) => e._cascadeKey(key) ?? null);
    } else if (r < 0.88) {
      const entity = rng.next() < 0.8 ? (blogFields ? rng.pick(["post", "user", "comment", "Post"]) : rng.pick(hot)) : rng.pick(names);
      const change = { entity, id: randomId(rng) };
      const op = rng.pick([undefined, undefined, "create", "update", "delete", "upsert"]);
      if (op !== undefined) change.op = op;
      step(`op ${i} cascade(${JSON.stringify(change)})`, (e) => e.cascade(change));
      counts.cascades++;
    } else if (r < 0.905) {
      const change = { entity: rng.pick(hot), id: randomId(rng), data: { status: rng.pick(["published", "draft"]), title: "t", author_id: "9" } };
      if (rng.next() < 0.5) change.before = { status: "draft", title: "u", body: "b" };
      step(`op ${i} cascade with data ${JSON.stringify(change)}`, (e) => e.cascade(change));
    } else if (r < 0.935) {
      // A batch, of changes without data and with, the same shapes a few times over with other
      // values; the same key from two changes, and a change twice, now and then.
      const pickEntity = () => (blogFields ? rng.pick(["post", "user", "comment"]) : rng.pick(hot));
      let changes = Array.from({ length: rng.int(5) }, () => {
        const change = { entity: pickEntity(), id: rng.next() < 0.5 ? rng.pick(["1", "9", "a", "author", 3]) : randomId(rng) };
        if (rng.next() < 0.5) change.data = randomData(rng);
        return change;
      });
      if (changes.length > 0 && rng.next() < 0.2) changes.push({ ...changes[0] });
      for (let again = rng.int(4); again >= 0; again--) {
        const before = planned._plannedBatches();
        step(`op ${i} cascadeBatch(${JSON.stringify(changes)})`, (e) => e.cascadeBatch(changes));
        counts.batches++;
        counts.batchesPlanned += planned._plannedBatches() - before;
        changes = changes.map((c) => ({ ...c, id: revalue(rng, { id: c.id }).id, ...(c.data ? { data: revalue(rng, c.data) } : {}) }));
      }
    } else if (r < 0.95) {
      const rule = rng.pick(rng.next() < 0.15 ? unplannable : pool);
      step(`op ${i} addRule(${JSON.stringify(rule.cascadeTo)})`, (e) => e.addRule(rule));
      counts.rules++;
    } else if (r < 0.975) {
      const ids = planned.rules().map((x) => x.id);
      // Manual rules (after the auto rules) more often, so the set of rules keeps changing.
      const id = rng.next() < 0.1 ? "no such rule" : rng.next() < 0.8 ? ids.at(-1 - rng.int(4)) : rng.pick(ids);
      if (id !== undefined) step(`op ${i} removeRule(${id})`, (e) => e.removeRule(id));
    } else if (r < 0.978) {
      step(`op ${i} clearRules()`, (e) => e.clearRules());
    } else {
      step(`op ${i} stats()`, stats);
    }
  }
  step("final stats()", stats);
  assert.deepStrictEqual(planned.rules(), wasm.rules());
  counts.planned = planned._plannedCascades();
  return counts;
}

const SCENARIOS = [
  ["blog", (o) => CascadeEngine.fromSchema(BLOG, o), { blogFields: true }],
  ["blog fromJSON", (o) => CascadeEngine.fromJSON(CascadeEngine.fromSchema(BLOG).toJSON(), o), { blogFields: true }],
  ["blog delimiter /", (o) => CascadeEngine.fromSchema(BLOG, { delimiter: "/", ...o }), { delimiter: "/", blogFields: true }],
  ["blog delimiter |", (o) => CascadeEngine.fromSchema(BLOG, { delimiter: "|", ...o }), { delimiter: "|", blogFields: true }],
  ["blog delimiter §", (o) => CascadeEngine.fromSchema(BLOG, { delimiter: "§", ...o }), { delimiter: "§", blogFields: true }],
  // Truncated sets are not planned: only entities with few rules are.
  ["blog maxKeys 4", (o) => CascadeEngine.fromSchema(BLOG, { maxKeys: 4, ...o }), { blogFields: true, planned: 0 }],
  ["blog maxKeys 7", (o) => CascadeEngine.fromSchema(BLOG, { maxKeys: 7, ...o }), { blogFields: true, planned: 0.03 }],
  ["blog maxDepth 1", (o) => CascadeEngine.fromSchema(BLOG, { maxDepth: 1, ...o }), { blogFields: true }],
  ["blog maxDepth 0", (o) => CascadeEngine.fromSchema(BLOG, { maxDepth: 0, ...o }), { blogFields: true }],
  // A keyspace with the delimiter in it, one with the usual id mark in it.
  ["blog odd keyspaces", (o) => CascadeEngine.fromSchema(BLOG, { keyspaces: { Comment: "c:m", User: "u~" }, ...o }), {}],
  ["spec", (o) => CascadeEngine.fromSchema(SPEC, o), { blogFields: true }],
  ["spec maxDepth 1", (o) => CascadeEngine.fromSchema(SPEC, { maxDepth: 1, ...o }), { blogFields: true }],
];
const SWAPI = fixture("swapi.graphql");
const GITHUB = fixture("github.graphql");
SCENARIOS.push(["swapi", (o) => CascadeEngine.fromSchema(SWAPI, o), {}]);
SCENARIOS.push(["github", (o) => CascadeEngine.fromSchema(GITHUB, o), { ops: Math.ceil(OPS / 5), planned: 0.02 }]);

for (const [name, make, options] of SCENARIOS) {
  test(`plans answer as wasm does: ${name}`, () => {
    let cascades = 0;
    let planned = 0;
    let withData = 0;
    let dataPlanned = 0;
    let batches = 0;
    let batchesPlanned = 0;
    let beforePlanned = 0;
    for (const seed of SEEDS) {
      const counts = differential(name, make, seed, options.ops ?? OPS, options);
      cascades += counts.cascades;
      planned += counts.planned - counts.dataPlanned;
      withData += counts.withData;
      dataPlanned += counts.dataPlanned;
      batches += counts.batches;
      batchesPlanned += counts.batchesPlanned;
      beforePlanned += counts.beforePlanned;
    }
    console.log(`# ${name}: ${beforePlanned} cascades with \`before\` answered from plans`);
    if (options.delimiter !== "§" && options.planned !== 0) assert.ok(beforePlanned > 0, `${name}: no cascade with before planned`);
    console.log(`# ${name}: ${batchesPlanned} of ${batches} batches answered from plans`);
    if (options.delimiter !== "§" && batches > 100) assert.ok(batchesPlanned > 0, `${name}: no batch planned`);
    console.log(`# ${name}: ${dataPlanned} of ${withData} cascades with data answered from plans`);
    if (options.delimiter !== "§" && options.planned !== 0) assert.ok(dataPlanned > 0, `${name}: no cascade with data planned`);
    // Most scenarios must exercise plans (a non-ASCII delimiter makes every tag differ from its key).
    if (options.delimiter === "§") assert.equal(planned, 0);
    // (Plans are made at an (entity, op)'s second cascade and dropped at every rule change,
    // which comes every ~20 steps.)
    else assert.ok(planned >= cascades * (options.planned ?? 0.035), `${name}: only ${planned} of ${cascades} cascades planned`);
    console.log(`# ${name}: ${planned} of ${cascades} cascades answered from plans`);
  });
}

test("a plan is used: cascades of one entity after the second do not reach wasm's run", () => {
  const engine = CascadeEngine.fromSchema(BLOG);
  // The first cascade is not planned (a cold start's only change would pay for nothing); the
  // second makes the plan.
  engine.cascade({ entity: "post", id: "1" });
  assert.equal(engine._plannedCascades(), 0);
  engine.cascade({ entity: "post", id: "1" });
  assert.equal(engine._plannedCascades(), 0);
  const before = engine.stats();
  // Answered from the plan, then recorded in wasm by stats().
  for (let i = 0; i < 100; i++) engine.cascade({ entity: "post", id: String(i) });
  assert.equal(engine._plannedCascades(), 100);
  const after = engine.stats();
  assert.equal(engine._plannedCascades(), 100);
  assert.equal(after.cascades - before.cascades, 100);
  assert.equal(after.keys - before.keys, 500);
});

test("keys that meet for one id: that id is answered by wasm", () => {
  const cases = [
    [{ entity: "post", cascadeTo: ["post:1"] }, ["1"]],
    [{ entity: "post", cascadeTo: ["post:a{id}", "post:{id}a"] }, ["a", "aa", "aaa", "aaaaaaa"]],
    [{ entity: "post", cascadeTo: ["x:{id}{id}", "x:aa{id}"] }, ["aa"]],
    [{ entity: "user", cascadeTo: ["post:7"] }, []],
  ];
  for (const [rule, meet] of cases) {
    const planned = CascadeEngine.fromSchema(BLOG);
    const wasm = CascadeEngine.fromSchema(BLOG, { _noPlan: true });
    for (const e of [planned, wasm]) e.addRule(rule);
    // "2" and "3" go through wasm and make the plans.
    for (const id of ["2", "3", "1", "b", "a", "aa", "aaa", "aaaaaaa", "7", "x"]) {
      for (const entity of ["post", "user"]) {
        const before = planned._plannedCascades();
        assert.deepStrictEqual(planned.cascade({ entity, id }), wasm.cascade({ entity, id }), `${rule.cascadeTo} ${entity}:${id}`);
        const answered = planned._plannedCascades() > before;
        if (entity === rule.entity && id !== "2" && id !== "3") assert.equal(answered, !meet.includes(id), `${rule.cascadeTo} ${entity}:${id}`);
      }
    }
    assert.deepStrictEqual(statsOf(planned), statsOf(wasm));
  }
});

test("past the fan-out budget, a dropped key could have met one of the set: not planned", () => {
  // The post's set has 5 keys; `post:{id}a` is the 6th, `post:a{id}` is past maxKeys 6 and
  // becomes `post:*`, unless the id is "a" (then it is `post:aa` again).
  const rule = { entity: "post", cascadeTo: ["post:{id}a", "post:a{id}"] };
  const planned = CascadeEngine.fromSchema(BLOG, { maxKeys: 6 });
  const wasm = CascadeEngine.fromSchema(BLOG, { maxKeys: 6, _noPlan: true });
  for (const e of [planned, wasm]) e.addRule(rule);
  for (const id of ["2", "b", "a", "aa"]) {
    assert.deepStrictEqual(planned.cascade({ entity: "post", id }), wasm.cascade({ entity: "post", id }), id);
  }
  assert.deepStrictEqual(statsOf(planned), statsOf(wasm));
});

test("a logger sees every cascade: no plans with a logger", () => {
  const lines = [];
  const engine = CascadeEngine.fromSchema(BLOG, { logger: (l) => lines.push(l) });
  lines.length = 0;
  for (const id of ["1", "2", "3"]) engine.cascade({ entity: "post", id });
  assert.deepEqual(lines.filter((l) => l.endsWith(" changed")), ["[CASCADE] post:1 changed", "[CASCADE] post:2 changed", "[CASCADE] post:3 changed"]);
});

test("a safe-integer id is planned as its decimal string, with what the JSON path gives", () => {
  const planned = CascadeEngine.fromSchema(BLOG);
  const wasm = CascadeEngine.fromSchema(BLOG, { _noPlan: true });
  for (const entity of ["post", "user", "comment"]) {
    for (const id of [7, 7, 0, -0, 42, -1, 9007199254740991, -9007199254740991]) {
      // An unknown property sends the change through JSON (`Change::from_value`), as before.
      const viaJson = wasm.cascade({ entity, id, note: 1 });
      assert.deepStrictEqual(planned.cascade({ entity, id }), viaJson, `${entity}:${id}`);
      assert.deepStrictEqual(wasm.cascade({ entity, id }), viaJson, `${entity}:${id} without plans`);
      assert.deepStrictEqual(planned.cascade({ entity, id: String(id) }), viaJson, `${entity}:"${id}"`);
    }
  }
  assert.ok(planned._plannedCascades() > 30, `only ${planned._plannedCascades()} planned`);
  // Not safe integers: still through JSON, with its result or error.
  for (const id of [1.5, 2 ** 53, 1e21]) {
    assert.deepStrictEqual(planned.cascade({ entity: "post", id }), wasm.cascade({ entity: "post", id, note: 1 }));
  }
  assert.throws(() => planned.cascade({ entity: "post", id: NaN }), { code: "INVALID_CHANGE" });
});

test("changes with data: planned by shape, and values that would make keys meet go to wasm", () => {
  const planned = CascadeEngine.fromSchema(BLOG);
  const wasm = CascadeEngine.fromSchema(BLOG, { _noPlan: true });
  const same = (change, answered) => {
    const before = planned._plannedCascades();
    assert.deepStrictEqual(planned.cascade(change), wasm.cascade(change), JSON.stringify(change));
    assert.equal(planned._plannedCascades() > before, answered, `${JSON.stringify(change)} answered from a plan`);
  };
  // The second cascade of a shape makes its plan; the third on are answered from it.
  same({ entity: "post", id: "1", data: { author_id: "9" } }, false);
  same({ entity: "post", id: "2", data: { author_id: "8" } }, false);
  same({ entity: "post", id: "3", data: { author_id: 7 } }, true);
  // `post:{id}:comments` and `post:author:{author_id}` are one key for these two values.
  same({ entity: "post", id: "author", data: { author_id: "comments" } }, false);
  // Values a key would encode, or leave empty.
  for (const author of ["a:b", "", "x y", "%", "é"]) same({ entity: "post", id: "4", data: { author_id: author } }, false);
  same({ entity: "post", id: "a b", data: { author_id: "1" } }, false);
  // A member named `__proto__` (as JSON.parse makes it) is data like any other: a shape of its own.
  for (const [i, answered] of [[1, false], [2, false], [3, true]]) {
    same({ entity: "post", id: String(i), data: JSON.parse(`{"__proto__":{"id":"p${i}"},"author_id":"${i}"}`) }, answered);
  }
  // Other kinds of values are part of the shape: each is a shape of its own, planned anew.
  for (let round = 0; round < 3; round++) {
    for (const literal of [null, true, 1.5]) same({ entity: "post", id: "5", data: { author_id: literal } }, round === 2);
  }
  assert.deepStrictEqual(statsOf(planned), statsOf(wasm));
});

test("changes with before: planned with equal values sharing a stand-in, as wasm answers them", () => {
  const planned = CascadeEngine.fromSchema(BLOG);
  const wasm = CascadeEngine.fromSchema(BLOG, { _noPlan: true });
  for (const e of [planned, wasm]) e.addRule({ entity: "post", onFields: ["title"], cascadeTo: ["search:{id}"] });
  let answered = 0;
  const same = (change) => {
    const before = planned._plannedCascades();
    assert.deepStrictEqual(planned.cascade(change), wasm.cascade(change), JSON.stringify(change));
    answered += planned._plannedCascades() - before;
  };
  // The watcher's update: a moved post (author changed, title kept), then a retitled one, then a
  // title that is the same text as another kind (5 and "5" differ for onFields).
  for (let i = 0; i < 4; i++) same({ entity: "post", id: String(i), data: { author_id: "1", title: "t" }, before: { author_id: "2", title: "t" } });
  for (let i = 0; i < 4; i++) same({ entity: "post", id: String(i), data: { author_id: "1", title: "t" }, before: { author_id: "1", title: "u" } });
  for (let i = 0; i < 4; i++) same({ entity: "post", id: String(i), data: { author_id: "1", title: "5" }, before: { author_id: "1", title: 5 } });
  for (let i = 0; i < 4; i++) same({ entity: "post", id: String(i), data: { author_id: "1", title: 5 }, before: { author_id: "1", title: 5 } });
  // A member `before` lacks is taken as unchanged; a nested one is matched at its own path.
  for (let i = 0; i < 4; i++) same({ entity: "post", id: String(i), data: { author: { id: "3" }, title: "t" }, before: { author: { id: "4" } } });
  assert.ok(answered >= 8, `${answered} answered from plans`);
  assert.deepStrictEqual(statsOf(planned), statsOf(wasm));
});

test("a shape is matched member by member against its entity's last one: any difference is another shape", () => {
  const planned = CascadeEngine.fromSchema(BLOG);
  const wasm = CascadeEngine.fromSchema(BLOG, { _noPlan: true });
  // A key made of a member that may hold an object, a number or a string.
  for (const e of [planned, wasm]) e.addRule({ entity: "post", cascadeTo: ["tagged:{title}"] });
  let id = 0;
  const same = (data) => {
    const change = { entity: "post", id: String(++id), data };
    assert.deepStrictEqual(planned.cascade(change), wasm.cascade(change), JSON.stringify(change));
  };
  const base = () => ({ author_id: String(id), title: {}, extra: { a: "x" }, flag: null });
  const variants = [
    { author_id: null, title: {}, extra: { a: "x" }, flag: null }, // a value's kind
    { author_id: "1", title: 5, extra: { a: "x" }, flag: null }, // an object's kind
    { author_id: "1", title: "", extra: { a: "x" }, flag: null },
    { author_id: "1", title: {}, extra: {}, flag: null }, // a nested member fewer
    { author_id: "1", title: {}, extra: { a: "x", b: "y" }, flag: null }, // one more
    { author_id: "1", title: {}, extra: { b: "x" }, flag: null }, // another name
    { title: {}, author_id: "1", extra: { a: "x" }, flag: null }, // another order
    { author_id: "1", title: {}, extra: { a: "x" }, flag: false }, // another literal
    { author_id: "1", title: {}, extra: { a: "x" } }, // a member fewer
    { author_id: "1", title: {}, extra: { a: "x" }, flag: null, more: "1" },
    { author_id: "1", title: {}, extra: { a: "x" }, flag: null, gone: undefined }, // as the base in JSON
  ];
  // Each variant comes right after the base shape, planned and used: the base is what is matched.
  for (let round = 0; round < 3; round++) {
    for (const variant of variants) {
      for (let i = 0; i < 3; i++) same(base());
      same(variant);
    }
  }
  assert.ok(planned._plannedCascades() > 0, "the base shape was answered from its plan");
  assert.deepStrictEqual(statsOf(planned), statsOf(wasm));
});

test("a condition that reads the data stops plans of changes with data", () => {
  const planned = CascadeEngine.fromSchema(BLOG);
  const wasm = CascadeEngine.fromSchema(BLOG, { _noPlan: true });
  for (const e of [planned, wasm]) e.addRule({ entity: "post", when: { field: "status", eq: "published" }, cascadeTo: ["feed:{author_id}"] });
  for (const status of ["draft", "draft", "published", "draft", "published", "published"]) {
    const change = { entity: "post", id: "1", data: { author_id: "9", status } };
    assert.deepStrictEqual(planned.cascade(change), wasm.cascade(change), status);
  }
  assert.equal(planned._plannedCascades(), 0);
});

test("batches: answered from their changes' plans, as one run of wasm answers them", () => {
  const planned = CascadeEngine.fromSchema(BLOG);
  const wasm = CascadeEngine.fromSchema(BLOG, { _noPlan: true });
  // `post -> user:{author_id}` is an entity key: the cascade goes on from it, a level deeper.
  for (const e of [planned, wasm]) e.addRule({ entity: "post", cascadeTo: ["user:{author_id}"] });
  const batch = (id, author, post) => [
    { entity: "user", id },
    { entity: "post", id: post, data: { author_id: author } },
    { entity: "user", id: author },
  ];
  const same = (changes, answered) => {
    const before = planned._plannedBatches();
    assert.deepStrictEqual(planned.cascadeBatch(changes), wasm.cascadeBatch(changes), JSON.stringify(changes));
    assert.equal(planned._plannedBatches() > before, answered, `${JSON.stringify(changes)} answered from plans`);
  };
  same(batch("1", "2", "3"), false);
  same(batch("4", "5", "6"), false); // the second of each makes its plan
  const set = planned.cascadeBatch(batch("7", "8", "9"));
  assert.deepStrictEqual(set, wasm.cascadeBatch(batch("7", "8", "9")));
  assert.equal(set.depth, 2, "the post's change reaches deeper than the first change's");
  assert.equal(planned._plannedBatches(), 1);
  // Keys shared between changes are listed once, where they first appear.
  same(batch("8", "8", "9"), true);
  // Two keys of one change that are one for these values: wasm answers.
  same([{ entity: "post", id: "author", data: { author_id: "comments" } }], false);
  // Past 8 changes, repeated keys are found by hashing them rather than by pairs of plans.
  same([...batch("1", "2", "3"), ...batch("2", "1", "4"), ...batch("3", "2", "3")], true);
  assert.deepStrictEqual(statsOf(planned), statsOf(wasm));
});

test("batches of changes with big plans find their repeated keys by hashing them", () => {
  const planned = CascadeEngine.fromSchema(fixture("github.graphql"));
  const wasm = CascadeEngine.fromSchema(fixture("github.graphql"), { _noPlan: true });
  // An entity whose set is over the 64 keys plans are paired up to.
  const sizes = new Map();
  for (const r of planned.rules()) {
    const change = { entity: r.entity, id: "0" };
    assert.deepStrictEqual(planned.cascade(change), wasm.cascade(change));
    sizes.set(r.entity, wasm.cascade(change).trace.length);
    planned.cascade(change);
  }
  const [entity] = [...sizes].find(([, n]) => n > 64 && n < 200);
  for (const ids of [["1", "2"], ["3", "4"], ["5", "5"], ["6", "7", "6"]]) {
    const changes = ids.map((id) => ({ entity, id }));
    assert.deepStrictEqual(planned.cascadeBatch(changes), wasm.cascadeBatch(changes), JSON.stringify(changes));
  }
  assert.ok(planned._plannedBatches() > 0, "answered from plans");
  assert.deepStrictEqual(statsOf(planned), statsOf(wasm));
});
