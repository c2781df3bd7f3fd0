// `engine.schema`: what JS reads of an engine's schema (entities by type name and by keyspace, key
// fields, to-many fields, the delimiter), built once per engine, read-only, the same from the full
// build's fromSchema and the edge build's fromJSON; and what tags, yoga and pg read from it.
import assert from "node:assert/strict";
import { before, test } from "node:test";
import { importPackage } from "./helpers/consumer.mjs";

let full;
let edge;

before(async () => {
  full = await importPackage();
  edge = await importPackage("./edge");
});

const SDL = `type User { id: ID! name: String posts: [Post!]! }
type Post { id: ID! title: String author: User! comments: [Comment!]! }
type Comment { id: ID! body: String post: Post! }
type Sku @key(fields: "shop code") { shop: String! code: String! }
type Query { user(id: ID!): User }`;

const ENTITIES = [
  { type: "User", keyspace: "member", keyFields: ["id"], toMany: ["posts"] },
  { type: "Post", keyspace: "post", keyFields: ["id"], toMany: ["comments"] },
  { type: "Comment", keyspace: "comment", keyFields: ["id"], toMany: [] },
  { type: "Sku", keyspace: "sku", keyFields: ["shop", "code"], toMany: [] },
];

test("engine.schema lists the entities with their keys, to-many fields and the delimiter", () => {
  const engine = full.CascadeEngine.fromSchema(SDL, { keyspaces: { User: "member" }, delimiter: "/" });
  const schema = engine.schema;
  assert.equal(schema.delimiter, "/");
  assert.deepEqual(schema.entities.map((e) => ({ ...e })), ENTITIES);
  assert.equal(schema.byType.get("User").keyspace, "member");
  assert.equal(schema.byKeyspace.get("member").type, "User");
  assert.equal(schema.byType.get("member"), undefined);
  assert.equal(schema.byKeyspace.get("User"), undefined);
  assert.deepEqual([...schema.byType.keys()], ["User", "Post", "Comment", "Sku"]);
  // As a change's `entity`: a keyspace or a type name.
  assert.equal(schema.entity("member"), schema.byType.get("User"));
  assert.equal(schema.entity("User"), schema.byType.get("User"));
  assert.equal(schema.entity("Nope"), undefined);
  // Built once: the same object every time.
  assert.equal(engine.schema, schema);
});

test("a type name that is another entity's keyspace names that entity, as in a cascade", () => {
  const engine = full.CascadeEngine.fromSchema(SDL, { keyspaces: { User: "Post" } });
  const { schema } = engine;
  assert.equal(schema.entity("Post").type, "User");
  assert.equal(schema.byType.get("Post").keyspace, "post");
  assert.equal(engine.cascade({ entity: "Post", id: "1" }).keys[0], "Post:1");
});

test("engine.schema is read-only", () => {
  const { schema } = full.CascadeEngine.fromSchema(SDL);
  assert.ok(Object.isFrozen(schema) && Object.isFrozen(schema.entities) && Object.isFrozen(schema.entities[0]));
  assert.ok(Object.isFrozen(schema.entities[0].keyFields) && Object.isFrozen(schema.entities[0].toMany));
  for (const map of [schema.byType, schema.byKeyspace]) {
    assert.throws(() => map.set("X", schema.entities[0]), { code: "INVALID_ARGUMENT" });
    assert.throws(() => map.delete("User"), { code: "INVALID_ARGUMENT" });
    assert.throws(() => map.clear(), { code: "INVALID_ARGUMENT" });
  }
  assert.equal(schema.byType.size, 4);
  assert.equal(schema.byKeyspace.get("user").type, "User");
});

test("the edge build's engine, loaded from precompiled rules, has the same schema", () => {
  const engine = full.CascadeEngine.fromSchema(SDL, { keyspaces: { User: "member" }, delimiter: "/" });
  const loaded = edge.CascadeEngine.fromJSON(engine.toJSON());
  assert.equal(loaded.schema.delimiter, "/");
  assert.deepEqual(loaded.schema.entities.map((e) => ({ ...e })), ENTITIES);
});

test("a freed engine has no schema", () => {
  const engine = full.CascadeEngine.fromSchema(SDL);
  void engine.schema;
  engine.free();
  assert.throws(() => engine.schema, { code: "USE_AFTER_FREE" });
  assert.throws(() => full.tagsForResponse(engine, { data: {} }), { code: "USE_AFTER_FREE" });
});

test("tags read the delimiter and to-many fields from the schema", () => {
  const engine = full.CascadeEngine.fromSchema(SDL, { keyspaces: { User: "member" }, delimiter: "/" });
  const response = { data: { user: { __typename: "User", id: "a/b", posts: [] } } };
  assert.deepEqual(full.tagsForResponse(engine, response).tags, ["member/a%2Fb", "member/a%2Fb/posts", "member/*/posts"]);
});

test("an object with entities() and relationships() but no schema is read the same way", () => {
  const engine = full.CascadeEngine.fromSchema(SDL, { keyspaces: { User: "member" }, delimiter: "/" });
  const like = { entities: () => engine.entities(), relationships: () => engine.relationships(), toJSON: () => engine.toJSON() };
  const response = { data: { user: { __typename: "User", id: "1", posts: [{ __typename: "Post", id: "2", comments: [] }] } } };
  assert.deepEqual(full.tagsForResponse(like, response).tags, full.tagsForResponse(engine, response).tags);
  assert.throws(() => full.tagsForResponse({}, response), { code: "INVALID_ARGUMENT" });
});
