// The public JS API of cascade-edge (SPEC §8), shared by every runtime entry.
// It only converts arguments and results: structured data crosses into wasm as JSON text, and
// every failure surfaces as an Error with a stable `code`. Nothing here calls into wasm at module
// top level, since entries initialise the module after importing this file.
import { WasmEngine, WasmLru, takePanic, textBuffer, version as wasmVersion, wasmMemory } from "./cascade_edge.js";

export { planPurge, purgeKv, purgeCache, purgeCloudflare, purgeFastly, keyCovers } from "./purge.js";

/** The version of the cascade-edge build. */
export function version() {
  return call(wasmVersion);
}

function codedError(code, message) {
  const error = new Error(message);
  error.code = code;
  return error;
}

/** The error of any call on an object after its `free()`. */
function useAfterFree(what) {
  return codedError("USE_AFTER_FREE", `this ${what} was freed: free() released its wasm memory; make a new ${what}`);
}

/**
 * What a freed object holds instead of its wasm object: every method throws USE_AFTER_FREE, so
 * no call can reach freed wasm memory.
 */
function freedInner(what) {
  return new Proxy({}, { get: () => () => { throw useAfterFree(what); } });
}

// Errors thrown by wasm already carry `code`; a trap is a bug in cascade-edge and becomes INTERNAL
// with the panic's message; anything else (a JS TypeError from a cyclic object, say) becomes
// INVALID_ARGUMENT so callers can rely on `code` always being present.
function call(fn) {
  try {
    return fn();
  } catch (error) {
    throw coded(error);
  }
}

/**
 * The error to throw for one that came out of wasm: coded errors as they are, traps as INTERNAL,
 * and any error while the wasm is not loaded as NOT_INITIALIZED.
 */
function coded(error) {
  if (error instanceof Error && typeof error.code === "string") return error;
  if (!loaded()) {
    return codedError(
      "NOT_INITIALIZED",
      "cascade-edge's wasm is not loaded: with the browser entry, `await init()` before using the API; " +
        "cascade-edge/yoga needs `cascade-edge` imported first, cascade-edge/edge/yoga `cascade-edge/edge`",
    );
  }
  if (error instanceof WebAssembly.RuntimeError) {
    const detail = takePanic() ?? error.message;
    return codedError("INTERNAL", `${detail}. The object that was in use may be unusable: create a new one.`);
  }
  return codedError("INVALID_ARGUMENT", error instanceof Error ? error.message : String(error));
}

/** Whether an entry has loaded the wasm (only asked on the way to an error). */
function loaded() {
  try {
    wasmMemory();
    return true;
  } catch {
    return false;
  }
}

function toJson(value, what) {
  let text;
  try {
    text = JSON.stringify(value);
  } catch (error) {
    throw codedError("INVALID_ARGUMENT", `${what} cannot be converted to JSON: ${error.message}`);
  }
  if (text === undefined) throw codedError("INVALID_ARGUMENT", `${what} must be a JSON value, not ${typeof value}`);
  return text;
}

function requireString(value, what) {
  if (typeof value !== "string") {
    throw codedError("INVALID_ARGUMENT", `${what} must be a string, not ${value === null ? "null" : typeof value}`);
  }
  return value;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

// wasm-bindgen turns a lone surrogate into U+FFFD on the way in, so "\uD800", "\uDFFF" and "\uFFFD"
// would all be one cache key. Refuse them instead of aliasing.
function requireKey(value, what) {
  requireString(value, what);
  if (typeof value.isWellFormed === "function" ? !value.isWellFormed() : LONE_SURROGATE.test(value)) {
    throw codedError("INVALID_KEY", `${what} contains a lone UTF-16 surrogate; keys must be well-formed Unicode`);
  }
  return value;
}

const now = () => (typeof performance !== "undefined" ? performance.now() : Date.now());

function loggerFor(options) {
  if (typeof options.logger === "function") return options.logger;
  if (options.verbose) return (line) => console.log(line);
  return undefined;
}

function engineOptions(options) {
  if (options === undefined || options === null) return {};
  if (typeof options !== "object") throw codedError("INVALID_OPTIONS", "options must be an object");
  if (options.logger !== undefined && typeof options.logger !== "function") {
    throw codedError("INVALID_OPTIONS", "`logger` must be a function receiving one line of text");
  }
  return options;
}

// `op` of a change as the number `cascadeIdCompact` takes.
const OPS = { __proto__: null, update: 0, create: 1, delete: 2 };
// The properties a change may have; a change with only these, no data and a well-formed string id
// skips JSON (`cascadeInput` / `cascadeIdCompact`).
const CHANGE_PROPS = { __proto__: null, entity: true, id: true, op: true, data: true, before: true, after: true };

/**
 * Whether a change has a string entity, a string or safe-integer id and nothing else but `op`
 * (well-formedness aside, see `wellFormed`). A safe integer reads as its decimal string in wasm
 * (`Change::from_value`), so such an id is passed as `String(id)`.
 */
function dataless(change) {
  if (change === null || typeof change !== "object" || Array.isArray(change)) return false;
  const { entity, id, op } = change;
  if (typeof entity !== "string" || entity === "" || (typeof id !== "string" && !Number.isSafeInteger(id))) return false;
  if (op !== undefined && OPS[op] === undefined) return false;
  if (change.data !== undefined || change.before !== undefined || change.after !== undefined) return false;
  for (const k in change) if (CHANGE_PROPS[k] !== true) return false;
  return true;
}

// Most distinct data shapes an engine keeps plans for, and most values and nesting in one shape.
const MAX_DATA_PLANS = 256;
const MAX_SHAPE_VALUES = 64;
const MAX_SHAPE_DEPTH = 8;

const isPlainObject = (v) => {
  if (v === null || typeof v !== "object") return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
};

/**
 * The shape of a change with data that a plan can answer for (see `#planData`): a string naming
 * the entity, op and data's structure, with the values a key may take (the id first, then each
 * string or safe-integer value in JSON order) left out as `S` and collected in `values`; other
 * values (`null`, booleans, other numbers) are part of the shape. `undefined` for any change that
 * is not an object with a string entity, a string or safe-integer id, an op and plain, array-free
 * `data` (and nothing else), which always goes to wasm.
 *
 * `seen` keeps the last shape found per entity and op, compiled into `steps` (see `shapeOf`): a
 * change whose data walks through the same steps has that shape, and is known without building
 * its string (which costs most of a planned cascade).
 */
function dataShape(change, seen) {
  if (!isPlainObject(change)) return undefined;
  const { entity, id, op, data } = change;
  if (typeof entity !== "string" || entity === "" || (typeof id !== "string" && !Number.isSafeInteger(id))) return undefined;
  if ((op !== undefined && OPS[op] === undefined) || change.before !== undefined || change.after !== undefined) return undefined;
  if (!isPlainObject(data)) return undefined;
  for (const k in change) if (CHANGE_PROPS[k] !== true) return undefined;
  const values = [typeof id === "string" ? id : String(id)];
  const opIndex = op === undefined ? 0 : OPS[op];
  let byOp = seen.get(entity);
  const last = byOp?.[opIndex];
  if (last !== undefined && walkSteps(data, last.steps, 0, values) !== -1) return { key: last.key, values };
  values.length = 1;
  const steps = [];
  const key = shapeOf(data, values, 0, steps);
  if (key === undefined) return undefined;
  const shape = { key: `${entity}\u0000${op ?? "update"}\u0000${key}`, values };
  if (byOp === undefined && seen.size < MAX_DATA_PLANS) seen.set(entity, (byOp = [undefined, undefined, undefined]));
  if (byOp !== undefined) byOp[opIndex] = { key: shape.key, steps };
  return shape;
}

// In a shape's `steps`, what follows a member's name: a value it takes (a string or safe
// integer), a nested object (its steps follow, then END), or else the literal value itself.
const VALUE = Symbol("value");
const OBJECT = Symbol("object");
const END = Symbol("end");

/**
 * `data`'s part of a shape (see `dataShape`), its values pushed onto `values` and its walk onto
 * `steps` (pairs of a member's name and what it holds, END after an object's members);
 * undefined if unplannable.
 */
function shapeOf(data, values, depth, steps) {
  if (depth > MAX_SHAPE_DEPTH) return undefined;
  let shape = "{";
  for (const k of Object.keys(data)) {
    const v = data[k];
    let part;
    if (typeof v === "string" || Number.isSafeInteger(v)) {
      if (values.push(typeof v === "string" ? v : String(v)) > MAX_SHAPE_VALUES) return undefined;
      part = "S";
      steps.push(k, VALUE);
    } else if (v === null || typeof v === "boolean" || typeof v === "number") {
      part = JSON.stringify(v);
      steps.push(k, v);
    } else if (v === undefined || typeof v === "function" || typeof v === "symbol") {
      continue; // JSON leaves such a member out
    } else if (isPlainObject(v)) {
      steps.push(k, OBJECT);
      part = shapeOf(v, values, depth + 1, steps);
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

/**
 * Walks `data` along a shape's `steps` from `at`, pushing its values onto `values` as `shapeOf`
 * does; the index past the steps of `data`, or -1 where it differs. A literal matches only the
 * same value (`===`), which has the same JSON; anything else is left to `shapeOf`.
 */
function walkSteps(data, steps, at, values) {
  for (const k of Object.keys(data)) {
    const v = data[k];
    if (v === undefined || typeof v === "function" || typeof v === "symbol") continue;
    if (steps[at] !== k) return -1;
    const want = steps[at + 1];
    at += 2;
    if (want === VALUE) {
      if (typeof v === "string") values.push(v);
      else if (Number.isSafeInteger(v)) values.push(String(v));
      else return -1;
    } else if (want === OBJECT) {
      if (!isPlainObject(v)) return -1;
      at = walkSteps(v, steps, at, values);
      if (at < 0) return -1;
    } else if (v !== want) {
      return -1;
    }
  }
  return steps[at] === END ? at + 1 : -1;
}

/** `data` as JSON with its i-th value (counting the id as 0) replaced by `stand(i)`. */
function markedData(data, stand) {
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
  return JSON.stringify(mark(data));
}

/**
 * The cascade set (as #expand builds it) a plan gives once its keys are spelled out (`texts`, in
 * trace order); undefined when two keys that may meet (the plan's `pairs`) are one.
 */
function planSet(plan, texts) {
  if (keysMeet(plan, texts)) return undefined;
  const { n, rules, from, depths, coarse, pattern } = plan;
  const keys = [];
  const patterns = [];
  const trace = new Array(n);
  for (let i = 0; i < n; i++) {
    const key = texts[i];
    if (pattern[i] === 1) patterns.push(key);
    else keys.push(key);
    const f = from[i];
    trace[i] = { key, rule: rules[i], from: f < 0 ? null : texts[f], depth: depths[i], coarse: coarse[i] === 1 };
  }
  const tags = new Array(n);
  let k = 0;
  for (const t of keys) tags[k++] = t;
  for (const t of patterns) tags[k++] = t;
  return { keys, patterns, tags, trace, depth: plan.depth, truncated: plan.truncated };
}

/** Whether two of a plan's keys that may meet (its `pairs`) are one, spelled out as `texts`. */
function keysMeet(plan, texts) {
  const pairs = plan.pairs;
  for (let k = 0; k < pairs.length; k += 2) {
    if (texts[pairs[k]] === texts[pairs[k + 1]]) return true;
  }
  return false;
}

/**
 * Per key, its segments with `null` for each segment a value goes into, from its fixed texts
 * between the values (`literals[i]`). Values hold no delimiter and are never empty (plans answer
 * for no others), so where segments start depends on the fixed text alone: two keys can be one
 * only if they have as many segments and agree on every segment that has no value.
 */
function valueSegments(literals, delimiter) {
  const d = String.fromCodePoint(delimiter);
  return literals.map((texts) => texts.join("\u0000").split(d).map((seg) => (seg.includes("\u0000") ? null : seg)));
}

/** Whether keys of segments `a` and `b` (see `valueSegments`) can be one key for some values. */
const segmentsMayMeet = (a, b) => a.length === b.length && a.every((seg, k) => seg === null || b[k] === null || seg === b[k]);

// Batches of at most this many changes find their repeated keys through `crossPairs` when their
// plans have at most MAX_CROSS_KEYS keys (the pairs of two plans are found once, then kept on
// the first, for at most MAX_CROSS_PLANS others); other batches through a Set.
const MAX_PAIRED_BATCH = 8;
const MAX_CROSS_KEYS = 64;
const MAX_CROSS_PLANS = 64;

/**
 * Pairs [i, j, …] of a key of plan `a` and a key of plan `b` that some values could make one key
 * (no other pair ever is), or null when the plans are too big to pair.
 */
function crossPairs(a, b) {
  const known = a.cross?.get(b);
  if (known !== undefined) return known;
  let pairs = null;
  if (a.n <= MAX_CROSS_KEYS && b.n <= MAX_CROSS_KEYS) {
    pairs = [];
    for (let i = 0; i < a.n; i++) {
      for (let j = 0; j < b.n; j++) if (segmentsMayMeet(a.segments[i], b.segments[j])) pairs.push(i, j);
    }
  }
  if ((a.cross ??= new Map()).size < MAX_CROSS_PLANS) a.cross.set(b, pairs);
  return pairs;
}

/**
 * For a batch answered from `plans` with keys `texts`, per change the keys an earlier change
 * already has (1 at their index, or null for none); undefined when two plans cannot be paired.
 */
function repeatedKeys(plans, texts) {
  const repeated = new Array(plans.length).fill(null);
  for (let c = 1; c < plans.length; c++) {
    const later = texts[c];
    for (let e = 0; e < c; e++) {
      const pairs = crossPairs(plans[e], plans[c]);
      if (pairs === null) return undefined;
      const earlier = texts[e];
      for (let k = 0; k < pairs.length; k += 2) {
        if (earlier[pairs[k]] === later[pairs[k + 1]]) (repeated[c] ??= new Uint8Array(plans[c].n))[pairs[k + 1]] = 1;
      }
    }
  }
  return repeated;
}

// wasm-bindgen would turn a lone surrogate into U+FFFD: such a change goes through JSON instead.
function wellFormed(entity, id) {
  return typeof id.isWellFormed === "function" ? id.isWellFormed() && entity.isWellFormed() : !LONE_SURROGATE.test(id + entity);
}

// Without a logger, one cascade in this many is timed for `stats().averageTimeMs` (see #compact).
const TIME_EVERY = 16;
// A key is at most this many bytes (`MAX_KEY_LEN` in src/keys.rs).
const MAX_KEY_LEN = 1024;
// Most pairs of a plan's keys that could be equal for some id, compared on each planned cascade;
// a plan with more is not used.
const MAX_PLAN_PAIRS = 64;
// A plan's key that counts no stats edge (`NO_EDGE` in src/engine.rs).
const NO_EDGE = 0xffffffff;

// The size of an engine's input buffer; a longer entity + id (a key is at most 1024 bytes) passes
// strings instead.
const INPUT_SIZE = 2048;

// The wasm memory (fetched on first use: instantiation may come after this module loads) and a
// u32 view of it, shared by every engine.
let memory;
let u32View = new Uint32Array(0);
let u8View = new Uint8Array(0);
// As wasm-bindgen's: a leading U+FEFF is part of the text.
const decoder = new TextDecoder("utf-8", { ignoreBOM: true });
const encoder = new TextEncoder();

/**
 * The shapes of planned keys given as their text split where the id goes, what `mayMeet`
 * compares first: per key, its id count, literal length and the delimiters in its literal text,
 * at 3 × its index.
 */
function keyShapes(keys, delimiter) {
  const shapes = new Int32Array(3 * keys.length);
  keys.forEach((parts, k) => {
    let length = 0;
    let delimiters = 0;
    for (const s of parts) {
      length += s.length;
      for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) === delimiter) delimiters++;
    }
    shapes[3 * k] = parts.length - 1;
    shapes[3 * k + 1] = length;
    shapes[3 * k + 2] = delimiters;
  });
  return shapes;
}

/**
 * Whether planned keys `i` and `j` (`parts`: their text split where the id goes; `shapes`: from
 * `keyShapes`) can be the same text for some plain id (one without the delimiter) of 1 to
 * `maxIdLength` characters. A necessary condition, not a proof: a pair it lets through is
 * compared on every planned cascade.
 */
function mayMeet(parts, shapes, i, j, maxIdLength) {
  const ka = shapes[3 * i];
  const kb = shapes[3 * j];
  if (ka === 0 && kb === 0) return false; // two different literal keys
  // An id has no delimiter: both keys have the delimiters of their literal text.
  if (shapes[3 * i + 2] !== shapes[3 * j + 2]) return false;
  const la = shapes[3 * i + 1];
  const lb = shapes[3 * j + 1];
  // The lengths la + ka·L and lb + kb·L must agree for an id length L.
  if (ka === kb) {
    if (la !== lb) return false;
  } else {
    const L = (lb - la) / (ka - kb);
    if (!Number.isInteger(L) || L < 1 || L > maxIdLength) return false;
  }
  const a = parts[i];
  const b = parts[j];
  const a0 = a[0];
  const b0 = b[0];
  const a1 = a[ka];
  const b1 = b[kb];
  return (a0.startsWith(b0) || b0.startsWith(a0)) && (a1.endsWith(b1) || b1.endsWith(a1));
}

// --- changesFromMutation in JS: src/mutation.rs, line for line ----------------------------------

// MAX_RESPONSE_DEPTH in src/mutation.rs: deeper responses go to wasm, which refuses them.
const MAX_RESPONSE_DEPTH = 64;

/** A plain object whose JSON is its members (no `toJSON`). */
const isJsonObject = (v) => isPlainObject(v) && typeof v.toJSON !== "function";

/** `v[k]` if JSON.stringify writes it (an own enumerable member), else undefined. */
const member = (v, k) => (Object.prototype.propertyIsEnumerable.call(v, k) ? v[k] : undefined);

/** `keyed_entity` in src/engine.rs: each entity under its keyspace, then its type name if free. */
function entityLookup(entities) {
  const byName = new Map();
  for (const e of entities) {
    const entity = { keyspace: e.keyspace, keyFields: e.keyFields };
    byName.set(e.keyspace, entity);
    if (!byName.has(e.type)) byName.set(e.type, entity);
  }
  return byName;
}

/** `op_for_field` in src/mutation.rs. */
function opForField(field) {
  // Without the `u` flag, `i` never folds a non-ASCII char to ASCII: Rust's ASCII lowercasing.
  if (/^(delete|remove|destroy|archive)/i.test(field)) return "delete";
  if (/^(create|add|insert|new)/i.test(field)) return "create";
  return "update";
}

/**
 * `to_scalar_string` in src/value.rs for a key field's value: strings as they are, numbers as JS
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
 * `walk` in src/mutation.rs; returns false when wasm must decide (see `#changesHere`). Only own
 * enumerable members are read, in `Object.keys` order: what JSON.stringify would write.
 */
function walkResponse(v, op, depth, byName, out, seen) {
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
      if (!walkResponse(v[i], op, depth + 1, byName, out, seen)) return false;
    }
    return true;
  }
  if (!isJsonObject(v)) return false;
  let childOp = op;
  const typename = member(v, "__typename");
  // Not a string, so not an entity, unless its JSON would be one (`toJSON`).
  if (typename !== null && typeof typename === "object") return false;
  const entity = typeof typename === "string" ? byName.get(typename) : undefined;
  if (entity !== undefined && entity.keyFields.length > 0) {
    let id = "";
    for (let i = 0; i < entity.keyFields.length; i++) {
      const field = entity.keyFields[i];
      const part = scalarText(Object.hasOwn(v, field) ? member(v, field) : null);
      if (part === undefined) return false;
      if (part === null) {
        id = null;
        break;
      }
      id = i === 0 ? part : `${id},${part}`;
    }
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
    if (k !== "__typename" && !walkResponse(v[k], childOp, depth + 1, byName, out, seen)) return false;
  }
  return true;
}

/** Derives cascade rules from a GraphQL schema and computes what to purge after a change. */
export class CascadeEngine {
  #inner;
  // The cache most recently attached (`new LruCache({ engine })`): graph() counts its keys per edge.
  #cache;
  // Rule ids by index, fetched from wasm on first use; reset whenever the rules change.
  #ruleIds = [];
  // Without a logger, wasm has no clock: cascades are timed here and reported before `stats()`.
  #timed = false;
  #pendingMs = 0;
  // Two performance.now() calls cost about a tenth of a cascade of one change without data, so
  // one such cascade in TIME_EVERY is timed and their mean stands for the others: `#sampledMs`
  // over `#sampled` timed, `#unsampled` not timed. Other cascades are all timed (`#pendingMs`).
  #sampledMs = 0;
  #sampled = 0;
  #unsampled = 0;
  #untilSample = 0;
  // Plans of cascades of changes without data, by entity (as the change names it) then op: a plan,
  // null when that cascade cannot be planned, false after its first cascade, undefined before
  // (see #plan). null when
  // plans are off: with a logger (each cascade logs from wasm), or `_noPlan` (tests compare both
  // ways). Emptied whenever the rules change.
  #plans = null;
  // The plans that answered cascades since their cascades were last recorded in wasm, and how
  // many were recorded in all (for tests).
  #planned = [];
  #recordedPlanned = 0;
  // Per ASCII code, 1 when an id of such characters can be spliced into a plan (see `plain_id_byte`
  // in src/engine.rs); built with the first plan, from the delimiter wasm reports.
  #plainId = null;
  // Plans of cascades of changes with data, by shape (see `dataShape`): a plan, null when that
  // shape cannot be planned, false after its first cascade. Emptied whenever the rules change.
  #dataPlans = new Map();
  // The last data shape per entity and op (see `dataShape`): it depends on no rule, so it is kept.
  #shapes = new Map();
  // The delimiter, for `_cascadeKey`; fetched on first use (it never changes).
  #delimiterText;
  // `maxKeys`, for batches answered from plans; fetched on first use.
  #maxKeys;
  // Batches answered from plans (for tests).
  #plannedBatches = 0;
  // changesFromMutation walks plain responses here (see #changesHere) unless `_noPlan`.
  #walkHere = false;
  // The entities by keyspace and type name, as wasm looks them up (see #entityLookup).
  #entityByName;
  #freed = false;

  /** @internal use `CascadeEngine.fromSchema` or `CascadeEngine.fromJSON`. */
  constructor(inner, timed = false, planned = false) {
    if (!(inner instanceof WasmEngine)) {
      throw codedError("INVALID_ARGUMENT", "use CascadeEngine.fromSchema(sdl, options) or CascadeEngine.fromJSON(json)");
    }
    this.#inner = inner;
    this.#timed = timed === true;
    if (this.#timed && planned === true) this.#plans = new Map();
    this.#walkHere = planned === true;
  }

  /** Parses SDL, detects relationships and derives the auto rules. */
  static fromSchema(sdl, options) {
    if (WasmEngine.fromSchemaText === undefined) {
      throw codedError(
        "UNSUPPORTED",
        "this is cascade-edge's edge build (cascade-edge/edge), which loads precompiled rules only: " +
          "load them with CascadeEngine.fromJSON(rules), made by CascadeEngine.fromSchema(sdl).toJSON() " +
          "with the full build (cascade-edge)",
      );
    }
    requireString(sdl, "the schema (SDL text)");
    const o = engineOptions(options);
    // `_noPlan` (not part of the API) turns plans off, for tests that compare both ways.
    const { logger: _logger, _noPlan, ...rest } = o;
    const logger = loggerFor(o);
    return call(() => {
      const json = toJson(rest, "options");
      return new CascadeEngine(WasmEngine.fromSchemaText(writeText(sdl), json, logger, now), logger === undefined, _noPlan !== true);
    });
  }

  /** Loads precompiled rules (`engine.toJSON()`, as an object or JSON text); no schema is parsed. */
  static fromJSON(json, options) {
    const o = engineOptions(options);
    const text = typeof json === "string" ? json : toJson(json, "the precompiled rules");
    const logger = loggerFor(o);
    // As UTF-8 bytes: wasm-bindgen copies a string into wasm one char at a time in JS (~1.6 ms for
    // GitHub's 237 KB of rules), where TextEncoder and a byte copy take ~0.2 ms.
    const bytes = encoder.encode(text);
    return call(() => new CascadeEngine(WasmEngine.fromJSONBytes(bytes, logger, now), logger === undefined, o._noPlan !== true));
  }

  // The address of the engine's input buffer in wasm memory (`inputBuffer`), 0 before first use.
  #inputAt = 0;

  /**
   * Writes an ASCII entity and id into the engine's input buffer, for `cascadeInput`; false when
   * either is not ASCII or they do not fit (then the caller passes strings).
   */
  #writeInput(entity, id) {
    const n = entity.length;
    const m = id.length;
    if (n + m > INPUT_SIZE) return false;
    if (this.#inputAt === 0) this.#inputAt = this.#inner.inputBuffer(INPUT_SIZE);
    this.#u32();
    const u8 = u8View;
    let at = this.#inputAt;
    for (let i = 0; i < n; i++) {
      const c = entity.charCodeAt(i);
      if (c > 0x7f) return false;
      u8[at++] = c;
    }
    for (let i = 0; i < m; i++) {
      const c = id.charCodeAt(i);
      if (c > 0x7f) return false;
      u8[at++] = c;
    }
    return true;
  }

  #ruleId(index) {
    let id = this.#ruleIds[index];
    if (id === undefined) id = this.#ruleIds[index] = this.#inner.ruleId(index) ?? null;
    return id;
  }

  /**
   * Runs one compact cascade export and expands its result. When wasm has no clock it is timed
   * here: always, or one call in TIME_EVERY when `sampled` (cascades of one change without data).
   */
  #compact(fn, sampled = false) {
    let at;
    if (!this.#timed) {
      at = call(fn);
    } else if (!sampled) {
      const t0 = now();
      at = call(fn);
      this.#pendingMs += now() - t0;
    } else {
      const timed = this.#untilSample === 0;
      const t0 = timed ? now() : 0;
      at = call(fn);
      if (at !== 0) this.#countSampled(timed, t0);
    }
    return at === 0 ? undefined : this.#expand(at >>> 2);
  }

  /**
   * Counts a sampled cascade (one change without data) that succeeded: `timed` when it was the
   * one in TIME_EVERY timed, from `t0`, whose time stands for the others in `stats()`.
   */
  #countSampled(timed, t0) {
    if (timed) {
      this.#sampledMs += now() - t0;
      this.#sampled++;
      this.#untilSample = TIME_EVERY - 1;
    } else {
      this.#unsampled++;
      this.#untilSample--;
    }
  }

  /**
   * A view of all wasm memory as u32 (and `u8View` as bytes), rebuilt when the memory grew: the
   * old buffer is then detached and its views have length 0, which is cheaper to test than
   * reading `memory.buffer` on every call.
   */
  #u32() {
    if (u32View.length === 0) {
      const buffer = (memory ??= wasmMemory()).buffer;
      u32View = new Uint32Array(buffer);
      u8View = new Uint8Array(buffer);
    }
    return u32View;
  }

  /** Builds `{ keys, patterns, tags, trace, depth, truncated }` from the compact form (see CompactSet in src/engine.rs). */
  #expand(p) {
    // The numbers live in wasm memory at u32 index p, followed by the text's address and length
    // (`locate` in src/wasm). Only a `ruleId` fetch calls into wasm in between, which may grow
    // the memory: the view is refreshed after it.
    let meta = this.#u32();
    const truncated = meta[p] === 1;
    const depth = meta[p + 1];
    const n = meta[p + 2];
    const end = p + 3 + 6 * n;
    const textAt = meta[end];
    const text = decoder.decode(u8View.subarray(textAt, textAt + meta[end + 1]));
    const keys = [];
    const patterns = [];
    const trace = new Array(n);
    // Tags that differ from their key follow the keys in the text; usually there are none, and
    // the tags are the keys then the patterns.
    let tagAt = 0;
    let odd = false;
    for (let m = p + 3; m < end; m += 6) {
      tagAt += meta[m];
      if (meta[m + 5] !== 0) odd = true;
    }
    const keyTags = odd ? [] : undefined;
    const patternTags = odd ? [] : undefined;
    let at = 0;
    for (let i = 0, m = p + 3; i < n; i++, m += 6) {
      const key = text.slice(at, (at += meta[m]));
      const rule = meta[m + 1];
      const from = meta[m + 2];
      const flags = meta[m + 4];
      if (flags & 2) patterns.push(key);
      else keys.push(key);
      if (odd) {
        const tagLength = meta[m + 5];
        const tag = tagLength === 0 ? key : text.slice(tagAt, (tagAt += tagLength));
        (flags & 2 ? patternTags : keyTags).push(tag);
      }
      const entryDepth = meta[m + 3];
      let ruleId = null;
      if (rule !== 0) {
        ruleId = this.#ruleIds[rule - 1];
        if (ruleId === undefined) {
          ruleId = this.#ruleId(rule - 1);
          meta = this.#u32();
        }
      }
      trace[i] = {
        key,
        rule: ruleId,
        from: from === 0 ? null : trace[from - 1].key,
        depth: entryDepth,
        coarse: (flags & 1) === 1,
      };
    }
    // Copied by hand: `concat` costs more than the loop on arrays this small.
    let tags;
    if (odd) {
      tags = keyTags;
      for (const t of patternTags) tags.push(t);
    } else {
      tags = new Array(n);
      let k = 0;
      for (const t of keys) tags[k++] = t;
      for (const t of patterns) tags[k++] = t;
    }
    return { keys, patterns, tags, trace, depth, truncated };
  }

  /**
   * Asks wasm for the plan of cascades of `entity` changes without data and `op`, and keeps it
   * (or null when it has none): the cascade set of a placeholder id, whose every occurrence in a
   * key is where an id goes (see `plan_compact` in src/engine.rs).
   */
  #plan(entity, op) {
    let byOp = this.#plans.get(entity);
    if (byOp === undefined) this.#plans.set(entity, (byOp = [undefined, undefined, undefined]));
    // Planned at the second cascade (false marks the first): a change seen once, such as a cold
    // start's first request, does not pay for a plan (about a cascade's time, more for big sets).
    if (byOp[op] === undefined) {
      byOp[op] = false;
      return;
    }
    byOp[op] = null;
    const at = call(() => this.#inner.planCompact(entity, op));
    if (at === 0) return;
    const { plan, keys, mark, delimiter } = this.#readPlan(at);
    const n = plan.n;
    // Per key, its text split where the id goes.
    plan.parts = new Array(n);
    // The longest id that keeps every key within MAX_KEY_LEN (the changed entity's key too).
    plan.maxIdLength = MAX_KEY_LEN;
    // Pairs of keys [i, j, …] that differ for the placeholder but could be equal for some id.
    plan.pairs = [];
    for (let i = 0; i < n; i++) {
      const parts = keys[i].split(mark);
      plan.parts[i] = parts;
      const ids = parts.length - 1;
      if (ids > 0) plan.maxIdLength = Math.min(plan.maxIdLength, Math.floor((MAX_KEY_LEN - (keys[i].length - ids)) / ids));
    }
    plan.segments = valueSegments(plan.parts, delimiter);
    const shapes = keyShapes(plan.parts, delimiter);
    for (let i = 0; i < n; i++) {
      for (let j = i + 1; j < n; j++) {
        if (mayMeet(plan.parts, shapes, i, j, plan.maxIdLength)) plan.pairs.push(i, j);
      }
      if (plan.pairs.length > 2 * MAX_PLAN_PAIRS) return;
    }
    byOp[op] = plan;
  }

  /**
   * Reads the plan wasm wrote at `at` (`planCompact`, `planCompactData`): the parts of the
   * cascade set every answer shares, each key's text with its stand-ins, the mark and the
   * delimiter's code. Builds the table of id characters plans can splice in (`#plainId`).
   */
  #readPlan(at) {
    // Every number is read before a `ruleId` fetch may grow the memory (see #expand).
    const meta = this.#u32();
    const p = at >>> 2;
    const n = meta[p + 2];
    const end = p + 3 + 6 * n;
    const textAt = meta[end];
    const text = decoder.decode(u8View.subarray(textAt, textAt + meta[end + 1]));
    const mark = String.fromCharCode(meta[end + 2]);
    const delimiter = meta[end + 3];
    const plan = {
      n,
      depth: meta[p + 1],
      truncated: meta[p] === 1,
      // Per key, as the trace has it.
      rules: new Array(n),
      from: new Int32Array(n),
      depths: new Uint32Array(n),
      coarse: new Uint8Array(n),
      pattern: new Uint8Array(n),
      edgeSlots: meta.slice(end + 5, end + 5 + meta[end + 4]),
      // Per key, its stats edge slot (NO_EDGE for none), for batches (`recordPlannedBatch`).
      keySlots: meta.slice(end + 5 + meta[end + 4], end + 5 + meta[end + 4] + n),
      // Cascades answered since `stats()` last recorded them.
      hits: 0,
    };
    const keys = new Array(n);
    const rules = new Uint32Array(n);
    let at8 = 0;
    for (let i = 0, m = p + 3; i < n; i++, m += 6) {
      keys[i] = text.slice(at8, (at8 += meta[m]));
      rules[i] = meta[m + 1];
      plan.from[i] = meta[m + 2] - 1;
      plan.depths[i] = meta[m + 3];
      plan.coarse[i] = meta[m + 4] & 1;
      plan.pattern[i] = (meta[m + 4] >>> 1) & 1;
    }
    for (let i = 0; i < n; i++) plan.rules[i] = rules[i] === 0 ? null : this.#ruleId(rules[i] - 1);
    if (this.#plainId === null) {
      const plain = new Uint8Array(128);
      for (let c = 0x21; c < 0x7f; c++) plain[c] = 1;
      for (const c of "%*{},") plain[c.charCodeAt(0)] = 0;
      if (delimiter < 128) plain[delimiter] = 0;
      this.#plainId = plain;
    }
    return { plan, keys, mark, delimiter };
  }

  /**
   * The plan of cascades of changes shaped like `change` (see `dataShape`), or undefined: the
   * cascade set of stand-ins for the id and each value (`M0M`, `M1M`, … with the plan's mark),
   * each key split where they are. Answers splice the values in (`#answer`).
   */
  #planData(change, shape) {
    const code = this.#inner.planMark();
    if (code === 0) return undefined;
    const mark = String.fromCharCode(code);
    const stand = (i) => `${mark}${i}${mark}`;
    const op = change.op === undefined ? 0 : OPS[change.op];
    const at = call(() => this.#inner.planCompactData(change.entity, op, stand(0), markedData(change.data, stand)));
    if (at === 0) return undefined;
    const { plan, keys, delimiter } = this.#readPlan(at);
    // Each key as [text, value index, text, …, text]; the indexes any key uses, to check.
    plan.pieces = new Array(plan.n);
    const used = new Set();
    const m = mark.replace(/[\\^$.*+?()[\]{}|]/g, "\\$&");
    const split = new RegExp(`${m}(\\d+)${m}`);
    for (let i = 0; i < plan.n; i++) {
      const pieces = keys[i].split(split);
      for (let j = 1; j < pieces.length; j += 2) {
        const v = Number(pieces[j]);
        if (!(v < shape.values.length)) return undefined;
        pieces[j] = v;
        used.add(v);
      }
      plan.pieces[i] = pieces;
    }
    plan.segments = valueSegments(plan.pieces.map((p) => p.filter((_, j) => j % 2 === 0)), delimiter);
    plan.used = [...used];
    // Pairs of keys [i, j, …] that some values could make one key: checked on every answer.
    plan.pairs = [];
    for (let i = 0; i < plan.n; i++) {
      for (let j = i + 1; j < plan.n; j++) if (segmentsMayMeet(plan.segments[i], plan.segments[j])) plan.pairs.push(i, j);
      if (plan.pairs.length > 2 * MAX_PLAN_PAIRS) return undefined;
    }
    return plan;
  }

  /**
   * The keys of a plan of changes with data for its shape's `values`, or undefined when it cannot
   * answer for them: one a key would take is empty or would be encoded, or a key would be too long.
   */
  #spellValues(plan, values) {
    for (const i of plan.used) {
      if (values[i].length === 0 || !this.#keptAsIs(values[i])) return undefined;
    }
    const { n, pieces } = plan;
    const texts = new Array(n);
    for (let i = 0; i < n; i++) {
      const p = pieces[i];
      let key = p[0];
      for (let j = 1; j < p.length; j += 2) key += values[p[j]] + p[j + 1];
      if (key.length > MAX_KEY_LEN) return undefined;
      texts[i] = key;
    }
    return texts;
  }

  /**
   * One batch's cascade set from the plans of its changes, or undefined when any change has none
   * or cannot be answered by it: the sets of the changes in order, each key where it first
   * appears (as wasm's batch run adds them), recorded in the stats as that run would record it.
   */
  #batchFromPlans(changes) {
    const count = changes.length;
    if (count === 0) return undefined;
    const t0 = this.#timed ? now() : 0;
    const maxKeys = (this.#maxKeys ??= this.#inner.maxKeys());
    const plans = new Array(count);
    const texts = new Array(count);
    for (let c = 0; c < count; c++) {
      const change = changes[c];
      let plan;
      let t;
      if (dataless(change)) {
        plan = this.#plans.get(change.entity)?.[change.op === undefined ? 0 : OPS[change.op]];
        if (plan) t = this.#spellId(plan, typeof change.id === "string" ? change.id : String(change.id));
      } else {
        const shape = dataShape(change, this.#shapes);
        plan = shape === undefined ? undefined : this.#dataPlans.get(shape.key);
        if (plan) t = this.#spellValues(plan, shape.values);
      }
      if (t === undefined || keysMeet(plan, t)) return undefined;
      plans[c] = plan;
      texts[c] = t;
    }
    // A key an earlier change has is not listed again: small batches know which from the keys
    // that can meet (hashing every key costs more than the rest of the batch), others hash.
    const repeated = count <= MAX_PAIRED_BATCH ? repeatedKeys(plans, texts) : undefined;
    const seen = repeated === undefined ? new Set() : undefined;
    const keys = [];
    const patterns = [];
    const trace = [];
    const slots = [];
    let depth = 0;
    let truncated = false;
    for (let c = 0; c < count; c++) {
      const plan = plans[c];
      const t = texts[c];
      const again = repeated?.[c];
      const { rules, from, depths, coarse, pattern, keySlots } = plan;
      truncated ||= plan.truncated;
      for (let i = 0; i < plan.n; i++) {
        const key = t[i];
        if (seen === undefined ? again != null && again[i] === 1 : seen.has(key)) continue;
        // Past the fan-out budget the batch would have dropped keys: wasm says which.
        if (trace.length + 1 >= maxKeys) return undefined;
        seen?.add(key);
        if (pattern[i] === 1) patterns.push(key);
        else keys.push(key);
        const f = from[i];
        trace.push({ key, rule: rules[i], from: f < 0 ? null : t[f], depth: depths[i], coarse: coarse[i] === 1 });
        if (depths[i] > depth) depth = depths[i];
        if (keySlots[i] !== NO_EDGE) slots.push(keySlots[i]);
      }
    }
    this.#inner.recordPlannedBatch(count, depth, trace.length, Uint32Array.from(slots));
    this.#plannedBatches++;
    if (this.#timed) this.#pendingMs += now() - t0;
    return { keys, patterns, tags: [...keys, ...patterns], trace, depth, truncated };
  }

  /** After a cascade of `change` succeeded in wasm: counts it toward its plan (see #plan, #planData). */
  #notePlannable(change) {
    if (dataless(change)) {
      const entity = change.entity;
      if (!wellFormed(entity, "")) return;
      const op = change.op === undefined ? 0 : OPS[change.op];
      const plan = this.#plans.get(entity)?.[op];
      if (plan === undefined || plan === false) this.#plan(entity, op);
      return;
    }
    const shape = dataShape(change, this.#shapes);
    if (shape !== undefined) this.#noteShape(change, shape);
  }

  /** As #notePlannable for a change with data of this shape: planned at the shape's second cascade. */
  #noteShape(change, shape) {
    const plan = this.#dataPlans.get(shape.key);
    if (plan === undefined && this.#dataPlans.size < MAX_DATA_PLANS) this.#dataPlans.set(shape.key, false);
    else if (plan === false) this.#dataPlans.set(shape.key, this.#planData(change, shape) ?? null);
  }

  /**
   * The cascade set of a change from its plan, timed as #compact times such cascades, or
   * undefined when the plan cannot answer for it (then wasm does): `id` for a change without
   * data, or the `values` of its data's shape (the id first; see #spellValues).
   */
  #answer(plan, idOrValues) {
    const timed = this.#untilSample === 0;
    const t0 = timed ? now() : 0;
    const texts = typeof idOrValues === "string" ? this.#spellId(plan, idOrValues) : this.#spellValues(plan, idOrValues);
    const set = texts === undefined ? undefined : planSet(plan, texts);
    if (set === undefined) return undefined;
    this.#countSampled(timed, t0);
    if (plan.hits++ === 0) this.#planned.push(plan);
    return set;
  }

  /** Whether every character of `text` is one a key keeps as it is (see `#plainId`). */
  #keptAsIs(text) {
    const plain = this.#plainId;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c > 0x7f || plain[c] === 0) return false;
    }
    return true;
  }

  /** The keys of a plan of changes without data for `id`, or undefined when it cannot answer for that id. */
  #spellId(plan, id) {
    const length = id.length;
    if (length === 0 || length > plan.maxIdLength || !this.#keptAsIs(id)) return undefined;
    const { n, parts } = plan;
    const texts = new Array(n);
    for (let i = 0; i < n; i++) {
      const pieces = parts[i];
      let key = pieces[0];
      for (let j = 1; j < pieces.length; j++) key += id + pieces[j];
      texts[i] = key;
    }
    return texts;
  }

  /**
   * Releases the engine's wasm memory now, rather than when the garbage collector finalizes the
   * engine (which may be much later, or never before the process exits). Every later call on
   * the engine throws `USE_AFTER_FREE`; a cache attached to it then throws the same from
   * `invalidate`. Calling `free()` again does nothing.
   */
  free() {
    if (this.#freed) return;
    this.#freed = true;
    const inner = this.#inner;
    this.#inner = freedInner("CascadeEngine");
    // Nothing may answer from JS or write into the freed memory.
    this.#plans = null;
    this.#dataPlans = new Map();
    this.#planned = [];
    this.#inputAt = 0;
    this.#cache = undefined;
    this.#ruleIds = [];
    this.#walkHere = false;
    this.#entityByName = undefined;
    inner.free();
  }

  /** The detected relationships. */
  relationships() {
    return JSON.parse(this.#inner.relationships());
  }

  /** The entity types with their keyspaces and key fields. */
  entities() {
    return JSON.parse(this.#inner.entities());
  }

  /** Every rule: auto rules grouped by entity, then manual rules in the order added. */
  rules() {
    return JSON.parse(this.#inner.rules());
  }

  /** Forgets what was derived from the rules: rule ids by index, plans. */
  #rulesChanged() {
    this.#ruleIds = [];
    if (this.#plans !== null) {
      // Recorded now, so that the plans of old rules are not held until `stats()`.
      this.#recordPlanned();
      this.#plans = new Map();
      this.#dataPlans = new Map();
    }
  }

  /** Records in wasm's stats the cascades plans answered (see #answer). */
  #recordPlanned() {
    for (const plan of this.#planned) {
      this.#inner.recordPlanned(plan.hits, plan.depth, plan.n, plan.edgeSlots);
      this.#recordedPlanned += plan.hits;
      plan.hits = 0;
    }
    this.#planned = [];
  }

  /** Validates and adds a manual rule; returns its id. Adding an identical rule again keeps one. */
  addRule(rule) {
    if (rule === null || typeof rule !== "object") {
      throw codedError("INVALID_RULE", 'a rule must be an object like { entity: "user", cascadeTo: ["user:{id}:feed"] }');
    }
    this.#rulesChanged();
    if (typeof rule.when === "function") {
      const { when, ...rest } = rule;
      return call(() => this.#inner.addRuleWithPredicate(toJson(rest, "the rule"), when));
    }
    return call(() => this.#inner.addRule(toJson(rule, "the rule")));
  }

  /** Removes the rule with this id. */
  removeRule(id) {
    requireString(id, "the rule id");
    this.#rulesChanged();
    call(() => this.#inner.removeRule(id));
  }

  /** Removes every rule, auto rules included. */
  clearRules() {
    this.#rulesChanged();
    this.#inner.clearRules();
  }

  /** The cascade set of one change `{ entity, id, op?, data?, before?, after? }`. */
  cascade(change) {
    if (dataless(change)) {
      const entity = change.entity;
      const id = typeof change.id === "string" ? change.id : String(change.id);
      const op = change.op === undefined ? 0 : OPS[change.op];
      const plans = this.#plans;
      const plan = plans === null ? null : plans.get(entity)?.[op];
      if (plan) {
        const set = this.#answer(plan, id);
        if (set !== undefined) return set;
      }
      if (this.#writeInput(entity, id)) {
        // 0 means the change was refused: the string export throws the error.
        const set = this.#compact(() => this.#inner.cascadeInput(entity.length, id.length, op) || this.#inner.cascadeIdCompact(entity, id, op), true);
        // The entity is known (the cascade succeeded) and ASCII (it crossed as such): plan it.
        if ((plan === undefined || plan === false) && plans !== null) this.#plan(entity, op);
        return set;
      }
      if (wellFormed(entity, id)) return this.#compact(() => this.#inner.cascadeIdCompact(entity, id, op), true);
    }
    // JSON would turn a NaN or infinite id into null, which reads as a missing id.
    if (typeof change?.id === "number" && !Number.isFinite(change.id)) {
      throw codedError("INVALID_CHANGE", `\`id\` must be a string or a finite number, not ${change.id}`);
    }
    const shape = this.#plans === null ? undefined : dataShape(change, this.#shapes);
    const plan = shape === undefined ? undefined : this.#dataPlans.get(shape.key);
    if (plan) {
      const set = this.#answer(plan, shape.values);
      if (set !== undefined) return set;
    }
    const text = toJson(change, "the change");
    const set = this.#compact(() => this.#inner.cascadeCompact(text));
    if (shape !== undefined) this.#noteShape(change, shape);
    return set;
  }

  /** One deduplicated cascade set for several changes. */
  cascadeBatch(changes) {
    if (!Array.isArray(changes)) throw codedError("INVALID_CHANGE", "cascadeBatch takes an array of changes");
    if (this.#plans === null) return this.#compact(() => this.#inner.cascadeBatchCompact(toJson(changes, "the changes")));
    const planned = this.#batchFromPlans(changes);
    if (planned !== undefined) return planned;
    const text = toJson(changes, "the changes");
    const set = this.#compact(() => this.#inner.cascadeBatchCompact(text));
    // Each change counts toward its plan as a cascade of its own would.
    if (set !== undefined) for (const change of changes) this.#notePlannable(change);
    return set;
  }

  /**
   * The entity changes in a GraphQL response (`__typename` plus key fields). A change's `data`
   * is the response's own object when the response is plain JSON data (then it is walked here),
   * a copy otherwise (then wasm walks its JSON text).
   */
  changesFromMutation(response) {
    const changes = this.#walkHere ? this.#changesHere(response) : undefined;
    return changes ?? JSON.parse(call(() => this.#inner.changesFromMutation(toJson(response, "the response"))));
  }

  /** The entities by keyspace and type name (`entityLookup`), fetched on first use: they never change. */
  #entityLookup() {
    return (this.#entityByName ??= entityLookup(JSON.parse(this.#inner.entities())));
  }

  /**
   * `changesFromMutation` as src/mutation.rs computes it, without the response crossing into
   * wasm as JSON both ways; undefined when wasm must decide: anything that is not plain JSON
   * data (its JSON text could differ from what is walked here: `undefined`, functions,
   * `toJSON`, class instances, non-finite numbers, strings that are not well-formed), a depth
   * at the limit, and every error.
   */
  #changesHere(response) {
    if (!isJsonObject(response)) return undefined;
    let root = response;
    if (Object.hasOwn(response, "data")) {
      root = member(response, "data");
      if (root === null) return [];
      if (!isJsonObject(root)) return undefined;
    }
    const byName = this.#entityLookup();
    const out = [];
    const seen = new Map();
    for (const field of Object.keys(root)) {
      if (!walkResponse(root[field], opForField(field), 0, byName, out, seen)) return undefined;
    }
    return out;
  }

  /** The rule graph as text (`tree`, `dot`, `mermaid`) or an object (`json`). */
  graph(options = {}) {
    const format = options?.format ?? "tree";
    requireString(format, "`format`");
    const cache = options?.cache ?? this.#cache;
    const text = call(() =>
      cache instanceof LruCache ? this.#inner.graphWithCache(format, cache._inner()) : this.#inner.graph(format),
    );
    return format === "json" ? JSON.parse(text) : text;
  }

  /** Counters and timings. */
  stats() {
    this.#recordPlanned();
    if (this.#sampled > 0) {
      this.#pendingMs += this.#sampledMs + (this.#sampledMs / this.#sampled) * this.#unsampled;
      this.#sampledMs = 0;
      this.#sampled = 0;
      this.#unsampled = 0;
    }
    if (this.#pendingMs > 0) {
      this.#inner.addTime(this.#pendingMs);
      this.#pendingMs = 0;
    }
    return JSON.parse(this.#inner.stats());
  }

  /** Over-broad, never-firing, coarse and redundant rules. */
  lint() {
    return JSON.parse(this.#inner.lint());
  }

  /** The engine as JSON for `CascadeEngine.fromJSON` (precompiled rules; `{ version: 1 }` for the verbose format). */
  toJSON(options) {
    // JSON.stringify(engine) passes a property name here, not options.
    const version = options !== null && typeof options === "object" && options.version === 1 ? 1 : undefined;
    return JSON.parse(call(() => this.#inner.toJSON(version)));
  }

  /**
   * @internal the cascade set of invalidating an entity key, or undefined. A key that is a
   * keyspace and an id that needs no decoding is the change of that id without data, which
   * plans answer (wasm's `cascade_key_compact` runs the same cascade).
   */
  _cascadeKey(key) {
    if (this.#plans !== null && !key.includes("%")) {
      const d = (this.#delimiterText ??= this.#inner.delimiter());
      const at = key.indexOf(d);
      if (at > 0) {
        const entity = key.slice(0, at);
        const id = key.slice(at + d.length);
        const isKeyspace = this.#entityLookup().get(entity)?.keyspace === entity;
        if (id !== "" && id !== "*" && !id.includes(d) && isKeyspace && wellFormed(entity, id)) {
          try {
            return this.cascade({ entity, id });
          } catch {
            return undefined; // as wasm: a key whose cascade fails (too long, say) cascades nothing
          }
        }
      }
    }
    return this.#compact(() => this.#inner.cascadeKeyCompact(key), true);
  }

  /** @internal */
  _attach(cache) {
    if (this.#freed) throw useAfterFree("CascadeEngine");
    this.#cache = cache;
  }

  /** @internal a freed cache is no longer counted by graph(). */
  _detach(cache) {
    if (this.#cache === cache) this.#cache = undefined;
  }

  /** @internal how many cascades plans answered (tests). */
  _plannedCascades() {
    let n = this.#recordedPlanned;
    for (const plan of this.#planned) n += plan.hits;
    return n;
  }

  /** @internal how many batches plans answered (tests). */
  _plannedBatches() {
    return this.#plannedBatches;
  }

  /** @internal counts keys purged through a backend, for `stats().keysPerBackend`. */
  _recordPurge(backend, count) {
    this.#inner.recordPurge(backend, count);
  }
}

function estimateBytes(value) {
  if (typeof value === "string") return value.length * 2;
  try {
    return (JSON.stringify(value) ?? "").length * 2;
  } catch {
    return 0;
  }
}

function ms(value, what) {
  if (value === undefined || value === null) return 0;
  if (typeof value !== "number" || !(value > 0)) throw codedError("INVALID_OPTIONS", `${what} must be a positive number of milliseconds`);
  return value;
}

// A key the fast `set` takes (see `#plainLength`) has at most `MAX_KEY_LEN` bytes and
// `MAX_SEGMENTS` segments, as the core's plain-key check (src/keys.rs) requires.
const MAX_SEGMENTS = 32;
// The pairs and text bytes `provideKeys` takes per call (PROVIDE_ROWS, PROVIDE_TEXT in src/wasm/lru.rs).
const PROVIDE_ROWS = 1024;
const PROVIDE_TEXT = 16 * MAX_KEY_LEN;
// Keys set since wasm last indexed that make it index them now (see LruCache#stored), and the
// length of LruCache#keyless: a bound on the pause of the next invalidation (indexing costs
// about 1-3 µs a key in wasm).
const INDEX_BACKLOG = 4096;
// A char no plain key has: non-ASCII, or `*`.
const NOT_PLAIN_CHAR = /[^\x00-\x29\x2b-\x7f]/;

/**
 * Encodes `text` as UTF-8 straight into wasm memory (`textBuffer`) and returns its length in
 * bytes: one `encodeInto`, where wasm-bindgen would copy a string with a JS loop over its chars up
 * to the first non-ASCII one and `TextEncoder.encode` would make a copy to copy again (1.2 MB for
 * GitHub's schema). ASCII fits in `text.length` bytes; the rest takes at most 3 per UTF-16 unit.
 */
function writeText(text) {
  let at = textBuffer(text.length);
  let { read, written } = encoder.encodeInto(text, u8Memory().subarray(at, at + text.length));
  if (read < text.length) {
    const room = (text.length - read) * 3;
    at = textBuffer(written + room);
    written += encoder.encodeInto(text.slice(read), u8Memory().subarray(at + written, at + written + room)).written;
  }
  return written;
}

/** A byte view of all wasm memory, rebuilt when the memory grew (as `CascadeEngine#u32`). */
function u8Memory() {
  if (u8View.length === 0) {
    const buffer = (memory ??= wasmMemory()).buffer;
    u32View = new Uint32Array(buffer);
    u8View = new Uint8Array(buffer);
  }
  return u8View;
}

// Hits are recorded here and handed to wasm in batches of this many slots.
const TOUCH_BATCH = 1024;
// Added to a queued slot for a set of the key in it, not a hit (QUEUED_SET in src/wasm/lru.rs).
const QUEUED_SET = 0x80000000;

// A set's result carries one evicted slot above this (2^26): see `pack` in src/wasm/lru.rs.
const PACKED = 67108864;

/**
 * A bounded LRU cache that understands cascade keys: hierarchy, wildcards, tags.
 *
 * Layout: wasm owns recency, TTLs, the key trie, tags and the fence, addressed by numeric slots;
 * values never enter wasm: this side mirrors key → slot in a `Map` and slot → value/key in arrays,
 * so `get` never sends a string into wasm and removals come back as slot numbers. A key set
 * without options reaches wasm only when something needs the trie (an invalidation, a set with
 * options): until then wasm knows its length, and a key evicted first never crosses at all.
 * Without TTLs nothing can expire, and hits are queued and replayed in order (`touchBatch`)
 * before anything that reads recency or counters; with TTLs each hit asks wasm. Without TTLs or
 * a byte budget a set of a cached key cannot evict or fail, and is queued with the hits.
 */
export class LruCache {
  #inner;
  #engine;
  #weigh;
  #slots = new Map();
  #values = [];
  #keys = [];
  #pending = new Uint32Array(TOUCH_BATCH);
  #pendingCount = 0;
  #misses = 0;
  #mayExpire;
  // No byte budget: a set of a cached key can be queued while nothing can expire either.
  #unweighed;
  // The delimiter's char code when the fast `set` can check keys here (an ASCII delimiter), else -1.
  #delimiter;
  // Slots stored by `setKeyless` whose keys wasm has not been given yet (the first
  // `#keylessCount`; a slot may be listed twice, or be free by now); `#provide` hands the keys
  // over before any call that reads keys in wasm, and when the list is full. Made by the first.
  #keyless = null;
  #keylessCount = 0;
  #provideSlots = 0;
  #provideText = 0;
  #freed = false;

  constructor(options = {}) {
    if (options === null || typeof options !== "object") throw codedError("INVALID_OPTIONS", "options must be an object");
    const { maxEntries = 1000, maxBytes, ttlMs, engine, delimiter = ":", now: clock, sizeOf } = options;
    if (engine !== undefined && !(engine instanceof CascadeEngine)) {
      throw codedError("INVALID_OPTIONS", "`engine` must be a CascadeEngine");
    }
    if (maxBytes !== undefined && !(typeof maxBytes === "number" && maxBytes >= 1)) {
      throw codedError("INVALID_OPTIONS", "`maxBytes` must be a number of at least 1");
    }
    if (typeof maxEntries !== "number") throw codedError("INVALID_OPTIONS", "`maxEntries` must be a number");
    if (clock !== undefined && typeof clock !== "function") throw codedError("INVALID_OPTIONS", "`now` must be a function returning ms");
    const ttl = ms(ttlMs, "`ttlMs`");
    this.#inner = call(() => new WasmLru(maxEntries, maxBytes ?? 0, ttl, requireString(delimiter, "`delimiter`"), clock));
    this.#engine = engine;
    engine?._attach(this);
    this.#mayExpire = ttl > 0;
    this.#unweighed = maxBytes === undefined;
    this.#delimiter = delimiter.length === 1 && delimiter.charCodeAt(0) < 0x80 ? delimiter.charCodeAt(0) : -1;
    // Weighing a value costs a serialisation, so it is only done when a byte budget needs it.
    this.#weigh = maxBytes === undefined ? () => 0 : typeof sizeOf === "function" ? sizeOf : estimateBytes;
  }

  /** `#flush`, and the keys wasm has not been given yet: call before anything that reads keys in wasm. */
  #sync() {
    this.#flush();
    this.#provide();
  }

  /** Where wasm reads rows of text from (`#provideSlots`, `#provideText`), allocated on first use. */
  #provideBuffers() {
    if (this.#provideSlots === 0) {
      this.#provideSlots = this.#inner.provideSlots();
      this.#provideText = this.#inner.provideText();
    }
  }

  /** Hands wasm the keys of the entries `setKeyless` stored, in batches (see `provideKeys`). */
  #provide() {
    const list = this.#keyless;
    const count = this.#keylessCount;
    if (count === 0) return;
    this.#keylessCount = 0;
    this.#provideBuffers();
    let rows = 0;
    let text = 0;
    for (let i = 0; i < count; i++) {
      const slot = list[i];
      // Gone since (its slot may hold a newer entry, which is listed later and gets its key now).
      const key = this.#keys[slot];
      if (key === undefined) continue;
      if (rows === PROVIDE_ROWS || text + key.length > PROVIDE_TEXT) {
        this.#provideBatch(rows);
        rows = 0;
        text = 0;
      }
      // Views are fetched per key: only a wasm call can grow memory, but that is cheap to test.
      const u8 = u8Memory();
      const pair = (this.#provideSlots >>> 2) + 2 * rows;
      u32View[pair] = slot;
      u32View[pair + 1] = key.length;
      const at = this.#provideText + text;
      if (key.length <= 32) {
        for (let j = 0; j < key.length; j++) u8[at + j] = key.charCodeAt(j);
      } else {
        encoder.encodeInto(key, u8.subarray(at, at + key.length));
      }
      rows++;
      text += key.length;
    }
    if (rows > 0) this.#provideBatch(rows);
  }

  /** `#plainLength` of a key over 32 chars, by string searches. */
  #plainLongLength(key, len, d) {
    if (NOT_PLAIN_CHAR.test(key) || key.charCodeAt(0) === d || key.charCodeAt(len - 1) === d) return -1;
    const delimiter = String.fromCharCode(d);
    let segments = 1;
    for (let at = key.indexOf(delimiter); at !== -1; at = key.indexOf(delimiter, at + 1)) {
      if (key.charCodeAt(at + 1) === d || ++segments > MAX_SEGMENTS) return -1;
    }
    return len;
  }

  #provideBatch(rows) {
    const broken = this.#inner.provideKeys(rows);
    if (broken !== 0) throw codedError("INTERNAL", `cascade-edge bug: wasm refused ${broken} keys of the LRU's fast set`);
  }

  /** Replays queued hits and misses into wasm, in order; call before reading recency or counters. */
  #flush() {
    if (this.#pendingCount > 0) {
      const n = this.#pendingCount;
      this.#pendingCount = 0;
      this.#inner.touchBatch(this.#pending.subarray(0, n));
    }
    if (this.#misses > 0) {
      this.#inner.recordMisses(this.#misses);
      this.#misses = 0;
    }
  }

  /** Drops this side's handles of an entry wasm removed. */
  #forget(key) {
    const slot = this.#slots.get(key);
    if (slot === undefined) return;
    this.#slots.delete(key);
    this.#values[slot] = undefined;
    this.#keys[slot] = undefined;
  }

  /** Forgets the entries in the slots wasm removed; returns their keys, in wasm's order. */
  #removed(slots) {
    const keys = new Array(slots.length);
    for (let i = 0; i < slots.length; i++) keys[i] = this.#drop(slots[i]);
    return keys;
  }

  /** The value of `key` (marking it most recent), or undefined. */
  get(key) {
    if (typeof key !== "string") requireString(key, "the key");
    const slot = this.#slots.get(key);
    if (slot === undefined) {
      this.#misses++;
      return undefined;
    }
    if (this.#mayExpire) {
      this.#flush();
      if (!this.#inner.touch(slot)) {
        this.#forget(key);
        return undefined;
      }
    } else {
      this.#pending[this.#pendingCount++] = slot;
      if (this.#pendingCount === TOUCH_BATCH) this.#flush();
    }
    return this.#values[slot];
  }

  /** The value of `key` without changing recency or counters. */
  peek(key) {
    if (typeof key !== "string") requireString(key, "the key");
    const slot = this.#slots.get(key);
    if (slot === undefined || (this.#mayExpire && !this.#inner.isLive(slot))) return undefined;
    return this.#values[slot];
  }

  /** Whether `key` holds a live value. */
  has(key) {
    if (typeof key !== "string") requireString(key, "the key");
    const slot = this.#slots.get(key);
    return slot !== undefined && (!this.#mayExpire || this.#inner.isLive(slot));
  }

  /** Stores a value; `tags` are entity keys it contains; `token` (from beginRead) fences stale writes. Returns the evicted keys. */
  set(key, value, options) {
    // Without options, a plain ASCII key is checked here and only its length crosses: wasm gets
    // its text later, when something needs the index (`#provide`), or never if it is evicted
    // first. A key already cached goes by its slot alone. Anything else, or a refusal, takes the
    // general path (which throws the error).
    if (options === undefined && typeof key === "string") {
      const slot = this.#slots.get(key);
      if (slot !== undefined && this.#unweighed && !this.#mayExpire && slot < QUEUED_SET) {
        this.#values[slot] = value;
        this.#pending[this.#pendingCount++] = slot + QUEUED_SET;
        if (this.#pendingCount === TOUCH_BATCH) this.#flush();
        return [];
      }
      const len = slot === undefined ? this.#plainLength(key) : 0;
      if (len >= 0) {
        if (this.#pendingCount > 0) this.#flush();
        let result;
        try {
          const bytes = this.#weigh(value);
          result = slot === undefined ? this.#inner.setKeyless(len, bytes) : this.#inner.setExisting(slot, bytes);
        } catch (error) {
          throw coded(error);
        }
        if (result !== -1) return this.#stored(key, value, result, slot !== undefined, slot === undefined);
      }
    }
    return this.#setWith(key, value, options);
  }

  /**
   * The length of `key` if the core's one-pass check would accept it as it stands (ASCII, no
   * `*`, no empty segment, within MAX_KEY_LEN and MAX_SEGMENTS: `is_plain_key` in src/keys.rs),
   * else -1 (the general path then decides, and says what is wrong).
   */
  #plainLength(key) {
    const len = key.length;
    const d = this.#delimiter;
    if (len === 0 || len > MAX_KEY_LEN || d < 0) return -1;
    // A longer key is checked with native string searches rather than char by char.
    if (len > 32) return this.#plainLongLength(key, len, d);
    let segments = 1;
    let afterDelimiter = true;
    for (let i = 0; i < len; i++) {
      const c = key.charCodeAt(i);
      if (c > 0x7f || c === 42) return -1;
      if (c === d) {
        if (afterDelimiter) return -1;
        segments++;
        afterDelimiter = true;
      } else {
        afterDelimiter = false;
      }
    }
    return afterDelimiter || segments > MAX_SEGMENTS ? -1 : len;
  }

  #setWith(key, value, options = {}) {
    requireKey(key, "the key");
    const { ttlMs, tags, token } = options ?? {};
    if (tags !== undefined && !(Array.isArray(tags) && tags.every((t) => typeof t === "string"))) {
      throw codedError("INVALID_OPTIONS", "`tags` must be an array of entity keys");
    }
    tags?.forEach((t) => requireKey(t, "a tag"));
    if (token !== undefined && !(Number.isSafeInteger(token) && token >= 0)) {
      throw codedError("INVALID_OPTIONS", "`token` must come from beginRead()");
    }
    const tagText = tags && tags.length > 0 ? JSON.stringify(tags) : "";
    const ttl = ms(ttlMs, "`ttlMs`");
    this.#sync();
    if (ttl > 0) this.#mayExpire = true;
    const inner = this.#inner;
    return this.#stored(key, value, call(() => inner.setSlot(key, this.#weigh(value), ttl, tagText, token ?? -1)));
  }

  /**
   * Records a stored entry on this side from a set's result (one number: see `pack` in
   * src/wasm/lru.rs); returns the evicted keys. `known`: the key already holds the slot;
   * `keyless`: wasm does not have the key yet.
   */
  #stored(key, value, result, known = false, keyless = false) {
    let slot = result;
    let evicted;
    // Evicted slots are forgotten before the new entry is recorded: it may reuse one of them.
    if (result < PACKED && result >= 0) {
      evicted = [];
    } else if (result >= PACKED) {
      slot = result % PACKED;
      evicted = [this.#drop((result - slot) / PACKED - 1)];
    } else {
      const inner = this.#inner;
      slot = -2 - result;
      evicted = [];
      for (let i = 0, n = inner.removedCount(); i < n; i++) evicted.push(this.#drop(inner.removedSlot(i)));
    }
    this.#values[slot] = value;
    if (!known) {
      this.#slots.set(key, slot);
      this.#keys[slot] = key;
      if (keyless) {
        (this.#keyless ??= new Uint32Array(INDEX_BACKLOG))[this.#keylessCount++] = slot;
        if (this.#keylessCount === INDEX_BACKLOG) {
          this.#provide();
          this.#inner.indexWaiting();
        }
      }
    }
    return evicted;
  }

  /** Forgets the entry in `slot`, which wasm removed; returns its key. */
  #drop(slot) {
    const key = this.#keys[slot];
    this.#slots.delete(key);
    this.#values[slot] = undefined;
    this.#keys[slot] = undefined;
    return key;
  }

  /** Removes `key` only (not the keys below it); returns whether it was there. */
  delete(key) {
    if (typeof key !== "string") requireString(key, "the key");
    const slot = this.#slots.get(key);
    if (slot === undefined) return false;
    this.#flush();
    this.#inner.deleteSlot(slot);
    this.#forget(key);
    return true;
  }

  clear() {
    this.#flush();
    this.#keylessCount = 0;
    this.#inner.clear();
    this.#slots.clear();
    this.#values = [];
    this.#keys = [];
  }

  /** Entries held (expired ones not yet noticed included). */
  get size() {
    return this.#slots.size;
  }

  /** Live keys, most recently used first. */
  keys() {
    this.#flush();
    const slots = this.#inner.liveSlots();
    const keys = new Array(slots.length);
    for (let i = 0; i < slots.length; i++) keys[i] = this.#keys[slots[i]];
    return keys[Symbol.iterator]();
  }

  [Symbol.iterator]() {
    return this.keys();
  }

  /**
   * Removes `key`, every key below it and every entry tagged with them; with an engine attached,
   * also every key of the cascade set. Returns the removed keys.
   */
  invalidate(key) {
    requireKey(key, "the key");
    const set = this.#engine?._cascadeKey(key);
    this.#sync();
    if (set === undefined) return this.#removed(call(() => this.#inner.invalidate(key)));
    return this.#invalidateLists(set.keys, set.patterns);
  }

  /**
   * Removes exactly what a cascade set names: its keys (with everything below them), its patterns,
   * and the entries tagged with them. Use it with `engine.cascade(change)` when the change carries
   * data, which makes the set exact where `invalidate(key)` alone would widen foreign keys to `*`.
   */
  invalidateSet(set) {
    if (set === null || typeof set !== "object" || !Array.isArray(set.keys)) {
      throw codedError("INVALID_ARGUMENT", "invalidateSet takes a cascade set { keys, patterns }");
    }
    this.#sync();
    return this.#invalidateLists(set.keys, Array.isArray(set.patterns) ? set.patterns : []);
  }

  /** Removes `keys` and `patterns` (after `#sync`); returns the removed keys. */
  #invalidateLists(keys, patterns) {
    const inner = this.#inner;
    if (this.#writeRows(keys, patterns)) return this.#removed(call(() => inner.invalidateRows(keys.length, patterns.length)));
    return this.#removed(call(() => inner.invalidateSet(toJson(keys, "keys"), toJson(patterns, "patterns"))));
  }

  /**
   * Writes `keys` then `patterns` where `invalidateRows` reads them (the rows and text `#provide`
   * uses, free once `#sync` ran): whether they fit and are all ASCII strings. Otherwise nothing
   * is read, and the set crosses as JSON (which also says what is wrong with it).
   */
  #writeRows(keys, patterns) {
    if (keys.length + patterns.length > PROVIDE_ROWS) return false;
    this.#provideBuffers();
    const u8 = u8Memory();
    const rows = this.#provideSlots >>> 2;
    let at = this.#provideText;
    let row = 0;
    for (const list of [keys, patterns]) {
      for (let i = 0; i < list.length; i++) {
        const text = list[i];
        if (typeof text !== "string" || at + text.length > this.#provideText + PROVIDE_TEXT) return false;
        for (let j = 0; j < text.length; j++) {
          const c = text.charCodeAt(j);
          if (c > 0x7f) return false;
          u8[at + j] = c;
        }
        u32View[rows + 2 * row + 1] = text.length;
        at += text.length;
        row++;
      }
    }
    return true;
  }

  /** `invalidate` for several keys as one step. */
  invalidateBatch(keys) {
    if (!Array.isArray(keys) || !keys.every((k) => typeof k === "string")) {
      throw codedError("INVALID_ARGUMENT", "invalidateBatch takes an array of keys");
    }
    keys.forEach((k) => requireKey(k, "a key"));
    const all = new Set(keys);
    const patterns = new Set();
    for (const key of keys) {
      const set = this.#engine?._cascadeKey(key);
      set?.keys.forEach((k) => all.add(k));
      set?.patterns.forEach((p) => patterns.add(p));
    }
    this.#sync();
    return this.#invalidateLists([...all], [...patterns]);
  }

  /** Removes every key matching a pattern (`post:*:comments`, `feed:*`) and the keys below them. */
  invalidatePattern(pattern) {
    requireKey(pattern, "the pattern");
    this.#sync();
    return this.#removed(call(() => this.#inner.invalidatePattern(pattern)));
  }

  /** Removes the field at a dotted path from the cached values of a key or pattern; returns the keys changed. */
  invalidateField(keyOrPattern, path) {
    requireKey(keyOrPattern, "the key or pattern");
    requireString(path, "the field path");
    this.#sync();
    return JSON.parse(call(() => this.#inner.invalidateField(keyOrPattern, path, this.#values)));
  }

  /** Schedules `invalidate(key)` after `delayMs`; the same key scheduled twice runs once. Run with flushDue. */
  invalidateLazy(key, delayMs) {
    requireKey(key, "the key");
    if (typeof delayMs !== "number") throw codedError("INVALID_OPTIONS", "delayMs must be a number");
    call(() => this.#inner.invalidateLazy(key, delayMs));
  }

  /** Runs the lazy invalidations due at `now` (ms, default the cache clock's now); returns the removed keys. */
  flushDue(now = Date.now()) {
    // NaN would compare as "everything is due"; a time is required to be a real one.
    if (!Number.isFinite(now)) throw codedError("INVALID_ARGUMENT", "flushDue takes a finite time in ms");
    this.#sync();
    return this.#removed(this.#inner.flushDue(now));
  }

  /** A token for a read of `key`; pass it to `set` to refuse the write if `key` was invalidated since. */
  beginRead(key) {
    return this.#inner.beginRead(requireKey(key, "the key"));
  }

  /** Hits, misses, sets, evictions, expirations, invalidations, entries, bytes. */
  stats() {
    this.#flush();
    return JSON.parse(this.#inner.stats());
  }

  /**
   * Releases the cache's wasm memory and drops its values now, rather than when the garbage
   * collector finalizes the cache. Every later call on the cache throws `USE_AFTER_FREE`.
   * Calling `free()` again does nothing.
   */
  free() {
    if (this.#freed) return;
    this.#freed = true;
    const inner = this.#inner;
    this.#inner = freedInner("LruCache");
    // The hot paths start from the key map: this one throws on every use.
    const fail = () => {
      throw useAfterFree("LruCache");
    };
    this.#slots = { get: fail, has: fail, set: fail, delete: fail, clear: fail, get size() { return fail(); } };
    this.#values = [];
    this.#keys = [];
    this.#pendingCount = 0;
    this.#misses = 0;
    this.#keylessCount = 0;
    this.#provideSlots = 0;
    this.#provideText = 0;
    this.#engine?._detach(this);
    inner.free();
  }

  /** @internal */
  _inner() {
    if (this.#freed) throw useAfterFree("LruCache");
    this.#sync();
    return this.#inner;
  }
}

export { tagsForResponse, withCoarseTags, encodeSegment, tagForKey } from "./tags.js";
export { GenerationCoordinator, GenerationSync } from "./isolate.js";
