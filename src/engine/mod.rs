//! The cascade engine (SPEC §2–4, §7): an engine owns a catalogue of entities ([`catalog`]), a
//! rule book ([`rulebook`]), its options and stats, and the hooks of its embedder; a cascade
//! ([`run`]) reads the first two and writes only its own run.

pub(crate) mod catalog;
mod format;
mod lint;
mod options;
mod rulebook;
mod run;

pub(crate) use catalog::Catalog;
#[cfg(target_arch = "wasm32")]
pub(crate) use format::entity_value;
pub use format::relationship_value;
pub use lint::Lint;
pub use options::EngineOptions;
pub(crate) use run::{ChangeRef, Run};

use crate::cascade::{CascadeSet, Change};
use crate::condition::Condition;
use crate::error::{Error, Result};
use crate::keys::decode_segment;
use crate::rules::Rule;
use crate::schema::{Entity, Relationship, RelationshipTable, SchemaModel};
use crate::stats::{edge_label, EngineStats, StatsAccumulator};
use crate::text::has_char;
use crate::value::Value;
use rulebook::{parse_rule, RuleBook};
use run::{Cascade, SPARE_RUN_KEYS};

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

/// What the embedder plugs into an engine: where log lines go, its clock, its predicates.
#[derive(Default)]
pub(crate) struct Hooks {
    pub(crate) logger: Option<Logger>,
    pub(crate) clock: Option<Clock>,
    pub(crate) external: Option<ExternalPredicate>,
    /// `verbose`: without a logger, lines go to the platform's stderr.
    pub(crate) verbose: bool,
}

impl Hooks {
    /// Whether cascades are logged (a logger is set, or `verbose`).
    #[inline]
    pub(crate) fn logging(&self) -> bool {
        self.logger.is_some() || self.verbose
    }

    pub(crate) fn log(&mut self, line: &str) {
        match &mut self.logger {
            Some(l) => l(line),
            None if self.verbose => crate::platform::print_verbose(line),
            None => {}
        }
    }
}

/// Per template of the rule book, the stats edge its keys count under (`user -> post`), looked
/// up once per template whose first segment is fixed.
#[derive(Default)]
pub(crate) struct EdgeSlots {
    /// The rule book version the slots were laid out for.
    version: Option<u64>,
    /// Rule index → the flat index of its first template in `slots`.
    template_base: Vec<u32>,
    /// Per template (flat index), its slot: [`UNSET`] until first used, [`VARIES`] when the
    /// label depends on the rendered key.
    slots: Vec<u32>,
}

/// An [`EdgeSlots`] entry not looked up yet.
const UNSET: u32 = u32::MAX;
/// An [`EdgeSlots`] entry for a template whose label depends on the rendered key.
const VARIES: u32 = u32::MAX - 1;

/// Derives cascade rules from a schema, holds manual rules, and computes cascade sets.
pub struct Engine {
    pub(crate) options: EngineOptions,
    pub(crate) catalog: Catalog,
    pub(crate) book: RuleBook,
    pub(crate) hooks: Hooks,
    pub(crate) stats: StatsAccumulator,
    edges: EdgeSlots,
    /// The run of the last cascade, cleared and reused by the next one so its tables and
    /// vectors keep their capacity.
    spare: Option<Box<Run>>,
    /// The rule book version and the byte the planner puts for an id (`None`: none is free);
    /// see `crate::wasm::protocol`.
    pub(crate) id_mark: Option<(u64, Option<u8>)>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("entities", &self.catalog.len())
            .field("relationships", &self.catalog.table().len())
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
        let table = RelationshipTable::from_relationships(&model.relationships);
        #[allow(unused_mut)]
        let mut catalog = Catalog::new(model.entities, None, table, Some(model.relationships))?;
        #[cfg(feature = "sdl")]
        catalog.set_non_entities(model.non_entities);
        let book = RuleBook::derived(&catalog, options.delimiter)?;
        let mut engine = Engine::assemble(options, catalog, book, logger);
        if engine.hooks.logging() {
            let lines: Vec<String> = engine
                .catalog
                .table()
                .iter()
                .map(|r| {
                    format!(
                        "CASCADE: Detected relationship: {} -> {} (field: {})",
                        r.holder(),
                        r.target(),
                        r.field()
                    )
                })
                .chain(engine.rules().iter().map(|r| format!("CASCADE: Rule: {}", r.id)))
                .chain(std::iter::once(format!("CASCADE: Created {} CASCADE rules", engine.rules().len())))
                .collect();
            for l in lines {
                engine.hooks.log(&l);
            }
        }
        Ok(engine)
    }

    fn assemble(options: EngineOptions, catalog: Catalog, book: RuleBook, logger: Option<Logger>) -> Engine {
        let hooks = Hooks { logger, verbose: options.verbose, ..Hooks::default() };
        Engine {
            options,
            catalog,
            book,
            hooks,
            stats: StatsAccumulator::default(),
            edges: EdgeSlots::default(),
            spare: None,
            id_mark: None,
        }
    }

    /// Sets the logger (replacing any).
    pub fn set_logger(&mut self, logger: Option<Logger>) {
        self.hooks.logger = logger;
    }

    /// Sets the clock used for timings in `stats` (none: timings are 0).
    pub fn set_clock(&mut self, clock: Option<Clock>) {
        self.hooks.clock = clock;
    }

    /// Sets the evaluator of embedder predicates (`Condition::External`).
    pub fn set_external_predicate(&mut self, external: Option<ExternalPredicate>) {
        self.hooks.external = external;
    }

    /// Whether cascades are logged (a logger is set, or `verbose`).
    pub fn is_logging(&self) -> bool {
        self.hooks.logging()
    }

    /// Adds time an embedder measured around cascades of an engine with no clock (`stats`).
    pub fn add_cascade_time(&mut self, elapsed_ms: f64) {
        self.stats.add_time(elapsed_ms);
    }

    /// The id of the rule at `index` in [`Engine::rules`].
    pub fn rule_id(&self, index: usize) -> Option<&str> {
        // A rule a cascade built is read in place, without building the others for `rules()`.
        match self.book.rule(index) {
            r if !r.id.is_empty() => Some(&r.id),
            _ => self.rules().get(index).map(|r| r.id.as_str()),
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
        self.catalog.entities()
    }

    /// The detected relationships.
    pub fn relationships(&self) -> &[Relationship] {
        self.catalog.relationships()
    }

    /// Every rule, auto rules first (grouped by entity), then manual rules in the order added.
    pub fn rules(&self) -> &[Rule] {
        self.book.all(&self.catalog, self.options.delimiter)
    }

    /// The entity named by a keyspace or a GraphQL type name.
    pub fn entity(&self, name: &str) -> Option<&Entity> {
        self.catalog.entity(name)
    }

    /// Validates and adds a manual rule given as `{ entity, cascadeTo, when?, onFields?, maxDepth? }`.
    /// Adding an identical rule again keeps one; returns the rule's id.
    pub fn add_rule_value(&mut self, v: &Value) -> Result<String> {
        let rule = parse_rule(&self.catalog, self.options.delimiter, v, None)?;
        self.add_rule(rule)
    }

    /// As [`Engine::add_rule_value`], with the `when` condition held by the embedder.
    pub fn add_rule_value_with_external(&mut self, v: &Value, external: u32) -> Result<String> {
        let rule = parse_rule(&self.catalog, self.options.delimiter, v, Some(Condition::External(external)))?;
        self.add_rule(rule)
    }

    fn add_rule(&mut self, rule: Rule) -> Result<String> {
        self.book.materialize(&self.catalog, self.options.delimiter);
        if self.book.len() >= MAX_RULES && !self.book.contains(&rule.id) {
            return Err(Error::LimitExceeded {
                what: "number of rules",
                limit: MAX_RULES,
                actual: self.book.len() + 1,
            });
        }
        Ok(self.book.add(&self.catalog, rule))
    }

    /// Removes the rule with this id.
    pub fn remove_rule(&mut self, id: &str) -> Result<Rule> {
        self.book.materialize(&self.catalog, self.options.delimiter);
        self.book.remove(&self.catalog, id)
    }

    /// Removes every rule, auto rules included.
    pub fn clear_rules(&mut self) {
        self.book.clear(&self.catalog);
    }

    /// The cascade set of one change.
    pub fn cascade(&mut self, change: &Change) -> Result<CascadeSet> {
        self.cascade_batch(std::slice::from_ref(change))
    }

    /// One deduplicated cascade set for several changes, in the order given.
    pub fn cascade_batch(&mut self, changes: &[Change]) -> Result<CascadeSet> {
        let changes: Vec<ChangeRef<'_>> = changes.iter().map(ChangeRef::from).collect();
        let (run, _) = self.run_with(&changes, true, false)?;
        let set = run.finish(&self.book);
        self.keep(run);
        Ok(set)
    }

    /// The cascade set for invalidating `key`, when `key` is an entity key (`user:123`); `None`
    /// for any other key.
    pub fn cascade_key(&mut self, key: &str) -> Option<CascadeSet> {
        let (ks, id) = key.split_once(self.options.delimiter)?;
        if has_char(id, self.options.delimiter) || id == "*" {
            return None;
        }
        let e = self.catalog.by_keyspace(ks)?;
        let change = Change::new(ks, self.id_of_segment(e, id));
        self.cascade(&change).ok()
    }

    /// The id a change of entity `e` takes for the id segment of one of its keys: the decoded
    /// value, or for a composite key the segment itself (its parts stay encoded, SPEC §2).
    pub(crate) fn id_of_segment(&self, e: usize, segment: &str) -> String {
        if self.catalog.keyed()[e].key_fields.len() > 1 {
            segment.to_owned()
        } else {
            decode_segment(segment)
        }
    }

    /// Keeps a finished run for the next cascade to reuse its capacity. A huge one is not kept:
    /// its tables would hold their memory until the next cascade.
    pub(crate) fn keep(&mut self, run: Box<Run>) {
        if run.entries.len() <= SPARE_RUN_KEYS {
            self.spare = Some(run);
        }
    }

    /// The run of a cascade, and whether a rule's condition read change data. Its stats are
    /// recorded when `record` (a plan is not a cascade); `planning_data` keeps JS predicates
    /// from seeing a plan's stand-ins.
    pub(crate) fn run_with(
        &mut self,
        changes: &[ChangeRef<'_>],
        record: bool,
        planning_data: bool,
    ) -> Result<(Box<Run>, bool)> {
        let delimiter = self.options.delimiter;
        self.book.prepare(&self.catalog, delimiter);
        let started = self.hooks.clock.as_ref().map(|c| c());
        let mut run = match self.spare.take() {
            Some(mut run) => {
                run.reset(self.options.max_keys, delimiter);
                run
            }
            None => Box::new(Run::new(self.options.max_keys, delimiter)),
        };
        let mut cascade = Cascade {
            options: &self.options,
            catalog: &self.catalog,
            book: &self.book,
            hooks: &mut self.hooks,
            planning_data,
            consulted_data: false,
        };
        let ran = cascade.run(changes, &mut run);
        let consulted = cascade.consulted_data;
        if let Err(e) = ran {
            self.spare = Some(run);
            return Err(e);
        }
        let elapsed = match (started, self.hooks.clock.as_ref()) {
            (Some(s), Some(c)) => (c() - s).max(0.0),
            _ => 0.0,
        };
        if record {
            self.stats.record(changes.len(), run.depth, elapsed, run.entries.len());
            for &edge in &run.edges {
                if let Some(slot) = self.edge_slot(&run, edge) {
                    self.stats.count_edge(slot);
                }
            }
        }
        if self.hooks.logging() {
            // Hundredths by integer arithmetic: `{:.2}` would pull float printing into the wasm.
            let hundredths = (elapsed * 100.0).round() as u64; // `as` saturates
            let line =
                format!("[CASCADE] ✓ CASCADE complete in {}.{:02}ms", hundredths / 100, hundredths % 100);
            self.hooks.log(&line);
        }
        Ok((run, consulted))
    }

    /// The stats slot of one of the run's edges (source entity, rule, template, key). A template
    /// whose first segment is fixed always gives the same label, so its slot is looked up once.
    pub(crate) fn edge_slot(
        &mut self,
        run: &Run,
        (from, rule, template, key): (u32, u32, u32, u32),
    ) -> Option<u32> {
        let version = self.book.version();
        let edges = &mut self.edges;
        if edges.version != Some(version) {
            // Laid out again after the rules changed: one counter slot per template.
            edges.version = Some(version);
            edges.template_base.clear();
            edges.template_base.reserve(self.book.len() + 1);
            let mut at = 0u32;
            for r in self.book.slots() {
                edges.template_base.push(at);
                // A rule not built yet (see `RuleBook::lazy`) is an auto rule: it has one template.
                at += r.cascade_to.len().max(1) as u32;
            }
            edges.template_base.push(at);
            edges.slots.clear();
            edges.slots.resize(at as usize, UNSET);
        }
        let flat = (edges.template_base[rule as usize] + template) as usize;
        let mut slot = edges.slots[flat];
        if slot == UNSET {
            let fixed = self
                .book
                .rule(rule as usize)
                .cascade_to
                .get(template as usize)
                .and_then(|t| t.fixed_first_segment());
            slot = match fixed {
                Some(first) => self
                    .stats
                    .edge_slot(from as usize, edge_label(first), self.catalog.keyed())
                    .unwrap_or(VARIES),
                None => VARIES,
            };
            edges.slots[flat] = slot;
        }
        match slot {
            VARIES => self.stats.edge_slot(from as usize, edge_label(run.key(key)), self.catalog.keyed()),
            slot => Some(slot),
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

    /// The entity changes in a GraphQL response (see [`crate::mutation`]).
    pub fn changes_from_mutation(&self, response: &Value) -> Result<Vec<Change>> {
        crate::mutation::changes_from_response(&self.catalog, self.options.delimiter, response)
    }
}
