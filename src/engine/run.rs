//! One cascade computation (SPEC §4): the changes' keys, the rules they fire, the keys those
//! render, breadth first, until the depth or fan-out budget ends it.
//!
//! A [`Cascade`] only reads the catalogue and the rule book; what it writes is its [`Run`] and
//! the embedder's hooks (log lines, JS predicates).

use super::catalog::Catalog;
use super::rulebook::{camel_case, RuleBook};
use super::{EngineOptions, Hooks};
use crate::cascade::{tag_for, CascadeSet, Change, Op, Trace};
use crate::condition::fields_differ;
use crate::error::{Error, Result};
use crate::keys::{keyspace_for_type, push_id_segment, MAX_KEY_LEN};
use crate::rules::{Origin, Rule};
use crate::schema::Entity;
use crate::text::span;
use crate::value::Value;
use hashbrown::HashSet;
use std::borrow::Cow;
use std::collections::VecDeque;
use std::hash::BuildHasher;

/// The cascade of a batch of changes over an engine's catalogue and rules.
pub(crate) struct Cascade<'e> {
    pub(crate) options: &'e EngineOptions,
    pub(crate) catalog: &'e Catalog,
    pub(crate) book: &'e RuleBook,
    pub(crate) hooks: &'e mut Hooks,
    /// Set while a plan's stand-ins cascade: a JS predicate must not see them.
    pub(crate) planning_data: bool,
    /// Set when a rule's condition was evaluated on change data: a plan made from such a run
    /// would hold for the planned values only.
    pub(crate) consulted_data: bool,
}

impl Cascade<'_> {
    /// Cascades `changes` into `run` (empty). A refused change (unknown entity, key too long)
    /// is an error before anything was expanded or logged.
    pub(crate) fn run(&mut self, changes: &[ChangeRef<'_>], run: &mut Run) -> Result<()> {
        let delimiter = self.options.delimiter;
        // Validate everything first: a bad change leaves stats and logs untouched.
        for c in changes {
            // Consecutive changes mostly name one entity: its index is remembered by name.
            let known = (run.entity != NONE && run.entity_name == c.entity).then_some(run.entity as usize);
            let checked = known.map_or_else(|| self.catalog.entity_index(c.entity), Ok).and_then(|ei| {
                if known.is_none() {
                    run.entity_name.clear();
                    run.entity_name.push_str(c.entity);
                    run.entity = ei as u32;
                }
                run.id.clear();
                let keyed = &self.catalog.keyed()[ei];
                push_id_segment(&mut run.id, c.id, keyed.key_fields.len(), delimiter).map_err(|_| {
                    Error::change(format!(
                        "`{}` has a composite key: its id is one value per key field, each encoded \
                         as a key segment, joined by `,` (`1,7`)",
                        keyed.type_name
                    ))
                })?;
                let len = keyed.keyspace.len() + delimiter.len_utf8() + run.id.len();
                if len > MAX_KEY_LEN {
                    return Err(Error::LimitExceeded { what: "key length", limit: MAX_KEY_LEN, actual: len });
                }
                Ok(ei)
            });
            match checked {
                Ok(ei) => run.seeds.push(ei as u32),
                Err(e) => return Err(e),
            }
        }
        let seeds = std::mem::take(&mut run.seeds);
        let mut queue = std::mem::take(&mut run.queue);
        for (ci, (c, &entity)) in changes.iter().zip(&seeds).enumerate() {
            let start = run.text.len();
            let keyed = &self.catalog.keyed()[entity as usize];
            run.text.push_str(&keyed.keyspace);
            run.text.push(delimiter);
            // Checked above.
            let _ = push_id_segment(&mut run.text, c.id, keyed.key_fields.len(), delimiter);
            if self.hooks.logging() {
                let line = format!("[CASCADE] {} changed", span(&run.text, start..));
                self.hooks.log(&line);
            }
            // Each change of a batch cascades with its own data, as it would alone; the set stays
            // deduplicated.
            run.next_change();
            let key = match run.add_tail(start, NONE, NONE, 0, false) {
                Added::New(i) => {
                    // `keyspace:id` names its own entity (a keyspace is looked up as itself).
                    if run.entries[i as usize].id_at != NONE {
                        run.entries[i as usize].follow = entity;
                    }
                    i
                }
                Added::Present(i) => i,
                Added::Dropped => unreachable!("a changed entity's own key is never dropped"),
            };
            run.reach(key);
            let id_at = run.start(key)
                + self.catalog.keyed()[entity as usize].keyspace.len() as u32
                + delimiter.len_utf8() as u32;
            queue.push_back(Work {
                entity,
                key,
                id_at,
                change: ci as u32,
                op: c.op,
                depth: 0,
                remaining: self.options.max_depth,
                limited_by_rule: false,
            });
            while let Some(work) = queue.pop_front() {
                self.expand(&work, changes, run, &mut queue);
            }
        }
        run.seeds = seeds;
        run.seeds.clear();
        run.queue = queue;
        Ok(())
    }

    /// Sets which entity the new key `i` names, when it is an entity key (`keyspace:id`), so the
    /// cascade can follow it.
    fn follow(&self, run: &mut Run, i: u32) {
        let e = &run.entries[i as usize];
        if e.id_at == NONE {
            return;
        }
        let ks_end = e.id_at as usize - self.options.delimiter.len_utf8();
        let ks = span(&run.text, run.start(i) as usize..ks_end);
        if let Some(ei) = self.catalog.by_keyspace(ks) {
            run.entries[i as usize].follow = ei as u32;
        }
    }

    fn expand(&mut self, work: &Work, changes: &[ChangeRef<'_>], run: &mut Run, queue: &mut VecDeque<Work>) {
        let (catalog, book) = (self.catalog, self.book);
        if work.remaining == 0 {
            // The budget ran out here; it only counts as truncation when the global depth (not
            // a rule's own maxDepth) stopped rules that would have fired.
            if !work.limited_by_rule && book.has_rules(work.entity as usize) {
                run.truncated = true;
            }
            return;
        }
        let (data, before) = match changes.get(work.change as usize) {
            Some(c) => (c.data, c.before),
            None => (None, None),
        };
        let delimiter = self.options.delimiter;
        // The id segment is copied out of the run's text, which the renderings append to.
        let mut id = std::mem::take(&mut run.id);
        id.clear();
        id.push_str(span(&run.text, work.id_at as usize..run.end(work.key) as usize));
        let mut scratch = std::mem::take(&mut run.scratch);
        let rule_ids = book.rules_of(work.entity as usize, catalog, delimiter);
        for &ri in rule_ids {
            // Each key is queued once per change (`reach`), so each (rule, key) pair is expanded
            // once per change, which is what ends cycles.
            let rule = book.entity_rule(work.entity as usize, ri);
            if !self.fires(rule, work, data, before) {
                continue;
            }
            let logging = self.hooks.logging();
            if logging {
                let line = format!("[CASCADE] → Evaluating rule: {}", rule.id);
                self.hooks.log(&line);
            }
            let entity = &catalog.keyed()[work.entity as usize];
            let (remaining, limited_by_rule) = match rule.max_depth {
                Some(d) if d < work.remaining - 1 => (d, true),
                _ => (work.remaining - 1, false),
            };
            let mut produced = 0;
            // A key names where the entity is listed, and that can differ before and after the
            // change (a re-parented post leaves `user:1:posts` and joins `user:2:posts`), so each
            // template is rendered from the data after the change and from the data before it.
            // A deletion that carries only `before` has no after state to render.
            let after_state = data.is_some() || before.is_none() || work.op != Op::Delete;
            for (ti, t) in rule.cascade_to.iter().enumerate() {
                // Past the fan-out budget, a key whose keyspace is already listed as `ks:*` is
                // dropped, or found listed, and a key of other than two segments never names an
                // entity to follow: such a template would add nothing, so it is not rendered.
                if run.past_budget()
                    && t.segment_count() != 2
                    && t.fixed_first_segment().is_some_and(|ks| run.keyspace_wildcards.contains(ks))
                {
                    continue;
                }
                // Rendered in place at the end of the run's text; `add_tail` keeps or drops it.
                let start = run.text.len();
                // No key for a state whose foreign key is explicitly null (it names no parent), nor
                // for a coarse rendering of another member's reference (`other_member`).
                let e = work.entity as usize;
                let after = after_state
                    .then(|| {
                        let mut orphan = false;
                        let (coarse, _) = t.render_into(&mut run.text, delimiter, |name| {
                            resolve(name, entity, &id, data).value(&mut orphan)
                        });
                        let keep = !orphan && (!coarse || !other_member(catalog, rule, t, e, data, None));
                        if !keep {
                            run.text.truncate(start);
                        }
                        keep.then_some(coarse)
                    })
                    .flatten();
                let before_coarse = before.and_then(|b| {
                    scratch.clear();
                    let mut orphan = false;
                    let (coarse, _) = t.render_into(&mut scratch, delimiter, |name| {
                        // A field `before` does not mention is taken as unchanged.
                        match resolve(name, entity, &id, Some(b)) {
                            Fill::Missing => resolve(name, entity, &id, data),
                            fill => fill,
                        }
                        .value(&mut orphan)
                    });
                    let other = coarse && other_member(catalog, rule, t, e, data, Some(b));
                    (!orphan && !other && (after.is_none() || scratch != span(&run.text, start..)))
                        .then_some(coarse)
                });
                for (from_before, coarse) in [(false, after), (true, before_coarse)] {
                    let Some(coarse) = coarse else { continue };
                    let start = if from_before {
                        run.text.push_str(&scratch);
                        run.text.len() - scratch.len()
                    } else {
                        start
                    };
                    let coarse = if run.text.len() - start > MAX_KEY_LEN {
                        run.text.truncate(start);
                        t.render_into(&mut run.text, delimiter, |_| None).0
                    } else {
                        coarse
                    };
                    let ki =
                        match run.add_tail(start, ri as u32, work.key, work.depth + 1, coarse || rule.coarse)
                        {
                            Added::New(ki) => {
                                produced += 1;
                                self.follow(run, ki);
                                run.edges.push((work.entity, ri as u32, ti as u32, ki));
                                ki
                            }
                            // Listed by an earlier change of the batch: this change may reach further.
                            Added::Present(ki) => ki,
                            Added::Dropped => continue,
                        };
                    if !run.reach(ki) {
                        continue;
                    }
                    let e = &run.entries[ki as usize];
                    if e.follow == NONE {
                        continue;
                    }
                    queue.push_back(Work {
                        entity: e.follow,
                        key: ki,
                        id_at: e.id_at,
                        change: NONE,
                        op: Op::Update,
                        depth: work.depth + 1,
                        remaining,
                        limited_by_rule,
                    });
                }
            }
            if logging {
                let line = format!("[CASCADE] → Matched {produced} keys");
                self.hooks.log(&line);
            }
        }
        run.id = id;
        run.scratch = scratch;
    }

    fn fires(&mut self, rule: &Rule, work: &Work, data: Option<&Value>, before: Option<&Value>) -> bool {
        if work.op == Op::Update && !rule.on_fields.is_empty() {
            if let (Some(before), Some(after)) = (before, data) {
                if !fields_differ(&rule.on_fields, before, after) {
                    return false;
                }
            }
        }
        let Some(cond) = &rule.when else { return true };
        // Without data (an entity reached by the cascade) a condition cannot be checked; firing
        // purges more than needed, which is safe, where not firing could leave stale data. The
        // same holds for an update or create whose after state is unknown.
        let after_unknown = data.is_none() && (work.op != Op::Delete || before.is_none());
        if after_unknown {
            return true;
        }
        self.consulted_data = true;
        if self.planning_data {
            // The plan is refused anyway; a JS predicate must not see the stand-ins.
            return true;
        }
        // The rule's keys held the entity while its condition was true, so it fires when the
        // condition holds after the change or held before it (a post leaving `published` must
        // still purge the published feed). `changed` compares the same two states either way.
        let mut eval = |data: &Value, other: Option<&Value>| match &mut self.hooks.external {
            Some(ext) => cond.eval(data, other, ext.as_mut()),
            None => cond.eval(data, other, &mut |_, _| true),
        };
        data.is_some_and(|d| eval(d, before)) || before.is_some_and(|b| eval(b, data))
    }
}

/// Whether a coarse rendering of `t` is to be dropped: `rule` is an auto rule, and a foreign key
/// it could not fill is one member's of an interface or union field whose data (`before`, else
/// `data`) names another member's (see [`Catalog::names_other_member`]).
#[inline(never)]
fn other_member(
    catalog: &Catalog,
    rule: &Rule,
    t: &crate::template::KeyTemplate,
    e: usize,
    data: Option<&Value>,
    before: Option<&Value>,
) -> bool {
    if !matches!(rule.origin, Origin::Auto { .. }) || (data.is_none() && before.is_none()) {
        return false;
    }
    // A foreign key is never the entity's own id: it is looked up in the data alone.
    let filled =
        |p: &str| before.and_then(|b| lookup_field(b, p)).or_else(|| lookup_field(data?, p)).is_some();
    t.placeholders().any(|p| !filled(p) && catalog.names_other_member(e, p, &filled))
}

/// A placeholder's value in a change's data.
enum Fill<'v> {
    /// The raw value, or an already-encoded segment when the bool is true.
    Value(Cow<'v, str>, bool),
    /// No value: the segment becomes `*` (coarse).
    Missing,
    /// An explicit `null`: the reference names no parent, so the key is not rendered.
    Null,
}

impl<'v> Fill<'v> {
    /// What `KeyTemplate::render_into` takes; sets `orphan` for an explicit `null`.
    fn value(self, orphan: &mut bool) -> Option<(Cow<'v, str>, bool)> {
        match self {
            Fill::Value(v, encoded) => Some((v, encoded)),
            Fill::Missing => None,
            Fill::Null => {
                *orphan = true;
                None
            }
        }
    }
}

/// Fills a placeholder from the work item: `{id}` (and the entity's key field) is the encoded id,
/// a key field of a composite key its part of the id (`{number}` of `1,7` is `7`); other names
/// are looked up in the data (see [`lookup_field`]).
fn resolve<'v>(name: &str, entity: &Entity, id: &'v str, data: Option<&'v Value>) -> Fill<'v> {
    if name == "id" {
        return Fill::Value(Cow::Borrowed(id), true);
    }
    if let Some(i) = entity.key_fields.iter().position(|k| k == name) {
        let part = if entity.key_fields.len() == 1 { Some(id) } else { id.split(',').nth(i) };
        if let Some(part) = part {
            return Fill::Value(Cow::Borrowed(part), true);
        }
    }
    let Some(data) = data else { return Fill::Missing };
    match lookup_field(data, name) {
        None => Fill::Missing,
        Some(Value::Null) => Fill::Null,
        Some(Value::String(s)) => Fill::Value(Cow::Borrowed(s.as_str()), false),
        Some(v) => v.to_scalar_string().map_or(Fill::Missing, |s| Fill::Value(Cow::Owned(s), false)),
    }
}

/// Looks up a placeholder's value: the path itself, then for a foreign key `a_b` the camelCase
/// spelling `aB`, the snake_case column of a camelCase field (`maybeTag_id` → `maybe_tag_id`,
/// `item_orgId` → `item_org_id`, as SQL rows spell them), and the nested object `a.b`.
/// `Some(Null)` when the value, or an object on its path, is an explicit `null`.
pub(crate) fn lookup_field<'v>(data: &'v Value, name: &str) -> Option<&'v Value> {
    static NULL: Value = Value::Null;
    if let Some(v) = data.get_path_or_null(name) {
        return Some(v);
    }
    let (head, tail) = name.rsplit_once('_')?;
    if let Some((outer, _)) = head.rsplit_once('.') {
        // A foreign key inside a value type (`profile.employer_id`): its spellings under `profile`.
        return lookup_field(data.get_path(outer)?, span(name, outer.len() + 1..));
    }
    if let Some(v) = data.get(&camel_case(name)) {
        return Some(v);
    }
    if name.bytes().any(|b| b.is_ascii_uppercase()) {
        if let Some(v) = data.get(&keyspace_for_type(name)) {
            return Some(v);
        }
    }
    match data.get(head)? {
        Value::Null => Some(&NULL),
        v => v.get(tail),
    }
}

/// No rule or no source key (a changed entity's own key).
pub(crate) const NONE: u32 = u32::MAX;

/// The most keys a finished run may hold and still be kept for reuse (`Engine::spare`).
pub(crate) const SPARE_RUN_KEYS: usize = 4096;

/// A change as the run reads it: borrowed, so a change given by its parts needs no `Change`.
#[derive(Clone, Copy)]
pub(crate) struct ChangeRef<'a> {
    pub(crate) entity: &'a str,
    pub(crate) id: &'a str,
    pub(crate) op: Op,
    pub(crate) data: Option<&'a Value>,
    pub(crate) before: Option<&'a Value>,
}

impl<'a> From<&'a Change> for ChangeRef<'a> {
    fn from(c: &'a Change) -> Self {
        ChangeRef { entity: &c.entity, id: &c.id, op: c.op, data: c.data.as_ref(), before: c.before.as_ref() }
    }
}

/// One entity change waiting to be expanded.
#[derive(Clone, Copy)]
pub(crate) struct Work {
    pub(crate) entity: u32,
    /// The entity's key, as an index into the run's keys.
    pub(crate) key: u32,
    /// Where the key's id segment (what `{id}` renders to) starts in [`Run::text`].
    pub(crate) id_at: u32,
    /// The change whose data the rules see (an index into the batch), or [`NONE`] for an
    /// entity reached by the cascade, which has no data.
    pub(crate) change: u32,
    pub(crate) op: Op,
    pub(crate) depth: u32,
    /// How many more levels may follow from this change.
    pub(crate) remaining: u32,
    /// Whether `remaining` was set by a rule's own `maxDepth` rather than the global budget.
    pub(crate) limited_by_rule: bool,
}

/// One key of a run, in the order produced; its text is a span of [`Run::text`].
pub(crate) struct Entry {
    /// The rule that produced the key, or [`NONE`].
    pub(crate) rule: u32,
    /// The key whose change fired the rule (a key index), or [`NONE`].
    pub(crate) from: u32,
    pub(crate) depth: u32,
    /// Where the key's text ends in [`Run::text`] (it starts where the previous key ends).
    pub(crate) end: u32,
    /// The number of the last change of the batch that reached the key (see [`Run::reach`]).
    pub(crate) reached: u32,
    /// The entity the key names (`keyspace:id`), to cascade further, or [`NONE`].
    pub(crate) follow: u32,
    /// Where the id segment starts in [`Run::text`] when the key looks like `keyspace:id`, or
    /// [`NONE`].
    pub(crate) id_at: u32,
    pub(crate) coarse: bool,
    pub(crate) pattern: bool,
    /// Whether the key's CDN tag is the key itself (see [`tag_for`]).
    pub(crate) plain_tag: bool,
    pub(crate) ascii: bool,
}

/// What the rest of a cascade needs to know about a key's text.
pub(crate) struct KeyShape {
    pub(crate) pattern: bool,
    pub(crate) plain_tag: bool,
    pub(crate) ascii: bool,
    /// Where the id starts when the key looks like `keyspace:id` (one delimiter, no wildcard).
    pub(crate) id_at: Option<usize>,
}

impl KeyShape {
    fn of(key: &str, delimiter: char) -> KeyShape {
        let bytes = key.as_bytes();
        let (plain_tag, pattern, first, delimiters) = if delimiter.is_ascii() {
            // One pass; an ASCII delimiter never occurs inside a multi-byte character.
            let d = delimiter as u8;
            let (mut plain, mut pattern, mut first, mut count) = (true, false, usize::MAX, 0);
            let mut i = 0;
            while i < bytes.len() {
                let b = bytes[i];
                // `tag_for(key) == key` when every byte is printable ASCII other than `,`.
                plain &= b.wrapping_sub(0x21) < 0x5e && b != b',';
                if b == d {
                    first = first.min(i);
                    count += 1;
                } else if b == b'*' {
                    // A whole `*` segment.
                    pattern |= (i == 0 || bytes[i - 1] == d) && (i + 1 == bytes.len() || bytes[i + 1] == d);
                }
                i += 1;
            }
            (plain, pattern, first, count)
        } else {
            let plain = bytes.iter().all(|&b| b.is_ascii_graphic() && b != b',');
            let pattern = key.split(delimiter).any(|s| s == "*");
            (plain, pattern, key.find(delimiter).unwrap_or(usize::MAX), key.matches(delimiter).count())
        };
        KeyShape {
            pattern,
            plain_tag,
            ascii: plain_tag || key.is_ascii(),
            id_at: (delimiters == 1 && !pattern).then(|| first + delimiter.len_utf8()),
        }
    }
}

/// The state of one cascade computation. Keys are held once, back to back in `text`, and
/// referred to by index everywhere else (the visited set, the trace, the work queue, the stats
/// edges). A finished run is kept by the engine and cleared for the next one, so its buffers
/// and tables keep their capacity.
pub(crate) struct Run {
    pub(crate) max_keys: usize,
    pub(crate) delimiter: char,
    pub(crate) hasher: hashbrown::DefaultHashBuilder,
    /// Every key's text, in order; key `i` spans `entries[i - 1].end..entries[i].end`.
    pub(crate) text: String,
    pub(crate) entries: Vec<Entry>,
    /// Key indexes, hashed by the key text.
    pub(crate) seen: hashbrown::HashTable<u32>,
    /// The number of the change being cascaded (1 for the first of a batch).
    pub(crate) change: u32,
    pub(crate) keyspace_wildcards: HashSet<String>,
    pub(crate) truncated: bool,
    /// The deepest level reached.
    pub(crate) depth: u32,
    /// (source entity, rule, template within the rule, key) of each new key, for the stats.
    pub(crate) edges: Vec<(u32, u32, u32, u32)>,
    /// Kept for their capacity: the changes' entities, the work queue, the id segment being
    /// expanded and the "before" rendering.
    pub(crate) seeds: Vec<u32>,
    pub(crate) queue: VecDeque<Work>,
    pub(crate) id: String,
    pub(crate) scratch: String,
    /// The entity named last by a change, and its index ([`NONE`]: none yet). Kept across runs:
    /// an engine's entities never change.
    pub(crate) entity_name: String,
    pub(crate) entity: u32,
}

/// What [`Run::add_tail`] did with a key.
pub(crate) enum Added {
    /// The key is new; its index.
    New(u32),
    /// The key was already in the set; its index.
    Present(u32),
    /// Past the fan-out budget: the key was replaced by (or folded into) its keyspace wildcard.
    Dropped,
}

impl Run {
    pub(crate) fn new(max_keys: usize, delimiter: char) -> Run {
        Run {
            max_keys,
            delimiter,
            hasher: hashbrown::DefaultHashBuilder::default(),
            text: String::new(),
            entries: Vec::new(),
            seen: hashbrown::HashTable::new(),
            change: 0,
            keyspace_wildcards: HashSet::new(),
            truncated: false,
            depth: 0,
            edges: Vec::new(),
            seeds: Vec::new(),
            queue: VecDeque::new(),
            id: String::new(),
            scratch: String::new(),
            entity_name: String::new(),
            entity: NONE,
        }
    }

    /// Empties the run for the next cascade, keeping the capacity of its tables and vectors.
    pub(crate) fn reset(&mut self, max_keys: usize, delimiter: char) {
        self.max_keys = max_keys;
        self.delimiter = delimiter;
        self.text.clear();
        self.entries.clear();
        self.seen.clear();
        self.change = 0;
        self.keyspace_wildcards.clear();
        self.truncated = false;
        self.depth = 0;
        self.edges.clear();
        self.seeds.clear();
        self.queue.clear();
    }

    #[inline(always)]
    pub(crate) fn start(&self, i: u32) -> u32 {
        match i {
            0 => 0,
            i => self.entries[i as usize - 1].end,
        }
    }

    #[inline(always)]
    pub(crate) fn end(&self, i: u32) -> u32 {
        self.entries[i as usize].end
    }

    #[inline(always)]
    pub(crate) fn key(&self, i: u32) -> &str {
        span(&self.text, self.start(i) as usize..self.end(i) as usize)
    }

    /// Starts the cascade of the next change of a batch.
    pub(crate) fn next_change(&mut self) {
        self.change += 1;
    }

    /// Whether the set holds `max_keys` keys: a rule's new key is then dropped for its keyspace.
    pub(crate) fn past_budget(&self) -> bool {
        self.entries.len() >= self.max_keys
    }

    /// Marks a key reached by the current change; whether it was the first time.
    #[inline(always)]
    pub(crate) fn reach(&mut self, key: u32) -> bool {
        let e = &mut self.entries[key as usize];
        let first = e.reached != self.change;
        e.reached = self.change;
        first
    }

    /// Adds the key written at the end of `text` from `start` on, unless present (then it is
    /// removed from the end again). Past the fan-out budget, a key is replaced by its whole
    /// keyspace (`user:*`) so nothing is lost, and the set is truncated.
    pub(crate) fn add_tail(&mut self, start: usize, rule: u32, from: u32, depth: u32, coarse: bool) -> Added {
        let key = span(&self.text, start..);
        // One hash serves the lookup and the insertion.
        let hash = self.hasher.hash_one(key);
        if let Some(&i) = self.seen.find(hash, |&i| self.key(i) == key) {
            self.text.truncate(start);
            return Added::Present(i);
        }
        if self.past_budget() && rule != NONE {
            self.truncated = true;
            let ks_len = key.split(self.delimiter).next().map_or(key.len(), str::len);
            self.text.truncate(start + ks_len);
            if self.keyspace_wildcards.contains(span(&self.text, start..)) {
                self.text.truncate(start);
                return Added::Dropped;
            }
            self.keyspace_wildcards.insert(span(&self.text, start..).to_owned());
            if span(&self.text, start..) != "*" {
                self.text.push(self.delimiter);
                self.text.push('*');
            }
            // The rules may have produced `user:*` already: then it is listed once, as it is.
            let wildcard = span(&self.text, start..);
            let hash = self.hasher.hash_one(wildcard);
            if self.seen.find(hash, |&i| self.key(i) == wildcard).is_some() {
                self.text.truncate(start);
                return Added::Dropped;
            }
            self.push(hash, start, Entry::new(rule, from, depth, true));
            return Added::Dropped;
        }
        Added::New(self.push(hash, start, Entry::new(rule, from, depth, coarse)))
    }

    /// Adds the key at the end of `text` from `start` on (not present, hashing to `hash`).
    pub(crate) fn push(&mut self, hash: u64, start: usize, mut entry: Entry) -> u32 {
        let i = self.entries.len() as u32;
        let shape = KeyShape::of(span(&self.text, start..), self.delimiter);
        entry.pattern = shape.pattern;
        entry.plain_tag = shape.plain_tag;
        entry.ascii = shape.ascii;
        entry.id_at = shape.id_at.map_or(NONE, |at| (start + at) as u32);
        entry.end = self.text.len() as u32;
        self.depth = self.depth.max(entry.depth);
        self.entries.push(entry);
        let (text, entries, hasher) = (&self.text, &self.entries, &self.hasher);
        let key_of = |j: u32| {
            let start = if j == 0 { 0 } else { entries[j as usize - 1].end };
            span(text, start as usize..entries[j as usize].end as usize)
        };
        self.seen.insert_unique(hash, i, |&j| hasher.hash_one(key_of(j)));
        i
    }

    pub(crate) fn finish(&self, book: &RuleBook) -> CascadeSet {
        let mut set = CascadeSet { truncated: self.truncated, depth: self.depth, ..CascadeSet::default() };
        for (i, e) in self.entries.iter().enumerate() {
            let k = self.key(i as u32).to_owned();
            if e.pattern {
                set.patterns.push(k);
            } else {
                set.keys.push(k);
            }
        }
        set.tags = set.keys.iter().chain(&set.patterns).map(|k| tag_for(k)).collect();
        set.trace = self
            .entries
            .iter()
            .enumerate()
            .map(|(i, e)| Trace {
                key: self.key(i as u32).to_owned(),
                rule: (e.rule != NONE).then(|| book.rule(e.rule as usize).id.clone()),
                from: (e.from != NONE).then(|| self.key(e.from).to_owned()),
                depth: e.depth,
                coarse: e.coarse,
            })
            .collect();
        set
    }
}

impl Entry {
    pub(crate) fn new(rule: u32, from: u32, depth: u32, coarse: bool) -> Entry {
        Entry {
            rule,
            from,
            depth,
            end: 0,
            reached: 0,
            follow: NONE,
            id_at: NONE,
            coarse,
            pattern: false,
            plain_tag: true,
            ascii: true,
        }
    }
}
