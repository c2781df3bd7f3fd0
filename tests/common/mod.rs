#![allow(dead_code)]

use cascade_edge::{Engine, EngineOptions, Value};

/// The design document's blog schema.
pub const BLOG_SDL: &str = r#"
type User {
  id: ID!
  name: String
  posts: [Post!]!
}

type Post {
  id: ID!
  title: String
  status: String
  author: User!
  comments: [Comment!]!
}

type Comment {
  id: ID!
  body: String
  author: User!
  post: Post!
}

type Query {
  user(id: ID!): User
  posts: [Post!]!
}
"#;

pub fn blog() -> Engine {
    Engine::from_schema(BLOG_SDL, EngineOptions::default()).expect("blog schema")
}

pub fn blog_with(options: EngineOptions) -> Engine {
    Engine::from_schema(BLOG_SDL, options).expect("blog schema")
}

pub fn json(text: &str) -> Value {
    Value::parse(text).expect("test JSON")
}

pub fn fixture(name: &str) -> String {
    let path = format!("{}/../shared/fixtures/schemas/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}
