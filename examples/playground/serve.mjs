#!/usr/bin/env node
// A tiny static server for the playground, on 127.0.0.1 only.
//   node examples/playground/serve.mjs [--port 8787] [--dir dist/playground]
// Without --dir it serves straight from the sources (this folder, pkg/, the preset schemas), so an
// edit shows on reload; with --dir it serves a directory made by build.mjs.
import { createReadStream, statSync } from "node:fs";
import { createServer } from "node:http";
import { extname, join, normalize, resolve, sep } from "node:path";
import { pathToFileURL } from "node:url";
import { pageDir, pkgDir, schemaSources } from "./site.mjs";

const MIME = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".wasm": "application/wasm",
  ".graphql": "text/plain; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".webmanifest": "application/manifest+json",
};

/** Joins a URL path under `base`, or null when it would escape it. */
function inside(base, urlPath) {
  const full = normalize(join(base, urlPath));
  return full === base || full.startsWith(base + sep) ? full : null;
}

/** Maps a URL path to a file: from a built directory, or from the sources. */
function resolver(dir) {
  if (dir) return (path) => inside(resolve(dir), path);
  const schemas = schemaSources();
  return (path) => {
    if (path.startsWith("/pkg/")) return inside(pkgDir, path.slice("/pkg/".length));
    const preset = path.match(/^\/schemas\/(\w+)\.graphql$/);
    if (preset) return schemas[preset[1]] ?? null;
    return inside(pageDir, path);
  };
}

/** Starts the server; resolves to { url, close() }. `port: 0` picks a free port. */
export function startServer({ port = 8787, dir } = {}) {
  const fileFor = resolver(dir);
  const server = createServer((req, res) => {
    let path;
    try {
      path = decodeURIComponent(new URL(req.url, "http://localhost").pathname);
    } catch {
      res.writeHead(400).end("bad request");
      return;
    }
    if (path.endsWith("/")) path += "index.html";
    let file = fileFor(path);
    let stat;
    try {
      stat = file && statSync(file);
    } catch {
      stat = undefined;
    }
    if (!stat?.isFile() || (req.method !== "GET" && req.method !== "HEAD")) {
      res.writeHead(stat ? 405 : 404, { "content-type": "text/plain; charset=utf-8" }).end(stat ? "method not allowed" : "not found");
      return;
    }
    res.writeHead(200, {
      "content-type": MIME[extname(file)] ?? "application/octet-stream",
      "content-length": stat.size,
      // Always revalidate: the service worker keeps the offline copy, not the HTTP cache.
      "cache-control": "no-cache",
    });
    if (req.method === "HEAD") res.end();
    else createReadStream(file).pipe(res);
  });
  return new Promise((resolvePromise, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      const { port: actual } = server.address();
      resolvePromise({
        url: `http://127.0.0.1:${actual}/`,
        close: () =>
          new Promise((done) => {
            server.close(done);
            server.closeAllConnections();
          }),
        server,
      });
    });
  });
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = process.argv.slice(2);
  const option = (name) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  try {
    const { url } = await startServer({ port: Number(option("--port") ?? 8787), dir: option("--dir") });
    console.log(`[playground] serving ${url}`);
  } catch (error) {
    console.error(`[playground] error: ${error.message}`);
    process.exit(1);
  }
}
