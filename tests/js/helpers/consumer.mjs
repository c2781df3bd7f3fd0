// The built package installed the way a user installs it: `npm pack` of pkg/, then `npm i` of the
// tarball into a consumer project. The install is shared by every test file of a run: it is keyed
// by the tarball's hash, built in a scratch dir and renamed into place, so concurrent test
// processes never see a half-installed package and a rebuilt pkg/ always gets a fresh install.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

export const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const pkgDir = join(root, "pkg");

const npm = (args, cwd) =>
  execFileSync("npm", [...args, "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error"], {
    cwd,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });

let cached;

/** Packs and installs pkg/ once; returns `{ consumer, installed }` (the consumer project and the package dir in it). */
export function installPackage() {
  if (cached) return cached;
  if (!existsSync(join(pkgDir, "package.json"))) {
    throw new Error("pkg/ is not built: run `node scripts/build-pkg.mjs` first");
  }
  const base = join(tmpdir(), "cascade-edge-consumers");
  mkdirSync(base, { recursive: true });
  const scratch = mkdtempSync(join(base, "pack-"));
  try {
    const [packed] = JSON.parse(npm(["pack", pkgDir, "--pack-destination", scratch, "--json"], scratch));
    const tarball = join(scratch, packed.filename);
    const hash = createHash("sha256").update(readFileSync(tarball)).digest("hex").slice(0, 16);
    const consumer = join(base, hash);
    const installed = join(consumer, "node_modules", "cascade-edge");
    if (!existsSync(join(installed, "package.json"))) {
      const building = join(scratch, "consumer");
      mkdirSync(building);
      writeFileSync(join(building, "package.json"), JSON.stringify({ name: "consumer", version: "0.0.0", private: true }));
      npm(["install", tarball], building);
      // The installed package.json records the tarball path; it is not used after install.
      try {
        renameSync(building, consumer);
      } catch (error) {
        // Another test process won the race: its install is identical.
        if (!existsSync(join(installed, "package.json"))) throw error;
      }
    }
    cached = { consumer, installed };
    return cached;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/**
 * Imports `cascade-edge` (or a subpath of it: `"./edge"`) as a file of the consumer project would:
 * through the installed package's `exports` map (`subpath` → `node` → `import`).
 */
export async function importPackage(subpath = ".") {
  const { installed } = installPackage();
  const manifestUrl = pathToFileURL(join(installed, "package.json"));
  const manifest = JSON.parse(readFileSync(manifestUrl, "utf8"));
  return import(new URL(manifest.exports[subpath].node.import.default, manifestUrl).href);
}
