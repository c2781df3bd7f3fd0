//! The engine's binding (`WasmEngine`, behind the JS `CascadeEngine`), and what every export
//! shares: the text buffer, panics, the module's start.
//!
//! Structured data crosses the boundary as JSON text: one string each way is cheaper than the
//! many property reads a field-by-field conversion makes, and keeps serde out of the wasm. The
//! public JS classes in `pkg-template/api.js` wrap these exports.

use super::errors::{js_error, parse_json, IntoJsResult};
use super::protocol::{op_of, CascadePlan, CompactSet};
use crate::{Change, Engine, Error, GraphFormat, Value};
use js_sys::Function;
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::prelude::*;

#[wasm_bindgen(start)]
fn start() {
    super::host::install();
    // A panic would leave the module unusable; say clearly what happened instead of "unreachable".
    std::panic::set_hook(Box::new(|info| {
        let msg = format!("cascade-edge: internal error (please report): {info}");
        console_error(&msg);
        LAST_PANIC.with(|p| *p.borrow_mut() = Some(msg));
    }));
}

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = console, js_name = error)]
    fn console_error(s: &str);

}

thread_local! {
    /// Where JS encodes a large text for wasm to read (`textBuffer`).
    static TEXT: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Makes the text buffer `len` bytes long, keeping the bytes it holds, and returns its address:
/// JS encodes a large text straight into wasm memory there (`TextEncoder.encodeInto`) for the
/// next call that reads it (`WasmEngine.fromSchemaText`), which empties it.
#[wasm_bindgen(js_name = textBuffer)]
pub fn text_buffer(len: u32) -> u32 {
    TEXT.with_borrow_mut(|b| {
        b.resize(len as usize, 0);
        b.as_ptr() as u32
    })
}

thread_local! {
    /// The message of the last panic, for the JS side to put in the error it throws: with
    /// `panic = "abort"` the call itself only traps with "unreachable".
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Takes the message of the last panic, if any.
#[wasm_bindgen(js_name = takePanic)]
pub fn take_panic() -> Option<String> {
    LAST_PANIC.with(|p| p.borrow_mut().take())
}

/// Panics on purpose, so tests can check what a bug looks like from JS. Not part of the API.
#[doc(hidden)]
#[wasm_bindgen(js_name = __panicForTests)]
pub fn panic_for_tests() {
    panic!("a deliberate panic");
}

/// The crate version.
#[wasm_bindgen]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}

fn js_logger(f: Function) -> crate::Logger {
    Box::new(move |line: &str| {
        // A throwing logger must not break the cascade it reports on.
        let _ = f.call1(&JsValue::NULL, &JsValue::from_str(line));
    })
}

fn js_clock(f: Function) -> crate::Clock {
    Box::new(move || f.call0(&JsValue::NULL).ok().and_then(|v| v.as_f64()).unwrap_or(0.0))
}

/// The engine behind the JS `CascadeEngine`.
#[wasm_bindgen]
pub struct WasmEngine {
    inner: Engine,
    /// JS predicates of rules whose `when` is a function, indexed by `Condition::External` ids.
    predicates: Rc<RefCell<Vec<Function>>>,
    /// The last compact cascade set, read by JS in wasm memory (see `locate`).
    out: CompactSet,
    /// Where JS writes a change's entity and id for `cascadeInput` (see `inputBuffer`).
    input: Vec<u8>,
}

#[cfg(feature = "sdl")]
#[wasm_bindgen]
impl WasmEngine {
    /// Builds an engine from SDL that JS encoded as UTF-8 into `textBuffer`, its first `len`
    /// bytes (wasm-bindgen would copy a string with a JS loop over its chars up to the first
    /// non-ASCII one; GitHub's schema is 1.2 MB); `options` is JSON text.
    #[wasm_bindgen(js_name = fromSchemaText)]
    pub fn from_schema_text(
        len: u32,
        options: &str,
        logger: Option<Function>,
        clock: Option<Function>,
    ) -> Result<WasmEngine, JsValue> {
        let text = TEXT.with_borrow_mut(std::mem::take);
        let sdl = text.get(..len as usize).unwrap_or(&text);
        Self::from_schema_bytes(sdl, options, logger, clock)
    }
}

#[wasm_bindgen]
impl WasmEngine {
    /// Loads precompiled rules (the UTF-8 bytes of JSON text from `toJSON`): bytes cross into
    /// wasm as one copy, where a string is converted char by char.
    #[wasm_bindgen(js_name = fromJSONBytes)]
    pub fn from_json_bytes(
        json: &[u8],
        logger: Option<Function>,
        clock: Option<Function>,
    ) -> Result<WasmEngine, JsValue> {
        let json = std::str::from_utf8(json)
            .map_err(|e| Error::json("the precompiled rules are not UTF-8 text", Some(e.valid_up_to())))
            .into_js()?;
        let inner = Engine::from_json(json, logger.map(js_logger)).into_js()?;
        Ok(WasmEngine::wrap(inner, clock))
    }
}

impl WasmEngine {
    /// Builds an engine from SDL given as UTF-8 bytes; bytes that are not UTF-8 are a syntax
    /// error at the first bad byte.
    #[cfg(feature = "sdl")]
    pub fn from_schema_bytes(
        sdl: &[u8],
        options: &str,
        logger: Option<Function>,
        clock: Option<Function>,
    ) -> Result<WasmEngine, JsValue> {
        let sdl = std::str::from_utf8(sdl)
            .map_err(|e| {
                let valid = &sdl[..e.valid_up_to()];
                let line_start = valid.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
                Error::SchemaSyntax {
                    line: valid.iter().filter(|&&b| b == b'\n').count() + 1,
                    column: String::from_utf8_lossy(&valid[line_start..]).chars().count() + 1,
                    message: "the schema is not UTF-8 text".to_owned(),
                }
            })
            .into_js()?;
        let opts = crate::EngineOptions::from_value(&parse_json(options)?).into_js()?;
        let inner = Engine::from_schema_with_logger(sdl, opts, logger.map(js_logger)).into_js()?;
        Ok(WasmEngine::wrap(inner, clock))
    }

    fn wrap(mut inner: Engine, clock: Option<Function>) -> WasmEngine {
        // Calling a JS clock from wasm twice per cascade costs more than a small cascade; only the
        // log line needs the time inside wasm. Otherwise the JS side times each call and reports
        // the sum with `addTime` before reading `stats`.
        if inner.is_logging() {
            inner.set_clock(clock.map(js_clock));
        }
        let predicates: Rc<RefCell<Vec<Function>>> = Rc::default();
        let held = predicates.clone();
        inner.set_external_predicate(Some(Box::new(move |id, data| {
            let Some(f) = held.borrow().get(id as usize).cloned() else { return true };
            let arg = js_sys::JSON::parse(&data.to_json()).unwrap_or(JsValue::NULL);
            // A predicate that throws fires the rule: purging more is safe, less is not.
            f.call1(&JsValue::NULL, &arg).map_or(true, |v| v.is_truthy())
        })));
        WasmEngine { inner, predicates, out: CompactSet::default(), input: Vec::new() }
    }
}

#[wasm_bindgen]
impl WasmEngine {
    pub fn relationships(&self) -> String {
        Value::Array(self.inner.relationships().iter().map(crate::relationship_value).collect()).to_json()
    }

    pub fn rules(&self) -> String {
        Value::Array(self.inner.rules().iter().map(crate::Rule::to_value).collect()).to_json()
    }

    pub fn entities(&self) -> String {
        let entities = self.inner.entities().iter().map(|e| crate::engine::entity_value(e, false));
        Value::Array(entities.collect()).to_json()
    }

    /// Adds a manual rule (JSON text); returns its id.
    #[wasm_bindgen(js_name = addRule)]
    pub fn add_rule(&mut self, rule: &str) -> Result<String, JsValue> {
        self.inner.add_rule_value(&parse_json(rule)?).into_js()
    }

    /// Adds a manual rule whose `when` is a JS function.
    #[wasm_bindgen(js_name = addRuleWithPredicate)]
    pub fn add_rule_with_predicate(&mut self, rule: &str, when: Function) -> Result<String, JsValue> {
        let v = parse_json(rule)?;
        let mut predicates = self.predicates.borrow_mut();
        // The same function object reuses its id, so adding the same rule twice keeps one.
        let id = match predicates.iter().position(|f| f == &when) {
            Some(i) => i,
            None => {
                predicates.push(when);
                predicates.len() - 1
            }
        };
        drop(predicates);
        self.inner.add_rule_value_with_external(&v, id as u32).into_js()
    }

    #[wasm_bindgen(js_name = removeRule)]
    pub fn remove_rule(&mut self, id: &str) -> Result<(), JsValue> {
        self.inner.remove_rule(id).map(drop).into_js()
    }

    #[wasm_bindgen(js_name = clearRules)]
    pub fn clear_rules(&mut self) {
        self.inner.clear_rules();
    }

    /// The cascade set of one change (JSON text) in the compact form (see `CompactSet`): returns
    /// where its numbers start in wasm memory (see `locate`).
    #[wasm_bindgen(js_name = cascadeCompact)]
    pub fn cascade_compact(&mut self, change: &str) -> Result<u32, JsValue> {
        let change = Change::from_value(&parse_json(change)?).into_js()?;
        self.compact(std::slice::from_ref(&change))
    }

    /// As `cascadeCompact` for a change without data: `op` is 0 update, 1 create, 2 delete.
    #[wasm_bindgen(js_name = cascadeIdCompact)]
    pub fn cascade_id_compact(&mut self, entity: &str, id: &str, op: u32) -> Result<u32, JsValue> {
        self.inner.cascade_id_compact(entity, id, op_of(op), &mut self.out).into_js()?;
        Ok(self.locate())
    }

    /// The address of a buffer of at least `len` bytes in wasm memory, where JS writes a
    /// change's entity and id as UTF-8 for `cascadeInput`. It stays in place until a call asks
    /// for more room than it has.
    #[wasm_bindgen(js_name = inputBuffer)]
    pub fn input_buffer(&mut self, len: u32) -> u32 {
        if self.input.len() < len as usize {
            self.input.resize(len as usize, 0);
        }
        self.input.as_ptr() as u32
    }

    /// As `cascadeIdCompact`, with the entity and the id written at the start of `inputBuffer`
    /// (two strings crossing cost more than a small cascade). Returns 0 instead of an error:
    /// JS then calls `cascadeIdCompact`, which throws it.
    #[wasm_bindgen(js_name = cascadeInput)]
    pub fn cascade_input(&mut self, entity_len: u32, id_len: u32, op: u32) -> u32 {
        let (entity_len, id_len) = (entity_len as usize, id_len as usize);
        let Some(bytes) = self.input.get(..entity_len.saturating_add(id_len)) else { return 0 };
        let (Ok(entity), Ok(id)) =
            (std::str::from_utf8(&bytes[..entity_len]), std::str::from_utf8(&bytes[entity_len..]))
        else {
            return 0;
        };
        match self.inner.cascade_id_compact(entity, id, op_of(op), &mut self.out) {
            Ok(()) => self.locate(),
            Err(_) => 0,
        }
    }

    /// As `cascadeBatch`, in the compact form.
    #[wasm_bindgen(js_name = cascadeBatchCompact)]
    pub fn cascade_batch_compact(&mut self, changes: &str) -> Result<u32, JsValue> {
        let v = parse_json(changes)?;
        let items = v.as_array().ok_or_else(|| {
            js_error(Error::InvalidChange { message: "cascadeBatch takes an array of changes".into() })
        })?;
        let changes = items.iter().map(Change::from_value).collect::<crate::Result<Vec<_>>>().into_js()?;
        self.compact(&changes)
    }

    /// As `cascadeKey`, in the compact form; 0 for a key that is not an entity key.
    #[wasm_bindgen(js_name = cascadeKeyCompact)]
    pub fn cascade_key_compact(&mut self, key: &str) -> u32 {
        if self.inner.cascade_key_compact(key, &mut self.out) {
            self.locate()
        } else {
            0
        }
    }

    /// Plans the cascades of changes of `entity` without data (see `Engine::plan_compact`):
    /// the planned set in the compact form, as `cascadeInput` returns it, with after its
    /// `[text, length]` the id mark, the delimiter's code, the number of stats edge slots
    /// followed by the slots (for `recordPlanned`), then each key's slot or `NO_EDGE` (for
    /// `recordPlannedBatch`). 0 when the cascades cannot be planned.
    #[wasm_bindgen(js_name = planCompact)]
    pub fn plan_compact(&mut self, entity: &str, op: u32) -> u32 {
        let plan = self.inner.plan_compact(entity, op_of(op), &mut self.out);
        self.locate_plan(plan)
    }

    /// The key delimiter.
    #[wasm_bindgen(js_name = delimiter)]
    pub fn delimiter(&self) -> String {
        self.inner.delimiter().to_string()
    }

    /// The byte plans put for the id, and around the numbers that stand for values in
    /// `planCompactData`; 0 when none is free (nothing can be planned).
    #[wasm_bindgen(js_name = planMark)]
    pub fn plan_mark(&mut self) -> u32 {
        self.inner.plan_mark().map_or(0, u32::from)
    }

    /// As `planCompact`, for changes of `entity` with data shaped like `data` (JSON text), and
    /// the data before the change shaped like `before` when given (see
    /// `Engine::plan_compact_data`): `id` and the values keys may take are the stand-ins JS made.
    #[wasm_bindgen(js_name = planCompactData)]
    pub fn plan_compact_data(
        &mut self,
        entity: &str,
        op: u32,
        id: &str,
        data: &str,
        before: Option<String>,
    ) -> u32 {
        let Ok(data) = Value::parse(data) else { return 0 };
        let before = match before.as_deref().map(Value::parse) {
            None => None,
            Some(Ok(b)) => Some(b),
            Some(Err(_)) => return 0,
        };
        let plan = self.inner.plan_compact_data(entity, op_of(op), id, &data, before.as_ref(), &mut self.out);
        self.locate_plan(plan)
    }

    /// The address of a plan's compact form (see `planCompact`), or 0 for none.
    fn locate_plan(&mut self, plan: Option<CascadePlan>) -> u32 {
        let Some(plan) = plan else { return 0 };
        let (text, len) = (self.out.text.as_ptr() as u32, self.out.text.len() as u32);
        let meta = &mut self.out.meta;
        meta.extend([text, len, u32::from(plan.id_mark), self.inner.delimiter() as u32]);
        meta.push(plan.edge_slots.len() as u32);
        meta.extend(plan.edge_slots);
        meta.extend(plan.key_slots);
        meta.as_ptr() as u32
    }

    /// Records in the stats one batch of `changes` changes answered by JS from plans: its set's
    /// `depth`, number of `keys`, and the edge slots of the keys it added.
    #[wasm_bindgen(js_name = recordPlannedBatch)]
    pub fn record_planned_batch(&mut self, changes: u32, depth: u32, keys: u32, edge_slots: &[u32]) {
        self.inner.record_planned_batch(changes as usize, depth, keys as usize, edge_slots);
    }

    /// The most keys a cascade set may have (`maxKeys`).
    #[wasm_bindgen(js_name = maxKeys)]
    pub fn max_keys(&self) -> u32 {
        self.inner.max_keys().min(u32::MAX as usize) as u32
    }

    /// Records in the stats `cascades` cascades answered by JS from a plan (`planCompact`):
    /// the `depth` and number of `keys` of the planned set, and its edge slots.
    #[wasm_bindgen(js_name = recordPlanned)]
    pub fn record_planned(&mut self, cascades: f64, depth: u32, keys: u32, edge_slots: &[u32]) {
        self.inner.record_planned(cascades.max(0.0) as u64, depth, u64::from(keys), edge_slots);
    }

    fn compact(&mut self, changes: &[Change]) -> Result<u32, JsValue> {
        self.inner.cascade_batch_compact(changes, &mut self.out).into_js()?;
        Ok(self.locate())
    }

    /// Appends the text's address and UTF-8 length to the numbers and returns the numbers'
    /// address: byte offsets into wasm memory (never 0: the numbers are a non-empty heap
    /// allocation). JS reads both through views over `wasmMemory().buffer`, without a copy:
    /// `[truncated, depth, n]`, six numbers per entry (see `CompactSet`), then `[text, length]`.
    /// They stay valid until the next cascade call on this engine, which reuses (and may move)
    /// the buffers; a view must be rebuilt when the memory grows (its old buffer is detached).
    fn locate(&mut self) -> u32 {
        let (text, len) = (self.out.text.as_ptr() as u32, self.out.text.len() as u32);
        self.out.meta.extend([text, len]);
        self.out.meta.as_ptr() as u32
    }

    /// The id of the rule at this index of `rules()`.
    #[wasm_bindgen(js_name = ruleId)]
    pub fn rule_id(&self, index: u32) -> Option<String> {
        self.inner.rule_id(index as usize).map(str::to_owned)
    }

    /// Adds cascade time measured on the JS side (milliseconds) to `stats`.
    #[wasm_bindgen(js_name = addTime)]
    pub fn add_time(&mut self, ms: f64) {
        self.inner.add_cascade_time(ms);
    }

    /// The entity changes (JSON text) in a GraphQL response (JSON text).
    #[wasm_bindgen(js_name = changesFromMutation)]
    pub fn changes_from_mutation(&self, response: &str) -> Result<String, JsValue> {
        let changes = self.inner.changes_from_mutation(&parse_json(response)?).into_js()?;
        Ok(Value::Array(changes.iter().map(Change::to_value).collect()).to_json())
    }

    pub fn graph(&self, format: &str) -> Result<String, JsValue> {
        Ok(self.inner.graph(GraphFormat::parse(format).into_js()?))
    }

    /// The rule graph with, per edge, how many keys of `cache` it reaches.
    #[wasm_bindgen(js_name = graphWithCache)]
    pub fn graph_with_cache(&self, format: &str, cache: &super::lru::WasmLru) -> Result<String, JsValue> {
        let format = GraphFormat::parse(format).into_js()?;
        Ok(crate::render_graph(&self.inner, format, Some(&|p: &str| cache.count_matching(p) as usize)))
    }

    pub fn stats(&self) -> String {
        self.inner.stats().to_value().to_json()
    }

    pub fn lint(&self) -> String {
        Value::Array(
            self.inner
                .lint()
                .into_iter()
                .map(|l| {
                    Value::record(vec![
                        ("rule", Value::from(l.rule)),
                        ("code", Value::from(l.code)),
                        ("message", Value::from(l.message)),
                    ])
                })
                .collect(),
        )
        .to_json()
    }

    #[wasm_bindgen(js_name = toJSON)]
    pub fn to_json(&self, version: Option<u32>) -> Result<String, JsValue> {
        Ok(self.inner.to_value_version(version.unwrap_or(2)).into_js()?.to_json())
    }

    #[wasm_bindgen(js_name = recordPurge)]
    pub fn record_purge(&mut self, backend: &str, keys: f64) {
        self.inner.record_purge(backend, keys.max(0.0) as u64);
    }
}

/// The wasm memory, for views over buffers the engine keeps (`WasmEngine::locate`).
#[wasm_bindgen(js_name = wasmMemory)]
pub fn wasm_memory() -> JsValue {
    wasm_bindgen::memory()
}
