// A throwaway PostgreSQL server for tests: Debian's postgresql binaries, `initdb` on a temporary
// data directory, a random port on 127.0.0.1, stopped and removed by `stop()`. initdb and postgres
// refuse to run as root, so as root they run as the `postgres` system user (runuser).
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, chownSync, copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, skipUnlessRequired } from "./servers.mjs";

/** The directory holding initdb, pg_ctl and postgres, or null when PostgreSQL is not installed. */
export function postgresBinDir() {
  const base = "/usr/lib/postgresql";
  if (existsSync(base)) {
    const versions = readdirSync(base).filter((v) => existsSync(join(base, v, "bin", "pg_ctl")));
    versions.sort((a, b) => Number(b) - Number(a));
    if (versions.length) return join(base, versions[0], "bin");
  }
  const which = spawnSync("sh", ["-c", "command -v pg_ctl"], { encoding: "utf8" });
  return which.status === 0 ? join(which.stdout.trim(), "..") : null;
}

const SKIP_REASON = "PostgreSQL is not installed: run `SETUP_POSTGRES=1 bash scripts/setup.sh` (Debian's postgresql package)";
export const postgresMissing = () => skipUnlessRequired(!postgresBinDir(), SKIP_REASON);


/**
 * Starts a server; resolves `{ url, port, restart(), stop(), psql(sql) }`. `hba` lines go first in
 * pg_hba.conf (e.g. `host all watcher 127.0.0.1/32 scram-sha-256`: that role needs its password;
 * every other connection is trusted). With `ssl` (`{ cert, key }` files, e.g. from support/tls.mjs)
 * the server also accepts TLS (`ssl=on`), with a copy of them in its data directory.
 */
export async function startPostgres({ hba = [], ssl = null } = {}) {
  const bin = postgresBinDir();
  if (!bin) throw new Error(SKIP_REASON);
  const asRoot = process.getuid?.() === 0;
  const dir = mkdtempSync(join(tmpdir(), "cascade-edge-pg-"));
  if (asRoot) {
    const uid = Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }).trim());
    const gid = Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }).trim());
    chownSync(dir, uid, gid);
  }
  const data = join(dir, "data");
  const logFile = join(dir, "server.log");
  const run = (tool, args) => {
    const [cmd, argv] = asRoot ? ["runuser", ["-u", "postgres", "--", join(bin, tool), ...args]] : [join(bin, tool), args];
    const r = spawnSync(cmd, argv, { encoding: "utf8", timeout: 60000 });
    if (r.status !== 0) {
      const log = existsSync(logFile) ? readFileSync(logFile, "utf8").slice(-2000) : "";
      throw new Error(`${tool} ${args.join(" ")} failed (${r.status ?? r.error?.message}):\n${r.stdout}\n${r.stderr}\n${log}`);
    }
    return r.stdout;
  };
  run("initdb", ["-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync", "--no-instructions"]);
  if (hba.length) {
    const conf = join(data, "pg_hba.conf");
    writeFileSync(conf, `${hba.join("\n")}\n${readFileSync(conf, "utf8")}`);
  }
  let sslOptions = "";
  if (ssl) {
    // The server refuses a key file others may read; as root, the files must be the postgres user's.
    for (const [from, to] of [[ssl.cert, "server.crt"], [ssl.key, "server.key"]]) {
      copyFileSync(from, join(data, to));
      chmodSync(join(data, to), 0o600);
      if (asRoot) chownSync(join(data, to), ...["-u", "-g"].map((flag) => Number(execFileSync("id", [flag, "postgres"], { encoding: "utf8" }).trim())));
    }
    sslOptions = " -c ssl=on -c ssl_cert_file=server.crt -c ssl_key_file=server.key";
  }
  const port = await freePort();
  const serverOptions = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off${sslOptions}`;
  const start = () => run("pg_ctl", ["-D", data, "-o", serverOptions, "-l", logFile, "-w", "-t", "30", "start"]);
  start();
  let running = true;
  return {
    port,
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    /** Stops the server (fast: open connections are terminated) and starts it again. */
    restart() {
      run("pg_ctl", ["-D", data, "-m", "fast", "-w", "-t", "30", "stop"]);
      start();
    },
    /** Stops (immediate) without starting again. */
    halt() {
      run("pg_ctl", ["-D", data, "-m", "immediate", "-w", "-t", "30", "stop"]);
      running = false;
    },
    start() {
      start();
      running = true;
    },
    log: () => (existsSync(logFile) ? readFileSync(logFile, "utf8") : ""),
    /** Creates the database `name` (as the superuser) and returns its URL. */
    async createDatabase(name) {
      const { default: pg } = await import("pg");
      const admin = new pg.Client({ connectionString: this.url });
      await admin.connect();
      try {
        await admin.query(`CREATE DATABASE ${name}`);
      } finally {
        await admin.end();
      }
      return this.url.replace(/\/postgres$/, `/${name}`);
    },
    stop() {
      try {
        if (running) run("pg_ctl", ["-D", data, "-m", "immediate", "-w", "-t", "30", "stop"]);
      } finally {
        running = false;
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
