//! The rule book of an engine: the auto rules its relationships give and the manual rules added
//! to them, in firing order, indexed by id and by entity.
//!
//! A loaded document's auto rules are not built at load: a cascade builds an entity's rules the
//! first time it expands that entity (one `OnceCell` per entity), so a cascade only reads the
//! book, and a load does not pay for thousands of rules it may never use.

use super::catalog::Catalog;
use super::MAX_TEMPLATES_PER_RULE;
use crate::condition::Condition;
use crate::error::{Error, Result};
use crate::keys::MAX_KEY_LEN;
use crate::rules::{
    auto_templates, check_auto_rules, check_auto_template, nth_auto_rule, Category, Origin, Rule,
};
use crate::template::{plain_literal, plain_name_piece, KeyTemplate, SimpleSegment};
use crate::text::span;
use crate::value::Value;
use hashbrown::{HashMap, HashSet};
use std::cell::OnceCell;
use std::hash::BuildHasher;

/// The rules of an engine.
#[derive(Default)]
pub(crate) struct RuleBook {
    rules: Vec<Rule>,
    rule_index: HashMap<String, usize>,
    /// Entity index → the indexes of its rules, in firing order.
    by_entity: Vec<Vec<usize>>,
    /// Set while the auto rules of a loaded document are not derived yet: the rules stored after
    /// them. `rules`, `rule_index` and `by_entity` are empty until [`RuleBook::materialize`]
    /// derives the auto rules (on a rule change), or hold placeholders while `lazy` is set.
    pending: Option<Vec<Rule>>,
    /// The rules of a pending book, derived for a reader that only has `&self` (`rules()`,
    /// `toJSON`, `lint`…); `materialize` moves them into `rules` instead of deriving again.
    pending_view: OnceCell<Vec<Rule>>,
    /// Set while a pending book cascades before its rules were needed whole: `rules` holds every
    /// rule at its final index, an auto rule as an empty placeholder until its entity's rules
    /// are built into `lazy`; `by_entity` is complete.
    lazy: Option<Box<Lazy>>,
    /// Bumped whenever rule indexes change, so what others computed per rule index (stats edge
    /// slots, the planner's id byte) knows to start again.
    version: u64,
}

/// The per-entity auto rules of a book that builds them on first use.
struct Lazy {
    plan: AutoPlan,
    /// Entity index → its auto rules (`plan.starts[e]..plan.starts[e + 1]`), once built.
    built: Vec<OnceCell<Box<[Rule]>>>,
}

/// The place of an auto rule not built yet; reading it gives a rule with no id and no templates.
static UNBUILT: Rule = Rule {
    id: String::new(),
    entity: String::new(),
    cascade_to: Vec::new(),
    when: None,
    on_fields: Vec::new(),
    max_depth: None,
    coarse: false,
    origin: Origin::Manual,
};

impl RuleBook {
    /// A book of the catalogue's auto rules.
    pub(crate) fn derived(catalog: &Catalog, delimiter: char) -> Result<RuleBook> {
        let mut book = RuleBook { rules: derived_rules(catalog, delimiter)?, ..RuleBook::default() };
        book.reindex(catalog);
        Ok(book)
    }

    /// A book of `stored` rules after the catalogue's auto rules, which are derived when first
    /// needed; the catalogue passed [`check_auto_rules_of`].
    pub(crate) fn deferred(stored: Vec<Rule>) -> RuleBook {
        RuleBook { pending: Some(stored), ..RuleBook::default() }
    }

    /// A book of `stored` rules alone (a document whose auto rules were edited), the first of
    /// each id kept.
    pub(crate) fn of(catalog: &Catalog, stored: Vec<Rule>) -> RuleBook {
        let mut book = RuleBook::default();
        for rule in stored {
            book.insert(rule);
        }
        // `insert` kept `rule_index` exact (first occurrence of each id, ids unique).
        book.index_by_entity(catalog);
        book
    }

    /// Bumped whenever rule indexes change (see `version`).
    pub(crate) fn version(&self) -> u64 {
        self.version
    }

    /// Every rule, auto rules first (grouped by entity), then manual rules in the order added.
    pub(crate) fn all(&self, catalog: &Catalog, delimiter: char) -> &[Rule] {
        match &self.pending {
            None => &self.rules,
            Some(stored) => {
                self.pending_view.get_or_init(|| auto_rules_then(catalog, delimiter, stored.iter().cloned()))
            }
        }
    }

    /// The stored rules of a pending book (those after its auto rules).
    pub(crate) fn pending_stored(&self) -> Option<&[Rule]> {
        self.pending.as_deref()
    }

    /// The rule at index `ri` of a cascade's book (after [`RuleBook::prepare`]); an auto rule a
    /// cascade did not build yet reads as a placeholder with no id.
    #[inline]
    pub(crate) fn rule(&self, ri: usize) -> &Rule {
        if let Some(lazy) = &self.lazy {
            if ri < lazy.plan.rules.len() {
                let e = lazy.plan.starts.partition_point(|&s| s as usize <= ri) - 1;
                return lazy.built[e]
                    .get()
                    .map_or(&UNBUILT, |rules| &rules[ri - lazy.plan.starts[e] as usize]);
            }
        }
        self.rules.get(ri).unwrap_or(&UNBUILT)
    }

    /// Rule `ri` of entity `e`'s rules (one of [`RuleBook::rules_of`]`(e)`), without searching
    /// for its entity.
    #[inline]
    pub(crate) fn entity_rule(&self, e: usize, ri: usize) -> &Rule {
        if let Some(lazy) = &self.lazy {
            if ri < lazy.plan.rules.len() {
                let start = lazy.plan.starts[e] as usize;
                return lazy.built[e].get().map_or(&UNBUILT, |rules| &rules[ri - start]);
            }
        }
        &self.rules[ri]
    }

    /// How many rules a cascade's book holds (built or not).
    pub(crate) fn len(&self) -> usize {
        self.rules.len()
    }

    /// The indexes of entity `e`'s rules, in firing order; builds its auto rules first if the
    /// book builds them lazily.
    #[inline]
    pub(crate) fn rules_of(&self, e: usize, catalog: &Catalog, delimiter: char) -> &[usize] {
        if let Some(lazy) = &self.lazy {
            if let Some(cell) = lazy.built.get(e) {
                cell.get_or_init(|| {
                    let (start, end) = (lazy.plan.starts[e] as usize, lazy.plan.starts[e + 1] as usize);
                    let rules = &lazy.plan.rules[start..end];
                    rules
                        .iter()
                        .map(|&r| planned_rule(catalog, delimiter, r).unwrap_or_else(|| UNBUILT.clone()))
                        .collect()
                });
            }
        }
        self.by_entity.get(e).map_or(&[], Vec::as_slice)
    }

    /// Whether entity `e` has rules.
    pub(crate) fn has_rules(&self, e: usize) -> bool {
        self.by_entity.get(e).is_some_and(|r| !r.is_empty())
    }

    /// The rule with this id, if any.
    pub(crate) fn contains(&self, id: &str) -> bool {
        self.rule_index.contains_key(id)
    }

    /// The rules as a cascade reads them whole (placeholders included; see [`RuleBook::rule`]).
    pub(crate) fn slots(&self) -> &[Rule] {
        &self.rules
    }

    /// Readies a pending book for a cascade without building its auto rules: each entity's are
    /// built when a cascade first expands it. Nothing otherwise.
    pub(crate) fn prepare(&mut self, catalog: &Catalog, delimiter: char) {
        let Some(stored) = &self.pending else { return };
        if self.lazy.is_some() {
            return;
        }
        if self.pending_view.get().is_some() {
            // Built already for a reader: moved in whole.
            self.materialize(catalog, delimiter);
            return;
        }
        let (plan, ids) = auto_plan(catalog, delimiter, false).unwrap_or_default();
        let stored: Vec<Rule> = stored_after_auto(&ids, stored.iter().cloned()).collect();
        drop(ids);
        self.rules.clear();
        self.rules.resize_with(plan.rules.len(), || UNBUILT.clone());
        let mut by_entity: Vec<Vec<usize>> =
            plan.starts.windows(2).map(|w| (w[0] as usize..w[1] as usize).collect()).collect();
        for (i, r) in stored.iter().enumerate() {
            if let Some(e) = catalog.index_of(&r.entity) {
                by_entity[e].push(plan.rules.len() + i);
            }
        }
        self.rules.extend(stored);
        self.by_entity = by_entity;
        let built = (0..catalog.len()).map(|_| OnceCell::new()).collect();
        self.lazy = Some(Box::new(Lazy { plan, built }));
        self.version += 1;
    }

    /// Derives the auto rules of a pending book (see `pending`); nothing otherwise.
    pub(crate) fn materialize(&mut self, catalog: &Catalog, delimiter: char) {
        let Some(stored) = self.pending.take() else { return };
        let lazy = self.lazy.take();
        self.rules = match (self.pending_view.take(), lazy) {
            (Some(rules), _) => rules,
            (None, Some(lazy)) => {
                let mut rules = std::mem::take(&mut self.rules);
                for (e, cell) in lazy.built.into_iter().enumerate() {
                    let start = lazy.plan.starts[e] as usize;
                    let built = cell.into_inner().map(Vec::from).unwrap_or_else(|| {
                        let end = lazy.plan.starts[e + 1] as usize;
                        let planned = &lazy.plan.rules[start..end];
                        planned
                            .iter()
                            .map(|&r| planned_rule(catalog, delimiter, r).unwrap_or_else(|| UNBUILT.clone()))
                            .collect()
                    });
                    for (i, rule) in built.into_iter().enumerate() {
                        rules[start + i] = rule;
                    }
                }
                rules
            }
            (None, None) => auto_rules_then(catalog, delimiter, stored),
        };
        self.reindex(catalog);
    }

    /// Adds a rule (the book materialized) unless an identical one exists; returns its id.
    pub(crate) fn add(&mut self, catalog: &Catalog, rule: Rule) -> String {
        let id = self.insert(rule);
        self.reindex(catalog);
        id
    }

    /// Removes the rule with this id (the book materialized).
    pub(crate) fn remove(&mut self, catalog: &Catalog, id: &str) -> Result<Rule> {
        let i = *self.rule_index.get(id).ok_or_else(|| Error::UnknownRule { id: id.to_owned() })?;
        let rule = self.rules.remove(i);
        self.reindex(catalog);
        Ok(rule)
    }

    /// Removes every rule, auto rules included.
    pub(crate) fn clear(&mut self, catalog: &Catalog) {
        *self = RuleBook { version: self.version, ..RuleBook::default() };
        self.reindex(catalog);
    }

    /// Inserts a rule unless an identical one exists; returns its id.
    fn insert(&mut self, rule: Rule) -> String {
        let id = rule.id.clone();
        if !self.rule_index.contains_key(&id) {
            self.rule_index.insert(id.clone(), self.rules.len());
            self.rules.push(rule);
        }
        id
    }

    fn reindex(&mut self, catalog: &Catalog) {
        self.rule_index.clear();
        self.rule_index.reserve(self.rules.len());
        for (i, r) in self.rules.iter().enumerate() {
            self.rule_index.insert(r.id.clone(), i);
        }
        self.index_by_entity(catalog);
    }

    /// Rebuilds `by_entity` (`rule_index` must already be up to date).
    fn index_by_entity(&mut self, catalog: &Catalog) {
        self.version += 1;
        self.by_entity = vec![Vec::new(); catalog.len()];
        for (i, r) in self.rules.iter().enumerate() {
            if let Some(e) = catalog.index_of(&r.entity) {
                self.by_entity[e].push(i);
            }
        }
    }
}

/// The auto rules of the catalogue's relationships, in firing order, without duplicates.
pub(crate) fn derived_rules(catalog: &Catalog, delimiter: char) -> Result<Vec<Rule>> {
    let (plan, _) = auto_plan(catalog, delimiter, true)?;
    Ok(plan.rules.iter().filter_map(|&r| planned_rule(catalog, delimiter, r)).collect())
}

/// The auto rules followed by `stored`, without repeating an id (as inserting them would).
fn auto_rules_then(catalog: &Catalog, delimiter: char, stored: impl IntoIterator<Item = Rule>) -> Vec<Rule> {
    // Only pending books come here, and their catalogues passed `check_auto_rules_of` at load.
    let (plan, ids) = auto_plan(catalog, delimiter, false).unwrap_or_default();
    let mut rules: Vec<Rule> =
        plan.rules.iter().filter_map(|&r| planned_rule(catalog, delimiter, r)).collect();
    rules.extend(stored_after_auto(&ids, stored));
    rules
}

/// Numbers the auto rules without building them (see [`AutoPlan`]); with `check`, fails where
/// deriving them would (a pending book's catalogue passed `check_auto_rules_of` at load).
/// Grouped by (entity, category), then by relationship; a rule whose id an earlier one has is
/// left out.
fn auto_plan(catalog: &Catalog, delimiter: char, check: bool) -> Result<(AutoPlan, AutoIds)> {
    let relationships = catalog.table();
    // (entity * 4 + category, relationship, template number) per emitted rule; its id is the
    // same numbered span of `ids`.
    let mut made: Vec<(u32, u32, u32)> = Vec::with_capacity(relationships.len() * 2);
    let mut ids = AutoIds::default();
    ids.text.reserve(relationships.len() * 80);
    for (ri, rel) in relationships.iter().enumerate() {
        let Some(((hi, holder), (ti, target))) = catalog.entity_refs(rel) else { continue };
        let mut k = 0;
        auto_templates(rel, &holder, &target, |category, entity, segments, _| {
            if check {
                check_auto_template(segments, delimiter)?;
            }
            let ei = match category {
                Category::TargetOne | Category::TargetMany => ti,
                Category::HolderOne | Category::HolderMany => hi,
            };
            made.push(((ei * 4 + category as usize) as u32, ri as u32, k));
            ids.text.push_str(entity);
            ids.text.push_str(" -> ");
            SimpleSegment::push_source(segments, delimiter, &mut ids.text);
            ids.ends.push(ids.text.len() as u32);
            k += 1;
            Ok(())
        })?;
    }
    // A counting sort by bucket keeps the relationship order within each bucket.
    let mut next = vec![0u32; catalog.len() * 4 + 1];
    for &(b, ..) in &made {
        next[b as usize + 1] += 1;
    }
    for b in 1..next.len() {
        next[b] += next[b - 1];
    }
    let mut order = vec![0u32; made.len()];
    for (i, &(b, ..)) in made.iter().enumerate() {
        order[next[b as usize] as usize] = i as u32;
        next[b as usize] += 1;
    }
    let mut plan = AutoPlan { rules: Vec::with_capacity(made.len()), starts: vec![0; catalog.len() + 1] };
    for i in order {
        if ids.insert(i) {
            let (b, rel, k) = made[i as usize];
            plan.rules.push((rel, k));
            plan.starts[b as usize / 4 + 1] += 1;
        }
    }
    for e in 1..plan.starts.len() {
        plan.starts[e] += plan.starts[e - 1];
    }
    Ok((plan, ids))
}

/// Builds the auto rule `(relationship, template number)` of an [`AutoPlan`].
fn planned_rule(catalog: &Catalog, delimiter: char, (rel, k): (u32, u32)) -> Option<Rule> {
    let rel = catalog.table().get(rel as usize)?;
    let ((_, holder), (_, target)) = catalog.entity_refs(rel)?;
    nth_auto_rule(rel, &holder, &target, k, delimiter)
}

/// Fails where deriving the catalogue's auto rules would, without deriving them. Each piece of
/// the templates (keyspace, key field, field name) is tested once; a relationship with a piece
/// outside the plain subset, or long enough to near the key length limit, is checked template
/// by template, which gives the error.
pub(crate) fn check_auto_rules_of(catalog: &Catalog, delimiter: char) -> Result<()> {
    // Per entity: whether its keyspace is a plain literal and its key field a plain name, and
    // their lengths.
    let pieces: Vec<(bool, usize, usize)> = catalog
        .keyed()
        .iter()
        .map(|e| {
            let key_field = e.key_fields.first().map_or("id", String::as_str);
            // A composite key's placeholders are parsed from their text (see `EntityRef`).
            let plain = plain_literal(&e.keyspace, delimiter)
                && e.key_fields.len() <= 1
                && plain_name_piece(key_field);
            (plain, e.keyspace.len(), key_field.len())
        })
        .collect();
    // A field and whether it is plain: the rows of an interface or union field share it.
    let mut last: Option<(&str, bool)> = None;
    for rel in catalog.table().iter() {
        let Some((hi, ti)) = rel.entities() else { continue };
        let (Some(&(holder_plain, keyspace_len, holder_key)), Some(&(target_plain, _, target_key))) =
            (pieces.get(hi), pieces.get(ti))
        else {
            continue;
        };
        let f = rel.field();
        let plain_field = match last {
            // The same string in the table (not only equal text).
            Some((l, plain)) if std::ptr::eq(l, f) => plain,
            _ => {
                let plain = plain_literal(f, delimiter) && plain_name_piece(f);
                last = Some((f, plain));
                plain
            }
        };
        let (mut plain_inverse, mut inverse_len) = (true, 0);
        for i in rel.inverse() {
            plain_inverse &= plain_name_piece(i);
            inverse_len = inverse_len.max(i.len());
        }
        // The longest template is shorter than this (see `auto_templates`).
        let longest = keyspace_len + 2 * f.len() + inverse_len + holder_key + target_key + 16;
        let plain = holder_plain && target_plain && plain_field && plain_inverse && longest <= MAX_KEY_LEN;
        if !plain {
            let Some(((_, holder), (_, target))) = catalog.entity_refs(rel) else { continue };
            check_auto_rules(rel, &holder, &target, delimiter)?;
        }
    }
    Ok(())
}

/// Validates a manual rule given as `{ entity, cascadeTo, when?, onFields?, maxDepth? }` against
/// the catalogue; `external` is a `when` condition the embedder holds.
pub(crate) fn parse_rule(
    catalog: &Catalog,
    delimiter: char,
    v: &Value,
    external: Option<Condition>,
) -> Result<Rule> {
    if v.as_object().is_none() {
        return Err(Error::rule(
            "a rule must be an object like { entity: \"user\", cascadeTo: [\"user:{id}:feed\"] }",
        ));
    }
    for (k, _) in v.as_object().unwrap_or_default() {
        if !matches!(k.as_str(), "entity" | "cascadeTo" | "when" | "onFields" | "maxDepth" | "id") {
            return Err(Error::rule(format!(
                "unknown rule property `{k}`; a rule has entity, cascadeTo, when, onFields, maxDepth"
            )));
        }
    }
    let entity_name = v
        .get("entity")
        .and_then(Value::as_str)
        .ok_or_else(|| Error::rule("`entity` must be a keyspace or type name, such as \"user\""))?;
    let ei = catalog.entity_index(entity_name)?;
    let sources: Vec<&str> = match v.get("cascadeTo") {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(items)) => items
            .iter()
            .map(|t| t.as_str().ok_or_else(|| Error::rule("`cascadeTo` must contain template strings")))
            .collect::<Result<_>>()?,
        _ => {
            return Err(Error::rule(
                "`cascadeTo` must be an array of key templates such as \"user:{id}:posts\"",
            ))
        }
    };
    if sources.is_empty() {
        return Err(Error::rule("`cascadeTo` needs at least one template"));
    }
    if sources.len() > MAX_TEMPLATES_PER_RULE {
        return Err(Error::LimitExceeded {
            what: "templates in a rule",
            limit: MAX_TEMPLATES_PER_RULE,
            actual: sources.len(),
        });
    }
    let mut templates: Vec<KeyTemplate> = Vec::with_capacity(sources.len());
    for s in sources {
        let t = KeyTemplate::parse(s, delimiter)?;
        for p in t.placeholders() {
            if !placeholder_known(catalog, ei, p) {
                return Err(Error::UnknownPlaceholder { template: s.to_owned(), placeholder: p.to_owned() });
            }
        }
        if !templates.contains(&t) {
            templates.push(t);
        }
    }
    let when = match (external, v.get("when")) {
        (Some(c), _) => Some(c),
        (None, None | Some(Value::Null)) => None,
        (None, Some(c)) => Some(Condition::from_value(c)?),
    };
    let on_fields = match v.get("onFields") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|f| {
                f.as_str()
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .ok_or_else(|| Error::rule("`onFields` must be an array of field names"))
            })
            .collect::<Result<_>>()?,
        Some(_) => return Err(Error::rule("`onFields` must be an array of field names")),
    };
    let max_depth = match v.get("maxDepth") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) if n.fract() == 0.0 && (0.0..=64.0).contains(n) => Some(*n as u32),
        Some(_) => return Err(Error::rule("`maxDepth` must be a whole number from 0 to 64")),
    };
    let keyspace = catalog.keyed()[ei].keyspace.clone();
    let id = Rule::make_id(&keyspace, &templates, when.as_ref(), &on_fields, max_depth);
    Ok(Rule {
        id,
        entity: keyspace,
        cascade_to: templates,
        when,
        on_fields,
        max_depth,
        coarse: false,
        origin: Origin::Manual,
    })
}

/// Whether `{name}` can be filled from an entity's data: `id`, a field, a nested path under a
/// field, or a foreign key of a field (`author_id`, `authorId` → `author`).
pub(crate) fn placeholder_known(catalog: &Catalog, ei: usize, name: &str) -> bool {
    // With their fields: the first manual rule of a loaded engine splits its field lists.
    let Some(entity) = catalog.entities().get(ei) else { return true };
    if entity.fields.is_empty() {
        return true; // no field list (rules loaded without one): accept
    }
    let head = name.split('.').next().unwrap_or(name);
    let has = |f: &str| entity.fields.iter().any(|x| x == f);
    head == "id"
        || entity.key_fields.iter().any(|k| k == head)
        || has(head)
        || head.rsplit_once('_').is_some_and(|(h, _)| has(h) || has(&camel_case(h)))
        || strip_camel_suffix(head).is_some_and(has)
}

/// `author_id` → `authorId`. Only ASCII letters change case (GraphQL names are ASCII): Unicode
/// case mapping would bring its 12 KB table into the wasm for names no schema can have.
pub(crate) fn camel_case(snake: &str) -> String {
    let mut out = String::with_capacity(snake.len());
    let mut upper = false;
    for c in snake.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.push(c.to_ascii_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// `authorId` → `author` (ASCII case, as `camel_case`).
fn strip_camel_suffix(name: &str) -> Option<&str> {
    let at = name.rfind(|c: char| c.is_ascii_uppercase())?;
    (at > 0).then(|| span(name, ..at))
}

/// The auto rules of a catalogue's relationships, numbered as [`derived_rules`] numbers them,
/// without building them: each is named by its relationship and by which of that
/// relationship's templates it is (in the order `auto_templates` emits them). A cascade of a
/// lazy book builds only the rules of the entities it reaches, at these indexes, so rule
/// indexes, trace ids and `rule_id` are what a full derivation gives.
#[derive(Default)]
struct AutoPlan {
    /// (relationship index, template number) of each auto rule, in firing order, ids unique.
    rules: Vec<(u32, u32)>,
    /// Entity index → where its rules start in `rules`; one more entry at the end.
    starts: Vec<u32>,
}

/// The ids of the rules [`auto_plan`] emitted (duplicates included), to keep the first of each
/// id without building a `String` per rule.
#[derive(Default)]
struct AutoIds {
    /// Every id, back to back, in emission order.
    text: String,
    /// Where each id ends in `text`.
    ends: Vec<u32>,
    /// The numbers of the ids inserted, hashed by id.
    table: hashbrown::HashTable<u32>,
    hasher: hashbrown::DefaultHashBuilder,
}

impl AutoIds {
    fn id<'t>(text: &'t str, ends: &[u32], i: u32) -> &'t str {
        let start = if i == 0 { 0 } else { ends[i as usize - 1] };
        span(text, start as usize..ends[i as usize] as usize)
    }

    /// Inserts id number `i` unless an equal id is in; whether it was inserted.
    fn insert(&mut self, i: u32) -> bool {
        let (text, ends, hasher) = (&self.text, &self.ends, &self.hasher);
        let id = Self::id(text, ends, i);
        let hash = hasher.hash_one(id);
        if self.table.find(hash, |&j| Self::id(text, ends, j) == id).is_some() {
            return false;
        }
        self.table.insert_unique(hash, i, |&j| hasher.hash_one(Self::id(text, ends, j)));
        true
    }

    fn contains(&self, id: &str) -> bool {
        let hash = self.hasher.hash_one(id);
        self.table.find(hash, |&j| Self::id(&self.text, &self.ends, j) == id).is_some()
    }
}

/// The stored rules of a document that follow its auto rules, without an id the auto rules or
/// an earlier stored rule has (as inserting them would skip it).
fn stored_after_auto<'i>(
    ids: &'i AutoIds,
    stored: impl IntoIterator<Item = Rule> + 'i,
) -> impl Iterator<Item = Rule> + 'i {
    let mut seen: HashSet<String> = HashSet::new();
    stored.into_iter().filter(move |r| !ids.contains(&r.id) && seen.insert(r.id.clone()))
}
