// A bug inside the wasm must surface as a clear, coded JS error and leave the module usable.
import { test } from "node:test";
import assert from "node:assert/strict";
import { __panicForTests, takePanic } from "../../pkg/cascade_edge.js";
import { CascadeEngine } from "../../pkg/node.js";

test("a panic traps with its message kept for the JS error, and the module keeps working", () => {
  assert.throws(() => __panicForTests(), WebAssembly.RuntimeError);
  const message = takePanic();
  assert.match(message, /^cascade-edge: internal error \(please report\): .*a deliberate panic/s);
  assert.equal(takePanic(), undefined, "the message is taken once");
  const engine = CascadeEngine.fromSchema("type User { id: ID! } type Query { u: User }");
  assert.deepEqual(engine.cascade({ entity: "user", id: "1" }).keys, ["user:1"]);
});
