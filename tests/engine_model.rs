#![cfg(not(target_arch = "wasm32"))] // proptest is a native-only dev-dependency
//! The engine and the LRU held against obviously-correct models, on random small schemas, rules
//! and changes:
//! - every key of a cascade set is justified by its trace (own key first, `from` listed before,
//!   the rule exists), with no duplicates, keys and patterns partitioning the trace;
//! - an engine saved with `to_value` and loaded with `from_value` gives identical sets;
//! - `cascade_batch` lists exactly the deduplicated union of the single cascades, in order;
//! - after `LruCache::invalidate_set(set)`, nothing at or below a purged key or pattern remains,
//!   and exactly the entries the model selects (by key or tag) were removed.
//!
//! `PROPTEST_CASES` raises the case count for a long run (64 by default).

mod common;

use cascade_edge::{
    covers, CascadeSet, Change, Engine, EngineOptions, LruCache, LruOptions, Pattern, SetOptions, Value,
};
use proptest::prelude::*;
use std::collections::HashSet;

const TYPES: &[&str] = &["User", "Post", "Comment", "Tag"];
const IDS: &[&str] = &["1", "2", "3"];
const MANUAL: &[&str] = &["feed:{id}", "search:{name}", "user:*:recent", "home"];

/// (type, id, data as (field, value) pairs; field `TYPES.len()` is `name`).
type ChangeSpec = (usize, usize, Vec<(usize, usize)>);

#[derive(Debug, Clone)]
struct Input {
    /// Per ordered pair of types: 0 no field, 1 a to-one field, 2 a to-many field.
    links: Vec<Vec<u8>>,
    manual: Vec<(usize, usize)>,
    changes: Vec<ChangeSpec>,
    cached: Vec<(usize, usize, usize)>,
    max_depth: u32,
}

fn input() -> impl Strategy<Value = Input> {
    (2..=TYPES.len()).prop_flat_map(|n| {
        (
            prop::collection::vec(prop::collection::vec(0u8..3, n), n),
            prop::collection::vec((0..n, 0..MANUAL.len()), 0..3),
            prop::collection::vec(
                (0..n, 0..IDS.len(), prop::collection::vec((0..TYPES.len() + 1, 0..IDS.len()), 0..4)),
                1..4,
            ),
            prop::collection::vec((0..n, 0..IDS.len(), 0..4usize), 0..12),
            1u32..5,
        )
            .prop_map(move |(links, manual, changes, cached, max_depth)| Input {
                links,
                manual,
                changes,
                cached,
                max_depth,
            })
    })
}

fn lower(t: &str) -> String {
    t.to_ascii_lowercase()
}

fn sdl(input: &Input) -> String {
    let mut out = String::new();
    for (i, row) in input.links.iter().enumerate() {
        out.push_str(&format!("type {} {{ id: ID! name: String", TYPES[i]));
        for (j, &link) in row.iter().enumerate() {
            match link {
                1 => out.push_str(&format!(" {}: {}", lower(TYPES[j]), TYPES[j])),
                2 => out.push_str(&format!(" {}s: [{}!]!", lower(TYPES[j]), TYPES[j])),
                _ => {}
            }
        }
        out.push_str(" }\n");
    }
    out.push_str(&format!("type Query {{ a: {} }}\n", TYPES[0]));
    out
}

fn change((t, id, data): &ChangeSpec) -> Change {
    let members = data.iter().map(|&(f, v)| {
        let field = match TYPES.get(f) {
            Some(t) => format!("{}_id", lower(t)),
            None => "name".to_owned(),
        };
        (field, Value::from(IDS[v]))
    });
    Change::new(TYPES[*t], IDS[*id]).with_data(Value::object(members))
}

fn engine(input: &Input) -> Engine {
    let options = EngineOptions { max_depth: input.max_depth, ..EngineOptions::default() };
    let mut engine = Engine::from_schema(&sdl(input), options).expect("generated schema");
    for &(t, m) in &input.manual {
        let rule = Value::object([
            ("entity", Value::from(TYPES[t])),
            ("cascadeTo", Value::Array(vec![Value::from(MANUAL[m])])),
        ]);
        engine.add_rule_value(&rule).expect("generated rule");
    }
    engine
}

/// Every key is justified by the trace.
fn check_justified(engine: &Engine, own: &str, set: &CascadeSet) -> Result<(), TestCaseError> {
    let first = set.trace.first().expect("a set has its own key");
    prop_assert_eq!((first.key.as_str(), first.depth, &first.rule), (own, 0, &None));
    let mut seen = HashSet::new();
    for t in &set.trace {
        match (&t.rule, &t.from) {
            (Some(rule), Some(from)) => {
                prop_assert!(engine.rules().iter().any(|r| &r.id == rule), "rule {} exists", rule);
                prop_assert!(seen.contains(from.as_str()), "{} listed before {}", from, t.key);
                prop_assert!(t.depth >= 1);
            }
            (None, None) => prop_assert_eq!(t.depth, 0),
            _ => prop_assert!(false, "rule and from go together: {:?}", t),
        }
        prop_assert!(seen.insert(t.key.as_str()), "duplicate {}", t.key);
    }
    let listed: Vec<&str> = set.keys.iter().chain(&set.patterns).map(String::as_str).collect();
    prop_assert_eq!(listed.len(), set.trace.len());
    prop_assert_eq!(listed.iter().copied().collect::<HashSet<_>>(), seen);
    prop_assert!(set.keys.iter().all(|k| !k.split(':').any(|s| s == "*")));
    prop_assert!(set.patterns.iter().all(|k| k.split(':').any(|s| s == "*")));
    prop_assert_eq!(set.tags.len(), listed.len());
    Ok(())
}

/// Keys then patterns of several sets, each listed once, in first-seen order.
fn union(sets: &[CascadeSet]) -> (Vec<String>, Vec<String>) {
    let dedup = |lists: Vec<&Vec<String>>| {
        let mut seen = HashSet::new();
        lists.into_iter().flatten().filter(|k| seen.insert(k.as_str())).cloned().collect::<Vec<_>>()
    };
    (dedup(sets.iter().map(|s| &s.keys).collect()), dedup(sets.iter().map(|s| &s.patterns).collect()))
}

const DEFAULT_CASES: u32 = 64;

fn cases() -> u32 {
    common::cases(DEFAULT_CASES)
}

fn count(ops: u64) {
    common::count_operations(module_path!(), ops, cases());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn the_engine_matches_its_model(input in input()) {
        let mut engine = engine(&input);
        let saved = engine.to_value().expect("declarative rules save");
        let mut loaded = Engine::from_value(&Value::parse(&saved.to_json()).unwrap(), None).expect("saved rules load");
        prop_assert_eq!(loaded.rules(), engine.rules());

        let changes: Vec<Change> = input.changes.iter().map(change).collect();
        let mut singles = Vec::new();
        for c in &changes {
            let set = engine.cascade(c).expect("known entity");
            let own = format!("{}:{}", lower(TYPES.iter().find(|t| **t == c.entity).unwrap()), c.id);
            check_justified(&engine, &own, &set)?;
            prop_assert_eq!(&loaded.cascade(c).unwrap(), &set, "from_value(to_value) cascades the same");
            prop_assert_eq!(&engine.cascade(c).unwrap(), &set, "deterministic");
            singles.push(set);
        }
        let batch = engine.cascade_batch(&changes).expect("known entities");
        let (keys, patterns) = union(&singles);
        prop_assert_eq!(&batch.keys, &keys, "batch keys = union of single cascades");
        prop_assert_eq!(&batch.patterns, &patterns);
        prop_assert_eq!(batch.truncated, singles.iter().any(|s| s.truncated));

        // The LRU: entries under entity keys and the keys rules produce, some tagged.
        let mut cache: LruCache<u32> = LruCache::new(LruOptions::default()).unwrap();
        let mut model: Vec<(String, Vec<String>)> = Vec::new();
        for &(t, id, shape) in &input.cached {
            let base = format!("{}:{}", lower(TYPES[t]), IDS[id]);
            let (key, tags) = match shape {
                0 => (base, vec![]),
                1 => (format!("{base}:posts"), vec![]),
                2 => (format!("page:{t}{id}"), vec![base]),
                _ => (format!("feed:{}", IDS[id]), vec![format!("user:{}", IDS[id])]),
            };
            cache.set(&key, 0, SetOptions { tags: tags.clone(), ..SetOptions::default() }).unwrap();
            model.retain(|(k, _)| *k != key);
            model.push((key, tags));
        }
        let keys: Vec<&str> = batch.keys.iter().map(String::as_str).collect();
        let patterns: Vec<&str> = batch.patterns.iter().map(String::as_str).collect();
        let parsed: Vec<Pattern> = patterns.iter().map(|p| Pattern::parse(p, ':').unwrap()).collect();
        let hit = |x: &str| keys.iter().any(|k| covers(k, x, ':')) || parsed.iter().any(|p| p.covers(x, ':'));
        let mut expected: Vec<String> = model
            .iter()
            .filter(|(k, tags)| hit(k) || tags.iter().any(|t| hit(t)))
            .map(|(k, _)| k.clone())
            .collect();
        expected.sort();
        let mut removed: Vec<String> = cache.invalidate_set(&keys, &patterns).unwrap().into_iter().map(|r| r.key).collect();
        removed.sort();
        prop_assert_eq!(removed, expected);
        prop_assert!(cache.keys().all(|k| !hit(&k)), "nothing at or below a purged key remains");
        cache.check_invariants().map_err(TestCaseError::fail)?;
        // Cascades (single, reloaded, repeated, batch), sets, one invalidation.
        count(3 * changes.len() as u64 + 1 + input.cached.len() as u64 + 1);
    }
}
