#!/usr/bin/env node
// Builds the npm package into pkg/: two `--target web` wasm builds (the full one, and the edge one
// in pkg/edge/: without the `sdl` feature, so no SDL parser, for runtimes that load precompiled
// rules), wasm-opt from the npm binaryen package, the per-runtime entries and api.js from
// pkg-template/, CommonJS entries bundled by esbuild, and a package.json filled from Cargo
// metadata. Never downloads anything.
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
// What pkg/edge/ holds beside its own glue and wasm: the API over that glue, and what imports it.
const EDGE_FILES = ["api.js", "purge.js", "purge-varnish.js", "tags.js", "isolate.js", "node.js", "browser.js", "workerd.js", "yoga.js"];
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

// --- 3. Entries, api.js, types and the CLI from the template (everything but package.json).
const templateFiles = listFiles(template).filter((f) => f !== "package.json");
for (const file of templateFiles) cpSync(join(template, file), join(out, file));
// The CommonJS typings say the same thing; TypeScript wants a .d.cts beside a require entry.
cpSync(join(out, "index.d.ts"), join(out, "index.d.cts"));
// The edge build: the same API over its own glue (the types are the root's).
for (const file of EDGE_FILES) cpSync(join(template, file), join(edgeOut, file));

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

// --- 6. Size report (targets: ≤ 250 KB raw, ≤ 100 KB gzip).
const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
log(`built ${relative(root, out)}/ ${crate.name}@${crate.version}`);
for (const { bindgen: from, to } of BUILDS) {
  const name = relative(out, join(to, wasmFile));
  const wasm = readFileSync(join(to, wasmFile));
  if (!WebAssembly.validate(wasm)) fail(`${name} is not valid WebAssembly`);
  const before = readFileSync(join(from, wasmFile)).length;
  const gz = gzipSync(wasm, { level: 9 }).length;
  log(`${name}: ${kb(wasm.length)} raw (${kb(before)} before wasm-opt), ${kb(gz)} gzip ` +
    `[budget 250 KB raw / 100 KB gzip${wasm.length > 250 * 1024 || gz > 100 * 1024 ? ": OVER" : ""}]`);
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
