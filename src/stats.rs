//! Engine counters and timings (SPEC §7).

use crate::schema::Entity;
use crate::sort::heap_sort_by;
use crate::text::{is_alphanumeric, span};
use crate::value::Value;
use hashbrown::HashMap;

/// A snapshot of an engine's counters.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EngineStats {
    /// Entity changes cascaded.
    pub invalidations: u64,
    /// Calls of `cascade` / `cascade_batch`.
    pub cascades: u64,
    /// Keys and patterns produced, in all.
    pub keys: u64,
    /// Mean depth reached per cascade.
    pub average_depth: f64,
    /// Mean time per cascade in milliseconds (0 without a clock).
    pub average_time_ms: f64,
    /// The most frequent edges (`user -> post`) with their counts, most frequent first (at most 10).
    pub top_edges: Vec<(String, u64)>,
    /// Keys purged per backend, as reported by the purge helpers.
    pub keys_per_backend: Vec<(String, u64)>,
}

impl EngineStats {
    /// The snapshot as JSON, in the shape the JS API returns.
    pub fn to_value(&self) -> Value {
        let pairs = |v: &[(String, u64)], name: &str| {
            Value::Array(
                v.iter()
                    .map(|(k, n)| {
                        Value::record(vec![
                            (name, Value::from(k.as_str())),
                            ("count", Value::Number(*n as f64)),
                        ])
                    })
                    .collect(),
            )
        };
        Value::record(vec![
            ("invalidations", Value::Number(self.invalidations as f64)),
            ("cascades", Value::Number(self.cascades as f64)),
            ("keys", Value::Number(self.keys as f64)),
            ("averageDepth", Value::Number(self.average_depth)),
            ("averageTimeMs", Value::Number(self.average_time_ms)),
            ("topEdges", pairs(&self.top_edges, "edge")),
            ("keysPerBackend", pairs(&self.keys_per_backend, "backend")),
        ])
    }
}

#[derive(Debug, Default)]
pub(crate) struct StatsAccumulator {
    invalidations: u64,
    cascades: u64,
    keys: u64,
    depth_sum: u64,
    time_sum: f64,
    /// Per source entity (by index): target label → its slot in `edge_counts`.
    edges: Vec<HashMap<String, u32>>,
    /// How often each edge was taken, by slot: counting is an index, labels are kept once.
    edge_counts: Vec<u64>,
    /// The keyspace of each entity, for labelling `edges`.
    keyspaces: Vec<String>,
    backends: HashMap<String, u64>,
}

/// The target of an edge as the stats label it: the key up to its first character that is not a
/// letter, digit, `_` or `*` (the delimiter is never one of those, so at most the first segment).
pub(crate) fn edge_label(key: &str) -> &str {
    let bytes = key.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if !b.is_ascii() {
            // Unicode letters and digits count too.
            let rest = span(key, i..);
            let end = rest.find(|c: char| !is_alphanumeric(c) && c != '_' && c != '*').unwrap_or(rest.len());
            return span(key, ..i + end);
        }
        if !(b.is_ascii_alphanumeric() || b == b'_' || b == b'*') {
            return span(key, ..i);
        }
    }
    key
}

impl StatsAccumulator {
    pub(crate) fn record(&mut self, changes: usize, depth: u32, elapsed_ms: f64, keys: usize) {
        self.invalidations += changes as u64;
        self.cascades += 1;
        self.keys += keys as u64;
        self.depth_sum += u64::from(depth);
        self.time_sum += elapsed_ms;
    }

    /// As [`StatsAccumulator::record`] `cascades` times, for one change each without a clock.
    pub(crate) fn record_many(&mut self, cascades: u64, depth: u32, keys: u64) {
        self.invalidations = self.invalidations.saturating_add(cascades);
        self.cascades = self.cascades.saturating_add(cascades);
        self.keys = self.keys.saturating_add(keys.saturating_mul(cascades));
        self.depth_sum = self.depth_sum.saturating_add(u64::from(depth).saturating_mul(cascades));
    }

    /// The slot of the edge from entity `from` to keys labelled `label` (see [`edge_label`]),
    /// made on first use; `None` for an entity index outside `entities`.
    pub(crate) fn edge_slot(&mut self, from: usize, label: &str, entities: &[Entity]) -> Option<u32> {
        if self.keyspaces.len() != entities.len() {
            self.keyspaces = entities.iter().map(|e| e.keyspace.clone()).collect();
            self.edges.resize_with(entities.len(), HashMap::new);
        }
        let slots = self.edges.get_mut(from)?;
        let next = self.edge_counts.len() as u32;
        let slot = *slots.entry_ref(label).or_insert(next);
        if slot == next {
            self.edge_counts.push(0);
        }
        Some(slot)
    }

    /// Counts one key produced along the edge in `slot` (from [`StatsAccumulator::edge_slot`]).
    pub(crate) fn count_edge(&mut self, slot: u32) {
        if let Some(n) = self.edge_counts.get_mut(slot as usize) {
            *n += 1;
        }
    }

    /// Counts `n` keys produced along the edge in `slot`.
    pub(crate) fn count_edge_by(&mut self, slot: u32, n: u64) {
        if let Some(count) = self.edge_counts.get_mut(slot as usize) {
            *count = count.saturating_add(n);
        }
    }

    /// Adds time measured by the embedder around cascades whose engine has no clock.
    pub(crate) fn add_time(&mut self, elapsed_ms: f64) {
        if elapsed_ms.is_finite() && elapsed_ms > 0.0 {
            self.time_sum += elapsed_ms;
        }
    }

    pub(crate) fn record_purge(&mut self, backend: &str, keys: u64) {
        *self.backends.entry(backend.to_owned()).or_insert(0) += keys;
    }

    pub(crate) fn snapshot(&self) -> EngineStats {
        let sorted = |m: &HashMap<String, u64>, limit: usize| {
            let mut v: Vec<(String, u64)> = m.iter().map(|(k, n)| (k.clone(), *n)).collect();
            // Keys are unique: the order is total.
            heap_sort_by(&mut v, |a, b| (b.1, &a.0) < (a.1, &b.0));
            v.truncate(limit);
            v
        };
        let mut edges = HashMap::new();
        for (from, counts) in self.edges.iter().enumerate() {
            let Some(ks) = self.keyspaces.get(from) else { continue };
            for (to, &slot) in counts {
                let n = self.edge_counts[slot as usize];
                if n > 0 {
                    *edges.entry(format!("{ks} -> {to}")).or_insert(0) += n;
                }
            }
        }
        let n = self.cascades.max(1) as f64;
        EngineStats {
            invalidations: self.invalidations,
            cascades: self.cascades,
            keys: self.keys,
            average_depth: if self.cascades == 0 { 0.0 } else { self.depth_sum as f64 / n },
            average_time_ms: if self.cascades == 0 { 0.0 } else { self.time_sum / n },
            top_edges: sorted(&edges, 10),
            keys_per_backend: sorted(&self.backends, usize::MAX),
        }
    }
}
