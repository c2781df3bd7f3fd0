//! The JavaScript binding: the only module that knows about wasm-bindgen, and the owner of the
//! wire protocol between the core and `pkg-template/` (see `PROTOCOL.md` beside this file).
//!
//! `protocol` is pure Rust and compiled on every target, so native tests hold the compact sets
//! and plans (it is public with the `test-api` feature only); the exports themselves exist in
//! wasm32 builds alone. Public only so `tests/wasm.rs` can call them, not part of the Rust API.

#[cfg(feature = "test-api")]
pub mod keyless;
// Used by the binding through the inherent methods; the trait itself is for the crate's tests.
#[cfg(not(feature = "test-api"))]
#[allow(dead_code)]
pub(crate) mod keyless;
#[cfg(feature = "test-api")]
pub mod protocol;
#[cfg(not(feature = "test-api"))]
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
pub(crate) mod protocol;

#[cfg(target_arch = "wasm32")]
mod engine;
#[cfg(target_arch = "wasm32")]
mod errors;
#[cfg(target_arch = "wasm32")]
pub mod host;
#[cfg(target_arch = "wasm32")]
mod lru;

#[cfg(target_arch = "wasm32")]
pub use engine::*;
#[cfg(target_arch = "wasm32")]
pub use lru::WasmLru;
