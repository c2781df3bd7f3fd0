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

/// A real-world schema of `tests/fixtures/schemas/` (`github.graphql`, `swapi.graphql`).
pub fn fixture(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/schemas").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Proptest cases: `PROPTEST_CASES` for the long mode, else `default`.
pub fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

static OPS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
static CASES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Counts a case's operations; in a long run, prints the total after the last case.
pub fn count_operations(name: &str, ops: u64, cases: u32) {
    use std::sync::atomic::Ordering::Relaxed;
    let total = OPS.fetch_add(ops, Relaxed) + ops;
    if CASES.fetch_add(1, Relaxed) + 1 == u64::from(cases) && std::env::var_os("PROPTEST_CASES").is_some() {
        eprintln!("{name}: {cases} cases, {total} operations");
    }
}
