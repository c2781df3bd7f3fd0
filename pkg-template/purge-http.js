// HTTP purges (Cloudflare, Fastly, and any other API a purger posts to): pacing by token bucket,
// retries with backoff and Retry-After, timeouts, and batches run in order.

import { CLOUDFLARE_PLAN_LIMITS, describe, errorMessage, positiveInt } from "./purge-set.js";

const realSleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// A clock that also advances by every sleep we take. With the real sleep it tracks Date.now(); with
// an injected no-wait sleep (tests) it still moves forward, so the token bucket sees the time it
// believes it waited and paces correctly instead of spinning.
function makeClock(now, sleep) {
  let virtual = now();
  return {
    now() {
      virtual = Math.max(virtual, now());
      return virtual;
    },
    async sleep(ms) {
      if (ms <= 0) return;
      virtual = this.now() + ms;
      await sleep(ms);
    },
  };
}

/**
 * A token bucket: `capacity` calls may burst, then `refillPerSecond` calls per second. Share one
 * bucket across purge calls (opts.rateLimit) to pace them together; the provider's limit is per
 * account, so isolates that purge concurrently can still draw 429s, which the retry policy absorbs.
 */
export function createTokenBucket({ capacity, refillPerSecond }) {
  if (!(capacity >= 1) || !Number.isFinite(capacity)) throw new RangeError("cascade-edge createTokenBucket: capacity must be a finite number ≥ 1");
  if (!(refillPerSecond > 0) || !Number.isFinite(refillPerSecond)) throw new RangeError("cascade-edge createTokenBucket: refillPerSecond must be a finite number > 0");
  let tokens = capacity;
  let last = null;
  return {
    capacity,
    refillPerSecond,
    /** Take one token, sleeping on `clock` until one is available; resolves to the ms waited. */
    async take(clock) {
      const t = clock.now();
      if (last === null) last = t;
      tokens = Math.min(capacity, tokens + (Math.max(0, t - last) * refillPerSecond) / 1000);
      last = Math.max(last, t);
      if (tokens >= 1) {
        tokens -= 1;
        return 0;
      }
      const wait = Math.ceil(((1 - tokens) * 1000) / refillPerSecond);
      await clock.sleep(wait);
      // The token that accrued while we slept is the one we use.
      tokens = 0;
      last = t + wait;
      return wait;
    },
  };
}

export function resolveBucket(rateLimit, plan) {
  if (rateLimit === false) return null;
  if (rateLimit && typeof rateLimit.take === "function") return rateLimit;
  if (rateLimit && typeof rateLimit === "object") return createTokenBucket(rateLimit);
  if (plan === undefined) return null;
  const limits = CLOUDFLARE_PLAN_LIMITS[plan];
  if (!limits) throw new TypeError(`cascade-edge purgeCloudflare: unknown plan ${describe(plan)} (expected ${Object.keys(CLOUDFLARE_PLAN_LIMITS).join(", ")})`);
  return createTokenBucket(limits);
}

/** Parse Retry-After (delta-seconds or an HTTP date) into ms; null when absent or unreadable. */
export function parseRetryAfter(value, nowMs = Date.now()) {
  if (typeof value !== "string" || value.trim() === "") return null;
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
  const date = Date.parse(v);
  if (Number.isNaN(date)) return null;
  return Math.max(0, date - nowMs);
}

class TimeoutError extends Error {}

export function httpOptions(cfg, name) {
  const fetchFn = cfg.fetch ?? globalThis.fetch;
  if (typeof fetchFn !== "function") throw new TypeError(`cascade-edge ${name}: no fetch available (pass opts.fetch)`);
  const maxRetries = cfg.maxRetries ?? 5;
  if (!Number.isInteger(maxRetries) || maxRetries < 0 || maxRetries > 100) throw new RangeError(`cascade-edge ${name}: maxRetries must be an integer in 0..100`);
  const now = cfg.now ?? Date.now;
  const clock = makeClock(now, cfg.sleep ?? realSleep);
  return {
    // Called as a plain function: workerd's fetch throws "Illegal invocation" when called as a
    // method of another object (`http.fetch(…)`).
    fetch: (input, init) => fetchFn(input, init),
    maxRetries,
    timeoutMs: positiveInt("timeoutMs", cfg.timeoutMs ?? 10000),
    baseDelayMs: positiveInt("baseDelayMs", cfg.baseDelayMs ?? 500),
    maxDelayMs: positiveInt("maxDelayMs", cfg.maxDelayMs ?? 30000),
    // A Retry-After longer than this is not slept through (a Worker cannot wait minutes); the
    // batch fails with the server's requested delay in the error so the caller can reschedule.
    maxRetryAfterMs: positiveInt("maxRetryAfterMs", cfg.maxRetryAfterMs ?? 60000),
    random: cfg.random ?? Math.random,
    clock,
  };
}

// One attempt: fetch and read the body under a single timeout. Racing the timer (not only aborting)
// also covers fetch implementations that ignore the signal.
async function attemptOnce(http, url, init) {
  const controller = new AbortController();
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(new TimeoutError(`timed out after ${http.timeoutMs}ms`));
    }, http.timeoutMs);
  });
  try {
    return await Promise.race([
      (async () => {
        const res = await http.fetch(url, { ...init, signal: controller.signal });
        const text = await res.text();
        return { status: res.status, headers: res.headers, text };
      })(),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function snippet(text) {
  const t = String(text ?? "").replace(/\s+/g, " ").trim();
  return t.length > 300 ? `${t.slice(0, 300)}…` : t;
}

/**
 * POST with pacing, a per-attempt timeout and bounded retries. Retries 408, 429, 5xx, network
 * errors and timeouts with exponential backoff and full jitter (delay = random() * min(maxDelay,
 * base * 2^attempt)); a Retry-After header replaces the backoff. `interpret(status, text)` returns
 * null for success or { error, retry } for a failure the backend spells differently (Cloudflare's
 * `success: false` on HTTP 200).
 * Resolves { ok: true, attempts } or { ok: false, error, status?, fatal, attempts } — never throws.
 */
export async function sendWithRetry(http, bucket, url, init, interpret) {
  let lastError = "not attempted";
  let lastStatus;
  for (let attempt = 0; attempt <= http.maxRetries; attempt++) {
    if (bucket) await bucket.take(http.clock);
    let retryAfterMs = null;
    let retryable;
    try {
      const res = await attemptOnce(http, url, init);
      lastStatus = res.status;
      const verdict = interpret(res.status, res.text);
      if (verdict === null) return { ok: true, attempts: attempt + 1, status: res.status };
      lastError = verdict.error;
      retryable = verdict.retry;
      if (!retryable) {
        return { ok: false, error: lastError, status: res.status, fatal: verdict.fatal === true, attempts: attempt + 1 };
      }
      retryAfterMs = parseRetryAfter(res.headers?.get?.("retry-after") ?? null, http.clock.now());
    } catch (err) {
      lastStatus = undefined;
      lastError = err instanceof TimeoutError ? err.message : `network error: ${errorMessage(err)}`;
      retryable = true;
    }
    if (attempt === http.maxRetries) break;
    let delay;
    if (retryAfterMs !== null) {
      if (retryAfterMs > http.maxRetryAfterMs) {
        return {
          ok: false,
          error: `${lastError}; server asked to retry after ${retryAfterMs}ms, more than maxRetryAfterMs (${http.maxRetryAfterMs}ms)`,
          status: lastStatus,
          fatal: false,
          attempts: attempt + 1,
        };
      }
      delay = retryAfterMs;
    } else {
      delay = Math.floor(http.random() * Math.min(http.maxDelayMs, http.baseDelayMs * 2 ** attempt));
    }
    await http.clock.sleep(delay);
  }
  return { ok: false, error: `${lastError} (gave up after ${http.maxRetries + 1} attempts)`, status: lastStatus, fatal: false, attempts: http.maxRetries + 1 };
}

export function httpVerdict(status, text) {
  if (status >= 200 && status < 300) return null;
  const error = `HTTP ${status}${text ? `: ${snippet(text)}` : ""}`;
  const retry = status === 408 || status === 429 || status >= 500;
  // Bad credentials or a wrong zone/service fail every batch the same way: stop sending.
  const fatal = status === 401 || status === 403 || status === 404;
  return { error, retry, fatal };
}

export async function runBatches(http, bucket, batches, send) {
  const purged = [];
  const failed = [];
  let fatal = null;
  for (const batch of batches) {
    if (fatal) {
      for (const item of batch.items) failed.push({ item, error: `not sent: an earlier call failed with ${fatal}` });
      continue;
    }
    const r = await send(batch);
    if (r.ok) purged.push(...batch.items);
    else {
      for (const item of batch.items) failed.push({ item, error: r.error });
      if (r.fatal) fatal = r.error;
    }
  }
  return { purged, failed };
}
