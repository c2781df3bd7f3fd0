//! The JavaScript binding: the only module that knows about wasm-bindgen.
//!
//! Structured data crosses the boundary as JSON text: one string each way is cheaper than the
//! many property reads a field-by-field conversion makes, and keeps serde out of the wasm. The
//! public JS classes in `pkg-template/api.js` wrap these exports.

mod lru;

use crate::{Change, Engine, EngineOptions, Error, GraphFormat, Value};
use js_sys::Function;
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::prelude::*;

/// Converts a core error into a JS `Error` with a stable `code` property.
pub(crate) fn js_error(e: Error) -> JsValue {
    let err = js_sys::Error::new(&e.to_string());
    let _ = js_sys::Reflect::set(&err, &JsValue::from_str("code"), &JsValue::from_str(e.code()));
    err.into()
}

/// The one helper every export uses to map core results.
pub(crate) trait IntoJsResult<T> {
    fn into_js(self) -> Result<T, JsValue>;
}

impl<T> IntoJsResult<T> for crate::Result<T> {
    fn into_js(self) -> Result<T, JsValue> {
        self.map_err(js_error)
    }
}

pub(crate) fn parse_json(text: &str) -> Result<Value, JsValue> {
    Value::parse(text).into_js()
}

#[wasm_bindgen(start)]
fn start() {
    // A panic would leave the module unusable; say clearly what happened instead of "unreachable".
    std::panic::set_hook(Box::new(|info| {
        let msg = format!("cascade-edge: internal error (please report): {info}");
        console_error(&msg);
    }));
}

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = console, js_name = error)]
    fn console_error(s: &str);
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
}

#[wasm_bindgen]
impl WasmEngine {
    /// Builds an engine from SDL; `options` is JSON text.
    #[wasm_bindgen(js_name = fromSchema)]
    pub fn from_schema(
        sdl: &str,
        options: &str,
        logger: Option<Function>,
        clock: Option<Function>,
    ) -> Result<WasmEngine, JsValue> {
        let opts = EngineOptions::from_value(&parse_json(options)?).into_js()?;
        let inner = Engine::from_schema_with_logger(sdl, opts, logger.map(js_logger)).into_js()?;
        Ok(WasmEngine::wrap(inner, clock))
    }

    /// Loads precompiled rules (JSON text from `toJSON`).
    #[wasm_bindgen(js_name = fromJSON)]
    pub fn from_json(
        json: &str,
        logger: Option<Function>,
        clock: Option<Function>,
    ) -> Result<WasmEngine, JsValue> {
        let inner = Engine::from_value(&parse_json(json)?, logger.map(js_logger)).into_js()?;
        Ok(WasmEngine::wrap(inner, clock))
    }

    fn wrap(mut inner: Engine, clock: Option<Function>) -> WasmEngine {
        inner.set_clock(clock.map(js_clock));
        let predicates: Rc<RefCell<Vec<Function>>> = Rc::default();
        let held = predicates.clone();
        inner.set_external_predicate(Some(Box::new(move |id, data| {
            let Some(f) = held.borrow().get(id as usize).cloned() else { return true };
            let arg = js_sys::JSON::parse(&data.to_json()).unwrap_or(JsValue::NULL);
            // A predicate that throws fires the rule: purging more is safe, less is not.
            f.call1(&JsValue::NULL, &arg).map_or(true, |v| v.is_truthy())
        })));
        WasmEngine { inner, predicates }
    }

    pub fn relationships(&self) -> String {
        Value::Array(self.inner.relationships().iter().map(crate::relationship_value).collect()).to_json()
    }

    pub fn rules(&self) -> String {
        Value::Array(self.inner.rules().iter().map(crate::Rule::to_value).collect()).to_json()
    }

    pub fn entities(&self) -> String {
        Value::Array(
            self.inner
                .entities()
                .iter()
                .map(|e| {
                    Value::object([
                        ("type", Value::from(e.type_name.as_str())),
                        ("keyspace", Value::from(e.keyspace.as_str())),
                        (
                            "keyFields",
                            Value::Array(e.key_fields.iter().map(|f| Value::from(f.as_str())).collect()),
                        ),
                    ])
                })
                .collect(),
        )
        .to_json()
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

    /// The cascade set (JSON text) of one change (JSON text).
    pub fn cascade(&mut self, change: &str) -> Result<String, JsValue> {
        let change = Change::from_value(&parse_json(change)?).into_js()?;
        Ok(self.inner.cascade(&change).into_js()?.to_value().to_json())
    }

    /// One deduplicated cascade set (JSON text) for an array of changes (JSON text).
    #[wasm_bindgen(js_name = cascadeBatch)]
    pub fn cascade_batch(&mut self, changes: &str) -> Result<String, JsValue> {
        let v = parse_json(changes)?;
        let items = v.as_array().ok_or_else(|| {
            js_error(Error::InvalidChange { message: "cascadeBatch takes an array of changes".into() })
        })?;
        let changes = items.iter().map(Change::from_value).collect::<crate::Result<Vec<_>>>().into_js()?;
        Ok(self.inner.cascade_batch(&changes).into_js()?.to_value().to_json())
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
    pub fn graph_with_cache(&self, format: &str, cache: &lru::WasmLru) -> Result<String, JsValue> {
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
                    Value::object([
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
    pub fn to_json(&self) -> Result<String, JsValue> {
        Ok(self.inner.to_value().into_js()?.to_json())
    }

    /// The cascade set (JSON text) of invalidating an entity key such as `user:123`, or
    /// `undefined` for any other key.
    #[wasm_bindgen(js_name = cascadeKey)]
    pub fn cascade_key(&mut self, key: &str) -> Option<String> {
        self.inner.cascade_key(key).map(|s| s.to_value().to_json())
    }

    #[wasm_bindgen(js_name = recordPurge)]
    pub fn record_purge(&mut self, backend: &str, keys: f64) {
        self.inner.record_purge(backend, keys.max(0.0) as u64);
    }
}
