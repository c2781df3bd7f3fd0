#!/usr/bin/env node
// Builds the npm package into pkg/: two `--target web` wasm builds (the full one, and the edge one
// in pkg/edge/: without the `sdl` feature, so no SDL parser, for runtimes that load precompiled
// rules), wasm-opt from the npm binaryen package, the per-runtime entries and the API's modules
// from pkg-template/, protocol.js (the constants JS shares with the Rust sources), CommonJS entries
// bundled by esbuild, and a package.json filled from Cargo metadata. Never downloads anything.
//
// Always rebuilds: cargo's own incremental build makes an unchanged crate cheap, and the rest takes
// seconds, so there is no cache here that could ship a stale file.
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const template = join(root, "pkg-template");
const out = join(root, "pkg");
const scratch = join(root, "target", "pkg-build");
const edgeOut = join(out, "edge");
// The two wasm builds: where wasm-bindgen writes each, where its wasm and glue go, its cargo flags.
const BUILDS = [
  { bindgen: join(scratch, "bindgen"), to: out, cargoArgs: [] },
  { bindgen: join(scratch, "bindgen-edge"), to: edgeOut, cargoArgs: ["--", "--no-default-features"] },
];
// What pkg/edge/ holds beside its own glue and wasm: every module of the template (the API over
// that glue, and what imports it) but those no edge entry imports (the Node-only watcher and bus).
const NOT_EDGE = new Set(["pg.js", "bus.js"]);
// The constants JS shares with the Rust sources, generated into pkg/protocol.js (and the edge
// copy) from their one definition in src/ (see `protocolConstants`).
const PROTOCOL = [
  "MAX_KEY_LEN",
  "MAX_SEGMENTS",
  "MAX_RESPONSE_DEPTH",
  "MAX_TAGS_PER_ENTRY",
  "NO_EDGE",
  "PROVIDE_ROWS",
  "PROVIDE_TEXT",
  "QUEUED_SET",
  "PACK",
  "SET_HEADER",
  "SET_ENTRY",
  "FLAG_COARSE",
  "FLAG_PATTERN",
  "OP_UPDATE",
  "OP_CREATE",
  "OP_DELETE",
];
const outName = "cascade_edge";
const wasmFile = `${outName}_bg.wasm`;

const log = (line) => console.log(`[build-pkg] ${line}`);

function fail(message) {
  console.error(`[build-pkg] error: ${message}`);
  process.exit(1);
}

function run(cmd, args, options = {}) {
  log(`$ ${[cmd, ...args].join(" ")}`);
  try {
    return execFileSync(cmd, args, { cwd: root, stdio: "inherit", ...options });
  } catch (error) {
    fail(`${cmd} failed${error.status == null ? `: ${error.message}` : ` with exit code ${error.status}`}`);
  }
}

function capture(cmd, args) {
  try {
    return execFileSync(cmd, args, { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (error) {
    return null;
  }
}

function lockedVersion(name) {
  const lock = readFileSync(join(root, "Cargo.lock"), "utf8");
  const match = lock.match(new RegExp(`name = "${name}"\\nversion = "([^"]+)"`));
  return match?.[1];
}

// --- Preconditions: every tool present at the right version, so wasm-pack never tries to download.
const bindgenWanted = lockedVersion("wasm-bindgen") ?? fail("Cargo.lock has no wasm-bindgen entry");
const bindgenHave = capture("wasm-bindgen", ["--version"])?.trim().split(" ")[1];
if (bindgenHave !== bindgenWanted) {
  fail(`wasm-bindgen ${bindgenWanted} is required (Cargo.lock), found ${bindgenHave ?? "none"}; run scripts/setup.sh`);
}
if (!capture("wasm-pack", ["--version"])) fail("wasm-pack is not installed; run scripts/setup.sh");
const wasmOpt = join(root, "node_modules", ".bin", "wasm-opt");
const esbuild = join(root, "node_modules", ".bin", "esbuild");
for (const tool of [wasmOpt, esbuild]) {
  if (!existsSync(tool)) fail(`${relative(root, tool)} is missing; run scripts/setup.sh (npm ci)`);
}

// --- The shared constants, read before the long builds so a missing one fails at once.
const protocol = protocolConstants(PROTOCOL);

// --- Cargo metadata is the single source of the package's identity.
const metadata = JSON.parse(capture("cargo", ["metadata", "--no-deps", "--format-version", "1", "--offline"]) ??
  capture("cargo", ["metadata", "--no-deps", "--format-version", "1"]) ?? fail("cargo metadata failed"));
const crate = metadata.packages.find((p) => p.manifest_path === join(root, "Cargo.toml"));
if (!crate) fail("cargo metadata did not list this crate");

// --- 1. wasm-pack: cargo build for wasm32 + wasm-bindgen (web target); --mode no-install forbids
// downloads. Twice: the full build, and the edge build without the SDL parser (`sdl` feature).
for (const { bindgen, cargoArgs } of BUILDS) {
  rmSync(bindgen, { recursive: true, force: true });
  run("wasm-pack", [
    "build", "--release", "--target", "web", "--mode", "no-install", "--no-pack",
    "--out-dir", bindgen, "--out-name", outName, ...cargoArgs,
  ]);
}

// --- 2. A fresh pkg/ so nothing stale is ever packed.
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

// wasm-opt must allow exactly the features rustc enabled for the target, or it rejects the input.
const BINARYEN_FEATURE = {
  "bulk-memory": "bulk-memory",
  "bulk-memory-opt": "bulk-memory-opt",
  "multivalue": "multivalue",
  "mutable-globals": "mutable-globals",
  "nontrapping-fptoint": "nontrapping-float-to-int",
  "reference-types": "reference-types",
  "sign-ext": "sign-ext",
  "simd128": "simd",
  "relaxed-simd": "relaxed-simd",
  "extended-const": "extended-const",
  "tail-call": "tail-call",
  "multimemory": "multimemory",
  "exception-handling": "exception-handling",
  "atomics": "threads",
};
const rustflags = (process.env.RUSTFLAGS ?? "").split(/\s+/).filter(Boolean);
const cfg = capture("rustc", ["--print", "cfg", "--target", "wasm32-unknown-unknown", ...rustflags]) ??
  fail("rustc --print cfg failed");
const features = [...cfg.matchAll(/^target_feature="([^"]+)"$/gm)].map((m) => m[1]);
const unknown = features.filter((f) => !(f in BINARYEN_FEATURE));
if (unknown.length) fail(`no wasm-opt flag known for rustc target feature(s): ${unknown.join(", ")}`);
// --flatten --rereloop before two -Oz rounds: about 3 KB raw / 2.4 KB gzip smaller than one -Oz
// (measured; --converge, --gufa and -Os gained less or nothing), for a few more seconds of build.
for (const { bindgen: from, to } of BUILDS) {
  mkdirSync(to, { recursive: true });
  run(wasmOpt, [
    "--flatten", "--rereloop", "-Oz", "-Oz", ...features.map((f) => `--enable-${BINARYEN_FEATURE[f]}`),
    "--strip-debug", "--strip-producers",
    join(from, wasmFile), "-o", join(to, wasmFile),
  ]);
  cpSync(join(from, `${outName}.js`), join(to, `${outName}.js`));
}

// --- 3. Entries, the API's modules, types and the CLI from the template (everything but
// package.json), and the generated constants.
const templateFiles = listFiles(template).filter((f) => f !== "package.json");
for (const file of templateFiles) cpSync(join(template, file), join(out, file));
// The CommonJS typings say the same thing; TypeScript wants a .d.cts beside a require entry.
cpSync(join(out, "index.d.ts"), join(out, "index.d.cts"));
writeFileSync(join(out, "protocol.js"), protocol);
// The edge build: the same API over its own glue (the types are the root's).
const edgeFiles = templateFiles.filter((f) => !f.includes("/") && f.endsWith(".js") && !NOT_EDGE.has(f));
for (const file of edgeFiles) cpSync(join(template, file), join(edgeOut, file));
writeFileSync(join(edgeOut, "protocol.js"), protocol);

// --- 4. The CommonJS entries: each ESM node entry and everything it imports, bundled as one file.
// import.meta.url (used to locate the .wasm next to the file) becomes the file's own URL.
for (const { to: dir } of BUILDS) {
  run(esbuild, [
    join(dir, "node.js"), "--bundle", "--platform=node", "--format=cjs", "--target=node20",
    "--log-level=warning", `--outfile=${join(dir, "node.cjs")}`,
    "--define:import.meta.url=__cascade_edge_url",
    "--banner:js=const __cascade_edge_url = require(\"node:url\").pathToFileURL(__filename).href;",
  ]);
}

// --- 5. README, licenses, package.json.
cpSync(join(root, "README.md"), join(out, "README.md"));
for (const license of ["LICENSE-MIT", "LICENSE-APACHE"]) cpSync(join(root, license), join(out, license));

const manifest = JSON.parse(readFileSync(join(template, "package.json"), "utf8"));
const generated = {
  name: crate.name,
  version: crate.version,
  description: crate.description,
  license: crate.license,
  repository: crate.repository ? { type: "git", url: crate.repository } : undefined,
  keywords: crate.keywords?.length ? crate.keywords : undefined,
};
writeFileSync(join(out, "package.json"), `${JSON.stringify({ ...generated, ...withoutKeys(manifest, generated) }, null, 2)}\n`);

// Everything the manifest points at must exist, or `npm pack` would ship a broken package.
for (const target of manifestTargets(manifest)) {
  if (!existsSync(join(out, target))) fail(`package.json points at ${target}, which the build did not produce`);
}

// --- 6. Size report. The edge build's budget is ≤ 250 KB raw, ≤ 100 KB gzip; the full build has
// none (it carries graphql-parser to read SDL).
const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
log(`built ${relative(root, out)}/ ${crate.name}@${crate.version}`);
for (const { bindgen: from, to } of BUILDS) {
  const name = relative(out, join(to, wasmFile));
  const wasm = readFileSync(join(to, wasmFile));
  if (!WebAssembly.validate(wasm)) fail(`${name} is not valid WebAssembly`);
  const before = readFileSync(join(from, wasmFile)).length;
  const gz = gzipSync(wasm, { level: 9 }).length;
  log(`${name}: ${kb(wasm.length)} raw (${kb(before)} before wasm-opt), ${kb(gz)} gzip ` +
    (name.startsWith("edge") ? `[budget 250 KB raw / 100 KB gzip${wasm.length > 250 * 1024 || gz > 100 * 1024 ? ": OVER" : ""}]` : "[no budget: carries graphql-parser]"));
}

/**
 * pkg/protocol.js: each of `names` as the Rust sources define it, found by name in every .rs
 * file under src/ as `const NAME: <integer type> = <expression>;` (no path is assumed: files move).
 * The expression may use integer literals, `u32::MAX` and the like, other such constants by
 * name (`crate::MAX_KEY_LEN`), `+ - * / % << >> & | ^`, parentheses and `as` casts. Fails the
 * build when a name is not defined, or is defined twice with different values.
 */
function protocolConstants(names) {
  const src = join(root, "src");
  const found = new Map();
  for (const file of listFiles(src).filter((f) => f.endsWith(".rs"))) {
    const text = readFileSync(join(src, file), "utf8");
    const definition = /^[ \t]*(?:pub(?:\([^)]*\))?[ \t]+)?const[ \t]+([A-Z][A-Z0-9_]*)[ \t]*:[ \t]*([iu](?:8|16|32|64|128|size))[ \t]*=[ \t]*([^;]+);/gm;
    for (const [, name, type, expression] of text.matchAll(definition)) {
      if (!found.has(name)) found.set(name, []);
      found.get(name).push({ file: `src/${file}`, type, expression: expression.trim() });
    }
  }
  const values = new Map();
  const resolving = new Set();
  const value = (name, from) => {
    if (values.has(name)) return values.get(name);
    const definitions = found.get(name);
    if (definitions === undefined) fail(`no \`const ${name}: <integer> = …;\` in any .rs file under src/${from ? ` (used by ${from})` : ""}`);
    if (resolving.has(name)) fail(`const ${name} is defined in terms of itself`);
    resolving.add(name);
    const results = definitions.map((d) => ({ ...d, value: evaluate(d.expression, (ref) => value(ref, name), `${d.file}: const ${name}`) }));
    resolving.delete(name);
    const distinct = new Set(results.map((r) => r.value));
    if (distinct.size > 1) {
      fail(`const ${name} has ${distinct.size} different values in the Rust sources: ` +
        results.map((r) => `${r.file} = ${r.expression} (${r.value})`).join("; "));
    }
    values.set(name, results[0].value);
    return results[0].value;
  };
  const lines = [
    "// Generated by scripts/build-pkg.mjs from the Rust sources (src/): do not edit.",
    "// Each constant is the value of the Rust `const` of the same name, which JS must agree with.",
  ];
  for (const name of names) {
    const v = value(name);
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < -BigInt(Number.MAX_SAFE_INTEGER)) fail(`const ${name} = ${v} is not a safe JS integer`);
    const where = [...new Set(found.get(name).map((d) => d.file))].join(", ");
    lines.push(`/** \`${name}\` (${where}). */`, `export const ${name} = ${v};`);
  }
  log(`protocol.js: ${names.map((n) => `${n} = ${values.get(n)}`).join(", ")}`);
  return `${lines.join("\n")}\n`;
}

/** The value (a BigInt) of a Rust constant expression; `lookup(name)` gives another constant's. */
function evaluate(expression, lookup, where) {
  const tokens = expression.match(/0x[0-9a-fA-F_]+|0b[01_]+|0o[0-7_]+|\d[\d_]*|[A-Za-z_][A-Za-z0-9_]*(?:::[A-Za-z_][A-Za-z0-9_]*)*|<<|>>|[-+*/%&|^()]|\S/g) ?? [];
  let at = 0;
  const bad = (why) => fail(`${where} = ${expression}: ${why}`);
  const INTEGER_TYPE = /^[iu](?:8|16|32|64|128|size)$/;
  const BITS = { 8: 8n, 16: 16n, 32: 32n, 64: 64n, 128: 128n, size: 32n };
  const primary = () => {
    const t = tokens[at++];
    if (t === undefined) bad("ends too soon");
    if (t === "(") {
      const v = binary(0);
      if (tokens[at++] !== ")") bad("a `(` is not closed");
      return v;
    }
    if (t === "-") return -primary();
    if (/^\d|^0[xbo]/.test(t)) {
      const digits = t.replace(/_/g, "").replace(/(?:[iu](?:8|16|32|64|128|size))$/, "");
      return BigInt(digits);
    }
    const path = t.split("::");
    const last = path[path.length - 1];
    if (path.length === 2 && INTEGER_TYPE.test(path[0]) && (last === "MAX" || last === "MIN")) {
      const bits = BITS[path[0].slice(1)];
      const signed = path[0][0] === "i";
      if (last === "MAX") return signed ? (1n << (bits - 1n)) - 1n : (1n << bits) - 1n;
      return signed ? -(1n << (bits - 1n)) : 0n;
    }
    if (/^[A-Z][A-Z0-9_]*$/.test(last)) return lookup(last);
    return bad(`cannot read \`${t}\``);
  };
  // Rust's precedence, loosest first.
  const LEVELS = [["|"], ["^"], ["&"], ["<<", ">>"], ["+", "-"], ["*", "/", "%"]];
  const apply = (op, a, b) =>
    ({ "|": a | b, "^": a ^ b, "&": a & b, "<<": a << b, ">>": a >> b, "+": a + b, "-": a - b, "*": a * b, "/": a / b, "%": a % b })[op];
  const cast = () => {
    const v = primary();
    while (tokens[at] === "as") {
      at++;
      if (!INTEGER_TYPE.test(tokens[at++] ?? "")) bad("`as` casts only to an integer type here");
    }
    return v;
  };
  const binary = (level) => {
    if (level === LEVELS.length) return cast();
    let v = binary(level + 1);
    while (LEVELS[level].includes(tokens[at])) {
      const op = tokens[at++];
      v = apply(op, v, binary(level + 1));
    }
    return v;
  };
  const v = binary(0);
  if (at !== tokens.length) bad(`unexpected \`${tokens[at]}\``);
  return v;
}

function listFiles(dir, prefix = "") {
  return readdirSync(join(dir, prefix), { withFileTypes: true }).flatMap((entry) => {
    const rel = join(prefix, entry.name);
    return entry.isDirectory() ? listFiles(dir, rel) : [rel];
  });
}

function withoutKeys(object, keys) {
  // "//" keys are comments in the template.
  return Object.fromEntries(Object.entries(object).filter(([key]) => !(key in keys) && !key.startsWith("//")));
}

function manifestTargets(manifest) {
  const targets = new Set();
  const walk = (value) => {
    if (typeof value === "string") {
      if (value.startsWith("./") && !value.includes("*")) targets.add(value);
    } else if (value && typeof value === "object") {
      Object.values(value).forEach(walk);
    }
  };
  walk(manifest.exports);
  for (const field of ["main", "module", "types", "bin"]) walk(manifest[field]);
  return targets;
}
