// The admin endpoints' secret: `Authorization: Bearer <ADMIN_TOKEN>`, where ADMIN_TOKEN is a Worker
// secret (`npx wrangler secret put ADMIN_TOKEN`). verifyBearer compares in constant time (both sides
// hashed to 32 bytes first, so neither the length nor a common prefix of the token shows in the
// timing) and is false when the Worker has no ADMIN_TOKEN.
import { verifyBearer } from "cascade-edge/edge";

/** Is this request allowed to change state? Never, when the Worker has no ADMIN_TOKEN. */
export const isAdmin = (request, env) => verifyBearer(request, env.ADMIN_TOKEN);
