// cascade-edge benchmarks from JS, side by side with what users would pick instead, in one run.
//
//   npm run bench                 # the full run (a few minutes; builds nothing: run `npm run build` first)
//   node bench/run.mjs --smoke    # every benchmark for a few iterations (part of `make test`; asserts no timings)
//   node bench/run.mjs --only=lru,lru-set-cost,invalidation,cascade,mutation,startup,size,memory
//
// Every table reports ratios against the peers measured in the same process, since the machine is
// noisy; absolute numbers are there to read, not to compare across runs.
import { LRUCache as LruCachePeer } from "lru-cache";
import QuickLRU from "quick-lru";
import { LRUCache as MnemonistLru } from "mnemonist";
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { gzipSync } from "node:zlib";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..");
// CASCADE_EDGE_PKG=<dir> measures another build (e.g. a copy of pkg/ from before a change);
// CASCADE_EDGE_BASE=<dir> runs one beside this one, alternated in one process (`mutation` only).
const pkg = process.env.CASCADE_EDGE_PKG ?? join(root, "pkg");
const args = process.argv.slice(2);
const smoke = args.includes("--smoke");
const only = args.find((a) => a.startsWith("--only="))?.slice(7).split(",");
const child = args.find((a) => a.startsWith("--child="))?.slice(8);
const wanted = (section) => !only || only.includes(section);
// The package's wasm builds: the full one, and the edge one (no SDL parser) when the package has it.
const BUILDS = [["full", pkg], ["edge", join(pkg, "edge")]].filter(([, dir]) => existsSync(join(dir, "cascade_edge_bg.wasm")));

if (!existsSync(join(pkg, "cascade_edge_bg.wasm"))) {
  console.error("pkg/ is not built: run `npm run build` (node scripts/build-pkg.mjs) first");
  process.exit(1);
}
const ce = await import(pathToFileURL(join(pkg, "node.js")).href);

/** A real-world schema of `tests/fixtures/schemas/` (`github.graphql`, `swapi.graphql`). */
function fixture(name) {
  return readFileSync(join(root, "tests", "fixtures", "schemas", name), "utf8");
}

const BLOG_SDL = `
type User { id: ID! name: String posts: [Post!]! }
type Post { id: ID! title: String status: String author: User! comments: [Comment!]! }
type Comment { id: ID! body: String author: User! post: Post! }
type Query { user(id: ID!): User posts: [Post!]! }
`;

// --- timing ------------------------------------------------------------------------------------

const nowNs = () => process.hrtime.bigint();
let sink = 0;

/**
 * Runs `fn(n)` (which performs n operations) until `budgetMs` has passed, after one warm-up call;
 * returns nanoseconds per operation (the best of the rounds, the least disturbed by neighbours).
 */
function measure(fn, { ops, budgetMs = smoke ? 5 : 300, rounds = smoke ? 1 : 5 }) {
  fn(Math.min(ops, smoke ? 100 : ops));
  let best = Infinity;
  const deadline = Date.now() + budgetMs;
  for (let r = 0; r < rounds || (Date.now() < deadline && r < 20); r++) {
    const t0 = nowNs();
    fn(ops);
    best = Math.min(best, Number(nowNs() - t0) / ops);
    if (smoke) break;
  }
  return best;
}

const fmtNs = (ns) => {
  // A difference of two noisy timings can be negative: the unit goes by its size.
  const size = Math.abs(ns);
  return size >= 1e6 ? `${(ns / 1e6).toFixed(2)} ms` : size >= 1e3 ? `${(ns / 1e3).toFixed(2)} µs` : `${ns.toFixed(1)} ns`;
};
const fmtOps = (ns) => {
  const ops = 1e9 / ns;
  return ops >= 1e6 ? `${(ops / 1e6).toFixed(2)} M/s` : ops >= 1e3 ? `${(ops / 1e3).toFixed(1)} k/s` : `${ops.toFixed(1)} /s`;
};

function table(title, header, rows) {
  const cells = [header, ...rows].map((r) => r.map(String));
  const widths = header.map((_, i) => Math.max(...cells.map((r) => r[i].length)));
  const line = (r) => `| ${r.map((c, i) => c.padEnd(widths[i])).join(" | ")} |`;
  console.log(`\n### ${title}\n`);
  console.log(line(cells[0]));
  console.log(`|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`);
  for (const r of cells.slice(1)) console.log(line(r));
}

// --- LRU caches behind one interface ------------------------------------------------------------

const caches = {
  "cascade-edge": (max) => {
    const c = new ce.LruCache({ maxEntries: max });
    return { get: (k) => c.get(k), set: (k, v) => c.set(k, v), raw: c };
  },
  "lru-cache": (max) => {
    const c = new LruCachePeer({ max });
    return { get: (k) => c.get(k), set: (k, v) => c.set(k, v), raw: c };
  },
  "quick-lru": (max) => {
    const c = new QuickLRU({ maxSize: max });
    return { get: (k) => c.get(k), set: (k, v) => c.set(k, v), raw: c };
  },
  mnemonist: (max) => {
    const c = new MnemonistLru(max);
    return { get: (k) => c.get(k), set: (k, v) => c.set(k, v), raw: c };
  },
};
const peers = Object.keys(caches).filter((n) => n !== "cascade-edge");

/** `count` distinct keys: `short` (`k:123`), `25 B` (20–30 bytes) or `100 B`; `salt` makes another set. */
function makeKeys(count, kind, salt = "") {
  const pad = "x".repeat(100 - 24);
  const keys = new Array(count);
  for (let i = 0; i < count; i++) {
    keys[i] = kind === "short" ? `k${salt}:${i}`
      : kind === "25 B" ? `user:${salt}${String(i).padStart(6, "0")}:profile:${"ab".repeat(1 + (i % 4))}`
      : `page:${pad}${salt}:${String(i).padStart(12, "0")}`;
  }
  return keys;
}

/** A fixed pseudo-random order of indexes (so every cache sees the same access pattern). */
function shuffled(count, length) {
  const out = new Uint32Array(length);
  let x = 0x9e3779b9;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = (x >>> 0) % count;
  }
  return out;
}

/**
 * The loops of `lruBench` for one cache, compiled apart for each (`new Function`): V8 keeps
 * call-site feedback per compiled function, so loops shared by every cache would inline the first
 * one measured and call the others through a megamorphic site, favouring whichever runs first.
 */
const LRU_LOOPS = `
  let flip = 0;
  return {
    "get hit": (n) => {
      let s = 0;
      for (let i = 0; i < n; i++) s += full.get(keys[order[i % ops]]);
      return s;
    },
    "get miss": (n) => {
      let s = 0;
      for (let i = 0; i < n; i++) s += full.get(missing[order[i % ops]]) === undefined ? 1 : 0;
      return s;
    },
    // Inserting into a cache with room: a fresh cache per round, filled with \`size\` keys.
    set: (n) => {
      const c = make(size);
      for (let i = 0; i < n; i++) c.set(keys[i], i);
      return 0;
    },
    // Overwriting keys that are cached (a refresh).
    "set existing": (n) => {
      for (let i = 0; i < n; i++) full.set(keys[order[i % ops]], i);
      return 0;
    },
    // Every set evicts the least recent entry: alternate between two key sets.
    "set with eviction": (n) => {
      const from = flip++ % 2 === 0 ? missing : keys;
      for (let i = 0; i < n; i++) full.set(from[i % size], i);
      return 0;
    },
  };`;
const lruLoops = (env) => new Function(...Object.keys(env), LRU_LOOPS)(...Object.values(env));

function lruBench() {
  const runs = smoke ? [[1000, "short"]] : [
    [10_000, "short"], [10_000, "25 B"], [10_000, "100 B"], [1_000_000, "short"], [1_000_000, "100 B"],
  ];
  const rows = [];
  for (const [size, kind] of runs) {
    const keys = makeKeys(size, kind);
    const missing = makeKeys(size, kind, "m");
    const order = shuffled(size, Math.min(size, 200_000));
    const ops = order.length;
    const results = {};
    for (const [name, make] of Object.entries(caches)) {
      const full = make(size);
      for (let i = 0; i < size; i++) full.set(keys[i], i);
      const loops = lruLoops({ full, make, size, keys, missing, order, ops });
      const run = (op) => (n) => {
        sink += loops[op](n);
      };
      results[name] = {
        "get hit": measure(run("get hit"), { ops }),
        "get miss": measure(run("get miss"), { ops }),
        set: measure(run("set"), { ops: size, rounds: size > 100_000 ? 2 : 5, budgetMs: smoke ? 5 : 200 }),
        "set existing": measure(run("set existing"), { ops }),
        "set with eviction": measure(run("set with eviction"), { ops: Math.min(size, 200_000) }),
      };
    }
    for (const op of ["get hit", "get miss", "set", "set existing", "set with eviction"]) {
      const ours = results["cascade-edge"][op];
      rows.push([
        `${size >= 1e6 ? `${size / 1e6}M` : `${size / 1e3}k`} ${kind} keys`,
        op,
        fmtOps(ours),
        ...peers.map((p) => `${(results[p][op] / ours).toFixed(2)}× (${fmtOps(results[p][op])})`),
      ]);
    }
  }
  table("LRU from JS (ops/s; ratio = cascade-edge ops/s ÷ peer ops/s, > 1 means cascade-edge is faster)",
    ["entries, keys", "operation", "cascade-edge", ...peers], rows);
}

// --- where an LRU set's time goes ---------------------------------------------------------------

/**
 * A copy of the package whose `LruCache` never calls wasm on a plain set of a new key: slots are
 * handed out in order and, once full, the oldest is evicted (what wasm does when nothing is read),
 * and keys are never given to wasm. It measures the JS half of a set alone; the patches fail
 * loudly when lru.js no longer has the lines they replace.
 */
async function jsOnlyLru() {
  const dir = mkdtempSync(join(tmpdir(), "cascade-edge-js-only-"));
  cpSync(pkg, dir, { recursive: true });
  let lru = readFileSync(join(dir, "lru.js"), "utf8");
  const patch = (from, to) => {
    if (!lru.includes(from)) throw new Error(`bench: lru.js has no \`${from}\` to stub any more; update jsOnlyLru`);
    lru = lru.replace(from, to);
  };
  patch("this.#inner.setKeyless(len, bytes)", "this.#stubSet()");
  patch("  #provide() {\n", "  #provide() {\n    this.#keylessCount = 0;\n    return;\n");
  patch("this.#inner.indexWaiting();", "");
  patch("  #freed = false;\n\n  constructor(options = {}) {",
    "  #freed = false;\n  #stubNext = 0;\n  #stubMax = 0;\n  #stubSet() {\n" +
    "    const s = this.#stubNext++ % this.#stubMax;\n" +
    "    return this.#stubNext <= this.#stubMax ? s : (s + 1) * PACK + s;\n  }\n\n  constructor(options = {}) {");
  patch("    this.#engine = engine;\n", "    this.#engine = engine;\n    this.#stubMax = maxEntries;\n");
  writeFileSync(join(dir, "lru.js"), lru);
  try {
    return await import(pathToFileURL(join(dir, "node.js")).href);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function lruSetCostBench() {
  const stub = await jsOnlyLru();
  const size = smoke ? 1000 : 10_000;
  const rows = [];
  const impls = {
    "lru-cache": (max) => new LruCachePeer({ max }),
    "cascade-edge": (max) => new ce.LruCache({ maxEntries: max }),
    "cascade-edge, JS half only (wasm stubbed)": (max) => new stub.LruCache({ maxEntries: max }),
  };
  for (const long of [false, true]) {
    const keys = makeKeys(size, long ? "100 B" : "short");
    const other = makeKeys(size, long ? "100 B" : "short", "m");
    const results = {};
    for (let round = 0; round < (smoke ? 1 : 3); round++) {
      for (const [name, make] of Object.entries(impls)) {
        const r = (results[name] ??= { set: Infinity, evict: Infinity });
        const set = measure((n) => {
          const c = make(size);
          for (let i = 0; i < n; i++) c.set(keys[i], i);
          c.free?.();
        }, { ops: size, rounds: 5, budgetMs: smoke ? 5 : 200 });
        const full = make(size);
        for (let i = 0; i < size; i++) full.set(keys[i], i);
        let flip = 0;
        const evict = measure((n) => {
          const from = flip++ % 2 === 0 ? other : keys;
          for (let i = 0; i < n; i++) full.set(from[i % size], i);
        }, { ops: size });
        full.free?.();
        r.set = Math.min(r.set, set);
        r.evict = Math.min(r.evict, evict);
      }
    }
    const peer = results["lru-cache"];
    for (const [name, r] of Object.entries(results)) {
      rows.push([`${size / 1000}k ${long ? "100 B" : "short"} keys`, name, fmtNs(r.set), `${(peer.set / r.set).toFixed(2)}×`,
        fmtNs(r.evict), `${(peer.evict / r.evict).toFixed(2)}×`]);
    }
  }
  table("Where an LRU set's time goes: the JS half of cascade-edge's set alone (its wasm calls stubbed) against lru-cache's whole set (ratio = lru-cache time ÷ this time)",
    ["keys", "cache", "set (fresh cache)", "× lru-cache", "set with eviction", "× lru-cache"], rows);
}

// --- invalidation on 1M keys --------------------------------------------------------------------

function invalidationBench() {
  const total = smoke ? 20_000 : 1_000_000;
  const groups = smoke ? [10, 1000] : [10, 1000, 100_000];
  const groupKeys = new Map(groups.map((g) => [g, Array.from({ length: g }, (_, i) => `g${g}:item:${i}`)]));
  const rest = total - groups.reduce((a, b) => a + b, 0);
  const filler = Array.from({ length: rest }, (_, i) => `post:${i}:comments`);
  const fill = (c) => {
    for (const k of filler) c.set(k, 1);
    for (const ks of groupKeys.values()) for (const k of ks) c.set(k, 1);
  };
  const ours = new ce.LruCache({ maxEntries: total });
  const peer = new LruCachePeer({ max: total });
  fill(ours);
  fill(peer);
  // Keys set without options wait for the invalidation index until something needs it: the
  // first invalidation after the fill indexes all of them, once. Timed apart from the rows.
  let t0 = nowNs();
  if (ours.invalidate("absent").length !== 0) throw new Error("an absent key removed keys");
  const firstIndex = Number(nowNs() - t0);
  const rows = [];
  const timeIt = (setup, act, reps) => {
    let best = Infinity;
    for (let r = 0; r < reps; r++) {
      setup();
      const t0 = nowNs();
      act();
      best = Math.min(best, Number(nowNs() - t0));
    }
    return best;
  };
  for (const g of groups) {
    const ks = groupKeys.get(g);
    const reps = smoke ? 1 : g >= 100_000 ? 3 : 5;
    const refill = (c) => () => {
      for (const k of ks) c.set(k, 1);
    };
    const tPattern = timeIt(refill(ours), () => {
      if (ours.invalidatePattern(`g${g}:*`).length !== g) throw new Error("pattern removed the wrong keys");
    }, reps);
    const tKey = timeIt(refill(ours), () => {
      if (ours.invalidate(`g${g}`).length !== g) throw new Error("hierarchy removed the wrong keys");
    }, reps);
    const tScan = timeIt(refill(peer), () => {
      const prefix = `g${g}:`;
      let n = 0;
      for (const k of peer.keys()) if (k.startsWith(prefix)) {
        peer.delete(k);
        n++;
      }
      if (n !== g) throw new Error("scan removed the wrong keys");
    }, smoke ? 1 : 3);
    rows.push([
      `${g} of ${total}`,
      fmtNs(tPattern),
      fmtNs(tKey),
      fmtNs(tScan),
      `${(tScan / tPattern).toFixed(0)}×`,
      `${(tScan / tKey).toFixed(0)}×`,
      `${fmtNs(tPattern / g)}/key`,
    ]);
  }
  table("Pattern and hierarchy invalidation (ratio = lru-cache scan time ÷ cascade-edge time)",
    ["keys removed", "invalidatePattern(`gN:*`)", "invalidate(`gN`)", "lru-cache + prefix scan", "pattern ratio", "hierarchy ratio", "pattern cost"],
    rows);
  // Keys set without options wait for the index; every 4096 such sets are indexed as a batch, so
  // this call indexes the rest (at most 4096): it is the longest pause an invalidation takes.
  console.log(`\nThe first invalidation after filling ${total} keys (it indexes the keys still waiting, at most 4096): ` +
    `${fmtNs(firstIndex)}.`);
}

// --- cascade ------------------------------------------------------------------------------------

function cascadeBench() {
  const schemas = { blog: BLOG_SDL, swapi: fixture("swapi.graphql"), github: fixture("github.graphql") };
  const rows = [];
  for (const [name, sdl] of Object.entries(schemas)) {
    if (smoke && name === "github") continue;
    const engine = ce.CascadeEngine.fromSchema(sdl);
    // Changes on the entities that fire the most rules, with ids cycling so nothing is memoised.
    const byEntity = new Map();
    for (const r of engine.rules()) byEntity.set(r.entity, (byEntity.get(r.entity) ?? 0) + 1);
    const entity = name === "blog" ? "post" : [...byEntity].sort((a, b) => b[1] - a[1])[0][0];
    const changes = Array.from({ length: 1000 }, (_, i) => ({ entity, id: String(i + 1) }));
    const setSize = engine.cascade(changes[0]);
    const single = measure((n) => {
      for (let i = 0; i < n; i++) sink += engine.cascade(changes[i % 1000]).keys.length;
    }, { ops: smoke ? 10 : name === "blog" ? 20_000 : 2000, rounds: 3 });
    // The same changes carrying data, as changesFromMutation gives them (blog: the post's author;
    // elsewhere its id): answered from the plan of their data's shape after the second.
    // (Written out as object literals, as changesFromMutation's JSON gives them: objects made by
    // spreading read ~2.5x slower in V8 on this path, whatever the engine does.)
    const withData = changes.map((c) => ({ entity: c.entity, id: c.id, data: name === "blog" ? { author_id: "123" } : { id: c.id } }));
    const data = measure((n) => {
      for (let i = 0; i < n; i++) sink += engine.cascade(withData[i % 1000]).keys.length;
    }, { ops: smoke ? 10 : name === "blog" ? 20_000 : 2000, rounds: 3 });
    const batch = measure((n) => {
      for (let i = 0; i < n; i++) sink += engine.cascadeBatch(changes).keys.length;
    }, { ops: smoke ? 1 : 3, rounds: 3 });
    // Freed now: an engine left to the GC keeps its wasm memory and slows the startup rows.
    engine.free?.();
    rows.push([
      name,
      `${entity} (${setSize.keys.length} keys, ${setSize.patterns.length} patterns)`,
      fmtNs(single),
      name === "blog" ? `${(1000 / single).toFixed(2)}× of the 1 µs target` : "",
      fmtNs(data),
      fmtNs(batch),
      fmtNs(batch / 1000),
    ]);
  }
  table("Cascade from JS (per call; target ≤ 1 µs per single change on the blog schema)",
    ["schema", "change", "cascade(change)", "vs target", "cascade(change with data)", "cascadeBatch(1000)", "per change in batch"], rows);
}

/**
 * The mutation path of the Yoga plugin: the changes in a mutation's response, then one cascade
 * set for them. A blog `createPost` response with its author, ids cycling. With
 * CASCADE_EDGE_BASE=<dir> (another build, e.g. a copy of pkg/ from before a change), that build
 * runs in the same process, each step alternated with this one's round by round, and the table
 * gives both and the ratio.
 */
async function mutationBench() {
  const base = process.env.CASCADE_EDGE_BASE;
  const builds = [ce];
  if (base !== undefined) builds.push(await import(pathToFileURL(join(base, "node.js")).href));
  const responses = Array.from({ length: 1000 }, (_, i) => ({
    data: {
      createPost: {
        __typename: "Post",
        id: String(i + 1),
        title: "Hello",
        status: "published",
        author: { __typename: "User", id: String(i % 50), name: "Ada" },
      },
    },
  }));
  const runs = builds.map((build) => {
    const engine = build.CascadeEngine.fromSchema(BLOG_SDL);
    const batches = responses.map((r) => engine.changesFromMutation(r));
    // An LRU of 20k entries holding what the sets name, as a Yoga store or a Worker keeps one.
    const cache = new build.LruCache({ maxEntries: 20_000 });
    const sets = batches.map((b) => engine.cascadeBatch(b));
    for (let i = 0; i < 20_000; i++) cache.set(`other:${i}`, i);
    return { engine, batches, cache, sets };
  });
  const steps = [
    ["changesFromMutation(response)", ({ engine }, i) => engine.changesFromMutation(responses[i % 1000]).length],
    // The post's change alone: its data is the response's post, author nested.
    ["cascade(the post's change), for comparison", ({ engine, batches }, i) => engine.cascade(batches[i % 1000][0]).keys.length],
    // A row change as the PostgreSQL watcher sends it: old and new data (a rename).
    ["cascade(a User update with data and before)", ({ engine }, i) =>
      engine.cascade({ entity: "User", id: String(i % 50), op: "update", data: { id: String(i % 50), name: "Ada" }, before: { id: String(i % 50), name: "Ann" } }).keys.length],
    ["cascadeBatch(changes)", ({ engine, batches }, i) => engine.cascadeBatch(batches[i % 1000]).keys.length],
    ["both, as the Yoga plugin runs them", ({ engine }, i) => engine.cascadeBatch(engine.changesFromMutation(responses[i % 1000])).keys.length],
    // The set's keys cached again (sets of new keys), then removed as a cache removes a cascade.
    ["cache: the set's keys set, then invalidateSet(set)", ({ cache, sets }, i) => {
      const set = sets[i % 1000];
      for (const key of set.keys) cache.set(key, i);
      return cache.invalidateSet(set).length;
    }],
  ];
  const ops = smoke ? 10 : 20_000;
  const rows = steps.map(([name, step]) => {
    // Round by round, each build in turn: a neighbour's burst lands on both.
    const best = runs.map(() => Infinity);
    for (let round = 0; round < (smoke ? 1 : base === undefined ? 4 : 12); round++) {
      runs.forEach((run, k) => {
        best[k] = Math.min(best[k], measure((n) => {
          for (let i = 0; i < n; i++) sink += step(run, i);
        }, { ops, rounds: 1, budgetMs: 0 }));
      });
    }
    return base === undefined ? [name, fmtNs(best[0])] : [name, fmtNs(best[1]), fmtNs(best[0]), `${(best[1] / best[0]).toFixed(2)}×`];
  });
  for (const { engine, cache } of runs) {
    cache.free?.();
    engine.free?.();
  }
  const header = base === undefined ? ["step", "per response"] : ["step", "CASCADE_EDGE_BASE", "this build", "speed-up"];
  table("The mutation path (blog `createPost` with its author: 2 changes)", header, rows);
}

// --- startup ------------------------------------------------------------------------------------

function node(argv) {
  return execFileSync(process.execPath, argv, { encoding: "utf8", cwd: root }).trim();
}

async function startupBench() {
  const rows = [];
  const github = smoke ? fixture("swapi.graphql") : fixture("github.graphql");
  const label = smoke ? "SWAPI (smoke)" : "GitHub";
  const reps = smoke ? 1 : 3;
  let best = Infinity;
  let engine;
  for (let i = 0; i < reps; i++) {
    engine?.free?.();
    const t0 = nowNs();
    engine = ce.CascadeEngine.fromSchema(github);
    best = Math.min(best, Number(nowNs() - t0));
  }
  rows.push([`fromSchema(${label})`, fmtNs(best), smoke ? "" : `${(100e6 / best).toFixed(2)}× of the 100 ms target`]);
  const compiled = JSON.stringify(engine.toJSON());
  // Each load is timed alone and its engine freed outside the timing: engines left to the GC keep
  // their wasm memory and slow every later load in the process (builds without free() skip it).
  const loadTime = (text) => {
    let fastest = Infinity;
    for (let i = 0; i < (smoke ? 1 : 30); i++) {
      const t0 = nowNs();
      const loaded = ce.CascadeEngine.fromJSON(text);
      fastest = Math.min(fastest, Number(nowNs() - t0));
      loaded.free?.();
    }
    return fastest;
  };
  const fromJson = loadTime(compiled);
  rows.push([`fromJSON(${label} rules, ${(compiled.length / 1024).toFixed(0)} KB)`, fmtNs(fromJson), smoke ? "" : `${(2e6 / fromJson).toFixed(2)}× of the 2 ms target`]);
  // Format version 2 (slim: auto rules derived again on load); builds without it skip the row.
  const slim = (() => { try { return JSON.stringify(engine.toJSON({ version: 2 })); } catch { return undefined; } })();
  if (slim !== undefined && JSON.parse(slim).version === 2) {
    const fromSlim = loadTime(slim);
    rows.push([`fromJSON(${label} rules, version 2, ${(slim.length / 1024).toFixed(0)} KB)`, fmtNs(fromSlim), smoke ? "" : `${(2e6 / fromSlim).toFixed(2)}× of the 2 ms target`]);
  }
  // A Worker's cold start: the load, then the first cascade on the new engine (which builds the
  // auto rules it reaches). In fresh processes, as a cold start is: in this one, the engines the
  // rows above made hold their wasm memory until the GC finalizes them, and slow every load down.
  const firstEntity = smoke ? engine.entities()[0].keyspace : "user";
  const firstScript = `const text=require("fs").readFileSync(0,"utf8");` +
    `import(${JSON.stringify(pathToFileURL(join(pkg, "node.js")).href)}).then(ce=>{let best=Infinity;` +
    `for(let i=0;i<${smoke ? 1 : 10};i++){const t0=process.hrtime.bigint();` +
    `ce.CascadeEngine.fromJSON(text).cascade({entity:${JSON.stringify(firstEntity)},id:"1"});` +
    `best=Math.min(best,Number(process.hrtime.bigint()-t0))}console.log(best)})`;
  const firstTimes = Array.from({ length: smoke ? 1 : 3 }, () =>
    Number(execFileSync(process.execPath, ["-e", firstScript], { input: compiled, encoding: "utf8", cwd: root }).trim()));
  rows.push([`fromJSON + first cascade (${firstEntity}:1), fresh processes`, fmtNs(Math.min(...firstTimes)), ""]);

  // Instantiation in a fresh process: compile + instantiate + the start function, for each build.
  for (const [build, dir] of BUILDS) {
    const wasmFile = join(dir, "cascade_edge_bg.wasm");
    const glueUrl = pathToFileURL(join(dir, "cascade_edge.js")).href;
    const script = `const b=require('fs').readFileSync(${JSON.stringify(wasmFile)});` +
      `import(${JSON.stringify(glueUrl)}).then(g=>{const t0=process.hrtime.bigint();` +
      `g.initSync({module:new WebAssembly.Module(b)});console.log(Number(process.hrtime.bigint()-t0))})`;
    const nodeTimes = Array.from({ length: smoke ? 1 : 5 }, () => Number(node(["-e", script])));
    rows.push([`instantiate in Node (compile + instantiate), ${build} build`, fmtNs(Math.min(...nodeTimes)), ""]);
  }
  // workerd: miniflare boots a worker; its first request instantiates the module. The same boot
  // with a worker that has no wasm is the baseline, so the difference is the wasm's share.
  try {
    const { Miniflare } = await import("miniflare");
    const boot = async (dir) => {
      const worker = dir
        ? `import module from "./cascade_edge_bg.wasm"; import { initSync } from "./cascade_edge.js";
           export default { fetch() { initSync({ module }); return new Response("ok"); } };`
        : `export default { fetch() { return new Response("ok"); } };`;
      const modules = [{ type: "ESModule", path: "worker.mjs", contents: worker }];
      if (dir) {
        modules.push({ type: "ESModule", path: "cascade_edge.js", contents: readFileSync(join(dir, "cascade_edge.js"), "utf8") });
        modules.push({ type: "CompiledWasm", path: "cascade_edge_bg.wasm", contents: readFileSync(join(dir, "cascade_edge_bg.wasm")) });
      }
      const t0 = nowNs();
      const mf = new Miniflare({ modules, compatibilityDate: "2024-09-23" });
      await (await mf.dispatchFetch("http://localhost/")).text();
      const took = Number(nowNs() - t0);
      await mf.dispose();
      return took;
    };
    const tries = smoke ? 1 : 3;
    let plain = Infinity;
    const took = BUILDS.map(() => Infinity);
    for (let i = 0; i < tries; i++) {
      plain = Math.min(plain, await boot(null));
      for (const [b, [, dir]] of BUILDS.entries()) took[b] = Math.min(took[b], await boot(dir));
    }
    // workerd freezes its clock inside a request (Spectre mitigation), so the time is taken from outside.
    for (const [b, [build]] of BUILDS.entries()) {
      rows.push([`workerd boot + first request, with the ${build} build's wasm (miniflare)`, fmtNs(took[b]), `without: ${fmtNs(plain)}; difference ${fmtNs(took[b] - plain)}`]);
    }
  } catch (error) {
    rows.push(["instantiate in workerd", "skipped", String(error.message).slice(0, 60)]);
  }
  table("Startup", ["what", "time", "vs target"], rows);
}

// --- size and memory ----------------------------------------------------------------------------

function sizeBench() {
  const label = { full: "cascade-edge (full: fromSchema and fromJSON)", edge: "cascade-edge/edge (fromJSON only, no SDL parser)" };
  const rows = BUILDS.map(([build, dir]) => {
    const wasm = readFileSync(join(dir, "cascade_edge_bg.wasm"));
    const gz = gzipSync(wasm, { level: 9 }).length;
    return [label[build], `${(wasm.length / 1024).toFixed(1)} KB`, `${(gz / 1024).toFixed(1)} KB`];
  });
  table("Size of the wasm (the edge build: ≤ 250 KB raw, ≤ 100 KB gzip; the full build carries graphql-parser)", ["build", "raw", "gzip"], rows);
}

/** Runs in a child process (`--child=mem:<impl>:<count>`): bytes per entry beyond key and value. */
async function memoryChild(spec) {
  const [, impl, countText] = spec.split(":");
  const count = Number(countText);
  const keys = makeKeys(count, "short");
  const value = { v: 1 };
  let wasmMemory = () => 0;
  if (impl === "cascade-edge") {
    const glue = await import(pathToFileURL(join(pkg, "cascade_edge.js")).href);
    const exports = glue.initSync({ module: new WebAssembly.Module(readFileSync(join(pkg, "cascade_edge_bg.wasm"))) });
    wasmMemory = () => exports.memory.buffer.byteLength;
  }
  globalThis.gc();
  const heap0 = process.memoryUsage().heapUsed;
  const wasm0 = wasmMemory();
  const c = caches[impl](count);
  for (let i = 0; i < count; i++) c.set(keys[i], value);
  globalThis.gc();
  const heap1 = process.memoryUsage().heapUsed;
  const wasm1 = wasmMemory();
  sink += c.get(keys[0]) ? 1 : 0;
  // cascade-edge indexes keys for invalidation on the first call that needs the index: measure
  // again once an invalidation has indexed all of them (wasm memory only grows: this is the peak).
  if (impl === "cascade-edge") c.raw.invalidate("absent:key");
  globalThis.gc();
  const heap2 = process.memoryUsage().heapUsed;
  const wasm2 = wasmMemory();
  console.log(JSON.stringify({
    perEntry: (heap1 - heap0 + wasm1 - wasm0) / count,
    heap: (heap1 - heap0) / count,
    wasm: (wasm1 - wasm0) / count,
    perEntryIndexed: (heap2 - heap0 + wasm2 - wasm0) / count,
    peakRss: process.resourceUsage().maxRSS * 1024,
  }));
}

function memoryBench() {
  const count = smoke ? 10_000 : 1_000_000;
  const rows = [];
  for (const impl of Object.keys(caches)) {
    const out = JSON.parse(node(["--expose-gc", join(here, "run.mjs"), `--child=mem:${impl}:${count}`]));
    rows.push([impl, `${out.perEntry.toFixed(1)} B`, `${out.heap.toFixed(1)} B`, `${out.wasm.toFixed(1)} B`,
      `${out.perEntryIndexed.toFixed(1)} B`, `${(out.peakRss / 2 ** 20).toFixed(0)} MB`]);
  }
  table(`Memory for ${count} entries, short keys, one shared value (the peers are bare caches that cannot invalidate a subtree; the fifth column counts the index an invalidation builds; wasm memory only grows, in 64 KiB pages)`,
    ["cache", "bytes/entry (JS heap + wasm)", "JS heap", "wasm memory", "bytes/entry once an invalidation indexed the keys", "peak RSS of the process"], rows);
}

// --- main ---------------------------------------------------------------------------------------

if (child) {
  await memoryChild(child);
} else {
  const started = Date.now();
  console.log(`# cascade-edge benchmarks${smoke ? " (smoke: a few iterations, timings meaningless)" : ""}`);
  console.log(`node ${process.version}, ${process.platform}/${process.arch}`);
  if (wanted("size")) sizeBench();
  // The cascade and mutation sections allocate little but often: they run before the LRU
  // sections, whose million-entry caches leave a heap that slows every later allocation.
  if (wanted("cascade")) cascadeBench();
  if (wanted("mutation")) await mutationBench();
  if (wanted("lru")) lruBench();
  if (wanted("lru-set-cost")) await lruSetCostBench();
  if (wanted("invalidation")) invalidationBench();
  if (wanted("startup")) await startupBench();
  if (wanted("memory")) memoryBench();
  console.log(`\n(${((Date.now() - started) / 1000).toFixed(1)} s${sink === 0.5 ? "" : ""})`);
}
