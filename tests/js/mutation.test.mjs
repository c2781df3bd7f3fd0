// changesFromMutation walked in JS (pkg-template/mutation.js) against wasm's walk
// (src/mutation.rs, on the response's JSON text, which a `_noPlan` engine always takes): seeded
// random responses over the blog schema, SWAPI and GitHub, with entity and unknown typenames,
// key fields of every JSON type, nested lists and objects, op-bearing field names, responses
// near the depth limit, and values that are not plain JSON data. Every result and error must be
// the same.
//
// MUTATION_SEED=n replays one seed.
import assert from "node:assert/strict";
import { test } from "node:test";
import { CascadeEngine } from "../../pkg/node.js";
import { prng } from "./support/blog-db.mjs";
import { BLOG, fixture } from "./support/schemas.mjs";

const SEEDS = process.env.MUTATION_SEED !== undefined ? [Number(process.env.MUTATION_SEED)] : [1, 2, 3];
const RESPONSES = 400;

const SCHEMAS = {
  blog: BLOG,
  swapi: fixture("swapi.graphql"),
  github: fixture("github.graphql"),
  // Composite keys (`@key`), and (with KEYSPACES) a type whose keyspace is another type's name.
  composite: `
    type Order @key(fields: "shop number") { shop: String! number: Int! lines: [Line!]! buyer: User }
    type Line @key(fields: "order_id sku") { order_id: ID! sku: String! }
    type User { id: ID! orders: [Order!]! }
    type Query { order(shop: String!, number: Int!): Order }`,
};
// `Line` is cached under the keyspace `User`: a `__typename` of "User" names Line, not User.
const KEYSPACES = { composite: { Line: "User" } };

class Box {
  constructor(v) {
    this.v = v;
  }
}

/** Everything both walks must agree on: the result, or the error's code and message. */
function outcome(engine, response) {
  try {
    return { changes: engine.changesFromMutation(response) };
  } catch (error) {
    return { code: error.code, message: error.message };
  }
}

function scalar(rng) {
  return rng.pick([
    () => String(rng.int(20)),
    () => rng.int(20),
    () => rng.pick([-0, 1.5, 1e15, 1e21, 2 ** 53 + 2, -7, 0.1]),
    () => rng.pick([true, false, null]),
    () => rng.pick(["", "a,b", "x:y", "日本", "🙂", "a\nb", "%41"]),
  ])();
}

/** A value that is not plain JSON data, for the fallback to wasm. */
function odd(rng) {
  return rng.pick([
    () => undefined,
    () => NaN,
    () => Infinity,
    () => new Date(0),
    () => new Box(1),
    () => new Map(),
    () => () => 1,
    () => "\ud800",
    () => Object.create(null),
    () => ({ toJSON: () => "x" }),
    () => [1, , 3], // eslint-disable-line no-sparse-arrays
    // A member JSON.stringify does not write (not enumerable), named like a key field.
    () => Object.defineProperty({ __typename: "Post", n: 1 }, "id", { value: "7", enumerable: false }),
    () => Object.defineProperty({ id: "7" }, "__typename", { value: "User", enumerable: false }),
  ])();
}

function randomResponse(rng, entities) {
  const names = [...entities.flatMap((e) => [e.type, e.keyspace]), "Unknown", "Query"];
  const fields = entities.flatMap((e) => e.keyFields);
  const oddRate = rng.next() < 0.3 ? 0.05 : 0;
  const object = (depth) => {
    const o = {};
    if (rng.next() < 0.8) o.__typename = rng.next() < 0.95 ? rng.pick(names) : rng.pick([7, null, { a: 1 }]);
    const keys = rng.next() < 0.9 ? rng.pick(entities)?.keyFields ?? [] : [];
    for (const k of [...keys, ...Array.from({ length: rng.int(3) }, () => rng.pick(fields) ?? "id")]) {
      if (rng.next() < 0.9) o[k] = rng.next() < 0.85 ? scalar(rng) : value(depth + 1);
    }
    for (let i = rng.int(3); i > 0; i--) o[rng.pick(["title", "author", "items", "node", "edges", "n"])] = value(depth + 1);
    if (rng.next() < oddRate) o.odd = odd(rng);
    return o;
  };
  const value = (depth) => {
    if (depth > 4 || rng.next() < 0.35) return rng.next() < oddRate ? odd(rng) : scalar(rng);
    return rng.next() < 0.4 ? Array.from({ length: rng.int(4) }, () => value(depth + 1)) : object(depth);
  };
  const data = {};
  for (let i = rng.int(3) + 1; i > 0; i--) {
    const field = rng.pick(["createPost", "AddUser", "deleteFilm", "REMOVE", "archiveIt", "insertX", "newThing", "update", "node", "destroyAll"]);
    data[`${field}${i}`] = value(0);
  }
  // Now and then the same entity twice, under a deleting field and another.
  if (rng.next() < 0.3) {
    const again = object(0);
    data.deleteAgain = again;
    data.touchAgain = { ...again };
  }
  return rng.pick([
    () => ({ data }),
    () => data,
    () => ({ data, errors: [{ message: "partial" }] }),
    () => ({ data: null }),
    () => ({ data: rng.pick([[], "x", 3, undefined]) }),
  ])();
}

function nested(depth) {
  let v = { __typename: "Post", id: "1" };
  for (let i = 0; i < depth; i++) v = i % 2 ? [v] : { inner: v };
  return { data: { updatePost: v } };
}

for (const [name, sdl] of Object.entries(SCHEMAS)) {
  test(`${name}: changesFromMutation in JS gives what wasm gives`, () => {
    const keyspaces = KEYSPACES[name] ?? {};
    const js = CascadeEngine.fromSchema(sdl, { keyspaces });
    const wasm = CascadeEngine.fromSchema(sdl, { keyspaces, _noPlan: true });
    const entities = js.entities();
    let walked = 0;
    for (const seed of SEEDS) {
      const rng = prng(seed);
      for (let i = 0; i < RESPONSES; i++) {
        const response = randomResponse(rng, entities);
        const got = outcome(js, response);
        // A JS walk's data is the response's own objects: compared as their JSON (`-0` is `0`).
        assert.deepEqual(JSON.parse(JSON.stringify(got)), outcome(wasm, response), `seed ${seed}, response ${i}: ${JSON.stringify(response)}`);
        // The JS walk answered (its data is the response's own object), not only wasm.
        const first = got.changes?.[0];
        if (first !== undefined && typeof response.data === "object" && Object.values(response.data).includes(first.data)) walked++;
      }
    }
    assert.ok(walked > SEEDS.length * 10, `the JS walk answered only ${walked} responses`);
    // At and around the depth limit (64): wasm refuses, and the JS walk leaves it to wasm.
    for (const depth of [60, 62, 63, 64, 65, 70]) {
      assert.deepEqual(outcome(js, nested(depth)), outcome(wasm, nested(depth)), `depth ${depth}`);
    }
  });
}

test("the JS walk hands wasm what it cannot read as JSON, and a freed engine refuses", () => {
  const engine = CascadeEngine.fromSchema(SCHEMAS.blog);
  const post = { __typename: "Post", id: 9, title: "t", author: { __typename: "User", id: "3" } };
  const changes = engine.changesFromMutation({ data: { createPost: post } });
  assert.deepEqual(changes, [
    { entity: "post", id: "9", op: "create", data: post },
    { entity: "user", id: "3", op: "update", data: post.author },
  ]);
  assert.equal(changes[0].data, post, "plain data is walked here: data is the response's object");
  const dated = { ...post, at: new Date(0) };
  const viaWasm = engine.changesFromMutation({ data: { createPost: dated } });
  assert.notEqual(viaWasm[0].data, dated);
  assert.equal(viaWasm[0].data.at, "1970-01-01T00:00:00.000Z");
  assert.throws(() => engine.changesFromMutation({ data: { x: 10n } }), { code: "INVALID_ARGUMENT" });
  engine.free();
  assert.throws(() => engine.changesFromMutation({ data: { createPost: post } }), { code: "USE_AFTER_FREE" });
});
