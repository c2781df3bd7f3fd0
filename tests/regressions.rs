//! Regression tests, each named after the bug it pins (found by audit or by fuzzing; see
//! RELIABILITY.md).

use cascade_edge::{Engine, EngineOptions, Error, LruCache, LruOptions, SetOptions, Value};

/// `set` added an entry's bytes to the running total unchecked: with no `max_bytes`, two huge
/// `bytes` values (a JS `sizeOf` can return anything up to `usize::MAX` on wasm32) overflowed.
#[test]
fn unbounded_byte_total_does_not_overflow() {
    let mut cache: LruCache<i32> = LruCache::new(LruOptions::default()).unwrap();
    let huge = SetOptions { bytes: usize::MAX - 10, ..SetOptions::default() };
    cache.set("a", 1, huge.clone()).unwrap();
    let out = cache.set("b", 2, huge).unwrap();
    // The total cannot exceed usize::MAX, so the older entry makes room, as a byte budget would.
    assert_eq!(out.removed.iter().map(|r| r.key.as_str()).collect::<Vec<_>>(), ["a"]);
    assert_eq!(cache.keys().collect::<Vec<_>>(), ["b"]);
    cache.check_invariants().unwrap();
}

/// `1e400` parsed to infinity, which `to_json` writes as `null` and ids render as `"null"`.
#[test]
fn json_number_out_of_f64_range_is_an_error() {
    for text in ["1e400", "-1e400", "[1, 2e999]"] {
        assert!(matches!(Value::parse(text), Err(Error::InvalidJson { .. })), "{text}");
    }
    assert_eq!(Value::parse("1e-400").unwrap(), Value::Number(0.0));
}

const DEEP: usize = 10_000;

fn schema_error(sdl: &str) -> Error {
    Engine::from_schema(sdl, EngineOptions::default()).expect_err("deep SDL is refused")
}

/// graphql-parser recurses once per bracket; its 50-level limit must hold for every bracketed
/// construct, or 10k levels overflow the stack (1 MB on wasm) instead of returning an error.
#[test]
fn deeply_nested_sdl_is_a_syntax_error_not_a_stack_overflow() {
    let open = |s: &str| s.repeat(DEEP);
    let cases = [
        format!("type A {{ id: ID! f: {}A{} }}", open("["), open("]")),
        format!("type A {{ id: ID! f: {}A{} }}", open("[").replace('[', "[!"), open("]")),
        format!("type A {{ id: ID! f(x: In = {}1{}): A }}", open("["), open("]")),
        format!("type A {{ id: ID! f(x: In = {}1{}): A }}", open("{a: "), open("}")),
        format!("type A @d(x: {}1{}) {{ id: ID! }}", open("["), open("]")),
        format!("type A {{ id: ID! }} {}", open("{")),
        format!("type A {{ id: ID! f{} }}", open("(")),
        format!("directive @d(x: In = {}) on FIELD", open("{a: [")),
    ];
    for sdl in &cases {
        match schema_error(sdl) {
            Error::SchemaSyntax { .. } => {}
            other => panic!("{}…: {other:?}", &sdl[..40]),
        }
    }
}

/// A closing bracket gives graphql-parser's recursion budget back even when a backtracking
/// parser re-reads it; unbalanced closers must not raise the budget enough to nest deeply.
#[test]
fn unbalanced_closers_do_not_lift_the_sdl_nesting_limit() {
    let closers = "]".repeat(DEEP);
    let sdl = format!("type A {{ id: ID! f(x: In = {closers} {}1{}): A }}", "[".repeat(DEEP), closers);
    assert!(matches!(schema_error(&sdl), Error::SchemaSyntax { .. }));
}

/// 10k levels of JSON (arrays, objects, and both mixed) stop at `MAX_JSON_DEPTH`.
#[test]
fn deeply_nested_json_is_a_limit_error_not_a_stack_overflow() {
    for (open, close) in [("[", "]"), ("{\"a\":", "}"), ("[{\"a\":", "}]")] {
        let text = format!("{}1{}", open.repeat(DEEP), close.repeat(DEEP));
        assert!(
            matches!(Value::parse(&text), Err(Error::LimitExceeded { what: "JSON nesting depth", .. })),
            "{open}"
        );
    }
}

/// wasm gives the module a 1 MB stack; the deepest input each parser accepts must fit in it even
/// in a debug build, through parse, analysis, walking, clone, serialization and drop.
#[test]
fn deepest_accepted_inputs_fit_in_a_wasm_sized_stack() {
    let run = || {
        let n = 48;
        let sdl = format!(
            "type A {{ id: ID! f(x: In = {}1{}): {}A{} }}",
            "{a: ".repeat(n),
            "}".repeat(n),
            "[".repeat(n),
            "]".repeat(n)
        );
        let engine = Engine::from_schema(&sdl, EngineOptions::default()).expect("48 levels parse");
        let deepest = cascade_edge::MAX_JSON_DEPTH;
        let json = format!(
            "{{\"data\":{{\"m\":{}{{\"__typename\":\"A\",\"id\":1}}{}}}}}",
            "[{\"x\":".repeat(deepest / 2 - 2),
            "}]".repeat(deepest / 2 - 2)
        );
        let v = Value::parse(&json).expect("at the JSON depth limit");
        let copy = v.clone();
        assert_eq!(Value::parse(&copy.to_json()).unwrap(), v);
        let found = engine.changes_from_mutation(&v);
        assert!(matches!(found, Err(Error::LimitExceeded { what: "response nesting depth", .. })));
        drop((v, copy));
    };
    std::thread::Builder::new().stack_size(1 << 20).spawn(run).unwrap().join().unwrap();
}

/// Found by tests/engine_model.rs: `cascade_batch` expanded each (rule, key) pair once for the
/// whole batch, so a second change of the same entity with other data (a post moved from author 1
/// to author 2) lost the keys its own data renders — stale lists for every user of the site.
#[test]
fn batch_with_two_changes_of_one_entity_cascades_each_with_its_own_data() {
    let sdl =
        "type User { id: ID! posts: [Post!]! } type Post { id: ID! author: User! } type Query { a: User }";
    let mut engine = Engine::from_schema(sdl, EngineOptions::default()).unwrap();
    let post = |author: &str| {
        cascade_edge::Change::new("post", "9")
            .with_data(Value::parse(&format!(r#"{{"author_id":"{author}"}}"#)).unwrap())
    };
    let set = engine.cascade_batch(&[post("1"), post("2")]).unwrap();
    for key in ["user:1:posts", "user:2:posts", "post:author:1", "post:author:2"] {
        assert!(set.keys.iter().any(|k| k == key), "{key} missing from {:?}", set.keys);
    }
    assert_eq!(set.keys.iter().filter(|k| *k == "post:9").count(), 1, "listed once");
}
