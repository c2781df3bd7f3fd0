// The package's TypeScript types, checked the way a consumer sees them: `tsc --noEmit --strict` on
// a .ts file in the consumer project that installed the tarball. One file uses every public name
// (it must compile), another misuses them (each line must be an error).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { installPackage, root } from "./helpers/consumer.mjs";

const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
let dir;

before(() => {
  const { consumer } = installPackage();
  // A scratch project beside the installed package: node_modules resolves from the consumer dir.
  dir = mkdtempSync(join(consumer, "ts-"));
  writeFileSync(join(dir, "tsconfig.json"), JSON.stringify({
    compilerOptions: {
      strict: true, noEmit: true, target: "es2022", module: "nodenext", moduleResolution: "nodenext",
      lib: ["es2022", "dom"], skipLibCheck: false, types: [], noUncheckedIndexedAccess: true,
    },
  }));
  writeFileSync(join(dir, "package.json"), JSON.stringify({ type: "module", private: true }));
});

after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function check(file, source) {
  writeFileSync(join(dir, file), source);
  const { status, stdout, stderr } = spawnSync(process.execPath, [tsc, "-p", dir], { encoding: "utf8" });
  return { status, output: stdout + stderr };
}

const GOOD = `
import {
  CascadeEngine, LruCache, init, version, planPurge, purgeKv, purgeCache, purgeCloudflare, purgeFastly, purgeVarnish, keyCovers,
  type VarnishPurgeOptions, type EngineOptions, type Change, type DetectedChange, type CascadeSet, type TraceEntry, type Rule, type RuleInput,
  type Condition, type Relationship, type Entity, type EngineStats, type LruStats, type Lint, type GraphFormat,
  type RuleGraph, type CompiledRules, type CascadeError, type ErrorCode, type LruOptions, type SetOptions,
  type ReadToken, type PurgeableSet, type PurgeResult, type KvNamespaceLike, type EngineSchema, type SchemaEntity,
  tagsForResponse,
} from "cascade-edge";
import { CascadeEngine as EdgeEngine, purgeVarnish as edgePurgeVarnish } from "cascade-edge/edge";
import { createResponseCacheStore } from "cascade-edge/edge/yoga";

await init();
const v: string = version();
const options: EngineOptions = { keyspaces: { User: "user" }, delimiter: ":", maxDepth: 3, maxKeys: 100, verbose: true, logger: (line: string) => void line };
const engine = CascadeEngine.fromSchema("type User { id: ID! }", options);
const rels: Relationship[] = engine.relationships();
const cardinality: "one" | "many" | undefined = rels[0]?.cardinality;
const entities: Entity[] = engine.entities();
const schema: EngineSchema = engine.schema;
const schemaEntity: SchemaEntity | undefined = schema.byType.get("User") ?? schema.byKeyspace.get("user") ?? schema.entity("user");
const lists: readonly string[] | undefined = schemaEntity?.toMany;
const delimiter: string = schema.delimiter;
const tagged: string = tagsForResponse(engine, { data: { user: { __typename: "User", id: 1 } } }).header;
const rules: Rule[] = engine.rules();
const source: "auto" | "manual" | undefined = rules[0]?.source;
const cond: Condition = { all: [{ field: "status", eq: "published" }, { not: { field: "n", gt: 3 } }, { changed: ["title"] }, { any: [{ field: "x", in: [1, "2"] }, { field: "y", exists: true }] }] };
const rule: RuleInput = { entity: "user", cascadeTo: ["user:{id}:feed"], when: cond, onFields: ["name"], maxDepth: 1 };
const id: string = engine.addRule(rule);
engine.addRule({ entity: "user", cascadeTo: ["x:{id}"], when: (data) => data["name"] === "a" });
engine.removeRule(id);
const change: Change = { entity: "User", id: 1, op: "update", data: { name: "a" }, before: { name: "b" } };
const set: CascadeSet = engine.cascade(change);
const trace: TraceEntry | undefined = set.trace[0];
const from: string | null | undefined = trace?.from;
const batch: CascadeSet = engine.cascadeBatch([change]);
const detected: DetectedChange[] = engine.changesFromMutation({ data: { createUser: { __typename: "User", id: 1 } } });
const sid: string | undefined = detected[0]?.id;
const tree: string = engine.graph({ format: "tree" });
const plain: string = engine.graph();
const json: RuleGraph = engine.graph({ format: "json" });
const format: GraphFormat = "mermaid";
const any: string | RuleGraph = engine.graph({ format });
const stats: EngineStats = engine.stats();
const lints: Lint[] = engine.lint();
const compiled: CompiledRules = engine.toJSON();
const again = CascadeEngine.fromJSON(compiled);
CascadeEngine.fromJSON(JSON.stringify(compiled), { logger: console.log });
// The edge build and its Yoga store take the same names and types.
const edgeStore = createResponseCacheStore({ engine: EdgeEngine.fromJSON(compiled) });
void edgeStore;
engine.clearRules();

const lruOptions: LruOptions = { maxEntries: 10, maxBytes: 1000, ttlMs: 100, engine: again, now: () => 0 };
const cache = new LruCache<{ title: string }>(lruOptions);
const token: ReadToken = cache.beginRead("post:1");
const setOptions: SetOptions = { ttlMs: 5, tags: ["user:1"], token };
const evicted: string[] = cache.set("post:1", { title: "t" }, setOptions);
const got: { title: string } | undefined = cache.get("post:1");
const peeked = cache.peek("post:1")?.title;
const has: boolean = cache.has("post:1");
const deleted: boolean = cache.delete("post:1");
const size: number = cache.size;
for (const key of cache) void (key satisfies string);
const keys: string[] = [...cache.keys()];
const removed: string[] = [...cache.invalidate("user:1"), ...cache.invalidateBatch(["a"]), ...cache.invalidatePattern("post:*"), ...cache.invalidateField("post:*", "author.name")];
cache.invalidateLazy("user:1", 10);
const flushed: string[] = cache.flushDue(Date.now());
const lruStats: LruStats = cache.stats();
cache.clear();
engine.graph({ format: "tree", cache });

try {
  engine.cascade(change);
} catch (error) {
  const e = error as CascadeError;
  const code: ErrorCode = e.code;
  if (code === "STALE_WRITE" || code === "INVALID_ARGUMENT" || code === "USE_AFTER_FREE") void e.message;
}
cache.free();
engine.free();

const purgeable: PurgeableSet = set;
declare const kv: KvNamespaceLike;
const kvResult: Promise<PurgeResult<unknown>> = purgeKv(kv, purgeable);
const covers: boolean = keyCovers("user:1", "user:1:posts");
const varnishConfig: VarnishPurgeOptions = { url: "http://127.0.0.1:6081/", soft: true, header: "xkey-softpurge", method: "PURGE", maxHeaderBytes: 8000, maxRetries: 2 };
const varnished: Promise<PurgeResult> = purgeVarnish(varnishConfig, purgeable);
const edgeVarnished: Promise<PurgeResult> = edgePurgeVarnish({ url: "http://127.0.0.1:6081/" }, purgeable, { soft: false });
void [v, cardinality, entities, lists, delimiter, tagged, schema.entities.length, source, batch, sid, tree, plain, json, any, stats, lints, evicted, got, peeked, has, deleted, size, keys, removed, flushed, lruStats, from, kvResult, covers, varnished, edgeVarnished, planPurge, purgeCache, purgeCloudflare, purgeFastly];
`;

test("a consumer using every public name compiles under --strict", () => {
  const { status, output } = check("good.ts", GOOD);
  assert.equal(status, 0, output);
});

const FLEET = `
import { GenerationCoordinator, GenerationSync, LruCache } from "cascade-edge";
import { busPurge, connectBus, type BusStats } from "cascade-edge/bus";

const cache = new LruCache({ maxEntries: 10 });
const bus = await connectBus({ url: "redis://127.0.0.1:6379", cache, channel: "c", maxQueue: 10, onReceive: (r) => void r.lagMs });
const stats: BusStats = bus.stats();
const published: Promise<{ removed: string[]; id: string }> = bus.publish({ keys: ["user:1"], patterns: ["post:*"] });
const purge = busPurge(bus);
await bus.close();
declare const namespace: { idFromName(name: string): unknown; get(id: unknown): { fetch(url: string, init?: RequestInit): Promise<Response> } };
const sync = new GenerationSync({ coordinator: namespace, cache, checkIntervalMs: 500 });
const checked: Promise<{ changed: boolean }> = sync.check();
declare const state: { storage: { get(key: string): Promise<unknown>; put(key: string, value: unknown): Promise<void> } };
const coordinator = new GenerationCoordinator(state);
void [stats, published, purge, checked, coordinator];
`;

test("the bus and the Durable Object coordinator compile under --strict", () => {
  const { status, output } = check("fleet.ts", FLEET);
  assert.equal(status, 0, output);
});

const BAD = [
  ['CascadeEngine.fromSchema("x", { maxDepth: "3" });', "TS2322"],
  ['CascadeEngine.fromSchema("x", { bogus: 1 });', "TS2353"],
  ["new CascadeEngine();", "TS2673"],
  ['CascadeEngine.fromSchema("x").cascade({ entity: "user" });', "TS2345"],
  ['CascadeEngine.fromSchema("x").cascade({ entity: "user", id: true });', "TS2322"],
  ['CascadeEngine.fromSchema("x").addRule({ entity: "user", cascadeTo: ["a"], when: { field: "x", foo: 1 } });', "TS2353"],
  ['CascadeEngine.fromSchema("x").graph({ format: "png" });', "TS2769"],
  ['const g: string = CascadeEngine.fromSchema("x").graph({ format: "json" });', "TS2322"],
  ['const c: "NOPE" = ({} as CascadeError).code;', "TS2322"],
  ['new LruCache({ maxEntries: "10" });', "TS2322"],
  ['new LruCache<number>().set("k", "string");', "TS2345"],
  ['new LruCache().set("k", 1, { tags: "user:1" });', "TS2322"],
  ['CascadeEngine.fromSchema("x").schema.byType.set("A", CascadeEngine.fromSchema("x").schema.entities[0]!);', "TS2339"],
];

test("misuses are type errors", () => {
  const body = BAD.map(([line], i) => `function bad${i}() {\n  ${line}\n}`).join("\n");
  const { status, output } = check("bad.ts", `import { CascadeEngine, LruCache, type CascadeError } from "cascade-edge";\n${body}\n`);
  assert.notEqual(status, 0);
  // Each misuse is reported on its own line (line 3 + 3i), with the expected error.
  for (const [i, [line, code]] of BAD.entries()) {
    assert.match(output, new RegExp(`bad\\.ts\\(${3 + 3 * i},\\d+\\): error ${code}`), `${line}\n${output}`);
  }
  assert.doesNotMatch(output, /good\.ts/);
});
