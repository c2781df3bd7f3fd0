// Installs the built package the way a user does: `npm pack` of pkg/, then `npm i` of the tarball
// into a scratch project under the OS temp dir. Every JS test file uses the package through this.
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

export const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
export const pkgDir = join(root, "pkg");

const cargoToml = readFileSync(join(root, "Cargo.toml"), "utf8");
/** A string field of Cargo.toml's [package] (the first `field = "…"` line). */
export const cargo = (field) => cargoToml.match(new RegExp(`^${field} = "([^"]*)"`, "m"))[1];

const npm = (args, cwd) =>
  execFileSync("npm", [...args, "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error"], {
    cwd,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });

/**
 * Packs pkg/ and installs the tarball into a fresh consumer project. Call from `before`, and call
 * `remove()` from `after`.
 */
export function installPackage() {
  assert.ok(existsSync(join(pkgDir, "package.json")), "pkg/ is not built: run `node scripts/build-pkg.mjs` first");
  const work = mkdtempSync(join(tmpdir(), "cascade-edge-pkg-"));
  const [packed] = JSON.parse(npm(["pack", pkgDir, "--pack-destination", work, "--json"], work));
  const consumer = join(work, "consumer");
  mkdirSync(consumer);
  writeFileSync(join(consumer, "package.json"), JSON.stringify({ name: "consumer", version: "0.0.0", private: true }));
  npm(["install", join(work, packed.filename)], consumer);
  // Re-exported from inside the consumer, so `import` resolves through the real exports map.
  writeFileSync(join(consumer, "esm.mjs"), 'export * from "cascade-edge";\n');
  const require = createRequire(join(consumer, "package.json"));

  return {
    work,
    consumer,
    /** `npm pack --json` output for the tarball: filename, files, … */
    packed,
    /** The installed package directory (node_modules/cascade-edge). */
    installed: join(consumer, "node_modules", "cascade-edge"),
    /** The package as `require("cascade-edge")` gives it in the consumer. */
    require: () => require("cascade-edge"),
    /** The package as `import … from "cascade-edge"` gives it in the consumer. */
    import: () => import(pathToFileURL(join(consumer, "esm.mjs")).href),
    /** Runs a command in the consumer project; returns { status, stdout, stderr }. */
    run(cmd, args, options = {}) {
      const result = spawnSync(cmd, args, { cwd: consumer, encoding: "utf8", ...options });
      if (result.error) throw result.error;
      return result;
    },
    /** Runs `node …args` in the consumer and returns its trimmed stdout; throws on a non-zero exit. */
    node(args) {
      const { status, stdout, stderr } = this.run(process.execPath, args);
      assert.equal(status, 0, `node ${args.join(" ")} failed:\n${stderr}`);
      return stdout.trim();
    },
    remove: () => rmSync(work, { recursive: true, force: true }),
  };
}
