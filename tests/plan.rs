//! Plans of cascades of changes without data (`Engine::plan_compact`): the planned set with the
//! id in place of its mark is the cascade set, and planned cascades recorded with
//! `Engine::record_planned` count in the stats as cascades that ran.

mod common;

use cascade_edge::wasm::protocol::{plain_id_byte, CompactSet};
use cascade_edge::{Engine, EngineOptions, Op};
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

/// The keys of a compact set, in order.
fn keys_of(out: &CompactSet) -> Vec<String> {
    let mut at = 0;
    (0..out.meta[2] as usize)
        .map(|i| {
            let len = out.meta[3 + 6 * i] as usize;
            at += len;
            out.text[at - len..at].to_owned()
        })
        .collect()
}

#[test]
fn a_plan_with_data_puts_stand_ins_where_the_values_go() {
    let mut engine = blog();
    let mark = char::from(engine.plan_mark().expect("a free byte"));
    let stand = |i: u32| format!("{mark}{i}{mark}");
    let data =
        cascade_edge::Value::parse(&format!(r#"{{"author_id":"{}","title":"{}"}}"#, stand(1), stand(2)))
            .unwrap();
    let mut out = CompactSet::default();
    engine.plan_compact_data("post", Op::Update, &stand(0), &data, None, &mut out).expect("planned");
    let keys = keys_of(&out)
        .into_iter()
        .map(|k| k.replace(&stand(0), "9").replace(&stand(1), "123"))
        .collect::<Vec<_>>();
    assert_eq!(keys, ["post:9", "post:9:comments", "comment:post:9", "user:123:posts", "post:author:123"]);
    // The same change with those values, through the ordinary cascade.
    let change = cascade_edge::Change::from_value(&json(
        r#"{"entity":"post","id":"9","data":{"author_id":"123","title":"t"}}"#,
    ))
    .unwrap();
    let set = engine.cascade(&change).unwrap();
    assert!(set.patterns.is_empty());
    assert_eq!(set.keys, keys);
    assert_eq!(engine.stats().cascades, 1, "planning is not a cascade");
}

#[test]
fn a_condition_on_the_data_stops_a_plan_with_data_but_not_one_without() {
    let mut engine = blog();
    let rule = json(
        r#"{"entity":"post","when":{"field":"status","eq":"published"},"cascadeTo":["feed:{author_id}"]}"#,
    );
    engine.add_rule_value(&rule).unwrap();
    let mark = char::from(engine.plan_mark().expect("a free byte"));
    let data =
        cascade_edge::Value::parse(&format!(r#"{{"author_id":"{mark}1{mark}","status":"draft"}}"#)).unwrap();
    let mut out = CompactSet::default();
    assert!(engine
        .plan_compact_data("post", Op::Update, &format!("{mark}0{mark}"), &data, None, &mut out)
        .is_none());
    // Without data the condition cannot be checked and the rule fires: that holds for any id.
    assert!(engine.plan_compact("post", Op::Update, &mut out).is_some());
}

/// A change that carries `before` is planned with stand-ins in both states: equal values share
/// one, so keys rendered from both states, and `onFields`, come out as the real values give them.
#[test]
fn a_plan_with_before_is_the_cascade_of_its_values() {
    let mut engine = blog();
    let rule = json(r#"{"entity":"post","onFields":["title"],"cascadeTo":["search:{id}"]}"#);
    engine.add_rule_value(&rule).unwrap();
    let mark = char::from(engine.plan_mark().expect("a free byte"));
    let stand = |i: u32| format!("{mark}{i}{mark}");
    let spell = |keys: Vec<String>, values: &[&str]| -> Vec<String> {
        keys.into_iter()
            .map(|k| values.iter().enumerate().fold(k, |k, (i, v)| k.replace(&stand(i as u32), v)))
            .collect()
    };
    // (after author, after title, before author, before title); a value equal to the one at the
    // same path after the change takes that one's stand-in.
    for (after, before) in [(("1", "a"), ("2", "a")), (("1", "a"), ("1", "b")), (("1", "a"), ("2", "b"))] {
        let mut values = vec!["9", after.0, after.1];
        let stand_of = |v: &str, same_as: u32, values: &mut Vec<&'static str>, real: &'static str| {
            if v == values[same_as as usize] {
                stand(same_as)
            } else {
                values.push(real);
                stand(values.len() as u32 - 1)
            }
        };
        let b_author = stand_of(before.0, 1, &mut values, before.0);
        let b_title = stand_of(before.1, 2, &mut values, before.1);
        let data =
            cascade_edge::Value::parse(&format!(r#"{{"author_id":"{}","title":"{}"}}"#, stand(1), stand(2)))
                .unwrap();
        let before_data =
            cascade_edge::Value::parse(&format!(r#"{{"author_id":"{b_author}","title":"{b_title}"}}"#))
                .unwrap();
        let mut out = CompactSet::default();
        engine
            .plan_compact_data("post", Op::Update, &stand(0), &data, Some(&before_data), &mut out)
            .expect("planned");
        let planned = spell(keys_of(&out), &values);
        let change = cascade_edge::Change::from_value(&json(&format!(
            r#"{{"entity":"post","id":"9","data":{{"author_id":"{}","title":"{}"}},"before":{{"author_id":"{}","title":"{}"}}}}"#,
            after.0, after.1, before.0, before.1
        )))
        .unwrap();
        let set = engine.cascade(&change).unwrap();
        assert_eq!(planned, set.keys, "{after:?} {before:?}");
        assert_eq!(set.keys.contains(&"search:9".to_owned()), after.1 != before.1, "{after:?} {before:?}");
    }
}
