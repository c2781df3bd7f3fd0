// Placeholder demo: loads the built package (pkg/) the way Node users do and prints its version.
// In your own project: import { version } from "cascade-edge";
import { version } from "../../pkg/node.js";

console.log(`cascade-edge ${version()} loaded in Node ${process.versions.node}`);
