//! The cascade engine: entities, rules and the cascade computation (SPEC §2–4, §7).

use crate::cascade::{tag_for, CascadeSet, Change, Op, Trace};
use crate::condition::{fields_differ, Condition};
use crate::error::{suggest, Error, Result};
use crate::keys::{decode_segment, push_encoded_segment, DEFAULT_DELIMITER, MAX_KEY_LEN};
use crate::rules::{
    auto_templates, check_auto_rules, check_auto_template, nth_auto_rule, Category, EntityRef, Origin, Rule,
};
use crate::schema::{
    for_each_word, Cardinality, Entity, FieldLists, Relationship, RelationshipRef, RelationshipTable,
    SchemaModel, SchemaOptions,
};
use crate::stats::{edge_label, EngineStats, StatsAccumulator};
use crate::template::{plain_literal, plain_name_piece, KeyTemplate, SimpleSegment};
use crate::text::{has_char, is_alphanumeric, span};
use crate::value::{Parser, Value};
use hashbrown::{HashMap, HashSet};
use std::borrow::Cow;
use std::cell::OnceCell;
use std::collections::VecDeque;
use std::hash::BuildHasher;

/// Most rules an engine holds.
pub const MAX_RULES: usize = 100_000;
/// Most templates in one rule.
pub const MAX_TEMPLATES_PER_RULE: usize = 64;
/// The default depth budget of a cascade.
pub const DEFAULT_MAX_DEPTH: u32 = 3;
/// The default fan-out budget: keys and patterns in one cascade set.
pub const DEFAULT_MAX_KEYS: usize = 10_000;

/// A sink for log lines.
pub type Logger = Box<dyn FnMut(&str)>;
/// A millisecond clock (for timings in `stats`).
pub type Clock = Box<dyn Fn() -> f64>;
/// Evaluates an embedder predicate (`Condition::External`) against the change data.
pub type ExternalPredicate = Box<dyn FnMut(u32, &Value) -> bool>;

/// Options of an engine.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// The delimiter between key segments (`:`).
    pub delimiter: char,
    /// How many levels a cascade may go (default 3).
    pub max_depth: u32,
    /// How many keys and patterns one cascade set may hold before it is truncated.
    pub max_keys: usize,
    /// Log the detected relationships and rules, and each cascade, to the logger.
    pub verbose: bool,
    /// Keyspace overrides and key fields for schema analysis.
    pub schema: SchemaOptions,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            delimiter: DEFAULT_DELIMITER,
            max_depth: DEFAULT_MAX_DEPTH,
            max_keys: DEFAULT_MAX_KEYS,
            verbose: false,
            schema: SchemaOptions::default(),
        }
    }
}

impl EngineOptions {
    /// Reads `{ keyspaces?, keyFields?, delimiter?, maxDepth?, maxKeys?, verbose? }`; unknown
    /// properties are refused so a typo does not silently change nothing.
    pub fn from_value(v: &Value) -> Result<EngineOptions> {
        let mut o = EngineOptions::default();
        let Some(members) = v.as_object() else {
            return match v {
                Value::Null => Ok(o),
                _ => Err(Error::options("options must be an object")),
            };
        };
        for (k, val) in members {
            if val.is_null() {
                continue;
            }
            match k.as_str() {
                "delimiter" => {
                    let mut cs = val.as_str().unwrap_or_default().chars();
                    o.delimiter = match (cs.next(), cs.next()) {
                        (Some(c), None) => c,
                        _ => return Err(Error::options("`delimiter` must be a single character such as \":\"")),
                    };
                }
                "maxDepth" => o.max_depth = whole(val, "maxDepth", 64)? as u32,
                "maxKeys" => o.max_keys = whole(val, "maxKeys", 10_000_000)? as usize,
                "verbose" => {
                    o.verbose = val.as_bool().ok_or_else(|| Error::options("`verbose` must be true or false"))?
                }
                "keyspaces" => {
                    for (t, ks) in val.as_object().ok_or_else(|| Error::options("`keyspaces` must map type names to keyspaces"))? {
                        let ks = ks.as_str().filter(|s| !s.is_empty()).ok_or_else(|| {
                            Error::options(format!("the keyspace of `{t}` must be a non-empty string"))
                        })?;
                        o.schema.keyspaces.insert(t.clone(), ks.to_owned());
                    }
                }
                "keyFields" => {
                    for (t, fs) in val.as_object().ok_or_else(|| Error::options("`keyFields` must map type names to field lists"))? {
                        let fields = match fs {
                            Value::String(f) => vec![f.clone()],
                            Value::Array(items) => items
                                .iter()
                                .map(|f| f.as_str().map(str::to_owned))
                                .collect::<Option<Vec<_>>>()
                                .filter(|v| !v.is_empty())
                                .ok_or_else(|| Error::options(format!("the key fields of `{t}` must be field names")))?,
                            _ => return Err(Error::options(format!("the key fields of `{t}` must be field names"))),
                        };
                        o.schema.key_fields.insert(t.clone(), fields);
                    }
                }
                "logger" | "clock" => {} // handled by the embedding
                other => {
                    return Err(Error::options(format!(
                        "unknown option `{other}`; options are keyspaces, keyFields, delimiter, maxDepth, maxKeys, verbose, logger"
                    )))
                }
            }
        }
        o.validate()?;
        Ok(o)
    }

    fn validate(&self) -> Result<()> {
        if self.delimiter == '*' || self.delimiter == '{' || self.delimiter == '}' || self.delimiter == '%' {
            return Err(Error::options(format!("`{}` cannot be the delimiter", self.delimiter)));
        }
        if is_alphanumeric(self.delimiter) || self.delimiter.is_whitespace() || self.delimiter == '_' {
            return Err(Error::options("the delimiter must be punctuation such as `:`, `/` or `|`"));
        }
        if self.max_depth > 64 {
            return Err(Error::options("maxDepth must be between 0 and 64"));
        }
        if self.max_keys == 0 {
            return Err(Error::options("maxKeys must be at least 1"));
        }
        Ok(())
    }
}

/// A finding of [`Engine::lint`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lint {
    /// The rule the finding is about.
    pub rule: String,
    /// `OVER_BROAD`, `NEVER_FIRES`, `COARSE` or `REDUNDANT`.
    pub code: &'static str,
    pub message: String,
}

/// Derives cascade rules from a schema, holds manual rules, and computes cascade sets.
pub struct Engine {
    options: EngineOptions,
    /// The entities; while `field_lists` is set, without their `fields`.
    entities: Vec<Entity>,
    /// The entities' field lists as a loaded document wrote them, when they were not split into
    /// `Entity::fields` at load (see [`FieldLists`]).
    field_lists: Option<FieldLists>,
    /// The entities with their fields, built from `field_lists` for the first reader.
    entity_view: OnceCell<Vec<Entity>>,
    /// Keyspace and type name → entity index.
    lookup: HashMap<String, usize>,
    relationships: RelationshipTable,
    /// The relationships as [`Relationship`]s, built for the first reader that wants them.
    relationship_list: OnceCell<Vec<Relationship>>,
    rules: Vec<Rule>,
    rule_index: HashMap<String, usize>,
    /// Entity index → the indexes of its rules, in firing order.
    by_entity: Vec<Vec<usize>>,
    /// Set while the auto rules of a loaded document are not derived yet: the rules stored after
    /// them. `rules`, `rule_index` and `by_entity` are empty until [`Engine::materialize`]
    /// derives the auto rules (on the first cascade or rule change), so a load does not pay for
    /// thousands of rules it may never use.
    pending: Option<Vec<Rule>>,
    /// The rules of a pending engine, derived for a reader that only has `&self` (`rules()`,
    /// `toJSON`, `lint`…); `materialize` moves them into `rules` instead of deriving again.
    pending_view: OnceCell<Vec<Rule>>,
    /// Set while a pending engine cascades before its rules were needed whole: `rules` holds
    /// every rule at its final index, but an auto rule is built only when a cascade first
    /// expands its entity (until then it is an empty placeholder); `by_entity` is complete.
    partial: Option<Box<Partial>>,
    logger: Option<Logger>,
    clock: Option<Clock>,
    external: Option<ExternalPredicate>,
    stats: StatsAccumulator,
    /// The run of the last cascade, cleared and reused by the next one so its tables and
    /// vectors keep their capacity.
    spare: Option<Box<Run>>,
    /// Rule index → the flat index of its first template in `edge_slots`; empty when the rules
    /// changed since (rebuilt by the next cascade).
    template_base: Vec<u32>,
    /// Per template (flat index), its stats edge slot: [`UNSET`] until first used, [`VARIES`]
    /// when the label depends on the rendered key.
    edge_slots: Vec<u32>,
    /// The byte [`Engine::plan_compact`] puts for the id (`Some(None)`: none is free); `None`
    /// until first needed after the rules changed.
    id_mark: Option<Option<u8>>,
    /// Set when a cascade evaluated a rule's condition on change data: a plan made from such a
    /// run would hold for the planned values only (see [`Engine::plan_compact_data`]).
    consulted_data: bool,
    /// Set while [`Engine::plan_compact_data`] runs its cascade of stand-ins.
    planning_data: bool,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("entities", &self.entities.len())
            .field("relationships", &self.relationships.len())
            .field("rules", &self.rules().len())
            .finish()
    }
}

impl Engine {
    /// Parses SDL, detects relationships and derives the auto rules.
    #[cfg(feature = "sdl")]
    pub fn from_schema(sdl: &str, options: EngineOptions) -> Result<Engine> {
        Self::from_schema_with_logger(sdl, options, None)
    }

    /// As [`Engine::from_schema`], sending verbose setup lines and cascade logs to `logger`.
    #[cfg(feature = "sdl")]
    pub fn from_schema_with_logger(
        sdl: &str,
        options: EngineOptions,
        logger: Option<Logger>,
    ) -> Result<Engine> {
        options.validate()?;
        let model = crate::sdl::analyze(sdl, &options.schema)?;
        Self::from_model(model, options, logger)
    }

    /// Builds an engine from an already analyzed schema.
    pub fn from_model(model: SchemaModel, options: EngineOptions, logger: Option<Logger>) -> Result<Engine> {
        options.validate()?;
        let mut engine = Engine::empty(options, logger);
        engine.entities = model.entities;
        engine.index_entities()?;
        engine.set_relationships(RelationshipTable::from_relationships(&model.relationships));
        engine.relationship_list = OnceCell::from(model.relationships);
        engine.derive_auto_rules()?;
        if engine.logging() {
            let lines: Vec<String> = engine
                .relationships
                .iter()
                .map(|r| {
                    format!(
                        "CASCADE: Detected relationship: {} -> {} (field: {})",
                        r.holder(),
                        r.target(),
                        r.field()
                    )
                })
                .chain(engine.rules.iter().map(|r| format!("CASCADE: Rule: {}", r.id)))
                .chain(std::iter::once(format!("CASCADE: Created {} CASCADE rules", engine.rules.len())))
                .collect();
            for l in lines {
                engine.log(&l);
            }
        }
        Ok(engine)
    }

    fn empty(options: EngineOptions, logger: Option<Logger>) -> Engine {
        Engine {
            options,
            entities: Vec::new(),
            field_lists: None,
            entity_view: OnceCell::new(),
            lookup: HashMap::new(),
            relationships: RelationshipTable::default(),
            relationship_list: OnceCell::new(),
            rules: Vec::new(),
            rule_index: HashMap::new(),
            by_entity: Vec::new(),
            pending: None,
            pending_view: OnceCell::new(),
            partial: None,
            logger,
            clock: None,
            external: None,
            stats: StatsAccumulator::default(),
            spare: None,
            template_base: Vec::new(),
            edge_slots: Vec::new(),
            id_mark: None,
            consulted_data: false,
            planning_data: false,
        }
    }

    fn index_entities(&mut self) -> Result<()> {
        self.lookup.clear();
        // Each entity under its keyspace and its type name.
        self.lookup.reserve(self.entities.len() * 2);
        for (i, e) in self.entities.iter().enumerate() {
            if let Some(&j) = self.lookup.get(&e.keyspace) {
                return Err(Error::KeyspaceCollision {
                    keyspace: e.keyspace.clone(),
                    first: self.entities[j].type_name.clone(),
                    second: e.type_name.clone(),
                });
            }
            self.lookup.insert(e.keyspace.clone(), i);
            self.lookup.entry(e.type_name.clone()).or_insert(i);
        }
        Ok(())
    }

    /// Sets the relationships (after the entities are indexed), naming each entity by its index.
    fn set_relationships(&mut self, mut table: RelationshipTable) {
        table.resolve(|name| self.lookup.get(name).copied());
        self.relationships = table;
    }

    /// Replaces the rules with the auto rules (`derived_rules` has no duplicate ids).
    fn derive_auto_rules(&mut self) -> Result<()> {
        self.rules = self.derived_rules()?;
        self.reindex_rules();
        Ok(())
    }

    /// The auto rules of the relationships, in firing order, without duplicates.
    fn derived_rules(&self) -> Result<Vec<Rule>> {
        let (plan, _) = self.auto_plan(true)?;
        Ok(plan.rules.iter().filter_map(|&r| self.planned_rule(r)).collect())
    }

    /// Numbers the auto rules without building them (see [`AutoPlan`]); with `check`, fails
    /// where deriving them would (a pending engine passed `check_auto_rules` at load). Grouped
    /// by (entity, category), then by relationship; a rule whose id an earlier one has is left out.
    fn auto_plan(&self, check: bool) -> Result<(AutoPlan, AutoIds)> {
        let delimiter = self.options.delimiter;
        // (entity * 4 + category, relationship, template number) per emitted rule; its id is
        // the same numbered span of `ids`.
        let mut made: Vec<(u32, u32, u32)> = Vec::with_capacity(self.relationships.len() * 2);
        let mut ids = AutoIds::default();
        ids.text.reserve(self.relationships.len() * 80);
        for (ri, rel) in self.relationships.iter().enumerate() {
            let Some(((hi, holder), (ti, target))) = self.entity_refs(rel) else { continue };
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
        let mut next = vec![0u32; self.entities.len() * 4 + 1];
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
        let mut plan =
            AutoPlan { rules: Vec::with_capacity(made.len()), starts: vec![0; self.entities.len() + 1] };
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
    fn planned_rule(&self, (rel, k): (u32, u32)) -> Option<Rule> {
        let rel = self.relationships.get(rel as usize)?;
        let ((_, holder), (_, target)) = self.entity_refs(rel)?;
        nth_auto_rule(rel, &holder, &target, k, self.options.delimiter)
    }

    /// The holder and target of a relationship, with their entity indexes, when both are entities.
    #[allow(clippy::type_complexity)]
    fn entity_refs(
        &self,
        rel: RelationshipRef<'_>,
    ) -> Option<((usize, EntityRef<'_>), (usize, EntityRef<'_>))> {
        let entity_ref = |i: usize| {
            let e = self.entities.get(i)?;
            Some((
                i,
                EntityRef {
                    keyspace: &e.keyspace,
                    key_field: e.key_fields.first().map_or("id", String::as_str),
                },
            ))
        };
        let (h, t) = rel.entities()?;
        Some((entity_ref(h)?, entity_ref(t)?))
    }

    /// Fails where deriving the auto rules would, without deriving them. Each piece of the
    /// templates (keyspace, key field, field name) is tested once; a relationship with a piece
    /// outside the plain subset, or long enough to near the key length limit, is checked
    /// template by template, which gives the error.
    fn check_auto_rules(&self) -> Result<()> {
        let delimiter = self.options.delimiter;
        // Per entity: whether its keyspace is a plain literal and its key field a plain name,
        // and their lengths.
        let pieces: Vec<(bool, usize, usize)> = self
            .entities
            .iter()
            .map(|e| {
                let key_field = e.key_fields.first().map_or("id", String::as_str);
                let plain = plain_literal(&e.keyspace, delimiter) && plain_name_piece(key_field);
                (plain, e.keyspace.len(), key_field.len())
            })
            .collect();
        // A field and whether it is plain: the rows of an interface or union field share it.
        let mut last: Option<(&str, bool)> = None;
        for rel in self.relationships.iter() {
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
            let plain =
                holder_plain && target_plain && plain_field && plain_inverse && longest <= MAX_KEY_LEN;
            if !plain {
                let Some(((_, holder), (_, target))) = self.entity_refs(rel) else { continue };
                check_auto_rules(rel, &holder, &target, delimiter)?;
            }
        }
        Ok(())
    }

    /// The auto rules followed by `stored`, without repeating an id (as inserting them would).
    fn auto_rules_then(&self, stored: impl IntoIterator<Item = Rule>) -> Vec<Rule> {
        // Only pending engines come here, and they passed `check_auto_rules` at load.
        let (plan, ids) = self.auto_plan(false).unwrap_or_default();
        let mut rules: Vec<Rule> = plan.rules.iter().filter_map(|&r| self.planned_rule(r)).collect();
        rules.extend(stored_after_auto(&ids, stored));
        rules
    }

    /// Derives the auto rules of a pending engine (see `pending`); nothing otherwise.
    fn materialize(&mut self) {
        let Some(stored) = self.pending.take() else { return };
        let partial = self.partial.take();
        self.rules = match (self.pending_view.take(), partial) {
            (Some(rules), _) => rules,
            (None, Some(mut partial)) => {
                for e in 0..self.entities.len() {
                    self.build_planned(&mut partial, e);
                }
                std::mem::take(&mut self.rules)
            }
            (None, None) => self.auto_rules_then(stored),
        };
        self.reindex_rules();
    }

    /// Readies a pending engine for a cascade without building its auto rules (see `partial`):
    /// each entity's are built when a cascade first expands it. Nothing otherwise.
    fn prepare(&mut self) {
        let Some(stored) = &self.pending else { return };
        if self.partial.is_some() {
            return;
        }
        if self.pending_view.get().is_some() {
            // Built already for a reader: moved in whole.
            self.materialize();
            return;
        }
        let (plan, ids) = self.auto_plan(false).unwrap_or_default();
        let stored: Vec<Rule> = stored_after_auto(&ids, stored.iter().cloned()).collect();
        drop(ids);
        self.rules.clear();
        self.rules.resize_with(plan.rules.len(), unbuilt_rule);
        let mut by_entity: Vec<Vec<usize>> =
            plan.starts.windows(2).map(|w| (w[0] as usize..w[1] as usize).collect()).collect();
        for (i, r) in stored.iter().enumerate() {
            if let Some(&e) = self.lookup.get(&r.entity) {
                by_entity[e].push(plan.rules.len() + i);
            }
        }
        self.rules.extend(stored);
        self.by_entity = by_entity;
        self.template_base.clear();
        let built = vec![false; self.entities.len()];
        self.partial = Some(Box::new(Partial { plan, built }));
    }

    /// Builds the planned auto rules of entity `e` into their places in `rules`, once.
    fn build_planned(&mut self, partial: &mut Partial, e: usize) {
        if partial.built.get(e) != Some(&false) {
            return;
        }
        partial.built[e] = true;
        let (start, end) = (partial.plan.starts[e] as usize, partial.plan.starts[e + 1] as usize);
        for i in start..end {
            if let Some(rule) = self.planned_rule(partial.plan.rules[i]) {
                self.rules[i] = rule;
            }
        }
    }

    /// Inserts a rule unless an identical one exists; returns its id.
    fn insert_rule(&mut self, rule: Rule) -> String {
        let id = rule.id.clone();
        if !self.rule_index.contains_key(&id) {
            self.rule_index.insert(id.clone(), self.rules.len());
            self.rules.push(rule);
        }
        id
    }

    fn reindex_rules(&mut self) {
        self.rule_index.clear();
        self.rule_index.reserve(self.rules.len());
        for (i, r) in self.rules.iter().enumerate() {
            self.rule_index.insert(r.id.clone(), i);
        }
        self.index_by_entity();
    }

    /// Rebuilds `by_entity` (`rule_index` must already be up to date).
    fn index_by_entity(&mut self) {
        self.template_base.clear();
        self.id_mark = None;
        self.by_entity = vec![Vec::new(); self.entities.len()];
        for (i, r) in self.rules.iter().enumerate() {
            if let Some(&e) = self.lookup.get(&r.entity) {
                self.by_entity[e].push(i);
            }
        }
    }

    /// Sets the logger (replacing any).
    pub fn set_logger(&mut self, logger: Option<Logger>) {
        self.logger = logger;
    }

    /// Sets the clock used for timings in `stats` (none: timings are 0).
    pub fn set_clock(&mut self, clock: Option<Clock>) {
        self.clock = clock;
    }

    /// Sets the evaluator of embedder predicates (`Condition::External`).
    pub fn set_external_predicate(&mut self, external: Option<ExternalPredicate>) {
        self.external = external;
    }

    /// Whether cascades are logged (a logger is set, or `verbose`).
    pub fn is_logging(&self) -> bool {
        self.logging()
    }

    /// Adds time an embedder measured around cascades of an engine with no clock (`stats`).
    pub fn add_cascade_time(&mut self, elapsed_ms: f64) {
        self.stats.add_time(elapsed_ms);
    }

    /// The id of the rule at `index` in [`Engine::rules`].
    pub fn rule_id(&self, index: usize) -> Option<&str> {
        // A rule a cascade built is read in place, without building the others for `rules()`.
        match self.rules.get(index) {
            Some(r) if self.partial.is_some() && !r.id.is_empty() => Some(&r.id),
            _ => self.rules().get(index).map(|r| r.id.as_str()),
        }
    }

    fn logging(&self) -> bool {
        self.logger.is_some() || self.options.verbose
    }

    fn log(&mut self, line: &str) {
        match &mut self.logger {
            Some(l) => l(line),
            #[cfg(not(target_arch = "wasm32"))]
            None if self.options.verbose => eprintln!("{line}"),
            None => {}
        }
    }

    pub fn options(&self) -> &EngineOptions {
        &self.options
    }

    pub fn delimiter(&self) -> char {
        self.options.delimiter
    }

    /// The entities, in schema order.
    pub fn entities(&self) -> &[Entity] {
        match &self.field_lists {
            None => &self.entities,
            Some(lists) => self.entity_view.get_or_init(|| {
                let list = |i| words(lists.get(i).unwrap_or_default());
                self.entities
                    .iter()
                    .enumerate()
                    .map(|(i, e)| Entity { fields: list(i), ..e.clone() })
                    .collect()
            }),
        }
    }

    /// The detected relationships.
    pub fn relationships(&self) -> &[Relationship] {
        self.relationship_list.get_or_init(|| self.relationships.to_vec())
    }

    /// Every rule, auto rules first (grouped by entity), then manual rules in the order added.
    pub fn rules(&self) -> &[Rule] {
        match &self.pending {
            None => &self.rules,
            Some(stored) => self.pending_view.get_or_init(|| self.auto_rules_then(stored.iter().cloned())),
        }
    }

    /// The entity named by a keyspace or a GraphQL type name.
    pub fn entity(&self, name: &str) -> Option<&Entity> {
        self.lookup.get(name).and_then(|&i| self.entities().get(i))
    }

    /// As [`Engine::entity`], for its keyspace and key fields: its `fields` may be left empty
    /// (see `field_lists`), so finding it builds nothing.
    pub(crate) fn keyed_entity(&self, name: &str) -> Option<&Entity> {
        self.lookup.get(name).and_then(|&i| self.entities.get(i))
    }

    fn entity_index(&self, name: &str) -> Result<usize> {
        self.lookup.get(name).copied().ok_or_else(|| Error::UnknownEntity {
            entity: name.to_owned(),
            suggestion: suggest(name, self.entities.iter().map(|e| e.keyspace.as_str()))
                .or_else(|| suggest(name, self.entities.iter().map(|e| e.type_name.as_str()))),
        })
    }

    /// Validates and adds a manual rule given as `{ entity, cascadeTo, when?, onFields?, maxDepth? }`.
    /// Adding an identical rule again keeps one; returns the rule's id.
    pub fn add_rule_value(&mut self, v: &Value) -> Result<String> {
        let rule = self.parse_rule(v, None)?;
        self.add_rule(rule)
    }

    /// As [`Engine::add_rule_value`], with the `when` condition held by the embedder.
    pub fn add_rule_value_with_external(&mut self, v: &Value, external: u32) -> Result<String> {
        let rule = self.parse_rule(v, Some(Condition::External(external)))?;
        self.add_rule(rule)
    }

    fn add_rule(&mut self, rule: Rule) -> Result<String> {
        self.materialize();
        if self.rules.len() >= MAX_RULES && !self.rule_index.contains_key(&rule.id) {
            return Err(Error::LimitExceeded {
                what: "number of rules",
                limit: MAX_RULES,
                actual: self.rules.len() + 1,
            });
        }
        let id = self.insert_rule(rule);
        self.reindex_rules();
        Ok(id)
    }

    fn parse_rule(&self, v: &Value, external: Option<Condition>) -> Result<Rule> {
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
        let ei = self.entity_index(entity_name)?;
        let entity = &self.entities[ei];
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
            let t = KeyTemplate::parse(s, self.options.delimiter)?;
            for p in t.placeholders() {
                if !self.placeholder_known(ei, p) {
                    return Err(Error::UnknownPlaceholder {
                        template: s.to_owned(),
                        placeholder: p.to_owned(),
                    });
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
        let keyspace = entity.keyspace.clone();
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
    fn placeholder_known(&self, ei: usize, name: &str) -> bool {
        // With their fields: the first manual rule of a loaded engine splits its field lists.
        let Some(entity) = self.entities().get(ei) else { return true };
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

    /// Removes the rule with this id.
    pub fn remove_rule(&mut self, id: &str) -> Result<Rule> {
        self.materialize();
        let i = *self.rule_index.get(id).ok_or_else(|| Error::UnknownRule { id: id.to_owned() })?;
        let rule = self.rules.remove(i);
        self.reindex_rules();
        Ok(rule)
    }

    /// Removes every rule, auto rules included.
    pub fn clear_rules(&mut self) {
        self.pending = None;
        self.pending_view.take();
        self.partial = None;
        self.rules.clear();
        self.reindex_rules();
    }

    /// The cascade set of one change.
    pub fn cascade(&mut self, change: &Change) -> Result<CascadeSet> {
        self.cascade_batch(std::slice::from_ref(change))
    }

    /// One deduplicated cascade set for several changes, in the order given.
    pub fn cascade_batch(&mut self, changes: &[Change]) -> Result<CascadeSet> {
        let changes: Vec<ChangeRef<'_>> = changes.iter().map(ChangeRef::from).collect();
        let run = self.run(&changes)?;
        let set = run.finish(&self.rules);
        self.keep(run);
        Ok(set)
    }

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
        let mut run = self.run(changes)?;
        run.encode(out);
        self.keep(run);
        Ok(())
    }

    /// Keeps a finished run for the next cascade to reuse its capacity. A huge one is not kept:
    /// its tables would hold their memory until the next cascade.
    fn keep(&mut self, run: Box<Run>) {
        if run.entries.len() <= SPARE_RUN_KEYS {
            self.spare = Some(run);
        }
    }

    fn run(&mut self, changes: &[ChangeRef<'_>]) -> Result<Box<Run>> {
        self.run_with(changes, true)
    }

    /// The run of a cascade; its stats are recorded when `record` (a plan is not a cascade).
    fn run_with(&mut self, changes: &[ChangeRef<'_>], record: bool) -> Result<Box<Run>> {
        self.prepare();
        let started = self.clock.as_ref().map(|c| c());
        let delimiter = self.options.delimiter;
        let mut run = match self.spare.take() {
            Some(mut run) => {
                run.reset(self.options.max_keys, delimiter);
                run
            }
            None => Box::new(Run::new(self.options.max_keys, delimiter)),
        };
        // Validate everything first: a bad change leaves stats and logs untouched.
        for c in changes {
            // Consecutive changes mostly name one entity: its index is remembered by name.
            let known = (run.entity != NONE && run.entity_name == c.entity).then_some(run.entity as usize);
            let checked = known.map_or_else(|| self.entity_index(c.entity), Ok).and_then(|ei| {
                if known.is_none() {
                    run.entity_name.clear();
                    run.entity_name.push_str(c.entity);
                    run.entity = ei as u32;
                }
                run.id.clear();
                push_encoded_segment(&mut run.id, c.id, delimiter);
                let len = self.entities[ei].keyspace.len() + delimiter.len_utf8() + run.id.len();
                if len > MAX_KEY_LEN {
                    return Err(Error::LimitExceeded { what: "key length", limit: MAX_KEY_LEN, actual: len });
                }
                Ok(ei)
            });
            match checked {
                Ok(ei) => run.seeds.push(ei as u32),
                Err(e) => {
                    self.spare = Some(run);
                    return Err(e);
                }
            }
        }
        if self.template_base.is_empty() {
            self.index_templates();
        }
        let seeds = std::mem::take(&mut run.seeds);
        let mut queue = std::mem::take(&mut run.queue);
        for (ci, (c, &entity)) in changes.iter().zip(&seeds).enumerate() {
            let start = run.text.len();
            run.text.push_str(&self.entities[entity as usize].keyspace);
            run.text.push(delimiter);
            push_encoded_segment(&mut run.text, c.id, delimiter);
            if self.logging() {
                let line = format!("[CASCADE] {} changed", span(&run.text, start..));
                self.log(&line);
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
                + self.entities[entity as usize].keyspace.len() as u32
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
                self.expand(&work, changes, &mut run, &mut queue);
            }
        }
        run.seeds = seeds;
        run.seeds.clear();
        run.queue = queue;
        let elapsed = match (started, self.clock.as_ref()) {
            (Some(s), Some(c)) => (c() - s).max(0.0),
            _ => 0.0,
        };
        if record {
            self.stats.record(changes.len(), run.depth, elapsed, run.entries.len());
            self.count_edges(&run);
        }
        if self.logging() {
            // Hundredths by integer arithmetic: `{:.2}` would pull float printing into the wasm.
            let hundredths = (elapsed * 100.0).round() as u64; // `as` saturates
            let line =
                format!("[CASCADE] ✓ CASCADE complete in {}.{:02}ms", hundredths / 100, hundredths % 100);
            self.log(&line);
        }
        Ok(run)
    }

    /// Lays out one counter slot per template (see `edge_slots`), after the rules changed.
    fn index_templates(&mut self) {
        let mut at = 0u32;
        self.template_base.clear();
        self.template_base.reserve(self.rules.len() + 1);
        for r in &self.rules {
            self.template_base.push(at);
            // A rule not built yet (see `partial`) is an auto rule: it has one template.
            at += r.cascade_to.len().max(1) as u32;
        }
        self.template_base.push(at);
        self.edge_slots.clear();
        self.edge_slots.resize(at as usize, UNSET);
    }

    /// Counts the run's new keys in the stats edges (`user -> post`).
    fn count_edges(&mut self, run: &Run) {
        for &edge in &run.edges {
            if let Some(slot) = self.edge_slot(run, edge) {
                self.stats.count_edge(slot);
            }
        }
    }

    /// The stats slot of one of the run's edges (source entity, rule, template, key). A template
    /// whose first segment is fixed always gives the same label, so its slot is looked up once.
    fn edge_slot(&mut self, run: &Run, (from, rule, template, key): (u32, u32, u32, u32)) -> Option<u32> {
        let flat = (self.template_base[rule as usize] + template) as usize;
        let mut slot = self.edge_slots[flat];
        if slot == UNSET {
            let fixed = self.rules[rule as usize].cascade_to[template as usize].fixed_first_segment();
            slot = match fixed {
                Some(first) => {
                    self.stats.edge_slot(from as usize, edge_label(first), &self.entities).unwrap_or(VARIES)
                }
                None => VARIES,
            };
            self.edge_slots[flat] = slot;
        }
        match slot {
            VARIES => self.stats.edge_slot(from as usize, edge_label(run.key(key)), &self.entities),
            slot => Some(slot),
        }
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
        if let Some(&ei) = self.lookup.get(ks) {
            if self.entities[ei].keyspace == ks {
                run.entries[i as usize].follow = ei as u32;
            }
        }
    }

    fn expand(&mut self, work: &Work, changes: &[ChangeRef<'_>], run: &mut Run, queue: &mut VecDeque<Work>) {
        if work.remaining == 0 {
            // The budget ran out here; it only counts as truncation when the global depth (not
            // a rule's own maxDepth) stopped rules that would have fired.
            if !work.limited_by_rule && !self.by_entity[work.entity as usize].is_empty() {
                run.truncated = true;
            }
            return;
        }
        if let Some(mut partial) = self.partial.take() {
            self.build_planned(&mut partial, work.entity as usize);
            self.partial = Some(partial);
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
        let rule_ids = std::mem::take(&mut self.by_entity[work.entity as usize]);
        for &ri in &rule_ids {
            // Each key is queued once per change (`reach`), so each (rule, key) pair is expanded
            // once per change, which is what ends cycles.
            if !self.fires(ri, work, data, before) {
                continue;
            }
            let logging = self.logging();
            if logging {
                let line = format!("[CASCADE] → Evaluating rule: {}", self.rules[ri].id);
                self.log(&line);
            }
            let rule = &self.rules[ri];
            let entity = &self.entities[work.entity as usize];
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
                let after = after_state.then(|| {
                    let (coarse, _) =
                        t.render_into(&mut run.text, delimiter, |name| resolve(name, entity, &id, data));
                    coarse
                });
                let before_coarse = before.and_then(|b| {
                    scratch.clear();
                    let (coarse, _) = t.render_into(&mut scratch, delimiter, |name| {
                        // A field `before` does not mention is taken as unchanged.
                        resolve(name, entity, &id, Some(b)).or_else(|| resolve(name, entity, &id, data))
                    });
                    (after.is_none() || scratch != span(&run.text, start..)).then_some(coarse)
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
                self.log(&line);
            }
        }
        self.by_entity[work.entity as usize] = rule_ids;
        run.id = id;
        run.scratch = scratch;
    }

    fn fires(&mut self, ri: usize, work: &Work, data: Option<&Value>, before: Option<&Value>) -> bool {
        let rule = &self.rules[ri];
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
        let mut eval = |data: &Value, other: Option<&Value>| match &mut self.external {
            Some(ext) => cond.eval(data, other, ext.as_mut()),
            None => cond.eval(data, other, &mut |_, _| true),
        };
        data.is_some_and(|d| eval(d, before)) || before.is_some_and(|b| eval(b, data))
    }

    /// The cascade set for invalidating `key`, when `key` is an entity key (`user:123`); `None`
    /// for any other key.
    pub fn cascade_key(&mut self, key: &str) -> Option<CascadeSet> {
        let (ks, id) = key.split_once(self.options.delimiter)?;
        if has_char(id, self.options.delimiter) || id == "*" {
            return None;
        }
        let ei = *self.lookup.get(ks)?;
        if self.entities[ei].keyspace != ks {
            return None;
        }
        let change = Change::new(ks, decode_segment(id));
        self.cascade(&change).ok()
    }

    /// As [`Engine::cascade_key`], in the compact form; `false` for a key that is not an
    /// entity key.
    pub fn cascade_key_compact(&mut self, key: &str, out: &mut CompactSet) -> bool {
        let (ks, id) = match key.split_once(self.options.delimiter) {
            Some((ks, id)) if !has_char(id, self.options.delimiter) && id != "*" => (ks, id),
            _ => return false,
        };
        match self.lookup.get(ks) {
            Some(&ei) if self.entities[ei].keyspace == ks => {}
            _ => return false,
        }
        let id = decode_segment(id);
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
        self.prepare();
        match self.id_mark {
            Some(mark) => mark,
            None => *self.id_mark.insert(self.find_id_mark()),
        }
    }

    /// [`Engine::plan_compact`] for a change with data: `id` and every value in `data` that a
    /// key may take are stand-ins made of the [`Engine::plan_mark`] byte around a number
    /// (`M0M` for the id, `M1M`… for the values; the caller keeps which is which), so each
    /// stand-in in a planned key is where that value goes. Other values (`null`, booleans,
    /// numbers that are not ids) stay as they are: the plan holds for data of that shape only.
    ///
    /// `None` in the cases of `plan_compact`, and when a rule's condition read the data (its
    /// outcome would hold for the stand-ins only).
    pub fn plan_compact_data(
        &mut self,
        entity: &str,
        op: Op,
        id: &str,
        data: &Value,
        out: &mut CompactSet,
    ) -> Option<CascadePlan> {
        let mark = self.plan_mark()?;
        self.consulted_data = false;
        self.planning_data = true;
        let plan = self.plan_run(ChangeRef { entity, id, op, data: Some(data), before: None }, mark, out);
        self.planning_data = false;
        plan.filter(|_| !std::mem::take(&mut self.consulted_data))
    }

    /// The run of a plan (see [`Engine::plan_compact`]), encoded into `out` when it can stand for
    /// every value its `mark` bytes stand for.
    fn plan_run(&mut self, change: ChangeRef<'_>, mark: u8, out: &mut CompactSet) -> Option<CascadePlan> {
        if self.logging() {
            return None;
        }
        let mut run = self.run_with(&[change], false).ok()?;
        let delimiter = self.options.delimiter;
        let plannable = run.entries.len() < self.options.max_keys
            && (0..run.entries.len() as u32).all(|i| {
                let key = run.key(i);
                let first = key.find(delimiter).map_or(key, |at| span(key, ..at));
                run.entries[i as usize].plain_tag && !first.as_bytes().contains(&mark)
            });
        let plan = plannable.then(|| {
            let mut key_slots = vec![NO_EDGE; run.entries.len()];
            for &edge in &run.edges {
                if let Some(slot) = self.edge_slot(&run, edge) {
                    key_slots[edge.3 as usize] = slot;
                }
            }
            let edge_slots = key_slots.iter().copied().filter(|&s| s != NO_EDGE).collect();
            run.encode(out);
            CascadePlan { id_mark: mark, edge_slots, key_slots }
        });
        self.keep(run);
        plan
    }

    /// A byte for [`Engine::plan_compact`] to stand for the id: a [`plain_id_byte`] that occurs in
    /// no template and no keyspace (so in no key but where the id was put).
    ///
    /// Auto rules not built yet (see `partial`) are covered by what their templates are made of:
    /// keyspaces, key fields, relationship fields and inverses, braces, `_` and `*`.
    fn find_id_mark(&self) -> Option<u8> {
        let mut used = [false; 128];
        let texts = self.rules.iter().flat_map(|r| r.cascade_to.iter().map(KeyTemplate::as_str));
        let entities = self
            .entities
            .iter()
            .flat_map(|e| std::iter::once(&e.keyspace).chain(&e.key_fields))
            .map(String::as_str);
        let relationships =
            self.relationships.iter().flat_map(|r| std::iter::once(r.field()).chain(r.inverse()));
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

    /// The most keys a cascade set may have (`maxKeys`).
    pub fn max_keys(&self) -> usize {
        self.options.max_keys
    }

    /// Counters and timings since the engine was made.
    pub fn stats(&self) -> EngineStats {
        self.stats.snapshot()
    }

    /// Counts keys purged through a backend (reported by the purge helpers).
    pub fn record_purge(&mut self, backend: &str, keys: u64) {
        self.stats.record_purge(backend, keys);
    }

    /// Over-broad, never-firing, coarse and redundant rules.
    pub fn lint(&self) -> Vec<Lint> {
        let mut out = Vec::new();
        let d = self.options.delimiter;
        for r in self.rules() {
            for t in &r.cascade_to {
                if t.is_over_broad() {
                    out.push(Lint {
                        rule: r.id.clone(),
                        code: "OVER_BROAD",
                        message: format!("`{}` purges a whole keyspace or more on every change", t.as_str()),
                    });
                }
            }
            if r.coarse {
                out.push(Lint {
                    rule: r.id.clone(),
                    code: "COARSE",
                    message: format!(
                        "no to-one field points back from `{}`, so every list of this kind is purged; add an inverse field or a manual rule",
                        r.entity
                    ),
                });
            }
            if let Some(&e) = self.lookup.get(&r.entity) {
                if !self.entities()[e].fields.is_empty() {
                    let unknown: Vec<&str> = r
                        .on_fields
                        .iter()
                        .map(String::as_str)
                        .chain(r.when.iter().flat_map(|c| c.fields()))
                        .filter(|f| !self.placeholder_known(e, f))
                        .collect();
                    for f in unknown {
                        out.push(Lint {
                            rule: r.id.clone(),
                            code: "NEVER_FIRES",
                            message: format!(
                                "`{f}` is not a field of `{}`, so the rule's condition never sees it change",
                                self.entities[e].type_name
                            ),
                        });
                    }
                }
            }
            for (i, a) in r.cascade_to.iter().enumerate() {
                for (j, b) in r.cascade_to.iter().enumerate() {
                    if i != j
                        && crate::keys::covers(&a.widest(d), &b.widest(d), d)
                        && a.placeholders().count() == 0
                    {
                        out.push(Lint {
                            rule: r.id.clone(),
                            code: "REDUNDANT",
                            message: format!("`{}` already covers `{}`", a.as_str(), b.as_str()),
                        });
                    }
                }
            }
        }
        out
    }

    /// The engine's entities, relationships and rules as JSON, loadable without the schema, in
    /// the slim format version 2 (4.5× smaller than version 1 on GitHub's schema).
    pub fn to_value(&self) -> Result<Value> {
        self.to_value_version(2)
    }

    /// As [`Engine::to_value`], in format `version` 1 or 2. Version 1 spells out every rule and
    /// every field list; it is still read, and written on request. Version 2 is slim: entities and
    /// relationships are arrays with lists joined by spaces, and when the rules start with
    /// exactly the auto rules of the relationships (`"derived": true`) those are not stored but
    /// derived again on load; only the rules after them are listed.
    pub fn to_value_version(&self, version: u32) -> Result<Value> {
        // A pending engine holds only rules read from JSON, which have no JS predicates.
        if let Some(r) = self.rules.iter().find(|r| r.when.as_ref().is_some_and(Condition::has_external)) {
            return Err(Error::rule(format!(
                "rule `{}` has a JS function as its condition, which cannot be saved; use the declarative `when` form",
                r.id
            )));
        }
        if version == 2 {
            return self.to_value_v2();
        }
        let strings = |v: &[String]| Value::Array(v.iter().map(|s| Value::from(s.as_str())).collect());
        let entities = self
            .entities()
            .iter()
            .map(|e| {
                Value::object([
                    ("type", Value::from(e.type_name.as_str())),
                    ("keyspace", Value::from(e.keyspace.as_str())),
                    ("keyFields", strings(&e.key_fields)),
                    ("fields", strings(&e.fields)),
                ])
            })
            .collect();
        let relationships = self.relationships().iter().map(relationship_value).collect();
        Ok(Value::object([
            ("format", Value::from("cascade-edge/rules")),
            ("version", Value::Number(1.0)),
            ("delimiter", Value::from(self.options.delimiter.to_string())),
            ("maxDepth", Value::Number(f64::from(self.options.max_depth))),
            ("maxKeys", Value::Number(self.options.max_keys as f64)),
            ("entities", Value::Array(entities)),
            ("relationships", Value::Array(relationships)),
            ("rules", Value::Array(self.rules().iter().map(Rule::to_value).collect())),
        ]))
    }

    fn to_value_v2(&self) -> Result<Value> {
        // A list whose items hold no space is one space-joined string; otherwise an array.
        fn list<'s>(v: impl Iterator<Item = &'s str> + Clone) -> Value {
            if v.clone().any(|s| s.is_empty() || s.contains(' ')) {
                Value::Array(v.map(Value::from).collect())
            } else {
                Value::from(v.collect::<Vec<_>>().join(" "))
            }
        }
        let entities = self
            .entities()
            .iter()
            .map(|e| {
                Value::Array(vec![
                    Value::from(e.type_name.as_str()),
                    Value::from(e.keyspace.as_str()),
                    list(e.key_fields.iter().map(String::as_str)),
                    list(e.fields.iter().map(String::as_str)),
                ])
            })
            .collect();
        let relationships = self
            .relationships
            .iter()
            .map(|r| {
                Value::Array(vec![
                    Value::from(r.holder()),
                    Value::from(r.field()),
                    Value::from(r.target()),
                    Value::from(if r.cardinality() == Cardinality::One { "one" } else { "many" }),
                    list(r.via()),
                    list(r.inverse()),
                ])
            })
            .collect();
        let (is_derived, stored) = match &self.pending {
            // Loaded with derived auto rules and nothing after them: no need to derive them again.
            Some(stored) if stored.is_empty() => (true, &[][..]),
            _ => {
                let (rules, derived) = (self.rules(), self.derived_rules()?);
                let is_derived = rules.len() >= derived.len() && rules[..derived.len()] == derived[..];
                (is_derived, if is_derived { &rules[derived.len()..] } else { rules })
            }
        };
        Ok(Value::object([
            ("format", Value::from("cascade-edge/rules")),
            ("version", Value::Number(2.0)),
            ("delimiter", Value::from(self.options.delimiter.to_string())),
            ("maxDepth", Value::Number(f64::from(self.options.max_depth))),
            ("maxKeys", Value::Number(self.options.max_keys as f64)),
            ("entities", Value::Array(entities)),
            ("relationships", Value::Array(relationships)),
            ("derived", Value::Bool(is_derived)),
            ("rules", Value::Array(stored.iter().map(Rule::to_value).collect())),
        ]))
    }

    /// Loads an engine from the JSON text of [`Engine::to_value`]: the same engine, or the same
    /// error, as `from_value(&Value::parse(text)?)`, without building the tree of a version 2
    /// document written by `to_value` (strings are read in place; only the engine's own are
    /// allocated).
    pub fn from_json(text: &str, logger: Option<Logger>) -> Result<Engine> {
        match Self::read_v2(text) {
            Some(mut engine) => {
                engine.logger = logger;
                Ok(engine)
            }
            // Any other document, and every error, takes the general path, which says what is wrong.
            None => Self::from_value(&Value::parse(text)?, logger),
        }
    }

    /// Reads a version 2 document whose `version` comes before its entities and relationships
    /// (as `to_value` writes them); `None` for anything else, or anything wrong.
    fn read_v2(text: &str) -> Option<Engine> {
        let stop = || Error::json("not read in place", None);
        let mut p = Parser::new(text);
        // Every member but the entities and relationships, as `from_value` would see them.
        let mut head: Vec<(String, Value)> = Vec::new();
        let mut entities: Option<(Vec<Entity>, FieldLists)> = None;
        let mut relationships: Option<RelationshipTable> = None;
        p.members(&mut |p, key| {
            let v2 = head.iter().find(|(k, _)| k == "version").is_some_and(|(_, v)| v.as_f64() == Some(2.0));
            match &*key {
                // Rows of plain strings (what `to_value` writes, unless a name needs an escape or
                // a list item holds a space) are read here; any other row stops the in-place
                // read, and `from_value` reads the document.
                "entities" if v2 && entities.is_none() => {
                    let (mut list, mut lists) = (Vec::new(), FieldLists::default());
                    p.items(&mut |p| {
                        let mut cells = [""; 4];
                        if !p.plain_strings(&mut cells) {
                            return Err(stop());
                        }
                        let [type_name, keyspace, key_fields, fields] = cells;
                        list.push(Entity {
                            type_name: type_name.to_owned(),
                            keyspace: keyspace.to_owned(),
                            key_fields: words(key_fields),
                            fields: Vec::new(),
                        });
                        lists.push(fields);
                        Ok(())
                    })?;
                    entities = Some((list, lists));
                }
                "relationships" if v2 && relationships.is_none() => {
                    // Strings go straight into the table's buffer: nothing is allocated per row.
                    let mut table = RelationshipTable::for_rows_of(p.remaining());
                    let mut last = None;
                    p.items(&mut |p| {
                        let mut cells = [""; 6];
                        if !p.plain_strings(&mut cells) {
                            return Err(stop());
                        }
                        let [holder, field, target, cardinality, via, inverse] = cells;
                        let cardinality = match cardinality {
                            "one" => Cardinality::One,
                            "many" => Cardinality::Many,
                            _ => return Err(stop()),
                        };
                        let row = [holder, field, target, via, inverse];
                        table.push_row(row, last, cardinality);
                        last = Some(row);
                        Ok(())
                    })?;
                    relationships = Some(table);
                }
                // A repeated member replaces the first (as in `JSON.parse`): not worth following here.
                "entities" | "relationships" => return Err(stop()),
                _ if head.iter().any(|(k, _)| *k == key) => return Err(stop()),
                _ => {
                    let v = p.read_value(1)?;
                    head.push((key.into_owned(), v));
                }
            }
            Ok(())
        })
        .ok()?;
        if !p.at_end() {
            return None;
        }
        let head = Value::Object(head);
        let (_, options) = Self::read_header(&head).ok()?;
        let mut engine = Engine::empty(options, None);
        (engine.entities, engine.field_lists) = entities.map(|(e, l)| (e, Some(l)))?;
        engine.index_entities().ok()?;
        engine.set_relationships(relationships?);
        let deferred = head.get("derived").and_then(Value::as_bool) == Some(true);
        if deferred {
            engine.check_auto_rules().ok()?;
        }
        engine.read_rules(&head, deferred).ok()?;
        Some(engine)
    }

    /// The format, version and options of a rules document.
    fn read_header(v: &Value) -> Result<(u32, EngineOptions)> {
        let bad = precompiled_error;
        if v.get("format").and_then(Value::as_str) != Some("cascade-edge/rules") {
            return Err(bad(
                "not a cascade-edge rules document (missing \"format\": \"cascade-edge/rules\")",
            ));
        }
        let version = match v.get("version").and_then(Value::as_f64) {
            Some(1.0) => 1,
            Some(2.0) => 2,
            _ => return Err(bad("unsupported version; this build reads versions 1 and 2")),
        };
        let mut delim = v.get("delimiter").and_then(Value::as_str).unwrap_or(":").chars();
        let delimiter = match (delim.next(), delim.next()) {
            (Some(c), None) => c,
            _ => return Err(bad("`delimiter` must be one character")),
        };
        let num = |k: &str, default: f64| v.get(k).and_then(Value::as_f64).unwrap_or(default);
        let options = EngineOptions {
            delimiter,
            max_depth: num("maxDepth", f64::from(DEFAULT_MAX_DEPTH)).clamp(0.0, 64.0) as u32,
            max_keys: num("maxKeys", DEFAULT_MAX_KEYS as f64).max(1.0) as usize,
            verbose: false,
            schema: SchemaOptions::default(),
        };
        options.validate()?;
        Ok((version, options))
    }

    /// Loads an engine saved with [`Engine::to_value`]; no schema is parsed.
    pub fn from_value(v: &Value, logger: Option<Logger>) -> Result<Engine> {
        let (version, options) = Self::read_header(v)?;
        let bad = precompiled_error;
        let string = string_member;
        let strings = |o: &Value, k: &str| -> Result<Vec<String>> {
            match o.get(k) {
                None => Ok(Vec::new()),
                Some(Value::Array(items)) => items
                    .iter()
                    .map(|s| {
                        s.as_str().map(str::to_owned).ok_or_else(|| bad(&format!("`{k}` must hold strings")))
                    })
                    .collect(),
                Some(_) => Err(bad(&format!("`{k}` must be an array"))),
            }
        };
        fn array<'v>(o: &'v Value, k: &str) -> Result<&'v [Value]> {
            match o.get(k) {
                Some(Value::Array(items)) => Ok(items.as_slice()),
                _ => Err(Error::json(format!("precompiled rules: `{k}` must be an array"), None)),
            }
        }
        // Version 2 rows: positional strings, and lists as one space-joined string (or an array).
        let cell = |row: &[Value], i: usize, what: &str| -> Result<String> {
            row.get(i)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| bad(&format!("{what} must be a string")))
        };
        let cell_list = |row: &[Value], i: usize, what: &str| -> Result<Vec<String>> {
            match row.get(i) {
                Some(Value::String(s)) => {
                    Ok(s.split(' ').filter(|f| !f.is_empty()).map(str::to_owned).collect())
                }
                Some(Value::Array(items)) => items
                    .iter()
                    .map(|s| {
                        s.as_str().map(str::to_owned).ok_or_else(|| bad(&format!("{what} must hold strings")))
                    })
                    .collect(),
                _ => Err(bad(&format!("{what} must be a string or an array"))),
            }
        };
        fn row<'v>(r: &'v Value, what: &str) -> Result<&'v [Value]> {
            r.as_array().ok_or_else(|| {
                Error::json(
                    format!("precompiled rules: each of `{what}` must be an array in version 2"),
                    None,
                )
            })
        }
        let cardinality = |c: &str| match c {
            "one" => Ok(Cardinality::One),
            "many" => Ok(Cardinality::Many),
            _ => Err(bad("`cardinality` must be \"one\" or \"many\"")),
        };
        let mut engine = Engine::empty(options, logger);
        for e in array(v, "entities")? {
            engine.entities.push(if version == 2 {
                let e = row(e, "entities")?;
                Entity {
                    type_name: cell(e, 0, "an entity's type")?,
                    keyspace: cell(e, 1, "an entity's keyspace")?,
                    key_fields: cell_list(e, 2, "an entity's key fields")?,
                    fields: cell_list(e, 3, "an entity's fields")?,
                }
            } else {
                Entity {
                    type_name: string(e, "type")?,
                    keyspace: string(e, "keyspace")?,
                    key_fields: strings(e, "keyFields")?,
                    fields: strings(e, "fields")?,
                }
            });
        }
        engine.index_entities()?;
        let mut relationships = Vec::new();
        for r in array(v, "relationships")? {
            relationships.push(if version == 2 {
                let r = row(r, "relationships")?;
                Relationship {
                    holder: cell(r, 0, "a relationship's holder")?,
                    field: cell(r, 1, "a relationship's field")?,
                    target: cell(r, 2, "a relationship's target")?,
                    cardinality: cardinality(&cell(r, 3, "a relationship's cardinality")?)?,
                    via: cell_list(r, 4, "a relationship's via")?,
                    inverse: cell_list(r, 5, "a relationship's inverse")?,
                }
            } else {
                Relationship {
                    holder: string(r, "holder")?,
                    field: string(r, "field")?,
                    target: string(r, "target")?,
                    cardinality: cardinality(&string(r, "cardinality")?)?,
                    via: strings(r, "via")?,
                    inverse: strings(r, "inverse")?,
                }
            });
        }
        engine.set_relationships(RelationshipTable::from_relationships(&relationships));
        engine.relationship_list = OnceCell::from(relationships);
        let deferred = version == 2 && v.get("derived").and_then(Value::as_bool) == Some(true);
        if deferred {
            engine.check_auto_rules()?;
        }
        engine.read_rules(v, deferred)?;
        Ok(engine)
    }

    /// Reads the stored rules of a document into an engine holding its entities, after the
    /// auto rules (derived now, or later when `deferred`).
    fn read_rules(&mut self, v: &Value, deferred: bool) -> Result<()> {
        let bad = precompiled_error;
        let string = string_member;
        let rules = match v.get("rules") {
            Some(Value::Array(items)) => items.as_slice(),
            _ => return Err(bad("`rules` must be an array")),
        };
        if rules.len() > MAX_RULES {
            return Err(Error::LimitExceeded {
                what: "number of rules",
                limit: MAX_RULES,
                actual: rules.len(),
            });
        }
        let mut stored = Vec::with_capacity(rules.len());
        for r in rules {
            let source = string(r, "source")?;
            let mut rule = self.parse_rule(
                &Value::Object(
                    r.as_object()
                        .unwrap_or_default()
                        .iter()
                        .filter(|(k, _)| {
                            matches!(k.as_str(), "entity" | "cascadeTo" | "when" | "onFields" | "maxDepth")
                        })
                        .cloned()
                        .collect(),
                ),
                None,
            )?;
            rule.coarse = r.get("coarse").and_then(Value::as_bool).unwrap_or(false);
            if source == "auto" {
                let rel = string(r, "relationship")?;
                let (holder, field) =
                    rel.split_once('.').ok_or_else(|| bad("`relationship` must be Holder.field"))?;
                rule.origin = Origin::Auto { holder: holder.to_owned(), field: field.to_owned() };
            }
            stored.push(rule);
        }
        if deferred {
            self.pending = Some(stored);
        } else {
            for rule in stored {
                self.insert_rule(rule);
            }
            // `insert_rule` kept `rule_index` exact (first occurrence of each id, ids unique).
            self.index_by_entity();
        }
        Ok(())
    }

    /// The entity changes in a GraphQL response (see [`crate::mutation`]).
    pub fn changes_from_mutation(&self, response: &Value) -> Result<Vec<Change>> {
        crate::mutation::changes_from_response(self, response)
    }
}

/// The words of a space-joined list, as `split(' ')` without the empty ones gives them.
fn words(list: &str) -> Vec<String> {
    let mut out = Vec::with_capacity(list.bytes().filter(|&b| b == b' ').count() + 1);
    for_each_word(list, |w| out.push(w.to_owned()));
    out
}

/// The string member `k` of a precompiled document's object `o`.
fn string_member(o: &Value, k: &str) -> Result<String> {
    o.get(k)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| precompiled_error(&format!("`{k}` must be a string")))
}

fn precompiled_error(what: &str) -> Error {
    Error::json(format!("precompiled rules: {what}"), None)
}

/// A relationship as JSON, in the shape `engine.relationships()` returns.
pub fn relationship_value(r: &Relationship) -> Value {
    let strings = |v: &[String]| Value::Array(v.iter().map(|s| Value::from(s.as_str())).collect());
    Value::object([
        ("holder", Value::from(r.holder.as_str())),
        ("field", Value::from(r.field.as_str())),
        ("target", Value::from(r.target.as_str())),
        ("cardinality", Value::from(if r.cardinality == Cardinality::One { "one" } else { "many" })),
        ("via", strings(&r.via)),
        ("inverse", strings(&r.inverse)),
    ])
}

fn whole(v: &Value, name: &str, max: u64) -> Result<u64> {
    match v.as_f64() {
        Some(n) if n.fract() == 0.0 && n >= 0.0 && n <= max as f64 => Ok(n as u64),
        _ => Err(Error::options(format!("`{name}` must be a whole number from 0 to {max}"))),
    }
}

/// Fills a placeholder from the work item: `{id}` (and the entity's key field) is the encoded id;
/// other names are looked up in the data, trying `a_b`, then `aB`, then `a.b`.
fn resolve<'v>(
    name: &str,
    entity: &Entity,
    id: &'v str,
    data: Option<&'v Value>,
) -> Option<(Cow<'v, str>, bool)> {
    if name == "id" || (entity.key_fields.len() == 1 && entity.key_fields[0] == name) {
        return Some((Cow::Borrowed(id), true));
    }
    match lookup_field(data?, name)? {
        Value::String(s) => Some((Cow::Borrowed(s.as_str()), false)),
        v => v.to_scalar_string().map(|s| (Cow::Owned(s), false)),
    }
}

/// Looks up a placeholder's value: the path itself, then the camelCase spelling, then the
/// foreign key as a nested object (`author_id` → `authorId` → `author.id`).
pub(crate) fn lookup_field<'v>(data: &'v Value, name: &str) -> Option<&'v Value> {
    if let Some(v) = data.get_path(name) {
        return Some(v);
    }
    let (head, tail) = name.rsplit_once('_')?;
    if head.contains('.') {
        return None;
    }
    data.get(&camel_case(name))
        .filter(|v| !v.is_null())
        .or_else(|| data.get(head)?.get(tail).filter(|v| !v.is_null()))
}

/// `author_id` → `authorId`. Only ASCII letters change case (GraphQL names are ASCII): Unicode
/// case mapping would bring its 12 KB table into the wasm for names no schema can have.
fn camel_case(snake: &str) -> String {
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

/// The auto rules of an engine's relationships, numbered as [`Engine::derived_rules`] numbers
/// them, without building them: each is named by its relationship and by which of that
/// relationship's templates it is (in the order `auto_templates` emits them). A cascade of a
/// loaded engine builds only the rules of the entities it reaches, at these indexes, so rule
/// indexes, trace ids and `rule_id` are what a full derivation gives.
#[derive(Default)]
struct AutoPlan {
    /// (relationship index, template number) of each auto rule, in firing order, ids unique.
    rules: Vec<(u32, u32)>,
    /// Entity index → where its rules start in `rules`; one more entry at the end.
    starts: Vec<u32>,
}

/// The ids of the rules [`Engine::auto_plan`] emitted (duplicates included), to keep the first
/// of each id without building a `String` per rule.
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

/// The state of an engine whose auto rules are built per entity (see `Engine::partial`).
struct Partial {
    plan: AutoPlan,
    /// Entity index → whether its auto rules are built.
    built: Vec<bool>,
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

/// The place of an auto rule not built yet (see `Engine::partial`); allocates nothing.
fn unbuilt_rule() -> Rule {
    Rule {
        id: String::new(),
        entity: String::new(),
        cascade_to: Vec::new(),
        when: None,
        on_fields: Vec::new(),
        max_depth: None,
        coarse: false,
        origin: Origin::Manual,
    }
}

/// No rule or no source key (a changed entity's own key).
const NONE: u32 = u32::MAX;

/// An `edge_slots` entry not looked up yet.
const UNSET: u32 = u32::MAX;
/// An `edge_slots` entry for a template whose label depends on the rendered key.
const VARIES: u32 = u32::MAX - 1;

/// The most keys a finished run may hold and still be kept for reuse (`Engine::spare`).
const SPARE_RUN_KEYS: usize = 4096;

/// A change as the run reads it: borrowed, so a change given by its parts needs no `Change`.
#[derive(Clone, Copy)]
struct ChangeRef<'a> {
    entity: &'a str,
    id: &'a str,
    op: Op,
    data: Option<&'a Value>,
    before: Option<&'a Value>,
}

impl<'a> From<&'a Change> for ChangeRef<'a> {
    fn from(c: &'a Change) -> Self {
        ChangeRef { entity: &c.entity, id: &c.id, op: c.op, data: c.data.as_ref(), before: c.before.as_ref() }
    }
}

/// One entity change waiting to be expanded.
#[derive(Clone, Copy)]
struct Work {
    entity: u32,
    /// The entity's key, as an index into the run's keys.
    key: u32,
    /// Where the key's id segment (what `{id}` renders to) starts in [`Run::text`].
    id_at: u32,
    /// The change whose data the rules see (an index into the batch), or [`NONE`] for an
    /// entity reached by the cascade, which has no data.
    change: u32,
    op: Op,
    depth: u32,
    /// How many more levels may follow from this change.
    remaining: u32,
    /// Whether `remaining` was set by a rule's own `maxDepth` rather than the global budget.
    limited_by_rule: bool,
}

/// One key of a run, in the order produced; its text is a span of [`Run::text`].
struct Entry {
    /// The rule that produced the key, or [`NONE`].
    rule: u32,
    /// The key whose change fired the rule (a key index), or [`NONE`].
    from: u32,
    depth: u32,
    /// Where the key's text ends in [`Run::text`] (it starts where the previous key ends).
    end: u32,
    /// The number of the last change of the batch that reached the key (see [`Run::reach`]).
    reached: u32,
    /// The entity the key names (`keyspace:id`), to cascade further, or [`NONE`].
    follow: u32,
    /// Where the id segment starts in [`Run::text`] when the key looks like `keyspace:id`, or
    /// [`NONE`].
    id_at: u32,
    coarse: bool,
    pattern: bool,
    /// Whether the key's CDN tag is the key itself (see [`tag_for`]).
    plain_tag: bool,
    ascii: bool,
}

/// What the rest of a cascade needs to know about a key's text.
struct KeyShape {
    pattern: bool,
    plain_tag: bool,
    ascii: bool,
    /// Where the id starts when the key looks like `keyspace:id` (one delimiter, no wildcard).
    id_at: Option<usize>,
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
struct Run {
    max_keys: usize,
    delimiter: char,
    hasher: hashbrown::DefaultHashBuilder,
    /// Every key's text, in order; key `i` spans `entries[i - 1].end..entries[i].end`.
    text: String,
    entries: Vec<Entry>,
    /// Key indexes, hashed by the key text.
    seen: hashbrown::HashTable<u32>,
    /// The number of the change being cascaded (1 for the first of a batch).
    change: u32,
    keyspace_wildcards: HashSet<String>,
    truncated: bool,
    /// The deepest level reached.
    depth: u32,
    /// (source entity, rule, template within the rule, key) of each new key, for the stats.
    edges: Vec<(u32, u32, u32, u32)>,
    /// Kept for their capacity: the changes' entities, the work queue, the id segment being
    /// expanded and the "before" rendering.
    seeds: Vec<u32>,
    queue: VecDeque<Work>,
    id: String,
    scratch: String,
    /// The entity named last by a change, and its index ([`NONE`]: none yet). Kept across runs:
    /// an engine's entities never change.
    entity_name: String,
    entity: u32,
}

/// What [`Run::add_tail`] did with a key.
enum Added {
    /// The key is new; its index.
    New(u32),
    /// The key was already in the set; its index.
    Present(u32),
    /// Past the fan-out budget: the key was replaced by (or folded into) its keyspace wildcard.
    Dropped,
}

impl Run {
    fn new(max_keys: usize, delimiter: char) -> Run {
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
    fn reset(&mut self, max_keys: usize, delimiter: char) {
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
    fn start(&self, i: u32) -> u32 {
        match i {
            0 => 0,
            i => self.entries[i as usize - 1].end,
        }
    }

    #[inline(always)]
    fn end(&self, i: u32) -> u32 {
        self.entries[i as usize].end
    }

    #[inline(always)]
    fn key(&self, i: u32) -> &str {
        span(&self.text, self.start(i) as usize..self.end(i) as usize)
    }

    /// Starts the cascade of the next change of a batch.
    fn next_change(&mut self) {
        self.change += 1;
    }

    /// Whether the set holds `max_keys` keys: a rule's new key is then dropped for its keyspace.
    fn past_budget(&self) -> bool {
        self.entries.len() >= self.max_keys
    }

    /// Marks a key reached by the current change; whether it was the first time.
    #[inline(always)]
    fn reach(&mut self, key: u32) -> bool {
        let e = &mut self.entries[key as usize];
        let first = e.reached != self.change;
        e.reached = self.change;
        first
    }

    /// Adds the key written at the end of `text` from `start` on, unless present (then it is
    /// removed from the end again). Past the fan-out budget, a key is replaced by its whole
    /// keyspace (`user:*`) so nothing is lost, and the set is truncated.
    fn add_tail(&mut self, start: usize, rule: u32, from: u32, depth: u32, coarse: bool) -> Added {
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
            // Not checked against the set, as before keys were spans: when the rules already
            // produced `user:*`, it is listed twice (a known bug, kept here to keep sets identical).
            let hash = self.hasher.hash_one(span(&self.text, start..));
            self.push(hash, start, Entry::new(rule, from, depth, true));
            return Added::Dropped;
        }
        Added::New(self.push(hash, start, Entry::new(rule, from, depth, coarse)))
    }

    /// Adds the key at the end of `text` from `start` on (not present, hashing to `hash`).
    fn push(&mut self, hash: u64, start: usize, mut entry: Entry) -> u32 {
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

    fn finish(&self, rules: &[Rule]) -> CascadeSet {
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
                rule: (e.rule != NONE).then(|| rules[e.rule as usize].id.clone()),
                from: (e.from != NONE).then(|| self.key(e.from).to_owned()),
                depth: e.depth,
                coarse: e.coarse,
            })
            .collect();
        set
    }

    /// The compact form the JS binding expands (see [`CompactSet`]). The keys' text moves into
    /// `out` (the run takes `out`'s old buffer for the next cascade).
    fn encode(&mut self, out: &mut CompactSet) {
        out.meta.clear();
        out.meta.reserve(3 + 6 * self.entries.len() + 2);
        out.meta.extend([u32::from(self.truncated), self.depth, self.entries.len() as u32]);
        for (i, e) in self.entries.iter().enumerate() {
            let tag_len = if e.plain_tag {
                0 // tag_for(k) == k
            } else {
                utf16_len(&tag_for(self.key(i as u32)))
            };
            let len = if e.ascii {
                self.end(i as u32) - self.start(i as u32)
            } else {
                utf16_len(self.key(i as u32))
            };
            let flags = u32::from(e.coarse) | (u32::from(e.pattern) << 1);
            out.meta.extend([len, e.rule.wrapping_add(1), e.from.wrapping_add(1), e.depth, flags, tag_len]);
        }
        let odd_tags = self.entries.iter().any(|e| !e.plain_tag);
        std::mem::swap(&mut out.text, &mut self.text);
        if odd_tags {
            for (i, e) in self.entries.iter().enumerate() {
                if !e.plain_tag {
                    let start = if i == 0 { 0 } else { self.entries[i - 1].end };
                    let tag = tag_for(span(&out.text, start as usize..e.end as usize));
                    out.text.push_str(&tag);
                }
            }
        }
    }
}

impl Entry {
    fn new(rule: u32, from: u32, depth: u32, coarse: bool) -> Entry {
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

fn utf16_len(s: &str) -> u32 {
    if s.is_ascii() {
        s.len() as u32
    } else {
        s.encode_utf16().count() as u32
    }
}

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

#[cfg(test)]
mod format_tests {
    use super::*;

    const SDL: &str = "type User { id: ID! name: String posts: [Post!]! manager: User }
        type Post { id: ID! title: String author: User! tags: [Tag!]! }
        type Tag { id: ID! label: String }
        type Query { user: User }";

    fn reload(e: &Engine, version: u32) -> Engine {
        let text = e.to_value_version(version).unwrap().to_json();
        Engine::from_value(&Value::parse(&text).unwrap(), None).unwrap()
    }

    #[test]
    fn version_2_round_trips_rules_and_cascades() {
        let mut e = Engine::from_schema(SDL, EngineOptions::default()).unwrap();
        e.add_rule_value(
            &Value::parse(r#"{"entity":"post","cascadeTo":["feed:{author_id}"],"onFields":["title"]}"#)
                .unwrap(),
        )
        .unwrap();
        let v2 = e.to_value_version(2).unwrap();
        assert_eq!(v2.get("derived").and_then(Value::as_bool), Some(true));
        assert_eq!(v2.get("rules").and_then(Value::as_array).map(<[Value]>::len), Some(1));
        // An engine whose auto rules were edited stores every rule.
        let mut edited = Engine::from_schema(SDL, EngineOptions::default()).unwrap();
        let first = edited.rules()[0].id.clone();
        edited.remove_rule(&first).unwrap();
        for engine in [&e, &edited] {
            for loaded in [reload(engine, 1), reload(engine, 2)] {
                assert_eq!(loaded.rules(), engine.rules());
                assert_eq!(loaded.relationships(), engine.relationships());
                assert_eq!(loaded.entities(), engine.entities());
                assert_eq!(loaded.to_value().unwrap().to_json(), engine.to_value().unwrap().to_json());
                assert_eq!(
                    loaded.to_value_version(2).unwrap().to_json(),
                    engine.to_value_version(2).unwrap().to_json()
                );
            }
        }
        let mut loaded = reload(&e, 2);
        for c in [Change::new("user", "1"), Change::new("post", "9"), Change::new("tag", "3")] {
            assert_eq!(loaded.cascade(&c).unwrap(), e.cascade(&c).unwrap());
        }
        assert_eq!(reload(&edited, 2).to_value_version(2).unwrap().get("derived"), Some(&Value::Bool(false)));
    }

    /// A version 2 document derives its auto rules on first use; every path to the rules sees
    /// what an eager load would have made.
    #[test]
    fn deferred_auto_rules_behave_as_derived_at_load() {
        let e = Engine::from_schema(SDL, EngineOptions::default()).unwrap();
        let mut doc = e.to_value_version(2).unwrap();
        // A stored rule identical to an auto rule is skipped, as inserting it would be.
        let auto = e.rules()[0].to_value();
        let manual =
            Value::parse(r#"{"entity":"post","cascadeTo":["feed:{author_id}"],"source":"manual"}"#).unwrap();
        if let Value::Object(members) = &mut doc {
            for (k, v) in members.iter_mut() {
                if k == "rules" {
                    *v = Value::Array(vec![auto.clone(), manual.clone(), manual.clone()]);
                }
            }
        }
        let text = doc.to_json();
        let load = || Engine::from_value(&Value::parse(&text).unwrap(), None).unwrap();
        let mut expected = Engine::from_schema(SDL, EngineOptions::default()).unwrap();
        expected
            .add_rule_value(&Value::parse(r#"{"entity":"post","cascadeTo":["feed:{author_id}"]}"#).unwrap())
            .unwrap();
        let saved =
            |e: &Engine| (e.to_value_version(1).unwrap().to_json(), e.to_value_version(2).unwrap().to_json());
        // Read through `&self` first, then materialized by a cascade.
        let mut loaded = load();
        assert_eq!(loaded.rules(), expected.rules());
        assert_eq!(saved(&loaded), saved(&expected));
        assert_eq!(loaded.lint(), expected.lint());
        assert_eq!(loaded.rule_id(3), expected.rule_id(3));
        let c = Change::new("user", "1");
        assert_eq!(loaded.cascade(&c).unwrap(), expected.cascade(&c).unwrap());
        assert_eq!(loaded.rules(), expected.rules());
        // Changed before anything read the rules.
        let first = expected.rules()[0].id.clone();
        let mut removed = load();
        removed.remove_rule(&first).unwrap();
        let mut added = load();
        added
            .add_rule_value(&Value::parse(r#"{"entity":"tag","cascadeTo":["tag:{id}:x"]}"#).unwrap())
            .unwrap();
        let mut cleared = load();
        cleared.clear_rules();
        expected.remove_rule(&first).unwrap();
        assert_eq!(saved(&removed), saved(&expected));
        let mut expected = load();
        expected.cascade(&c).unwrap();
        expected
            .add_rule_value(&Value::parse(r#"{"entity":"tag","cascadeTo":["tag:{id}:x"]}"#).unwrap())
            .unwrap();
        assert_eq!(saved(&added), saved(&expected));
        assert!(cleared.rules().is_empty());
        assert_eq!(cleared.cascade(&c).unwrap().keys, ["user:1"]);
    }

    /// `from_json` reads `to_value`'s version 2 layout in place and everything else through a
    /// tree; either way it gives what `from_value` gives, engine or error.
    #[test]
    fn from_json_is_from_value_of_the_parsed_text() {
        let mut e = Engine::from_schema(SDL, EngineOptions::default()).unwrap();
        e.add_rule_value(&Value::parse(r#"{"entity":"post","cascadeTo":["feed:{author_id}"]}"#).unwrap())
            .unwrap();
        let v2 = e.to_value_version(2).unwrap().to_json();
        let v1 = e.to_value_version(1).unwrap().to_json();
        let mut edited = Engine::from_schema(SDL, EngineOptions::default()).unwrap();
        let first = edited.rules()[0].id.clone();
        edited.remove_rule(&first).unwrap();
        let underived = edited.to_value_version(2).unwrap().to_json();
        let variants = [
            v2.clone(),
            v1,
            underived,
            format!(" \n{v2}\t "),
            v2.replace(r#""version":2,"#, "").replace(r#""derived""#, r#""version":2,"derived""#),
            v2.replace(r#"["User","user","id""#, r#"["U\u0073er","user","id","extra",[1,{"a":null}]"#),
            v2.replace(
                r#"["User","posts","Post","many","","author"]"#,
                r#"["User","posts","Post","many",[],["author"],7]"#,
            ),
            v2.replace(r#""entities":"#, r#""x":{"entities":[]},"entities":"#),
            v2.replace(r#""maxDepth":3"#, r#""maxDepth":"deep""#),
            v2.replace(r#""derived":true"#, r#""derived":true,"derived":false"#),
            v2.replace(r#""relationships":"#, r#""relationships":[],"relationships":"#),
            v2.replace(r#""many""#, r#""several""#),
            v2.replace(r#"["User","user","id""#, r#"["User","user",3"#),
            v2.replace(r#"["User","user","id""#, r#"["User","user",["id",""]"#),
            v2.replace(r#"["Tag","tag","id","id label"]"#, r#"["Tag","tag","id"]"#),
            v2.replace(r#""rules":["#, r#""rules":{"#),
            v2.replace(r#""format":"cascade-edge/rules""#, r#""format":"other""#),
            v2.replace(r#""delimiter":":""#, r#""delimiter":"/""#),
            v2.replace(r#""delimiter":":""#, r#""delimiter":"::""#),
            format!("{v2} 1"),
            v2[..v2.len() / 2].to_owned(),
            v2.replace(r#""user""#, r#""post""#),
            String::new(),
            "[]".to_owned(),
            v2.replace(r#"["User","posts","Post""#, "[ \"User\" ,\n\"posts\",\t\"Post\""),
        ];
        let in_place: Vec<usize> =
            (0..variants.len()).filter(|&i| Engine::read_v2(&variants[i]).is_some()).collect();
        // Rows with an escape (5), extra cells (5, 6) or a list as an array (6, 13) are read by
        // `from_value`; whitespace between cells is not a reason to (3, 24).
        assert_eq!(in_place, [0, 2, 3, 7, 8, 17, 24]);
        assert!(variants[6].contains(r#"["author"],7]"#));
        for (i, text) in variants.iter().enumerate() {
            let fast = Engine::from_json(text, None);
            let slow = Value::parse(text).and_then(|v| Engine::from_value(&v, None));
            match (fast, slow) {
                (Ok(fast), Ok(slow)) => {
                    assert_eq!(fast.entities(), slow.entities(), "variant {i}");
                    assert_eq!(fast.relationships(), slow.relationships(), "variant {i}");
                    assert_eq!(fast.options().max_depth, slow.options().max_depth, "variant {i}");
                    assert_eq!(fast.rules(), slow.rules(), "variant {i}");
                    for version in [1, 2] {
                        assert_eq!(
                            fast.to_value_version(version).unwrap().to_json(),
                            slow.to_value_version(version).unwrap().to_json(),
                            "variant {i}"
                        );
                    }
                }
                (Err(fast), Err(slow)) => assert_eq!(fast.to_string(), slow.to_string(), "variant {i}"),
                (fast, slow) => panic!("variant {i}: {:?} vs {:?}", fast.err(), slow.err()),
            }
        }
    }

    /// A load keeps the entities' field lists as written and splits them for the first reader
    /// that needs them (`entities()`, a manual rule's placeholders, `lint`): every answer is
    /// the one of the schema's engine, whichever comes first.
    #[test]
    fn a_loaded_engine_checks_fields_as_the_schema_engine_does() {
        let schema = Engine::from_schema(SDL, EngineOptions::default()).unwrap();
        let text = schema.to_value_version(2).unwrap().to_json();
        let rule = |t: &str| {
            Value::parse(&format!(r#"{{"entity":"post","cascadeTo":["{t}"],"onFields":["nope","title"]}}"#))
        };
        let lints = |e: &Engine| -> Vec<String> {
            e.lint().iter().map(|l| format!("{} {} {}", l.rule, l.code, l.message)).collect()
        };
        for order in 0..3 {
            let mut loaded = Engine::from_json(&text, None).unwrap();
            assert!(loaded.field_lists.is_some() && loaded.entity_view.get().is_none());
            let mut schema = Engine::from_schema(SDL, EngineOptions::default()).unwrap();
            if order == 1 {
                assert_eq!(loaded.entities(), schema.entities());
            }
            for t in
                ["feed:{author_id}", "feed:{authorId}", "feed:{nope}", "feed:{title}", "feed:{author.name}"]
            {
                let r = rule(t).unwrap();
                assert_eq!(
                    loaded.add_rule_value(&r).map_err(|e| e.to_string()),
                    schema.add_rule_value(&r).map_err(|e| e.to_string()),
                    "{t}"
                );
            }
            if order == 2 {
                assert_eq!(lints(&loaded), lints(&schema));
            }
            assert_eq!(loaded.entities(), schema.entities());
            assert_eq!(lints(&loaded), lints(&schema));
            assert!(lints(&loaded).iter().any(|l| l.contains("NEVER_FIRES `nope`")), "{:?}", lints(&loaded));
            assert_eq!(
                loaded.to_value_version(2).unwrap().to_json(),
                schema.to_value_version(2).unwrap().to_json()
            );
        }
    }

    /// The load check tests each piece once and falls back to the templates for a relationship
    /// with an odd piece: it fails exactly where checking every template does, with that error.
    #[test]
    fn the_piecewise_auto_rule_check_fails_where_every_template_fails() {
        let e = Engine::from_schema(SDL, EngineOptions::default()).unwrap();
        let v2 = e.to_value_version(2).unwrap().to_json();
        let long = "x".repeat(MAX_KEY_LEN / 2);
        let variants = [
            v2.clone(),
            v2.replace(r#"["User","manager""#, r#"["User","man{ager""#),
            v2.replace(r#"["User","manager""#, r#"["User","man:ager""#),
            v2.replace(r#"["User","manager""#, r#"["User","man ager""#),
            v2.replace(r#"["User","manager""#, r#"["User","""#),
            v2.replace(r#"["User","manager""#, &format!(r#"["User","{long}""#)),
            v2.replace(r#"["User","manager""#, &format!(r#"["User","{}""#, &long[..MAX_KEY_LEN / 2 - 20])),
            v2.replace(r#""user","id""#, r#""us*er","id""#),
            v2.replace(r#""user","id""#, r#""user","i-d""#),
            v2.replace(r#""post","id""#, r#""post","""#),
            v2.replace(r#""many","","author""#, r#""many","","au{thor""#),
            v2.replace(r#""many","","author""#, r#""many","","au thor""#),
            v2.replace(r#""many","","author""#, &format!(r#""many","","{long}""#)),
            v2.replace(r#""delimiter":":""#, r#""delimiter":"_""#),
        ];
        let mut failing = 0;
        for (i, text) in variants.iter().enumerate() {
            // The document's entities and relationships, loaded without the check (`derived: false`).
            let underived = text.replace(r#""derived":true"#, r#""derived":false"#);
            let Ok(engine) = Engine::from_value(&Value::parse(&underived).unwrap(), None) else { continue };
            let every_template =
                engine.relationships.iter().try_for_each(|rel| match engine.entity_refs(rel) {
                    Some(((_, holder), (_, target))) => {
                        check_auto_rules(rel, &holder, &target, engine.options.delimiter)
                    }
                    None => Ok(()),
                });
            let message = |r: &Result<_>| r.as_ref().err().map(ToString::to_string);
            let piecewise = engine.check_auto_rules();
            assert_eq!(message(&piecewise), message(&every_template), "variant {i}");
            let loaded = Engine::from_value(&Value::parse(text).unwrap(), None).map(drop);
            assert_eq!(message(&loaded), message(&piecewise), "variant {i}");
            failing += usize::from(every_template.is_err());
        }
        assert!(failing >= 8, "{failing}");
    }

    #[test]
    fn a_derived_document_whose_auto_rules_cannot_be_built_fails_to_load() {
        let e = Engine::from_schema(SDL, EngineOptions::default()).unwrap();
        let text =
            e.to_value_version(2).unwrap().to_json().replace(r#"["User","manager""#, r#"["User","man{ager""#);
        assert!(text.contains("man{ager"));
        let err = Engine::from_value(&Value::parse(&text).unwrap(), None).unwrap_err();
        assert_eq!(err.code(), "INVALID_TEMPLATE", "{err}");
    }
}
