// The schemas the JS tests share: the blog example, and the real-world fixtures of shared/.
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));

/** The blog schema of examples/node (the design document's). */
export const BLOG = readFileSync(join(here, "..", "..", "..", "examples", "node", "blog.graphql"), "utf8");

/** A schema of shared/fixtures/schemas (`swapi.graphql`, `github.graphql`), found above the repository. */
export function fixture(name) {
  for (let dir = here; dir !== dirname(dir); dir = dirname(dir)) {
    const path = join(dir, "shared", "fixtures", "schemas", name);
    if (existsSync(path)) return readFileSync(path, "utf8");
  }
  throw new Error(`fixture ${name} not found in a shared/fixtures/schemas above ${here}`);
}
