//! The JavaScript binding layer: the only module that knows about wasm-bindgen.
//!
//! Placeholder until the SPEC §8 bindings (`CascadeEngine`, `LruCache`) land.

use wasm_bindgen::prelude::*;

/// The version of the cascade-edge crate this module was built from.
#[wasm_bindgen]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}
