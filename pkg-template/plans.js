// The plan memoizer: cascades answered in JS from a plan wasm made once for that kind of change,
// instead of crossing into wasm each time. A plan is the cascade set of stand-ins (a placeholder
// id, or stand-ins for each value of a data shape: shapes.js), each key split where they go; an
// answer splices the change's id or values in. A plan answers only when that is provably what
// wasm would give: plain ids and values, keys within MAX_KEY_LEN, no two keys that could be one
// for those values; otherwise wasm decides.
//
// A kind of change is planned at its second cascade (a change seen once, such as a cold start's
// first request, does not pay for a plan: about a cascade's time), and plans are dropped whenever
// the rules change. The cascades plans answered reach wasm's stats in bulk (`record`).
import { wellFormed } from "./errors.js";
import { MAX_KEY_LEN, NO_EDGE, SET_HEADER } from "./protocol.js";
import { COARSE, ENTRY, PATTERN, compactText } from "./sets.js";
import { MAX_DATA_PLANS, OPS, dataShape, dataless, markedData } from "./shapes.js";
import { call, u32Memory } from "./wasm.js";

// Most pairs of a plan's keys that could be equal for some id, compared on each planned cascade;
// a plan with more is not used.
const MAX_PLAN_PAIRS = 64;

/**
 * The cascade set (as readCompactSet reads it) a plan gives once its keys are spelled out (`texts`, in
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
  // Copied by hand: `concat` costs more than the loop on arrays this small.
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

/**
 * The plans of one engine. `inner` is its WasmEngine; `ruleId(index)` a rule's id by index (as
 * the engine caches them).
 */
export class Planner {
  #inner;
  #ruleId;
  // Plans of cascades of changes without data, by entity (as the change names it) then op: a plan,
  // null when that cascade cannot be planned, false after its first cascade, undefined before.
  #plans = new Map();
  // Plans of cascades of changes with data, by shape (see `dataShape`): a plan, null when that
  // shape cannot be planned, false after its first cascade.
  #dataPlans = new Map();
  // The last data shape per entity and op (see `dataShape`): it depends on no rule, so it is kept.
  #shapes = new Map();
  // The plans that answered cascades since their cascades were last recorded in wasm, and how
  // many were recorded in all (for tests).
  #planned = [];
  #recordedPlanned = 0;
  // Batches answered from plans (for tests).
  #plannedBatches = 0;
  // Per ASCII code, 1 when an id of such characters can be spliced into a plan (see `plain_id_byte`
  // in the Rust engine); built with the first plan, from the delimiter wasm reports.
  #plainId = null;
  // `maxKeys`, for batches answered from plans; fetched on first use.
  #maxKeys;

  constructor(inner, ruleId) {
    this.#inner = inner;
    this.#ruleId = ruleId;
  }

  /** The plan of changes of `entity` without data and op `op` (a number: `OPS`), if any yet. */
  lookup(entity, op) {
    return this.#plans.get(entity)?.[op];
  }

  /** The data shape of `change` (see `dataShape`), or undefined when plans cannot answer for it. */
  shape(change) {
    return dataShape(change, this.#shapes);
  }

  /** The plan of changes of this data shape's key, if any yet. */
  dataPlan(shapeKey) {
    return this.#dataPlans.get(shapeKey);
  }

  /**
   * After a cascade of `entity` changes without data and `op` succeeded in wasm: marks the first,
   * and at the second asks wasm for their plan and keeps it (or null when it has none): the
   * cascade set of a placeholder id, whose every occurrence in a key is where an id goes (see
   * `plan_compact` in the Rust engine).
   */
  plan(entity, op) {
    let byOp = this.#plans.get(entity);
    if (byOp === undefined) this.#plans.set(entity, (byOp = [undefined, undefined, undefined]));
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
    // Every number is read before a `ruleId` fetch may grow the memory (see readCompactSet).
    const p = at >>> 2;
    const { n, end, text } = compactText(p);
    const meta = u32Memory();
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
      // Cascades answered since `record()` last recorded them.
      hits: 0,
    };
    const keys = new Array(n);
    const rules = new Uint32Array(n);
    let at8 = 0;
    for (let i = 0, m = p + SET_HEADER; i < n; i++, m += ENTRY) {
      keys[i] = text.slice(at8, (at8 += meta[m]));
      rules[i] = meta[m + 1];
      plan.from[i] = meta[m + 2] - 1;
      plan.depths[i] = meta[m + 3];
      plan.coarse[i] = meta[m + 4] & COARSE;
      plan.pattern[i] = (meta[m + 4] & PATTERN) === PATTERN ? 1 : 0;
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
   * each key split where they are. Answers splice the values in (`#spellValues`).
   */
  #planData(change, shape) {
    const code = this.#inner.planMark();
    if (code === 0) return undefined;
    const mark = String.fromCharCode(code);
    const stand = (i) => `${mark}${i}${mark}`;
    const op = change.op === undefined ? 0 : OPS[change.op];
    const [data, before] = markedData(change.data, stand, change.before);
    const at = call(() => this.#inner.planCompactData(change.entity, op, stand(0), data, before));
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
   * The cascade set of a change from its plan, or undefined when the plan cannot answer for it
   * (then wasm does): `id` for a change without data, or the `values` of its data's shape (the
   * id first; see #spellValues).
   */
  answer(plan, idOrValues) {
    const texts = typeof idOrValues === "string" ? this.#spellId(plan, idOrValues) : this.#spellValues(plan, idOrValues);
    const set = texts === undefined ? undefined : planSet(plan, texts);
    if (set === undefined) return undefined;
    if (plan.hits++ === 0) this.#planned.push(plan);
    return set;
  }

  /**
   * One batch's cascade set from the plans of its changes, or undefined when any change has none
   * or cannot be answered by it: the sets of the changes in order, each key where it first
   * appears (as wasm's batch run adds them), recorded in the stats as that run would record it.
   */
  batch(changes) {
    const count = changes.length;
    if (count === 0) return undefined;
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
    return { keys, patterns, tags: [...keys, ...patterns], trace, depth, truncated };
  }

  /** After a cascade of `change` succeeded in wasm: counts it toward its plan (see plan, noteShape). */
  noteCascade(change) {
    if (dataless(change)) {
      const entity = change.entity;
      if (!wellFormed(entity, "")) return;
      const op = change.op === undefined ? 0 : OPS[change.op];
      const plan = this.#plans.get(entity)?.[op];
      if (plan === undefined || plan === false) this.plan(entity, op);
      return;
    }
    const shape = dataShape(change, this.#shapes);
    if (shape !== undefined) this.noteShape(change, shape);
  }

  /** As `noteCascade` for a change with data of this shape: planned at the shape's second cascade. */
  noteShape(change, shape) {
    const plan = this.#dataPlans.get(shape.key);
    if (plan === undefined && this.#dataPlans.size < MAX_DATA_PLANS) this.#dataPlans.set(shape.key, false);
    else if (plan === false) this.#dataPlans.set(shape.key, this.#planData(change, shape) ?? null);
  }

  /** Forgets every plan, after recording what they answered: they were made for the old rules. */
  rulesChanged() {
    this.record();
    this.#plans = new Map();
    this.#dataPlans = new Map();
  }

  /** Records in wasm's stats the cascades plans answered since the last call. */
  record() {
    for (const plan of this.#planned) {
      this.#inner.recordPlanned(plan.hits, plan.depth, plan.n, plan.edgeSlots);
      this.#recordedPlanned += plan.hits;
      plan.hits = 0;
    }
    this.#planned = [];
  }

  /** How many cascades plans answered (tests). */
  plannedCascades() {
    let n = this.#recordedPlanned;
    for (const plan of this.#planned) n += plan.hits;
    return n;
  }

  /** How many batches plans answered (tests). */
  plannedBatches() {
    return this.#plannedBatches;
  }
}
