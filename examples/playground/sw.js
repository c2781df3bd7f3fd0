// Offline support: everything the page needs is cached on install; requests go to the network
// first (so a reload always shows the latest build) and fall back to the cache when offline.
const CACHE = "cascade-edge-playground-v1";
const PRECACHE = [
  "./",
  "index.html",
  "style.css",
  "app.js",
  "graph.js",
  "state.js",
  // pkg/browser.js and every module it imports.
  ...[
    "browser.js", "api.js", "wasm.js", "errors.js", "protocol.js", "engine.js", "lru.js", "schema.js", "sets.js",
    "shapes.js", "plans.js", "mutation.js", "encoding.js", "tags.js", "isolate.js", "purge.js", "purge-set.js",
    "purge-kv.js", "purge-cache.js", "purge-http.js", "purge-cdn.js",
  ].map((file) => `pkg/${file}`),
  "pkg/cascade_edge.js",
  "pkg/cascade_edge_bg.wasm",
  "schemas/blog.graphql",
  "schemas/swapi.graphql",
  "schemas/github.graphql",
];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(PRECACHE)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((names) => Promise.all(names.filter((n) => n !== CACHE).map((n) => caches.delete(n))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET" || new URL(request.url).origin !== self.location.origin) return;
  event.respondWith(
    fetch(request)
      .then((response) => {
        if (response.ok) {
          const copy = response.clone();
          caches.open(CACHE).then((cache) => cache.put(request, copy));
        }
        return response;
      })
      .catch(() => caches.match(request, { ignoreSearch: true }).then((hit) => hit ?? Response.error())),
  );
});
