//! The LRU cache (SPEC §5): string keys, recency, TTL, byte budget, and invalidation that
//! understands key hierarchy, wildcards and tags.
//!
//! Layout: entries live in slots of a `Vec` linked by `u32` recency links, with a free list; a
//! segment trie ([`trie`]) is the one index of keys and tags: a key's last node holds its slot, so
//! exact, hierarchical and wildcard lookups share it and a key's text is stored once, as the
//! segments of its path (an entry does not keep a copy; [`Removed::key`] rebuilds it). A hit
//! moves two links and allocates nothing. Slots are stable handles for as long as an entry lives,
//! so a binding can keep values on its side and call the numbers-only [`LruCache::touch`],
//! [`LruCache::value`] and [`LruCache::delete_slot`]. Every operation that removes entries reports
//! them as [`Removed`] (slot, key, value, reason) so such a binding can drop its handles; the only
//! exception is [`LruCache::get`], whose lazy expiry drops the value silently (bindings that mirror
//! slots use `slot_of` + `touch` instead, which say so by returning `false`).

mod fence;
mod invalidate;
mod invariants;
mod trie;
mod unindexed;

pub use fence::{ReadToken, FENCE_CAPACITY};

use crate::error::{Error, Result};
use crate::keys::{segments, validate_key, Pattern, DEFAULT_DELIMITER, MAX_KEY_LEN};
use crate::sort::heap_sort_by;
use crate::text::{is_alphanumeric, span};
use crate::value::Value;
use fence::{Fence, Target};
use hashbrown::{HashMap, HashSet};
use trie::{Trie, MAX_NODES, NIL};
use unindexed::{unindexed_row, Unindexed, NO_TEXT};

/// Most tags one entry may carry.
pub const MAX_TAGS_PER_ENTRY: usize = 256;
/// Most keys waiting in [`LruCache::invalidate_lazy`] at once.
pub const MAX_PENDING_INVALIDATIONS: usize = 65_536;
/// Largest accepted `max_entries`; slot numbers must stay below the `u32` null link.
pub const MAX_ENTRIES_LIMIT: usize = (u32::MAX - 1) as usize;

/// Options of an [`LruCache`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LruOptions {
    /// Most entries held; at least 1, capped at [`MAX_ENTRIES_LIMIT`].
    pub max_entries: usize,
    /// Most bytes held, counting each entry as its key length plus the `bytes` given to `set`.
    pub max_bytes: Option<usize>,
    /// Time to live of entries set without their own `ttl_ms`; `None` means no expiry.
    pub default_ttl_ms: Option<u64>,
    /// The key segment delimiter (`:` by default).
    pub delimiter: char,
}

impl Default for LruOptions {
    fn default() -> LruOptions {
        LruOptions { max_entries: 1000, max_bytes: None, default_ttl_ms: None, delimiter: DEFAULT_DELIMITER }
    }
}

/// Per-entry options of [`LruCache::set`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SetOptions {
    /// Time to live in ms, overriding the cache default; must be at least 1.
    pub ttl_ms: Option<u64>,
    /// Entity keys the value contains; invalidating one of them (or an ancestor) removes the entry.
    pub tags: Vec<String>,
    /// A token from [`LruCache::begin_read`]: the write is refused if the key or a tag was
    /// invalidated since.
    pub token: Option<ReadToken>,
    /// The caller's measure of the value's size; the entry weighs this plus the key length.
    pub bytes: usize,
}

/// Why an entry left the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RemovalReason {
    /// Pushed out by `max_entries` or `max_bytes`.
    Evicted,
    /// Its time to live had passed.
    Expired,
    /// Removed by `delete`.
    Deleted,
    /// Removed by an invalidation (key, pattern, tag, batch or lazy flush).
    Invalidated,
    /// Removed by `clear`.
    Cleared,
}

impl RemovalReason {
    /// A stable lower-case name (`"evicted"`, `"expired"`, …) for bindings and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            RemovalReason::Evicted => "evicted",
            RemovalReason::Expired => "expired",
            RemovalReason::Deleted => "deleted",
            RemovalReason::Invalidated => "invalidated",
            RemovalReason::Cleared => "cleared",
        }
    }
}

/// An entry that left the cache, with the slot it occupied.
#[derive(Debug, Clone, PartialEq)]
pub struct Removed<V> {
    /// The slot the entry occupied, free again.
    pub slot: u32,
    /// The entry's key.
    pub key: String,
    /// The entry's value.
    pub value: V,
    /// Why it was removed.
    pub reason: RemovalReason,
}

/// What [`LruCache::set`] did.
#[derive(Debug, Clone, PartialEq)]
pub struct SetOutcome<V> {
    /// The slot now holding the entry.
    pub slot: u32,
    /// Entries evicted (or found expired) to make room.
    pub removed: Vec<Removed<V>>,
    /// The old value, if the key was present: its slot now holds the new one.
    pub replaced: Option<V>,
}

/// Counters of an [`LruCache`], plus its current size.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LruStats {
    /// `get` (or `touch`) calls that found a live entry.
    pub hits: u64,
    /// `get` calls that found nothing or an expired entry, plus `record_miss` calls.
    pub misses: u64,
    /// Successful `set` calls.
    pub sets: u64,
    /// Entries removed by the entry or byte budget.
    pub evictions: u64,
    /// Entries removed because their time to live had passed.
    pub expirations: u64,
    /// Entries removed by invalidation, plus entries edited by `invalidate_field`.
    pub invalidations: u64,
    /// Entries held now (expired ones not yet noticed included).
    pub entries: u64,
    /// Bytes held now.
    pub bytes: u64,
}

/// A cached value that can lose one field, for [`LruCache::invalidate_field`].
pub trait FieldRemovable {
    /// Removes the field at a dotted path; returns by how many bytes the value shrank, or `None`
    /// if the path was not there.
    fn remove_field(&mut self, path: &str) -> Option<usize>;
}

impl FieldRemovable for Value {
    fn remove_field(&mut self, path: &str) -> Option<usize> {
        let before = self.approx_size();
        self.remove_path(path).then(|| before.saturating_sub(self.approx_size()))
    }
}

/// An entry: what every entry has. Its expiry and tags, which most entries lack, are kept apart
/// (`LruCache::expiry`, `LruCache::tag_lists`), so an entry is 8 bytes plus its value on wasm32.
struct Entry<V> {
    value: V,
    bytes: usize,
    /// The trie node of the entry's key (the key is that node's path), or `UNINDEXED` plus the
    /// entry's row in `Unindexed::rows` while the trie does not hold the key yet.
    node: u32,
}

/// The recency links of a slot, kept apart from its entry so that a hit only touches this
/// 8-byte array (three links), not three whole entries.
#[derive(Clone, Copy)]
struct Link {
    prev: u32,
    /// `FREE` when the slot holds no entry.
    next: u32,
}

/// `Link::next` of a free slot; never a slot number (those stay below `MAX_ENTRIES_LIMIT`).
const FREE: u32 = NIL - 1;

/// The flag of an [`Entry::node`] that is a row of [`Unindexed`], not a trie node (trie node ids
/// stay below it: `MAX_NODES`).
const UNINDEXED: u32 = 1 << 31;

/// A bounded LRU cache of string keys, with TTL, hierarchical, wildcard and tag invalidation, and a
/// stale-write fence.
pub struct LruCache<V> {
    options: LruOptions,
    clock: Box<dyn Fn() -> u64>,
    slots: Vec<Option<Entry<V>>>,
    /// Recency links, indexed like `slots`.
    links: Vec<Link>,
    free: Vec<u32>,
    /// Live entries with an expiry time: while 0, a hit need not read the entry or the clock.
    expiring: usize,
    /// Per slot, when its entry expires in milliseconds on the cache clock (`u64::MAX`: never);
    /// empty until an entry has an expiry, and a slot past its end never expires.
    expiry: Vec<u64>,
    /// Per tagged slot, (tag node, index of the slot in that node's `tagged` list); tag nodes are
    /// distinct.
    tag_lists: HashMap<u32, Box<[(u32, u32)]>>,
    /// See [`LruCache::set_keyless_removals`].
    keyless_removals: bool,
    /// Most recently used entry, or `NIL`.
    head: u32,
    /// Least recently used entry, or `NIL`.
    tail: u32,
    len: usize,
    bytes: usize,
    trie: Trie,
    fence: Fence,
    /// Entries whose keys wait to be indexed (see [`LruCache::set_unindexed`]).
    unindexed: Unindexed,
    /// Lazily invalidated keys and when they fall due.
    pending: HashMap<String, u64>,
    stats: LruStats,
}

fn system_clock() -> Box<dyn Fn() -> u64> {
    Box::new(crate::platform::now_ms)
}

impl<V> LruCache<V> {
    /// A cache on the system clock (on wasm32 a clock stuck at 0: inject one with `with_clock`).
    pub fn new(options: LruOptions) -> Result<LruCache<V>> {
        LruCache::with_clock(options, system_clock())
    }

    /// A cache whose time, in milliseconds, comes from `clock`.
    pub fn with_clock(mut options: LruOptions, clock: Box<dyn Fn() -> u64>) -> Result<LruCache<V>> {
        if options.max_entries == 0 {
            return Err(Error::options("max_entries must be at least 1"));
        }
        options.max_entries = options.max_entries.min(MAX_ENTRIES_LIMIT);
        if options.max_bytes == Some(0) {
            return Err(Error::options("max_bytes must be at least 1 (omit it for no byte budget)"));
        }
        if options.default_ttl_ms == Some(0) {
            return Err(Error::options("default_ttl_ms must be at least 1 (omit it for no expiry)"));
        }
        let d = options.delimiter;
        if matches!(d, '*' | '{' | '}' | '%' | ',' | '.') || d.is_whitespace() || is_alphanumeric(d) {
            return Err(Error::options(format!(
                "delimiter `{d}` is not allowed; use punctuation such as `:` or `/`"
            )));
        }
        Ok(LruCache {
            options,
            clock,
            slots: Vec::new(),
            links: Vec::new(),
            free: Vec::new(),
            expiring: 0,
            keyless_removals: false,
            head: NIL,
            tail: NIL,
            len: 0,
            bytes: 0,
            trie: Trie::new(),
            fence: Fence::new(),
            unindexed: Unindexed::default(),
            expiry: Vec::new(),
            tag_lists: HashMap::new(),
            pending: HashMap::new(),
            stats: LruStats::default(),
        })
    }

    /// For bindings that know each entry's key by its slot: entries removed from now on are
    /// reported with an empty [`Removed::key`], which saves rebuilding each key's text from the
    /// trie on every eviction and invalidation.
    pub(crate) fn set_keyless_removals(&mut self, on: bool) {
        self.keyless_removals = on;
    }

    /// The options in force (with `max_entries` capped).
    pub fn options(&self) -> &LruOptions {
        &self.options
    }

    /// Entries held, including expired ones not yet noticed.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the cache holds no entry.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Bytes held: the sum of key lengths and caller-given value sizes.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Counters and current size.
    pub fn stats(&self) -> LruStats {
        LruStats { entries: self.len as u64, bytes: self.bytes as u64, ..self.stats }
    }

    fn entry(&self, slot: u32) -> Option<&Entry<V>> {
        self.slots.get(slot as usize)?.as_ref()
    }

    fn live(&self, slot: u32) -> &Entry<V> {
        match &self.slots[slot as usize] {
            Some(e) => e,
            None => unreachable!("slot {slot} is linked but free"),
        }
    }

    fn live_mut(&mut self, slot: u32) -> &mut Entry<V> {
        match &mut self.slots[slot as usize] {
            Some(e) => e,
            None => unreachable!("slot {slot} is linked but free"),
        }
    }

    /// The slot of `key`, if present (expired or not: `touch` decides). Keys waiting to be
    /// indexed are searched one by one.
    pub fn slot_of(&self, key: &str) -> Option<u32> {
        let indexed = self.trie.lookup(key, self.options.delimiter).map(|node| self.trie.node(node).entry);
        if let Some(slot) = indexed.filter(|&s| s != NIL) {
            return Some(slot);
        }
        let u = &self.unindexed;
        u.rows.iter().enumerate().rev().find_map(|(i, &(slot, start, len))| {
            let live = start != NO_TEXT && self.entry(slot).is_some_and(|e| e.node == UNINDEXED | i as u32);
            (live && span(&u.text, start..start + len as usize) == key).then_some(slot)
        })
    }

    /// The key in `slot`, if the slot is live.
    pub fn key(&self, slot: u32) -> Option<String> {
        self.entry(slot).map(|e| self.key_of(e))
    }

    /// The key of a live entry, from the trie or from the keys waiting to be indexed.
    fn key_of(&self, e: &Entry<V>) -> String {
        match unindexed_row(e.node) {
            Some(row) => match self.unindexed.rows[row] {
                // Not provided yet (see `set_keyless`).
                (_, NO_TEXT, _) => String::new(),
                (_, start, len) => span(&self.unindexed.text, start..start + len as usize).to_owned(),
            },
            None => self.trie.path(e.node, self.options.delimiter),
        }
    }

    /// The length of a live entry's key.
    fn key_len(&self, e: &Entry<V>) -> usize {
        match unindexed_row(e.node) {
            Some(row) => self.unindexed.rows[row].2 as usize,
            None => self.trie.path_len(e.node, self.options.delimiter),
        }
    }

    /// The value in `slot`, if the slot is live (expiry is not checked: `touch` first).
    pub fn value(&self, slot: u32) -> Option<&V> {
        self.entry(slot).map(|e| &e.value)
    }

    fn is_expired(&self, slot: u32) -> bool {
        let at = self.expires_at(slot);
        at != u64::MAX && (self.clock)() >= at
    }

    /// Whether the entry in `slot` has tags (no hashing while no entry has any).
    fn is_tagged(&self, slot: u32) -> bool {
        !self.tag_lists.is_empty() && self.tag_lists.contains_key(&slot)
    }

    /// Takes the tags of the entry in `slot` out of `tag_lists` (empty if it has none).
    fn take_tags(&mut self, slot: u32) -> Box<[(u32, u32)]> {
        if self.tag_lists.is_empty() {
            return Box::default();
        }
        self.tag_lists.remove(&slot).unwrap_or_default()
    }

    /// When the entry in `slot` expires (`u64::MAX`: never).
    fn expires_at(&self, slot: u32) -> u64 {
        self.expiry.get(slot as usize).copied().unwrap_or(u64::MAX)
    }

    /// Records when the entry in `slot` expires; the table is allocated by the first expiry.
    fn set_expiry(&mut self, slot: u32, at: u64) {
        let i = slot as usize;
        if at == u64::MAX && i >= self.expiry.len() {
            return;
        }
        if i >= self.expiry.len() {
            self.expiry.resize(self.slots.len().max(i + 1), u64::MAX);
        }
        self.expiry[i] = at;
    }

    /// Uses `slot`: marks it most recent and counts a hit. If its entry has expired, removes it,
    /// counts a miss and returns `false`; a free slot also returns `false`.
    #[inline(always)]
    pub fn touch(&mut self, slot: u32) -> bool {
        if self.links.get(slot as usize).is_none_or(|l| l.next == FREE) {
            return false;
        }
        if self.expiring > 0 && self.is_expired(slot) {
            self.remove_slot(slot, RemovalReason::Expired);
            self.stats.misses += 1;
            return false;
        }
        self.stats.hits += 1;
        if self.head != slot {
            self.unlink(slot);
            self.link_front(slot);
        }
        true
    }

    /// Whether `slot` holds a live, unexpired entry; changes neither recency nor counters.
    pub fn is_live(&self, slot: u32) -> bool {
        self.entry(slot).is_some() && !self.is_expired(slot)
    }

    /// Counts a miss found outside the cache (a binding's own key lookup).
    pub fn record_miss(&mut self) {
        self.stats.misses += 1;
    }

    /// The value of `key`, marking it most recent; counts a hit or a miss, and removes the entry
    /// if it has expired.
    pub fn get(&mut self, key: &str) -> Option<&V> {
        self.index_unindexed();
        match self.slot_of(key) {
            Some(slot) if self.touch(slot) => self.value(slot),
            Some(_) => None,
            None => {
                self.stats.misses += 1;
                None
            }
        }
    }

    /// The value of `key` without changing recency or counters; `None` if expired.
    pub fn peek(&self, key: &str) -> Option<&V> {
        let slot = self.slot_of(key)?;
        let e = self.entry(slot)?;
        (!self.is_expired(slot)).then_some(&e.value)
    }

    /// Whether `key` holds a live value, without changing recency or counters.
    pub fn has(&self, key: &str) -> bool {
        self.peek(key).is_some()
    }

    /// Live keys from most to least recently used.
    pub fn keys(&self) -> impl Iterator<Item = String> + '_ {
        self.live_slots().filter_map(|s| self.key(s))
    }

    /// Slots of live entries from most to least recently used.
    pub fn live_slots(&self) -> impl Iterator<Item = u32> + '_ {
        let now = (self.clock)();
        let link = |s: u32| (s != NIL).then_some(s);
        std::iter::successors(link(self.head), move |&s| link(self.links[s as usize].next)).filter(
            move |&s| {
                let at = self.expires_at(s);
                at == u64::MAX || now < at
            },
        )
    }

    /// Stores `value` under `key` as the most recent entry, evicting least recent entries to stay
    /// within budget. Refuses a malformed key or tag, an entry heavier than `max_bytes`, and a
    /// stale write (see [`SetOptions::token`]); a refused `set` changes nothing.
    pub fn set(&mut self, key: &str, value: V, options: SetOptions) -> Result<SetOutcome<V>> {
        let d = self.options.delimiter;
        validate_key(key, d)?;
        self.index_unindexed();
        if options.tags.len() > MAX_TAGS_PER_ENTRY {
            return Err(Error::LimitExceeded {
                what: "tags on one entry",
                limit: MAX_TAGS_PER_ENTRY,
                actual: options.tags.len(),
            });
        }
        for tag in &options.tags {
            validate_key(tag, d)?;
        }
        let ttl = options.ttl_ms.or(self.options.default_ttl_ms);
        if ttl == Some(0) {
            return Err(Error::options("ttl_ms must be at least 1 (omit it for no expiry)"));
        }
        let bytes = key.len().saturating_add(options.bytes);
        self.check_weight(bytes)?;
        if let Some(token) = options.token {
            self.fence.check(key, &options.tags, token, d)?;
        }
        // Each segment of the key and of each tag may need a node; nodes only come back by pruning.
        // Counted only near the limit: a text of n bytes has at most n segments.
        let bound = key.len() + options.tags.iter().map(String::len).sum::<usize>();
        if self.trie.live_nodes().saturating_add(bound) > MAX_NODES {
            let needed =
                segments(key, d).count() + options.tags.iter().map(|t| segments(t, d).count()).sum::<usize>();
            if self.trie.live_nodes() + needed > MAX_NODES {
                return Err(Error::LimitExceeded {
                    what: "trie nodes",
                    limit: MAX_NODES,
                    actual: self.trie.live_nodes() + needed,
                });
            }
        }

        let expires_at = ttl.map_or(u64::MAX, |t| (self.clock)().saturating_add(t));
        self.stats.sets += 1;
        let (mut removed, mut replaced) = (Vec::new(), None);
        // One walk of the trie finds the key or makes its node; evicting afterwards cannot prune
        // that node: it is a leaf or has children, and pruning only climbs from an entry's node.
        let node = self.trie.intern(key, d);
        let existing = self.trie.node(node).entry;
        let slot = if existing != NIL {
            replaced = Some(self.replace_value(existing, value, bytes, expires_at, &mut removed));
            existing
        } else {
            // Mark the node taken while evicting, so that no prune can free it meanwhile.
            self.trie.node_mut(node).entry = NIL - 1;
            self.evict_for(bytes, 1, &mut removed);
            let slot = self.occupy(Entry { value, bytes, node });
            self.set_expiry(slot, expires_at);
            self.trie.node_mut(node).entry = slot;
            slot
        };
        self.attach_tags(slot, &options.tags);
        self.bytes += bytes;
        self.expiring += usize::from(expires_at != u64::MAX);
        self.link_front(slot);
        Ok(SetOutcome { slot, removed, replaced })
    }

    /// Puts `entry` in a free slot (or a new one) and counts it; the caller links it.
    fn occupy(&mut self, entry: Entry<V>) -> u32 {
        self.len += 1;
        match self.free.pop() {
            Some(s) => {
                self.slots[s as usize] = Some(entry);
                s
            }
            None => {
                // len ≤ max_entries ≤ MAX_ENTRIES_LIMIT, so the index fits below FREE.
                self.slots.push(Some(entry));
                self.links.push(Link { prev: NIL, next: FREE });
                (self.slots.len() - 1) as u32
            }
        }
    }

    /// `set` of the key that `slot` holds, with default options (no tags, token or TTL of its
    /// own, `bytes` for the value): for bindings that know the slot of an existing key, which
    /// skips sending the key and walking the trie. Refused, changing nothing, if the slot is
    /// free or the entry would exceed `max_bytes`.
    pub fn set_slot(&mut self, slot: u32, value: V, bytes: usize) -> Result<SetOutcome<V>> {
        let Some(e) = self.entry(slot) else {
            return Err(Error::options(format!("slot {slot} holds no entry")));
        };
        let bytes = self.key_len(e).saturating_add(bytes);
        self.check_weight(bytes)?;
        let expires_at = self.options.default_ttl_ms.map_or(u64::MAX, |t| (self.clock)().saturating_add(t));
        self.stats.sets += 1;
        // The common refresh (same weight and expiry, no tags to drop) is a hit that counts as a set.
        let plain = expires_at == self.expires_at(slot) && !self.is_tagged(slot);
        if plain && self.live_mut(slot).bytes == bytes {
            let replaced = Some(self.refresh_in_place(slot, value));
            return Ok(SetOutcome { slot, removed: Vec::new(), replaced });
        }
        let mut removed = Vec::new();
        let replaced = Some(self.replace_value(slot, value, bytes, expires_at, &mut removed));
        self.bytes += bytes;
        self.expiring += usize::from(expires_at != u64::MAX);
        self.link_front(slot);
        Ok(SetOutcome { slot, removed, replaced })
    }

    /// `set_slot(slot, value, 0)` for a cache whose every entry weighs its key alone (the JS
    /// side's queued sets of cached keys: no byte budget, so it weighs nothing). Such a set of an
    /// untagged entry without expiry (under a default TTL every entry has one) only counts and
    /// moves to the front; this skips recomputing the key's length, which walks the trie.
    /// Anything else goes through `set_slot`.
    #[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))] // the wasm binding's, and tests'
    pub(crate) fn refresh_unweighed(&mut self, slot: u32, value: V) -> Result<()> {
        if self.options.max_bytes.is_none()
            && self.entry(slot).is_some()
            && self.expires_at(slot) == u64::MAX
            && !self.is_tagged(slot)
        {
            self.stats.sets += 1;
            self.refresh_in_place(slot, value);
            return Ok(());
        }
        self.set_slot(slot, value, 0).map(|_| ())
    }

    /// Stores `value` in the live entry in `slot` and makes it the most recent; returns the old value.
    fn refresh_in_place(&mut self, slot: u32, value: V) -> V {
        let old = std::mem::replace(&mut self.live_mut(slot).value, value);
        if self.head != slot {
            self.unlink(slot);
            self.link_front(slot);
        }
        old
    }

    /// Refuses an entry weighing more than `max_bytes` on its own.
    fn check_weight(&self, bytes: usize) -> Result<()> {
        match self.options.max_bytes {
            Some(max) if bytes > max => {
                Err(Error::LimitExceeded { what: "entry bytes (key plus value)", limit: max, actual: bytes })
            }
            _ => Ok(()),
        }
    }

    /// Takes the live entry in `slot` out of recency, its tags and the byte total, evicts what the
    /// new weight needs, and stores `value`; returns the old value. The caller relinks the slot.
    fn replace_value(
        &mut self,
        slot: u32,
        value: V,
        bytes: usize,
        expires_at: u64,
        removed: &mut Vec<Removed<V>>,
    ) -> V {
        self.unlink(slot);
        let old_bytes = self.live(slot).bytes;
        let old_tags = self.take_tags(slot);
        let old_expiry = self.expires_at(slot);
        self.expiring -= usize::from(old_expiry != u64::MAX);
        self.bytes -= old_bytes;
        self.detach_tags(slot, &old_tags);
        self.evict_for(bytes, 0, removed);
        self.set_expiry(slot, expires_at);
        let e = self.live_mut(slot);
        e.bytes = bytes;
        std::mem::replace(&mut e.value, value)
    }

    /// Removes `key`. Not fenced: a read in flight may still write it back (use `invalidate`).
    pub fn delete(&mut self, key: &str) -> Option<Removed<V>> {
        self.index_unindexed();
        let slot = self.slot_of(key)?;
        Some(self.remove_slot(slot, RemovalReason::Deleted))
    }

    /// Removes the entry in `slot`, if live. Not fenced, like `delete`.
    pub fn delete_slot(&mut self, slot: u32) -> Option<Removed<V>> {
        self.entry(slot)?;
        Some(self.remove_slot(slot, RemovalReason::Deleted))
    }

    /// Removes every entry, most recent first, and refuses every read token taken before.
    /// Scheduled lazy invalidations stay scheduled.
    pub fn clear(&mut self) -> Vec<Removed<V>> {
        let mut out = Vec::with_capacity(self.len);
        let mut cur = self.head;
        while cur != NIL {
            let Some(e) = self.slots.get_mut(cur as usize).and_then(Option::take) else { break };
            out.push(Removed {
                slot: cur,
                key: if self.keyless_removals { String::new() } else { self.key_of(&e) },
                value: e.value,
                reason: RemovalReason::Cleared,
            });
            cur = self.links[cur as usize].next;
        }
        self.slots.clear();
        self.links.clear();
        self.free.clear();
        self.expiring = 0;
        self.expiry = Vec::new();
        self.tag_lists = HashMap::new();
        self.trie = Trie::new();
        self.unindexed = Unindexed::default();
        self.head = NIL;
        self.tail = NIL;
        self.len = 0;
        self.bytes = 0;
        self.fence.refuse_all();
        out
    }

    /// Removes every expired entry now (a scan of the whole cache; `get` expires lazily anyway).
    pub fn prune_expired(&mut self) -> Vec<Removed<V>> {
        let now = (self.clock)();
        let mut out = Vec::new();
        let mut cur = self.tail;
        while cur != NIL {
            let at = self.expires_at(cur);
            let prev = self.links[cur as usize].prev;
            if at != u64::MAX && now >= at {
                out.push(self.remove_slot(cur, RemovalReason::Expired));
            }
            cur = prev;
        }
        out
    }

    /// A token to pass to `set` for what is read now; `key` is not recorded, the fence checks
    /// the key given to `set`.
    pub fn begin_read(&self, _key: &str) -> ReadToken {
        self.fence.token()
    }

    #[inline(always)]
    fn link_front(&mut self, slot: u32) {
        let head = self.head;
        self.links[slot as usize] = Link { prev: NIL, next: head };
        if head == NIL {
            self.tail = slot;
        } else {
            self.links[head as usize].prev = slot;
        }
        self.head = slot;
    }

    #[inline(always)]
    fn unlink(&mut self, slot: u32) {
        let Link { prev, next } = self.links[slot as usize];
        if prev == NIL {
            self.head = next;
        } else {
            self.links[prev as usize].next = next;
        }
        if next == NIL {
            self.tail = prev;
        } else {
            self.links[next as usize].prev = prev;
        }
    }

    /// Evicts least recent entries until `entries` more entries and `bytes` more bytes fit.
    fn evict_for(&mut self, bytes: usize, entries: usize, out: &mut Vec<Removed<V>>) {
        let max_bytes = self.options.max_bytes.unwrap_or(usize::MAX);
        // Without a byte budget the total still cannot pass usize::MAX: a total that would
        // overflow evicts like one over budget (`bytes` alone always fits).
        while self.tail != NIL
            && (self.len + entries > self.options.max_entries
                || self.bytes.checked_add(bytes).is_none_or(|total| total > max_bytes))
        {
            let slot = self.tail;
            let reason = if self.is_expired(slot) { RemovalReason::Expired } else { RemovalReason::Evicted };
            out.push(self.remove_slot(slot, reason));
        }
    }

    fn attach_tags(&mut self, slot: u32, tags: &[String]) {
        if tags.is_empty() {
            return;
        }
        let d = self.options.delimiter;
        let mut attached: Vec<(u32, u32)> = Vec::with_capacity(tags.len());
        for tag in tags {
            let node = self.trie.intern(tag, d);
            if attached.iter().any(|&(n, _)| n == node) {
                continue;
            }
            let tagged = self.trie.tagged_mut(node);
            // Indices fit in u32: a node is tagged at most once per live slot.
            tagged.push((slot, attached.len() as u32));
            attached.push((node, (tagged.len() - 1) as u32));
        }
        self.tag_lists.insert(slot, attached.into_boxed_slice());
    }

    /// Unhooks `slot` from the tag nodes in `tags` (taken out of its entry) and prunes them.
    fn detach_tags(&mut self, slot: u32, tags: &[(u32, u32)]) {
        for &(node, pos) in tags.iter() {
            let tagged = self.trie.tagged_mut(node);
            let pos = pos as usize;
            if tagged.get(pos).is_some_and(|&(s, _)| s == slot) {
                tagged.swap_remove(pos);
                // The last element moved into `pos`: fix its back-pointer.
                if let Some(&(moved, ti)) = tagged.get(pos) {
                    if let Some(t) = self.tag_lists.get_mut(&moved).and_then(|t| t.get_mut(ti as usize)) {
                        t.1 = pos as u32;
                    }
                }
            }
            self.trie.prune(node);
        }
    }

    fn remove_slot(&mut self, slot: u32, reason: RemovalReason) -> Removed<V> {
        self.unlink(slot);
        self.links[slot as usize].next = FREE;
        let Some(e) = self.slots[slot as usize].take() else {
            unreachable!("remove_slot on free slot {slot}")
        };
        self.expiring -= usize::from(self.expires_at(slot) != u64::MAX);
        self.set_expiry(slot, u64::MAX);
        let key = if self.keyless_removals { String::new() } else { self.key_of(&e) };
        if let Some(row) = unindexed_row(e.node) {
            self.unindexed.live -= 1;
            self.unindexed.textless -= usize::from(self.unindexed.rows[row].1 == NO_TEXT);
        } else {
            self.trie.node_mut(e.node).entry = NIL;
            self.trie.prune(e.node);
        }
        let tags = self.take_tags(slot);
        self.detach_tags(slot, &tags);
        self.bytes -= e.bytes;
        self.len -= 1;
        self.free.push(slot);
        match reason {
            RemovalReason::Evicted => self.stats.evictions += 1,
            RemovalReason::Expired => self.stats.expirations += 1,
            RemovalReason::Invalidated => self.stats.invalidations += 1,
            _ => {}
        }
        Removed { slot, key, value: e.value, reason }
    }
}

#[cfg(test)]
mod tests {
    use super::{LruCache, LruOptions, SetOptions};

    /// `refresh_unweighed` leaves a cache exactly as `set_slot(slot, value, 0)` does: values,
    /// recency, counters and bytes, for plain, tagged, expiring and keyless entries alike.
    #[test]
    fn refresh_unweighed_is_set_slot_with_no_weight() {
        for (ttl, max_bytes) in [(None, None), (Some(60_000), None), (None, Some(1_000))] {
            let options =
                LruOptions { max_entries: 8, default_ttl_ms: ttl, max_bytes, ..LruOptions::default() };
            // With a byte budget, entries weigh more than their keys (and a set of 0 bytes reweighs them).
            let bytes = if max_bytes.is_some() { 5 } else { 0 };
            let now = std::rc::Rc::new(std::cell::Cell::new(1_000u64));
            let mut twins = [(); 2].map(|_| {
                let now = std::rc::Rc::clone(&now);
                LruCache::<u32>::with_clock(options.clone(), Box::new(move || now.get())).unwrap()
            });
            for c in &mut twins {
                for (i, key) in ["a", "a:b", "c", "d:e:f"].into_iter().enumerate() {
                    c.set(key, i as u32, SetOptions { bytes, ..SetOptions::default() }).unwrap();
                }
                let tags = SetOptions { tags: vec!["a".to_owned()], ..SetOptions::default() };
                c.set("tagged", 9, tags).unwrap();
                c.set("short", 7, SetOptions { ttl_ms: Some(5), ..SetOptions::default() }).unwrap();
            }
            let keyless = twins.each_mut().map(|c| c.set_keyless(3, 8, 0, &mut Vec::new()).unwrap());
            assert_eq!(keyless[0], keyless[1]);
            let slots: Vec<u32> = ["a", "c", "d:e:f", "tagged", "short", "a:b"]
                .iter()
                .map(|k| twins[0].slot_of(k).unwrap())
                .chain([keyless[0]])
                .collect();
            now.set(1_500);
            for (n, &slot) in slots.iter().chain(slots.iter().rev()).enumerate() {
                twins[0].set_slot(slot, 100 + n as u32, 0).unwrap();
                twins[1].refresh_unweighed(slot, 100 + n as u32).unwrap();
            }
            let state = |c: &LruCache<u32>| {
                let keys: Vec<String> = c.keys().collect();
                let values: Vec<Option<u32>> = (0..8).map(|s| c.value(s).copied()).collect();
                (keys, values, c.stats(), c.bytes())
            };
            assert_eq!(state(&twins[1]), state(&twins[0]), "ttl {ttl:?}");
            // Past the short entry's own expiry: a set without a TTL cleared it (or renewed the default one).
            let live = |c: &LruCache<u32>| (0..8).map(|s| c.is_live(s)).collect::<Vec<bool>>();
            for at in [2_000, 61_200] {
                now.set(at);
                assert_eq!(live(&twins[1]), live(&twins[0]), "ttl {ttl:?} at {at}");
            }
            // A set without tags drops the entry's tags: invalidating the tag then spares it.
            let gone = twins.each_mut().map(|c| {
                let mut keys: Vec<String> = c.invalidate("a").unwrap().into_iter().map(|r| r.key).collect();
                keys.sort();
                keys
            });
            assert_eq!(gone[1], gone[0]);
            assert_eq!(gone[0], ["a", "a:b"]);
        }
    }
}
