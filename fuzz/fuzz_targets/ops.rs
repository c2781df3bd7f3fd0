//! LRU and engine operation sequences held against an obviously-correct model: a `Vec` of
//! entries in recency order, a clock, and a log of invalidations for the stale-write fence.
//! `Cascade` computes a blog-schema cascade set, checks its trace, invalidates it in the cache and
//! asserts that nothing at or below a purged key or pattern remains.
#![no_main]

use cascade_edge::{
    covers, CascadeSet, Change, Engine, EngineOptions, Error, LruCache, LruOptions, Pattern, ReadToken,
    RemovalReason, SetOptions, Value,
};
use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;
use std::cell::{Cell, RefCell};
use std::collections::HashSet;
use std::rc::Rc;

const KEYS: &[&str] = &[
    "user:1",
    "user:10",
    "user:1:posts",
    "user:2:posts",
    "post:9",
    "post:9:comments",
    "post:author:1",
    "comment:5",
    "comment:post:9",
    "feed:follower:1",
    "user:1:posts:page:2",
    "post:10",
];
const TARGETS: &[&str] = &["user", "user:1", "user:2", "post:9", "post", "comment:post", "feed", "x:1"];
const PATTERNS: &[&str] = &["user:*", "*:1", "user:*:posts", "post:author:*", "*", "*:9:*", "comment:*:9"];
const IDS: &[&str] = &["1", "2", "9", "10", "5", "a:b", ""];

const BLOG: &str = "
type User { id: ID! name: String posts: [Post!]! }
type Post { id: ID! title: String author: User! comments: [Comment!]! }
type Comment { id: ID! body: String author: User! post: Post! }
type Query { user(id: ID!): User }
";

thread_local! {
    static ENGINE: RefCell<Engine> =
        RefCell::new(Engine::from_schema(BLOG, EngineOptions::default()).expect("blog schema"));
}

#[derive(Arbitrary, Debug)]
enum Op {
    Set { key: u8, value: i32, tags: Vec<u8>, ttl: u8, bytes: u8 },
    Get(u8),
    Peek(u8),
    Delete(u8),
    Invalidate(u8),
    InvalidatePattern(u8),
    InvalidateBatch(Vec<u8>),
    Clear,
    Tick(u8),
    BeginRead,
    FencedSet { key: u8, value: i32, tags: Vec<u8>, token: u8 },
    Cascade { entity: u8, id: u8, fk: Option<u8> },
}

#[derive(Arbitrary, Debug)]
struct Input {
    max_entries: u8,
    max_bytes: Option<u16>,
    ops: Vec<Op>,
}

struct Entry {
    key: String,
    value: i32,
    tags: Vec<String>,
    expires_at: u64,
    bytes: usize,
}

enum Event {
    Cleared,
    Keys(Vec<String>),
    Patterns(Vec<Pattern>),
}

#[derive(Default)]
struct Model {
    max_entries: usize,
    max_bytes: Option<usize>,
    /// Most recent first.
    entries: Vec<Entry>,
    /// Every invalidation, in order; a token remembers how many there were when it was taken.
    events: Vec<Event>,
}

impl Model {
    fn pos(&self, key: &str) -> Option<usize> {
        self.entries.iter().position(|e| e.key == key)
    }

    fn bytes(&self) -> usize {
        self.entries.iter().map(|e| e.bytes).sum()
    }

    /// Removes what `hit` selects by key or tag; records the event; returns the sorted keys.
    fn invalidate(&mut self, hit: impl Fn(&str) -> bool, event: Event) -> Vec<String> {
        let (gone, kept): (Vec<Entry>, Vec<Entry>) = std::mem::take(&mut self.entries)
            .into_iter()
            .partition(|e| hit(&e.key) || e.tags.iter().any(|t| hit(t)));
        self.entries = kept;
        self.events.push(event);
        let removed: Vec<String> = gone.into_iter().map(|e| e.key).collect();
        // A write-back of any removed key is stale too.
        self.events.push(Event::Keys(removed.clone()));
        sorted(removed)
    }

    fn stale(&self, since: usize, key: &str, tags: &[String]) -> bool {
        let hit =
            |t: &str| std::iter::once(key).chain(tags.iter().map(String::as_str)).any(|k| covers(t, k, ':'));
        self.events[since..].iter().any(|e| match e {
            Event::Cleared => true,
            Event::Keys(ks) => ks.iter().any(|k| hit(k)),
            Event::Patterns(ps) => ps.iter().any(|p| {
                std::iter::once(key).chain(tags.iter().map(String::as_str)).any(|k| p.covers(k, ':'))
            }),
        })
    }

    /// The model of `set`: returns the evicted keys (sorted), or `None` when refused.
    fn set(
        &mut self,
        key: &str,
        value: i32,
        tags: Vec<String>,
        expires_at: u64,
        extra: usize,
    ) -> Option<Vec<String>> {
        let bytes = key.len() + extra;
        if self.max_bytes.is_some_and(|m| bytes > m) {
            return None;
        }
        let existing = self.pos(key).map(|i| self.entries.remove(i));
        let incoming = usize::from(existing.is_none());
        let mut evicted = Vec::new();
        while !self.entries.is_empty() {
            let over_entries =
                self.entries.len() + usize::from(existing.is_some()) + incoming > self.max_entries;
            let over_bytes = self.max_bytes.is_some_and(|m| self.bytes() + bytes > m);
            if !over_entries && !over_bytes {
                break;
            }
            evicted.push(self.entries.pop().map(|e| e.key).unwrap_or_default());
        }
        self.entries.insert(0, Entry { key: key.to_owned(), value, tags, expires_at, bytes });
        Some(sorted(evicted))
    }
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

fn pick<'a>(list: &[&'a str], i: u8) -> &'a str {
    list[usize::from(i) % list.len()]
}

fn tags_of(tags: &[u8]) -> Vec<String> {
    tags.iter().take(4).map(|&t| pick(TARGETS, t).to_owned()).collect()
}

fn removed_keys(removed: &[cascade_edge::Removed<i32>], reasons: &[RemovalReason]) -> Vec<String> {
    sorted(removed.iter().filter(|r| reasons.contains(&r.reason)).map(|r| r.key.clone()).collect())
}

/// The trace justifies every key: own key first, no duplicates, each produced key comes from a
/// key listed before it through a rule the engine has.
fn check_set(engine: &Engine, own: &str, set: &CascadeSet) {
    assert_eq!(set.trace.first().map(|t| (t.key.as_str(), t.depth, t.rule.is_none())), Some((own, 0, true)));
    let mut seen = HashSet::new();
    for t in &set.trace {
        if let (Some(rule), Some(from)) = (&t.rule, &t.from) {
            assert!(engine.rules().iter().any(|r| &r.id == rule), "rule {rule} exists");
            assert!(seen.contains(from.as_str()), "{from} listed before {}", t.key);
        }
        assert!(seen.insert(t.key.as_str()), "duplicate {}", t.key);
    }
    let listed: HashSet<&str> = set.keys.iter().chain(&set.patterns).map(String::as_str).collect();
    assert_eq!(listed, seen);
    assert_eq!(set.keys.len() + set.patterns.len(), set.trace.len());
    assert!(set.keys.iter().all(|k| !k.split(':').any(|s| s == "*")));
    assert!(set.patterns.iter().all(|k| k.split(':').any(|s| s == "*")));
}

fuzz_target!(|input: Input| {
    let now = Rc::new(Cell::new(0u64));
    let clock = now.clone();
    let options = LruOptions {
        max_entries: usize::from(input.max_entries % 8) + 1,
        max_bytes: input.max_bytes.map(|b| usize::from(b % 200) + 1),
        ..LruOptions::default()
    };
    let mut model =
        Model { max_entries: options.max_entries, max_bytes: options.max_bytes, ..Model::default() };
    let mut cache: LruCache<i32> =
        LruCache::with_clock(options, Box::new(move || clock.get())).expect("valid options");
    let mut tokens: Vec<(ReadToken, usize)> = Vec::new();
    for op in input.ops.into_iter().take(100) {
        let t = now.get();
        let expired = |e: &Entry| t >= e.expires_at;
        match op {
            Op::Set { key, value, tags, ttl, bytes } => {
                let key = pick(KEYS, key);
                let tags = tags_of(&tags);
                let ttl = (ttl > 0).then_some(u64::from(ttl));
                let expires_at = ttl.map_or(u64::MAX, |d| t + d);
                let expected = model.set(key, value, tags.clone(), expires_at, usize::from(bytes));
                let got = cache.set(
                    key,
                    value,
                    SetOptions { ttl_ms: ttl, tags, bytes: usize::from(bytes), token: None },
                );
                match (got, expected) {
                    (Ok(out), Some(evicted)) => {
                        assert_eq!(
                            removed_keys(&out.removed, &[RemovalReason::Evicted, RemovalReason::Expired]),
                            evicted
                        )
                    }
                    (Err(Error::LimitExceeded { .. }), None) => {}
                    (got, expected) => panic!("set {key}: {got:?} vs model {expected:?}"),
                }
            }
            Op::Get(k) => {
                let key = pick(KEYS, k);
                let expected = match model.pos(key) {
                    Some(i) if expired(&model.entries[i]) => {
                        model.entries.remove(i);
                        None
                    }
                    Some(i) => {
                        let e = model.entries.remove(i);
                        let v = e.value;
                        model.entries.insert(0, e);
                        Some(v)
                    }
                    None => None,
                };
                assert_eq!(cache.get(key).copied(), expected, "get {key}");
            }
            Op::Peek(k) => {
                let key = pick(KEYS, k);
                let expected =
                    model.pos(key).map(|i| &model.entries[i]).filter(|e| !expired(e)).map(|e| e.value);
                assert_eq!(cache.peek(key).copied(), expected);
                assert_eq!(cache.has(key), expected.is_some());
            }
            Op::Delete(k) => {
                let key = pick(KEYS, k);
                let expected = model.pos(key).map(|i| model.entries.remove(i).value);
                assert_eq!(cache.delete(key).map(|r| r.value), expected);
            }
            Op::Invalidate(k) => {
                let target = pick(TARGETS, k);
                let expected =
                    model.invalidate(|x| covers(target, x, ':'), Event::Keys(vec![target.to_owned()]));
                let removed = cache.invalidate(target).expect("valid key");
                assert_eq!(removed_keys(&removed, &[RemovalReason::Invalidated]), expected);
                assert!(cache.keys().all(|k| !covers(target, &k, ':')));
            }
            Op::InvalidatePattern(p) => {
                let text = pick(PATTERNS, p);
                let pattern = Pattern::parse(text, ':').expect("valid pattern");
                let expected =
                    model.invalidate(|x| pattern.covers(x, ':'), Event::Patterns(vec![pattern.clone()]));
                let removed = cache.invalidate_pattern(text).expect("valid pattern");
                assert_eq!(removed_keys(&removed, &[RemovalReason::Invalidated]), expected);
            }
            Op::InvalidateBatch(ks) => {
                let targets: Vec<&str> = ks.iter().take(6).map(|&k| pick(TARGETS, k)).collect();
                let event = Event::Keys(targets.iter().map(|s| s.to_string()).collect());
                let expected = model.invalidate(|x| targets.iter().any(|t| covers(t, x, ':')), event);
                let removed = cache.invalidate_batch(&targets).expect("valid keys");
                assert_eq!(removed_keys(&removed, &[RemovalReason::Invalidated]), expected);
            }
            Op::Clear => {
                let expected = sorted(model.entries.drain(..).map(|e| e.key).collect());
                model.events.push(Event::Cleared);
                assert_eq!(removed_keys(&cache.clear(), &[RemovalReason::Cleared]), expected);
            }
            Op::Tick(n) => now.set(t + u64::from(n)),
            Op::BeginRead => tokens.push((cache.begin_read("any"), model.events.len())),
            Op::FencedSet { key, value, tags, token } => {
                let Some(&(token, since)) = tokens.get(usize::from(token) % tokens.len().max(1)) else {
                    continue;
                };
                let key = pick(KEYS, key);
                let tags = tags_of(&tags);
                let stale = model.stale(since, key, &tags);
                let got = cache.set(
                    key,
                    value,
                    SetOptions { tags: tags.clone(), token: Some(token), ..SetOptions::default() },
                );
                if model.max_bytes.is_some_and(|m| key.len() > m) {
                    assert!(matches!(got, Err(Error::LimitExceeded { .. })), "{got:?}");
                } else if stale {
                    assert!(
                        matches!(got, Err(Error::StaleWrite { .. })),
                        "stale write to {key} accepted: {got:?}"
                    );
                } else {
                    let evicted = model.set(key, value, tags, u64::MAX, 0);
                    let out = got.expect("a fresh write is accepted");
                    assert_eq!(
                        Some(removed_keys(&out.removed, &[RemovalReason::Evicted, RemovalReason::Expired])),
                        evicted
                    );
                }
            }
            Op::Cascade { entity, id, fk } => {
                let ks = pick(&["user", "post", "comment", "User", "Post"], entity);
                let id = pick(IDS, id);
                let mut change = Change::new(ks, id);
                if let Some(f) = fk {
                    let v = pick(IDS, f);
                    change = change.with_data(Value::object([
                        ("author_id", Value::from(v)),
                        ("postId", Value::from(v)),
                    ]));
                }
                let set = ENGINE.with(|e| {
                    let mut engine = e.borrow_mut();
                    let set = engine.cascade(&change).expect("known entity");
                    let own = format!(
                        "{}:{}",
                        engine.entity(ks).map_or("", |e| e.keyspace.as_str()),
                        cascade_edge::encode_segment(id, ':')
                    );
                    check_set(&engine, &own, &set);
                    let again = engine.cascade(&change).expect("known entity");
                    assert_eq!(again, set, "deterministic");
                    set
                });
                let keys: Vec<&str> = set.keys.iter().map(String::as_str).collect();
                let patterns: Vec<&str> = set.patterns.iter().map(String::as_str).collect();
                let parsed: Vec<Pattern> =
                    patterns.iter().map(|p| Pattern::parse(p, ':').expect("valid pattern")).collect();
                let hit = |x: &str| {
                    keys.iter().any(|k| covers(k, x, ':')) || parsed.iter().any(|p| p.covers(x, ':'))
                };
                let expected = model.invalidate(hit, Event::Keys(set.keys.clone()));
                model.events.push(Event::Patterns(parsed.clone()));
                let removed = cache.invalidate_set(&keys, &patterns).expect("a cascade set is valid");
                assert_eq!(removed_keys(&removed, &[RemovalReason::Invalidated]), expected);
                assert!(cache.keys().all(|k| !hit(&k)), "nothing at or below a purged key remains");
            }
        }
        if let Err(e) = cache.check_invariants() {
            panic!("invariant broken: {e}");
        }
        let t = now.get();
        let live: Vec<&str> =
            model.entries.iter().filter(|e| t < e.expires_at).map(|e| e.key.as_str()).collect();
        assert_eq!(cache.keys().collect::<Vec<_>>(), live);
        assert_eq!(cache.len(), model.entries.len());
        assert_eq!(cache.bytes(), model.bytes());
    }
});
