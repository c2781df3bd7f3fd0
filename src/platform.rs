//! What the core needs from its host, in one place: each item is a `cfg(target_arch)` pair.
//!
//! Natively the core answers itself. In wasm the JS host answers, because Rust's Unicode tables,
//! float printing and parsing, and `SystemTime` would add about 60 KB to the module or panic
//! there: the binding installs a [`Host`] when the module starts (`crate::wasm::host`), so the
//! core never calls its binding. The two answers agree: `tests/wasm.rs` holds the JS ones
//! against Rust's.

/// What the JS host answers in wasm, installed once by the binding at start.
#[cfg(target_arch = "wasm32")]
pub(crate) struct Host {
    /// `/^[\p{Alphabetic}\p{N}]$/u.test(c)`.
    pub(crate) alphanumeric: fn(char) -> bool,
    /// `String(n)`.
    pub(crate) number_text: fn(f64) -> String,
    /// `Number(text)`.
    pub(crate) number_value: fn(&str) -> f64,
}

#[cfg(target_arch = "wasm32")]
static HOST: std::sync::OnceLock<Host> = std::sync::OnceLock::new();

/// Installs the host's answers (the first call wins). Until then, which a wasm-bindgen module
/// never sees since its start function installs them, non-ASCII characters count as neither
/// letters nor digits and numbers other than small integers are neither read nor written.
#[cfg(target_arch = "wasm32")]
pub(crate) fn install_host(host: Host) {
    let _ = HOST.set(host);
}

/// Whether `c` (not ASCII) is a letter or a digit: Unicode's `Alphabetic` or `N` property.
#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn unicode_alphanumeric(c: char) -> bool {
    c.is_alphanumeric()
}

#[cfg(target_arch = "wasm32")]
pub(crate) fn unicode_alphanumeric(c: char) -> bool {
    HOST.get().is_some_and(|h| (h.alphanumeric)(c))
}

/// A finite number that is not a small integer, in the shortest text that reads back as it
/// (JS's `String(n)` in wasm, Rust's `{}` natively: the same digits; see `value.rs`).
#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn write_number(n: f64, out: &mut String) {
    use std::fmt::Write;
    let _ = write!(out, "{n}");
}

#[cfg(target_arch = "wasm32")]
pub(crate) fn write_number(n: f64, out: &mut String) {
    match HOST.get() {
        Some(h) => out.push_str(&(h.number_text)(n)),
        None => out.push_str("null"),
    }
}

/// The number a JSON number's text spells, correctly rounded; `None` when it spells none.
#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn parse_number(text: &str) -> Option<f64> {
    text.parse().ok()
}

#[cfg(target_arch = "wasm32")]
pub(crate) fn parse_number(text: &str) -> Option<f64> {
    let n = (HOST.get()?.number_value)(text);
    (!n.is_nan()).then_some(n)
}

/// Milliseconds since the Unix epoch. In wasm a clock stuck at 0 (`SystemTime::now` panics on
/// wasm32-unknown-unknown): the binding injects `Date.now` where time matters.
#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

#[cfg(target_arch = "wasm32")]
pub(crate) fn now_ms() -> u64 {
    0
}

/// Where verbose lines go when no logger is set: stderr natively, nowhere in wasm (JS passes a
/// logger; printing there would need the console).
#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn print_verbose(line: &str) {
    eprintln!("{line}");
}

#[cfg(target_arch = "wasm32")]
pub(crate) fn print_verbose(_line: &str) {}
