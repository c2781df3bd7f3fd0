// What the bus and its transports share (not part of the public API).

export function codedError(code, message, cause) {
  const error = new Error(message, cause ? { cause } : undefined);
  error.code = code;
  return error;
}

// Node's codes for a certificate it does not accept, and PostgreSQL's refusal of a plain client.
const TLS_CODES = /^(ERR_TLS_|ERR_SSL_|CERT_|DEPTH_ZERO_SELF_SIGNED_CERT$|SELF_SIGNED_CERT_IN_CHAIN$|UNABLE_TO_(GET|VERIFY)_|HOSTNAME_MISMATCH$)/;

/**
 * A connection error that retrying will not cure, as a coded error: BUS_AUTH_FAILED (Redis
 * WRONGPASS/NOAUTH, PostgreSQL 28P01/28000: a wrong password, or pg_hba.conf refusing this client),
 * BUS_NOT_PERMITTED (Redis NOPERM, PostgreSQL 42501: the user lacks a command or a grant),
 * BUS_TLS_FAILED (the server's certificate is not trusted, or the server does not speak TLS);
 * null for anything else (a server down or restarting: worth retrying).
 */
export function refusal(error, where) {
  const message = String(error?.message ?? error);
  const code = typeof error?.code === "string" ? error.code : "";
  if (code === "28000") {
    return codedError("BUS_AUTH_FAILED", `${where} refused this client: ${message} (pg_hba.conf says who may connect, from where, and whether over TLS: see sslmode)`, error);
  }
  if (/^(WRONGPASS|NOAUTH)\b/.test(message) || code === "28P01") {
    return codedError(
      "BUS_AUTH_FAILED",
      `${where} refused this client: ${message} (the password comes from the URL, else redisOptions/pgOptions, else REDIS_PASSWORD / PGPASSWORD)`,
      error,
    );
  }
  if (/^NOPERM\b/.test(message) || code === "42501") {
    return codedError("BUS_NOT_PERMITTED", `${where} denied the bus a command or a table: ${message} (README, "Fleets", lists what the bus needs)`, error);
  }
  if (TLS_CODES.test(code) || /server does not support SSL/.test(message)) {
    return codedError("BUS_TLS_FAILED", `TLS with ${where} failed: ${message}${code ? ` (${code})` : ""}`, error);
  }
  return null;
}

/** Imports an optional peer dependency; a MISSING_DEPENDENCY error naming the npm package when absent. */
export async function loadPeer(name, why) {
  try {
    const mod = await import(name);
    return mod.default ?? mod;
  } catch (error) {
    if (error?.code === "ERR_MODULE_NOT_FOUND" || new RegExp(`Cannot find (module|package) '${name}'`).test(error?.message ?? "")) {
      throw codedError("MISSING_DEPENDENCY", `${why} needs \`${name}\`: run \`npm install ${name}\` (an optional peer dependency of cascade-edge)`);
    }
    throw error;
  }
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
