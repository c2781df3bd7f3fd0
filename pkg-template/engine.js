// CascadeEngine: the JS face of the Rust engine (SPEC §8). It converts arguments and results
// (structured data crosses into wasm as JSON text, cascade sets come back in the compact form:
// sets.js), and keeps in JS what is cheaper here: plans of repeated cascades (plans.js), the
// changesFromMutation walk (mutation.js), the schema view (schema.js).
import { WasmEngine } from "./cascade_edge.js";
import { codedError, freedInner, requireString, toJson, useAfterFree, wellFormed } from "./errors.js";
import { changesFromResponse } from "./mutation.js";
import { Planner } from "./plans.js";
import { buildSchema, entityLookup } from "./schema.js";
import { readCompactSet } from "./sets.js";
import { OPS, dataless } from "./shapes.js";
import { call, encoder, u8Memory, writeText } from "./wasm.js";

// Without a logger, one cascade in this many is timed for `stats().averageTimeMs` (see #compact).
const TIME_EVERY = 16;
// The size of an engine's input buffer; a longer entity + id (a key is at most MAX_KEY_LEN bytes)
// passes strings instead.
const INPUT_SIZE = 2048;

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

/**
 * Every LruCache (lru.js adds each as it is made): what `graph({ cache })` accepts. A registry
 * rather than `instanceof`, so the engine needs nothing of lru.js, which builds on it.
 */
export const lruCaches = new WeakSet();

/** Derives cascade rules from a GraphQL schema and computes what to purge after a change. */
export class CascadeEngine {
  #inner;
  // The cache most recently attached (`new LruCache({ engine })`): graph() counts its keys per edge.
  #cache;
  // Rule ids by index, fetched from wasm on first use; reset whenever the rules change.
  #ruleIds = [];
  #ruleIdOf = (index) => this.#ruleId(index);
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
  // The plans of repeated cascades (plans.js). null when plans are off: with a logger (each
  // cascade logs from wasm), or `_noPlan` (tests compare both ways).
  #planner = null;
  // changesFromMutation walks plain responses here (see changesFromMutation) unless `_noPlan`.
  #walkHere = false;
  // `engine.schema`, built on first use (it never changes), and its lookup of entities by name.
  #schema;
  #entities;
  #freed = false;

  /** @internal use `CascadeEngine.fromSchema` or `CascadeEngine.fromJSON`. */
  constructor(inner, timed = false, planned = false) {
    if (!(inner instanceof WasmEngine)) {
      throw codedError("INVALID_ARGUMENT", "use CascadeEngine.fromSchema(sdl, options) or CascadeEngine.fromJSON(json)");
    }
    this.#inner = inner;
    this.#timed = timed === true;
    if (this.#timed && planned === true) this.#planner = new Planner(inner, this.#ruleIdOf);
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
    const u8 = u8Memory();
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
   * Runs one compact cascade export and reads its result. When wasm has no clock it is timed
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
    return at === 0 ? undefined : readCompactSet(at >>> 2, this.#ruleIds, this.#ruleIdOf);
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

  /** A plan's answer for a change (see Planner#answer), timed as #compact times such cascades. */
  #answer(plan, idOrValues) {
    const timed = this.#untilSample === 0;
    const t0 = timed ? now() : 0;
    const set = this.#planner.answer(plan, idOrValues);
    if (set !== undefined) this.#countSampled(timed, t0);
    return set;
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
    this.#planner = null;
    this.#inputAt = 0;
    this.#cache = undefined;
    this.#ruleIds = [];
    this.#walkHere = false;
    this.#schema = undefined;
    this.#entities = undefined;
    inner.free();
  }

  /**
   * What JS reads of the schema: entities by type name and by keyspace, their key fields and
   * to-many fields, the delimiter. Built on first use; read-only.
   */
  get schema() {
    if (this.#freed) throw useAfterFree("CascadeEngine");
    return (this.#schema ??= buildSchema(this.entities(), this.relationships(), this.#inner.delimiter()));
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
    this.#planner?.rulesChanged();
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
    const planner = this.#planner;
    if (dataless(change)) {
      const entity = change.entity;
      const id = typeof change.id === "string" ? change.id : String(change.id);
      const op = change.op === undefined ? 0 : OPS[change.op];
      const plan = planner === null ? null : planner.lookup(entity, op);
      if (plan) {
        // #answer by hand: one call less keeps the most frequent cascade as fast as it was (measured).
        const timed = this.#untilSample === 0;
        const t0 = timed ? now() : 0;
        const set = planner.answer(plan, id);
        if (set !== undefined) {
          this.#countSampled(timed, t0);
          return set;
        }
      }
      if (this.#writeInput(entity, id)) {
        // 0 means the change was refused: the string export throws the error.
        const set = this.#compact(() => this.#inner.cascadeInput(entity.length, id.length, op) || this.#inner.cascadeIdCompact(entity, id, op), true);
        // The entity is known (the cascade succeeded) and ASCII (it crossed as such): plan it.
        if ((plan === undefined || plan === false) && planner !== null) planner.plan(entity, op);
        return set;
      }
      if (wellFormed(entity, id)) return this.#compact(() => this.#inner.cascadeIdCompact(entity, id, op), true);
    }
    // JSON would turn a NaN or infinite id into null, which reads as a missing id.
    if (typeof change?.id === "number" && !Number.isFinite(change.id)) {
      throw codedError("INVALID_CHANGE", `\`id\` must be a string or a finite number, not ${change.id}`);
    }
    const shape = planner === null ? undefined : planner.shape(change);
    const plan = shape === undefined ? undefined : planner.dataPlan(shape.key);
    if (plan) {
      const set = this.#answer(plan, shape.values);
      if (set !== undefined) return set;
    }
    const text = toJson(change, "the change");
    const set = this.#compact(() => this.#inner.cascadeCompact(text));
    if (shape !== undefined) planner.noteShape(change, shape);
    return set;
  }

  /** One deduplicated cascade set for several changes. */
  cascadeBatch(changes) {
    if (!Array.isArray(changes)) throw codedError("INVALID_CHANGE", "cascadeBatch takes an array of changes");
    const planner = this.#planner;
    if (planner === null) return this.#compact(() => this.#inner.cascadeBatchCompact(toJson(changes, "the changes")));
    // Plans exist only when cascades are timed here (no logger).
    const t0 = now();
    const planned = planner.batch(changes);
    if (planned !== undefined) {
      this.#pendingMs += now() - t0;
      return planned;
    }
    const text = toJson(changes, "the changes");
    const set = this.#compact(() => this.#inner.cascadeBatchCompact(text));
    // Each change counts toward its plan as a cascade of its own would.
    if (set !== undefined) for (const change of changes) planner.noteCascade(change);
    return set;
  }

  /**
   * The entity changes in a GraphQL response (`__typename` plus key fields). A change's `data`
   * is the response's own object when the response is plain JSON data (then it is walked here:
   * mutation.js), a copy otherwise (then wasm walks its JSON text).
   */
  changesFromMutation(response) {
    const changes = this.#walkHere ? changesFromResponse(response, (this.#entities ??= entityLookup(this.schema)), this.schema.delimiter) : undefined;
    return changes ?? JSON.parse(call(() => this.#inner.changesFromMutation(toJson(response, "the response"))));
  }

  /** The rule graph as text (`tree`, `dot`, `mermaid`) or an object (`json`). */
  graph(options = {}) {
    const format = options?.format ?? "tree";
    requireString(format, "`format`");
    const cache = options?.cache ?? this.#cache;
    const text = call(() =>
      lruCaches.has(cache) ? this.#inner.graphWithCache(format, cache._inner()) : this.#inner.graph(format),
    );
    return format === "json" ? JSON.parse(text) : text;
  }

  /** Counters and timings. */
  stats() {
    this.#planner?.record();
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
    if (this.#planner !== null && !key.includes("%")) {
      const { delimiter: d, byKeyspace } = this.schema;
      const at = key.indexOf(d);
      if (at > 0) {
        const entity = key.slice(0, at);
        const id = key.slice(at + d.length);
        if (id !== "" && id !== "*" && !id.includes(d) && byKeyspace.has(entity) && wellFormed(entity, id)) {
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
    return this.#planner?.plannedCascades() ?? 0;
  }

  /** @internal how many batches plans answered (tests). */
  _plannedBatches() {
    return this.#planner?.plannedBatches() ?? 0;
  }

  /** @internal counts keys purged through a backend, for `stats().keysPerBackend`. */
  _recordPurge(backend, count) {
    this.#inner.recordPurge(backend, count);
  }
}
