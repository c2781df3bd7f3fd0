// The admin endpoints' secret: `Authorization: Bearer <ADMIN_TOKEN>`, where ADMIN_TOKEN is a Worker
// secret (`npx wrangler secret put ADMIN_TOKEN`). Compared in constant time: both sides are hashed
// to 32 bytes first, so neither the length nor a common prefix of the token shows in the timing.
const sha256 = async (text) => new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));

function equalBytes(a, b) {
  if (typeof crypto.subtle.timingSafeEqual === "function") return crypto.subtle.timingSafeEqual(a, b);
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

/** Is this request allowed to change state? Never, when the Worker has no ADMIN_TOKEN. */
export async function isAdmin(request, env) {
  const secret = env.ADMIN_TOKEN;
  if (typeof secret !== "string" || secret.length === 0) return false;
  const header = request.headers.get("authorization") ?? "";
  const given = header.startsWith("Bearer ") ? header.slice("Bearer ".length) : "";
  const [a, b] = await Promise.all([sha256(given), sha256(secret)]);
  return equalBytes(a, b);
}
