//! Plans of cascades of changes without data (`Engine::plan_compact`): the planned set with the
//! id in place of its mark is the cascade set, and planned cascades recorded with
//! `Engine::record_planned` count in the stats as cascades that ran.

mod common;

use cascade_edge::{plain_id_byte, CompactSet, Engine, EngineOptions, Op};
use common::{blog, blog_with, json};

/// The compact set of a cascade of `entity` `id` without data.
fn cascade(engine: &mut Engine, entity: &str, id: &str) -> CompactSet {
    let mut out = CompactSet::default();
    engine.cascade_id_compact(entity, id, Op::Update, &mut out).expect("cascade");
    out
}

/// The plan's set with `id` in place of the mark, and the edge slots.
fn planned(engine: &mut Engine, entity: &str, id: &str) -> Option<(CompactSet, Vec<u32>)> {
    let mut out = CompactSet::default();
    let plan = engine.plan_compact(entity, Op::Update, &mut out)?;
    let mark = char::from(plan.id_mark);
    // The numbers hold each key's length: adjust them for the id's length.
    let n = out.meta[2] as usize;
    let mut at = 0;
    for i in 0..n {
        let len = out.meta[3 + 6 * i] as usize;
        let ids = out.text[at..at + len].matches(mark).count();
        out.meta[3 + 6 * i] = (len - ids + ids * id.len()) as u32;
        at += len;
    }
    out.text = out.text.replace(mark, id);
    Some((out, plan.edge_slots))
}

#[test]
fn the_plan_is_the_cascade_with_the_id_spliced_in() {
    let mut engine = blog();
    for id in ["1", "42", "abc", "A-b_c.d~"] {
        let (plan, _) = planned(&mut engine, "post", id).expect("blog posts are planned");
        let set = cascade(&mut engine, "post", id);
        assert_eq!((plan.text, plan.meta), (set.text, set.meta), "post {id}");
    }
}

#[test]
fn planning_records_nothing_and_recorded_plans_count_as_cascades() {
    let mut ran = blog();
    let mut answered = blog();
    for id in ["1", "2", "3"] {
        cascade(&mut ran, "post", id);
    }
    cascade(&mut answered, "post", "1");
    let before = answered.stats();
    let (plan, slots) = planned(&mut answered, "post", "x").expect("planned");
    assert_eq!(answered.stats(), before);
    answered.record_planned(2, plan.meta[1], u64::from(plan.meta[2]), &slots);
    assert_eq!(answered.stats(), ran.stats());
}

#[test]
fn the_id_mark_is_in_no_template_or_keyspace() {
    let mut engine = blog();
    engine.add_rule_value(&json(r#"{"entity":"post","cascadeTo":["t~:{id}","u|^:{id}"]}"#)).unwrap();
    let mut out = CompactSet::default();
    let plan = engine.plan_compact("post", Op::Create, &mut out).expect("planned");
    assert!(!b"~|^".contains(&plan.id_mark));
    assert!(plain_id_byte(plan.id_mark, ':'));
    assert_eq!(out.text.matches(char::from(plan.id_mark)).count(), 5, "{}", out.text);
}

#[test]
fn what_is_not_planned() {
    let refused = |engine: &mut Engine, why: &str| {
        let mut out = CompactSet::default();
        assert_eq!(engine.plan_compact("post", Op::Update, &mut out), None, "{why}");
    };
    // The id in a first segment: it could name an entity, and it labels the stats edge.
    let mut engine = blog();
    engine.add_rule_value(&json(r#"{"entity":"post","cascadeTo":["{id}:meta"]}"#)).unwrap();
    refused(&mut engine, "id in a first segment");
    // A tag that differs from its key.
    let mut engine = blog();
    engine.add_rule_value(&json(r#"{"entity":"post","cascadeTo":["map:{id}:日本"]}"#)).unwrap();
    refused(&mut engine, "a tag unlike its key");
    // The fan-out budget reached (the blog post's set has 5 keys).
    refused(&mut blog_with(EngineOptions { max_keys: 5, ..EngineOptions::default() }), "maxKeys");
    assert!(blog_with(EngineOptions { max_keys: 6, ..EngineOptions::default() })
        .plan_compact("post", Op::Update, &mut CompactSet::default())
        .is_some());
    // A logging engine logs each cascade.
    let mut engine = blog();
    engine.set_logger(Some(Box::new(|_| {})));
    refused(&mut engine, "a logger");
    // An unknown entity is refused as its cascade is.
    assert_eq!(blog().plan_compact("nope", Op::Update, &mut CompactSet::default()), None);
}

#[test]
fn plain_id_bytes_are_the_ones_encoding_keeps() {
    for b in 0..=255u8 {
        let plain = plain_id_byte(b, '/');
        let s = [b];
        if let Ok(s) = std::str::from_utf8(&s) {
            let kept = cascade_edge::encode_segment(s, '/') == s && cascade_edge::tag_for(s) == s;
            assert!(!plain || kept, "byte {b:#x}");
            if kept && b != b'/' {
                assert!(plain || b == b'\x7f' || b < 0x21, "byte {b:#x} could be planned");
            }
        } else {
            assert!(!plain);
        }
    }
}
