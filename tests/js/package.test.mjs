// The built package, installed the way a user installs it: `npm pack` of pkg/, then `npm i` of the
// tarball into a scratch project. Packaging mistakes (exports map, files list, CJS build) fail here.
// Run `node scripts/build-pkg.mjs` (or `make test`) first.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, posix, sep } from "node:path";
import { after, before, describe, test } from "node:test";
import { pathToFileURL } from "node:url";
import { cargo, installPackage, root } from "./support/installed.mjs";

const VERSION = cargo("version");

/** Files the build generates; everything else in the tarball is a copy of pkg-template/. */
const GENERATED = [
  "package.json",
  "README.md",
  "LICENSE-MIT",
  "LICENSE-APACHE",
  "cascade_edge.js",
  "cascade_edge_bg.wasm",
  "node.cjs",
  "index.d.cts",
  // The constants shared with the Rust sources.
  "protocol.js",
  // The edge build (no SDL parser): its own glue, wasm and constants.
  ...["cascade_edge.js", "cascade_edge_bg.wasm", "node.cjs", "protocol.js"].map((file) => `edge/${file}`),
];
/** Template modules that pkg/edge/ does not copy: no edge entry imports them (Node-only). */
const NOT_EDGE = ["pg.js", "bus.js"];

let pkg;
let work;
let consumer;
let packed;
const installed = () => pkg.installed;
const inConsumer = (cmd, args) => pkg.run(cmd, args);
const node = (args) => pkg.node(args);

function listFiles(dir, prefix = "") {
  return readdirSync(join(dir, prefix), { withFileTypes: true }).flatMap((entry) => {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    return entry.isDirectory() ? listFiles(dir, rel) : [rel];
  });
}

before(() => {
  pkg = installPackage();
  ({ work, consumer, packed } = pkg);
});

after(() => pkg?.remove());

describe("the tarball", () => {
  test("is named after the crate and contains exactly the expected files", () => {
    assert.equal(packed.filename, `cascade-edge-${VERSION}.tgz`);
    const templateFiles = listFiles(join(root, "pkg-template")).filter((f) => f !== "package.json");
    // The edge build: the API's modules over its own glue.
    const edgeFiles = templateFiles.filter((f) => !f.includes("/") && f.endsWith(".js") && !NOT_EDGE.includes(f)).map((f) => `edge/${f}`);
    const expected = [...new Set([...GENERATED, ...templateFiles, ...edgeFiles])].sort();
    assert.deepEqual(packed.files.map((f) => f.path).sort(), expected);
  });

  test("every relative import of a shipped module names a shipped file", () => {
    const shipped = new Set(packed.files.map((f) => f.path));
    const modules = [...shipped].filter((f) => /\.m?js$/.test(f));
    let imports = 0;
    for (const file of modules) {
      const text = readFileSync(join(installed(), file), "utf8");
      for (const match of text.matchAll(/(?:^import|^export)[^;]*?from "(\.{1,2}\/[^"]+)"|import\("(\.{1,2}\/[^"]+)"\)/gm)) {
        const spec = match[1] ?? match[2];
        const target = posix.normalize(posix.join(posix.dirname(file), spec));
        assert.ok(shipped.has(target), `${file} imports ${spec}, which the tarball does not hold`);
        imports++;
      }
    }
    assert.ok(imports > 20, `only ${imports} relative imports found: the scan is broken`);
  });

  test("package.json is generated from Cargo.toml", () => {
    const manifest = JSON.parse(node(["-p", "JSON.stringify(require('cascade-edge/package.json'))"]));
    assert.equal(manifest.name, "cascade-edge");
    assert.equal(manifest.version, VERSION);
    assert.equal(manifest.description, cargo("description"));
    assert.equal(manifest.license, cargo("license"));
    assert.equal(manifest.repository.url, cargo("repository"));
    assert.equal(manifest.type, "module");
    assert.ok(!Object.keys(manifest).some((key) => key.startsWith("//")), "template comments leaked");
  });
});

describe("node entries", () => {
  test("require() loads the CommonJS entry, ready without an init call", () => {
    assert.equal(node(["-e", "process.stdout.write(require('cascade-edge').version())"]), VERSION);
    const resolved = node(["-p", "require.resolve('cascade-edge')"]);
    assert.equal(resolved, join(installed(), "node.cjs"));
  });

  test("import loads the ESM entry, ready without an init call", () => {
    const out = node([
      "--input-type=module",
      "-e",
      "import { version } from 'cascade-edge'; console.log(version(), import.meta.resolve('cascade-edge'))",
    ]);
    assert.equal(out, `${VERSION} ${pathToFileURL(join(installed(), "node.js")).href}`);
  });

  test("in one process, require and import both give a working module", async () => {
    assert.equal(pkg.require().version(), VERSION);
    assert.equal((await pkg.import()).version(), VERSION);
  });

  test("require and import expose the same names, and init() resolves in both", () => {
    const cjs = node(["-e", "const m = require('cascade-edge'); m.init().then(() => console.log(Object.keys(m).sort().join()))"]);
    const esm = node([
      "--input-type=module",
      "-e",
      "import * as m from 'cascade-edge'; await m.init(); console.log(Object.keys(m).sort().join())",
    ]);
    assert.equal(cjs, esm);
    assert.ok(esm.split(",").includes("version"), esm);
    assert.ok(esm.split(",").includes("init"), esm);
  });
});

describe("subpaths and conditions", () => {
  test("cascade-edge/cascade_edge_bg.wasm resolves to valid WebAssembly", () => {
    const cjsPath = node(["-p", "require.resolve('cascade-edge/cascade_edge_bg.wasm')"]);
    const esmUrl = node(["--input-type=module", "-e", "console.log(import.meta.resolve('cascade-edge/cascade_edge_bg.wasm'))"]);
    assert.equal(cjsPath, join(installed(), "cascade_edge_bg.wasm"));
    assert.equal(esmUrl, pathToFileURL(cjsPath).href);
    assert.equal(WebAssembly.validate(readFileSync(cjsPath)), true);
  });

  test("cascade-edge/bus imports; without its optional peer (ioredis) connectBus says what to install", () => {
    const script = `import("cascade-edge/bus").then(({ connectBus }) => connectBus({ url: "redis://127.0.0.1:1", cache: null, logger: null })).then(() => console.log("connected"), (e) => console.log(e.code + " " + e.message))`;
    const out = node(["-e", script]);
    assert.match(out, /^MISSING_DEPENDENCY .*npm install ioredis/);
  });

  test("internal files are not importable", () => {
    const { status, stderr } = inConsumer(process.execPath, ["-e", "require('cascade-edge/api.js')"]);
    assert.notEqual(status, 0);
    assert.match(stderr, /ERR_PACKAGE_PATH_NOT_EXPORTED/);
  });

  test("cascade-edge/edge: require, import and the workerd condition pick the edge build's entries", () => {
    const edge = join(installed(), "edge");
    assert.equal(node(["-p", "require.resolve('cascade-edge/edge')"]), join(edge, "node.cjs"));
    const esm = node(["--input-type=module", "-e", "console.log(import.meta.resolve('cascade-edge/edge'))"]);
    assert.equal(esm, pathToFileURL(join(edge, "node.js")).href);
    const workerd = node(["--conditions=workerd", "--input-type=module", "-e", "console.log(import.meta.resolve('cascade-edge/edge'))"]);
    assert.equal(workerd, pathToFileURL(join(edge, "workerd.js")).href);
    // Both module systems load the edge wasm, expose the root's names, and refuse SDL.
    const names = node(["--input-type=module", "-e", "import * as m from 'cascade-edge'; console.log(Object.keys(m).sort().join())"]);
    const probe = (m) =>
      `${m}.init().then(() => { let code; try { ${m}.CascadeEngine.fromSchema("type A { id: ID! }"); } catch (e) { code = e.code; } ` +
      `console.log(Object.keys(${m}).sort().join(), code, ${m}.version()); })`;
    const cjs = node(["-e", `const m = require('cascade-edge/edge'); ${probe("m")}`]);
    const mjs = node(["--input-type=module", "-e", `import * as m from 'cascade-edge/edge'; ${probe("m")}`]);
    assert.equal(cjs, `${names} UNSUPPORTED ${VERSION}`);
    assert.equal(mjs, cjs);
  });

  test("the workerd condition selects the workerd entry", () => {
    const url = node(["--conditions=workerd", "--input-type=module", "-e", "console.log(import.meta.resolve('cascade-edge'))"]);
    assert.equal(url, pathToFileURL(join(installed(), "workerd.js")).href);
  });

  test("a browser bundler picks the browser entry", () => {
    const esbuild = join(root, "node_modules", ".bin", "esbuild");
    writeFileSync(join(consumer, "app.js"), "import { init, version } from 'cascade-edge';\nawait init();\nconsole.log(version());\n");
    const meta = join(work, "browser-meta.json");
    execFileSync(esbuild, ["app.js", "--bundle", "--platform=browser", "--format=esm", "--outfile=../browser-bundle.js", `--metafile=${meta}`, "--log-level=error"], {
      cwd: consumer,
    });
    const inputs = Object.keys(JSON.parse(readFileSync(meta, "utf8")).inputs).map((p) => p.split(sep).join("/"));
    assert.ok(inputs.includes("node_modules/cascade-edge/browser.js"), inputs.join("\n"));
    assert.ok(!inputs.some((p) => p.endsWith("/node.js") || p.endsWith("/workerd.js")), inputs.join("\n"));
  });

  test("the browser entry's init() is idempotent, accepts bytes or a Module, and can be retried; before it, calls throw NOT_INITIALIZED", () => {
    const browser = pathToFileURL(join(installed(), "browser.js")).href;
    const wasm = join(installed(), "cascade_edge_bg.wasm");
    const out = node([
      "--input-type=module",
      "-e",
      `import { readFileSync } from "node:fs";
       const bytes = readFileSync(${JSON.stringify(wasm)});
       const b = await import(${JSON.stringify(browser)});
       // Before init(), each way in says so with a code (not a TypeError from the glue).
       const before = [() => b.version(), () => new b.LruCache(), () => b.CascadeEngine.fromJSON("{}")].map((f) => {
         try { f(); return "no error"; } catch (error) { return error.code; }
       });
       if (before.join() !== "NOT_INITIALIZED,NOT_INITIALIZED,NOT_INITIALIZED") throw new Error(before.join());
       const failed = await b.init(new Uint8Array([0, 1, 2])).then(() => "resolved", () => "rejected");
       const first = b.init(bytes);
       const second = b.init(new WebAssembly.Module(bytes));
       await first;
       console.log(failed, first === second, b.version());`,
    ]);
    assert.equal(out, `rejected true ${VERSION}`);
  });
});

describe("the CLI", () => {
  const cli = (...args) => inConsumer(join(consumer, "node_modules", ".bin", "cascade-edge"), args);

  test("--help prints usage and exits 0", () => {
    const { status, stdout } = cli("--help");
    assert.equal(status, 0);
    for (const command of ["rules", "cascade", "graph", "compile"]) assert.match(stdout, new RegExp(`cascade-edge ${command} `));
  });

  test("--version prints the package version", () => {
    const { status, stdout } = cli("--version");
    assert.equal(status, 0);
    assert.equal(stdout, `cascade-edge ${VERSION}\n`);
  });

  const usageErrors = [
    [[], "no command given"],
    [["frobnicate", "s.graphql"], "unknown command 'frobnicate'"],
    [["rules"], "'rules' needs a schema file"],
    [["rules", "a.graphql", "b.graphql"], "unexpected argument 'b.graphql'"],
    [["rules", "s.graphql", "--entity", "user"], "'rules' does not take --entity"],
    [["cascade", "s.graphql", "--entity", "user"], "'cascade' needs --id"],
    [["cascade", "s.graphql", "--entity", "user", "--id", "1", "--data", "{"], "--data is not valid JSON"],
    [["cascade", "s.graphql", "--entity", "user", "--id", "1", "--data", "[1]"], "--data must be a JSON object"],
    [["cascade", "s.graphql", "--entity", "user", "--id", "1", "--op", "upsert"], "unknown op 'upsert'"],
    [["graph", "s.graphql", "--format", "png"], "unknown format 'png'"],
    [["compile", "s.graphql", "--nope"], "Unknown option '--nope'"],
  ];
  for (const [args, message] of usageErrors) {
    test(`usage error exits 2: ${args.join(" ") || "(no arguments)"}`, () => {
      const { status, stdout, stderr } = cli(...args);
      assert.equal(status, 2);
      assert.equal(stdout, "");
      assert.ok(stderr.startsWith(`error: ${message}`), stderr);
      assert.match(stderr, /Run 'cascade-edge --help' for usage\.\n$/);
    });
  }
});
