// One member of a bus fleet, run as its own Node process by tests/js/support/fleet.mjs: an LruCache
// of the built package joined to a channel with connectBus, driven over the IPC channel.
//   node bus-member.mjs '<json options for connectBus, without cache>'
import { join } from "node:path";
import { root } from "./installed.mjs";

const { LruCache } = await import(join(root, "pkg", "node.js"));
const { connectBus } = await import(join(root, "pkg", "bus.js"));

const options = JSON.parse(process.argv[2]);
const cache = new LruCache({ maxEntries: 10000 });
const lags = [];
const bus = await connectBus({
  ...options,
  cache,
  logger: (line) => process.stderr.write(`[member ${process.pid}] ${line}\n`),
  onReceive: ({ lagMs }) => lags.push(lagMs),
});

const ops = {
  fill: ({ keys }) => {
    for (const key of keys) cache.set(key, `value of ${key}`);
    return [...cache.keys()].sort();
  },
  keys: () => [...cache.keys()].sort(),
  publish: async ({ set }) => {
    try {
      const { removed, id } = await bus.publish(set);
      return { removed: removed.sort(), id };
    } catch (error) {
      return { error: error.code ?? error.message };
    }
  },
  stats: () => bus.stats(),
  lags: () => lags.splice(0),
  close: async () => {
    await bus.close();
    setImmediate(() => process.exit(0));
    return true;
  },
};

process.on("message", async ({ seq, op, ...args }) => {
  try {
    process.send({ seq, result: await ops[op](args) });
  } catch (error) {
    process.send({ seq, error: `${error.code ?? ""} ${error.message}` });
  }
});
process.send({ ready: true, memberId: bus.memberId });
