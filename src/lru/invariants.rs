//! The cache's invariants, checked by the model-based tests after every operation.

use super::*;

impl<V> LruCache<V> {
    /// Checks every internal invariant (links, indexes, byte count, trie); for tests.
    #[doc(hidden)]
    pub fn check_invariants(&self) -> std::result::Result<(), String> {
        let (mut unindexed, mut textless) = (0, 0);
        let mut count = 0;
        let mut bytes = 0;
        let (mut prev, mut cur) = (NIL, self.head);
        while cur != NIL {
            let e = self.entry(cur).ok_or_else(|| format!("linked slot {cur} is free"))?;
            let link = self.links[cur as usize];
            if link.prev != prev || link.next == FREE {
                return Err(format!("slot {cur}: prev {} != {prev}, or marked free", link.prev));
            }
            let key = self.key_of(e);
            let has_text = unindexed_row(e.node)
                .is_none_or(|row| self.unindexed.rows.get(row).is_some_and(|r| r.1 != NO_TEXT));
            if !has_text {
                textless += 1;
            } else if self.slot_of(&key) != Some(cur) {
                return Err(format!("key `{key}` does not map to slot {cur}"));
            }
            match unindexed_row(e.node) {
                Some(row) if self.unindexed.rows.get(row).is_none_or(|r| r.0 != cur) => {
                    return Err(format!("waiting key `{key}` has a broken row"));
                }
                Some(_) => unindexed += 1,
                None if self.trie.lookup(&key, self.options.delimiter) != Some(e.node)
                    || self.trie.node(e.node).entry != cur =>
                {
                    return Err(format!("trie node of `{key}` is wrong"));
                }
                None => {}
            }
            for (i, &(n, pos)) in self.tag_lists.get(&cur).iter().flat_map(|t| t.iter()).enumerate() {
                if self.trie.tagged(n).get(pos as usize) != Some(&(cur, i as u32)) {
                    return Err(format!("tag {i} of `{key}` has a broken back-pointer"));
                }
            }
            count += 1;
            bytes += e.bytes;
            (prev, cur) = (cur, link.next);
            if count > self.len {
                return Err("recency list is longer than len (a cycle?)".into());
            }
        }
        if prev != self.tail || count != self.len || bytes != self.bytes {
            return Err(format!(
                "list has {count} entries/{bytes} bytes, len {}, bytes {}",
                self.len, self.bytes
            ));
        }
        if self.slots.len() != self.len + self.free.len() || self.len > self.options.max_entries {
            return Err("slot accounting is off".into());
        }
        if self.links.len() != self.slots.len()
            || self.free.iter().any(|&s| self.links[s as usize].next != FREE)
        {
            return Err("free slots are not marked free".into());
        }
        if unindexed != self.unindexed.live || self.unindexed.rows.len() < unindexed {
            return Err(format!("{unindexed} keys wait for the index, counted {}", self.unindexed.live));
        }
        let u = &self.unindexed;
        let textless_bytes: usize = u.rows.iter().filter(|r| r.1 == NO_TEXT).map(|r| r.2 as usize).sum();
        if textless != u.textless || textless_bytes != u.textless_bytes {
            return Err(format!(
                "{textless} keys wait for their text ({textless_bytes} bytes), counted {} ({})",
                u.textless, u.textless_bytes
            ));
        }
        let live =
            |&(i, e): &(usize, &Option<Entry<V>>)| e.is_some() && self.expires_at(i as u32) != u64::MAX;
        let expiring = self.slots.iter().enumerate().filter(live).count();
        if self.expiry.iter().enumerate().any(|(i, &at)| at != u64::MAX && self.entry(i as u32).is_none()) {
            return Err("a free slot has an expiry".into());
        }
        if self.tag_lists.keys().any(|&s| self.entry(s).is_none()) {
            return Err("a free slot has tags".into());
        }
        if expiring != self.expiring {
            return Err(format!("{} entries expire, counted {}", expiring, self.expiring));
        }
        self.trie.check()
    }
}
