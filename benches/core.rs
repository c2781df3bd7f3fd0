//! Criterion benchmarks of the core (native): cascades, startup, LRU operations and invalidation.
//!
//!   cargo bench --bench core                 # the full run
//!   cargo test --benches                     # each benchmark once (what `make test` runs)
//!   cargo bench --bench core -- lru          # a subset by name
use cascade_edge::{Change, Engine, EngineOptions, LruCache, LruOptions, SetOptions};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use std::hint::black_box;
use std::path::PathBuf;

const BLOG_SDL: &str = r#"
type User { id: ID! name: String posts: [Post!]! }
type Post { id: ID! title: String status: String author: User! comments: [Comment!]! }
type Comment { id: ID! body: String author: User! post: Post! }
type Query { user(id: ID!): User posts: [Post!]! }
"#;

/// A real-world schema of `tests/fixtures/schemas/` (`github.graphql`, `swapi.graphql`).
fn fixture(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/schemas").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The entity with the most rules: the heaviest single change.
fn busiest_entity(engine: &Engine) -> String {
    let mut counts = std::collections::BTreeMap::<&str, usize>::new();
    for r in engine.rules() {
        *counts.entry(r.entity.as_str()).or_default() += 1;
    }
    counts
        .into_iter()
        .max_by_key(|&(e, n)| (n, std::cmp::Reverse(e)))
        .map(|(e, _)| e.to_owned())
        .unwrap_or_default()
}

fn cascade(c: &mut Criterion) {
    let schemas = [
        ("blog", BLOG_SDL.to_owned()),
        ("swapi", fixture("swapi.graphql")),
        ("github", fixture("github.graphql")),
    ];
    let mut group = c.benchmark_group("cascade");
    for (name, sdl) in &schemas {
        let mut engine = Engine::from_schema(sdl, EngineOptions::default()).expect("schema");
        let entity = if *name == "blog" { "post".to_owned() } else { busiest_entity(&engine) };
        let changes: Vec<Change> = (1..=1000).map(|i| Change::new(entity.as_str(), i.to_string())).collect();
        group.throughput(Throughput::Elements(1));
        group.bench_function(format!("{name}/one change"), |b| {
            let mut i = 0;
            b.iter(|| {
                i = (i + 1) % changes.len();
                black_box(engine.cascade(&changes[i]).expect("cascade"))
            })
        });
        group.throughput(Throughput::Elements(1000));
        group.bench_function(format!("{name}/batch of 1000"), |b| {
            b.iter(|| black_box(engine.cascade_batch(&changes).expect("cascade")))
        });
    }
    group.finish();
}

fn startup(c: &mut Criterion) {
    let github = fixture("github.graphql");
    let mut group = c.benchmark_group("startup");
    group.sample_size(10);
    group.bench_function("fromSchema github", |b| {
        b.iter(|| black_box(Engine::from_schema(&github, EngineOptions::default()).expect("schema")))
    });
    let compiled = Engine::from_schema(&github, EngineOptions::default())
        .expect("schema")
        .to_value()
        .expect("json")
        .to_json();
    group.bench_function("fromJSON github", |b| {
        b.iter(|| black_box(Engine::from_json(&compiled, None).expect("rules")))
    });
    group.finish();
}

fn keys(n: usize, prefix: &str) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}:{i}")).collect()
}

fn filled(keys: &[String], max: usize) -> LruCache<u32> {
    let mut cache = LruCache::new(LruOptions { max_entries: max, ..LruOptions::default() }).expect("cache");
    for (i, k) in keys.iter().enumerate() {
        cache.set(k, i as u32, SetOptions::default()).expect("set");
    }
    cache
}

fn lru(c: &mut Criterion) {
    let n = 10_000;
    let present = keys(n, "k");
    let absent = keys(n, "m");
    let mut group = c.benchmark_group("lru 10k");
    group.throughput(Throughput::Elements(1));
    let mut cache = filled(&present, n);
    let mut i = 0;
    group.bench_function("get hit", |b| {
        b.iter(|| {
            i = (i + 7919) % n;
            black_box(cache.get(&present[i]).copied())
        })
    });
    group.bench_function("get miss", |b| {
        b.iter(|| {
            i = (i + 7919) % n;
            black_box(cache.get(&absent[i]).is_none())
        })
    });
    group.bench_function("touch (slot)", |b| {
        let slots: Vec<u32> = present.iter().filter_map(|k| cache.slot_of(k)).collect();
        b.iter(|| {
            i = (i + 7919) % n;
            black_box(cache.touch(slots[i]))
        })
    });
    let mut flip = 0;
    group.bench_function("set with eviction", |b| {
        b.iter(|| {
            i += 1;
            if i >= n {
                i = 0;
                flip ^= 1;
            }
            let k = if flip == 0 { &absent[i] } else { &present[i] };
            black_box(cache.set(k, 1, SetOptions::default()).expect("set").removed.len())
        })
    });
    group.bench_function("set (fresh cache of 10k)", |b| {
        b.iter_batched(
            || LruCache::<u32>::new(LruOptions { max_entries: n, ..LruOptions::default() }).expect("cache"),
            |mut c| {
                for k in &present {
                    c.set(k, 1, SetOptions::default()).expect("set");
                }
                c
            },
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

fn invalidation(c: &mut Criterion) {
    let total = 1_000_000;
    let groups = [10usize, 1_000, 100_000];
    let filler = keys(total - groups.iter().sum::<usize>(), "post");
    let mut cache = filled(&filler, total);
    let group_keys: Vec<Vec<String>> = groups.iter().map(|&g| keys(g, &format!("g{g}"))).collect();
    for ks in &group_keys {
        for k in ks {
            cache.set(k, 0, SetOptions::default()).expect("set");
        }
    }
    let mut group = c.benchmark_group("invalidate 1M");
    group.sample_size(10);
    for (g, ks) in groups.iter().zip(&group_keys) {
        group.throughput(Throughput::Elements(*g as u64));
        group.bench_function(format!("pattern removing {g}"), |b| {
            b.iter_custom(|iters| {
                let mut took = std::time::Duration::ZERO;
                for _ in 0..iters {
                    for k in ks {
                        cache.set(k, 0, SetOptions::default()).expect("set");
                    }
                    let t0 = std::time::Instant::now();
                    let removed = cache.invalidate_pattern(&format!("g{g}:*")).expect("pattern");
                    took += t0.elapsed();
                    assert_eq!(removed.len(), *g);
                }
                took
            })
        });
    }
    group.finish();
}

criterion_group!(benches, cascade, startup, lru, invalidation);
criterion_main!(benches);
