// A Worker for tests/js/bus-coordinator.test.mjs: an isolate-local LruCache kept in step with the
// other isolates through GenerationSync's `coordinator` mode (a Durable Object).
import { GenerationCoordinator, GenerationSync, LruCache } from "cascade-edge/edge";

export { GenerationCoordinator };

let lru;
let sync;
const keys = () => [...lru.keys()].sort();

export default {
  async fetch(request, env) {
    lru ??= new LruCache({ maxEntries: 1000 });
    sync ??= new GenerationSync({ coordinator: env.COORD, cache: lru, checkIntervalMs: Number(env.CHECK_MS) });
    const body = request.method === "POST" ? await request.json() : {};
    switch (new URL(request.url).pathname) {
      case "/fill":
        for (const key of body.keys) lru.set(key, `value of ${key}`);
        return Response.json(keys());
      case "/check":
        return Response.json({ ...(await sync.check(body)), keys: keys() });
      case "/publish":
        return Response.json({ ...(await sync.publish(body)), keys: keys() });
      default:
        return new Response("not found", { status: 404 });
    }
  },
};
