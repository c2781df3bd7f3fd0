//! A small JSON value: change data, cached values, precompiled rules.
//!
//! Hand-written rather than serde_json to keep the wasm small; the parser is iterative-safe by a
//! nesting limit so hostile input returns an error instead of exhausting the stack.

use crate::error::{Error, Result};
use crate::text::span;
use std::borrow::Cow;
use std::fmt::Write as _;

/// Deepest nesting of arrays and objects accepted when parsing JSON (`[[1]]` is 2 levels).
pub const MAX_JSON_DEPTH: usize = 128;

/// A JSON value. Object members keep their order; lookups are linear, which is fastest for the
/// small objects that change data consists of.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Value {
    #[default]
    Null,
    Bool(bool),
    Number(f64),
    String(String),
    Array(Vec<Value>),
    Object(Vec<(String, Value)>),
}

impl Value {
    /// Parses JSON text.
    pub fn parse(text: &str) -> Result<Value> {
        let mut p = Parser { s: text.as_bytes(), i: 0, text };
        p.ws();
        let v = p.value(0)?;
        p.ws();
        if p.i != p.s.len() {
            return Err(p.err("unexpected text after the JSON value"));
        }
        Ok(v)
    }

    /// Serializes to compact JSON text.
    pub fn to_json(&self) -> String {
        let mut out = String::new();
        self.write_json(&mut out);
        out
    }

    /// Appends compact JSON text to `out`.
    pub fn write_json(&self, out: &mut String) {
        match self {
            Value::Null => out.push_str("null"),
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Number(n) => write_number(*n, out),
            Value::String(s) => write_string(s, out),
            Value::Array(items) => {
                out.push('[');
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    v.write_json(out);
                }
                out.push(']');
            }
            Value::Object(members) => {
                out.push('{');
                for (i, (k, v)) in members.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_string(k, out);
                    out.push(':');
                    v.write_json(out);
                }
                out.push('}');
            }
        }
    }

    /// The member `key` of an object.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Object(members) => members.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The value at a dotted path (`author.id`), treating a missing member or `null` as absent.
    pub fn get_path(&self, path: &str) -> Option<&Value> {
        self.get_path_or_null(path).filter(|v| !v.is_null())
    }

    /// The value at a dotted path, or the `null` that is it or an object on the way to it.
    pub(crate) fn get_path_or_null(&self, path: &str) -> Option<&Value> {
        let mut cur = self;
        for part in path.split('.') {
            cur = cur.get(part)?;
            if cur.is_null() {
                break;
            }
        }
        Some(cur)
    }

    /// Removes the member at a dotted path from this value and from every element of arrays on the
    /// way (`posts.title` removes `title` from each post). Returns whether anything was removed.
    pub fn remove_path(&mut self, path: &str) -> bool {
        match path.split_once('.') {
            None => match self {
                Value::Object(members) => {
                    let before = members.len();
                    members.retain(|(k, _)| k != path);
                    members.len() != before
                }
                Value::Array(items) => items.iter_mut().fold(false, |acc, v| v.remove_path(path) | acc),
                _ => false,
            },
            Some((head, rest)) => match self {
                Value::Object(members) => members
                    .iter_mut()
                    .filter(|(k, _)| k == head)
                    .fold(false, |acc, (_, v)| v.remove_path(rest) | acc),
                Value::Array(items) => items.iter_mut().fold(false, |acc, v| v.remove_path(path) | acc),
                _ => false,
            },
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Number(n) => Some(*n),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(items) => Some(items),
            _ => None,
        }
    }

    pub fn as_object(&self) -> Option<&[(String, Value)]> {
        match self {
            Value::Object(members) => Some(members),
            _ => None,
        }
    }

    /// The value as an id or key segment: strings as they are, numbers in their shortest
    /// integer-preserving form (`123`, not `123.0`), booleans as `true`/`false`.
    pub fn to_scalar_string(&self) -> Option<String> {
        match self {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => {
                let mut s = String::new();
                write_number(*n, &mut s);
                Some(s)
            }
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    /// Rough byte size of the value as JSON text, without serializing it.
    pub fn approx_size(&self) -> usize {
        match self {
            Value::Null | Value::Bool(_) => 5,
            Value::Number(_) => 8,
            Value::String(s) => s.len() + 2,
            Value::Array(items) => 2 + items.iter().map(|v| v.approx_size() + 1).sum::<usize>(),
            Value::Object(m) => 2 + m.iter().map(|(k, v)| k.len() + 4 + v.approx_size()).sum::<usize>(),
        }
    }

    /// Builds an object from `(key, value)` pairs.
    pub fn object<K: Into<String>>(members: impl IntoIterator<Item = (K, Value)>) -> Value {
        Value::Object(members.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    /// A list of strings as a JSON array.
    pub(crate) fn strings(v: &[String]) -> Value {
        Value::Array(v.iter().map(|s| Value::from(s.as_str())).collect())
    }

    /// [`Value::object`] for the crate's own named members: one body for every call, where the
    /// generic one is compiled once per call's member count (about 1 KB of the wasm).
    pub(crate) fn record(members: Vec<(&str, Value)>) -> Value {
        Value::Object(members.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::String(s.to_owned())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::String(s)
    }
}

impl From<f64> for Value {
    fn from(n: f64) -> Value {
        Value::Number(n)
    }
}

impl From<i64> for Value {
    fn from(n: i64) -> Value {
        Value::Number(n as f64)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}

fn write_number(n: f64, out: &mut String) {
    if !n.is_finite() {
        out.push_str("null");
    } else if n.fract() == 0.0 && n.abs() < 1e15 {
        let _ = write!(out, "{}", n as i64);
    } else {
        // In wasm JS spells it (`String(n)`): Rust's float printing is about 21 KB of module.
        crate::platform::write_number(n, out);
    }
}

/// The number `text` spells (`str::parse::<f64>`'s grammar), or `None`. An integer of at most 15
/// digits, the common case, is read here exactly; anything else goes to `parse_other_number`.
fn parse_number(text: &str) -> Option<f64> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    if !digits.is_empty() && digits.len() <= 15 && digits.bytes().all(|b| b.is_ascii_digit()) {
        let n = digits.bytes().fold(0u64, |n, b| n * 10 + u64::from(b - b'0')) as f64;
        return Some(if digits.len() < text.len() { -n } else { n });
    }
    // In wasm JS's `Number(text)` reads it, correctly rounded as Rust's parser is: Rust's float
    // parser and its tables are about 25 KB of the module, for numbers rarely not integers.
    crate::platform::parse_number(text)
}

/// Writes `s` as a JSON string literal.
pub fn write_string(s: &str, out: &mut String) {
    out.reserve(s.len() + 2);
    out.push('"');
    // Runs of bytes that need no escape are copied whole; only `"`, `\` and control characters
    // (all ASCII, so never inside a multi-byte character) are written one by one.
    let bytes = s.as_bytes();
    let mut run = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(span(s, run..i));
        if escape.is_empty() {
            let _ = write!(out, "\\u{:04x}", b);
        } else {
            out.push_str(escape);
        }
        run = i + 1;
    }
    out.push_str(span(s, run..));
    out.push('"');
}

/// Where `s` goes on after whitespace from `i` and then the byte `b`; `None` when `b` is not next.
#[inline(always)]
fn after(s: &[u8], mut i: usize, b: u8) -> Option<usize> {
    while let Some(b' ' | b'\t' | b'\n' | b'\r') = s.get(i) {
        i += 1;
    }
    (s.get(i) == Some(&b)).then_some(i + 1)
}

/// Reads JSON text. Besides [`Value::parse`], readers of a known shape walk it with
/// [`Parser::members`], [`Parser::items`] and [`Parser::str_ref`] without building a tree,
/// borrowing strings from the text when they hold no escapes.
pub(crate) struct Parser<'a> {
    s: &'a [u8],
    i: usize,
    text: &'a str,
}

impl<'a> Parser<'a> {
    pub(crate) fn new(text: &'a str) -> Parser<'a> {
        Parser { s: text.as_bytes(), i: 0, text }
    }

    /// How many bytes are left to read.
    pub(crate) fn remaining(&self) -> usize {
        self.s.len().saturating_sub(self.i)
    }

    /// Whether only whitespace is left.
    pub(crate) fn at_end(&mut self) -> bool {
        self.ws();
        self.i == self.s.len()
    }

    /// Reads one value into a tree; `depth` counts the arrays and objects around it.
    pub(crate) fn read_value(&mut self, depth: usize) -> Result<Value> {
        self.ws();
        self.value(depth)
    }

    /// Reads a string, borrowed from the text unless it holds escapes.
    pub(crate) fn str_ref(&mut self) -> Result<Cow<'a, str>> {
        self.ws();
        if self.s.get(self.i) != Some(&b'"') {
            return Err(self.err("expected a string"));
        }
        let text: &'a str = self.text;
        let start = self.i + 1;
        let mut end = start;
        while let Some(&b) = self.s.get(end) {
            match b {
                // Only ASCII bytes stop the scan, so `start..end` is on char boundaries.
                b'"' => {
                    self.i = end + 1;
                    return Ok(Cow::Borrowed(span(text, start..end)));
                }
                b'\\' => break,
                b if b < 0x20 => break,
                _ => end += 1,
            }
        }
        self.string().map(Cow::Owned)
    }

    /// Reads an array of exactly `cells.len()` strings without escapes into `cells`, as slices
    /// of the text; `false`, with nothing read, for anything else.
    pub(crate) fn plain_strings(&mut self, cells: &mut [&'a str]) -> bool {
        let start = self.i;
        let read = self.try_plain_strings(cells).is_some();
        if !read {
            self.i = start;
        }
        read
    }

    fn try_plain_strings(&mut self, cells: &mut [&'a str]) -> Option<()> {
        // Locals rather than `self.i`, and the byte tests inlined: this reads every row of a
        // precompiled document.
        let s = self.s;
        let mut i = after(s, self.i, b'[')?;
        for (k, cell) in cells.iter_mut().enumerate() {
            if k > 0 {
                i = after(s, i, b',')?;
            }
            i = after(s, i, b'"')?;
            let start = i;
            loop {
                match *s.get(i)? {
                    b'"' => break,
                    b'\\' => return None,
                    b if b < 0x20 => return None,
                    _ => i += 1,
                }
            }
            // Only ASCII bytes stop the scan, so `start..i` is on char boundaries.
            *cell = self.text.get(start..i)?;
            i += 1;
        }
        self.i = after(s, i, b']')?;
        Some(())
    }

    /// Reads an array, calling `item` to read each element.
    pub(crate) fn items(&mut self, item: &mut dyn FnMut(&mut Self) -> Result<()>) -> Result<()> {
        self.open(b'[', "expected an array")?;
        if self.close(b']') {
            return Ok(());
        }
        loop {
            item(self)?;
            if self.close(b']') {
                return Ok(());
            }
            self.open(b',', "expected `,` or `]`")?;
        }
    }

    /// Reads an object, calling `member` with each key to read its value.
    pub(crate) fn members(
        &mut self,
        member: &mut dyn FnMut(&mut Self, Cow<'a, str>) -> Result<()>,
    ) -> Result<()> {
        self.open(b'{', "expected an object")?;
        if self.close(b'}') {
            return Ok(());
        }
        loop {
            let key = self.str_ref()?;
            self.open(b':', "expected `:`")?;
            member(self, key)?;
            if self.close(b'}') {
                return Ok(());
            }
            self.open(b',', "expected `,` or `}`")?;
        }
    }

    /// Skips whitespace and the byte `b`, or fails with `msg`.
    fn open(&mut self, b: u8, msg: &str) -> Result<()> {
        self.ws();
        if self.s.get(self.i) == Some(&b) {
            self.i += 1;
            Ok(())
        } else {
            Err(self.err(msg))
        }
    }

    /// Skips whitespace, then the byte `b` if it is next; whether it was.
    fn close(&mut self, b: u8) -> bool {
        self.ws();
        let next = self.s.get(self.i) == Some(&b);
        self.i += usize::from(next);
        next
    }

    fn err(&self, msg: &str) -> Error {
        Error::json(msg, Some(self.i))
    }

    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.s.get(self.i) {
            self.i += 1;
        }
    }

    /// Parses one value; `depth` counts the arrays and objects around it.
    fn value(&mut self, depth: usize) -> Result<Value> {
        if depth >= MAX_JSON_DEPTH && matches!(self.s.get(self.i), Some(b'[' | b'{')) {
            return Err(Error::LimitExceeded {
                what: "JSON nesting depth",
                limit: MAX_JSON_DEPTH,
                actual: depth + 1,
            });
        }
        match self.s.get(self.i) {
            None => Err(self.err("unexpected end of input")),
            Some(b'{') => {
                self.i += 1;
                let mut members = Vec::new();
                self.ws();
                if self.s.get(self.i) == Some(&b'}') {
                    self.i += 1;
                    return Ok(Value::Object(members));
                }
                loop {
                    self.ws();
                    if self.s.get(self.i) != Some(&b'"') {
                        return Err(self.err("expected a string key"));
                    }
                    let k = self.string()?;
                    self.ws();
                    if self.s.get(self.i) != Some(&b':') {
                        return Err(self.err("expected `:`"));
                    }
                    self.i += 1;
                    self.ws();
                    let v = self.value(depth + 1)?;
                    // Later duplicates win, as in JSON.parse.
                    if let Some(slot) = members.iter_mut().find(|(mk, _)| *mk == k) {
                        slot.1 = v;
                    } else {
                        members.push((k, v));
                    }
                    self.ws();
                    match self.s.get(self.i) {
                        Some(b',') => self.i += 1,
                        Some(b'}') => {
                            self.i += 1;
                            return Ok(Value::Object(members));
                        }
                        _ => return Err(self.err("expected `,` or `}`")),
                    }
                }
            }
            Some(b'[') => {
                self.i += 1;
                let mut items = Vec::new();
                self.ws();
                if self.s.get(self.i) == Some(&b']') {
                    self.i += 1;
                    return Ok(Value::Array(items));
                }
                loop {
                    self.ws();
                    items.push(self.value(depth + 1)?);
                    self.ws();
                    match self.s.get(self.i) {
                        Some(b',') => self.i += 1,
                        Some(b']') => {
                            self.i += 1;
                            return Ok(Value::Array(items));
                        }
                        _ => return Err(self.err("expected `,` or `]`")),
                    }
                }
            }
            Some(b'"') => Ok(Value::String(self.string()?)),
            Some(b't') => self.literal("true", Value::Bool(true)),
            Some(b'f') => self.literal("false", Value::Bool(false)),
            Some(b'n') => self.literal("null", Value::Null),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => Err(self.err("unexpected character")),
        }
    }

    fn literal(&mut self, word: &str, v: Value) -> Result<Value> {
        if self.s[self.i..].starts_with(word.as_bytes()) {
            self.i += word.len();
            Ok(v)
        } else {
            Err(self.err("unexpected character"))
        }
    }

    fn number(&mut self) -> Result<Value> {
        let start = self.i;
        if self.s.get(self.i) == Some(&b'-') {
            self.i += 1;
        }
        while let Some(b'0'..=b'9' | b'.' | b'e' | b'E' | b'+' | b'-') = self.s.get(self.i) {
            self.i += 1;
        }
        match parse_number(span(self.text, start..self.i)) {
            // JSON has no infinity: `1e400` would come back out as `null`.
            Some(n) if n.is_finite() => Ok(Value::Number(n)),
            Some(_) => Err(Error::json("number out of range", Some(start))),
            None => Err(Error::json("invalid number", Some(start))),
        }
    }

    fn string(&mut self) -> Result<String> {
        self.i += 1; // opening quote
        let mut out = String::new();
        loop {
            let start = self.i;
            while let Some(&b) = self.s.get(self.i) {
                if b == b'"' || b == b'\\' || b < 0x20 {
                    break;
                }
                self.i += 1;
            }
            // Only ASCII bytes stop the scan, so these are char boundaries.
            out.push_str(span(self.text, start..self.i));
            match self.s.get(self.i) {
                None => return Err(self.err("unterminated string")),
                Some(b'"') => {
                    self.i += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.i += 1;
                    let c = match self.s.get(self.i) {
                        Some(b'"') => '"',
                        Some(b'\\') => '\\',
                        Some(b'/') => '/',
                        Some(b'b') => '\u{8}',
                        Some(b'f') => '\u{c}',
                        Some(b'n') => '\n',
                        Some(b'r') => '\r',
                        Some(b't') => '\t',
                        Some(b'u') => {
                            let hi = self.hex4()?;
                            if (0xD800..0xDC00).contains(&hi) && self.s[self.i + 1..].starts_with(b"\\u") {
                                self.i += 2;
                                let lo = self.hex4()?;
                                let cp = 0x10000 + ((hi - 0xD800) << 10) + (lo.wrapping_sub(0xDC00) & 0x3FF);
                                char::from_u32(cp).unwrap_or('\u{FFFD}')
                            } else {
                                // A lone surrogate becomes U+FFFD, as TextEncoder does.
                                char::from_u32(hi).unwrap_or('\u{FFFD}')
                            }
                        }
                        _ => return Err(self.err("invalid escape")),
                    };
                    self.i += 1;
                    out.push(c);
                }
                Some(_) => return Err(self.err("control character in string")),
            }
        }
    }

    /// Reads the four hex digits after `\u`; leaves `i` on the last digit.
    fn hex4(&mut self) -> Result<u32> {
        let digits = self.s.get(self.i + 1..self.i + 5).ok_or_else(|| self.err("truncated \\u escape"))?;
        let mut v = 0;
        for &d in digits {
            v = v * 16 + (d as char).to_digit(16).ok_or_else(|| self.err("invalid \\u escape"))?;
        }
        self.i += 4;
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Strings are written as JSON escapes them (the same text as `JSON.stringify`), and read back.
    #[test]
    fn strings_are_escaped_and_read_back() {
        let cases = [
            ("", r#""""#),
            ("plain", r#""plain""#),
            ("a\"b\\c", r#""a\"b\\c""#),
            ("\n\r\t\u{1}\u{1f}", r#""\n\r\t\u0001\u001f""#),
            ("é日本\u{7f}\"x", "\"é日本\u{7f}\\\"x\""),
            ("\"\"", r#""\"\"""#),
            ("tail\\", r#""tail\\""#),
        ];
        for (text, json) in cases {
            let mut out = String::new();
            write_string(text, &mut out);
            assert_eq!(out, json, "{text:?}");
            assert_eq!(Value::parse(&out).unwrap(), Value::String(text.to_owned()), "{text:?}");
        }
    }

    #[test]
    fn numbers_read_as_rust_reads_them() {
        let mut texts: Vec<String> =
            ["0", "-0", "007", "-", "1.", "-.5", "1e5", "1E+5", "1e-", "1.2.3", "1+2", "--1"]
                .iter()
                .map(|t| t.to_string())
                .collect();
        for digits in 1..=20 {
            texts.push("9".repeat(digits));
            texts.push(format!("-{}", "9".repeat(digits)));
            texts.push(format!("1{}", "0".repeat(digits)));
        }
        for text in texts {
            assert_eq!(
                parse_number(&text).map(f64::to_bits),
                text.parse::<f64>().ok().map(f64::to_bits),
                "{text}"
            );
        }
    }

    #[test]
    fn round_trips() {
        let text = r#"{"a":1,"b":[true,false,null],"c":"x\"y\n","d":{"e":-1.5}}"#;
        assert_eq!(Value::parse(text).unwrap().to_json(), text);
    }

    #[test]
    fn unicode_escapes() {
        assert_eq!(Value::parse(r#""\u00e9\ud83d\ude00""#).unwrap(), Value::from("é😀"));
        assert_eq!(Value::parse(r#""\ud83d""#).unwrap(), Value::from("\u{FFFD}"));
    }

    #[test]
    fn rejects_deep_nesting_without_overflow() {
        let deep = "[".repeat(10_000) + &"]".repeat(10_000);
        assert!(matches!(Value::parse(&deep), Err(Error::LimitExceeded { .. })));
    }

    #[test]
    fn rejects_garbage() {
        for bad in ["", "{", "[1,]", "{\"a\" 1}", "tru", "\"abc", "1 2", "\"\\u12\""] {
            assert!(Value::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn paths() {
        let mut v =
            Value::parse(r#"{"author":{"id":7,"name":"a"},"posts":[{"t":1,"x":2},{"t":3}]}"#).unwrap();
        assert_eq!(v.get_path("author.id"), Some(&Value::Number(7.0)));
        assert_eq!(v.get_path("author.id").unwrap().to_scalar_string().unwrap(), "7");
        assert!(v.remove_path("posts.t"));
        assert!(v.remove_path("author.name"));
        assert!(!v.remove_path("nope.x"));
        assert_eq!(v.to_json(), r#"{"author":{"id":7},"posts":[{"x":2},{}]}"#);
    }
}
