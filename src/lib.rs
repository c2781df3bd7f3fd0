//! cascade-edge: schema-derived cache-invalidation cascades and a key-aware LRU.
//!
//! The core is pure Rust; `wasm` is the only module that knows about JavaScript.
#![cfg_attr(not(target_arch = "wasm32"), forbid(unsafe_code))]

mod error;
mod keys;
mod lru;
mod schema;
mod value;
/// The JavaScript bindings; public only so `tests/wasm.rs` can call them, not part of the Rust API.
#[cfg(target_arch = "wasm32")]
#[doc(hidden)]
pub mod wasm;

pub use error::{Error, Result};
pub use keys::{covers, encode_segment, keyspace_for_type, validate_key, Pattern, PatternSegment};
pub use keys::{DEFAULT_DELIMITER, MAX_KEY_LEN, MAX_SEGMENTS};
#[allow(unused_imports)] // lru.rs is still a stub on this branch.
pub use lru::*;
pub use schema::{analyze, Cardinality, Entity, Relationship, SchemaModel, SchemaOptions};
pub use value::{Value, MAX_JSON_DEPTH};
