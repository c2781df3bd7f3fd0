// A throwaway Varnish for tests: Debian's varnishd with vmod xkey (varnish-modules), in the
// foreground (-F) on a free port of 127.0.0.1, with its working directory (-n) in a temporary
// directory, malloc storage and no jail (-j none: it runs as the current user, root or not, and
// needs no system account). `stop()` ends it and removes the directory.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, skipUnlessRequired } from "./servers.mjs";

export { freePort };

const SKIP_REASON = "varnishd with vmod xkey is not installed: run `SETUP_VARNISH=1 bash scripts/setup.sh` (Debian's varnish and varnish-modules)";

/** The varnishd binary, or null. */
export function varnishdPath() {
  for (const p of ["/usr/sbin/varnishd", "/usr/local/sbin/varnishd"]) if (existsSync(p)) return p;
  const which = spawnSync("sh", ["-c", "command -v varnishd"], { encoding: "utf8" });
  return which.status === 0 ? which.stdout.trim() : null;
}

function xkeyInstalled() {
  const roots = ["/usr/lib/varnish/vmods", "/usr/local/lib/varnish/vmods"];
  if (existsSync("/usr/lib")) {
    for (const d of readdirSync("/usr/lib")) roots.push(join("/usr/lib", d, "varnish", "vmods"));
  }
  return roots.some((dir) => existsSync(join(dir, "libvmod_xkey.so")));
}

export const varnishMissing = () => skipUnlessRequired(!(varnishdPath() && xkeyInstalled()), SKIP_REASON);


/** examples/varnish/default.vcl with its backend pointed at `port` (and, optionally, edited further). */
export function exampleVcl(backendPort, edit = (text) => text) {
  const text = readFileSync(new URL("../../../examples/varnish/default.vcl", import.meta.url), "utf8");
  const pointed = text.replace(/(backend origin \{[^}]*\.port = ")\d+(";)/, `$1${backendPort}$2`);
  if (pointed === text) throw new Error("default.vcl: no `backend origin { … .port = \"…\"; }` to point at the test origin");
  return edit(pointed);
}

/** Starts varnishd with `vcl` (text); resolves `{ url, port, restart(), halt(), start(), stop(), log() }`. */
export async function startVarnish(vcl) {
  const bin = varnishdPath();
  if (!bin || !xkeyInstalled()) throw new Error(SKIP_REASON);
  const dir = mkdtempSync(join(tmpdir(), "cascade-edge-varnish-"));
  const vclFile = join(dir, "default.vcl");
  writeFileSync(vclFile, vcl);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/`;
  let child = null;
  let output = "";

  async function start() {
    const args = ["-F", "-j", "none", "-a", `127.0.0.1:${port}`, "-f", vclFile, "-n", join(dir, "work"), "-s", "malloc,64m", "-T", "none"];
    const proc = spawn(bin, args, { stdio: ["ignore", "pipe", "pipe"] });
    child = proc;
    proc.stdout.on("data", (c) => (output += c));
    proc.stderr.on("data", (c) => (output += c));
    const exited = new Promise((resolve) => proc.once("exit", (code, signal) => resolve({ code, signal })));
    proc.exited = exited;
    // Up when it answers HTTP at all (a synthetic 400/403 or the origin's answer).
    const deadline = Date.now() + 30000;
    for (;;) {
      const early = await Promise.race([exited, new Promise((r) => setTimeout(() => r(null), 100))]);
      if (early) throw new Error(`varnishd exited (${early.code ?? early.signal}) before answering:\n${output.slice(-3000)}`);
      try {
        await fetch(`${url}__varnish_ready`, { method: "HEAD", signal: AbortSignal.timeout(1000) });
        return;
      } catch {
        if (Date.now() > deadline) throw new Error(`varnishd did not answer on ${url} within 30s:\n${output.slice(-3000)}`);
      }
    }
  }

  async function halt() {
    const proc = child;
    child = null;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    proc.kill("SIGTERM");
    const timer = setTimeout(() => proc.kill("SIGKILL"), 10000);
    await proc.exited;
    clearTimeout(timer);
  }

  await start();
  return {
    port,
    url,
    /** Stops varnishd (its cache is gone with it: malloc storage) and starts it again on the same port. */
    async restart() {
      await halt();
      await start();
    },
    halt,
    start,
    log: () => output,
    async stop() {
      try {
        await halt();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
