// Whether a test file that needs a real server (PostgreSQL, redis-server, varnishd) may skip when
// it is not installed. A developer running one file may; `make test` (scripts/steps.sh sets
// CASCADE_EDGE_REQUIRE_SERVERS=1) may not: a missing server fails the run instead of letting its
// tests pass without running.
import { createServer } from "node:net";

/** `reason` (the test's skip) when the server is missing and skipping is allowed; throws in `make test`. */
export function skipUnlessRequired(missing, reason) {
  if (!missing) return false;
  if (process.env.CASCADE_EDGE_REQUIRE_SERVERS === "1") throw new Error(`${reason} (make test requires it)`);
  return reason;
}

/** A TCP port on 127.0.0.1 that was free a moment ago, for a server a test starts. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}
