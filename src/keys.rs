//! Keys, key patterns, keyspaces and the encoding of substituted values (SPEC §1).
//!
//! A key is a list of segments joined by a one-character delimiter. Invalidating a key covers the
//! key and every key below it. A pattern is a key with `*` segments: an inner `*` matches exactly
//! one segment, a trailing `*` one or more.

use crate::error::{Error, Result};
use crate::text::span;

/// Longest key or pattern accepted, in bytes.
pub const MAX_KEY_LEN: usize = 1024;
/// Most segments in one key or pattern.
pub const MAX_SEGMENTS: usize = 32;

/// The default delimiter between key segments.
pub const DEFAULT_DELIMITER: char = ':';

/// Derives the keyspace of a GraphQL type name: snake_case with acronyms kept together
/// (`BlogPost` → `blog_post`, `HTTPServer` → `http_server`, `APIKey` → `api_key`).
///
/// GraphQL names are ASCII (`[_A-Za-z][_0-9A-Za-z]*`), so only ASCII letters change case; any
/// other character is kept as is (which also keeps Unicode case tables out of the wasm).
pub fn keyspace_for_type(name: &str) -> String {
    let bytes = name.as_bytes();
    let mut out = String::with_capacity(name.len() + 4);
    for (i, c) in name.char_indices() {
        if c.is_ascii_uppercase() {
            let prev = i.checked_sub(1).map(|p| bytes[p]);
            let next = bytes.get(i + 1).copied();
            let boundary = match prev {
                None => false,
                Some(p) if p.is_ascii_lowercase() || p.is_ascii_digit() => true,
                // Inside an acronym: break only before its last capital when a word follows (`HTTPServer`).
                Some(p) if p.is_ascii_uppercase() => next.is_some_and(|n| n.is_ascii_lowercase()),
                Some(_) => false,
            };
            if boundary {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// Encodes a substituted value so it is exactly one literal segment: `%`, the delimiter, `*`, `{`,
/// `}`, `,` and whitespace become `%XX` (UTF-8 bytes, upper-case hex). Anything else is kept.
pub fn encode_segment(value: &str, delimiter: char) -> String {
    let mut out = String::with_capacity(value.len());
    push_encoded_segment(&mut out, value, delimiter);
    out
}

/// Appends [`encode_segment`]`(value, delimiter)` to `out`.
pub(crate) fn push_encoded_segment(out: &mut String, value: &str, delimiter: char) {
    let needs =
        |c: char| c == '%' || c == delimiter || matches!(c, '*' | '{' | '}' | ',') || c.is_whitespace();
    if value.is_empty() {
        // An empty value would make an empty segment, which no key has.
        out.push_str("%00");
        return;
    }
    // Ids are nearly always plain ASCII: one byte test each, then one copy.
    let plain = if value.is_ascii() {
        // `needs` for ASCII: ASCII whitespace is 0x09..=0x0D and space.
        let d = if delimiter.is_ascii() { delimiter as u8 } else { 0x80 };
        !value.bytes().any(|b| b == d || matches!(b, b'%' | b'*' | b'{' | b'}' | b',' | b' ' | 0x09..=0x0D))
    } else {
        !value.chars().any(needs)
    };
    if plain {
        out.push_str(value);
        return;
    }
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut buf = [0u8; 4];
    for c in value.chars() {
        if needs(c) {
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push('%');
                out.push(char::from(HEX[usize::from(b >> 4)]));
                out.push(char::from(HEX[usize::from(b & 0xF)]));
            }
        } else {
            out.push(c);
        }
    }
}

/// Appends the id segment of an entity with `key_fields` key fields: `id` encoded for one key
/// field; for a composite key, `id` is already the segment form (SPEC §2: each value encoded,
/// joined by a literal `,`), and each part is decoded and encoded again, so its escapes stay
/// while anything else that would leave the segment (the delimiter, `*`) is encoded. `Err`
/// holds how many parts a composite id has when that is not `key_fields`.
pub(crate) fn push_id_segment(
    out: &mut String,
    id: &str,
    key_fields: usize,
    delimiter: char,
) -> std::result::Result<(), usize> {
    if key_fields <= 1 {
        push_encoded_segment(out, id, delimiter);
        return Ok(());
    }
    let found = id.split(',').count();
    if found != key_fields {
        return Err(found);
    }
    for (i, part) in id.split(',').enumerate() {
        if i > 0 {
            out.push(',');
        }
        if part.contains('%') {
            push_encoded_segment(out, &decode_segment(part), delimiter);
        } else {
            push_encoded_segment(out, part, delimiter);
        }
    }
    Ok(())
}

/// Reverses [`encode_segment`]: `%XX` sequences become their bytes.
pub fn decode_segment(segment: &str) -> String {
    if segment == "%00" {
        return String::new();
    }
    if !segment.contains('%') {
        return segment.to_owned();
    }
    let hex = |b: u8| (b as char).to_digit(16);
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            if let (Some(h), Some(l)) =
                (bytes.get(i + 1).and_then(|&b| hex(b)), bytes.get(i + 2).and_then(|&b| hex(b)))
            {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Whether key `covering` covers key `key`: equal, or `key` lies below it (`user:1` covers
/// `user:1:posts` but never `user:10`).
pub fn covers(covering: &str, key: &str, delimiter: char) -> bool {
    match key.strip_prefix(covering) {
        Some("") => true,
        Some(rest) => rest.starts_with(delimiter),
        None => false,
    }
}

/// Checks a concrete key: not empty, no empty segment, no `*` segment, within the limits.
pub fn validate_key(key: &str, delimiter: char) -> Result<()> {
    if is_plain_key(key, delimiter) {
        return Ok(());
    }
    check_shape(key, delimiter)?;
    if key.split(delimiter).any(|s| s == "*") {
        return Err(Error::key(key, "a key cannot contain a `*` segment; use a pattern"));
    }
    Ok(())
}

/// One byte pass that accepts the common valid key (ASCII delimiter, no `*`, no empty segment,
/// within the limits); anything else takes the slower checks that also say what is wrong.
fn is_plain_key(key: &str, delimiter: char) -> bool {
    if !delimiter.is_ascii() || key.is_empty() || key.len() > MAX_KEY_LEN {
        return false;
    }
    let d = delimiter as u8;
    let (mut segments, mut after_delimiter) = (1, true);
    for &b in key.as_bytes() {
        if b == b'*' {
            return false;
        }
        if b == d {
            if after_delimiter {
                return false;
            }
            segments += 1;
        }
        after_delimiter = b == d;
    }
    !after_delimiter && segments <= MAX_SEGMENTS
}

/// The segments of `s` between `delimiter`s, as `s.split(delimiter)` yields them; an ASCII
/// delimiter is found with a byte scan (in UTF-8 its byte never occurs inside another character).
pub(crate) fn segments(s: &str, delimiter: char) -> Segments<'_> {
    Segments { rest: Some(s), delimiter }
}

/// The iterator of [`segments`].
pub(crate) struct Segments<'a> {
    rest: Option<&'a str>,
    delimiter: char,
}

impl<'a> Iterator for Segments<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let rest = self.rest?;
        let d = self.delimiter;
        let at = if d.is_ascii() { rest.bytes().position(|b| b == d as u8) } else { rest.find(d) };
        match at {
            Some(i) => {
                self.rest = Some(span(rest, i + d.len_utf8()..));
                Some(span(rest, ..i))
            }
            None => {
                self.rest = None;
                Some(rest)
            }
        }
    }
}

fn check_shape(key: &str, delimiter: char) -> Result<()> {
    if key.is_empty() {
        return Err(Error::key(key, "a key cannot be empty"));
    }
    if key.len() > MAX_KEY_LEN {
        return Err(Error::LimitExceeded { what: "key length", limit: MAX_KEY_LEN, actual: key.len() });
    }
    let mut n = 0;
    for seg in key.split(delimiter) {
        n += 1;
        if seg.is_empty() {
            return Err(Error::key(
                key,
                format!("empty segment (two `{delimiter}` in a row, or one at an end)"),
            ));
        }
        if seg.contains('*') && seg != "*" {
            return Err(Error::key(
                key,
                "`*` must be a whole segment; wildcards never match part of a segment",
            ));
        }
    }
    if n > MAX_SEGMENTS {
        return Err(Error::LimitExceeded { what: "segments in a key", limit: MAX_SEGMENTS, actual: n });
    }
    Ok(())
}

/// One segment of a [`Pattern`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PatternSegment {
    /// Matches this exact segment.
    Literal(String),
    /// An inner `*`: exactly one segment.
    One,
    /// A trailing `*`: one or more segments.
    Rest,
}

/// A parsed key pattern such as `post:*:comments` or `feed:follower:*`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Pattern {
    segments: Vec<PatternSegment>,
}

impl Pattern {
    /// Parses a pattern; a key without wildcards is a valid pattern that matches itself.
    pub fn parse(text: &str, delimiter: char) -> Result<Pattern> {
        check_shape(text, delimiter)?;
        let parts: Vec<&str> = text.split(delimiter).collect();
        let last = parts.len() - 1;
        let segments = parts
            .iter()
            .enumerate()
            .map(|(i, s)| match *s {
                "*" if i == last => PatternSegment::Rest,
                "*" => PatternSegment::One,
                lit => PatternSegment::Literal(lit.to_owned()),
            })
            .collect();
        Ok(Pattern { segments })
    }

    pub fn segments(&self) -> &[PatternSegment] {
        &self.segments
    }

    /// Whether the pattern has any wildcard.
    pub fn is_exact(&self) -> bool {
        self.segments.iter().all(|s| matches!(s, PatternSegment::Literal(_)))
    }

    /// The literal segments before the first wildcard.
    pub fn literal_prefix(&self) -> impl Iterator<Item = &str> {
        self.segments.iter().map_while(|s| match s {
            PatternSegment::Literal(l) => Some(l.as_str()),
            _ => None,
        })
    }

    /// Whether `key` matches the pattern exactly (not counting keys below a match).
    pub fn matches(&self, key: &str, delimiter: char) -> bool {
        let mut parts = key.split(delimiter);
        for (i, seg) in self.segments.iter().enumerate() {
            match seg {
                PatternSegment::Rest => {
                    debug_assert_eq!(i, self.segments.len() - 1);
                    return parts.next().is_some();
                }
                PatternSegment::One => {
                    if parts.next().is_none() {
                        return false;
                    }
                }
                PatternSegment::Literal(l) => {
                    if parts.next() != Some(l.as_str()) {
                        return false;
                    }
                }
            }
        }
        parts.next().is_none()
    }

    /// Whether invalidating the pattern removes `key`: the key matches or lies below a match.
    pub fn covers(&self, key: &str, delimiter: char) -> bool {
        let mut parts = key.split(delimiter);
        for seg in &self.segments {
            match (seg, parts.next()) {
                (_, None) => return false,
                (PatternSegment::Rest | PatternSegment::One, Some(_)) => {}
                (PatternSegment::Literal(l), Some(p)) => {
                    if l != p {
                        return false;
                    }
                }
            }
        }
        true
    }

    /// Renders the pattern back to text.
    pub fn to_string(&self, delimiter: char) -> String {
        let mut out = String::new();
        for (i, s) in self.segments.iter().enumerate() {
            if i > 0 {
                out.push(delimiter);
            }
            match s {
                PatternSegment::Literal(l) => out.push_str(l),
                PatternSegment::One | PatternSegment::Rest => out.push('*'),
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_split_like_str_split_and_the_fast_check_agrees_with_the_full_one() {
        let texts = [
            "",
            ":",
            "::",
            "a",
            "a:",
            ":a",
            "a::b",
            "user:1:posts",
            "é:ü:∑",
            "a:*",
            "*",
            "a*b:c",
            "a/b:c",
            "x:🦀:y",
            &"s:".repeat(31),
            &"s:".repeat(32),
            &"k".repeat(1025),
        ];
        for d in [':', '/', 'é', '🦀'] {
            for t in texts {
                let t = t.replace(':', &d.to_string());
                let ours: Vec<&str> = segments(&t, d).collect();
                let std: Vec<&str> = t.split(d).collect();
                assert_eq!(ours, std, "{t:?} split at {d:?}");
                if is_plain_key(&t, d) {
                    assert!(check_shape(&t, d).is_ok() && !t.contains('*'), "{t:?} at {d:?}");
                }
            }
        }
        assert!(is_plain_key("user:1:posts", ':') && !is_plain_key("user::posts", ':'));
    }

    #[test]
    fn keyspaces() {
        for (t, k) in [
            ("User", "user"),
            ("BlogPost", "blog_post"),
            ("HTTPServer", "http_server"),
            ("APIKey", "api_key"),
            ("OAuth2Token", "o_auth2_token"),
            ("Repository", "repository"),
            ("PullRequestReviewComment", "pull_request_review_comment"),
            ("already_snake", "already_snake"),
            ("ID", "id"),
        ] {
            assert_eq!(keyspace_for_type(t), k, "{t}");
        }
    }

    #[test]
    fn encoding_makes_one_segment() {
        assert_eq!(encode_segment("123", ':'), "123");
        assert_eq!(encode_segment("1:*", ':'), "1%3A%2A");
        assert_eq!(encode_segment("a%3Ab", ':'), "a%253Ab");
        assert_eq!(encode_segment("{id}", ':'), "%7Bid%7D");
        assert_eq!(encode_segment("a b,c", ':'), "a%20b%2Cc");
        assert_eq!(encode_segment("", ':'), "%00");
        for v in ["1:*", "a%3Ab", "{id}", "é ,x", "", "plain"] {
            assert_eq!(decode_segment(&encode_segment(v, ':')), v);
        }
    }

    #[test]
    fn encoding_ascii_fast_path_matches_the_char_rule() {
        for delimiter in [':', '/', '|', '§'] {
            for b in 0u8..0x80 {
                let c = char::from(b);
                let value = format!("a{c}z");
                let needs = c == '%' || c == delimiter || "*{},".contains(c) || c.is_whitespace();
                let want = if needs { format!("a%{b:02X}z") } else { value.clone() };
                assert_eq!(encode_segment(&value, delimiter), want, "{b:#04x} with {delimiter}");
            }
        }
    }

    #[test]
    fn hierarchy() {
        assert!(covers("user:1", "user:1", ':'));
        assert!(covers("user:1", "user:1:posts", ':'));
        assert!(!covers("user:1", "user:10", ':'));
        assert!(!covers("user:1:posts", "user:1", ':'));
    }

    #[test]
    fn wildcards() {
        let p = Pattern::parse("post:*:comments", ':').unwrap();
        assert!(p.matches("post:9:comments", ':'));
        assert!(!p.matches("post:9:x:comments", ':'));
        assert!(!p.matches("post:9:comments:1", ':'));
        assert!(p.covers("post:9:comments:1", ':'));
        let t = Pattern::parse("feed:follower:*", ':').unwrap();
        assert!(t.matches("feed:follower:1", ':'));
        assert!(t.matches("feed:follower:1:2", ':'));
        assert!(!t.matches("feed:follower", ':'));
        assert!(Pattern::parse("user:1*", ':').is_err());
        assert!(Pattern::parse("user::1", ':').is_err());
        assert_eq!(t.to_string(':'), "feed:follower:*");
    }
}
