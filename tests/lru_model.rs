#![cfg(not(target_arch = "wasm32"))] // proptest is a native-only dev-dependency
//! The LRU held against an obviously-correct model: a `Vec` of entries in recency order.
//!
//! `PROPTEST_CASES` raises the case count for a long run (256 by default).

mod common;

use cascade_edge::wasm::keyless::KeylessSets;
use cascade_edge::{covers, LruCache, LruOptions, Pattern, RemovalReason, Removed, SetOptions};
use proptest::prelude::*;

const KEYS: &[&str] = &["a", "b", "a:1", "a:10", "a:1:x", "b:2:y"];
const TARGETS: &[&str] = &["a", "b", "a:1", "a:10", "a:1:x", "b:2", "b:2:y", "c"];
const PATTERNS: &[&str] = &["a:*", "*:1", "*:2:y", "a:*:x", "*", "b:*:y", "*:1:*", "a:1"];

#[derive(Debug, Clone)]
enum Op {
    Set {
        key: usize,
        value: i32,
        tags: Vec<usize>,
    },
    /// `set_slot` on the key's slot when it is cached: a set without tags.
    SetSlot {
        key: usize,
        value: i32,
    },
    /// `set_unindexed` when the key is not cached (its contract).
    SetUnindexed {
        key: usize,
        value: i32,
    },
    Get(usize),
    /// `peek`, which finds keys waiting to be indexed without indexing them.
    Peek(usize),
    Delete(usize),
    Invalidate(usize),
    InvalidatePattern(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..KEYS.len(), any::<i32>(), prop::collection::vec(0..TARGETS.len(), 0..3))
            .prop_map(|(key, value, tags)| Op::Set { key, value, tags }),
        2 => (0..KEYS.len(), any::<i32>()).prop_map(|(key, value)| Op::SetSlot { key, value }),
        3 => (0..KEYS.len(), any::<i32>()).prop_map(|(key, value)| Op::SetUnindexed { key, value }),
        3 => (0..KEYS.len()).prop_map(Op::Get),
        1 => (0..KEYS.len()).prop_map(Op::Peek),
        1 => (0..KEYS.len()).prop_map(Op::Delete),
        1 => (0..TARGETS.len()).prop_map(Op::Invalidate),
        1 => (0..PATTERNS.len()).prop_map(Op::InvalidatePattern),
    ]
}

struct Model {
    max: usize,
    /// (key, value, tags), most recent first.
    entries: Vec<(String, i32, Vec<String>)>,
}

impl Model {
    fn position(&self, key: &str) -> Option<usize> {
        self.entries.iter().position(|(k, _, _)| k == key)
    }

    /// Removes every entry that `hit` selects by key or by one of its tags; returns their keys.
    fn remove_where(&mut self, hit: impl Fn(&str) -> bool) -> Vec<String> {
        let (gone, kept) = std::mem::take(&mut self.entries)
            .into_iter()
            .partition(|(k, _, tags)| hit(k) || tags.iter().any(|t| hit(t)));
        self.entries = kept;
        sorted(gone.into_iter().map(|(k, _, _)| k).collect())
    }
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

fn keys_of(removed: Vec<Removed<i32>>, reason: RemovalReason) -> Vec<String> {
    sorted(removed.into_iter().filter(|r| r.reason == reason).map(|r| r.key).collect())
}

const DEFAULT_CASES: u32 = 256;

fn cases() -> u32 {
    common::cases(DEFAULT_CASES)
}

fn count(ops: u64) {
    common::count_operations(module_path!(), ops, cases());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn lru_matches_the_model(max in 1usize..5, ops in prop::collection::vec(op(), 1..60)) {
        let options = LruOptions { max_entries: max, ..LruOptions::default() };
        let mut cache: LruCache<i32> = LruCache::with_clock(options, Box::new(|| 0)).unwrap();
        let mut model = Model { max, entries: Vec::new() };
        count(ops.len() as u64);
        for op in ops {
            match op {
                Op::Set { key, value, tags } => {
                    let key = KEYS[key];
                    let tags: Vec<String> = tags.into_iter().map(|t| TARGETS[t].to_owned()).collect();
                    let out = cache
                        .set(key, value, SetOptions { tags: tags.clone(), ..SetOptions::default() })
                        .unwrap();
                    let mut evicted = Vec::new();
                    let mut replaced = None;
                    match model.position(key) {
                        Some(i) => {
                            replaced = Some(model.entries.remove(i).1);
                        }
                        None if model.entries.len() == model.max => {
                            evicted.extend(model.entries.pop().map(|(k, _, _)| k));
                        }
                        None => {}
                    }
                    model.entries.insert(0, (key.to_owned(), value, tags));
                    prop_assert_eq!(keys_of(out.removed, RemovalReason::Evicted), evicted);
                    prop_assert_eq!(out.replaced, replaced);
                }
                Op::SetSlot { key, value } => {
                    let key = KEYS[key];
                    match (cache.slot_of(key), model.position(key)) {
                        (Some(slot), Some(i)) => {
                            let out = cache.set_slot(slot, value, 0).unwrap();
                            let old = model.entries.remove(i).1;
                            model.entries.insert(0, (key.to_owned(), value, Vec::new()));
                            prop_assert_eq!((out.slot, out.replaced, out.removed), (slot, Some(old), Vec::new()));
                        }
                        (None, None) => {}
                        (cached, modelled) => prop_assert!(false, "{key}: cache {cached:?}, model {modelled:?}"),
                    }
                }
                Op::SetUnindexed { key, value } => {
                    let key = KEYS[key];
                    if model.position(key).is_none() {
                        let mut removed = Vec::new();
                        let slot = cache.set_unindexed(key, value, 0, &mut removed).unwrap();
                        let mut evicted = Vec::new();
                        if model.entries.len() == model.max {
                            evicted.extend(model.entries.pop().map(|(k, _, _)| k));
                        }
                        model.entries.insert(0, (key.to_owned(), value, Vec::new()));
                        prop_assert_eq!(keys_of(removed, RemovalReason::Evicted), evicted);
                        prop_assert_eq!(cache.slot_of(key), Some(slot));
                    }
                }
                Op::Peek(key) => {
                    let key = KEYS[key];
                    let expected = model.position(key).map(|i| model.entries[i].1);
                    prop_assert_eq!(cache.peek(key).copied(), expected);
                }
                Op::Get(key) => {
                    let key = KEYS[key];
                    let expected = model.position(key).map(|i| {
                        let e = model.entries.remove(i);
                        let v = e.1;
                        model.entries.insert(0, e);
                        v
                    });
                    prop_assert_eq!(cache.get(key).copied(), expected);
                }
                Op::Delete(key) => {
                    let key = KEYS[key];
                    let expected = model.position(key).map(|i| model.entries.remove(i).1);
                    prop_assert_eq!(cache.delete(key).map(|r| r.value), expected);
                }
                Op::Invalidate(t) => {
                    let target = TARGETS[t];
                    let expected = model.remove_where(|k| covers(target, k, ':'));
                    let removed = cache.invalidate(target).unwrap();
                    prop_assert_eq!(keys_of(removed, RemovalReason::Invalidated), expected);
                    prop_assert!(cache.keys().all(|k| !covers(target, &k, ':')));
                }
                Op::InvalidatePattern(p) => {
                    let pattern = Pattern::parse(PATTERNS[p], ':').unwrap();
                    let expected = model.remove_where(|k| pattern.covers(k, ':'));
                    let removed = cache.invalidate_pattern(PATTERNS[p]).unwrap();
                    prop_assert_eq!(keys_of(removed, RemovalReason::Invalidated), expected);
                }
            }
            if let Err(e) = cache.check_invariants() {
                prop_assert!(false, "invariant broken: {}", e);
            }
            let expected: Vec<&str> = model.entries.iter().map(|(k, _, _)| k.as_str()).collect();
            prop_assert_eq!(cache.keys().collect::<Vec<_>>(), expected);
        }
    }
}
