// A purge receiver: `cascade-edge pg watch --purge http --endpoint https://<this Worker>/purge`
// with CASCADE_EDGE_PURGE_SECRET set POSTs each batch's { keys, patterns, tags } signed; this
// Worker checks the signature, the timestamp and replays (verifyPurgeRequest), applies its limits
// (src/limits.js), then purges Workers KV (CACHE_KV) with purgeKv.
//
//   POST /purge   signed body → 200 { purged, failed } | 401 | 403 | 413 | 429 | 502
//
// Nothing is read or deleted before the request has passed every check.
import { purgeKv, verifyPurgeRequest } from "cascade-edge/edge";
import { limitsOf, minuteBudget, readSet, Refusal } from "./limits.js";

const budget = minuteBudget(); // per isolate

const json = (value, status = 200, headers = {}) =>
  new Response(JSON.stringify(value), { status, headers: { "content-type": "application/json", ...headers } });
const fail = (status, code, message, headers = {}) => json({ error: { code, message } }, status, headers);

/** PURGE_SECRET, and PURGE_SECRET_PREVIOUS while a rotation is under way. */
const secretsOf = (env) => [env.PURGE_SECRET, env.PURGE_SECRET_PREVIOUS].filter((s) => typeof s === "string" && s.length > 0);

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname !== "/purge") return fail(404, "NOT_FOUND", "POST /purge");
    if (request.method !== "POST") return fail(405, "METHOD_NOT_ALLOWED", "POST /purge", { allow: "POST" });
    const secrets = secretsOf(env);
    // No secret configured: nobody may purge.
    if (secrets.length === 0) return fail(401, "UNAUTHORIZED", "this receiver has no PURGE_SECRET: it accepts no purge");
    const limits = limitsOf(env);
    try {
      // The replay guard is this isolate's (the default): a replay that reaches another isolate
      // within the window is caught only by the timestamp. A Durable Object as `replay` makes it strict.
      const verified = await verifyPurgeRequest(request, secrets, { maxBytes: limits.maxBytes, toleranceMs: Number(env.TOLERANCE_MS) || undefined });
      const set = readSet(verified.body, limits);
      budget.take(limits, { items: set.items, bytes: new TextEncoder().encode(verified.body).length });
      const result = await purgeKv(env.CACHE_KV, { keys: set.keys, patterns: set.patterns });
      // A failure answers 502, so the watcher keeps its outbox rows and retries.
      const status = result.failed.length > 0 ? 502 : 200;
      return json({ purged: result.purged.length, failed: result.failed, continuation: result.continuation ?? null }, status);
    } catch (error) {
      if (error instanceof Refusal) return fail(error.status, error.code, error.message, error.headers);
      if (error?.status) return fail(error.status, error.code, error.message);
      return fail(400, error?.code ?? "INVALID_ARGUMENT", error?.message ?? String(error));
    }
  },
};
