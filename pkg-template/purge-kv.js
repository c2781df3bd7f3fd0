// Purging Workers KV: exact deletes, and prefix listings filtered by key coverage, within a budget
// of operations per invocation (the rest comes back as a continuation).

import {
  CONTINUATION_VERSION,
  DEFAULT_CONCURRENCY,
  KV_DEFAULT_MAX_OPERATIONS,
  KV_MAX_LIST_LIMIT,
  assertDelimiter,
  budget,
  checkContinuation,
  dedupe,
  errorMessage,
  isWildcard,
  keyCovers,
  listPrefixOf,
  positiveInt,
  readSet,
  settleAll,
  subsumes,
} from "./purge-set.js";

export function planKv(set, opts) {
  const delimiter = opts.delimiter ?? ":";
  assertDelimiter(delimiter);
  const failed = [];
  // Keys first, then patterns: the order the set gives, deduplicated. A `*` segment makes an item a
  // pattern wherever it was listed (a literal `*` can never be a segment: ids are encoded).
  const items = [];
  for (const item of dedupe([...set.keys, ...set.patterns])) {
    if (item.length === 0) failed.push({ item, error: "empty key: nothing to purge (refusing to list the whole namespace)" });
    else items.push(item);
  }
  const exact = new Set(items.filter((i) => !isWildcard(i, delimiter)));
  const wild = items.filter((i) => isWildcard(i, delimiter));
  const kept = items.filter((b) => {
    // Subsumed by an exact key? Look up its proper segment-prefixes: O(segments), not O(n).
    const segs = b.split(delimiter);
    for (let n = 1; n < segs.length; n++) {
      if (segs.slice(0, n).includes("*")) break;
      if (exact.has(segs.slice(0, n).join(delimiter))) return false;
    }
    // Subsumed by a pattern (patterns are few: this stays cheap).
    return !wild.some((a) => a !== b && subsumes(a, b, delimiter));
  });

  const deletes = kept.filter((i) => !isWildcard(i, delimiter));
  // One listing per literal prefix; a listing whose prefix lies inside another listing's prefix
  // is folded into the outer one (it would only re-read keys the outer listing reads anyway), so
  // the remaining listings are disjoint and no key is found twice.
  const byPrefix = new Map();
  for (const item of kept) {
    const prefix = listPrefixOf(item, delimiter);
    if (!byPrefix.has(prefix)) byPrefix.set(prefix, []);
    byPrefix.get(prefix).push(item);
  }
  const outerOf = (prefix) => {
    if (prefix !== "" && byPrefix.has("")) return "";
    const segs = prefix.slice(0, -delimiter.length).split(delimiter);
    for (let n = 1; n < segs.length; n++) {
      const candidate = segs.slice(0, n).join(delimiter) + delimiter;
      if (byPrefix.has(candidate)) return candidate;
    }
    return prefix;
  };
  const lists = [];
  const listIndex = new Map();
  for (const [prefix, matchers] of byPrefix) {
    const outer = outerOf(prefix);
    if (!listIndex.has(outer)) {
      listIndex.set(outer, lists.length);
      lists.push({ prefix: outer, matchers: [] });
    }
    lists[listIndex.get(outer)].matchers.push(...matchers);
  }
  return {
    backend: "kv",
    delimiter,
    deletes,
    lists,
    // Lower bound for a dry run: each listing costs at least one page; listed keys add one op each.
    minOperations: deletes.length + lists.length,
    failed,
  };
}

/**
 * Purge a CascadeSet from a Workers KV namespace.
 *
 * Each exact key is deleted directly, then its subtree is found with list({ prefix: K + delimiter });
 * patterns list the literal prefix before their first `*`. Listed names are filtered with keyCovers,
 * so `user:1` never deletes `user:10`. Every list page and every delete counts against
 * maxOperations; when the budget is spent the remaining work (pending deletes and the exact list
 * cursor) comes back as `continuation`, a JSON object to pass as opts.continuation in a later
 * invocation (the set argument is then ignored: the continuation carries all remaining work).
 *
 * KV's delete() does not say whether a key existed, so an exact key is reported in `purged` whenever
 * its delete succeeded. A failing delete reports that key in `failed`; a failing list reports every
 * key/pattern whose expansion it was serving (feed those back as a new set to retry).
 * KV listings are eventually consistent: a key written moments ago elsewhere may not be listed yet.
 */
export async function purgeKv(namespace, set, opts = {}) {
  if (!namespace || typeof namespace.list !== "function" || typeof namespace.delete !== "function") {
    throw new TypeError("cascade-edge purgeKv: namespace must be a KV namespace (with list() and delete())");
  }
  const o = opts ?? {};
  const maxOperations = budget(o.maxOperations ?? KV_DEFAULT_MAX_OPERATIONS);
  const listLimit = positiveInt("listLimit", o.listLimit ?? KV_MAX_LIST_LIMIT, { max: KV_MAX_LIST_LIMIT });
  const concurrency = positiveInt("concurrency", o.concurrency ?? DEFAULT_CONCURRENCY);

  const purged = [];
  const failed = [];
  let state;
  if (o.continuation !== undefined) {
    state = checkContinuation(o.continuation, "kv");
  } else {
    const plan = planKv(readSet(set), { delimiter: o.delimiter });
    failed.push(...plan.failed);
    state = {
      v: CONTINUATION_VERSION,
      backend: "kv",
      delimiter: plan.delimiter,
      deletes: plan.deletes,
      lists: plan.lists.map((l) => ({ prefix: l.prefix, matchers: l.matchers, cursor: null })),
    };
  }
  const { delimiter } = state;
  // Keys already queued in this invocation: an eventually consistent listing may return a key
  // again after we deleted it; deleting it twice would waste budget.
  const queued = new Set(state.deletes);

  let ops = 0;
  // Every iteration spends at least one operation, so the loop is bounded by maxOperations.
  while ((state.deletes.length > 0 || state.lists.length > 0) && ops < maxOperations) {
    if (state.deletes.length > 0) {
      const take = Math.min(concurrency, maxOperations - ops, state.deletes.length);
      const batch = state.deletes.splice(0, take);
      ops += batch.length;
      const results = await settleAll(batch.map((key) => () => namespace.delete(key)));
      results.forEach((r, i) => {
        if (r.status === "fulfilled") purged.push(batch[i]);
        else failed.push({ item: batch[i], error: `KV delete failed: ${errorMessage(r.reason)}` });
      });
      continue;
    }
    const list = state.lists[0];
    ops += 1;
    let page;
    try {
      const req = { prefix: list.prefix, limit: listLimit };
      if (list.cursor) req.cursor = list.cursor;
      page = await namespace.list(req);
      if (!page || !Array.isArray(page.keys)) throw new Error("list() returned no keys array");
    } catch (err) {
      state.lists.shift();
      for (const m of list.matchers) {
        failed.push({ item: m, error: `KV list of prefix ${JSON.stringify(list.prefix)} failed: ${errorMessage(err)}` });
      }
      continue;
    }
    for (const { name } of page.keys) {
      if (typeof name !== "string" || queued.has(name)) continue;
      if (list.matchers.some((m) => keyCovers(m, name, delimiter))) {
        queued.add(name);
        state.deletes.push(name);
      }
    }
    // A page can be empty while more remain: only list_complete ends a listing.
    if (page.list_complete) {
      state.lists.shift();
    } else if (typeof page.cursor === "string" && page.cursor.length > 0 && page.cursor !== list.cursor) {
      list.cursor = page.cursor;
    } else {
      // No usable cursor but not complete: following it would loop forever. Say so.
      state.lists.shift();
      for (const m of list.matchers) {
        failed.push({ item: m, error: `KV list of prefix ${JSON.stringify(list.prefix)} stopped: incomplete page without a new cursor` });
      }
    }
  }

  const result = { purged, failed };
  if (state.deletes.length > 0 || state.lists.length > 0) result.continuation = state;
  return result;
}
