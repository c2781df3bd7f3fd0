// What one purge request may ask, and how much one isolate accepts per minute. The per-minute
// budget is this isolate's: Cloudflare runs many isolates, so it bounds each of them, not the
// deployment (a Durable Object, or a Rate Limiting rule on the route, bounds the whole).

const number = (text, fallback) => (text !== undefined && text !== "" && Number.isFinite(Number(text)) ? Number(text) : fallback);

/** The limits from the Worker's vars (wrangler.toml), with the defaults of this example. */
export function limitsOf(env) {
  return {
    maxBytes: number(env.MAX_BODY_BYTES, 256 * 1024),
    maxItems: number(env.MAX_ITEMS_PER_REQUEST, 1000),
    maxItemsPerMinute: number(env.MAX_ITEMS_PER_MINUTE, 20000),
    maxBytesPerMinute: number(env.MAX_BYTES_PER_MINUTE, 4 * 1024 * 1024),
    allowPurgeAll: env.ALLOW_PURGE_ALL === "1",
  };
}

/** A refusal: the HTTP status, a stable code and a message for the sender's log. */
export class Refusal extends Error {
  constructor(status, code, message, headers = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.headers = headers;
  }
}

const isStringList = (v) => v === undefined || (Array.isArray(v) && v.every((s) => typeof s === "string" && s.length > 0 && s.length <= 1024));

/**
 * The keys, patterns and tags of a purge body (what `cascade-edge pg watch --purge http` sends), or
 * a Refusal: not a set (400), more items than a request may carry (413), or a purge of everything
 * (`*`, or a pattern whose keyspace is `*`) unless ALLOW_PURGE_ALL=1 (403).
 */
export function readSet(body, limits, delimiter = ":") {
  let value;
  try {
    value = JSON.parse(body);
  } catch {
    throw new Refusal(400, "INVALID_JSON", "the body must be JSON: { keys, patterns, tags }");
  }
  const { keys = [], patterns = [], tags = [] } = value ?? {};
  if (value === null || typeof value !== "object" || ![keys, patterns, tags].every(isStringList)) {
    throw new Refusal(400, "INVALID_ARGUMENT", "`keys`, `patterns` and `tags` must be arrays of non-empty strings of at most 1024 characters");
  }
  const items = keys.length + patterns.length + tags.length;
  if (items > limits.maxItems) {
    throw new Refusal(413, "TOO_MANY_ITEMS", `${items} keys, patterns and tags in one request, above the limit of ${limits.maxItems}`);
  }
  const everything = [...keys, ...patterns, ...tags].find((item) => item === "*" || item.split(delimiter)[0] === "*");
  if (everything !== undefined && !limits.allowPurgeAll) {
    throw new Refusal(403, "PURGE_ALL_REFUSED", `'${everything}' would purge every keyspace; this receiver refuses it (set ALLOW_PURGE_ALL=1 to allow)`);
  }
  return { keys, patterns, tags, items };
}

/** This isolate's budget for the current minute; `take` refuses (429, Retry-After) past either cap. */
export function minuteBudget(now = () => Date.now()) {
  let minute = -1;
  let items = 0;
  let bytes = 0;
  return {
    take(limits, want) {
      const current = Math.floor(now() / 60000);
      if (current !== minute) [minute, items, bytes] = [current, 0, 0];
      if (items + want.items > limits.maxItemsPerMinute || bytes + want.bytes > limits.maxBytesPerMinute) {
        const retry = String(Math.max(1, Math.ceil(((current + 1) * 60000 - now()) / 1000)));
        throw new Refusal(429, "RATE_LIMITED", `over this minute's budget (${limits.maxItemsPerMinute} items, ${limits.maxBytesPerMinute} bytes)`, { "retry-after": retry });
      }
      items += want.items;
      bytes += want.bytes;
    },
  };
}
