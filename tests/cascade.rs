//! Cascade sets: the design document's examples, transitivity, budgets, conditions (SPEC §3–4).

mod common;

use cascade_edge::{Change, Engine, EngineOptions, Error, Op, Trace};
use common::{blog, blog_with, json};

fn keys(engine: &mut Engine, change: &Change) -> (Vec<String>, Vec<String>) {
    let set = engine.cascade(change).unwrap();
    (set.keys, set.patterns)
}

fn post9(author: &str) -> Change {
    Change::new("post", "9").with_data(json(&format!(r#"{{"id":"9","author_id":{author}}}"#)))
}

#[test]
fn user_change_follows_the_design_document() {
    let set = blog().cascade(&Change::new("user", "123")).unwrap();
    assert_eq!(set.keys, ["user:123", "user:123:posts", "post:author:123", "comment:author:123"]);
    assert!(set.patterns.is_empty());
    assert_eq!(set.tags, set.keys);
    assert_eq!((set.depth, set.truncated), (1, false));
    assert_eq!(
        set.trace[2],
        Trace {
            key: "post:author:123".into(),
            rule: Some("user -> post:author:{id}".into()),
            from: Some("user:123".into()),
            depth: 1,
            coarse: false,
        }
    );
    assert_eq!(
        set.trace[0],
        Trace { key: "user:123".into(), rule: None, from: None, depth: 0, coarse: false }
    );
}

#[test]
fn post_change_follows_the_design_document() {
    let set = blog().cascade(&post9("123")).unwrap();
    assert_eq!(
        set.keys,
        ["post:9", "post:9:comments", "comment:post:9", "user:123:posts", "post:author:123"]
    );
    assert!(set.trace.iter().all(|t| !t.coarse));
}

#[test]
fn foreign_keys_are_found_in_three_spellings() {
    for data in [r#"{"author_id":5}"#, r#"{"authorId":"5"}"#, r#"{"author":{"id":5,"name":"x"}}"#] {
        let (k, p) = keys(&mut blog(), &Change::new("Post", "9").with_data(json(data)));
        assert_eq!(
            k,
            ["post:9", "post:9:comments", "comment:post:9", "user:5:posts", "post:author:5"],
            "{data}"
        );
        assert!(p.is_empty());
    }
}

#[test]
fn a_missing_foreign_key_widens_to_a_coarse_pattern() {
    let set = blog().cascade(&Change::new("post", "9")).unwrap();
    assert_eq!(set.keys, ["post:9", "post:9:comments", "comment:post:9"]);
    assert_eq!(set.patterns, ["user:*:posts", "post:author:*"]);
    let coarse: Vec<&str> = set.trace.iter().filter(|t| t.coarse).map(|t| t.key.as_str()).collect();
    assert_eq!(coarse, ["user:*:posts", "post:author:*"]);
}

#[test]
fn substituted_values_are_always_one_literal_segment() {
    let mut e = blog();
    for (id, key) in
        [("1:*", "user:1%3A%2A"), ("*", "user:%2A"), ("{id}", "user:%7Bid%7D"), ("a%3Ab", "user:a%253Ab")]
    {
        let set = e.cascade(&Change::new("user", id)).unwrap();
        assert_eq!(set.keys[0], key);
        assert!(set.patterns.is_empty(), "{id}: {:?}", set.patterns);
        assert_eq!(set.keys.len(), 4);
    }
    let set = e.cascade(&post9(r#""7:*:x""#)).unwrap();
    assert!(set.keys.contains(&"user:7%3A%2A%3Ax:posts".to_string()));
    assert!(set.patterns.is_empty());
}

#[test]
fn entity_keys_produced_by_rules_cascade_further_and_cycles_end() {
    let mut e = blog();
    e.add_rule_value(&json(r#"{"entity":"user","cascadeTo":["post:{pinned_post_id}"]}"#)).unwrap_err();
    // A literal cycle: user:2 → post:1 → user:2.
    e.add_rule_value(&json(r#"{"entity":"user","cascadeTo":["post:1"]}"#)).unwrap();
    e.add_rule_value(&json(r#"{"entity":"post","cascadeTo":["user:2"]}"#)).unwrap();
    let set = e.cascade(&Change::new("user", "2")).unwrap();
    assert_eq!(
        set.keys,
        [
            "user:2",
            "user:2:posts",
            "post:author:2",
            "comment:author:2",
            "post:1",
            "post:1:comments",
            "comment:post:1"
        ]
    );
    // post:1 arrives without data, so its foreign keys are unknown and widen.
    assert_eq!(set.patterns, ["user:*:posts", "post:author:*"]);
    let post1 = set.trace.iter().find(|t| t.key == "post:1").unwrap();
    assert_eq!(
        (post1.depth, post1.from.as_deref(), post1.rule.as_deref()),
        (1, Some("user:2"), Some("user -> post:1"))
    );
    assert_eq!(set.depth, 2);
    assert!(!set.truncated);
}

fn chain(max_depth: u32) -> Engine {
    let mut e = blog_with(EngineOptions { max_depth, ..EngineOptions::default() });
    e.clear_rules();
    for (from, to) in [("user", "post:1"), ("post", "comment:1"), ("comment", "user:2")] {
        e.add_rule_value(&json(&format!(r#"{{"entity":"{from}","cascadeTo":["{to}"]}}"#))).unwrap();
    }
    e
}

#[test]
fn the_global_max_depth_truncates() {
    let set = chain(2).cascade(&Change::new("user", "1")).unwrap();
    assert_eq!(set.keys, ["user:1", "post:1", "comment:1"]);
    assert_eq!((set.depth, set.truncated), (2, true));
    let set = chain(3).cascade(&Change::new("user", "1")).unwrap();
    assert_eq!(set.keys, ["user:1", "post:1", "comment:1", "user:2"]);
    assert_eq!((set.depth, set.truncated), (3, true));
    let set = chain(5).cascade(&Change::new("user", "1")).unwrap();
    assert_eq!(set.keys, ["user:1", "post:1", "comment:1", "user:2"]);
    assert_eq!((set.depth, set.truncated), (3, false), "user:2 → post:1 is already in the set");
    let set = chain(0).cascade(&Change::new("user", "1")).unwrap();
    assert_eq!((set.keys.len(), set.truncated), (1, true));
}

#[test]
fn a_rule_max_depth_stops_its_own_branch_without_truncating() {
    let mut e = blog();
    e.clear_rules();
    e.add_rule_value(&json(r#"{"entity":"user","cascadeTo":["post:1"],"maxDepth":0}"#)).unwrap();
    e.add_rule_value(&json(r#"{"entity":"post","cascadeTo":["comment:1"]}"#)).unwrap();
    let set = e.cascade(&Change::new("user", "1")).unwrap();
    assert_eq!(set.keys, ["user:1", "post:1"]);
    assert!(!set.truncated);
}

#[test]
fn the_fan_out_budget_widens_instead_of_dropping() {
    let mut e = blog_with(EngineOptions { max_keys: 3, ..EngineOptions::default() });
    let set = e.cascade(&post9("123")).unwrap();
    assert!(set.truncated);
    assert_eq!(set.keys, ["post:9", "post:9:comments", "comment:post:9"]);
    // The two keys past the budget are covered by their whole keyspaces.
    assert_eq!(set.patterns, ["user:*", "post:*"]);
    assert!(set.trace[3..].iter().all(|t| t.coarse));
}

/// A truncated set listed `user:*` twice when a rule had produced it before the budget ran out
/// and a later key of `user` was widened to it.
#[test]
fn a_keyspace_wildcard_a_rule_produced_is_not_listed_again_when_the_budget_widens() {
    let mut e = blog_with(EngineOptions { max_keys: 2, ..EngineOptions::default() });
    e.clear_rules();
    e.add_rule_value(&json(r#"{"entity":"post","cascadeTo":["user:*","user:{author_id}:posts"]}"#)).unwrap();
    let set = e.cascade(&post9("123")).unwrap();
    assert!(set.truncated);
    assert_eq!(set.keys, ["post:9"]);
    assert_eq!(set.patterns, ["user:*"]);
    assert_eq!(set.trace.len(), 2);
    assert_eq!(set.tags, ["post:9", "user:*"]);
}

#[test]
fn when_conditions_gate_manual_rules() {
    let mut e = blog();
    e.add_rule_value(&json(
        r#"{"entity":"post","cascadeTo":["feed:published"],"when":{"field":"status","eq":"published"}}"#,
    ))
    .unwrap();
    let published = Change::new("post", "9").with_data(json(r#"{"author_id":1,"status":"published"}"#));
    let draft = Change::new("post", "9").with_data(json(r#"{"author_id":1,"status":"draft"}"#));
    assert!(keys(&mut e, &published).0.contains(&"feed:published".to_string()));
    assert!(!keys(&mut e, &draft).0.contains(&"feed:published".to_string()));
}

#[test]
fn on_fields_fire_only_when_one_of_them_changed() {
    let mut e = blog();
    e.add_rule_value(&json(r#"{"entity":"post","cascadeTo":["search:posts"],"onFields":["title"]}"#))
        .unwrap();
    let before = json(r#"{"author_id":1,"title":"a","status":"draft"}"#);
    let same_title = Change::new("post", "9").with_data(json(r#"{"author_id":1,"title":"a","status":"x"}"#));
    let new_title = Change::new("post", "9").with_data(json(r#"{"author_id":1,"title":"b"}"#));
    let has = |e: &mut Engine, c: &Change| keys(e, c).0.contains(&"search:posts".to_string());
    assert!(!has(&mut e, &same_title.clone().with_before(before.clone())));
    assert!(has(&mut e, &new_title.with_before(before.clone())));
    assert!(has(&mut e, &same_title.clone()), "no `before`: every rule fires");
    assert!(has(&mut e, &same_title.with_before(before).with_op(Op::Delete)), "a delete changes every field");
}

#[test]
fn batches_are_deduplicated_in_order() {
    let mut e = blog();
    let set =
        e.cascade_batch(&[Change::new("user", "123"), post9("123"), Change::new("user", "123")]).unwrap();
    assert_eq!(
        set.keys,
        [
            "user:123",
            "user:123:posts",
            "post:author:123",
            "comment:author:123",
            "post:9",
            "post:9:comments",
            "comment:post:9"
        ]
    );
}

#[test]
fn unknown_entities_get_a_suggestion_and_leave_stats_alone() {
    let mut e = blog();
    let err = e.cascade(&Change::new("users", "1")).unwrap_err();
    assert_eq!(
        err,
        Error::UnknownEntity { entity: "users".into(), suggestion: Some("user".into()), reason: None }
    );
    assert_eq!(err.code(), "UNKNOWN_ENTITY");
    assert_eq!(err.to_string(), "unknown entity `users` — did you mean `user`?");
    assert_eq!(e.stats().cascades, 0);
}

#[test]
fn changes_are_read_from_json() {
    let c = Change::from_value(&json(r#"{"entity":"Post","id":9,"op":"create","after":{"author_id":1}}"#))
        .unwrap();
    assert_eq!((c.entity.as_str(), c.id.as_str(), c.op), ("Post", "9", Op::Create));
    assert_eq!(c.data, Some(json(r#"{"author_id":1}"#)));
    for bad in [
        "[]",
        "{}",
        r#"{"entity":"user"}"#,
        r#"{"entity":"","id":"1"}"#,
        r#"{"entity":"user","id":{}}"#,
        r#"{"entity":"user","id":"1","op":"upsert"}"#,
        r#"{"entity":"user","id":"1","data":3}"#,
    ] {
        assert_eq!(Change::from_value(&json(bad)).unwrap_err().code(), "INVALID_CHANGE", "{bad}");
    }
}

#[test]
fn stats_count_cascades_depths_and_edges() {
    let mut e = blog();
    e.cascade(&Change::new("user", "1")).unwrap();
    e.cascade(&post9("1")).unwrap();
    let s = e.stats();
    assert_eq!((s.invalidations, s.cascades, s.keys), (2, 2, 9));
    assert_eq!(s.average_depth, 1.0);
    assert_eq!(s.top_edges[0], ("post -> post".to_string(), 2));
    // Most frequent first; equal counts by name.
    let counts: Vec<u64> = s.top_edges.iter().map(|(_, n)| *n).collect();
    assert!(counts.windows(2).all(|w| w[0] >= w[1]), "{:?}", s.top_edges);
    for pair in s.top_edges.windows(2) {
        if pair[0].1 == pair[1].1 {
            assert!(pair[0].0 < pair[1].0, "{:?}", s.top_edges);
        }
    }
    assert!(s.top_edges.windows(2).any(|w| w[0].1 == w[1].1), "no tie to order: {:?}", s.top_edges);
}

#[test]
fn a_changed_foreign_key_purges_the_old_and_the_new_parent() {
    // Re-parenting post 9 from user 1 to user 2: it leaves user 1's lists and joins user 2's.
    let change = Change::new("post", "9")
        .with_before(json(r#"{"id":"9","title":"t","author_id":"1"}"#))
        .with_data(json(r#"{"id":"9","title":"t","author_id":"2"}"#));
    let set = blog().cascade(&change).unwrap();
    assert_eq!(
        set.keys,
        [
            "post:9",
            "post:9:comments",
            "comment:post:9",
            "user:2:posts",
            "user:1:posts",
            "post:author:2",
            "post:author:1"
        ]
    );
    assert!(set.patterns.is_empty());
    assert!(set.trace.iter().all(|t| !t.coarse));
}

#[test]
fn before_data_adds_nothing_when_the_foreign_key_did_not_change() {
    let full = Change::new("post", "9")
        .with_before(json(r#"{"title":"a","author_id":"1"}"#))
        .with_data(json(r#"{"title":"b","author_id":"1"}"#));
    // A `before` that omits the foreign key says it did not change: no coarse key either.
    let partial = Change::new("post", "9")
        .with_before(json(r#"{"title":"a"}"#))
        .with_data(json(r#"{"title":"b","author_id":"1"}"#));
    for change in [full, partial] {
        let (k, p) = keys(&mut blog(), &change);
        assert_eq!(k, ["post:9", "post:9:comments", "comment:post:9", "user:1:posts", "post:author:1"]);
        assert!(p.is_empty(), "{p:?}");
    }
}

#[test]
fn a_deletion_with_only_before_data_is_exact() {
    let change = Change::new("post", "9").with_op(Op::Delete).with_before(json(r#"{"author_id":"4"}"#));
    let (k, p) = keys(&mut blog(), &change);
    assert_eq!(k, ["post:9", "post:9:comments", "comment:post:9", "user:4:posts", "post:author:4"]);
    assert!(p.is_empty(), "{p:?}");
}

#[test]
fn a_condition_that_held_before_the_change_still_fires() {
    let mut engine = blog();
    engine
        .add_rule_value(&json(
            r#"{"entity":"post","cascadeTo":["feed:published"],"when":{"field":"status","eq":"published"}}"#,
        ))
        .unwrap();
    let unpublish = Change::new("post", "9")
        .with_before(json(r#"{"status":"published","author_id":"1"}"#))
        .with_data(json(r#"{"status":"draft","author_id":"1"}"#));
    let publish = Change::new("post", "9")
        .with_before(json(r#"{"status":"draft","author_id":"1"}"#))
        .with_data(json(r#"{"status":"published","author_id":"1"}"#));
    let stays_draft = Change::new("post", "9")
        .with_before(json(r#"{"status":"draft","author_id":"1"}"#))
        .with_data(json(r#"{"status":"draft","author_id":"1"}"#));
    assert!(keys(&mut engine, &unpublish).0.contains(&"feed:published".to_owned()));
    assert!(keys(&mut engine, &publish).0.contains(&"feed:published".to_owned()));
    assert!(!keys(&mut engine, &stays_draft).0.contains(&"feed:published".to_owned()));
}

#[test]
fn each_change_of_a_batch_is_expanded_with_its_own_data() {
    // Regression: a batch expanded each (rule, key) once, so the second change of post 9 (its
    // old author) added nothing and `user:1:posts` stayed stale.
    let mut e = blog();
    let set = e
        .cascade_batch(&[
            Change::new("post", "9").with_data(json(r#"{"author_id":2}"#)),
            Change::new("post", "9").with_data(json(r#"{"author_id":1}"#)),
        ])
        .unwrap();
    assert_eq!(
        set.keys,
        [
            "post:9",
            "post:9:comments",
            "comment:post:9",
            "user:2:posts",
            "post:author:2",
            "user:1:posts",
            "post:author:1"
        ]
    );
}

#[test]
fn the_log_line_gives_the_cascade_time_in_hundredths_of_a_millisecond() {
    use std::cell::{Cell, RefCell};
    use std::rc::Rc;
    for (took, want) in
        [(0.0504, "0.05"), (12.345_6, "12.35"), (0.004, "0.00"), (3.0, "3.00"), (1234.5, "1234.50")]
    {
        let lines = Rc::new(RefCell::new(Vec::<String>::new()));
        let sink = Rc::clone(&lines);
        let options = EngineOptions { verbose: true, ..EngineOptions::default() };
        let mut engine = Engine::from_schema_with_logger(
            common::BLOG_SDL,
            options,
            Some(Box::new(move |l: &str| sink.borrow_mut().push(l.to_owned()))),
        )
        .unwrap();
        let ticks = Rc::new(Cell::new(0u32));
        let seen = Rc::clone(&ticks);
        // The first reading starts the cascade, the next one ends it `took` ms later.
        engine.set_clock(Some(Box::new(move || {
            seen.set(seen.get() + 1);
            if seen.get() == 1 {
                100.0
            } else {
                100.0 + took
            }
        })));
        engine.cascade(&Change::new("user", "1")).unwrap();
        assert_eq!(lines.borrow().last().unwrap(), &format!("[CASCADE] ✓ CASCADE complete in {want}ms"));
    }
}
