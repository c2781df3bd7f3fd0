// A local HTTP server on 127.0.0.1 (random port) that records every request and answers from a
// script, to exercise the CDN purge helpers without touching any real API.
import { createServer } from "node:http";

/**
 * script(request, index) returns what to do with request number `index` (0-based):
 *   { status, headers?, body? }      respond (an object body is sent as JSON)
 *   { reset: true }                  destroy the connection without a response
 *   { delayMs, ...response }         respond after delayMs (to outlast the client's timeout)
 * Returns { base, requests, close }. `requests` holds { method, path, headers, body } per request.
 */
export async function startRecorder(script) {
  const requests = [];
  const timers = new Set();
  const server = createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      const text = Buffer.concat(chunks).toString("utf8");
      let body;
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        body = text;
      }
      const entry = { method: req.method, path: req.url, headers: { ...req.headers }, body };
      const index = requests.push(entry) - 1;
      const action = script(entry, index) ?? { status: 200, body: {} };
      if (action.reset) {
        req.socket.destroy();
        return;
      }
      const respond = () => {
        timers.delete(timer);
        if (res.destroyed || req.socket.destroyed) return;
        const payload = typeof action.body === "string" ? action.body : JSON.stringify(action.body ?? {});
        res.writeHead(action.status ?? 200, { "content-type": "application/json", ...(action.headers ?? {}) });
        res.end(payload);
      };
      const timer = action.delayMs ? setTimeout(respond, action.delayMs) : null;
      if (timer) timers.add(timer);
      else respond();
    });
  });
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const { port } = server.address();
  return {
    base: `http://127.0.0.1:${port}`,
    requests,
    async close() {
      for (const t of timers) clearTimeout(t);
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** An injectable sleep that records the requested delays and waits only a tick. */
export function recordingSleep() {
  const delays = [];
  const sleep = async (ms) => {
    delays.push(ms);
    await new Promise((resolve) => setImmediate(resolve));
  };
  return { sleep, delays };
}

export const tagsN = (n, prefix = "t") => Array.from({ length: n }, (_, i) => `${prefix}${String(i).padStart(4, "0")}`);

export const CF_OK = { status: 200, body: { success: true, errors: [], messages: [], result: { id: "zone" } } };
export const FASTLY_OK = { status: 200, body: { status: "ok" } };
