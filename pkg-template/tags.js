// Response tagging for CDNs (SPEC §6): the `Cache-Tag` (Cloudflare) or `Surrogate-Key` (Fastly)
// value of a GraphQL response, so a purge by the tags of a CascadeSet reaches every cached response
// that holds stale data.
//
// What a response is tagged with, in first-seen (document) order, without duplicates:
//  1. the key of every entity in it (`__typename` of an entity type + its key fields): `post:9`;
//  2. for every to-many relationship field of an entity (a list, an empty list or a Relay
//     connection), also one inside its value types (`user:1:profile.pinned`, by the field's path,
//     as the engine keys it): the parent-scoped list key `user:1:posts`, immediately followed by its wildcard
//     generalisation `user:*:posts` (a cascade whose foreign key was unknown purges that pattern,
//     rendered as the flat tag `user:*:posts`; the response must carry it to be reached);
//  3. for the top-level fields named in `opts.parents`, the list key of that parent, same as (2).
// Ids are encoded exactly like the core encodes keys (SPEC §1): `%`, the delimiter, `*`, `{`, `}`,
// `,` and whitespace become `%XX` in a segment, then the key is rendered as a tag like the core's
// CascadeSet `tags` (bytes outside printable ASCII, and `,`, become `%XX`). So a tag of a response is
// byte-for-byte the tag a CascadeSet carries for the same key.
//
// Coarsening (when the header would exceed `budgetBytes`): every tag of one keyspace (its first
// segment: `post:9`, `post:9:comments`, `post:*:comments` …) is replaced by the single keyspace tag
// `post:*`. Keyspaces are coarsened one at a time, the one saving the most bytes first (ties: by
// name), until the header fits; if it still does not fit, everything is replaced by the global tag
// `*`. Flat CDN tags match exactly, never by prefix, so a coarse tag is only reached when the purge
// also sends it: purge with `withCoarseTags(set)`, which appends `ks:*` for every keyspace the set
// touches and `*`. With that, a purge of any key of a cascade set that would have hit the fine tags
// still hits the coarsened response (the key's keyspace tag is sent); the cost is that a coarsened
// response is purged by every mutation touching one of its coarsened keyspaces. Fine-tagged
// responses never carry `ks:*` or `*`, so those extra purge tags only ever reach coarsened ones.

import { encodeSegment, idSegmentOf, joinKeyParts, tagForKey } from "./encoding.js";
import { codedError } from "./errors.js";
import { MAX_RESPONSE_DEPTH } from "./protocol.js";
import { schemaOf } from "./schema.js";

export { encodeSegment, tagForKey };

const DEFAULT_BUDGET = 16384;
const FORMATS = { cloudflare: ",", fastly: " " };
const GLOBAL_TAG = "*";
// How many value types deep a list is looked for under an entity (the engine follows at most 8).
const MAX_VALUE_PATH = 8;

const utf8 = new TextEncoder();

function scalarString(v) {
  if (typeof v === "string") return v;
  if (typeof v === "number" && Number.isFinite(v)) return String(v);
  if (typeof v === "boolean") return String(v);
  return undefined;
}

/** The engine's schema (schema.js), or INVALID_ARGUMENT. */
function schemaFor(engine) {
  const schema = schemaOf(engine);
  if (schema === undefined) throw codedError("INVALID_ARGUMENT", "tagsForResponse needs a CascadeEngine as its first argument");
  return schema;
}

function entityKey(schema, obj) {
  const entity = schema.byType.get(obj.__typename);
  if (!entity || entity.keyFields.length === 0) return undefined;
  const parts = [];
  for (const f of entity.keyFields) {
    const s = scalarString(obj[f]);
    if (s === undefined) return undefined;
    parts.push(s);
  }
  return { entity, key: `${entity.keyspace}${schema.delimiter}${joinKeyParts(parts, schema.delimiter)}` };
}

function isListValue(schema, value) {
  // A list of entity objects (or an empty list) under an entity field is a to-many relationship
  // even when the schema says otherwise (an alias, an interface field).
  return Array.isArray(value) && value.some((v) => v && typeof v === "object" && entityKey(schema, v));
}

/** The tags of a response, and the exact keys among them (no wildcard generalisation) as keys. */
function collectTags(schema, response, parents) {
  const tags = [];
  const keys = [];
  const seen = new Set();
  const add = (key, exact) => {
    const tag = tagForKey(key);
    if (!seen.has(tag)) {
      seen.add(tag);
      tags.push(tag);
      if (exact) keys.push(key);
    }
  };
  const d = schema.delimiter;
  const addList = (keyspace, idSegment, field) => {
    add(`${keyspace}${d}${idSegment}${d}${field}`, true);
    add(`${keyspace}${d}*${d}${field}`, false);
  };
  const walk = (value, depth) => {
    if (depth > MAX_RESPONSE_DEPTH) throw codedError("LIMIT_EXCEEDED", `the response is nested deeper than ${MAX_RESPONSE_DEPTH} levels`);
    if (Array.isArray(value)) {
      for (const item of value) walk(item, depth + 1);
      return;
    }
    if (value === null || typeof value !== "object") return;
    const found = entityKey(schema, value);
    if (found) {
      add(found.key, true);
      const idSegment = found.key.slice(found.entity.keyspace.length + d.length);
      // The entity's lists, also those inside its value types (`profile.pinned`: the engine keys a
      // field reached through a value type by its path).
      const lists = (obj, prefix, level) => {
        for (const [field, child] of Object.entries(obj)) {
          if (field === "__typename" || child === null || child === undefined) continue;
          const path = prefix + field;
          if (found.entity.toMany.includes(path) || isListValue(schema, child)) {
            addList(found.entity.keyspace, idSegment, path);
          } else if (typeof child === "object" && !Array.isArray(child) && level < MAX_VALUE_PATH && !entityKey(schema, child)) {
            lists(child, `${path}.`, level + 1);
          }
        }
      };
      lists(value, "", 0);
    }
    for (const [field, child] of Object.entries(value)) {
      if (field !== "__typename") walk(child, depth + 1);
    }
  };
  let root = response;
  if (response && typeof response === "object" && "data" in response) root = response.data;
  if (root === null || root === undefined) return { tags, keys };
  if (typeof root !== "object" || Array.isArray(root)) {
    throw codedError("INVALID_ARGUMENT", "a GraphQL response must be an object with `data` (an object)");
  }
  for (const [field, value] of Object.entries(root)) {
    const parent = parents?.[field];
    if (parent) {
      const entity = schema.byType.get(parent.entity) ?? schema.byKeyspace.get(parent.entity);
      const id = scalarString(parent.id);
      const idSegment = entity && id !== undefined ? idSegmentOf(id, entity.keyFields.length, d) : undefined;
      if (idSegment === undefined) {
        throw codedError(
          "INVALID_OPTIONS",
          `parents.${field} must be { entity: <type or keyspace>, id, field? } of an entity type (a composite key's id as \`1,7\`)`,
        );
      }
      addList(entity.keyspace, idSegment, parent.field ?? field);
    }
    walk(value, 1);
  }
  return { tags, keys };
}

const bytes = (s) => utf8.encode(s).length;

function render(tags, separator) {
  return tags.join(separator);
}

function coarsen(tags, separator, budget, delimiter) {
  const headerBytes = (list) => bytes(render(list, separator));
  if (headerBytes(tags) <= budget) return { tags, coarsened: false, coarseTags: [] };
  const keyspaceOf = (tag) => tag.split(delimiter)[0];
  const coarse = new Set();
  let current = tags;
  for (;;) {
    // Bytes saved by coarsening each remaining keyspace.
    const groups = new Map();
    for (const t of current) {
      const ks = keyspaceOf(t);
      const coarseTag = `${ks}${delimiter}*`;
      if (coarse.has(ks) && t === coarseTag) continue;
      const g = groups.get(ks) ?? { ks, bytes: 0, count: 0 };
      g.bytes += bytes(t) + bytes(separator);
      g.count += 1;
      groups.set(ks, g);
    }
    const candidates = [...groups.values()]
      .map((g) => ({ ks: g.ks, saving: g.bytes - (bytes(`${g.ks}${delimiter}*`) + bytes(separator)) }))
      .filter((c) => !coarse.has(c.ks))
      .sort((a, b) => b.saving - a.saving || (a.ks < b.ks ? -1 : a.ks > b.ks ? 1 : 0));
    if (candidates.length === 0) break;
    const ks = candidates[0].ks;
    coarse.add(ks);
    const coarseTag = `${ks}${delimiter}*`;
    const next = [];
    const seen = new Set();
    for (const t of current) {
      const replaced = keyspaceOf(t) === ks ? coarseTag : t;
      if (!seen.has(replaced)) {
        seen.add(replaced);
        next.push(replaced);
      }
    }
    current = next;
    if (headerBytes(current) <= budget) {
      return { tags: current, coarsened: true, coarseTags: [...coarse].sort().map((k) => `${k}${delimiter}*`) };
    }
  }
  return { tags: [GLOBAL_TAG], coarsened: true, coarseTags: [GLOBAL_TAG] };
}

/**
 * The `Cache-Tag` / `Surrogate-Key` header value for a GraphQL response. `keys` are the exact keys
 * behind the fine tags (entity and list keys, without their wildcard forms, never coarsened):
 * the `tags` an `LruCache.set` of the same response takes, which a cascade set's keys and
 * patterns reach.
 * @returns {{ header: string, tags: string[], keys: string[], coarsened: boolean, coarseTags: string[] }}
 */
export function tagsForResponse(engine, response, opts = {}) {
  const { budgetBytes = DEFAULT_BUDGET, format = "cloudflare", parents } = opts ?? {};
  const separator = FORMATS[format];
  if (separator === undefined) {
    throw codedError("INVALID_OPTIONS", `format must be "cloudflare" (Cache-Tag) or "fastly" (Surrogate-Key), not ${JSON.stringify(format)}`);
  }
  if (typeof budgetBytes !== "number" || !(budgetBytes >= 1)) {
    throw codedError("INVALID_OPTIONS", "budgetBytes must be a positive number of bytes");
  }
  if (parents !== undefined && (parents === null || typeof parents !== "object")) {
    throw codedError("INVALID_OPTIONS", "parents must map top-level field names to { entity, id, field? }");
  }
  const schema = schemaFor(engine);
  const fine = collectTags(schema, response, parents);
  const { tags, coarsened, coarseTags } = coarsen(fine.tags, separator, budgetBytes, schema.delimiter);
  return { header: render(tags, separator), tags, keys: fine.keys, coarsened, coarseTags };
}

/**
 * The CascadeSet to purge CDN tags with when responses may have been coarsened: `set.tags` plus the
 * keyspace tag `ks:*` of every key and pattern in the set, plus the global tag `*`. Returns a new set.
 */
export function withCoarseTags(set, opts = {}) {
  const delimiter = opts?.delimiter ?? ":";
  if (set === null || typeof set !== "object") throw codedError("INVALID_ARGUMENT", "withCoarseTags takes a CascadeSet");
  const tags = [...(set.tags ?? [])];
  const seen = new Set(tags);
  const push = (t) => {
    if (!seen.has(t)) {
      seen.add(t);
      tags.push(t);
    }
  };
  for (const key of [...(set.keys ?? []), ...(set.patterns ?? [])]) {
    const ks = key.split(delimiter)[0];
    push(ks === "*" ? GLOBAL_TAG : tagForKey(`${ks}${delimiter}*`));
  }
  if (tags.length > 0) push(GLOBAL_TAG);
  return { ...set, tags };
}
