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
    // What the package's start function does; the test harness does not run it.
    cascade_edge::wasm::host::install();
    for (text, want) in [
        ("[1.5,-0.1,0.30000000000000004]", "[1.5,-0.1,0.30000000000000004]"),
        ("[1e21,2.5e-7,123456789012345678]", "[1e+21,2.5e-7,123456789012345680]"),
        ("[1e15,-1e15,42,-7]", "[1000000000000000,-1000000000000000,42,-7]"),
    ] {
        assert_eq!(Value::parse(text).unwrap().to_json(), want, "{text}");
    }
}

#[wasm_bindgen_test]
fn json_numbers_are_read_in_wasm_as_rust_reads_them() {
    use cascade_edge::Value;
    cascade_edge::wasm::host::install();
    let texts = [
        "0",
        "-0",
        "007",
        "-",
        "1.",
        "-.5",
        "1.5",
        "0.1",
        "1e5",
        "1E+5",
        "2.5e-7",
        "1e-",
        "1.2.3",
        "1+2",
        "--1",
        "123456789012345678",
        "-9007199254740993",
        "1e400",
        "-1e400",
        "4.9e-324",
        "1.7976931348623157e308",
        "0.30000000000000004",
        "1.00000000000000011102230246251565404236316680908203125",
    ];
    for text in texts {
        let want = match text.parse::<f64>() {
            Ok(n) if n.is_finite() => Some(n.to_bits()),
            _ => None,
        };
        let got = match Value::parse(text) {
            Ok(Value::Number(n)) => Some(n.to_bits()),
            Ok(other) => panic!("{text}: {other:?}"),
            Err(_) => None,
        };
        assert_eq!(got, want, "{text}");
    }
}

#[wasm_bindgen_test]
fn js_letters_and_digits_are_rusts() {
    // Every plane-0 and plane-1 char: JS's tables (V8's ICU) against Rust's. None differs with
    // Node 20; a Node or Rust on another Unicode version may differ on the chars it added.
    let differ: Vec<char> = (0x80..0x20000)
        .filter_map(char::from_u32)
        .filter(|&c| cascade_edge::wasm::host::alphanumeric(c) != c.is_alphanumeric())
        .collect();
    assert!(differ.is_empty(), "{} differ: {:?}", differ.len(), &differ[..differ.len().min(40)]);
}

#[wasm_bindgen_test]
fn invalidate_rows_refuses_counts_it_was_not_given_without_panicking() {
    use cascade_edge::wasm::WasmLru;
    let mut lru = WasmLru::new(10.0, 0.0, 0.0, ":", None).unwrap();
    // Rows and text start zeroed: every row is an empty text, which is no key.
    lru.provide_slots();
    lru.provide_text();
    let code = |err: wasm_bindgen::JsValue| js_sys::Reflect::get(&err, &"code".into()).unwrap().as_string();
    for (keys, patterns) in [(u32::MAX, 1), (u32::MAX, u32::MAX), (1, u32::MAX), (5000, 0), (1, 1)] {
        let err = lru.invalidate_rows(keys, patterns).expect_err("refused");
        assert!(matches!(code(err).as_deref(), Some("INVALID_OPTIONS" | "INVALID_KEY")), "{keys} {patterns}");
    }
    assert_eq!(lru.invalidate_rows(0, 0).ok(), Some(Vec::new()));
}
