//! Every documented limit, at the limit (accepted) and one past it (the exact error).
//! The table in RELIABILITY.md lists them; README.md's API section names them.

mod common;

use cascade_edge::*;
use common::{blog, blog_with, fixture, json};

fn limit(what: &'static str, limit: usize, actual: usize) -> Error {
    Error::LimitExceeded { what, limit, actual }
}

fn deep_json(levels: usize) -> String {
    "[".repeat(levels) + &"]".repeat(levels)
}

#[test]
fn sdl_size() {
    let mut sdl = String::from("type A { id: ID! }\n");
    sdl.push_str(&"#".repeat(MAX_SDL_BYTES - sdl.len()));
    assert!(Engine::from_schema(&sdl, EngineOptions::default()).is_ok());
    sdl.push('#');
    assert_eq!(
        Engine::from_schema(&sdl, EngineOptions::default()).unwrap_err(),
        limit("SDL size", MAX_SDL_BYTES, MAX_SDL_BYTES + 1)
    );
}

#[test]
fn sdl_nesting_is_graphql_parsers_50_brackets() {
    let sdl = |n: usize| format!("type A {{ id: ID! f: {}A{} }}", "[".repeat(n), "]".repeat(n));
    assert!(Engine::from_schema(&sdl(48), EngineOptions::default()).is_ok());
    match Engine::from_schema(&sdl(51), EngineOptions::default()).unwrap_err() {
        Error::SchemaSyntax { message, .. } => assert!(message.contains("at most 50 levels"), "{message}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn key_length() {
    let at = format!("k:{}", "x".repeat(MAX_KEY_LEN - 2));
    let past = format!("{at}x");
    assert_eq!(validate_key(&at, ':'), Ok(()));
    assert_eq!(validate_key(&past, ':'), Err(limit("key length", MAX_KEY_LEN, MAX_KEY_LEN + 1)));
    assert_eq!(Pattern::parse(&past, ':'), Err(limit("key length", MAX_KEY_LEN, MAX_KEY_LEN + 1)));
    let mut cache: LruCache<i32> = LruCache::new(LruOptions::default()).unwrap();
    assert!(cache.set(&at, 1, SetOptions::default()).is_ok());
    assert_eq!(
        cache.set(&past, 1, SetOptions::default()).unwrap_err(),
        limit("key length", MAX_KEY_LEN, MAX_KEY_LEN + 1)
    );
    assert_eq!(cache.invalidate(&past).unwrap_err(), limit("key length", MAX_KEY_LEN, MAX_KEY_LEN + 1));
    // A change whose own key would be too long: `user:` + 1020 bytes of id = 1025.
    let id = "9".repeat(MAX_KEY_LEN - "user:".len() + 1);
    assert_eq!(
        blog().cascade(&Change::new("user", id)).unwrap_err(),
        limit("key length", MAX_KEY_LEN, MAX_KEY_LEN + 1)
    );
    let template = format!("user:{}", "x".repeat(MAX_KEY_LEN - 4));
    assert_eq!(
        KeyTemplate::parse(&template, ':').unwrap_err(),
        limit("template length", MAX_KEY_LEN, MAX_KEY_LEN + 1)
    );
}

#[test]
fn rendered_key_past_the_length_limit_widens_to_a_pattern() {
    let mut engine = blog();
    engine.add_rule_value(&json(r#"{"entity":"post","cascadeTo":["feed:{title}"]}"#)).unwrap();
    let title = "t".repeat(MAX_KEY_LEN);
    let set = engine
        .cascade(&Change::new("post", "1").with_data(json(&format!(r#"{{"title":"{title}"}}"#))))
        .unwrap();
    assert!(set.patterns.contains(&"feed:*".to_owned()), "{:?}", set.patterns);
}

#[test]
fn segments_per_key() {
    let key = |n: usize| vec!["s"; n].join(":");
    assert_eq!(validate_key(&key(MAX_SEGMENTS), ':'), Ok(()));
    assert_eq!(
        validate_key(&key(MAX_SEGMENTS + 1), ':'),
        Err(limit("segments in a key", MAX_SEGMENTS, MAX_SEGMENTS + 1))
    );
    assert!(KeyTemplate::parse(&key(MAX_SEGMENTS), ':').is_ok());
    assert_eq!(
        KeyTemplate::parse(&key(MAX_SEGMENTS + 1), ':').unwrap_err(),
        limit("segments in a template", MAX_SEGMENTS, MAX_SEGMENTS + 1)
    );
}

#[test]
fn placeholders_per_template() {
    let t = |n: usize| (0..n).map(|_| "{id}").collect::<Vec<_>>().join(":");
    assert!(KeyTemplate::parse(&t(MAX_PLACEHOLDERS), ':').is_ok());
    assert_eq!(
        KeyTemplate::parse(&t(MAX_PLACEHOLDERS + 1), ':').unwrap_err(),
        limit("placeholders in a template", MAX_PLACEHOLDERS, MAX_PLACEHOLDERS + 1)
    );
}

#[test]
fn templates_per_rule() {
    let rule = |n: usize| {
        let ts: Vec<String> = (0..n).map(|i| format!("\"feed:{i}\"")).collect();
        json(&format!(r#"{{"entity":"user","cascadeTo":[{}]}}"#, ts.join(",")))
    };
    let mut engine = blog();
    assert!(engine.add_rule_value(&rule(MAX_TEMPLATES_PER_RULE)).is_ok());
    assert_eq!(
        engine.add_rule_value(&rule(MAX_TEMPLATES_PER_RULE + 1)).unwrap_err(),
        limit("templates in a rule", MAX_TEMPLATES_PER_RULE, MAX_TEMPLATES_PER_RULE + 1)
    );
}

#[test]
fn rules_per_engine() {
    // Loading a document is the fast way to reach the limit (each addRule re-indexes).
    let mut doc = blog().to_value_version(1).unwrap();
    let Value::Object(members) = &mut doc else { unreachable!() };
    let rules = &mut members.iter_mut().find(|(k, _)| k == "rules").unwrap().1;
    let rule = |i: usize| {
        Value::object([
            ("entity", Value::from("user")),
            ("cascadeTo", Value::Array(vec![Value::from(format!("feed:{i}"))])),
            ("source", Value::from("manual")),
        ])
    };
    *rules = Value::Array((0..MAX_RULES).map(rule).collect());
    let mut engine = Engine::from_value(&doc, None).unwrap();
    assert_eq!(engine.rules().len(), MAX_RULES);
    assert_eq!(
        engine.add_rule_value(&json(r#"{"entity":"user","cascadeTo":["one:more"]}"#)).unwrap_err(),
        limit("number of rules", MAX_RULES, MAX_RULES + 1)
    );
    // An identical rule is not a new one.
    assert!(engine.add_rule_value(&json(r#"{"entity":"user","cascadeTo":["feed:0"]}"#)).is_ok());
    let Value::Object(members) = &mut doc else { unreachable!() };
    let Value::Array(list) = &mut members.iter_mut().find(|(k, _)| k == "rules").unwrap().1 else {
        unreachable!()
    };
    list.push(rule(MAX_RULES));
    assert_eq!(
        Engine::from_value(&doc, None).unwrap_err(),
        limit("number of rules", MAX_RULES, MAX_RULES + 1)
    );
}

#[test]
fn condition_depth() {
    let cond = |n: usize| "{\"not\":".repeat(n - 1) + r#"{"field":"a","eq":1}"# + &"}".repeat(n - 1);
    assert!(Condition::from_value(&json(&cond(MAX_CONDITION_DEPTH))).is_ok());
    assert_eq!(
        Condition::from_value(&json(&cond(MAX_CONDITION_DEPTH + 1))).unwrap_err(),
        limit("condition nesting", MAX_CONDITION_DEPTH, MAX_CONDITION_DEPTH + 1)
    );
}

#[test]
fn json_depth() {
    assert!(Value::parse(&deep_json(MAX_JSON_DEPTH)).is_ok());
    assert!(Value::parse(&("[".repeat(MAX_JSON_DEPTH) + "1" + &"]".repeat(MAX_JSON_DEPTH))).is_ok());
    assert_eq!(
        Value::parse(&deep_json(MAX_JSON_DEPTH + 1)).unwrap_err(),
        limit("JSON nesting depth", MAX_JSON_DEPTH, MAX_JSON_DEPTH + 1)
    );
}

#[test]
fn response_depth() {
    // `levels` nested lists below `data.f`, the innermost holding a user.
    let response = |levels: usize| {
        json(&format!(
            r#"{{"data":{{"f":{}{{"__typename":"User","id":1}}{}}}}}"#,
            "[".repeat(levels - 1),
            "]".repeat(levels - 1)
        ))
    };
    let found = blog().changes_from_mutation(&response(MAX_RESPONSE_DEPTH)).unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(
        blog().changes_from_mutation(&response(MAX_RESPONSE_DEPTH + 1)).unwrap_err(),
        limit("response nesting depth", MAX_RESPONSE_DEPTH, MAX_RESPONSE_DEPTH + 1)
    );
}

#[test]
fn a_batch_past_max_keys_still_covers_every_key_of_the_whole_batch() {
    // Past the budget the run skips templates that could add nothing (their keyspace is listed
    // as `ks:*` and they name no entity to follow): whatever was skipped is covered all the same.
    for (schema, entities) in
        [("github.graphql", ["user", "repository", "issue"]), ("swapi.graphql", ["film", "person", "planet"])]
    {
        let sdl = fixture(schema);
        let changes: Vec<Change> = (0..60)
            .map(|i| {
                let change = Change::new(entities[i % 3], (i / 3).to_string());
                if i % 4 == 0 {
                    change.with_data(json(r#"{"id":"7","owner_id":"3","author_id":"2"}"#))
                } else {
                    change
                }
            })
            .collect();
        let full =
            Engine::from_schema(&sdl, EngineOptions { max_keys: 10_000_000, ..EngineOptions::default() })
                .unwrap()
                .cascade_batch(&changes)
                .unwrap();
        assert!(!full.truncated);
        for max_keys in [1, 40, 300, full.trace.len() / 2] {
            let mut engine =
                Engine::from_schema(&sdl, EngineOptions { max_keys, ..EngineOptions::default() }).unwrap();
            let set = engine.cascade_batch(&changes).unwrap();
            assert!(set.truncated, "{schema} {max_keys}");
            for t in &full.trace {
                let ks = t.key.split(':').next().unwrap();
                let listed = |k: &str| set.keys.iter().chain(&set.patterns).any(|s| s == k);
                assert!(
                    listed(&t.key) || listed(&format!("{ks}:*")) || listed("*"),
                    "{schema} maxKeys {max_keys}: {} is lost",
                    t.key
                );
            }
        }
    }
}

#[test]
fn past_max_keys_a_listed_entity_reached_higher_up_is_followed_again() {
    // a:1 reaches b:1 at depth 2, where maxDepth stops it; e:2 pushes b:2 past the budget, so
    // `b:*` is listed; e:1 then reaches b:1 at depth 1. b:1 is listed, but this change may go
    // further from it: c:1, past the budget, becomes `c:*`. Skipping the template `b:{id}`
    // because `b:*` is listed would lose `c:*`.
    let sdl =
        "type A { id: ID! } type B { id: ID! } type C { id: ID! } type E { id: ID! } type X { id: ID! }";
    let mut engine =
        Engine::from_schema(sdl, EngineOptions { max_keys: 3, max_depth: 2, ..EngineOptions::default() })
            .unwrap();
    for (from, to) in [("a", "x:{id}"), ("x", "b:{id}"), ("e", "b:{id}"), ("b", "c:{id}")] {
        engine.add_rule_value(&json(&format!(r#"{{"entity":"{from}","cascadeTo":["{to}"]}}"#))).unwrap();
    }
    let set =
        engine.cascade_batch(&[Change::new("a", "1"), Change::new("e", "2"), Change::new("e", "1")]).unwrap();
    assert!(set.truncated);
    assert_eq!(set.keys, ["a:1", "x:1", "b:1", "e:2", "e:1"]);
    assert_eq!(set.patterns, ["b:*", "c:*"]);
}

#[test]
fn fan_out_past_max_keys_widens_to_keyspaces_and_truncates() {
    let full = blog().cascade(&Change::new("post", "9").with_data(json(r#"{"author_id":1}"#))).unwrap();
    assert!(!full.truncated && full.trace.len() > 2);
    let mut engine = blog_with(EngineOptions { max_keys: 2, ..EngineOptions::default() });
    let set = engine.cascade(&Change::new("post", "9").with_data(json(r#"{"author_id":1}"#))).unwrap();
    assert!(set.truncated);
    assert_eq!(&set.trace[..2], &full.trace[..2], "the first keys are kept as they were");
    // Every key cut is still covered: by a kept key or by its whole keyspace.
    for t in &full.trace {
        let ks = t.key.split(':').next().unwrap();
        let wide = format!("{ks}:*");
        assert!(
            set.keys.contains(&t.key) || set.patterns.contains(&t.key) || set.patterns.contains(&wide),
            "{} lost",
            t.key
        );
    }
}

#[test]
fn options_out_of_range() {
    for (opts, msg) in [
        (r#"{"maxDepth":65}"#, "maxDepth"),
        (r#"{"maxKeys":10000001}"#, "maxKeys"),
        (r#"{"maxKeys":0}"#, "maxKeys"),
    ] {
        match EngineOptions::from_value(&json(opts)).unwrap_err() {
            Error::InvalidOptions { message } => assert!(message.contains(msg), "{message}"),
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn lru_limits() {
    let mut cache: LruCache<i32> = LruCache::new(LruOptions::default()).unwrap();
    let tags =
        |n: usize| SetOptions { tags: (0..n).map(|i| format!("t:{i}")).collect(), ..SetOptions::default() };
    assert!(cache.set("a", 1, tags(MAX_TAGS_PER_ENTRY)).is_ok());
    assert_eq!(
        cache.set("a", 1, tags(MAX_TAGS_PER_ENTRY + 1)).unwrap_err(),
        limit("tags on one entry", MAX_TAGS_PER_ENTRY, MAX_TAGS_PER_ENTRY + 1)
    );
    for i in 0..MAX_PENDING_INVALIDATIONS {
        cache.invalidate_lazy(&format!("k:{i}"), 10).unwrap();
    }
    assert_eq!(
        cache.invalidate_lazy("k:more", 10).unwrap_err(),
        limit("pending lazy invalidations", MAX_PENDING_INVALIDATIONS, MAX_PENDING_INVALIDATIONS + 1)
    );
    let sized = LruOptions { max_bytes: Some(10), ..LruOptions::default() };
    let mut small: LruCache<i32> = LruCache::new(sized).unwrap();
    let heavy = SetOptions { bytes: 10, ..SetOptions::default() };
    assert_eq!(small.set("a", 1, heavy).unwrap_err(), limit("entry bytes (key plus value)", 10, 11));
}
