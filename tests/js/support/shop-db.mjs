// A second world for the transparency matrix (tests/js/matrix.test.mjs), with the shapes the blog
// lacks: a composite key (`Item @key(fields: "orgId number")`, an org id that needs encoding) and a
// holder with two lists of one type (`User.comments` and `User.likedComments`, both of `Comment`,
// which has one `author`: only the first is its inverse).
//
// Keys (the library's conventions; `seg` is encodeSegment, an item's id is `seg(orgId),number`):
//   org:{id}:items              list (Org.items)          [{ orgId, number, title }]
//   item:{o},{n}                entity                    { orgId, number, title }
//   item:{o},{n}:comments       list (Item.comments)      [{ id, body, author: { id, name } }]
//   comment:item:{o},{n}        list (Comment.item)       [{ id, body }]
//   user:{id}                   entity                    { id, name }
//   user:{id}:comments          list (User.comments)      [{ id, body }]
//   user:{id}:likedComments     list (User.likedComments) [{ id, body }]
import { encodeSegment as seg } from "../../../pkg/node.js";

export const shopSchema = `
type Query { org(id: ID!): Org, user(id: ID!): User }
type Org { id: ID!, name: String!, items: [Item!]! }
type Item @key(fields: "orgId number") {
  orgId: ID!
  number: Int!
  title: String!
  org: Org!
  comments: [Comment!]!
}
type Comment { id: ID!, body: String!, item: Item!, author: User! }
type User { id: ID!, name: String!, comments: [Comment!]!, likedComments: [Comment!]! }
`;

/** `Comment.author` is the inverse of `User.comments`; nothing points back from `likedComments`. */
export const shopOptions = { inverses: { "User.comments": "Comment.author", "User.likedComments": null } };

/** Org ids, one of them needing encoding in every key it appears in. */
const ORGS = ["acme", "a,b:c", "o 3"];

const copy = (row) => (row === undefined ? undefined : { ...row });
const itemKey = (orgId, number) => `${seg(orgId)},${number}`;
const commentData = (c) => ({ id: c.id, body: c.body, item_orgId: c.orgId, item_number: c.number, author_id: c.author_id });

export class ShopDb {
  items = new Map(); // itemKey → { orgId, number, title }
  comments = new Map(); // id → { id, body, orgId, number, author_id }
  users = new Map(); // id → { id, name }
  likes = new Map(); // user id → Set of comment ids
  #next = 1;

  #id() {
    return String(this.#next++);
  }

  get ceiling() {
    return this.#next - 1;
  }

  createUser(name) {
    const row = { id: this.#id(), name };
    this.users.set(row.id, row);
    this.likes.set(row.id, new Set());
    return [{ entity: "User", id: row.id, op: "create", after: copy(row) }];
  }

  updateUser(id, name) {
    const before = copy(this.users.get(id));
    if (!before) return [];
    this.users.get(id).name = name;
    return [{ entity: "User", id, op: "update", before, after: copy(this.users.get(id)) }];
  }

  /** Deletes the user, the comments they wrote and their likes. */
  deleteUser(id) {
    const before = copy(this.users.get(id));
    if (!before) return [];
    const changes = [];
    for (const c of [...this.comments.values()].filter((c) => c.author_id === id)) changes.push(...this.deleteComment(c.id));
    this.users.delete(id);
    this.likes.delete(id);
    changes.push({ entity: "User", id, op: "delete", before });
    return changes;
  }

  createItem(orgId, title) {
    const number = 1 + Math.max(0, ...[...this.items.values()].filter((i) => i.orgId === orgId).map((i) => i.number));
    const row = { orgId, number, title };
    this.items.set(itemKey(orgId, number), row);
    return [{ entity: "Item", id: itemKey(orgId, number), op: "create", after: copy(row) }];
  }

  updateItem(key, title) {
    const before = copy(this.items.get(key));
    if (!before) return [];
    this.items.get(key).title = title;
    return [{ entity: "Item", id: key, op: "update", before, after: copy(this.items.get(key)) }];
  }

  /** Deletes the item and its comments. */
  deleteItem(key) {
    const before = copy(this.items.get(key));
    if (!before) return [];
    const changes = [];
    for (const c of this.commentsOf(key)) changes.push(...this.deleteComment(c.id));
    this.items.delete(key);
    changes.push({ entity: "Item", id: key, op: "delete", before });
    return changes;
  }

  createComment(key, authorId, body) {
    const item = this.items.get(key);
    if (!item || !this.users.has(authorId)) return [];
    const row = { id: this.#id(), body, orgId: item.orgId, number: item.number, author_id: authorId };
    this.comments.set(row.id, row);
    return [{ entity: "Comment", id: row.id, op: "create", after: commentData(row) }];
  }

  updateComment(id, body) {
    const row = this.comments.get(id);
    if (!row) return [];
    const before = commentData(row);
    row.body = body;
    return [{ entity: "Comment", id, op: "update", before, after: commentData(row) }];
  }

  /** Moves a comment to another item: both parts of its item reference may change. */
  moveComment(id, key) {
    const row = this.comments.get(id);
    const item = this.items.get(key);
    if (!row || !item) return [];
    const before = commentData(row);
    Object.assign(row, { orgId: item.orgId, number: item.number });
    return [{ entity: "Comment", id, op: "update", before, after: commentData(row) }];
  }

  deleteComment(id) {
    const row = this.comments.get(id);
    if (!row) return [];
    this.comments.delete(id);
    for (const liked of this.likes.values()) liked.delete(id);
    return [{ entity: "Comment", id, op: "delete", before: commentData(row) }];
  }

  /** A like is part of the user (`User.likedComments`): the user changes, not the comment. */
  toggleLike(userId, commentId) {
    const liked = this.likes.get(userId);
    if (!liked || !this.comments.has(commentId)) return [];
    if (liked.has(commentId)) liked.delete(commentId);
    else liked.add(commentId);
    const row = copy(this.users.get(userId));
    return [{ entity: "User", id: userId, op: "update", before: row, after: row }];
  }

  commentsOf(key) {
    return [...this.comments.values()].filter((c) => itemKey(c.orgId, c.number) === key).sort((a, b) => Number(a.id) - Number(b.id));
  }
}

const brief = (c) => ({ id: c.id, body: c.body });

/** The resolver layer: each read is a key and a loader returning `{ value, tags }`. */
export function shopReads(db) {
  return {
    orgItems: (orgId) => ({
      key: `org:${seg(orgId)}:items`,
      load: () => ({ value: [...db.items.values()].filter((i) => i.orgId === orgId).sort((a, b) => a.number - b.number).map(copy) }),
    }),
    item: (key) => ({ key: `item:${key}`, load: () => ({ value: copy(db.items.get(key)) ?? null }) }),
    itemComments: (key) => ({
      key: `item:${key}:comments`,
      load() {
        const tags = new Set();
        const value = db.commentsOf(key).map((c) => {
          tags.add(`user:${c.author_id}`);
          return { ...brief(c), author: copy(db.users.get(c.author_id)) ?? null };
        });
        return { value, tags: [...tags] };
      },
    }),
    commentsByItem: (key) => ({ key: `comment:item:${key}`, load: () => ({ value: db.commentsOf(key).map(brief) }) }),
    userComments: (id) => ({
      key: `user:${id}:comments`,
      load: () => ({ value: [...db.comments.values()].filter((c) => c.author_id === id).map(brief) }),
    }),
    userLiked: (id) => ({
      key: `user:${id}:likedComments`,
      load: () => ({ value: [...(db.likes.get(id) ?? [])].sort((a, b) => a - b).map((c) => brief(db.comments.get(c))) }),
    }),
  };
}

function someKey(rng, map, fallback) {
  if (rng.next() < 0.9 && map.size > 0) return rng.pick([...map.keys()]);
  return fallback;
}

/** The random script of the shop, as blog-db's `scriptStep`. */
export function shopStep(rng, db) {
  const ceiling = db.ceiling + 2;
  const uid = () => someKey(rng, db.users, String(Math.max(1, ceiling - rng.int(100))));
  const cid = () => someKey(rng, db.comments, String(Math.max(1, ceiling - rng.int(100))));
  const ikey = () => someKey(rng, db.items, itemKey(rng.pick(ORGS), 1 + rng.int(40)));
  const word = () => `w${rng.int(1000)}`;
  if (rng.next() < 0.35) {
    let r = rng.int(100);
    if (r < 6 && db.users.size >= 20) r = 13;
    if (r >= 15 && r < 30 && db.items.size >= 60) r = 40;
    if (r >= 45 && r < 65 && db.comments.size >= 200) r = 80;
    if (r < 6 || db.users.size < 3) return { kind: "write", name: "createUser", run: () => db.createUser(word()) };
    if (r < 12) return { kind: "write", name: "updateUser", run: () => db.updateUser(uid(), word()) };
    if (r < 15) return { kind: "write", name: "deleteUser", run: () => db.deleteUser(uid()) };
    if (r < 30 || db.items.size < 3) return { kind: "write", name: "createItem", run: () => db.createItem(rng.pick(ORGS), word()) };
    if (r < 38) return { kind: "write", name: "updateItem", run: () => db.updateItem(ikey(), word()) };
    if (r < 45) return { kind: "write", name: "deleteItem", run: () => db.deleteItem(ikey()) };
    if (r < 65) return { kind: "write", name: "createComment", run: () => db.createComment(ikey(), uid(), word()) };
    if (r < 72) return { kind: "write", name: "updateComment", run: () => db.updateComment(cid(), word()) };
    if (r < 78) return { kind: "write", name: "moveComment", run: () => db.moveComment(cid(), ikey()) };
    if (r < 85) return { kind: "write", name: "deleteComment", run: () => db.deleteComment(cid()) };
    return { kind: "write", name: "toggleLike", run: () => db.toggleLike(uid(), cid()) };
  }
  const r = rng.int(6);
  if (r === 0) return { kind: "read", name: "orgItems", args: [rng.pick(ORGS)] };
  if (r === 1) return { kind: "read", name: "item", args: [ikey()] };
  if (r === 2) return { kind: "read", name: "itemComments", args: [ikey()] };
  if (r === 3) return { kind: "read", name: "commentsByItem", args: [ikey()] };
  if (r === 4) return { kind: "read", name: "userComments", args: [uid()] };
  return { kind: "read", name: "userLiked", args: [uid()] };
}

export const shopWorld = {
  name: "shop",
  schema: shopSchema,
  options: shopOptions,
  newDb: () => new ShopDb(),
  reads: shopReads,
  step: shopStep,
  writes: ["createUser", "updateUser", "deleteUser", "createItem", "updateItem", "deleteItem", "createComment", "updateComment", "moveComment", "deleteComment", "toggleLike"],
};
