//! Keys stored before the trie indexes them: a binding that keeps each key's text on its side
//! sets entries by slot and hands their keys over in batches (`set_unindexed`, `set_keyless`,
//! `provide_key`), and the trie indexes them when an operation first needs the index.

use super::*;

/// The row in [`Unindexed::rows`] of an entry's key, if the trie does not hold it yet.
pub(super) fn unindexed_row(node: u32) -> Option<usize> {
    (node & UNINDEXED != 0).then_some((node & !UNINDEXED) as usize)
}

/// Keys stored by [`LruCache::set_unindexed`] (or, text to come, by [`LruCache::set_keyless`])
/// that the trie does not hold yet.
#[derive(Default)]
pub(super) struct Unindexed {
    /// The keys, back to back.
    pub(super) text: String,
    /// (slot, start, length) of a key in `text`, or (slot, `NO_TEXT`, length) while the caller of
    /// `set_keyless` has not provided it. A row is live while its slot's entry points at it; a
    /// removed entry leaves a dead row behind until the next compaction or indexing.
    pub(super) rows: Vec<(u32, usize, u32)>,
    /// Live rows.
    pub(super) live: usize,
    /// Live rows still without text.
    pub(super) textless: usize,
    /// Bytes of the keys of the rows, live or dead, still without text: with `text`, a bound on
    /// the trie nodes that indexing the rows may need.
    pub(super) textless_bytes: usize,
}

/// `start` of a row whose key text has not been provided yet (see [`LruCache::set_keyless`]).
pub(super) const NO_TEXT: usize = usize::MAX;

impl<V> LruCache<V> {
    /// `set` of a key that the caller knows is not cached (a binding that keeps its own key →
    /// slot map), with default options (no tags, token or TTL of its own; `bytes` for the value),
    /// that leaves the key out of the index for now: the next call that needs the index (a `set`
    /// with a key, `get`, `delete`, any invalidation) indexes every waiting key in one pass, and
    /// an entry evicted before then is never indexed. Until then `slot_of`, `peek` and `has`
    /// search the waiting keys one by one. If `key` was in fact cached, the older entry is
    /// dropped, unreported, when the index takes the newer one.
    ///
    /// Returns the entry's slot; the entries evicted to make room are appended to `removed` (a
    /// buffer the caller reuses, so a set allocates nothing).
    // Reached through `KeylessSets` by the crate's tests; the binding uses `set_keyless`.
    #[cfg_attr(not(feature = "test-api"), allow(dead_code))]
    pub(crate) fn set_unindexed(
        &mut self,
        key: &str,
        value: V,
        bytes: usize,
        removed: &mut Vec<Removed<V>>,
    ) -> Result<u32> {
        validate_key(key, self.options.delimiter)?;
        self.push_unindexed(Some(key), key.len(), value, bytes, removed)
    }

    /// [`LruCache::set_unindexed`] for a binding that keeps the key's text itself until the index
    /// needs it: only the key's length (in bytes of UTF-8) comes now, and the caller promises a
    /// key that `validate_key` accepts. Before anything else that reads keys (any call but
    /// `set_keyless`, `set_slot`, `touch`, `is_live`, `delete_slot`, `record_miss`, `stats`,
    /// `len`), it must hand every such entry's key to [`LruCache::provide_key`]: until then the
    /// entry is invisible to lookups and invalidation. An entry evicted or deleted first never
    /// needs its key: a cache used only for `get` and `set` never copies a key into the core.
    /// (Such an entry removed before its key came is reported with an empty key.)
    pub(crate) fn set_keyless(
        &mut self,
        key_len: usize,
        value: V,
        bytes: usize,
        removed: &mut Vec<Removed<V>>,
    ) -> Result<u32> {
        if key_len == 0 || key_len > MAX_KEY_LEN {
            return Err(Error::LimitExceeded { what: "key bytes", limit: MAX_KEY_LEN, actual: key_len });
        }
        self.push_unindexed(None, key_len, value, bytes, removed)
    }

    /// Stores an entry whose key waits for the index, with its text or (`None`) without it yet.
    pub(super) fn push_unindexed(
        &mut self,
        key: Option<&str>,
        key_len: usize,
        value: V,
        bytes: usize,
        removed: &mut Vec<Removed<V>>,
    ) -> Result<u32> {
        let bytes = key_len.saturating_add(bytes);
        self.check_weight(bytes)?;
        // Indexing may need a node per byte of every waiting key (dead rows' text included).
        let bound = self.unindexed.text.len() + self.unindexed.textless_bytes + key_len;
        if self.trie.live_nodes().saturating_add(bound) > MAX_NODES {
            return Err(Error::LimitExceeded {
                what: "trie nodes",
                limit: MAX_NODES,
                actual: self.trie.live_nodes() + bound,
            });
        }
        let expires_at = self.options.default_ttl_ms.map_or(u64::MAX, |t| (self.clock)().saturating_add(t));
        self.stats.sets += 1;
        self.evict_for(bytes, 1, removed);
        if self.unindexed.rows.len() >= 64 && self.unindexed.rows.len() > 2 * self.unindexed.live {
            self.compact_unindexed();
        }
        let u = &mut self.unindexed;
        // Rows stay below 2^31: a compaction leaves at most `live` ≤ max_entries rows, and rows
        // only grow to twice the live ones plus 64 before the next.
        let node = UNINDEXED | u.rows.len() as u32;
        let slot = self.occupy(Entry { value, bytes, node });
        self.set_expiry(slot, expires_at);
        let u = &mut self.unindexed;
        match key {
            Some(key) => {
                u.rows.push((slot, u.text.len(), key_len as u32));
                u.text.push_str(key);
            }
            None => {
                u.rows.push((slot, NO_TEXT, key_len as u32));
                u.textless += 1;
                u.textless_bytes += key_len;
            }
        }
        u.live += 1;
        self.bytes += bytes;
        self.expiring += usize::from(expires_at != u64::MAX);
        self.link_front(slot);
        Ok(slot)
    }

    /// Gives the key of the entry in `slot` if [`LruCache::set_keyless`] stored it without one:
    /// `Ok(true)` when it took the key, `Ok(false)` when the slot holds no such entry (free, or an
    /// entry with its key already: nothing changes). A key of the wrong length, or one that
    /// `validate_key` refuses, breaks `set_keyless`'s promise: the entry is removed (as if deleted)
    /// and the error returned.
    pub(crate) fn provide_key(&mut self, slot: u32, key: &str) -> Result<bool> {
        let Some(row) = self.entry(slot).and_then(|e| unindexed_row(e.node)) else { return Ok(false) };
        let (_, start, len) = self.unindexed.rows[row];
        if start != NO_TEXT {
            return Ok(false);
        }
        let valid = if key.len() == len as usize {
            validate_key(key, self.options.delimiter)
        } else {
            Err(Error::key(key, "is not the length given to set_keyless"))
        };
        if let Err(e) = valid {
            self.remove_slot(slot, RemovalReason::Deleted);
            return Err(e);
        }
        let u = &mut self.unindexed;
        u.rows[row].1 = u.text.len();
        u.text.push_str(key);
        u.textless -= 1;
        u.textless_bytes -= len as usize;
        Ok(true)
    }

    /// Indexes the keys waiting for the index now, rather than in the next call that needs them:
    /// a caller that stores many keys with `set_unindexed`/`set_keyless` bounds that call's
    /// pause this way (each waiting key costs about one `set`'s indexing).
    pub(crate) fn index_waiting(&mut self) {
        self.index_unindexed();
    }

    /// Indexes every key that [`LruCache::set_unindexed`] left waiting, in the order they came.
    /// An entry whose key was never provided (see [`LruCache::set_keyless`]) cannot be indexed:
    /// it stays waiting.
    pub(super) fn index_unindexed(&mut self) {
        if self.unindexed.rows.is_empty() {
            return;
        }
        let d = self.options.delimiter;
        let Unindexed { mut text, mut rows, .. } = std::mem::take(&mut self.unindexed);
        let mut textless = Unindexed::default();
        for (row, &(slot, start, len)) in rows.iter().enumerate() {
            let Some(e) = self.slots.get_mut(slot as usize).and_then(Option::as_mut) else { continue };
            if e.node != UNINDEXED | row as u32 {
                continue;
            }
            if start == NO_TEXT {
                e.node = UNINDEXED | textless.rows.len() as u32;
                textless.rows.push((slot, NO_TEXT, len));
                textless.textless_bytes += len as usize;
                continue;
            }
            let key = span(&text, start..start + len as usize);
            let mut node = self.trie.intern(key, d);
            let older = self.trie.node(node).entry;
            if older != NIL {
                // The caller broke `set_unindexed`'s contract: the newer entry wins. Removing the
                // older one may prune the node, so the key is interned again.
                self.remove_slot(older, RemovalReason::Deleted);
                node = self.trie.intern(key, d);
            }
            self.trie.node_mut(node).entry = slot;
            self.live_mut(slot).node = node;
        }
        if textless.rows.is_empty() {
            // The buffers are kept for the next keys.
            text.clear();
            rows.clear();
            self.unindexed = Unindexed { text, rows, ..Unindexed::default() };
        } else {
            textless.live = textless.rows.len();
            textless.textless = textless.rows.len();
            self.unindexed = textless;
        }
    }

    /// Drops the dead rows of the waiting keys and their text.
    pub(super) fn compact_unindexed(&mut self) {
        let Unindexed { text, rows, live, textless, .. } = std::mem::take(&mut self.unindexed);
        let mut kept = Unindexed {
            text: String::with_capacity(text.len() / 2),
            rows: Vec::with_capacity(live),
            live,
            textless,
            textless_bytes: 0,
        };
        for (row, &(slot, start, len)) in rows.iter().enumerate() {
            let Some(Some(e)) = self.slots.get_mut(slot as usize) else { continue };
            if e.node != UNINDEXED | row as u32 {
                continue;
            }
            e.node = UNINDEXED | kept.rows.len() as u32;
            if start == NO_TEXT {
                kept.rows.push((slot, NO_TEXT, len));
                kept.textless_bytes += len as usize;
            } else {
                kept.rows.push((slot, kept.text.len(), len));
                kept.text.push_str(span(&text, start..start + len as usize));
            }
        }
        self.unindexed = kept;
    }
}
