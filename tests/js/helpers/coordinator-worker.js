// A Worker for tests/js/bus-coordinator.test.mjs: an isolate-local LruCache kept in step with the
// other isolates through GenerationSync's `coordinator` mode (a Durable Object).
import { GenerationCoordinator, GenerationSync, LruCache } from "cascade-edge/edge";

export { GenerationCoordinator };

let lru;
let sync;
// Fault injection around the real coordinator: while `broken`, every call to it fails as a network
// error would (the Durable Object itself stays as it is).
let broken = false;
const faulty = (namespace) => ({
  idFromName: (name) => namespace.idFromName(name),
  get: (id) => {
    const stub = namespace.get(id);
    return { fetch: (...args) => (broken ? Promise.reject(new Error("network connection lost")) : stub.fetch(...args)) };
  },
});
const keys = () => [...lru.keys()].sort();

export default {
  async fetch(request, env) {
    lru ??= new LruCache({ maxEntries: 1000 });
    sync ??= new GenerationSync({ coordinator: faulty(env.COORD), cache: lru, checkIntervalMs: Number(env.CHECK_MS) });
    const body = request.method === "POST" ? await request.json() : {};
    switch (new URL(request.url).pathname) {
      case "/fill":
        for (const key of body.keys) lru.set(key, `value of ${key}`);
        return Response.json(keys());
      case "/check":
        return Response.json({ ...(await sync.check(body)), keys: keys() });
      case "/publish":
        return Response.json({ ...(await sync.publish(body)), keys: keys() });
      case "/break":
        broken = body.broken;
        return Response.json(keys());
      default:
        return new Response("not found", { status: 404 });
    }
  },
};
