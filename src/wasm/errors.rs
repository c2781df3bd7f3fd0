//! Core results and errors as JS sees them: a JS `Error` with a stable `code` property.

use crate::{Error, Value};
use wasm_bindgen::JsValue;

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
