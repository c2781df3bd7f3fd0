//! The core and the bindings compiled to wasm32 and run under Node by `wasm-pack test --node`.
#![cfg(target_arch = "wasm32")]

use wasm_bindgen_test::wasm_bindgen_test;

#[wasm_bindgen_test]
fn version_is_the_crate_version() {
    assert_eq!(cascade_edge::wasm::version(), env!("CARGO_PKG_VERSION"));
}

#[wasm_bindgen_test]
fn keyspaces_are_derived_the_same_way_in_wasm() {
    assert_eq!(cascade_edge::keyspace_for_type("HTTPServer"), "http_server");
    assert_eq!(cascade_edge::keyspace_for_type("BlogPost"), "blog_post");
}
