// Which changes a plan can answer for (plans.js), and how they are told apart: a change without
// data (`dataless`), or one with plain data of a known shape (`dataShape`), whose values a plan's
// keys are spelled from. Pure JS: nothing here calls into wasm.

import { OP_CREATE, OP_DELETE, OP_UPDATE } from "./protocol.js";

// `op` of a change as the number `cascadeIdCompact` takes (`src/wasm/protocol.rs`).
export const OPS = { __proto__: null, update: OP_UPDATE, create: OP_CREATE, delete: OP_DELETE };
// The properties a change may have; a change with only these, no data and a well-formed string id
// skips JSON (`cascadeInput` / `cascadeIdCompact`).
const CHANGE_PROPS = { __proto__: null, entity: true, id: true, op: true, data: true, before: true, after: true };

/**
 * Whether a change has a string entity, a string or safe-integer id and nothing else but `op`
 * (well-formedness aside, see `wellFormed`). A safe integer reads as its decimal string in wasm
 * (`Change::from_value`), so such an id is passed as `String(id)`.
 */
export function dataless(change) {
  if (change === null || typeof change !== "object" || Array.isArray(change)) return false;
  const { entity, id, op } = change;
  if (typeof entity !== "string" || entity === "" || (typeof id !== "string" && !Number.isSafeInteger(id))) return false;
  if (op !== undefined && OPS[op] === undefined) return false;
  if (change.data !== undefined || change.before !== undefined || change.after !== undefined) return false;
  for (const k in change) if (CHANGE_PROPS[k] !== true) return false;
  return true;
}

// Most distinct data shapes an engine keeps plans for, and most values and nesting in one shape.
export const MAX_DATA_PLANS = 256;
const MAX_SHAPE_VALUES = 64;
const MAX_SHAPE_DEPTH = 8;

export const isPlainObject = (v) => {
  if (v === null || typeof v !== "object") return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
};

/**
 * The shape of a change with data that a plan can answer for (see `#planData`): a string naming
 * the entity, op and data's structure, with the values a key may take (the id first, then each
 * string or safe-integer value in JSON order) left out as `S` and collected in `values`; other
 * values (`null`, booleans, other numbers) are part of the shape. A change may carry plain
 * `before` data too (the PostgreSQL watcher always does): its structure follows, each of its
 * values either equal (`===`) to the one at the same path of `data` (`E`: it takes that one's
 * stand-in, so keys rendered from both states and `onFields` come out as for the real values) or
 * a new value (`S`, collected after data's). `undefined` for any change that is not an object
 * with a string entity, a string or safe-integer id, an op and plain, array-free `data` (and
 * optionally `before`, and nothing else), which always goes to wasm.
 *
 * `seen` keeps the last shape found per entity and op, compiled into `steps` (see `shapeOf`): a
 * change whose data walks through the same steps has that shape, and is known without building
 * its string (which costs most of a planned cascade).
 */
export function dataShape(change, seen) {
  if (!isPlainObject(change)) return undefined;
  const { entity, id, op, data } = change;
  if (typeof entity !== "string" || entity === "" || (typeof id !== "string" && !Number.isSafeInteger(id))) return undefined;
  if ((op !== undefined && OPS[op] === undefined) || change.after !== undefined) return undefined;
  if (!isPlainObject(data)) return undefined;
  const before = change.before;
  if (before !== undefined && !isPlainObject(before)) return undefined;
  for (const k in change) if (CHANGE_PROPS[k] !== true) return undefined;
  const values = [typeof id === "string" ? id : String(id)];
  const opIndex = op === undefined ? 0 : OPS[op];
  let byOp = seen.get(entity);
  const last = byOp?.[opIndex];
  let entry = last;
  if (last === undefined || walkSteps(data, undefined, last.steps, 0, values) === -1) {
    values.length = 1;
    const steps = [];
    const key = shapeOf(data, undefined, values, 0, steps);
    if (key === undefined) return undefined;
    entry = { key: `${entity}\u0000${op ?? "update"}\u0000${key}`, steps, before: undefined };
    if (byOp === undefined && seen.size < MAX_DATA_PLANS) seen.set(entity, (byOp = [undefined, undefined, undefined]));
    if (byOp !== undefined) byOp[opIndex] = entry;
  }
  if (before === undefined) return { key: entry.key, values };
  // The last `before` shape with this data shape, as its steps: the same key string is reused.
  const count = values.length;
  const lastBefore = entry.before;
  if (lastBefore !== undefined && walkSteps(before, data, lastBefore.steps, 0, values) !== -1) {
    return { key: lastBefore.key, values };
  }
  values.length = count;
  const steps = [];
  const beforeKey = shapeOf(before, data, values, 0, steps);
  if (beforeKey === undefined) return undefined;
  entry.before = { key: `${entry.key}\u0000${beforeKey}`, steps };
  return { key: entry.before.key, values };
}

// In a shape's `steps`, what follows a member's name: a value it takes (a string or safe
// integer), a nested object (its steps follow, then END), or else the literal value itself.
const VALUE = Symbol("value");
const OBJECT = Symbol("object");
const END = Symbol("end");
// In a `before` shape's steps: a value equal to the one at the same path of `data`.
const EQUAL = Symbol("equal");

/**
 * An object's part of a shape (see `dataShape`), its values pushed onto `values` and its walk onto
 * `steps` (pairs of a member's name and what it holds, END after an object's members); undefined
 * if unplannable. `data`'s shape is taken against nothing (`against` undefined); `before`'s
 * against `data`, where a value `===` to the one at the same path becomes `E` (EQUAL) and is not
 * collected again.
 */
function shapeOf(obj, against, values, depth, steps) {
  if (depth > MAX_SHAPE_DEPTH) return undefined;
  const there = isPlainObject(against) ? against : undefined;
  let shape = "{";
  for (const k of Object.keys(obj)) {
    const v = obj[k];
    let part;
    if (typeof v === "string" || Number.isSafeInteger(v)) {
      if (sameAt(there, k, v)) {
        part = "E";
        steps.push(k, EQUAL);
      } else {
        if (values.push(typeof v === "string" ? v : String(v)) > MAX_SHAPE_VALUES) return undefined;
        part = "S";
        steps.push(k, VALUE);
      }
    } else if (v === null || typeof v === "boolean" || typeof v === "number") {
      part = JSON.stringify(v);
      steps.push(k, v);
    } else if (v === undefined || typeof v === "function" || typeof v === "symbol") {
      continue; // JSON leaves such a member out
    } else if (isPlainObject(v)) {
      steps.push(k, OBJECT);
      part = shapeOf(v, there === undefined ? undefined : there[k], values, depth + 1, steps);
      if (part === undefined) return undefined;
    } else {
      return undefined; // arrays, bigints, objects with a toJSON or a class
    }
    // Length-prefixed, so no member name can be read as another's.
    shape += `${k.length}:${k}=${part},`;
  }
  steps.push(END);
  return `${shape}}`;
}

/** Whether the object `there` (or undefined) has the value `v` (`===`) as its own member `k`. */
const sameAt = (there, k, v) => there !== undefined && there[k] === v && Object.prototype.propertyIsEnumerable.call(there, k);

/**
 * Walks `obj` (against `against`, as `shapeOf`) along a shape's `steps` from `at`, pushing its
 * values onto `values` as `shapeOf` does; the index past the steps of `obj`, or -1 where it
 * differs. A literal matches only the same value (`===`), which has the same JSON; anything else
 * is left to `shapeOf`.
 */
function walkSteps(obj, against, steps, at, values) {
  const there = isPlainObject(against) ? against : undefined;
  for (const k of Object.keys(obj)) {
    const v = obj[k];
    if (v === undefined || typeof v === "function" || typeof v === "symbol") continue;
    if (steps[at] !== k) return -1;
    const want = steps[at + 1];
    at += 2;
    if (want === VALUE || want === EQUAL) {
      if (typeof v !== "string" && !Number.isSafeInteger(v)) return -1;
      if (sameAt(there, k, v) !== (want === EQUAL)) return -1;
      if (want === VALUE) values.push(typeof v === "string" ? v : String(v));
    } else if (want === OBJECT) {
      if (!isPlainObject(v)) return -1;
      at = walkSteps(v, there === undefined ? undefined : there[k], steps, at, values);
      if (at < 0) return -1;
    } else if (v !== want) {
      return -1;
    }
  }
  return steps[at] === END ? at + 1 : -1;
}

/**
 * `data` as JSON with its i-th value (counting the id as 0) replaced by `stand(i)`; with
 * `before`, also `before` as JSON, each value `===` to the one at the same path of `data` replaced
 * by that one's stand-in and the others numbered on after data's (as `dataShape` collects them).
 */
export function markedData(data, stand, before) {
  let i = 1;
  const mark = (o) => {
    // No prototype: a member named `__proto__` (which JSON.parse makes) stays a member.
    const out = Object.create(null);
    for (const k of Object.keys(o)) {
      const v = o[k];
      if (typeof v === "string" || Number.isSafeInteger(v)) out[k] = stand(i++);
      else if (isPlainObject(v)) out[k] = mark(v);
      else out[k] = v;
    }
    return out;
  };
  const marked = mark(data);
  if (before === undefined) return [JSON.stringify(marked), undefined];
  const markBefore = (o, d, m) => {
    const there = isPlainObject(d) ? d : undefined;
    const out = Object.create(null);
    for (const k of Object.keys(o)) {
      const v = o[k];
      if (typeof v === "string" || Number.isSafeInteger(v)) {
        out[k] = sameAt(there, k, v) ? m[k] : stand(i++);
      } else if (isPlainObject(v)) {
        out[k] = markBefore(v, there === undefined ? undefined : there[k], there === undefined ? undefined : m[k]);
      } else {
        out[k] = v;
      }
    }
    return out;
  };
  return [JSON.stringify(marked), JSON.stringify(markBefore(before, data, marked))];
}
