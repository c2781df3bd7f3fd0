// The schemas the JS tests share: the blog example, and the real-world fixtures of tests/fixtures.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));

/** The blog schema of examples/node (the design document's). */
export const BLOG = readFileSync(join(here, "..", "..", "..", "examples", "node", "blog.graphql"), "utf8");

/** A real-world schema of tests/fixtures/schemas (`swapi.graphql`, `github.graphql`). */
export function fixture(name) {
  return readFileSync(join(here, "..", "..", "fixtures", "schemas", name), "utf8");
}
