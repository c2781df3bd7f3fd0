//! Key templates such as `post:author:{id}` or `user:{author_id}:posts` (SPEC §1).
//!
//! A template is parsed once, when its rule is added. Rendering substitutes each placeholder with
//! a value of the changed entity's data, encoded so it is exactly one literal segment; a
//! placeholder without a value turns its whole segment into `*` and marks the key coarse.

use crate::error::{Error, Result};
use crate::keys::{push_encoded_segment, MAX_KEY_LEN, MAX_SEGMENTS};
use crate::text::{has_char, is_alphanumeric, span};

/// Most placeholders in one template.
pub const MAX_PLACEHOLDERS: usize = 16;

/// A byte range of the template's source (which is at most `MAX_KEY_LEN` bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Span {
    start: u32,
    end: u32,
}

impl Span {
    fn new(start: usize, end: usize) -> Span {
        Span { start: start as u32, end: end as u32 }
    }

    #[inline(always)]
    fn of(self, source: &str) -> &str {
        span(source, self.start as usize..self.end as usize)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(Span),
    Field(Span),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(Span),
    Wildcard,
    /// A segment with at least one placeholder, possibly mixed with literal text (`page-{n}`).
    Parts(Vec<Part>),
}

/// A parsed key template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyTemplate {
    source: String,
    segments: Vec<Segment>,
}

/// A rendered template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// The key or pattern.
    pub key: String,
    /// Whether a placeholder had no value and became `*`.
    pub coarse: bool,
    /// Whether the result contains a `*` segment.
    pub is_pattern: bool,
}

impl KeyTemplate {
    /// Parses a template with `delimiter` between segments and `{field}` / `{nested.field}`
    /// placeholders.
    pub fn parse(source: &str, delimiter: char) -> Result<KeyTemplate> {
        if source.is_empty() {
            return Err(Error::template(source, "a template cannot be empty"));
        }
        if source.len() > MAX_KEY_LEN {
            return Err(Error::LimitExceeded {
                what: "template length",
                limit: MAX_KEY_LEN,
                actual: source.len(),
            });
        }
        let mut segments = Vec::new();
        let mut parts: Vec<Part> = Vec::new();
        // Where the literal text of the current segment (or after its last placeholder) starts.
        let mut literal = 0;
        let mut placeholders = 0;
        let mut chars = source.char_indices();
        while let Some((at, c)) = chars.next() {
            match c {
                '{' => {
                    let name_start = at + 1;
                    let name_end;
                    loop {
                        match chars.next() {
                            Some((end, '}')) => {
                                name_end = end;
                                break;
                            }
                            Some((_, c)) if is_alphanumeric(c) || c == '_' || c == '.' => {}
                            Some((_, c)) => {
                                return Err(Error::template(
                                    source,
                                    format!(
                                    "`{c}` cannot appear in a placeholder; use letters, digits, `_` and `.`"
                                ),
                                ))
                            }
                            None => {
                                return Err(Error::template(
                                    source,
                                    format!("the `{{` at byte {at} is never closed"),
                                ))
                            }
                        }
                    }
                    let name = span(source, name_start..name_end);
                    if name.is_empty() || name.split('.').any(str::is_empty) {
                        return Err(Error::template(source, format!("empty placeholder name at byte {at}")));
                    }
                    placeholders += 1;
                    if literal < at {
                        parts.push(Part::Literal(Span::new(literal, at)));
                    }
                    parts.push(Part::Field(Span::new(name_start, name_end)));
                    literal = name_end + 1;
                }
                '}' => return Err(Error::template(source, format!("unmatched `}}` at byte {at}"))),
                c if c == delimiter => {
                    segments.push(finish_segment(source, &mut parts, Span::new(literal, at))?);
                    literal = at + c.len_utf8();
                }
                _ => {}
            }
        }
        segments.push(finish_segment(source, &mut parts, Span::new(literal, source.len()))?);
        if segments.len() > MAX_SEGMENTS {
            return Err(Error::LimitExceeded {
                what: "segments in a template",
                limit: MAX_SEGMENTS,
                actual: segments.len(),
            });
        }
        if placeholders > MAX_PLACEHOLDERS {
            return Err(Error::LimitExceeded {
                what: "placeholders in a template",
                limit: MAX_PLACEHOLDERS,
                actual: placeholders,
            });
        }
        Ok(KeyTemplate { source: source.to_owned(), segments })
    }

    /// Whether [`KeyTemplate::from_simple`] builds these segments (then they are a valid template),
    /// checked without allocating.
    pub(crate) fn is_simple(segments: &[SimpleSegment<'_>], delimiter: char) -> bool {
        let plain_name =
            |n: &[&str]| n.iter().any(|p| !p.is_empty()) && n.iter().all(|p| plain_name_piece(p));
        let mut placeholders = 0;
        for s in segments {
            match s {
                SimpleSegment::Literal(l) if !plain_literal(l, delimiter) => return false,
                SimpleSegment::Field(n) if !plain_name(n) => return false,
                SimpleSegment::Field(_) => placeholders += 1,
                _ => {}
            }
        }
        !segments.is_empty()
            && SimpleSegment::source_len(segments, delimiter) <= MAX_KEY_LEN
            && segments.len() <= MAX_SEGMENTS
            && placeholders <= MAX_PLACEHOLDERS
    }

    /// Builds the template `parse` would make of the text `segments` spell, without the text
    /// round trip; `None` when a piece is outside the plain subset this handles (then format the
    /// text with [`SimpleSegment::write_source`] and parse it, which gives the same template or
    /// the same error).
    pub(crate) fn from_simple(segments: &[SimpleSegment<'_>], delimiter: char) -> Option<KeyTemplate> {
        if !Self::is_simple(segments, delimiter) {
            return None;
        }
        let source = SimpleSegment::write_source(segments, delimiter);
        let mut at = 0;
        let segments = segments
            .iter()
            .map(|s| {
                let (segment, len) = match s {
                    SimpleSegment::Literal(l) => (Segment::Literal(Span::new(at, at + l.len())), l.len()),
                    SimpleSegment::Wildcard => (Segment::Wildcard, 1),
                    SimpleSegment::Field(n) => {
                        let len = n.iter().map(|p| p.len()).sum::<usize>();
                        (Segment::Parts(vec![Part::Field(Span::new(at + 1, at + 1 + len))]), len + 2)
                    }
                };
                at += len + delimiter.len_utf8();
                segment
            })
            .collect();
        Some(KeyTemplate { source, segments })
    }

    /// The template as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// The placeholder names, in order.
    pub fn placeholders(&self) -> impl Iterator<Item = &str> {
        self.segments
            .iter()
            .flat_map(|s| match s {
                Segment::Parts(parts) => parts.as_slice(),
                _ => &[],
            })
            .filter_map(|p| match p {
                Part::Field(f) => Some(f.of(&self.source)),
                Part::Literal(_) => None,
            })
    }

    /// The first segment when it is literal: usually the keyspace the template points into.
    pub fn first_literal(&self) -> Option<&str> {
        match self.segments.first() {
            Some(Segment::Literal(l)) => Some(l.of(&self.source)),
            _ => None,
        }
    }

    /// The text every key rendered from this template starts its first segment with: the first
    /// segment when it is literal or `*`; `None` when it holds a placeholder.
    pub(crate) fn fixed_first_segment(&self) -> Option<&str> {
        match self.segments.first() {
            Some(Segment::Literal(l)) => Some(l.of(&self.source)),
            Some(Segment::Wildcard) => Some("*"),
            _ => None,
        }
    }

    /// How many segments every key rendered from this template has (a value is always one).
    pub(crate) fn segment_count(&self) -> usize {
        self.segments.len()
    }

    /// Whether every segment is a wildcard or the template is `keyspace:*`: it purges a whole
    /// keyspace or more.
    pub fn is_over_broad(&self) -> bool {
        let wild = self.segments.iter().filter(|s| matches!(s, Segment::Wildcard)).count();
        wild == self.segments.len()
            || (self.segments.len() == 2 && matches!(self.segments[1], Segment::Wildcard))
    }

    /// The template with every placeholder as `*`: the widest set of keys it can render.
    pub fn widest(&self, delimiter: char) -> String {
        self.render_with(delimiter, |_| None).key
    }

    /// Renders the template; `resolve` returns the raw (unencoded) value of a placeholder, or an
    /// already-encoded segment when the bool is true.
    pub fn render_with<'a>(
        &self,
        delimiter: char,
        resolve: impl FnMut(&str) -> Option<(std::borrow::Cow<'a, str>, bool)>,
    ) -> Rendered {
        let mut key = String::with_capacity(self.source.len() + 8);
        let (coarse, is_pattern) = self.render_into(&mut key, delimiter, resolve);
        Rendered { key, coarse, is_pattern }
    }

    /// As [`KeyTemplate::render_with`], appending the key to `key` (a buffer the caller reuses);
    /// returns `(coarse, is_pattern)`.
    pub(crate) fn render_into<'a>(
        &self,
        key: &mut String,
        delimiter: char,
        mut resolve: impl FnMut(&str) -> Option<(std::borrow::Cow<'a, str>, bool)>,
    ) -> (bool, bool) {
        let mut coarse = false;
        let mut is_pattern = false;
        for (i, seg) in self.segments.iter().enumerate() {
            if i > 0 {
                key.push(delimiter);
            }
            match seg {
                Segment::Literal(l) => key.push_str(l.of(&self.source)),
                Segment::Wildcard => {
                    key.push('*');
                    is_pattern = true;
                }
                Segment::Parts(parts) => {
                    let start = key.len();
                    let mut filled = true;
                    for part in parts {
                        match part {
                            Part::Literal(l) => key.push_str(l.of(&self.source)),
                            Part::Field(f) => match resolve(f.of(&self.source)) {
                                Some((v, true)) => key.push_str(&v),
                                Some((v, false)) => push_encoded_segment(key, &v, delimiter),
                                None => {
                                    filled = false;
                                    break;
                                }
                            },
                        }
                    }
                    if !filled {
                        key.truncate(start);
                        key.push('*');
                        coarse = true;
                        is_pattern = true;
                    }
                }
            }
        }
        (coarse, is_pattern)
    }
}

/// A segment of a template built without parsing (see [`KeyTemplate::from_simple`]).
#[derive(Debug, Clone, Copy)]
pub(crate) enum SimpleSegment<'a> {
    Literal(&'a str),
    Wildcard,
    /// A whole-segment placeholder whose name is the concatenation of the pieces.
    Field(&'a [&'a str]),
}

impl SimpleSegment<'_> {
    /// The length of the template text of `segments`.
    fn source_len(segments: &[SimpleSegment<'_>], delimiter: char) -> usize {
        segments
            .iter()
            .map(|s| match s {
                SimpleSegment::Literal(l) => l.len(),
                SimpleSegment::Wildcard => 1,
                SimpleSegment::Field(n) => 2 + n.iter().map(|p| p.len()).sum::<usize>(),
            })
            .sum::<usize>()
            + segments.len().saturating_sub(1) * delimiter.len_utf8()
    }

    /// The template text of `segments`.
    pub(crate) fn write_source(segments: &[SimpleSegment<'_>], delimiter: char) -> String {
        let mut source = String::with_capacity(Self::source_len(segments, delimiter));
        Self::push_source(segments, delimiter, &mut source);
        source
    }

    /// Appends the template text of `segments` to `source`.
    pub(crate) fn push_source(segments: &[SimpleSegment<'_>], delimiter: char, source: &mut String) {
        for (i, s) in segments.iter().enumerate() {
            if i > 0 {
                source.push(delimiter);
            }
            match s {
                SimpleSegment::Literal(l) => source.push_str(l),
                SimpleSegment::Wildcard => source.push('*'),
                SimpleSegment::Field(n) => {
                    source.push('{');
                    for p in *n {
                        source.push_str(p);
                    }
                    source.push('}');
                }
            }
        }
    }
}

/// Whether `l` is a literal segment [`KeyTemplate::from_simple`] handles: not empty, no `{`, `}`,
/// `*` or delimiter.
pub(crate) fn plain_literal(l: &str, delimiter: char) -> bool {
    !l.is_empty() && !l.bytes().any(|b| matches!(b, b'{' | b'}' | b'*')) && !has_char(l, delimiter)
}

/// Whether `p` can be part of a placeholder name [`KeyTemplate::from_simple`] handles: ASCII
/// letters, digits and `_` (empty too).
pub(crate) fn plain_name_piece(p: &str) -> bool {
    p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

fn finish_segment(source: &str, parts: &mut Vec<Part>, literal: Span) -> Result<Segment> {
    let text = literal.of(source);
    if parts.is_empty() {
        return match text {
            "" => Err(Error::template(source, "empty segment (two delimiters in a row, or one at an end)")),
            "*" => Ok(Segment::Wildcard),
            l if l.contains('*') => Err(Error::template(
                source,
                "`*` must be a whole segment; wildcards never match part of a segment",
            )),
            _ => Ok(Segment::Literal(literal)),
        };
    }
    if text.contains('*') {
        return Err(Error::template(
            source,
            "`*` must be a whole segment; wildcards never match part of a segment",
        ));
    }
    if !text.is_empty() {
        parts.push(Part::Literal(literal));
    }
    if parts.iter().any(|p| matches!(p, Part::Literal(l) if l.of(source).contains('*'))) {
        return Err(Error::template(
            source,
            "`*` must be a whole segment; wildcards never match part of a segment",
        ));
    }
    Ok(Segment::Parts(std::mem::take(parts)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;

    fn render(t: &str, vals: &[(&str, &str)]) -> Rendered {
        KeyTemplate::parse(t, ':').unwrap().render_with(':', |f| {
            vals.iter().find(|(k, _)| *k == f).map(|(_, v)| (Cow::Owned(v.to_string()), false))
        })
    }

    #[test]
    fn renders_and_encodes() {
        assert_eq!(render("post:author:{id}", &[("id", "123")]).key, "post:author:123");
        let r = render("user:{author_id}:posts", &[("author_id", "1:*")]);
        assert_eq!((r.key.as_str(), r.coarse, r.is_pattern), ("user:1%3A%2A:posts", false, false));
        assert_eq!(render("x:{id}", &[("id", "{id}")]).key, "x:%7Bid%7D");
        assert_eq!(render("page-{n}:x", &[("n", "2")]).key, "page-2:x");
    }

    #[test]
    fn missing_values_become_wildcards() {
        let r = render("user:{author_id}:posts", &[]);
        assert_eq!((r.key.as_str(), r.coarse, r.is_pattern), ("user:*:posts", true, true));
        let r = render("a:pre{x}post", &[]);
        assert_eq!(r.key, "a:*");
    }

    #[test]
    fn rejects_bad_syntax() {
        for bad in ["", "a::b", "a:{", "a:{}", "a:}", "a:{b c}", "a:b*", "a:{x}*", ":a", "a:{x.}"] {
            assert!(KeyTemplate::parse(bad, ':').is_err(), "{bad}");
        }
    }

    #[test]
    fn from_simple_matches_parse() {
        use SimpleSegment::{Field, Literal, Wildcard};
        let cases: &[&[SimpleSegment<'_>]] = &[
            &[Literal("user"), Literal("posts"), Field(&["id"])],
            &[Literal("user"), Field(&["posts", "_", "id"]), Literal("x")],
            &[Literal("user"), Wildcard, Literal("posts")],
            &[Wildcard],
            &[Literal("a_b"), Field(&["", "_", "k"])],
        ];
        for delim in [':', '/', '.'] {
            for segs in cases {
                let text = SimpleSegment::write_source(segs, delim);
                let built = KeyTemplate::from_simple(segs, delim).expect("plain");
                assert_eq!(built, KeyTemplate::parse(&text, delim).unwrap(), "{text}");
            }
        }
        // Outside the plain subset: `None`, and the caller parses the text instead.
        let odd: &[&[SimpleSegment<'_>]] = &[
            &[Literal("a:b"), Field(&["id"])],
            &[Literal(""), Field(&["id"])],
            &[Literal("a*"), Field(&["id"])],
            &[Literal("a{"), Field(&["id"])],
            &[Literal("a"), Field(&["x.y"])],
            &[Literal("a"), Field(&["é"])],
            &[Literal("a"), Field(&["", ""])],
        ];
        for segs in odd {
            assert!(KeyTemplate::from_simple(segs, ':').is_none(), "{segs:?}");
        }
    }

    #[test]
    fn placeholders_and_breadth() {
        let t = KeyTemplate::parse("comment:{post.id}:{author_id}", ':').unwrap();
        assert_eq!(t.placeholders().collect::<Vec<_>>(), ["post.id", "author_id"]);
        assert!(KeyTemplate::parse("*", ':').unwrap().is_over_broad());
        assert!(KeyTemplate::parse("user:*", ':').unwrap().is_over_broad());
        assert!(!KeyTemplate::parse("user:*:posts", ':').unwrap().is_over_broad());
    }
}
