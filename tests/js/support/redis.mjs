// A throwaway redis-server for tests: Debian's redis-server on a random port on 127.0.0.1, no
// persistence (a restart loses every key, as an unconfigured server does), in a temporary directory
// removed by `stop()`.
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createConnection } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, skipUnlessRequired } from "./servers.mjs";

const SKIP_REASON = "redis-server is not installed: run `SETUP_REDIS=1 bash scripts/setup.sh` (Debian's redis-server package)";

/** False when redis-server can run, else the reason to skip. */
export function redisMissing() {
  return skipUnlessRequired(spawnSync("sh", ["-c", "command -v redis-server"]).status !== 0, SKIP_REASON);
}


const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitForPort(port, timeoutMs = 10000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ok = await new Promise((resolve) => {
      const socket = createConnection({ host: "127.0.0.1", port }, () => {
        socket.end();
        resolve(true);
      });
      socket.on("error", () => resolve(false));
    });
    if (ok) return;
    await sleep(50);
  }
  throw new Error(`redis-server did not listen on ${port} within ${timeoutMs}ms`);
}

/**
 * Starts a server; resolves `{ url, port, halt(), start(), stop() }`. `args` are more command-line
 * options (`["--requirepass", "…", "--user", "bus", "on", …]`); with `tls` (`{ cert, key, ca }`
 * files) it listens for TLS only, and `url` is rediss://.
 */
export async function startRedis({ args = [], tls = null } = {}) {
  if (redisMissing()) throw new Error(SKIP_REASON);
  const dir = mkdtempSync(join(tmpdir(), "cascade-edge-redis-"));
  const port = await freePort();
  let child = null;
  let log = "";
  const listen = tls
    ? ["--port", "0", "--tls-port", String(port), "--tls-cert-file", tls.cert, "--tls-key-file", tls.key, "--tls-ca-cert-file", tls.ca, "--tls-auth-clients", "no"]
    : ["--port", String(port)];
  const start = async () => {
    child = spawn(
      "redis-server",
      [...listen, "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--appendonly", "no", "--daemonize", "no", "--loglevel", "warning", ...args],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    child.stdout.on("data", (d) => (log += d));
    child.stderr.on("data", (d) => (log += d));
    try {
      await waitForPort(port);
    } catch (error) {
      throw new Error(`${error.message}:\n${log}`);
    }
  };
  const halt = async () => {
    if (!child) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGKILL");
    await exited;
    child = null;
  };
  await start();
  return {
    port,
    url: `${tls ? "rediss" : "redis"}://127.0.0.1:${port}`,
    /** Kills the server (SIGKILL: no goodbye to the clients, nothing saved). */
    halt,
    /** Starts it again on the same port, empty. */
    start,
    log: () => log,
    async stop() {
      try {
        await halt();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
