// A fleet of bus members, each its own Node process (support/bus-member.mjs), for the bus tests.
import { fork } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const MEMBER = join(dirname(fileURLToPath(import.meta.url)), "bus-member.mjs");
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Starts a member process joined with `options` (connectBus's, without cache); resolves its handle. */
export function startMember(options, name) {
  const child = fork(MEMBER, [JSON.stringify(options)], { stdio: ["ignore", "inherit", "pipe", "ipc"] });
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  let seq = 0;
  const waiting = new Map();
  return new Promise((resolve, reject) => {
    child.once("exit", (code) => {
      for (const w of waiting.values()) w.reject(new Error(`member ${name} exited (${code}):\n${stderr}`));
      reject(new Error(`member ${name} exited (${code}) before it was ready:\n${stderr}`));
    });
    child.on("message", (msg) => {
      if (msg.ready) {
        resolve({
          name,
          memberId: msg.memberId,
          pid: child.pid,
          log: () => stderr,
          call(op, args = {}) {
            const id = ++seq;
            return new Promise((res, rej) => {
              waiting.set(id, { resolve: res, reject: rej });
              child.send({ seq: id, op, ...args });
            });
          },
          kill() {
            child.kill("SIGKILL");
          },
          async close() {
            if (child.exitCode !== null) return;
            const exited = new Promise((r) => child.once("exit", r));
            await this.call("close").catch(() => {});
            await exited;
          },
        });
        return;
      }
      const w = waiting.get(msg.seq);
      if (!w) return;
      waiting.delete(msg.seq);
      if (msg.error) w.reject(new Error(`member ${name}: ${msg.error}`));
      else w.resolve(msg.result);
    });
  });
}

/** Polls `check()` until it returns true; fails with `what` after `timeoutMs`. */
export async function eventually(check, what, timeoutMs = 15000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    last = await check();
    if (last === true) return;
    await sleep(25);
  }
  throw new Error(`timed out waiting for ${what}${last !== undefined && last !== false ? `: ${JSON.stringify(last)}` : ""}`);
}

/** p50 and p99 of a list of numbers (ms). */
export function percentiles(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return { n: sorted.length, p50: at(0.5), p99: at(0.99), max: sorted[sorted.length - 1] };
}
