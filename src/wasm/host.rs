//! The binding's side of `crate::platform`: what the core asks of its JS host in wasm,
//! installed when the module starts.

use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    /// JS's `String(n)`: a finite number as JS prints it (shortest round trip, `1e+21` above 10^21).
    #[wasm_bindgen(js_name = String)]
    pub(crate) fn number_text(n: f64) -> String;

    /// JS's `Number(text)`: the number a JSON number's text spells, NaN when it spells none.
    #[wasm_bindgen(js_name = Number)]
    pub(crate) fn number_value(text: &str) -> f64;
}

thread_local! {
    /// `/^[\p{Alphabetic}\p{N}]$/u`: what Rust's `char::is_alphanumeric` tests, in JS's tables.
    static ALPHANUMERIC: js_sys::RegExp = js_sys::RegExp::new(r"^[\p{Alphabetic}\p{N}]$", "u");
}

/// Whether JS counts `c` as a letter or a digit (see `crate::text::is_alphanumeric`); public
/// for `tests/wasm.rs`, which holds it against Rust's tables.
pub fn alphanumeric(c: char) -> bool {
    let mut buf = [0u8; 4];
    ALPHANUMERIC.with(|re| re.test(c.encode_utf8(&mut buf)))
}

/// Gives the core these answers (see `crate::platform::Host`); the module's start function
/// calls it, so every entry of the package has them before its first call.
pub fn install() {
    crate::platform::install_host(crate::platform::Host { alphanumeric, number_text, number_value });
}
