// Types for signed purge requests and bearer tokens (purge-auth.js).

export declare const PURGE_TIMESTAMP_HEADER: "x-cascade-edge-timestamp";
export declare const PURGE_SIGNATURE_HEADER: "x-cascade-edge-signature";

/** What a request needs here: its headers, and its body as a stream (a Fetch API `Request`). */
export interface RequestLike {
  headers: { get(name: string): string | null };
  body?: ReadableStream<Uint8Array> | null;
}

/** A secret, or several while a secret is rotated (any of them verifies). */
export type PurgeSecret = string | readonly string[];

/** The two headers that sign a body: timestamp (Unix ms) and `v1=<hex HMAC-SHA256 of "timestamp.body">`. */
export interface PurgeSignatureHeaders {
  "x-cascade-edge-timestamp": string;
  "x-cascade-edge-signature": string;
}

/** Signs `body` exactly as it will be sent. `timestamp` (Unix ms) defaults to now. */
export function signPurgeRequest(body: string | Uint8Array, secret: PurgeSecret, options?: { timestamp?: number }): Promise<PurgeSignatureHeaders>;

/** Where accepted signatures are kept for the replay window; `remember` is false for one already held. */
export interface ReplayGuard {
  remember(signature: string, untilMs: number, nowMs: number): boolean | Promise<boolean>;
}

/** An in-memory guard for one process or isolate; past `maxEntries` live signatures it refuses (REPLAY_CACHE_FULL). */
export function createReplayGuard(options?: { maxEntries?: number }): ReplayGuard & { readonly size: number };

export interface VerifyPurgeOptions {
  /** How far the timestamp may be from this clock, either way. Default 300000 (5 minutes). */
  toleranceMs?: number;
  /** Largest body read. Default 1 MiB; more is REQUEST_TOO_LARGE (413). */
  maxBytes?: number;
  /** The clock, in Unix ms. Default Date.now. */
  now?: () => number;
  /** Default: one guard per process or isolate. `false` skips the replay check. */
  replay?: ReplayGuard | false;
}

export interface VerifiedPurgeRequest {
  /** The body, as text. */
  body: string;
  timestamp: number;
  /** The signature that matched (hex). */
  signature: string;
}

/**
 * Checks a signed purge request and reads its body. Rejects with an Error whose `code` is
 * UNSIGNED_REQUEST, BAD_SIGNATURE, STALE_REQUEST or REPLAYED_REQUEST (`status` 401),
 * REQUEST_TOO_LARGE (413) or REPLAY_CACHE_FULL (503).
 */
export function verifyPurgeRequest(request: RequestLike, secret: PurgeSecret, options?: VerifyPurgeOptions): Promise<VerifiedPurgeRequest>;

/** Whether the request carries `Authorization: Bearer <token>` (constant time; false when `token` is empty). */
export function verifyBearer(request: RequestLike, token: string | undefined): Promise<boolean>;

/** String equality in time independent of content and length (both hashed with SHA-256 first). */
export function timingSafeEqualText(a: string, b: string): Promise<boolean>;
