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
  const out = [];
  const seen = new Map();
  for (const field of Object.keys(root)) {
    if (!walk(root[field], opForField(field), 0, entities, out, seen, delimiter)) return undefined;
  }
  return out;
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
function walk(v, op, depth, entities, out, seen, delimiter) {
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
      if (!walk(v[i], op, depth + 1, entities, out, seen, delimiter)) return false;
    }
    return true;
  }
  if (!isJsonObject(v)) return false;
  let childOp = op;
  const typename = member(v, "__typename");
  // Not a string, so not an entity, unless its JSON would be one (`toJSON`).
  if (typename !== null && typeof typename === "object") return false;
  // As a change's entity: a keyspace first, then a type name (`keyed_entity`).
  const entity = typeof typename === "string" ? entities.get(typename) : undefined;
  if (entity !== undefined && entity.keyFields.length > 0) {
    const parts = [];
    for (const field of entity.keyFields) {
      const part = scalarText(Object.hasOwn(v, field) ? member(v, field) : null);
      if (part === undefined) return false;
      if (part === null) break;
      parts.push(part);
    }
    // A composite key's id is its segment form (SPEC §2): each value encoded, joined by `,`.
    const complete = parts.length === entity.keyFields.length;
    const id = !complete ? null : parts.length === 1 ? parts[0] : joinKeyParts(parts, delimiter);
    if (id !== null) {
      const key = `${entity.keyspace}\n${id}`;
      const at = seen.get(key);
      if (at !== undefined) {
        // A deletion anywhere in the response wins over an update.
        if (op === "delete") out[at].op = "delete";
      } else {
        seen.set(key, out.length);
        out.push({ entity: entity.keyspace, id, op, data: v });
      }
      childOp = "update";
    }
  }
  for (const k of Object.keys(v)) {
    if (k !== "__typename" && !walk(v[k], childOp, depth + 1, entities, out, seen, delimiter)) return false;
  }
  return true;
}
