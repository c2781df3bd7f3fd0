// tagsForResponse / withCoarseTags against the built package (pkg/): exact header values.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { CascadeEngine, LruCache, tagsForResponse, withCoarseTags, encodeSegment, tagForKey } from "../../pkg/node.js";

const sdl = readFileSync(new URL("../../examples/worker/schema.graphql", import.meta.url), "utf8");
const engine = CascadeEngine.fromSchema(sdl);

const userResponse = {
  data: {
    user: {
      __typename: "User",
      id: "1",
      name: "Ada",
      posts: [
        { __typename: "Post", id: 9, title: "Nine", comments: [] },
        { __typename: "Post", id: "a:b c", title: "Odd id" },
      ],
    },
  },
};

test("entity keys, parent-scoped list keys and their wildcards, in document order", () => {
  const r = tagsForResponse(engine, userResponse);
  assert.deepEqual(r.tags, [
    "user:1",
    "user:1:posts",
    "user:*:posts",
    "post:9",
    "post:9:comments", // an empty list is still a list: a new comment must reach this response
    "post:*:comments",
    "post:a%3Ab%20c",
  ]);
  assert.equal(r.header, "user:1,user:1:posts,user:*:posts,post:9,post:9:comments,post:*:comments,post:a%3Ab%20c");
  assert.equal(r.coarsened, false);
  assert.deepEqual(r.coarseTags, []);
  const f = tagsForResponse(engine, userResponse, { format: "fastly" });
  assert.equal(f.header, r.tags.join(" "));
});

test("tags are byte-for-byte the tags of the cascade sets that must reach the response", () => {
  // Each id below is tricky: delimiter, wildcard, braces, percent, comma, whitespace, non-ASCII.
  for (const id of ["1:2", "*", "{id}", "50%", "a,b", "x y\tz", "é", "1:*"]) {
    const resp = { data: { user: { __typename: "User", id, posts: [] } } };
    const { tags } = tagsForResponse(engine, resp);
    const set = engine.cascade({ entity: "user", id });
    assert.equal(tags[0], set.tags[0], `entity tag of ${JSON.stringify(id)}`);
    // A new post by this author purges exactly the response's list tag.
    const created = engine.cascade({ entity: "post", id: "new", op: "create", data: { authorId: id } });
    assert.ok(created.tags.includes(tags[1]), `list tag ${tags[1]} in ${created.tags}`);
    assert.equal(encodeSegment(id), set.keys[0].slice("user:".length));
  }
  assert.equal(tagForKey("user:é"), "user:%C3%A9");
  assert.equal(encodeSegment(""), "%00");
});

test("a coarse cascade (unknown author) reaches a response through the wildcard list tag", () => {
  const set = engine.cascade({ entity: "post", id: "9" }); // no author_id: user:*:posts, coarse
  const { tags } = tagsForResponse(engine, userResponse);
  assert.ok(set.tags.includes("user:*:posts"));
  assert.ok(tags.includes("user:*:posts"));
});

test("nested entities, Relay-style connections and parents", () => {
  const resp = {
    data: {
      post: {
        __typename: "Post",
        id: "9",
        author: { __typename: "User", id: "1", name: "Ada" },
        comments: { edges: [{ node: { __typename: "Comment", id: "5", author: { __typename: "User", id: "10" } } }] },
      },
      posts: [{ __typename: "Post", id: "3" }],
    },
  };
  const r = tagsForResponse(engine, resp, { parents: { posts: { entity: "User", id: "1" } } });
  assert.deepEqual(r.tags, [
    "post:9",
    "post:9:comments",
    "post:*:comments",
    "user:1",
    "comment:5",
    "user:10",
    "user:1:posts",
    "user:*:posts",
    "post:3",
  ]);
});

test("over budget: keyspaces coarsen deterministically, biggest saving first, and stay reachable", () => {
  const posts = Array.from({ length: 40 }, (_, i) => ({ __typename: "Post", id: String(i + 1), title: "t" }));
  const resp = { data: { user: { __typename: "User", id: "1", posts, comments: [{ __typename: "Comment", id: "7" }] } } };
  const fine = tagsForResponse(engine, resp);
  assert.equal(fine.coarsened, false);
  assert.equal(fine.tags.length, 1 + 2 + 40 + 2 + 1);
  const r = tagsForResponse(engine, resp, { budgetBytes: 100 });
  // An entity's list tags follow its own key; the 40 post tags (+ their comments lists) become post:*.
  assert.equal(r.header, "user:1,user:1:posts,user:*:posts,user:1:comments,user:*:comments,post:*,comment:7");
  assert.equal(r.coarsened, true);
  assert.deepEqual(r.coarseTags, ["post:*"]);
  // Same input, same output.
  assert.deepEqual(tagsForResponse(engine, resp, { budgetBytes: 100 }), r);
  // Tighter: user goes next (most bytes left); comment:7 → comment:* saves nothing, so at 22 bytes
  // only the global tag fits.
  assert.equal(tagsForResponse(engine, resp, { budgetBytes: 30 }).header, "user:*,post:*,comment:7");
  assert.deepEqual(tagsForResponse(engine, resp, { budgetBytes: 30 }).coarseTags, ["post:*", "user:*"]);
  assert.deepEqual(tagsForResponse(engine, resp, { budgetBytes: 22 }), { header: "*", tags: ["*"], keys: fine.keys, coarsened: true, coarseTags: ["*"] });

  // Correctness: for every fine tag, a purge of a cascade set that sends it, with withCoarseTags,
  // hits the coarsened header.
  for (const budget of [100, 30, 22]) {
    const coarse = new Set(tagsForResponse(engine, resp, { budgetBytes: budget }).tags);
    for (const change of [
      { entity: "post", id: "17" },
      { entity: "post", id: "new", op: "create", data: { authorId: "1" } },
      { entity: "comment", id: "7" },
      { entity: "user", id: "1" },
    ]) {
      const set = engine.cascade(change);
      if (!set.tags.some((t) => fine.tags.includes(t))) continue;
      const sent = withCoarseTags(set).tags;
      assert.ok(sent.some((t) => coarse.has(t)), `budget ${budget}: ${JSON.stringify(change)} must reach the response`);
    }
  }
});

test("withCoarseTags appends one keyspace tag per keyspace and the global tag", () => {
  const set = engine.cascade({ entity: "post", id: "9", data: { authorId: "1" } });
  assert.deepEqual(withCoarseTags(set).tags, [
    "post:9",
    "post:9:comments",
    "comment:post:9",
    "user:1:posts",
    "post:author:1",
    "post:*",
    "comment:*",
    "user:*",
    "*",
  ]);
  assert.deepEqual(set.tags.length, 5, "the input set is not modified");
});

test("bad options are errors with a code", () => {
  assert.throws(() => tagsForResponse(engine, userResponse, { format: "akamai" }), { code: "INVALID_OPTIONS" });
  assert.throws(() => tagsForResponse(engine, userResponse, { budgetBytes: 0 }), { code: "INVALID_OPTIONS" });
  assert.throws(() => tagsForResponse(engine, { data: [] }), { code: "INVALID_ARGUMENT" });
  assert.deepEqual(tagsForResponse(engine, { data: null }).tags, []);
});

// Issue 19: composite keys, explicit null foreign keys, snake_case columns, and tags an LruCache takes.
const ITEMS = `
  type Item @key(fields: "orgId number") { orgId: ID! number: Int! title: String comments: [Comment!]! }
  type Comment { id: ID! body: String item: Item! }
  type Query { item(orgId: ID!, number: Int!): Item }
`;
const itemResponse = (orgId, number) => ({
  data: { item: { __typename: "Item", orgId, number, comments: [{ __typename: "Comment", id: "1", body: "b" }] } },
});

/** An LruCache holding `responses` (name → response), each tagged with tagsForResponse(...).keys. */
function cacheOf(tagEngine, responses) {
  const cache = new LruCache({ maxEntries: 100 });
  for (const [name, response] of Object.entries(responses)) {
    cache.set(`response:${name}`, response, { tags: tagsForResponse(tagEngine, response).keys });
  }
  return cache;
}

test("`keys` are the exact keys behind the tags, which LruCache.set takes (the tags' wildcards it refuses)", () => {
  const r = tagsForResponse(engine, userResponse);
  assert.deepEqual(r.keys, ["user:1", "user:1:posts", "post:9", "post:9:comments", "post:a%3Ab%20c"]);
  const cache = new LruCache({ maxEntries: 10 });
  assert.throws(() => cache.set("response:user-1", 1, { tags: r.tags }), { code: "INVALID_KEY" });
  cache.set("response:user-1", 1, { tags: r.keys });
  // A new post by user 1 reaches it through user:1:posts; one by user 2 does not.
  cache.invalidateSet(engine.cascade({ entity: "post", id: "new", op: "create", data: { authorId: "2" } }));
  assert.equal(cache.has("response:user-1"), true);
  cache.invalidateSet(engine.cascade({ entity: "post", id: "new", op: "create", data: { authorId: "1" } }));
  assert.equal(cache.has("response:user-1"), false);
  // A coarse cascade (author unknown) reaches it through its pattern user:*:posts.
  cache.set("response:user-1", 1, { tags: r.keys });
  cache.invalidateSet(engine.cascade({ entity: "post", id: "new", op: "create" }));
  assert.equal(cache.has("response:user-1"), false);
  cache.free();
});

test("composite keys: a new comment on item (1, 7) purges that item's responses, by tag and in the LRU, and no other item's", () => {
  const items = CascadeEngine.fromSchema(ITEMS);
  const r = tagsForResponse(items, itemResponse("1", 7));
  assert.deepEqual(r.keys, ["item:1,7", "item:1,7:comments", "comment:1"]);
  assert.deepEqual(r.tags, ["item:1%2C7", "item:1%2C7:comments", "item:*:comments", "comment:1"]);
  const change = { entity: "Comment", id: "2", op: "create", data: { item: { orgId: "1", number: 7 } } };
  const set = items.cascade(change);
  assert.deepEqual(set.keys, ["comment:2", "item:1,7:comments", "comment:item:1,7"]);
  // Loaded from precompiled rules (the edge build's way), the engine gives the same sets.
  const loaded = CascadeEngine.fromJSON(items.toJSON());
  assert.deepEqual(loaded.cascade(change), set);
  assert.deepEqual(loaded.cascade({ entity: "item", id: "a%2Cb,7" }), items.cascade({ entity: "item", id: "a%2Cb,7" }));
  assert.ok(items.rules().some((r) => r.cascadeTo[0] === "comment:item:{item_orgId},{item_number}"));
  loaded.free();
  assert.deepEqual(set.tags, ["comment:2", "item:1%2C7:comments", "comment:item:1%2C7"]);
  assert.ok(set.tags.includes("item:1%2C7:comments"));
  const cache = cacheOf(items, { "1-7": itemResponse("1", 7), "1-8": itemResponse("1", 8), "17-": itemResponse("17", 0) });
  cache.invalidateSet(set);
  assert.deepEqual([...cache.keys()].sort(), ["response:1-8", "response:17-"]);
  // The id changesFromMutation gives is the key's segment: cascading it names the same key.
  const [found] = items.changesFromMutation({ data: { updateItem: { __typename: "Item", orgId: "a,b", number: 7 } } });
  assert.deepEqual([found.entity, found.id], ["item", "a%2Cb,7"]);
  assert.deepEqual(items.cascade(found).keys, ["item:a%2Cb,7", "item:a%2Cb,7:comments", "comment:item:a%2Cb,7"]);
  assert.deepEqual(tagsForResponse(items, itemResponse("a,b", 7)).keys.slice(0, 1), ["item:a%2Cb,7"]);
  // `parents` takes a composite parent's id in the same form.
  const listed = tagsForResponse(items, { data: { comments: [] } }, { parents: { comments: { entity: "Item", id: "1,7" } } });
  assert.deepEqual(listed.keys, ["item:1,7:comments"]);
  assert.throws(() => tagsForResponse(items, { data: { comments: [] } }, { parents: { comments: { entity: "Item", id: "1" } } }), {
    code: "INVALID_OPTIONS",
  });
  // A composite id with another number of parts is refused, with the form it takes.
  assert.throws(() => items.cascade({ entity: "Item", id: "1" }), (e) => e.code === "INVALID_CHANGE" && /`1,7`/.test(e.message));
  // A missing part widens the whole segment; the LRU entry is reached through the pattern.
  const coarse = items.cascade({ entity: "Comment", id: "2", data: { item_orgId: "1" } });
  assert.deepEqual(coarse.patterns, ["item:*:comments", "comment:item:*"]);
  cache.invalidateSet(coarse);
  assert.deepEqual([...cache.keys()], []);
  cache.free();
  items.free();
});

test("an explicit null foreign key purges no parent's list; a snake_case column is a foreign key", () => {
  const responses = { "user-1": userResponse, "user-2": { data: { user: { __typename: "User", id: "2", posts: [] } } } };
  const cache = cacheOf(engine, responses);
  // A post with no author: no user's list holds it (was user:*:posts, which emptied both).
  const orphan = engine.cascade({ entity: "post", id: "7", op: "create", data: { author_id: null } });
  assert.deepEqual(orphan.patterns, []);
  cache.invalidateSet(orphan);
  assert.deepEqual([...cache.keys()].sort(), ["response:user-1", "response:user-2"]);
  // A post moving from no author to user 2 purges user 2's list only.
  cache.invalidateSet(engine.cascade({ entity: "post", id: "7", data: { author_id: "2" }, before: { author_id: null } }));
  assert.deepEqual([...cache.keys()], ["response:user-1"]);
  cache.free();
  const tagged = CascadeEngine.fromSchema(`
    type Post { id: ID! maybeTag: Tag billingAccount: Account! }
    type Tag { id: ID! posts: [Post!]! }
    type Account { id: ID! }
  `);
  const tags = cacheOf(tagged, {
    "tag-4": { data: { tag: { __typename: "Tag", id: "4", posts: [] } } },
    "tag-5": { data: { tag: { __typename: "Tag", id: "5", posts: [] } } },
  });
  const set = tagged.cascade({ entity: "post", id: "9", data: { maybe_tag_id: 4, billing_account_id: 5 } });
  assert.deepEqual(set.keys, ["post:9", "tag:4:posts", "post:maybeTag:4", "post:billingAccount:5"]);
  assert.deepEqual(set.patterns, []);
  tags.invalidateSet(set);
  assert.deepEqual([...tags.keys()], ["response:tag-5"]);
  tags.free();
  tagged.free();
});

test("composite keys: an LruCache with the engine cascades an item's key, escapes and all", () => {
  const items = CascadeEngine.fromSchema(ITEMS);
  const cache = new LruCache({ maxEntries: 100, engine: items });
  for (const key of ["item:a%2Cb,7:comments", "comment:item:a%2Cb,7", "item:a,7:comments", "item:1,7:comments", "comment:item:1,7"]) cache.set(key, 1);
  // Twice each: the second and third cascades of a key may be answered from a plan.
  for (let i = 0; i < 3; i++) {
    cache.invalidate("item:a%2Cb,7");
    assert.deepEqual([...cache.keys()].sort(), ["comment:item:1,7", "item:1,7:comments", "item:a,7:comments"]);
  }
  for (let i = 0; i < 3; i++) {
    cache.invalidate("item:1,7");
    assert.deepEqual([...cache.keys()], ["item:a,7:comments"]);
    cache.set("item:1,7:comments", 1);
  }
  cache.free();
  items.free();
});

// Issue 19: `Post.author` was taken as the inverse of `User.likedPosts` too, so deleting post 9 by
// user 1 purged `user:1:likedPosts` and left user 2's cached likes, which hold post 9.
const likesSdl = `
  type User { id: ID!, name: String, posts: [Post!]!, likedPosts: [Post!]! }
  type Post { id: ID!, title: String, author: User! }
  type Query { user(id: ID!): User }
`;
const likesResponse = {
  data: { user: { __typename: "User", id: "2", name: "Bo", likedPosts: [{ title: "Nine" }] } },
};
const deletePost9 = { entity: "Post", id: "9", op: "delete", data: { author_id: "1" } };

test("a list whose inverse is ambiguous: a response tagged with another user's list is purged", () => {
  const engine = CascadeEngine.fromSchema(likesSdl);
  const { tags } = tagsForResponse(engine, likesResponse);
  assert.deepEqual(tags, ["user:2", "user:2:likedPosts", "user:*:likedPosts"]);
  const cache = new LruCache({ maxEntries: 10, engine });
  // The exact tags: an entry is tagged with keys, and the wildcard tags are for CDNs.
  cache.set("q:likes:2", likesResponse, { tags: tags.filter((t) => !t.includes("*")) });
  cache.set("q:other", 1, { tags: ["user:3"] });
  const set = engine.cascade(deletePost9);
  assert.deepEqual(set.keys, ["post:9", "post:author:1"]);
  assert.deepEqual(set.patterns, ["user:*:posts", "user:*:likedPosts"]);
  cache.invalidateSet(set);
  assert.equal(cache.has("q:likes:2"), false);
  assert.deepEqual([...cache.keys()], ["q:other"]);
  assert.deepEqual(
    engine.lint().filter((l) => l.code === "COARSE").map((l) => l.message.split(",")[0]),
    ["no to-one field of `Post` pairs unambiguously with `User.posts`", "no to-one field of `Post` pairs unambiguously with `User.likedPosts`"],
  );
});

test("the inverses option names the pairing, survives toJSON, and is checked against the schema", () => {
  const engine = CascadeEngine.fromSchema(likesSdl, { inverses: { "User.posts": "Post.author", "User.likedPosts": null } });
  const set = engine.cascade(deletePost9);
  assert.deepEqual(set.keys, ["post:9", "user:1:posts", "post:author:1"]);
  assert.deepEqual(set.patterns, ["user:*:likedPosts"]);
  const loaded = CascadeEngine.fromJSON(engine.toJSON());
  assert.deepEqual(loaded.cascade(deletePost9).keys, set.keys);
  assert.throws(
    () => CascadeEngine.fromSchema(likesSdl, { inverses: { "User.likedPost": null } }),
    (e) =>
      e.code === "INVALID_OPTIONS" &&
      e.message === "invalid options: inverses names `User.likedPost`, but `User` has no field `likedPost` — did you mean `User.likedPosts`?",
  );
  assert.throws(
    () => CascadeEngine.fromSchema(likesSdl, { inverses: { "User.posts": 1 } }),
    (e) => e.code === "INVALID_OPTIONS" && /must be a field such as "Post.author", or null for none/.test(e.message),
  );
});

test("a list inside a value type is tagged by its path, so a new entity joining it reaches the cached response", () => {
  const engine = CascadeEngine.fromSchema(`
    type User { id: ID!, profile: Profile! }
    type Profile { bio: String, pinned: [Post!]! }
    type Post { id: ID!, title: String }
    type Query { user(id: ID!): User }
  `);
  const response = { data: { user: { __typename: "User", id: "1", profile: { bio: "x", pinned: [{ __typename: "Post", id: "9", title: "t" }] } } } };
  const { tags, keys } = tagsForResponse(engine, response);
  assert.deepEqual(tags, ["user:1", "user:1:profile.pinned", "user:*:profile.pinned", "post:9"]);
  const cache = new LruCache({ maxEntries: 10 });
  cache.set("q:user:1", response, { tags: keys });
  cache.set("q:other", 1, { tags: ["user:2"] });
  // A new post may be pinned by anyone: the engine purges every user's pinned list.
  const set = engine.cascade({ entity: "Post", id: "10", op: "create", data: { title: "new" } });
  assert.deepEqual(set.patterns, ["user:*:profile.pinned"]);
  cache.invalidateSet(set);
  assert.deepEqual([...cache.keys()], ["q:other"]);
  cache.free();
  engine.free();
});
