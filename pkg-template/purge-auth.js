// Who may purge: signed purge requests and bearer tokens, with Web Crypto only (crypto.subtle), so
// one implementation runs in Workers, browsers and Node ≥ 20. Nothing here touches wasm.
//
// A signed request carries two headers:
//   x-cascade-edge-timestamp: 1735689600123          (Unix time in milliseconds)
//   x-cascade-edge-signature: v1=<64 hex digits>     (HMAC-SHA256 of `${timestamp}.${body}`)
// The receiver recomputes the HMAC over the bytes it received, refuses a timestamp more than
// `toleranceMs` from its clock, and refuses a signature it has already accepted within that window.
// Milliseconds, not seconds: a sender that retries the same body within a second still signs a new
// request, so a retry is never mistaken for a replay.

import { codedError } from "./errors.js";

export const PURGE_TIMESTAMP_HEADER = "x-cascade-edge-timestamp";
export const PURGE_SIGNATURE_HEADER = "x-cascade-edge-signature";
const VERSION = "v1=";
const DEFAULT_TOLERANCE_MS = 300_000;
const DEFAULT_MAX_BYTES = 1 << 20;
const DEFAULT_REPLAY_ENTRIES = 100_000;
/** Most signatures one header may list (several secrets during a rotation). */
const MAX_SIGNATURES = 4;

const encoder = new TextEncoder();
const sha256 = async (text) => new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(text)));

function equalBytes(a, b) {
  if (a.length !== b.length) return false;
  if (typeof crypto.subtle.timingSafeEqual === "function") return crypto.subtle.timingSafeEqual(a, b);
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

/**
 * Whether two strings are equal, in time that depends on neither their content nor their lengths:
 * both are hashed to 32 bytes first, then compared with `crypto.subtle.timingSafeEqual` (workerd)
 * or an XOR fold.
 */
export async function timingSafeEqualText(a, b) {
  const [x, y] = await Promise.all([sha256(String(a)), sha256(String(b))]);
  return equalBytes(x, y);
}

/**
 * Whether `request` carries `Authorization: Bearer <token>`, compared in constant time. Never true
 * when `token` is missing or empty, so an unset secret locks the door instead of opening it.
 */
export async function verifyBearer(request, token) {
  if (typeof token !== "string" || token.length === 0) return false;
  const header = request?.headers?.get?.("authorization") ?? "";
  const given = header.startsWith("Bearer ") ? header.slice("Bearer ".length) : "";
  return timingSafeEqualText(given, token);
}

function secretsOf(secret) {
  const list = Array.isArray(secret) ? secret : [secret];
  if (list.length === 0 || !list.every((s) => typeof s === "string" && s.length > 0)) {
    throw codedError("INVALID_OPTIONS", "the purge secret must be a non-empty string (or an array of them, during a rotation)");
  }
  return list;
}

// One CryptoKey per secret: importKey is the costly part of an HMAC over a small body.
const keyCache = new Map();
function hmacKey(secret) {
  let key = keyCache.get(secret);
  if (key === undefined) {
    if (keyCache.size >= 16) keyCache.clear();
    key = crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
    keyCache.set(secret, key);
  }
  return key;
}

function signedBytes(timestamp, body) {
  const head = encoder.encode(`${timestamp}.`);
  const rest = typeof body === "string" ? encoder.encode(body) : body;
  const bytes = new Uint8Array(head.length + rest.length);
  bytes.set(head);
  bytes.set(rest, head.length);
  return bytes;
}

const toHex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

function fromHex(hex) {
  if (!/^[0-9a-f]{64}$/i.test(hex)) return null;
  const bytes = new Uint8Array(32);
  for (let i = 0; i < 32; i++) bytes[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return bytes;
}

/**
 * The headers that sign `body` (the exact string or bytes you send) with `secret`:
 * `{ "x-cascade-edge-timestamp", "x-cascade-edge-signature" }`. `timestamp` (ms) defaults to now.
 */
export async function signPurgeRequest(body, secret, { timestamp = Date.now() } = {}) {
  const [key] = secretsOf(secret);
  if (typeof body !== "string" && !(body instanceof Uint8Array)) {
    throw codedError("INVALID_ARGUMENT", "signPurgeRequest signs the body as sent: a string or a Uint8Array");
  }
  if (!Number.isSafeInteger(timestamp) || timestamp < 0) throw codedError("INVALID_ARGUMENT", "`timestamp` must be Unix time in milliseconds");
  const mac = await crypto.subtle.sign("HMAC", await hmacKey(key), signedBytes(timestamp, body));
  return { [PURGE_TIMESTAMP_HEADER]: String(timestamp), [PURGE_SIGNATURE_HEADER]: `${VERSION}${toHex(new Uint8Array(mac))}` };
}

/**
 * Signatures accepted within the replay window, for one process or isolate. `remember` returns
 * false for a signature it already holds. Bounded: past `maxEntries` live signatures it refuses
 * (REPLAY_CACHE_FULL) rather than forget one that could still be replayed.
 */
export function createReplayGuard({ maxEntries = DEFAULT_REPLAY_ENTRIES } = {}) {
  if (!Number.isInteger(maxEntries) || maxEntries < 1) throw codedError("INVALID_OPTIONS", "`maxEntries` must be a positive integer");
  const seen = new Map(); // signature → the time it stops mattering (ms)
  let inserts = 0;
  const sweep = (now) => {
    for (const [signature, until] of seen) if (until < now) seen.delete(signature);
  };
  return {
    remember(signature, untilMs, nowMs = Date.now()) {
      if ((++inserts & 1023) === 0 || seen.size >= maxEntries) sweep(nowMs);
      const until = seen.get(signature);
      if (until !== undefined && until >= nowMs) return false;
      if (seen.size >= maxEntries) {
        throw Object.assign(codedError("REPLAY_CACHE_FULL", `over ${maxEntries} signed requests within the replay window: refused`), { status: 503 });
      }
      seen.set(signature, untilMs);
      return true;
    },
    get size() {
      return seen.size;
    },
  };
}

const defaultGuard = createReplayGuard();

const refused = (code, status, message) => Object.assign(codedError(code, message), { status });

/** The body's bytes, refusing past `maxBytes` before reading further than that. */
async function readCapped(request, maxBytes) {
  const declared = Number(request.headers.get("content-length"));
  if (Number.isFinite(declared) && declared > maxBytes) {
    throw refused("REQUEST_TOO_LARGE", 413, `the body is ${declared} bytes, above the limit of ${maxBytes}`);
  }
  if (!request.body) return new Uint8Array(0);
  const reader = request.body.getReader();
  const chunks = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => {});
      throw refused("REQUEST_TOO_LARGE", 413, `the body is over ${maxBytes} bytes`);
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.byteLength;
  }
  return bytes;
}

/**
 * Checks a signed purge request (see signPurgeRequest) and reads its body. Resolves
 * `{ body, timestamp, signature }` (the body as text) or rejects with an Error whose `code` says why
 * and whose `status` is the HTTP status to answer: UNSIGNED_REQUEST, BAD_SIGNATURE, STALE_REQUEST,
 * REPLAYED_REQUEST (401); REQUEST_TOO_LARGE (413); REPLAY_CACHE_FULL (503).
 *
 * options: `toleranceMs` (default 300000: ±5 minutes), `maxBytes` (default 1 MiB), `now()` (ms),
 * `replay`: where accepted signatures are kept for the window — default one guard per process or
 * isolate (createReplayGuard()); any `{ remember(signature, untilMs, nowMs) }` (may return a
 * promise), or `false` to skip the check.
 */
export async function verifyPurgeRequest(request, secret, options = {}) {
  const secrets = secretsOf(secret);
  const { toleranceMs = DEFAULT_TOLERANCE_MS, maxBytes = DEFAULT_MAX_BYTES, now = Date.now, replay = defaultGuard } = options ?? {};
  if (!Number.isFinite(toleranceMs) || toleranceMs <= 0) throw codedError("INVALID_OPTIONS", "`toleranceMs` must be a positive number");
  if (replay !== false && typeof replay?.remember !== "function") throw codedError("INVALID_OPTIONS", "`replay` must be false or have remember(signature, untilMs, nowMs)");
  const stampText = request?.headers?.get?.(PURGE_TIMESTAMP_HEADER);
  const signatureText = request?.headers?.get?.(PURGE_SIGNATURE_HEADER);
  if (!stampText || !signatureText) {
    throw refused("UNSIGNED_REQUEST", 401, `a purge request must carry ${PURGE_TIMESTAMP_HEADER} and ${PURGE_SIGNATURE_HEADER} (signPurgeRequest)`);
  }
  // The clock first: an old request is refused before its body is read.
  const timestamp = /^\d{1,16}$/.test(stampText) ? Number(stampText) : NaN;
  const clock = now();
  if (!Number.isSafeInteger(timestamp) || Math.abs(clock - timestamp) > toleranceMs) {
    throw refused("STALE_REQUEST", 401, `${PURGE_TIMESTAMP_HEADER} is not within ${toleranceMs} ms of this server's clock`);
  }
  const given = signatureText
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.startsWith(VERSION))
    .slice(0, MAX_SIGNATURES)
    .map((s) => ({ hex: s.slice(VERSION.length).toLowerCase(), bytes: fromHex(s.slice(VERSION.length)) }))
    .filter((s) => s.bytes !== null);
  if (given.length === 0) throw refused("BAD_SIGNATURE", 401, `${PURGE_SIGNATURE_HEADER} must be v1=<64 hex digits>`);
  const bytes = await readCapped(request, maxBytes);
  const data = signedBytes(timestamp, bytes);
  let match = null;
  for (const s of secrets) {
    const key = await hmacKey(s);
    for (const g of given) {
      // crypto.subtle.verify compares in constant time.
      if (match === null && (await crypto.subtle.verify("HMAC", key, g.bytes, data))) match = g.hex;
    }
  }
  if (match === null) throw refused("BAD_SIGNATURE", 401, "the signature does not match the body and timestamp");
  // Only a valid signature is remembered, so forged requests cannot fill the guard.
  if (replay !== false && !(await replay.remember(match, timestamp + toleranceMs, clock))) {
    throw refused("REPLAYED_REQUEST", 401, "this signed request was already accepted");
  }
  return { body: new TextDecoder().decode(bytes), timestamp, signature: match };
}
