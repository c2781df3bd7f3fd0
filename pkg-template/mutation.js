// changesFromMutation walked in JS: the Rust core's walk (`changes_from_response`), without the
// response crossing into wasm as JSON both ways. Both walks are held to one table of cases
// (tests/fixtures/mutation-cases.json: tests/js/mutation-cases.test.mjs, tests/mutation_cases.rs),
// and to each other on random responses (tests/js/mutation.test.mjs).
import { joinKeyParts } from "./encoding.js";
import { MAX_RESPONSE_DEPTH } from "./protocol.js";
import { isPlainObject } from "./shapes.js";

/** A plain object whose JSON is its members (no `toJSON`). */
const isJsonObject = (v) => isPlainObject(v) && typeof v.toJSON !== "function";

/** `v[k]` if JSON.stringify writes it (an own enumerable member), else undefined. */
const member = (v, k) => (Object.prototype.propertyIsEnumerable.call(v, k) ? v[k] : undefined);

/**
 * The entity changes in `response` as the Rust core finds them, `entities` naming each entity
 * by keyspace, then by type name (`entityLookup` of `engine.schema`); undefined when wasm must decide: anything that is not plain JSON data (its
 * JSON text could differ from what is walked here: `undefined`, functions, `toJSON`, class
 * instances, non-finite numbers, strings that are not well-formed), a depth at the limit, and
 * every error. A change's `data` is the response's own object.
 */
export function changesFromResponse(response, entities, delimiter = ":") {
  if (!isJsonObject(response)) return undefined;
  let root = response;
  if (Object.hasOwn(response, "data")) {
    root = member(response, "data");
    if (root === null) return [];
    if (!isJsonObject(root)) return undefined;
  }
  // What every level of the walk shares: one argument instead of four.
  const walk = { entities, delimiter, out: [], seen: new Map() };
  for (const field of Object.keys(root)) {
    if (!walkValue(root[field], opForField(field), 0, walk)) return undefined;
  }
  return walk.out;
}

/** The op of the entities under a top-level field, from its name (`op_for_field`). */
function opForField(field) {
  // Without the `u` flag, `i` never folds a non-ASCII char to ASCII: Rust's ASCII lowercasing.
  if (/^(delete|remove|destroy|archive)/i.test(field)) return "delete";
  if (/^(create|add|insert|new)/i.test(field)) return "create";
  return "update";
}

/**
 * The core's `to_scalar_string` for a key field's value: strings as they are, numbers as JS
 * writes them (wasm writes them so too), booleans as words; null for anything else, undefined
 * when wasm must decide.
 */
function scalarText(v) {
  switch (typeof v) {
    case "string":
      return v.isWellFormed() ? v : undefined;
    case "number":
      return Number.isFinite(v) ? String(v) : undefined;
    case "boolean":
      return v ? "true" : "false";
    default:
      return v === null || isJsonObject(v) || Array.isArray(v) ? null : undefined;
  }
}

/**
 * The core's `walk`; returns false when wasm must decide (see `changesFromResponse`). Only own
 * enumerable members are read, in `Object.keys` order: what JSON.stringify would write.
 */
function walkValue(v, op, depth, walk) {
  switch (typeof v) {
    case "string":
      return v.isWellFormed();
    case "number":
      return Number.isFinite(v);
    case "boolean":
      return true;
    case "object":
      break;
    default:
      return false;
  }
  if (v === null) return true;
  if (depth >= MAX_RESPONSE_DEPTH) return false;
  if (Array.isArray(v)) {
    if (Object.getPrototypeOf(v) !== Array.prototype) return false;
    for (let i = 0; i < v.length; i++) {
      if (!walkValue(v[i], op, depth + 1, walk)) return false;
    }
    return true;
  }
  if (!isJsonObject(v)) return false;
  let childOp = op;
  const typename = member(v, "__typename");
  // Not a string, so not an entity, unless its JSON would be one (`toJSON`).
  if (typename !== null && typeof typename === "object") return false;
  // As a change's entity: a keyspace first, then a type name (`keyed_entity`).
  const entity = typeof typename === "string" ? walk.entities.get(typename) : undefined;
  if (entity !== undefined && entity.keyFields.length > 0) {
    const fields = entity.keyFields;
    let id;
    if (fields.length === 1) {
      // The common case, without an array per entity: null when the response has no id.
      id = scalarText(Object.hasOwn(v, fields[0]) ? member(v, fields[0]) : null);
      if (id === undefined) return false;
    } else {
      const parts = [];
      for (const field of fields) {
        const part = scalarText(Object.hasOwn(v, field) ? member(v, field) : null);
        if (part === undefined) return false;
        if (part === null) break;
        parts.push(part);
      }
      // A composite key's id is its segment form (SPEC §2): each value encoded, joined by `,`.
      id = parts.length === fields.length ? joinKeyParts(parts, walk.delimiter) : null;
    }
    if (id !== null) {
      const key = `${entity.keyspace}\n${id}`;
      const at = walk.seen.get(key);
      if (at !== undefined) {
        // A deletion anywhere in the response wins over an update.
        if (op === "delete") walk.out[at].op = "delete";
      } else {
        walk.seen.set(key, walk.out.length);
        walk.out.push({ entity: entity.keyspace, id, op, data: v });
      }
      childOp = "update";
    }
  }
  for (const k of Object.keys(v)) {
    if (k !== "__typename" && !walkValue(v[k], childOp, depth + 1, walk)) return false;
  }
  return true;
}
