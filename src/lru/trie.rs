//! The segment trie under the LRU: one node per distinct key or tag prefix, so hierarchy, wildcard
//! and tag lookups visit only the nodes under a pattern's literal prefix, never the whole cache.
//!
//! Nodes live in a `Vec` addressed by `u32`; children are found through one hash table keyed by
//! (parent, segment) and enumerated through an intrusive sibling list. A node lives exactly as
//! long as it holds an entry, a tag or a child: `prune` frees it as soon as none is left.

use crate::keys::{segments, Pattern, PatternSegment};
use hashbrown::{DefaultHashBuilder, HashTable};
use std::hash::BuildHasher;

/// The null link for slots and nodes; never a valid index.
pub(crate) const NIL: u32 = u32::MAX;
/// The root stands for the empty prefix; it is never pruned.
pub(crate) const ROOT: u32 = 0;
/// Most live trie nodes; keeps node ids below 2^31, whose bit marks an entry not yet indexed
/// (`UNINDEXED` in the cache), and so below `NIL`.
pub(crate) const MAX_NODES: usize = (1 << 31) - 1;

pub(crate) struct Node {
    /// The segment's text: `Trie::text[at..at + len]`.
    at: usize,
    len: u32,
    parent: u32,
    first_child: u32,
    prev_sibling: u32,
    next_sibling: u32,
    /// The slot whose key ends at this node, or `NIL`.
    pub(crate) entry: u32,
    /// The index in `Trie::tag_lists` of the slots tagged with this node's key, or `NIL`: most
    /// nodes are never a tag, so the list lives apart.
    tags: u32,
}

impl Node {
    fn new(at: usize, len: u32, parent: u32) -> Node {
        Node {
            at,
            len,
            parent,
            first_child: NIL,
            prev_sibling: NIL,
            next_sibling: NIL,
            entry: NIL,
            tags: NIL,
        }
    }
}

/// Bytes of dead segment text tolerated before `Trie::text` is compacted (and at most half).
const TEXT_SLACK: usize = 4096;

pub(crate) struct Trie {
    nodes: Vec<Node>,
    free: Vec<u32>,
    /// (child node, its 32-bit `child_hash`): the stored hash lets the table grow without
    /// reading any node or text (a rehash of a million children otherwise misses the cache on
    /// every one of them) and turns away most non-matching candidates before the node is read.
    children: HashTable<(u32, u32)>,
    /// Per-trie seed of [`child_hash`], drawn from hashbrown's default hasher.
    seed: u64,
    /// Every node's segment, back to back: one allocation instead of one per node.
    text: String,
    /// Bytes of `text` that belong to freed nodes; compacted away once they outweigh the rest.
    dead: usize,
    /// Slots tagged with a node's key, each with the index of this tag in that slot's tag list,
    /// so that removing one tag is O(1) (`swap_remove` plus one back-pointer fix).
    tag_lists: Vec<Vec<(u32, u32)>>,
    free_tag_lists: Vec<u32>,
}

/// The segment of `n` in `text`.
fn seg_of<'a>(text: &'a str, n: &Node) -> &'a str {
    text.get(n.at..n.at + n.len as usize).unwrap_or("")
}

/// The table hash of a stored 32-bit child hash: its bits twice, so that the bucket (low bits)
/// and hashbrown's tag (top 7 bits of the low 32 on wasm32, of all 64 bits natively) both come
/// from it, from distinct bits.
fn spread(h: u32) -> u64 {
    (u64::from(h) << 32) | u64::from(h)
}

/// The hash of (parent, segment) for the child table (the low 32 bits are stored). foldhash (hashbrown's default) multiplies
/// 64 × 64 → 128 bits, which wasm32 emulates with a library call; this one only needs 64-bit
/// multiplies, and the trie hashes one or two short segments per key on every `set`.
fn child_hash(seed: u64, parent: u32, seg: &str) -> u32 {
    const K: u64 = 0x9e37_79b9_7f4a_7c15;
    let step = |h: u64, w: u64| (h ^ w).wrapping_mul(K).rotate_left(31);
    // Little-endian words of up to 8 bytes, built by hand: `copy_from_slice` stays a call at
    // opt-level "z".
    let word = |c: &[u8]| c.iter().rev().fold(0u64, |w, &b| (w << 8) | u64::from(b));
    let bytes = seg.as_bytes();
    // The parent and length get their own round, so they cannot cancel against the text.
    let mut h = step(seed, u64::from(parent) | ((bytes.len() as u64) << 32));
    for c in bytes.chunks(8) {
        h = step(h, word(c));
    }
    // Final avalanche: hashbrown takes the bucket from the low bits and a tag from the top 7.
    h ^= h >> 32;
    h = h.wrapping_mul(K);
    (h ^ (h >> 29)) as u32
}

impl Trie {
    pub(crate) fn new() -> Trie {
        Trie {
            nodes: vec![Node::new(0, 0, NIL)],
            free: Vec::new(),
            children: HashTable::new(),
            seed: DefaultHashBuilder::default().hash_one(0x5eed_u64),
            text: String::new(),
            dead: 0,
            tag_lists: Vec::new(),
            free_tag_lists: Vec::new(),
        }
    }

    fn is_empty(&self, id: u32) -> bool {
        let n = &self.nodes[id as usize];
        n.entry == NIL && n.first_child == NIL && self.tagged(id).is_empty()
    }

    /// The slots tagged with node `id`'s key (with the tag's index in each slot's list).
    pub(crate) fn tagged(&self, id: u32) -> &[(u32, u32)] {
        match self.nodes[id as usize].tags {
            NIL => &[],
            t => &self.tag_lists[t as usize],
        }
    }

    /// `tagged`, to change; gives the node a list if it had none.
    pub(crate) fn tagged_mut(&mut self, id: u32) -> &mut Vec<(u32, u32)> {
        let t = match self.nodes[id as usize].tags {
            NIL => {
                let t = match self.free_tag_lists.pop() {
                    Some(t) => t,
                    None => {
                        // At most one list per node, and node ids stay below NIL.
                        self.tag_lists.push(Vec::new());
                        (self.tag_lists.len() - 1) as u32
                    }
                };
                self.nodes[id as usize].tags = t;
                t
            }
            t => t,
        };
        &mut self.tag_lists[t as usize]
    }

    /// Nodes in use, the root included.
    pub(crate) fn live_nodes(&self) -> usize {
        self.nodes.len() - self.free.len()
    }

    pub(crate) fn node(&self, id: u32) -> &Node {
        &self.nodes[id as usize]
    }

    pub(crate) fn node_mut(&mut self, id: u32) -> &mut Node {
        &mut self.nodes[id as usize]
    }

    fn child(&self, parent: u32, seg: &str) -> Option<u32> {
        let hash = child_hash(self.seed, parent, seg);
        let (nodes, text) = (&self.nodes, self.text.as_str());
        self.children
            .find(spread(hash), |&(c, h)| {
                let n = &nodes[c as usize];
                h == hash && n.parent == parent && seg_of(text, n) == seg
            })
            .map(|&(c, _)| c)
    }

    /// The node of `key`, if some live key or tag has it as a prefix.
    pub(crate) fn lookup(&self, key: &str, delimiter: char) -> Option<u32> {
        segments(key, delimiter).try_fold(ROOT, |n, seg| self.child(n, seg))
    }

    /// The node of `key`, created with its missing ancestors. The caller checks `MAX_NODES` first.
    pub(crate) fn intern(&mut self, key: &str, delimiter: char) -> u32 {
        let mut n = ROOT;
        for seg in segments(key, delimiter) {
            let hash = child_hash(self.seed, n, seg);
            let (nodes, text) = (&self.nodes, self.text.as_str());
            let found = self.children.find(spread(hash), |&(c, h)| {
                let node = &nodes[c as usize];
                h == hash && node.parent == n && seg_of(text, node) == seg
            });
            n = match found {
                Some(&(c, _)) => c,
                None => self.add_child(n, seg, hash),
            };
        }
        n
    }

    /// The key (or tag) that ends at node `id`: its segments from the root, joined.
    pub(crate) fn path(&self, id: u32, delimiter: char) -> String {
        let mut segs = Vec::new();
        let mut len = 0;
        let mut n = id;
        while n != ROOT && n != NIL {
            let node = &self.nodes[n as usize];
            len += node.len as usize + 1;
            segs.push(seg_of(&self.text, node));
            n = node.parent;
        }
        let mut out = String::with_capacity(len);
        for (i, seg) in segs.iter().rev().enumerate() {
            if i > 0 {
                out.push(delimiter);
            }
            out.push_str(seg);
        }
        out
    }

    /// The length in bytes of [`Trie::path`], without building it.
    pub(crate) fn path_len(&self, id: u32, delimiter: char) -> usize {
        let (mut len, mut n) = (0usize, id);
        while n != ROOT && n != NIL {
            let node = &self.nodes[n as usize];
            len += node.len as usize + delimiter.len_utf8();
            n = node.parent;
        }
        len.saturating_sub(delimiter.len_utf8())
    }

    fn add_child(&mut self, parent: u32, seg: &str, hash: u32) -> u32 {
        let mut node = Node::new(self.text.len(), seg.len() as u32, parent);
        self.text.push_str(seg);
        node.next_sibling = self.nodes[parent as usize].first_child;
        let id = match self.free.pop() {
            Some(id) => {
                self.nodes[id as usize] = node;
                id
            }
            None => {
                // The caller keeps live nodes under MAX_NODES, so the new id is below NIL.
                self.nodes.push(node);
                (self.nodes.len() - 1) as u32
            }
        };
        let next = self.nodes[id as usize].next_sibling;
        if next != NIL {
            self.nodes[next as usize].prev_sibling = id;
        }
        self.nodes[parent as usize].first_child = id;
        self.children.insert_unique(spread(hash), (id, hash), |&(_, h)| spread(h));
        id
    }

    /// Frees `id` and then each ancestor that no longer holds an entry, a tag or a child.
    pub(crate) fn prune(&mut self, mut id: u32) {
        while id != ROOT && self.is_empty(id) {
            let node = &self.nodes[id as usize];
            let (parent, prev, next, tags) = (node.parent, node.prev_sibling, node.next_sibling, node.tags);
            let hash = child_hash(self.seed, parent, seg_of(&self.text, node));
            self.dead += node.len as usize;
            if let Ok(found) = self.children.find_entry(spread(hash), |&(c, _)| c == id) {
                found.remove();
            }
            if prev == NIL {
                self.nodes[parent as usize].first_child = next;
            } else {
                self.nodes[prev as usize].next_sibling = next;
            }
            if next != NIL {
                self.nodes[next as usize].prev_sibling = prev;
            }
            if tags != NIL {
                // Empty (the node was), but it may hold capacity: give that back too.
                self.tag_lists[tags as usize] = Vec::new();
                self.free_tag_lists.push(tags);
            }
            self.nodes[id as usize] = Node::new(0, 0, NIL);
            self.free.push(id);
            id = parent;
        }
        if self.dead > TEXT_SLACK && self.dead * 2 > self.text.len() {
            self.compact_text();
        }
    }

    /// Rewrites `text` with only the live nodes' segments.
    fn compact_text(&mut self) {
        let mut text = String::with_capacity(self.text.len() - self.dead);
        for (id, n) in self.nodes.iter_mut().enumerate() {
            // Freed nodes have no parent; only the root has none and is live.
            if id as u32 != ROOT && n.parent != NIL {
                let at = text.len();
                text.push_str(seg_of(&self.text, n));
                n.at = at;
            }
        }
        self.text = text;
        self.dead = 0;
    }

    fn children_of(&self, id: u32) -> impl Iterator<Item = u32> + '_ {
        let link = |n: u32| (n != NIL).then_some(n);
        std::iter::successors(link(self.nodes[id as usize].first_child), move |&c| {
            link(self.nodes[c as usize].next_sibling)
        })
    }

    /// Appends `id` and every node below it to `out`.
    pub(crate) fn subtree(&self, id: u32, out: &mut Vec<u32>) {
        let start = out.len();
        out.push(id);
        let mut i = start;
        while i < out.len() {
            let n = out[i];
            out.extend(self.children_of(n));
            i += 1;
        }
    }

    /// Appends the nodes whose whole subtree `pattern` covers (a match and everything below it).
    /// Visits only nodes that can still match: literal segments are one hash lookup each.
    pub(crate) fn covered_roots(&self, pattern: &Pattern, out: &mut Vec<u32>) {
        let segs = pattern.segments();
        let mut stack = vec![(ROOT, 0usize)];
        while let Some((n, i)) = stack.pop() {
            match segs.get(i) {
                None => out.push(n),
                Some(PatternSegment::Literal(l)) => {
                    if let Some(c) = self.child(n, l) {
                        stack.push((c, i + 1));
                    }
                }
                Some(PatternSegment::One) => stack.extend(self.children_of(n).map(|c| (c, i + 1))),
                // One or more segments: each child's whole subtree matches.
                Some(PatternSegment::Rest) => out.extend(self.children_of(n)),
            }
        }
    }

    /// Appends the nodes whose key `pattern` matches exactly (not the keys below a match).
    pub(crate) fn matching(&self, pattern: &Pattern, out: &mut Vec<u32>) {
        let mut roots = Vec::new();
        self.covered_roots(pattern, &mut roots);
        if matches!(pattern.segments().last(), Some(PatternSegment::Rest)) {
            for r in roots {
                self.subtree(r, out);
            }
        } else {
            out.extend(roots);
        }
    }

    /// Checks the trie's own invariants; for tests.
    pub(crate) fn check(&self) -> Result<(), String> {
        let (mut seen, mut text_len) = (1, 0);
        let mut stack = vec![ROOT];
        while let Some(n) = stack.pop() {
            for c in self.children_of(n) {
                let node = &self.nodes[c as usize];
                if node.parent != n {
                    return Err(format!("node {c} has parent {} but is a child of {n}", node.parent));
                }
                if self.child(n, seg_of(&self.text, node)) != Some(c) {
                    return Err(format!("node {c} is missing from the child table"));
                }
                if self.is_empty(c) {
                    return Err(format!("node {c} is empty but was not pruned"));
                }
                seen += 1;
                text_len += node.len as usize;
                stack.push(c);
            }
        }
        if text_len + self.dead != self.text.len() {
            return Err(format!("{text_len} live + {} dead bytes != {} of text", self.dead, self.text.len()));
        }
        let lists = self.nodes.iter().filter(|n| n.tags != NIL).count();
        if lists + self.free_tag_lists.len() != self.tag_lists.len() {
            return Err("tag lists are leaked or shared".into());
        }
        if seen != self.live_nodes() || self.children.len() + 1 != seen {
            return Err(format!(
                "{seen} reachable nodes, {} live, {} in the child table",
                self.live_nodes(),
                self.children.len()
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn child_hashes_spread_over_buckets_and_tags() {
        // Keys shaped like cache keys: numeric ids under a few parents, plus longer segments.
        let (mut seen, mut collisions) = (hashbrown::HashSet::new(), 0);
        let (mut low, mut top) = ([0u32; 256], [0u32; 128]);
        let mut n = 0u32;
        for parent in 0..8u32 {
            for i in 0..20_000 {
                let seg = if i % 2 == 0 { i.to_string() } else { format!("segment-of-some-length-{i}") };
                let h = child_hash(0x5eed, parent, &seg);
                collisions += usize::from(!seen.insert(h));
                low[(h & 0xff) as usize] += 1;
                top[(h >> 25) as usize] += 1;
                n += 1;
            }
        }
        // 160k random 32-bit values collide about 3 times; a weak hash would collide far more.
        assert!(collisions < 20, "{collisions} 32-bit collisions");
        // Uniform would be n/256 and n/128 per bin; allow ±15 %.
        for (bins, count) in [(&low[..], 256), (&top[..], 128)] {
            let expected = n / count;
            assert!(bins.iter().all(|&b| b.abs_diff(expected) < expected * 15 / 100), "uneven: {bins:?}");
        }
        assert_ne!(child_hash(1, 0, "a"), child_hash(2, 0, "a"), "the seed changes the hash");
        assert_ne!(child_hash(1, 0, "ab"), child_hash(1, 0, "ab\0"), "the length is part of the hash");
    }
}
