//! SDL parsing and relationship detection: `Engine::from_schema` on arbitrary text, then every
//! read-only API of the engine it built, a cascade of each entity, and a save/load round trip.
#![no_main]

use cascade_edge::{Change, Engine, EngineOptions, GraphFormat, Value};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(sdl) = std::str::from_utf8(data) else { return };
    let Ok(mut engine) = Engine::from_schema(sdl, EngineOptions::default()) else { return };
    for f in [GraphFormat::Tree, GraphFormat::Dot, GraphFormat::Mermaid, GraphFormat::Json] {
        let _ = engine.graph(f);
    }
    let _ = engine.lint();
    let saved = engine.to_value().expect("an engine without JS predicates always saves");
    let loaded = Engine::from_value(&Value::parse(&saved.to_json()).expect("to_json parses"), None)
        .expect("a saved engine loads");
    assert_eq!(loaded.rules(), engine.rules(), "rules survive to_value/from_value");
    let names: Vec<String> = engine.entities().iter().take(8).map(|e| e.keyspace.clone()).collect();
    for ks in names {
        let change = Change::new(ks, "1").with_data(Value::object([("id", Value::from("1"))]));
        let set = match engine.cascade(&change) {
            Ok(set) => set,
            // A type name longer than a key can be: its keys are refused, not truncated.
            Err(cascade_edge::Error::LimitExceeded { what: "key length", .. }) => continue,
            Err(e) => panic!("a known entity cascades: {e:?}"),
        };
        assert_eq!(set.trace.first().map(|t| t.depth), Some(0), "own key first");
        assert_eq!(set.keys.len() + set.patterns.len(), set.trace.len(), "no duplicates");
    }
});
