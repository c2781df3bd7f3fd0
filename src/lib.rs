//! cascade-edge: schema-derived cache-invalidation cascades and a key-aware LRU.
//!
//! The core is pure Rust; `wasm` is the only module that knows about JavaScript.
#![cfg_attr(not(target_arch = "wasm32"), forbid(unsafe_code))]

mod cascade;
mod condition;
mod engine;
mod error;
mod graph;
mod keys;
mod lru;
mod mutation;
mod platform;
mod rules;
mod schema;
#[cfg(feature = "sdl")]
mod sdl;
mod sort;
mod stats;
mod template;
mod text;
mod value;
/// The JavaScript bindings and their wire protocol; public only for the crate's own tests, not
/// part of the Rust API.
#[doc(hidden)]
pub mod wasm;

pub use cascade::{tag_for, CascadeSet, Change, Op, Trace};
pub use condition::{Condition, Test, MAX_CONDITION_DEPTH};
pub use engine::{relationship_value, Clock, Engine, EngineOptions, ExternalPredicate, Lint, Logger};
pub use engine::{DEFAULT_MAX_DEPTH, DEFAULT_MAX_KEYS, MAX_RULES, MAX_TEMPLATES_PER_RULE};
pub use error::{Error, Result};
pub use graph::{render as render_graph, GraphFormat};
pub use keys::{
    covers, decode_segment, encode_segment, keyspace_for_type, validate_key, Pattern, PatternSegment,
};
pub use keys::{DEFAULT_DELIMITER, MAX_KEY_LEN, MAX_SEGMENTS};
pub use lru::{
    FieldRemovable, LruCache, LruOptions, LruStats, ReadToken, RemovalReason, Removed, SetOptions,
    SetOutcome, FENCE_CAPACITY, MAX_ENTRIES_LIMIT, MAX_PENDING_INVALIDATIONS, MAX_TAGS_PER_ENTRY,
};
pub use mutation::MAX_RESPONSE_DEPTH;
pub use rules::{Origin, Rule};
pub use schema::{Cardinality, Entity, NotEntity, Relationship, SchemaModel, SchemaOptions, MAX_SDL_BYTES};
#[cfg(feature = "sdl")]
pub use sdl::analyze;
pub use stats::EngineStats;
pub use template::{KeyTemplate, Rendered, MAX_PLACEHOLDERS};
pub use value::{Value, MAX_JSON_DEPTH};
