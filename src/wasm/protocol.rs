//! The wire protocol of cascade sets and plans: the compact form a cascade set takes to cross
//! into JS in one string and one row of numbers, and the plans JS keeps to answer repeated
//! changes without calling wasm. See `PROTOCOL.md` beside this file for every crossing.
//!
//! Pure Rust, compiled on every target so native tests hold it (behind the `test-api` feature);
//! it reads the engine's run through the view `crate::engine` exposes to the crate.

use crate::cascade::{tag_for, Op};
use crate::engine::{ChangeRef, Engine, Run};
use crate::error::Result;
use crate::template::KeyTemplate;
use crate::text::{has_char, span};
use crate::value::Value;
use crate::Change;

/// A cascade set in the form that crosses into JS cheaply: every key and pattern concatenated in
/// one string, in trace order, followed by the tags that differ from their key; and numbers.
///
/// `meta` is `[truncated, depth, n]` then, per trace entry, six numbers: the key's length in
/// UTF-16 units, the rule index + 1 (0: none), the source key's trace index + 1 (0: none), the
/// depth, flags (1: coarse, 2: pattern), and the tag's UTF-16 length (0: the tag is the key).
#[derive(Debug, Default)]
pub struct CompactSet {
    pub text: String,
    pub meta: Vec<u32>,
}

/// Numbers before a [`CompactSet`]'s first key: truncated (0 or 1), depth, the number of keys.
pub const SET_HEADER: u32 = 3;
/// Numbers per key of a [`CompactSet`].
pub const SET_ENTRY: u32 = 6;
/// A key's flag in a [`CompactSet`]: a placeholder without a value was made `*`.
pub const FLAG_COARSE: u32 = 1;
/// A key's flag in a [`CompactSet`]: the key is a pattern.
pub const FLAG_PATTERN: u32 = 2;
/// `op` as the exports take it (`cascadeIdCompact`, `planCompact`…); `op_of` reads any other
/// number as an update, so this one is read by the JS side alone (generated into its constants).
#[allow(dead_code)]
pub const OP_UPDATE: u32 = 0;
pub const OP_CREATE: u32 = 1;
pub const OP_DELETE: u32 = 2;

/// `op` as the exports take it (an unknown number reads as an update).
pub fn op_of(op: u32) -> Op {
    match op {
        OP_CREATE => Op::Create,
        OP_DELETE => Op::Delete,
        _ => Op::Update,
    }
}

/// What [`Engine::plan_compact`] tells beside the planned set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CascadePlan {
    /// The byte that stands for the id in the planned keys.
    pub id_mark: u8,
    /// The stats edge slots a cascade of the plan counts, for [`Engine::record_planned`].
    pub edge_slots: Vec<u32>,
    /// Per key of the planned set, the stats edge slot its run counted for it, or [`NO_EDGE`]
    /// (the changed entity's own key, or an edge without a slot): what a batch counts for the
    /// keys it adds (see [`Engine::record_planned_batch`]).
    pub key_slots: Vec<u32>,
}

/// A [`CascadePlan::key_slots`] entry for a key that counts no stats edge.
pub const NO_EDGE: u32 = u32::MAX;

/// Whether an id byte is kept as it is in keys and tags: printable ASCII other than the
/// delimiter and what encoding escapes (`%`, `*`, `{`, `}`, `,`). An id of such bytes is one
/// segment of the same text whatever the rules: it can only be spliced, never re-shaped.
pub fn plain_id_byte(b: u8, delimiter: char) -> bool {
    (0x21..0x7f).contains(&b) && !matches!(b, b'%' | b'*' | b'{' | b'}' | b',') && char::from(b) != delimiter
}

impl Engine {
    /// As [`Engine::cascade_batch`], writing the set in the compact form the JS binding expands.
    pub fn cascade_batch_compact(&mut self, changes: &[Change], out: &mut CompactSet) -> Result<()> {
        let changes: Vec<ChangeRef<'_>> = changes.iter().map(ChangeRef::from).collect();
        self.compact(&changes, out)
    }

    /// As [`Engine::cascade_batch_compact`] for one change without data, given by its parts.
    pub fn cascade_id_compact(&mut self, entity: &str, id: &str, op: Op, out: &mut CompactSet) -> Result<()> {
        self.compact(&[ChangeRef { entity, id, op, data: None, before: None }], out)
    }

    fn compact(&mut self, changes: &[ChangeRef<'_>], out: &mut CompactSet) -> Result<()> {
        let (mut run, _) = self.run_with(changes, true, false)?;
        encode(&mut run, out);
        self.keep(run);
        Ok(())
    }

    /// As [`Engine::cascade_key`], in the compact form; `false` for a key that is not an
    /// entity key.
    pub fn cascade_key_compact(&mut self, key: &str, out: &mut CompactSet) -> bool {
        let (ks, id) = match key.split_once(self.options.delimiter) {
            Some((ks, id)) if !has_char(id, self.options.delimiter) && id != "*" => (ks, id),
            _ => return false,
        };
        let Some(e) = self.catalog.by_keyspace(ks) else { return false };
        let id = self.id_of_segment(e, id);
        self.cascade_id_compact(ks, &id, Op::Update, out).is_ok()
    }

    /// Plans the cascade of a change of `entity` without data, for any id: writes the cascade
    /// set of the id [`CascadePlan::id_mark`] in the compact form (nothing is recorded in the
    /// stats; see [`Engine::record_planned`]). That byte occurs in no template and no keyspace,
    /// so each occurrence in a key is the id: for an id that encoding keeps as it is (see
    /// [`plain_id_byte`]), that keeps every key within [`MAX_KEY_LEN`], and that leaves the keys
    /// distinct, the cascade set is the planned one with the id in place of each mark.
    ///
    /// `None` when the set could depend on the id in any other way: the engine logs, an id lands
    /// in a key's first segment (which names the entity a key cascades to and labels its stats
    /// edge), the fan-out budget is reached, a tag differs from its key; or the change is refused.
    pub fn plan_compact(&mut self, entity: &str, op: Op, out: &mut CompactSet) -> Option<CascadePlan> {
        let mark = self.plan_mark()?;
        let id = [mark];
        let id = std::str::from_utf8(&id).ok()?;
        self.plan_run(ChangeRef { entity, id, op, data: None, before: None }, mark, out)
    }

    /// The byte [`Engine::plan_compact`] puts in place of the id, and [`Engine::plan_compact_data`]
    /// around the numbers that stand for values; `None` when no byte is free for it (then no
    /// cascade can be planned).
    pub fn plan_mark(&mut self) -> Option<u8> {
        // As a cascade: a loaded engine builds only the auto rules the run reaches.
        self.book.prepare(&self.catalog, self.options.delimiter);
        let version = self.book.version();
        match self.id_mark {
            Some((v, mark)) if v == version => mark,
            _ => {
                let mark = self.find_id_mark();
                self.id_mark = Some((version, mark));
                mark
            }
        }
    }

    /// [`Engine::plan_compact`] for a change with data: `id` and every value in `data` that a
    /// key may take are stand-ins made of the [`Engine::plan_mark`] byte around a number
    /// (`M0M` for the id, `M1M`… for the values; the caller keeps which is which), so each
    /// stand-in in a planned key is where that value goes. Other values (`null`, booleans,
    /// numbers that are not ids) stay as they are: the plan holds for data of that shape only.
    ///
    /// `before`, when given, is the data before the change with stand-ins too: the caller gives a
    /// value equal to the one at the same path of `data` the same stand-in, so a key rendered from
    /// both states, and an `onFields` test, come out as they would for the real values.
    ///
    /// `None` in the cases of `plan_compact`, and when a rule's condition read the data (its
    /// outcome would hold for the stand-ins only).
    pub fn plan_compact_data(
        &mut self,
        entity: &str,
        op: Op,
        id: &str,
        data: &Value,
        before: Option<&Value>,
        out: &mut CompactSet,
    ) -> Option<CascadePlan> {
        let mark = self.plan_mark()?;
        if self.hooks.logging() {
            return None;
        }
        let change = ChangeRef { entity, id, op, data: Some(data), before };
        // A plan whose run read the data (a rule's condition) holds for the stand-ins only.
        let (mut run, consulted) = self.run_with(&[change], false, true).ok()?;
        let plan = if consulted { None } else { self.plan_of(&mut run, mark, out) };
        self.keep(run);
        plan
    }

    /// The run of a plan (see [`Engine::plan_compact`]), encoded into `out` when it can stand for
    /// every value its `mark` bytes stand for.
    fn plan_run(&mut self, change: ChangeRef<'_>, mark: u8, out: &mut CompactSet) -> Option<CascadePlan> {
        if self.hooks.logging() {
            return None;
        }
        let (mut run, _) = self.run_with(&[change], false, false).ok()?;
        let plan = self.plan_of(&mut run, mark, out);
        self.keep(run);
        plan
    }

    /// Encodes a plan's run into `out` when it can stand for every value its `mark` bytes
    /// stand for: no key reaches the budget, no tag differs from its key, no mark in a keyspace.
    fn plan_of(&mut self, run: &mut Run, mark: u8, out: &mut CompactSet) -> Option<CascadePlan> {
        let delimiter = self.options.delimiter;
        let plannable = run.entries.len() < self.options.max_keys
            && (0..run.entries.len() as u32).all(|i| {
                let key = run.key(i);
                let first = key.find(delimiter).map_or(key, |at| span(key, ..at));
                run.entries[i as usize].plain_tag && !first.as_bytes().contains(&mark)
            });
        plannable.then(|| {
            let mut key_slots = vec![NO_EDGE; run.entries.len()];
            for &edge in &run.edges {
                if let Some(slot) = self.edge_slot(run, edge) {
                    key_slots[edge.3 as usize] = slot;
                }
            }
            let edge_slots = key_slots.iter().copied().filter(|&s| s != NO_EDGE).collect();
            encode(run, out);
            CascadePlan { id_mark: mark, edge_slots, key_slots }
        })
    }

    /// A byte for [`Engine::plan_compact`] to stand for the id: a [`plain_id_byte`] that occurs in
    /// no template and no keyspace (so in no key but where the id was put).
    ///
    /// Auto rules not built yet (see `partial`) are covered by what their templates are made of:
    /// keyspaces, key fields, relationship fields and inverses, braces, `_` and `*`.
    fn find_id_mark(&self) -> Option<u8> {
        let mut used = [false; 128];
        let texts = self.book.slots().iter().flat_map(|r| r.cascade_to.iter().map(KeyTemplate::as_str));
        let entities = self
            .catalog
            .keyed()
            .iter()
            .flat_map(|e| std::iter::once(&e.keyspace).chain(&e.key_fields))
            .map(String::as_str);
        let relationships =
            self.catalog.table().iter().flat_map(|r| std::iter::once(r.field()).chain(r.inverse()));
        let pieces = entities.chain(relationships).chain(["{}_*id"]);
        for text in texts.chain(pieces) {
            for b in text.bytes().filter(u8::is_ascii) {
                used[b as usize] = true;
            }
        }
        (0x21..0x7f).rev().find(|&b| !used[b as usize] && plain_id_byte(b, self.options.delimiter))
    }

    /// Records `cascades` cascades of one change each, planned by [`Engine::plan_compact`] and
    /// answered from the plan: the `depth` and `keys` of its set and the stats edge slots its
    /// run counts, as if each had run.
    pub fn record_planned(&mut self, cascades: u64, depth: u32, keys: u64, edge_slots: &[u32]) {
        self.stats.record_many(cascades, depth, keys);
        for &slot in edge_slots {
            self.stats.count_edge_by(slot, cascades);
        }
    }

    /// Records one batch of `changes` changes answered from plans: its set's `depth` and number
    /// of `keys`, and the stats edge slots of the keys it added (see [`CascadePlan::key_slots`]),
    /// as the batch's run would have counted them.
    pub fn record_planned_batch(&mut self, changes: usize, depth: u32, keys: usize, edge_slots: &[u32]) {
        self.stats.record(changes, depth, 0.0, keys);
        for &slot in edge_slots {
            self.stats.count_edge_by(slot, 1);
        }
    }
}

/// The compact form the JS binding expands (see [`CompactSet`]). The keys' text moves into
/// `out` (the run takes `out`'s old buffer for the next cascade).
fn encode(run: &mut Run, out: &mut CompactSet) {
    out.meta.clear();
    out.meta.reserve((SET_HEADER + SET_ENTRY * run.entries.len() as u32 + 2) as usize);
    out.meta.extend([u32::from(run.truncated), run.depth, run.entries.len() as u32]);
    for (i, e) in run.entries.iter().enumerate() {
        let tag_len = if e.plain_tag {
            0 // tag_for(k) == k
        } else {
            utf16_len(&tag_for(run.key(i as u32)))
        };
        let len =
            if e.ascii { run.end(i as u32) - run.start(i as u32) } else { utf16_len(run.key(i as u32)) };
        let flags = if e.coarse { FLAG_COARSE } else { 0 } | if e.pattern { FLAG_PATTERN } else { 0 };
        out.meta.extend([len, e.rule.wrapping_add(1), e.from.wrapping_add(1), e.depth, flags, tag_len]);
    }
    let odd_tags = run.entries.iter().any(|e| !e.plain_tag);
    std::mem::swap(&mut out.text, &mut run.text);
    if odd_tags {
        for (i, e) in run.entries.iter().enumerate() {
            if !e.plain_tag {
                let start = if i == 0 { 0 } else { run.entries[i - 1].end };
                let tag = tag_for(span(&out.text, start as usize..e.end as usize));
                out.text.push_str(&tag);
            }
        }
    }
}

fn utf16_len(s: &str) -> u32 {
    if s.is_ascii() {
        s.len() as u32
    } else {
        s.encode_utf16().count() as u32
    }
}
