// changesFromMutation against the table of cases the Rust core is held to as well
// (tests/fixtures/mutation-cases.json; tests/mutation_cases.rs reads the same file): each case
// through the JS walk (pkg mutation.js, a default engine) and through wasm's (a `_noPlan` engine,
// which always sends the response's JSON text), through the built package.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { CascadeEngine } from "../../pkg/node.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const table = JSON.parse(readFileSync(join(root, "tests", "fixtures", "mutation-cases.json"), "utf8"));

/** The engines of a schema of the table: the JS walk's and wasm's. */
function engines(name) {
  const schema = table.schemas[name];
  const sdl = schema.file !== undefined ? readFileSync(join(root, schema.file), "utf8") : schema.sdl;
  const options = schema.options ?? {};
  return { js: CascadeEngine.fromSchema(sdl, options), wasm: CascadeEngine.fromSchema(sdl, { ...options, _noPlan: true }) };
}

/** A case's response: as given, or its `nest` built (the leaf `levels` deep under data[field]). */
function responseOf(c) {
  if (c.nest === undefined) return c.response;
  const { field, levels, in: kind, leaf } = c.nest;
  let v = leaf;
  for (let i = 1; i < levels; i++) v = kind === "list" ? [v] : { inner: v };
  return { data: { [field]: v } };
}

/** Every object and list in `v`, to tell the response's own objects from copies. */
function parts(v, out = new Set()) {
  if (v !== null && typeof v === "object") {
    out.add(v);
    for (const child of Object.values(v)) parts(child, out);
  }
  return out;
}

function outcome(engine, response) {
  try {
    return { changes: engine.changesFromMutation(response) };
  } catch (error) {
    return { code: error.code };
  }
}

const bySchema = new Map();
for (const c of table.cases) {
  test(`${c.schema}: ${c.name}`, () => {
    if (!bySchema.has(c.schema)) bySchema.set(c.schema, engines(c.schema));
    const { js, wasm } = bySchema.get(c.schema);
    const response = responseOf(c);
    for (const [walk, engine] of [["JS", js], ["wasm", wasm]]) {
      const got = outcome(engine, response);
      if (c.code !== undefined) {
        assert.deepEqual(got, { code: c.code }, `${walk} walk`);
        continue;
      }
      assert.equal(got.code, undefined, `${walk} walk threw ${got.code}`);
      const expected = c.changes.map((e) => (Array.isArray(e) ? { entity: e[0], id: e[1], op: e[2] } : e));
      const summary = got.changes.map(({ entity, id, op, data }, i) =>
        expected[i]?.data === undefined ? { entity, id, op } : { entity, id, op, data });
      assert.deepEqual(summary, expected, `${walk} walk`);
      for (const change of got.changes) assert.equal(typeof change.data, "object", `${walk} walk: data of ${change.id}`);
    }
    // Plain JSON data is walked in JS: a change's data is the response's own object, not a copy.
    const own = parts(response);
    for (const change of outcome(js, response).changes ?? []) {
      assert.ok(own.has(change.data), `the JS walk answered for ${change.entity} ${change.id}`);
    }
  });
}
