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

#[wasm_bindgen_test]
fn schema_bytes_that_are_not_utf8_are_a_positioned_syntax_error() {
    use cascade_edge::wasm::WasmEngine;
    assert!(WasmEngine::from_schema_bytes(b"type A { id: ID! }", "{}", None, None).is_ok());
    let err = WasmEngine::from_schema_bytes(b"type A {\n  id: \xff }", "{}", None, None).err().unwrap();
    let code = js_sys::Reflect::get(&err, &"code".into()).unwrap();
    assert_eq!(code.as_string().as_deref(), Some("SCHEMA_SYNTAX"));
    let message = js_sys::Reflect::get(&err, &"message".into()).unwrap().as_string().unwrap();
    assert!(message.contains("2:7"), "{message}");
}

#[wasm_bindgen_test]
fn numbers_other_than_small_integers_are_written_as_js_writes_them() {
    use cascade_edge::Value;
    for (text, want) in [
        ("[1.5,-0.1,0.30000000000000004]", "[1.5,-0.1,0.30000000000000004]"),
        ("[1e21,2.5e-7,123456789012345678]", "[1e+21,2.5e-7,123456789012345680]"),
        ("[1e15,-1e15,42,-7]", "[1000000000000000,-1000000000000000,42,-7]"),
    ] {
        assert_eq!(Value::parse(text).unwrap().to_json(), want, "{text}");
    }
}
