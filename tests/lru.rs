//! The LRU cache of SPEC §5, case by case.

use cascade_edge::wasm::keyless::KeylessSets;
use cascade_edge::{
    Error, LruCache, LruOptions, LruStats, ReadToken, RemovalReason, Removed, SetOptions, Value,
    FENCE_CAPACITY,
};
use std::cell::Cell;
use std::rc::Rc;

fn cache_with(
    max_entries: usize,
    max_bytes: Option<usize>,
    default_ttl_ms: Option<u64>,
) -> (LruCache<i32>, Rc<Cell<u64>>) {
    let now = Rc::new(Cell::new(1_000));
    let clock = Rc::clone(&now);
    let options = LruOptions { max_entries, max_bytes, default_ttl_ms, ..LruOptions::default() };
    let cache = LruCache::with_clock(options, Box::new(move || clock.get())).unwrap();
    (cache, now)
}

fn cache(max_entries: usize) -> LruCache<i32> {
    cache_with(max_entries, None, None).0
}

fn put(c: &mut LruCache<i32>, key: &str, v: i32) -> Vec<String> {
    let out = c.set(key, v, SetOptions::default()).unwrap();
    c.check_invariants().unwrap();
    out.removed.into_iter().map(|r| r.key).collect()
}

fn tagged(c: &mut LruCache<i32>, key: &str, v: i32, tags: &[&str]) {
    let tags = tags.iter().map(|t| t.to_string()).collect();
    c.set(key, v, SetOptions { tags, ..SetOptions::default() }).unwrap();
    c.check_invariants().unwrap();
}

fn keys(c: &LruCache<i32>) -> Vec<String> {
    c.keys().collect()
}

fn removed_keys<V>(removed: Vec<Removed<V>>) -> Vec<String> {
    let mut keys: Vec<String> = removed.into_iter().map(|r| r.key).collect();
    keys.sort();
    keys
}

#[test]
fn evicts_least_recently_used() {
    let mut c = cache(3);
    put(&mut c, "a", 1);
    put(&mut c, "b", 2);
    put(&mut c, "c", 3);
    assert_eq!(c.get("a"), Some(&1));
    assert_eq!(keys(&c), ["a", "c", "b"]);
    assert_eq!(put(&mut c, "d", 4), ["b"]);
    assert_eq!(keys(&c), ["d", "a", "c"]);
    // peek and has do not refresh recency.
    assert_eq!(c.peek("c"), Some(&3));
    assert!(c.has("c"));
    assert_eq!(put(&mut c, "e", 5), ["c"]);
    assert_eq!(keys(&c), ["e", "d", "a"]);
}

#[test]
fn replacing_keeps_the_slot_and_reports_the_old_value() {
    let mut c = cache(2);
    let first = c.set("a", 1, SetOptions::default()).unwrap();
    put(&mut c, "b", 2);
    let again = c.set("a", 10, SetOptions::default()).unwrap();
    assert_eq!(again.slot, first.slot);
    assert_eq!(again.removed, []);
    assert_eq!(again.replaced, Some(1));
    assert_eq!(keys(&c), ["a", "b"]);
    assert_eq!(c.len(), 2);
}

#[test]
fn byte_budget_evicts_until_the_new_entry_fits() {
    let (mut c, _) = cache_with(10, Some(30), None);
    // Each entry weighs its key (1 byte) plus the value size given.
    for (k, v) in [("a", 1), ("b", 2), ("c", 3)] {
        c.set(k, v, SetOptions { bytes: 9, ..SetOptions::default() }).unwrap();
    }
    assert_eq!(c.bytes(), 30);
    let out = c.set("d", 4, SetOptions { bytes: 14, ..SetOptions::default() }).unwrap();
    assert_eq!(removed_keys(out.removed), ["a", "b"]);
    assert_eq!(keys(&c), ["d", "c"]);
    assert_eq!(c.bytes(), 25);
    c.check_invariants().unwrap();
}

#[test]
fn an_entry_above_max_bytes_is_refused_and_changes_nothing() {
    let (mut c, _) = cache_with(10, Some(30), None);
    c.set("a", 1, SetOptions { bytes: 5, ..SetOptions::default() }).unwrap();
    let err = c.set("big", 2, SetOptions { bytes: 28, ..SetOptions::default() }).unwrap_err();
    assert_eq!(err, Error::LimitExceeded { what: "entry bytes (key plus value)", limit: 30, actual: 31 });
    assert_eq!(err.code(), "LIMIT_EXCEEDED");
    assert_eq!(keys(&c), ["a"]);
    assert_eq!(c.bytes(), 6);
}

#[test]
fn ttl_follows_the_injected_clock() {
    let (mut c, now) = cache_with(10, None, Some(100));
    put(&mut c, "default", 1);
    c.set("short", 2, SetOptions { ttl_ms: Some(10), ..SetOptions::default() }).unwrap();
    now.set(1_009);
    assert_eq!(c.get("short"), Some(&2));
    now.set(1_010);
    assert!(!c.has("short"));
    assert_eq!(c.peek("short"), None);
    assert_eq!(keys(&c), ["default"]);
    assert_eq!(c.get("short"), None);
    assert_eq!(c.len(), 1);
    now.set(1_100);
    assert_eq!(c.get("default"), None);
    assert!(c.is_empty());
    let s = c.stats();
    assert_eq!((s.hits, s.misses, s.expirations), (1, 2, 2));
    c.check_invariants().unwrap();
}

#[test]
fn touch_expires_and_prune_expired_reports() {
    let (mut c, now) = cache_with(10, None, None);
    let a = c.set("a", 1, SetOptions { ttl_ms: Some(5), ..SetOptions::default() }).unwrap().slot;
    c.set("b", 2, SetOptions { ttl_ms: Some(5), ..SetOptions::default() }).unwrap();
    put(&mut c, "c", 3);
    assert_eq!(c.slot_of("a"), Some(a));
    assert!(c.touch(a));
    now.set(1_005);
    assert!(!c.touch(a));
    assert_eq!(c.value(a), None);
    assert_eq!(c.key(a), None);
    let pruned = c.prune_expired();
    assert_eq!(pruned.len(), 1);
    assert_eq!((pruned[0].key.as_str(), pruned[0].reason), ("b", RemovalReason::Expired));
    assert_eq!(keys(&c), ["c"]);
    assert!(!c.touch(u32::MAX));
    assert!(!c.touch(12_345));
}

#[test]
fn invalid_ttl_and_options_are_errors() {
    let bad = |o: LruOptions| LruCache::<i32>::with_clock(o, Box::new(|| 0)).err().map(|e| e.code());
    assert_eq!(bad(LruOptions { max_entries: 0, ..LruOptions::default() }), Some("INVALID_OPTIONS"));
    assert_eq!(bad(LruOptions { max_bytes: Some(0), ..LruOptions::default() }), Some("INVALID_OPTIONS"));
    assert_eq!(bad(LruOptions { delimiter: '*', ..LruOptions::default() }), Some("INVALID_OPTIONS"));
    let huge = LruCache::<i32>::with_clock(
        LruOptions { max_entries: usize::MAX, ..LruOptions::default() },
        Box::new(|| 0),
    );
    assert_eq!(huge.unwrap().options().max_entries, u32::MAX as usize - 1);
    let mut c = cache(2);
    let err = c.set("a", 1, SetOptions { ttl_ms: Some(0), ..SetOptions::default() }).unwrap_err();
    assert_eq!(err.code(), "INVALID_OPTIONS");
    assert!(c.is_empty());
}

#[test]
fn hierarchy_never_crosses_a_partial_segment() {
    let mut c = cache(10);
    for k in ["user:1", "user:1:posts", "user:1:posts:page:2", "user:10", "user:10:posts", "user"] {
        put(&mut c, k, 0);
    }
    let removed = c.invalidate("user:1").unwrap();
    assert!(removed.iter().all(|r| r.reason == RemovalReason::Invalidated));
    assert_eq!(removed_keys(removed), ["user:1", "user:1:posts", "user:1:posts:page:2"]);
    assert_eq!(keys(&c), ["user", "user:10:posts", "user:10"]);
    // Invalidating a prefix that is not itself cached still removes what lies below it.
    put(&mut c, "post:9:comments", 0);
    assert_eq!(removed_keys(c.invalidate("post:9").unwrap()), ["post:9:comments"]);
    assert_eq!(c.invalidate("nothing:here").unwrap(), []);
    c.check_invariants().unwrap();
}

#[test]
fn inner_wildcard_matches_exactly_one_segment() {
    let mut c = cache(20);
    for k in [
        "post:1:comments",
        "post:2:comments",
        "post:2:comments:page:1",
        "post:3:likes",
        "post:1:x:comments",
        "post",
    ] {
        put(&mut c, k, 0);
    }
    assert_eq!(
        removed_keys(c.invalidate_pattern("post:*:comments").unwrap()),
        ["post:1:comments", "post:2:comments", "post:2:comments:page:1"]
    );
    assert_eq!(keys(&c), ["post", "post:1:x:comments", "post:3:likes"]);
    c.check_invariants().unwrap();
}

#[test]
fn trailing_wildcard_matches_one_or_more_segments() {
    let mut c = cache(20);
    for k in ["feed:follower", "feed:follower:1", "feed:follower:1:2", "feed:followers:1", "feed:other"] {
        put(&mut c, k, 0);
    }
    assert_eq!(
        removed_keys(c.invalidate_pattern("feed:follower:*").unwrap()),
        ["feed:follower:1", "feed:follower:1:2"]
    );
    assert_eq!(keys(&c), ["feed:other", "feed:followers:1", "feed:follower"]);
    // A pattern without wildcards behaves like a key.
    assert_eq!(removed_keys(c.invalidate_pattern("feed:follower").unwrap()), ["feed:follower"]);
}

#[test]
fn tags_remove_the_entries_that_contain_an_entity() {
    let mut c = cache(20);
    tagged(&mut c, "query:home", 1, &["post:9", "user:123"]);
    tagged(&mut c, "query:profile", 2, &["user:123:avatar"]);
    tagged(&mut c, "query:other", 3, &["user:1234"]);
    tagged(&mut c, "query:dup", 4, &["user:123", "user:123"]);
    put(&mut c, "user:123", 5);
    let removed = c.invalidate("user:123").unwrap();
    assert_eq!(removed_keys(removed), ["query:dup", "query:home", "query:profile", "user:123"]);
    assert_eq!(keys(&c), ["query:other"]);
    // The tag index forgot the removed entries: re-adding under the old tag works from scratch.
    tagged(&mut c, "query:home", 6, &["post:9"]);
    assert_eq!(removed_keys(c.invalidate_pattern("post:*").unwrap()), ["query:home"]);
    assert_eq!(removed_keys(c.invalidate("user").unwrap()), ["query:other"]);
    assert!(c.is_empty());
    c.check_invariants().unwrap();
}

#[test]
fn replacing_an_entry_replaces_its_tags() {
    let mut c = cache(5);
    tagged(&mut c, "q", 1, &["user:1"]);
    tagged(&mut c, "q", 2, &["user:2"]);
    assert_eq!(c.invalidate("user:1").unwrap(), []);
    assert_eq!(removed_keys(c.invalidate("user:2").unwrap()), ["q"]);
}

#[test]
fn batch_and_set_invalidate_together_or_not_at_all() {
    let mut c = cache(20);
    for k in ["user:1", "user:2", "user:3", "post:1:comments", "post:2:likes"] {
        put(&mut c, k, 0);
    }
    assert_eq!(
        removed_keys(c.invalidate_batch(&["user:1", "user:2", "user:1"]).unwrap()),
        ["user:1", "user:2"]
    );
    assert_eq!(c.invalidate_batch(&["user:3", "bad::key"]).unwrap_err().code(), "INVALID_KEY");
    assert_eq!(c.invalidate_set(&["user:3"], &["post:*x"]).unwrap_err().code(), "INVALID_KEY");
    assert_eq!(c.len(), 3);
    assert_eq!(
        removed_keys(c.invalidate_set(&["user:3"], &["post:*:comments"]).unwrap()),
        ["post:1:comments", "user:3"]
    );
    assert_eq!(keys(&c), ["post:2:likes"]);
}

#[test]
fn lazy_invalidations_coalesce_and_run_when_due() {
    let (mut c, now) = cache_with(20, None, None);
    for k in ["user:1", "user:1:posts", "user:2", "user:3"] {
        put(&mut c, k, 0);
    }
    c.invalidate_lazy("user:1", 100).unwrap(); // due 1100
    c.invalidate_lazy("user:1", 50).unwrap(); // the same key: earliest due time wins, 1050
    c.invalidate_lazy("user:1:posts", 200).unwrap(); // below a key due earlier: covered
    c.invalidate_lazy("user:2", 300).unwrap(); // due 1300
    assert_eq!(c.pending_invalidations(), 2);
    assert_eq!(c.next_due(), Some(1_050));
    assert_eq!(c.flush_due(1_049), []);
    assert_eq!(c.len(), 4);
    let first = c.flush_due(1_050);
    assert_eq!(removed_keys(first), ["user:1", "user:1:posts"]);
    assert_eq!(c.flush_due(1_050), []);
    now.set(1_200);
    assert_eq!(c.invalidate_lazy("bad::key", 1).unwrap_err().code(), "INVALID_KEY");
    assert_eq!(removed_keys(c.flush_due(10_000)), ["user:2"]);
    assert_eq!(c.pending_invalidations(), 0);
    assert_eq!(keys(&c), ["user:3"]);
    assert_eq!(c.stats().invalidations, 3);
}

#[test]
fn lazy_child_due_before_its_parent_still_runs_first() {
    let mut c = cache(10);
    put(&mut c, "user:1", 0);
    put(&mut c, "user:1:posts", 0);
    c.invalidate_lazy("user:1", 500).unwrap();
    c.invalidate_lazy("user:1:posts", 10).unwrap();
    assert_eq!(removed_keys(c.flush_due(1_010)), ["user:1:posts"]);
    assert_eq!(removed_keys(c.flush_due(1_500)), ["user:1"]);
}

#[test]
fn lazy_parent_scheduled_after_its_child_runs_once() {
    let mut c = cache(10);
    put(&mut c, "user:1", 0);
    put(&mut c, "user:1:posts", 0);
    c.invalidate_lazy("user:1:posts", 10).unwrap();
    c.invalidate_lazy("user:1", 10).unwrap();
    let removed = c.flush_due(1_010);
    assert_eq!(removed_keys(removed), ["user:1", "user:1:posts"]);
    assert_eq!(c.stats().invalidations, 2);
}

#[test]
fn invalidate_field_edits_cached_json_and_its_weight() {
    let now = Rc::new(Cell::new(0));
    let clock = Rc::clone(&now);
    let mut c: LruCache<Value> =
        LruCache::with_clock(LruOptions::default(), Box::new(move || clock.get())).unwrap();
    let post = |id: i64| {
        Value::parse(&format!(r#"{{"id":{id},"author":{{"id":7,"name":"Ann"}},"title":"t"}}"#)).unwrap()
    };
    for (k, id) in [("post:1", 1), ("post:2", 2), ("post:1:comments", 3)] {
        let v = post(id);
        let bytes = v.approx_size();
        c.set(k, v, SetOptions { bytes, ..SetOptions::default() }).unwrap();
    }
    let before = c.bytes();
    // A key names its own value only, not the values below it.
    assert_eq!(c.invalidate_field("post:1", "author.name").unwrap(), ["post:1"]);
    assert_eq!(c.peek("post:1").unwrap().to_json(), r#"{"id":1,"author":{"id":7},"title":"t"}"#);
    assert_eq!(c.peek("post:1:comments").unwrap().get_path("author.name"), Some(&Value::from("Ann")));
    // A trailing `*` matches one or more segments; post:1 no longer has the field.
    let mut changed = c.invalidate_field("post:*", "author.name").unwrap();
    changed.sort();
    assert_eq!(changed, ["post:1:comments", "post:2"]);
    // approx_size weighs the member "name":"Ann" as 4 (name) + 4 (quotes, colon, comma) + 5 ("Ann").
    assert_eq!(c.bytes(), before - 3 * 13);
    assert_eq!(c.invalidate_field("post:*:comments", "author.name").unwrap(), Vec::<String>::new());
    assert_eq!(c.invalidate_field("post:1:comments", "title").unwrap(), ["post:1:comments"]);
    assert_eq!(c.invalidate_field("post:1", "author..name").unwrap_err().code(), "INVALID_OPTIONS");
    assert_eq!(c.invalidate_field("post:1*", "title").unwrap_err().code(), "INVALID_KEY");
    assert_eq!(c.len(), 3);
    c.check_invariants().unwrap();
}

fn set_with_token(c: &mut LruCache<i32>, key: &str, token: ReadToken, tags: &[&str]) -> Result<(), Error> {
    let tags = tags.iter().map(|t| t.to_string()).collect();
    c.set(key, 1, SetOptions { token: Some(token), tags, ..SetOptions::default() }).map(|_| ())
}

#[test]
fn stale_write_refused_after_invalidating_the_key() {
    let mut c = cache(10);
    let token = c.begin_read("user:1");
    c.invalidate("user:1").unwrap();
    assert_eq!(set_with_token(&mut c, "user:1", token, &[]), Err(Error::StaleWrite { key: "user:1".into() }));
    assert!(!c.has("user:1"));
    // A token taken after the invalidation is fresh.
    let fresh = c.begin_read("user:1");
    assert_eq!(set_with_token(&mut c, "user:1", fresh, &[]), Ok(()));
}

#[test]
fn stale_write_refused_after_invalidating_an_ancestor() {
    let mut c = cache(10);
    let token = c.begin_read("user:1:posts");
    c.invalidate("user:1").unwrap();
    assert_eq!(set_with_token(&mut c, "user:1:posts", token, &[]).unwrap_err().code(), "STALE_WRITE");
}

#[test]
fn stale_write_refused_after_a_matching_pattern() {
    let mut c = cache(10);
    let token = c.begin_read("post:9:comments");
    c.invalidate_pattern("post:*:comments").unwrap();
    assert_eq!(set_with_token(&mut c, "post:9:comments", token, &[]).unwrap_err().code(), "STALE_WRITE");
    assert_eq!(set_with_token(&mut c, "post:9:likes", token, &[]), Ok(()));
}

#[test]
fn stale_write_refused_by_tag_and_after_clear() {
    let mut c = cache(10);
    tagged(&mut c, "query:home", 1, &["user:1"]);
    let token = c.begin_read("query:home");
    c.invalidate("user:1").unwrap();
    // Written back with its tag, or without: either way it was built from stale data.
    assert!(set_with_token(&mut c, "query:home", token, &["user:1"]).is_err());
    assert!(set_with_token(&mut c, "query:home", token, &[]).is_err());
    // A new entry whose tag was invalidated after the read is refused too.
    assert!(set_with_token(&mut c, "query:feed", token, &["user:1:avatar"]).is_err());
    let token = c.begin_read("anything");
    c.clear();
    assert_eq!(set_with_token(&mut c, "anything", token, &[]).unwrap_err().code(), "STALE_WRITE");
}

#[test]
fn write_accepted_when_an_unrelated_key_was_invalidated() {
    let mut c = cache(10);
    let token = c.begin_read("user:1");
    c.invalidate("user:10").unwrap();
    c.invalidate("user:1:posts").unwrap();
    c.invalidate_pattern("post:*").unwrap();
    c.delete("user:1");
    assert_eq!(set_with_token(&mut c, "user:1", token, &["post"]), Ok(()));
    assert_eq!(c.peek("user:1"), Some(&1));
}

#[test]
fn fence_memory_is_bounded_and_refuses_conservatively() {
    let mut c = cache(10);
    let old = c.begin_read("user:1");
    for i in 0..FENCE_CAPACITY + 1 {
        c.invalidate(&format!("other:{i}")).unwrap();
    }
    // The invalidations after `old` no longer all fit in memory: `old` is refused, unrelated or not.
    assert_eq!(set_with_token(&mut c, "user:1", old, &[]).unwrap_err().code(), "STALE_WRITE");
    let recent = c.begin_read("user:1");
    c.invalidate("other:x").unwrap();
    assert_eq!(set_with_token(&mut c, "user:1", recent, &[]), Ok(()));
    // A token the cache never issued is an error, not a pass.
    let forged = ReadToken::from_epoch(recent.epoch() + 1_000);
    assert_eq!(set_with_token(&mut c, "user:1", forged, &[]).unwrap_err().code(), "INVALID_OPTIONS");
}

#[test]
fn stats_count_exactly() {
    let (mut c, now) = cache_with(2, None, None);
    put(&mut c, "a", 1);
    put(&mut c, "b", 2);
    c.get("a");
    c.get("zz");
    put(&mut c, "c", 3); // evicts b
    c.set("d", 4, SetOptions { ttl_ms: Some(1), ..SetOptions::default() }).unwrap(); // evicts a
    now.set(2_000);
    c.get("d"); // expired: a miss and an expiration
    tagged(&mut c, "e", 5, &["x"]);
    c.invalidate("x").unwrap();
    c.record_miss();
    assert_eq!(
        c.stats(),
        LruStats {
            hits: 1,
            misses: 3,
            sets: 5,
            evictions: 2,
            expirations: 1,
            invalidations: 1,
            entries: 1,
            bytes: 1
        }
    );
}

#[test]
fn bad_keys_are_errors_and_leave_the_cache_unchanged() {
    let mut c = cache(10);
    put(&mut c, "user:1", 1);
    put(&mut c, "user:2", 2);
    let before: Vec<String> = c.keys().collect();
    let long = "x".repeat(2_000);
    for bad in ["", ":user", "user:", "user::1", "user:*", "user:1*", long.as_str()] {
        assert!(c.set(bad, 9, SetOptions::default()).is_err(), "{bad:?}");
        assert!(c.invalidate(bad).is_err(), "{bad:?}");
        assert!(c.invalidate_lazy(bad, 1).is_err(), "{bad:?}");
        assert!(c.invalidate_batch(&["user:1", bad]).is_err(), "{bad:?}");
        assert_eq!(c.get(bad), None);
        assert_eq!(c.delete(bad), None);
    }
    for bad in ["", "user:1*", "user::*", "*x"] {
        assert!(c.invalidate_pattern(bad).is_err(), "{bad:?}");
        assert!(c.invalidate_set(&["user:1"], &[bad]).is_err(), "{bad:?}");
    }
    let err =
        c.set("q", 1, SetOptions { tags: vec!["user::1".into()], ..SetOptions::default() }).unwrap_err();
    assert_eq!(err.code(), "INVALID_KEY");
    assert_eq!(c.keys().collect::<Vec<_>>(), before);
    assert_eq!(c.pending_invalidations(), 0);
    c.check_invariants().unwrap();
}

#[test]
fn delete_clear_and_slot_handles() {
    let mut c = cache(10);
    let a = c.set("a", 1, SetOptions::default()).unwrap().slot;
    put(&mut c, "b", 2);
    assert_eq!(c.key(a).as_deref(), Some("a"));
    assert_eq!(c.value(a), Some(&1));
    assert_eq!(
        c.delete_slot(a),
        Some(Removed { slot: a, key: "a".into(), value: 1, reason: RemovalReason::Deleted })
    );
    assert_eq!(c.delete_slot(a), None);
    // A freed slot is reused by the next new key.
    assert_eq!(c.set("c", 3, SetOptions::default()).unwrap().slot, a);
    let cleared = c.clear();
    assert_eq!(
        cleared.iter().map(|r| (r.key.as_str(), r.reason)).collect::<Vec<_>>(),
        [("c", RemovalReason::Cleared), ("b", RemovalReason::Cleared)]
    );
    assert!(c.is_empty());
    assert_eq!(c.bytes(), 0);
    c.check_invariants().unwrap();
    put(&mut c, "d", 4);
    assert_eq!(keys(&c), ["d"]);
}

#[test]
fn trie_nodes_are_pruned_when_entries_go() {
    let mut c = cache(1);
    // With one slot, each set evicts the previous key; a leak would show in the invariants check
    // (every trie node must hold an entry, a tag or a child).
    for i in 0..500 {
        tagged(&mut c, &format!("k:{i}:deep:er"), i, &[&format!("tag:{i}:x")]);
    }
    c.invalidate("k").unwrap();
    c.check_invariants().unwrap();
    assert!(c.is_empty());
}

#[test]
fn a_custom_delimiter_is_honoured() {
    let options = LruOptions { delimiter: '/', ..LruOptions::default() };
    let mut c: LruCache<i32> = LruCache::with_clock(options, Box::new(|| 0)).unwrap();
    for k in ["user/1", "user/1/posts", "user/10", "user:1"] {
        c.set(k, 0, SetOptions::default()).unwrap();
    }
    let mut removed: Vec<String> = c.invalidate("user/1").unwrap().into_iter().map(|r| r.key).collect();
    removed.sort();
    assert_eq!(removed, ["user/1", "user/1/posts"]);
    assert_eq!(c.invalidate_pattern("user/*").unwrap().len(), 1);
    assert_eq!(c.keys().collect::<Vec<_>>(), ["user:1"]);
}

#[test]
fn system_clock_cache_works() {
    let mut c: LruCache<&str> = LruCache::new(LruOptions::default()).unwrap();
    c.set("a", "x", SetOptions { ttl_ms: Some(60_000), ..SetOptions::default() }).unwrap();
    assert_eq!(c.get("a"), Some(&"x"));
}

#[test]
fn keyless_removals_report_slots_and_still_fence_tagged_entries() {
    let mut c = cache(2);
    c.set_keyless_removals(true);
    let a = c
        .set("query:a", 1, SetOptions { tags: vec!["user:1".into()], ..SetOptions::default() })
        .unwrap()
        .slot;
    let b = c.set("b", 2, SetOptions::default()).unwrap().slot;
    let token = c.begin_read("query:a");
    let removed = c.invalidate("user:1").unwrap();
    assert_eq!(removed.iter().map(|r| (r.slot, r.key.as_str())).collect::<Vec<_>>(), [(a, "")]);
    // The entry reached through its tag is fenced by its own key, rebuilt from the trie.
    let refused = c.set("query:a", 1, SetOptions { token: Some(token), ..SetOptions::default() });
    assert_eq!(refused.unwrap_err(), Error::StaleWrite { key: "query:a".into() });
    put(&mut c, "c", 3);
    let evicted = c.set("d", 4, SetOptions::default()).unwrap().removed;
    assert_eq!(
        evicted.iter().map(|r| (r.slot, r.key.as_str(), r.reason)).collect::<Vec<_>>(),
        [(b, "", RemovalReason::Evicted)]
    );
    assert_eq!(keys(&c), ["d", "c"]);
    c.check_invariants().unwrap();
}

#[test]
fn churn_compacts_the_segment_text_and_keeps_every_lookup() {
    // Evictions free trie nodes; their segment text is compacted away once it is most of it.
    // With keys of ~40 bytes, 3,000 sets into 100 entries compact the text about 25 times.
    let mut c = cache(100);
    for i in 0..3_000 {
        let tags = vec![format!("tag:{}", i % 7)];
        c.set(
            &format!("item:{i}:detail-with-a-longer-segment"),
            i,
            SetOptions { tags, ..SetOptions::default() },
        )
        .unwrap();
        if i % 97 == 0 {
            c.check_invariants().unwrap();
        }
    }
    c.check_invariants().unwrap();
    assert_eq!(c.len(), 100);
    assert!(c.slot_of("item:2999:detail-with-a-longer-segment").is_some());
    assert_eq!(c.slot_of("item:2899:detail-with-a-longer-segment"), None);
    let removed = removed_keys(c.invalidate("tag:3").unwrap());
    let expected: Vec<String> = (2_900..3_000)
        .filter(|i| i % 7 == 3)
        .map(|i| format!("item:{i}:detail-with-a-longer-segment"))
        .collect();
    let mut sorted = removed.clone();
    sorted.sort();
    let mut expected_sorted = expected.clone();
    expected_sorted.sort();
    assert_eq!(sorted, expected_sorted);
    assert_eq!(removed_keys(c.invalidate_pattern("item:*").unwrap()).len(), 100 - expected.len());
    assert!(c.is_empty());
    c.check_invariants().unwrap();
}

#[test]
fn set_slot_replaces_by_slot_with_the_key_weighed_and_drops_tags() {
    let (mut c, _) = cache_with(10, Some(20), None);
    let slot = c
        .set("ab:c", 1, SetOptions { bytes: 5, tags: vec!["user:1".into()], ..SetOptions::default() })
        .unwrap()
        .slot;
    assert_eq!(c.bytes(), 9);
    // 4 bytes of key + 17 would pass the budget: refused, nothing changed.
    assert_eq!(c.set_slot(slot, 2, 17).unwrap_err().code(), "LIMIT_EXCEEDED");
    assert_eq!((c.peek("ab:c"), c.bytes(), c.stats().sets), (Some(&1), 9, 1));
    let out = c.set_slot(slot, 3, 10).unwrap();
    assert_eq!((out.slot, out.replaced), (slot, Some(1)));
    assert_eq!((c.peek("ab:c"), c.bytes(), c.stats().sets), (Some(&3), 14, 2));
    // Like a set without tags, the old tags are gone.
    assert_eq!(c.invalidate("user:1").unwrap(), []);
    c.delete("ab:c");
    assert_eq!(c.set_slot(slot, 4, 0).unwrap_err().code(), "INVALID_OPTIONS");
    c.check_invariants().unwrap();
}

#[test]
fn unindexed_keys_are_found_evicted_compacted_and_then_indexed() {
    let mut c = cache(100);
    // 3,000 new keys through 100 entries: most are evicted before anything needs the index, and
    // their rows are compacted away many times.
    for i in 0..3_000 {
        let mut removed = Vec::new();
        c.set_unindexed(&format!("user:{i}:posts"), i, 0, &mut removed).unwrap();
        let evicted: Vec<String> = removed.into_iter().map(|r| r.key).collect();
        let expected = if i >= 100 { vec![format!("user:{}:posts", i - 100)] } else { Vec::new() };
        assert_eq!(evicted, expected);
        if i % 97 == 0 {
            c.check_invariants().unwrap();
        }
    }
    assert_eq!(c.len(), 100);
    assert_eq!(c.peek("user:2999:posts"), Some(&2999));
    assert_eq!(c.peek("user:2899:posts"), None, "evicted");
    assert!(c.has("user:2900:posts"));
    assert_eq!(c.keys().next().as_deref(), Some("user:2999:posts"));
    c.check_invariants().unwrap();
    // The first call that needs the index takes every waiting key.
    let removed = removed_keys(c.invalidate("user:2950").unwrap());
    assert_eq!(removed, vec!["user:2950:posts".to_owned()]);
    assert_eq!(c.get("user:2951:posts"), Some(&2951));
    c.check_invariants().unwrap();
    assert_eq!(removed_keys(c.invalidate_pattern("user:*:posts").unwrap()).len(), 99);
    assert!(c.is_empty());
    c.check_invariants().unwrap();
}

#[test]
fn a_cached_key_given_to_set_unindexed_keeps_only_the_newer_entry() {
    let mut c = cache(10);
    put(&mut c, "a:1", 1);
    let mut removed = Vec::new();
    c.set_unindexed("a:1", 2, 0, &mut removed).unwrap();
    c.set_unindexed("b", 3, 0, &mut removed).unwrap();
    c.set_unindexed("b", 4, 0, &mut removed).unwrap();
    assert!(removed.is_empty());
    assert_eq!(c.get("a:1"), Some(&2));
    assert_eq!(c.get("b"), Some(&4));
    assert_eq!(c.len(), 2);
    c.check_invariants().unwrap();
}

#[test]
fn set_unindexed_refuses_what_set_refuses() {
    let (mut c, _) = cache_with(10, Some(8), None);
    let mut removed = Vec::new();
    assert!(matches!(c.set_unindexed("a::b", 1, 0, &mut removed), Err(Error::InvalidKey { .. })));
    assert!(matches!(c.set_unindexed("a:*", 1, 0, &mut removed), Err(Error::InvalidKey { .. })));
    assert!(matches!(c.set_unindexed("abc", 1, 6, &mut removed), Err(Error::LimitExceeded { .. })));
    assert!(c.is_empty());
    c.check_invariants().unwrap();
}

#[test]
fn keyless_entries_wait_for_their_keys_through_evictions_and_compactions() {
    let mut c = cache(100);
    let key = |i: i32| format!("user:{i}:posts");
    // 3,000 keyless sets through 100 entries: slots are reused and rows compacted many times
    // while no key has been given; the binding remembers each slot's latest key.
    let mut latest = std::collections::HashMap::new();
    for i in 0..3_000 {
        let mut removed = Vec::new();
        let slot = c.set_keyless(key(i).len(), i, 0, &mut removed).unwrap();
        assert_eq!(removed.len(), usize::from(i >= 100));
        latest.insert(slot, key(i));
        if i % 97 == 0 {
            c.check_invariants().unwrap();
        }
    }
    assert_eq!(c.len(), 100);
    // Without its text an entry is invisible to lookups, but counted, weighed and kept in order.
    assert_eq!(c.peek("user:2999:posts"), None);
    assert_eq!(c.stats().bytes, (2_900..3_000).map(|i| key(i).len()).sum::<usize>() as u64);
    c.check_invariants().unwrap();
    // Slots listed twice get the latest key; a slot that already has its key ignores another.
    for (&slot, k) in &latest {
        assert!(c.provide_key(slot, k).unwrap());
        assert!(!c.provide_key(slot, k).unwrap());
    }
    c.check_invariants().unwrap();
    assert_eq!(c.peek("user:2999:posts"), Some(&2999));
    assert_eq!(removed_keys(c.invalidate("user:2950").unwrap()), vec![key(2950)]);
    assert_eq!(removed_keys(c.invalidate_pattern("user:*:posts").unwrap()).len(), 99);
    assert!(c.is_empty());
    c.check_invariants().unwrap();
}

#[test]
fn a_key_that_breaks_set_keyless_promise_removes_its_entry() {
    let mut c = cache(10);
    let mut removed = Vec::new();
    let a = c.set_keyless(3, 1, 0, &mut removed).unwrap();
    let b = c.set_keyless(3, 2, 0, &mut removed).unwrap();
    let d = c.set_keyless(3, 3, 0, &mut removed).unwrap();
    assert_eq!(c.provide_key(a, "a:bc").unwrap_err().code(), "INVALID_KEY", "wrong length");
    assert!(matches!(c.provide_key(b, "a::").unwrap_err(), Error::InvalidKey { .. }));
    assert!(c.provide_key(d, "d:1").unwrap());
    assert_eq!(c.len(), 1);
    assert_eq!(c.keys().collect::<Vec<_>>(), ["d:1"]);
    c.check_invariants().unwrap();
    assert!(matches!(c.set_keyless(0, 4, 0, &mut removed), Err(Error::LimitExceeded { .. })));
    assert!(matches!(c.set_keyless(1025, 4, 0, &mut removed), Err(Error::LimitExceeded { .. })));
    assert_eq!(c.len(), 1);
    c.check_invariants().unwrap();
}

#[test]
fn an_entry_whose_key_never_came_survives_indexing_and_can_still_be_given_it() {
    let mut c = cache(10);
    let mut removed = Vec::new();
    let slot = c.set_keyless(3, 1, 0, &mut removed).unwrap();
    c.set_unindexed("b:1", 2, 0, &mut removed).unwrap();
    // Indexing takes "b:1" and keeps the keyless entry waiting (a broken promise, not a panic).
    assert_eq!(removed_keys(c.invalidate("b").unwrap()), vec!["b:1".to_owned()]);
    assert_eq!(c.len(), 1);
    c.check_invariants().unwrap();
    assert!(c.provide_key(slot, "a:1").unwrap());
    assert_eq!(c.get("a:1"), Some(&1));
    c.check_invariants().unwrap();
}
