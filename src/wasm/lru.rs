//! The LRU behind the JS `LruCache`. Keys, recency, TTLs, the trie, tags and the fence live in
//! the core; values never enter wasm: the JS side keeps them in an array indexed by slot, with
//! its own key → slot map, so a hit crosses the boundary as a number (or not at all: hits are
//! batched into `touchBatch`), only `set` and invalidation carry strings, and what an operation
//! removed comes back as slot numbers.

use super::errors::{js_error, parse_json, IntoJsResult};
use crate::{Error, LruCache, LruOptions, ReadToken, Removed, SetOptions, SetOutcome, Value};
use js_sys::{Array, Function, Reflect};
use wasm_bindgen::prelude::*;

/// Deletes the property at a dotted path, through arrays, as `Value::remove_path` does.
fn remove_js_path(v: &JsValue, path: &str, depth: usize) -> bool {
    if depth > 64 || !v.is_object() {
        return false;
    }
    if Array::is_array(v) {
        let arr = Array::from(v);
        return arr.iter().fold(false, |acc, item| remove_js_path(&item, path, depth + 1) | acc);
    }
    let obj = js_sys::Object::from(v.clone());
    match path.split_once('.') {
        None => {
            let key = JsValue::from_str(path);
            Reflect::has(&obj, &key).unwrap_or(false) && Reflect::delete_property(&obj, &key).unwrap_or(false)
        }
        Some((head, rest)) => Reflect::get(&obj, &JsValue::from_str(head))
            .map(|child| remove_js_path(&child, rest, depth + 1))
            .unwrap_or(false),
    }
}

fn slots<V>(removed: &[Removed<V>]) -> Vec<u32> {
    removed.iter().map(|r| r.slot).collect()
}

/// The first `count` rows the JS side wrote (`provideSlots`: a number, then a text's length in
/// bytes) with their texts (`provideText`, back to back): the number, and the text, `None` where
/// it is past the buffer or not UTF-8.
fn rows<'a>(
    rows: &'a [u32],
    text: &'a [u8],
    count: usize,
) -> impl Iterator<Item = (u32, Option<&'a str>)> + 'a {
    let mut at = 0usize;
    rows.chunks_exact(2).take(count).map(move |pair| {
        let end = at.saturating_add(pair[1] as usize);
        let row = text.get(at..end).and_then(|b| std::str::from_utf8(b).ok());
        at = end;
        (pair[0], row)
    })
}

fn string_list(json: &str, what: &str) -> Result<Vec<String>, JsValue> {
    let v = parse_json(json)?;
    v.as_array()
        .and_then(|a| a.iter().map(|s| s.as_str().map(str::to_owned)).collect::<Option<Vec<_>>>())
        .ok_or_else(|| js_error(Error::options(format!("{what} must be an array of strings"))))
}

/// Keys `provideKeys` takes per call, and the bytes of their text (at least one longest key).
const PROVIDE_ROWS: usize = 1024;
const PROVIDE_TEXT: usize = 16 * crate::MAX_KEY_LEN;
/// Marks a queued `setExisting` in `touchBatch` (slots stay far below it: `MAX_ENTRIES_LIMIT` is
/// not reachable in 4 GiB of wasm memory, and the JS side checks).
const QUEUED_SET: u32 = 1 << 31;
/// Slots below this travel inside a set's result (see `WasmLru::pack`).
const PACK: u32 = 1 << 26;

fn optional(n: f64) -> Option<u64> {
    (n.is_finite() && n > 0.0).then_some(n as u64)
}

#[wasm_bindgen]
pub struct WasmLru {
    inner: LruCache<()>,
    /// Slots evicted by the last set, when its result does not carry them (see `pack`).
    removed: Vec<u32>,
    /// The buffer `setKeyless` lends to `LruCache::set_keyless`.
    evicted: Vec<Removed<()>>,
    /// Where the JS side lists (slot, key length) pairs for `provideKeys`, and the keys' UTF-8
    /// back to back; allocated on first use and never reallocated, so their addresses
    /// (`provideSlots`, `provideText`) stay valid.
    provide_rows: Vec<u32>,
    provide_text: Vec<u8>,
}

#[wasm_bindgen]
impl WasmLru {
    /// `max_bytes` and `ttl_ms` of 0 mean none; `clock` returns milliseconds (default `Date.now`).
    #[wasm_bindgen(constructor)]
    pub fn new(
        max_entries: f64,
        max_bytes: f64,
        ttl_ms: f64,
        delimiter: &str,
        clock: Option<Function>,
    ) -> Result<WasmLru, JsValue> {
        if !(max_entries.is_finite() && max_entries >= 1.0 && max_entries.fract() == 0.0) {
            return Err(js_error(Error::options("maxEntries must be a whole number of at least 1")));
        }
        let mut chars = delimiter.chars();
        let delimiter = match (chars.next(), chars.next()) {
            (Some(c), None) => c,
            _ => return Err(js_error(Error::options("`delimiter` must be a single character"))),
        };
        let options = LruOptions {
            max_entries: max_entries.min(crate::MAX_ENTRIES_LIMIT as f64) as usize,
            max_bytes: optional(max_bytes).map(|b| b as usize),
            default_ttl_ms: optional(ttl_ms),
            delimiter,
        };
        let clock: Box<dyn Fn() -> u64> = match clock {
            Some(f) => Box::new(move || {
                f.call0(&JsValue::NULL).ok().and_then(|v| v.as_f64()).map_or(0, |n| n.max(0.0) as u64)
            }),
            None => Box::new(|| js_sys::Date::now().max(0.0) as u64),
        };
        let mut inner = LruCache::with_clock(options, clock).into_js()?;
        // The JS side maps removed slots back to its own keys.
        inner.set_keyless_removals(true);
        Ok(WasmLru {
            inner,
            removed: Vec::new(),
            evicted: Vec::new(),
            provide_rows: Vec::new(),
            provide_text: Vec::new(),
        })
    }

    /// Uses `slot` (see `LruCache::touch`): `false` means its entry expired and is gone.
    pub fn touch(&mut self, slot: u32) -> bool {
        self.inner.touch(slot)
    }

    /// Replays the JS side's queued operations in order: a slot is a hit (`touch`); a slot with
    /// `QUEUED_SET` added is `setExisting(slot, 0)`, which the JS side queues only when that set
    /// can neither fail nor evict (no byte budget, no TTLs).
    #[wasm_bindgen(js_name = touchBatch)]
    pub fn touch_batch(&mut self, slots: &[u32]) {
        for &op in slots {
            if op & QUEUED_SET == 0 {
                self.inner.touch(op);
            } else {
                // Cannot fail for a live slot; a slot that is not live is a JS bug and changes nothing.
                let _ = self.inner.refresh_unweighed(op & !QUEUED_SET, ());
            }
        }
    }

    /// Counts misses the JS side found in its own key map.
    #[wasm_bindgen(js_name = recordMisses)]
    pub fn record_misses(&mut self, count: u32) {
        for _ in 0..count {
            self.inner.record_miss();
        }
    }

    /// Whether `slot` holds an unexpired entry (for `peek` and `has`).
    #[wasm_bindgen(js_name = isLive)]
    pub fn is_live(&self, slot: u32) -> bool {
        self.inner.is_live(slot)
    }

    /// Records a `set` of `key` (the JS side stores the value at the returned slot); `tags` is a
    /// JSON array of entity keys or empty; `token` < 0 means none. Returns the entry's slot and
    /// the evicted slots, encoded as `pack` says.
    /// Numbers only, so a `set` costs one string (the key).
    #[wasm_bindgen(js_name = setSlot)]
    pub fn set_slot(
        &mut self,
        key: &str,
        bytes: f64,
        ttl_ms: f64,
        tags: &str,
        token: f64,
    ) -> Result<f64, JsValue> {
        let tags = if tags.is_empty() { Vec::new() } else { string_list(tags, "tags")? };
        let options = SetOptions {
            ttl_ms: optional(ttl_ms),
            tags,
            token: (token.is_finite() && token >= 0.0).then(|| ReadToken::from_epoch(token as u64)),
            bytes: if bytes.is_finite() && bytes > 0.0 { bytes as usize } else { 0 },
        };
        let outcome = self.inner.set(key, (), options).into_js()?;
        Ok(self.set_result(outcome))
    }

    /// `setSlot` without options, for a key the JS side knows is not cached (its key → slot map
    /// misses) and has checked is a plain key (ASCII, as `validate_key`'s fast check accepts):
    /// only its length (`key_len` bytes) crosses. The JS side keeps the key's text until a call
    /// needs the index, then hands it over with `provideKeys` (see `LruCache::set_keyless`); a
    /// key evicted before that never enters wasm. Returns what `setSlot` returns, or -1 if the
    /// set was refused (nothing changed: call `setSlot` for the error).
    #[wasm_bindgen(js_name = setKeyless)]
    pub fn set_keyless(&mut self, key_len: u32, bytes: f64) -> f64 {
        let bytes = if bytes.is_finite() && bytes > 0.0 { bytes as usize } else { 0 };
        let mut removed = std::mem::take(&mut self.evicted);
        removed.clear();
        let result = match self.inner.set_keyless(key_len as usize, (), bytes, &mut removed) {
            Ok(slot) => self.pack(slot, &removed),
            Err(_) => -1.0,
        };
        self.evicted = removed;
        result
    }

    /// The address of `PROVIDE_ROWS` (slot, key length) pairs of u32 that `provideKeys` reads.
    #[wasm_bindgen(js_name = provideSlots)]
    pub fn provide_slots(&mut self) -> u32 {
        if self.provide_rows.is_empty() {
            self.provide_rows = vec![0; 2 * PROVIDE_ROWS];
        }
        self.provide_rows.as_ptr() as u32
    }

    /// The address of the `PROVIDE_TEXT` bytes where the keys of `provideSlots` go, back to back.
    #[wasm_bindgen(js_name = provideText)]
    pub fn provide_text(&mut self) -> u32 {
        if self.provide_text.is_empty() {
            self.provide_text = vec![0; PROVIDE_TEXT];
        }
        self.provide_text.as_ptr() as u32
    }

    /// Hands the core the keys of the first `count` pairs (see `LruCache::provide_key`; pairs
    /// for slots that wait for no key are skipped). Returns how many keys broke `setKeyless`'s
    /// promise (wrong length, not a valid key, past the buffers): their entries are removed, and
    /// anything but 0 is a bug on the JS side.
    #[wasm_bindgen(js_name = provideKeys)]
    pub fn provide_keys(&mut self, count: u32) -> u32 {
        let mut broken = 0;
        for (slot, key) in rows(&self.provide_rows, &self.provide_text, count as usize) {
            // A key that cannot be read still goes in, as "", so that the entry is removed.
            if self.inner.provide_key(slot, key.unwrap_or("")).is_err() {
                broken += 1;
            }
        }
        broken
    }

    /// Indexes the waiting keys now (see `LruCache::index_waiting`).
    #[wasm_bindgen(js_name = indexWaiting)]
    pub fn index_waiting(&mut self) {
        self.inner.index_waiting();
    }

    /// `setKeyless` for a key the JS side already holds in `slot` (no key crosses at all).
    #[wasm_bindgen(js_name = setExisting)]
    pub fn set_existing(&mut self, slot: u32, bytes: f64) -> f64 {
        let bytes = if bytes.is_finite() && bytes > 0.0 { bytes as usize } else { 0 };
        match self.inner.set_slot(slot, (), bytes) {
            Ok(outcome) => self.set_result(outcome),
            Err(_) => -1.0,
        }
    }

    fn set_result(&mut self, outcome: SetOutcome<()>) -> f64 {
        self.pack(outcome.slot, &outcome.removed)
    }

    /// Encodes a set's result in one number, so that the common set needs no second call: `slot`
    /// when nothing was evicted; `slot + 2^26 × (evicted + 1)` for one evicted slot; otherwise
    /// (several evicted, or slots of 2^26 and more) `-2 - slot`, with the evicted slots kept for
    /// `removedSlot(0..removedCount())`. -1 is left for a refused set.
    fn pack(&mut self, slot: u32, removed: &[Removed<()>]) -> f64 {
        self.removed.clear();
        match removed {
            [] if slot < PACK => f64::from(slot),
            [one] if slot < PACK && one.slot < PACK => {
                f64::from(slot) + f64::from(PACK) * (f64::from(one.slot) + 1.0)
            }
            _ => {
                self.removed.extend(removed.iter().map(|r| r.slot));
                -2.0 - f64::from(slot)
            }
        }
    }

    /// How many entries the last `setSlot` evicted.
    #[wasm_bindgen(js_name = removedCount)]
    pub fn removed_count(&self) -> u32 {
        self.removed.len() as u32
    }

    /// The slot of the `i`-th entry the last `setSlot` evicted.
    #[wasm_bindgen(js_name = removedSlot)]
    pub fn removed_slot(&self, i: u32) -> u32 {
        self.removed.get(i as usize).copied().unwrap_or(u32::MAX)
    }

    #[wasm_bindgen(js_name = deleteSlot)]
    pub fn delete_slot(&mut self, slot: u32) -> bool {
        self.inner.delete_slot(slot).is_some()
    }

    pub fn clear(&mut self) {
        self.inner.clear();
    }

    pub fn size(&self) -> f64 {
        self.inner.len() as f64
    }

    /// Slots of the live keys, most recent first.
    #[wasm_bindgen(js_name = liveSlots)]
    pub fn live_slots(&self) -> Vec<u32> {
        self.inner.live_slots().collect()
    }

    /// Removes `key` and what it covers; returns the removed slots.
    pub fn invalidate(&mut self, key: &str) -> Result<Vec<u32>, JsValue> {
        Ok(slots(&self.inner.invalidate(key).into_js()?))
    }

    /// Invalidates a cascade set's keys and patterns (JSON arrays) in one step.
    #[wasm_bindgen(js_name = invalidateSet)]
    pub fn invalidate_set(&mut self, keys: &str, patterns: &str) -> Result<Vec<u32>, JsValue> {
        let keys = string_list(keys, "keys")?;
        let patterns = string_list(patterns, "patterns")?;
        let k: Vec<&str> = keys.iter().map(String::as_str).collect();
        let p: Vec<&str> = patterns.iter().map(String::as_str).collect();
        Ok(slots(&self.inner.invalidate_set(&k, &p).into_js()?))
    }

    /// `invalidateSet` of keys and patterns the JS side wrote as rows (`provideSlots`: each
    /// pair's second number is a length) and text (`provideText`): the first `keys` rows are
    /// keys, the next `patterns` rows patterns. Saves writing and parsing JSON, and a `String` per
    /// key, on every cascade set a cache removes.
    #[wasm_bindgen(js_name = invalidateRows)]
    pub fn invalidate_rows(&mut self, keys: u32, patterns: u32) -> Result<Vec<u32>, JsValue> {
        let count = (keys as usize).saturating_add(patterns as usize);
        let mut texts = Vec::with_capacity(count.min(PROVIDE_ROWS));
        for (_, text) in rows(&self.provide_rows, &self.provide_text, count) {
            texts.push(
                text.ok_or_else(|| js_error(Error::options("a key or pattern of the set is not text")))?,
            );
        }
        let split = (texts.len() == count).then(|| texts.split_at_checked(keys as usize)).flatten();
        let Some((k, p)) = split else {
            return Err(js_error(Error::options("the set has more keys and patterns than were written")));
        };
        Ok(slots(&self.inner.invalidate_set(k, p).into_js()?))
    }

    #[wasm_bindgen(js_name = invalidatePattern)]
    pub fn invalidate_pattern(&mut self, pattern: &str) -> Result<Vec<u32>, JsValue> {
        Ok(slots(&self.inner.invalidate_pattern(pattern).into_js()?))
    }

    #[wasm_bindgen(js_name = invalidateLazy)]
    pub fn invalidate_lazy(&mut self, key: &str, delay_ms: f64) -> Result<(), JsValue> {
        if !(delay_ms.is_finite() && delay_ms >= 0.0) {
            return Err(js_error(Error::options("delayMs must be a number of milliseconds, 0 or more")));
        }
        self.inner.invalidate_lazy(key, delay_ms as u64).into_js()
    }

    #[wasm_bindgen(js_name = flushDue)]
    pub fn flush_due(&mut self, now: f64) -> Vec<u32> {
        slots(&self.inner.flush_due(if now.is_finite() { now.max(0.0) as u64 } else { u64::MAX }))
    }

    /// Removes the field at `path` from the JS values (`values`, indexed by slot) of the keys
    /// `key_or_pattern` names; returns the changed keys (JSON text). Byte weights of JS values are
    /// the caller's estimate, so they stay as they were.
    #[wasm_bindgen(js_name = invalidateField)]
    pub fn invalidate_field(
        &mut self,
        key_or_pattern: &str,
        path: &str,
        values: &Array,
    ) -> Result<String, JsValue> {
        let changed = self
            .inner
            .invalidate_field_with(key_or_pattern, path, |slot, _| {
                remove_js_path(&values.get(slot), path, 0).then_some(0)
            })
            .into_js()?;
        Ok(Value::Array(changed.into_iter().map(Value::from).collect()).to_json())
    }

    #[wasm_bindgen(js_name = beginRead)]
    pub fn begin_read(&self, key: &str) -> f64 {
        self.inner.begin_read(key).epoch() as f64
    }

    /// Counters (JSON text).
    pub fn stats(&self) -> String {
        let s = self.inner.stats();
        Value::record(vec![
            ("hits", Value::Number(s.hits as f64)),
            ("misses", Value::Number(s.misses as f64)),
            ("sets", Value::Number(s.sets as f64)),
            ("evictions", Value::Number(s.evictions as f64)),
            ("expirations", Value::Number(s.expirations as f64)),
            ("invalidations", Value::Number(s.invalidations as f64)),
            ("entries", Value::Number(s.entries as f64)),
            ("bytes", Value::Number(s.bytes as f64)),
        ])
        .to_json()
    }

    /// How many cached keys a pattern reaches (for the rule graph).
    #[wasm_bindgen(js_name = countMatching)]
    pub fn count_matching(&self, pattern: &str) -> f64 {
        let d = self.inner.options().delimiter;
        match crate::Pattern::parse(pattern, d) {
            Ok(p) => self.inner.keys().filter(|k| p.covers(k, d)).count() as f64,
            Err(_) => 0.0,
        }
    }
}
