//! Invalidation (SPEC §5): a key and everything below it, patterns through the trie's index,
//! cascade sets, lazy (deferred, coalesced) invalidation, and one field path of cached values.

use super::*;

impl<V> LruCache<V> {
    /// Removes `key`, every key below it (`user:1` removes `user:1:posts`, never `user:10`) and
    /// every entry tagged with any of those keys; fences the key against stale writes.
    pub fn invalidate(&mut self, key: &str) -> Result<Vec<Removed<V>>> {
        self.invalidate_set(&[key], &[])
    }

    /// Removes every key matching `pattern` (inner `*`: one segment, trailing `*`: one or more),
    /// the keys below each match and the entries tagged with any of them. Visits only the trie
    /// nodes under the pattern's literal prefix.
    pub fn invalidate_pattern(&mut self, pattern: &str) -> Result<Vec<Removed<V>>> {
        self.invalidate_set(&[], &[pattern])
    }

    /// `invalidate` for several keys at once; nothing changes unless every key is valid.
    pub fn invalidate_batch(&mut self, keys: &[&str]) -> Result<Vec<Removed<V>>> {
        self.invalidate_set(keys, &[])
    }

    /// Invalidates a whole cascade set of keys and patterns as one step; validates everything
    /// first, so a bad key or pattern leaves the cache untouched.
    pub fn invalidate_set(&mut self, keys: &[&str], patterns: &[&str]) -> Result<Vec<Removed<V>>> {
        let d = self.options.delimiter;
        let mut targets = Vec::with_capacity(keys.len() + patterns.len());
        for key in keys {
            validate_key(key, d)?;
            targets.push(Target::Key((*key).into()));
        }
        for p in patterns {
            let p = Pattern::parse(p, d)?;
            targets.push(Target::Pattern(p));
        }
        Ok(self.invalidate_targets(targets))
    }

    pub(super) fn invalidate_targets(&mut self, targets: Vec<Target>) -> Vec<Removed<V>> {
        self.index_unindexed();
        let d = self.options.delimiter;
        let mut roots = Vec::new();
        for t in &targets {
            match t {
                Target::Key(k) => roots.extend(self.trie.lookup(k, d)),
                Target::Pattern(p) => self.trie.covered_roots(p, &mut roots),
            }
        }
        let mut nodes = Vec::new();
        for r in roots {
            self.trie.subtree(r, &mut nodes);
        }
        let (mut direct, mut via_tag) = (Vec::new(), Vec::new());
        for &n in &nodes {
            let node = self.trie.node(n);
            if node.entry != NIL {
                direct.push(node.entry);
            }
            via_tag.extend(self.trie.tagged(n).iter().map(|&(s, _)| s));
        }

        let epoch = self.fence.advance();
        let mut out = Vec::with_capacity(direct.len() + via_tag.len());
        // Subtrees may overlap (a key and its ancestor) and an entry may be reached through
        // several tags, so a slot already freed in this pass is skipped; no slot is reused here.
        for slot in direct {
            if self.entry(slot).is_some() {
                out.push(self.remove_slot(slot, RemovalReason::Invalidated));
            }
        }
        for slot in via_tag {
            if let Some(e) = self.entry(slot) {
                // A write-back of this key without its tags would be stale too.
                let key = self.trie.path(e.node, self.options.delimiter);
                self.fence.record(epoch, Target::Key(key.into()));
                out.push(self.remove_slot(slot, RemovalReason::Invalidated));
            }
        }
        for t in targets {
            self.fence.record(epoch, t);
        }
        out
    }

    /// Schedules `invalidate(key)` for `delay_ms` from now on the cache clock; coalesced: a key
    /// already scheduled keeps its earliest due time, and a key below a scheduled key due no later
    /// is already covered. [`LruCache::flush_due`] runs what is due.
    pub fn invalidate_lazy(&mut self, key: &str, delay_ms: u64) -> Result<()> {
        let d = self.options.delimiter;
        validate_key(key, d)?;
        let due = (self.clock)().saturating_add(delay_ms);
        let covered = key
            .match_indices(d)
            .map(|(i, _)| span(key, ..i))
            .chain(std::iter::once(key))
            .any(|prefix| self.pending.get(prefix).is_some_and(|&at| at <= due));
        if covered {
            return Ok(());
        }
        if let Some(at) = self.pending.get_mut(key) {
            *at = due;
            return Ok(());
        }
        if self.pending.len() >= MAX_PENDING_INVALIDATIONS {
            return Err(Error::LimitExceeded {
                what: "pending lazy invalidations",
                limit: MAX_PENDING_INVALIDATIONS,
                actual: self.pending.len() + 1,
            });
        }
        self.pending.insert(key.into(), due);
        Ok(())
    }

    /// Runs the lazy invalidations due at `now` (ms on the cache clock) as one batch; a due key
    /// below another due key runs only through its ancestor.
    pub fn flush_due(&mut self, now: u64) -> Vec<Removed<V>> {
        let d = self.options.delimiter;
        let due: HashSet<String> = self.pending.extract_if(|_, at| *at <= now).map(|(k, _)| k).collect();
        let mut keys: Vec<&str> = due
            .iter()
            .map(String::as_str)
            .filter(|k| !k.match_indices(d).any(|(i, _)| due.contains(span(k, ..i))))
            .collect();
        if keys.is_empty() {
            return Vec::new();
        }
        heap_sort_by(&mut keys, |a, b| a < b);
        let targets = keys.into_iter().map(|k| Target::Key(k.into())).collect();
        self.invalidate_targets(targets)
    }

    /// The earliest due time among scheduled lazy invalidations.
    pub fn next_due(&self) -> Option<u64> {
        self.pending.values().min().copied()
    }

    /// How many lazy invalidations are scheduled.
    pub fn pending_invalidations(&self) -> usize {
        self.pending.len()
    }
}

impl<V: FieldRemovable> LruCache<V> {
    /// Removes the field at dotted `path` (`author.name`) from the values of the keys that
    /// `key_or_pattern` names exactly (not the keys below them: those hold other shapes), adjusts
    /// their byte weight, fences them against stale writes and returns the keys changed.
    pub fn invalidate_field(&mut self, key_or_pattern: &str, path: &str) -> Result<Vec<String>> {
        self.invalidate_field_with(key_or_pattern, path, |_, value| value.remove_field(path))
    }
}

impl<V> LruCache<V> {
    /// [`LruCache::invalidate_field`] with the edit supplied by the caller: `edit(slot, value)`
    /// removes the field and returns by how many bytes the value shrank, or `None` if it was not
    /// there. For bindings whose values live outside the cache (the caller holds them by slot).
    pub fn invalidate_field_with(
        &mut self,
        key_or_pattern: &str,
        path: &str,
        mut edit: impl FnMut(u32, &mut V) -> Option<usize>,
    ) -> Result<Vec<String>> {
        let d = self.options.delimiter;
        let pattern = Pattern::parse(key_or_pattern, d)?;
        if path.is_empty() || path.len() > MAX_KEY_LEN || path.split('.').any(str::is_empty) {
            return Err(Error::options(format!(
                "field path `{path}` must be dot-separated field names such as `author.name`"
            )));
        }
        self.index_unindexed();
        let mut nodes = Vec::new();
        self.trie.matching(&pattern, &mut nodes);
        let mut changed = Vec::new();
        for n in nodes {
            let slot = self.trie.node(n).entry;
            let Some(Some(e)) = self.slots.get_mut(slot as usize) else { continue };
            if let Some(shrunk) = edit(slot, &mut e.value) {
                // An entry never weighs less than its key.
                let key = self.trie.path(n, d);
                let shrunk = shrunk.min(e.bytes - key.len());
                e.bytes -= shrunk;
                self.bytes -= shrunk;
                self.stats.invalidations += 1;
                changed.push(key);
            }
        }
        let epoch = self.fence.advance();
        let target = match pattern.is_exact() {
            true => Target::Key(key_or_pattern.into()),
            false => Target::Pattern(pattern),
        };
        self.fence.record(epoch, target);
        Ok(changed)
    }
}
