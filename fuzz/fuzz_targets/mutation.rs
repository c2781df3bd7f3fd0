//! Mutation-response walking: `Value::parse` on arbitrary text, then `changes_from_mutation` on
//! the blog schema and a cascade of every change found; the same value is also tried as a change,
//! a rule, engine options and precompiled rules.
#![no_main]

use cascade_edge::{Change, Engine, EngineOptions, Value};
use libfuzzer_sys::fuzz_target;
use std::cell::RefCell;

const BLOG: &str = "
interface Node { id: ID! }
type User implements Node { id: ID! name: String posts: [Post!]! manager: User }
type Post implements Node { id: ID! title: String author: User! comments: [Comment!]! }
type Comment implements Node { id: ID! body: String author: User! post: Post! }
union Item = Post | Comment
type Query { node(id: ID!): Node items: [Item] }
type Mutation { createPost(title: String): Post deleteComment(id: ID!): Comment }
";

thread_local! {
    static ENGINE: RefCell<Engine> =
        RefCell::new(Engine::from_schema(BLOG, EngineOptions::default()).expect("blog schema"));
}

fuzz_target!(|data: &[u8]| {
    // The shared engine is never given rules, so every run sees the same engine.
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(v) = Value::parse(text) else { return };
    let json = v.to_json();
    assert_eq!(Value::parse(&json).as_ref(), Ok(&v), "to_json round-trips: {json}");
    let _ = EngineOptions::from_value(&v);
    let _ = Engine::from_value(&v, None);
    if v.get("cascadeTo").is_some() {
        let mut fresh = Engine::from_schema(BLOG, EngineOptions::default()).expect("blog schema");
        if fresh.add_rule_value(&v).is_ok() {
            for ks in ["user", "post", "comment"] {
                let change = Change::new(ks, "1").with_data(v.clone());
                let _ = fresh.cascade(&change);
            }
            let saved = fresh.to_value().expect("declarative rules save");
            let loaded = Engine::from_value(&saved, None).expect("saved rules load");
            assert_eq!(loaded.rules(), fresh.rules());
        }
    }
    ENGINE.with(|e| {
        let mut engine = e.borrow_mut();
        if let Ok(change) = Change::from_value(&v) {
            let _ = engine.cascade(&change);
        }
        if let Ok(changes) = engine.changes_from_mutation(&v) {
            for c in &changes {
                match engine.cascade(c) {
                    Ok(set) => assert_eq!(set.trace.first().map(|t| t.depth), Some(0), "own key first"),
                    // An id too long for a key is refused, as `cascade` documents.
                    Err(cascade_edge::Error::LimitExceeded { what: "key length", .. }) => {}
                    Err(e) => panic!("a change found in a response cascades: {e:?}"),
                }
            }
            let _ = engine.cascade_batch(&changes);
        }
    });
});
