#![allow(dead_code)]

use cascade_edge::{Engine, EngineOptions, Value};

/// The design document's blog schema (the one the demo uses).
pub const BLOG_SDL: &str = include_str!("../../examples/node/blog.graphql");

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
