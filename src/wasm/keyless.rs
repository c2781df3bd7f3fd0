//! The LRU's side of the wire protocol: sets whose key text JS keeps and hands over in batches
//! (`setKeyless` → `provideKeys`), and removals reported by slot alone. Not part of the Rust API:
//! public with the `test-api` feature only, for the crate's own tests.

use crate::error::Result;
use crate::lru::{LruCache, Removed};

/// The slot-level sets a binding that keeps keys on its side uses (see `PROTOCOL.md`, 8 and 9).
pub trait KeylessSets<V> {
    /// Stores `value` under `key` without indexing the key yet (the trie indexes it when an
    /// operation first needs the index); returns the slot. Evicted entries go to `removed`.
    fn set_unindexed(
        &mut self,
        key: &str,
        value: V,
        bytes: usize,
        removed: &mut Vec<Removed<V>>,
    ) -> Result<u32>;
    /// As `set_unindexed` for a key of `key_len` bytes whose text comes later through
    /// `provide_key`; until then the entry answers only by slot.
    fn set_keyless(
        &mut self,
        key_len: usize,
        value: V,
        bytes: usize,
        removed: &mut Vec<Removed<V>>,
    ) -> Result<u32>;
    /// Gives the key of a keyless entry: `Ok(true)` when taken, `Ok(false)` when the slot needs
    /// none; a key of the wrong length or an invalid key removes the entry and is an error.
    fn provide_key(&mut self, slot: u32, key: &str) -> Result<bool>;
    /// Indexes every key waiting to be indexed.
    fn index_waiting(&mut self);
    /// Entries removed from now on are reported with an empty key (the binding knows it by slot).
    fn set_keyless_removals(&mut self, on: bool);
}

impl<V> KeylessSets<V> for LruCache<V> {
    fn set_unindexed(
        &mut self,
        key: &str,
        value: V,
        bytes: usize,
        removed: &mut Vec<Removed<V>>,
    ) -> Result<u32> {
        LruCache::set_unindexed(self, key, value, bytes, removed)
    }

    fn set_keyless(
        &mut self,
        key_len: usize,
        value: V,
        bytes: usize,
        removed: &mut Vec<Removed<V>>,
    ) -> Result<u32> {
        LruCache::set_keyless(self, key_len, value, bytes, removed)
    }

    fn provide_key(&mut self, slot: u32, key: &str) -> Result<bool> {
        LruCache::provide_key(self, slot, key)
    }

    fn index_waiting(&mut self) {
        LruCache::index_waiting(self)
    }

    fn set_keyless_removals(&mut self, on: bool) {
        LruCache::set_keyless_removals(self, on)
    }
}
