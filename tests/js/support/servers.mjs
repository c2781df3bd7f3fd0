// Whether a test file that needs a real server (PostgreSQL, redis-server, varnishd) may skip when
// it is not installed. A developer running one file may; `make test` (scripts/steps.sh sets
// CASCADE_EDGE_REQUIRE_SERVERS=1) may not: a missing server fails the run instead of letting its
// tests pass without running.

/** `reason` (the test's skip) when the server is missing and skipping is allowed; throws in `make test`. */
export function skipUnlessRequired(missing, reason) {
  if (!missing) return false;
  if (process.env.CASCADE_EDGE_REQUIRE_SERVERS === "1") throw new Error(`${reason} (make test requires it)`);
  return reason;
}
