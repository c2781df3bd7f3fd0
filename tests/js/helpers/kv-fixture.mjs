// Shared KV fixture: near-miss keys around the set { keys: ["user:1"], patterns: ["post:*:comments"] }.
import { Miniflare } from "miniflare";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const BULK = 2500; // > 2 pages of 1000: forces the listing to follow cursors

export const NEAR_MISSES = [
  "user:10", // shares characters with user:1, not a segment
  "user:10:posts",
  "user:100",
  "user:1%3A2", // an id containing the (encoded) delimiter: a sibling of user:1, not a child
  "user:1x",
  "user", // the parent of user:1 is not below it
  "post:10:likes",
  "post:9:likes",
  "post:9:commentsX", // partial-segment near miss of post:*:comments
  "post:comments", // too few segments for post:*:comments
  "comment:post:9",
  "postx:9:comments",
];

export const MUST_GO = [
  "user:1",
  "user:1:posts",
  "user:1:posts:page:2",
  "post:9:comments",
  "post:9:comments:page:1",
  "post:10:comments",
  "post:%2A:comments", // an encoded "*" id is just an id: matched by the * segment like any other
];

export const bulkKey = (i) => `user:1:feed:${String(i).padStart(5, "0")}`;

export const SET = { keys: ["user:1"], patterns: ["post:*:comments"], tags: [] };

const SEED_WORKER = `export default {
  async fetch(request, env) {
    const { ns, keys } = await request.json();
    for (let i = 0; i < keys.length; i += 50) {
      await Promise.all(keys.slice(i, i + 50).map((k) => env[ns].put(k, "v")));
    }
    return new Response(String(keys.length));
  },
};`;

export async function startKv(names) {
  // KV storage on tmpfs when there is one: the same workerd KV, without a disk sync per write
  // (several times faster on a busy machine). Removed on dispose.
  const root = mkdtempSync(join(existsSync("/dev/shm") ? "/dev/shm" : tmpdir(), "cascade-edge-kv-"));
  const mf = new Miniflare({
    kvPersist: root,
    modules: true,
    // The worker only seeds namespaces in bulk (puts run inside workerd, not one proxy round trip
    // each); the purge under test always goes through the real KV binding.
    script: SEED_WORKER,
    kvNamespaces: names,
  });
  const spaces = {};
  for (const n of names) spaces[n] = await mf.getKVNamespace(n);
  return {
    mf,
    spaces,
    seed: (ns, keys) => seed(mf, ns, keys),
    async dispose() {
      try {
        await mf.dispose();
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
    },
  };
}

async function seed(mf, ns, keys) {
  const res = await mf.dispatchFetch("http://seed.local/", { method: "POST", body: JSON.stringify({ ns, keys }) });
  const text = await res.text();
  if (res.status !== 200 || Number(text) !== keys.length) throw new Error(`seeding ${ns} failed: ${res.status} ${text}`);
}

/** Seed namespace `ns` with the near misses, the keys that must go, and `bulk` keys under user:1:feed:. */
export async function populate(env, ns, bulk = BULK) {
  const all = [...NEAR_MISSES, ...MUST_GO];
  for (let i = 0; i < bulk; i++) all.push(bulkKey(i));
  await env.seed(ns, all);
  return all;
}

export async function allKeys(kv) {
  const names = [];
  let cursor;
  for (let guard = 0; guard < 1000; guard++) {
    const page = await kv.list(cursor ? { cursor } : {});
    names.push(...page.keys.map((k) => k.name));
    if (page.list_complete) return names.sort();
    cursor = page.cursor;
  }
  throw new Error("listing did not complete");
}

/** Wrap a real namespace: count operations, and optionally inject faults. */
export function instrument(kv, { failDelete, failListPrefix, emptyFirstPage } = {}) {
  const stats = { lists: 0, deletes: 0, deleted: new Map(), listCalls: [] };
  return {
    stats,
    async list(opts) {
      stats.lists++;
      stats.listCalls.push({ ...opts });
      if (failListPrefix !== undefined && opts.prefix === failListPrefix) throw new Error("injected list failure");
      if (emptyFirstPage) {
        // A page can be empty while more remain: hand out an empty page with a synthetic cursor first.
        if (opts.cursor === undefined) return { keys: [], list_complete: false, cursor: "synthetic-start" };
        if (opts.cursor === "synthetic-start") {
          const { cursor, ...rest } = opts;
          return kv.list(rest);
        }
      }
      return kv.list(opts);
    },
    async delete(key) {
      stats.deletes++;
      stats.deleted.set(key, (stats.deleted.get(key) ?? 0) + 1);
      if (failDelete !== undefined && key === failDelete) throw new Error(`injected delete failure for ${key}`);
      return kv.delete(key);
    },
  };
}
