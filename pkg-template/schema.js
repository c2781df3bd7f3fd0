// `engine.schema`: what JS needs to know of an engine's schema (its entities by type name and by
// keyspace, their key fields and to-many fields, the delimiter), read from wasm once and shared
// by everything that needs it (the engine's own JS paths, tags.js, yoga.js, pg.js), so none of
// them builds an index of its own. Read-only: the schema of an engine never changes.
import { codedError } from "./errors.js";

/** A Map whose entries are fixed when it is made. */
class ReadOnlyMap extends Map {
  constructor(entries) {
    super();
    for (const [key, value] of entries) super.set(key, value);
  }

  set() {
    throw readOnly();
  }

  delete() {
    throw readOnly();
  }

  clear() {
    throw readOnly();
  }
}

const readOnly = () => codedError("INVALID_ARGUMENT", "engine.schema is read-only");

/**
 * The schema view of `entities` (as `engine.entities()` lists them), `relationships` (as
 * `engine.relationships()`) and the delimiter. An entity is `{ type, keyspace, keyFields,
 * toMany }`, `toMany` naming its to-many relationship fields in the order of `relationships`.
 */
export function buildSchema(entities, relationships, delimiter) {
  const toMany = new Map();
  for (const r of relationships) {
    if (r.cardinality !== "many") continue;
    let fields = toMany.get(r.holder);
    if (fields === undefined) toMany.set(r.holder, (fields = new Set()));
    fields.add(r.field);
  }
  const list = Object.freeze(
    entities.map((e) =>
      Object.freeze({
        type: e.type,
        keyspace: e.keyspace,
        keyFields: Object.freeze([...e.keyFields]),
        toMany: Object.freeze([...(toMany.get(e.type) ?? [])]),
      }),
    ),
  );
  const byType = new ReadOnlyMap(list.map((e) => [e.type, e]));
  const byKeyspace = new ReadOnlyMap(list.map((e) => [e.keyspace, e]));
  // As the core resolves a change's `entity` (`keyed_entity`): a keyspace, else a type name.
  const keyed = new Map(byKeyspace);
  for (const e of list) if (!keyed.has(e.type)) keyed.set(e.type, e);
  const schema = Object.freeze({
    delimiter,
    entities: list,
    byType,
    byKeyspace,
    /** The entity a change's `entity` names: a keyspace, else a type name; undefined for neither. */
    entity: (name) => keyed.get(name),
  });
  lookups.set(schema, keyed);
  return schema;
}

// Per schema, the Map behind `entity(name)`.
const lookups = new WeakMap();

/**
 * The Map behind `schema.entity(name)`, for hot paths (the changesFromMutation walk): one
 * `Map#get` where a call of `entity` costs a few percent of a walk. Not to be changed.
 */
export function entityLookup(schema) {
  return lookups.get(schema);
}

// Schemas of engines that are not CascadeEngines (anything with `entities()`), built once each.
const adopted = new WeakMap();

/**
 * The schema of `engine`: `engine.schema` for a CascadeEngine; for another object with the same
 * `entities()` (and optionally `relationships()` and `toJSON()`), the same view built from them
 * once; undefined for anything else.
 */
export function schemaOf(engine) {
  if (engine === null || typeof engine !== "object") return undefined;
  const own = engine.schema;
  if (own !== undefined) return own;
  if (typeof engine.entities !== "function") return undefined;
  let schema = adopted.get(engine);
  if (schema === undefined) {
    const relationships = typeof engine.relationships === "function" ? engine.relationships() : [];
    const delimiter = typeof engine.toJSON === "function" ? engine.toJSON().delimiter ?? ":" : ":";
    schema = buildSchema(engine.entities(), relationships, delimiter);
    adopted.set(engine, schema);
  }
  return schema;
}
