//! Tokens of the SDL text: positioned syntax errors, and the `extend schema` blocks graphql-parser cannot read.

use super::*;

/// Turns graphql-parser's error text (`Parse error at 4:1\nUnexpected …`) into a positioned error.
pub(super) fn syntax_error(text: &str) -> Error {
    let (line, column, rest) = text
        .find("Parse error at ")
        .and_then(|at| {
            let tail = text.get(at + "Parse error at ".len()..)?;
            let (pos, rest) = tail.split_once('\n').unwrap_or((tail, ""));
            let (l, c) = pos.trim().split_once(':')?;
            Some((l.parse().ok()?, c.parse().ok()?, rest))
        })
        // Position 0:0 means "unknown"; graphql-parser always reports one, this is only a guard.
        .unwrap_or((0, 0, text));
    let message = rest
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| {
            if l == "Recursion limit exceeded" {
                "brackets nested too deeply (at most 50 levels)".to_owned()
            } else {
                strip_token_kinds(l)
            }
        })
        .collect::<Vec<_>>()
        .join("; ");
    Error::SchemaSyntax { line, column, message }
}

/// graphql-parser quotes tokens with their kind (`` `}[Punctuator]` ``); users want just `` `}` ``.
pub(super) fn strip_token_kinds(line: &str) -> String {
    let mut out = line.to_owned();
    for kind in ["Punctuator", "Name", "IntValue", "FloatValue", "StringValue", "BlockString"] {
        out = out.replace(&format!("[{kind}]`"), "`");
    }
    out
}

// ---------------------------------------------------------------------------------------------
// `extend schema`: graphql-parser 0.4 does not parse it, so a pre-scan lifts it out of the text.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Tok {
    Name,
    Punct(u8),
    Other,
}

/// A minimal GraphQL lexer: just enough to skip strings and comments and see names and brackets.
#[derive(Clone, Copy)]
pub(super) struct Lexer<'s> {
    pub(super) src: &'s [u8],
    pub(super) pos: usize,
}

impl Lexer<'_> {
    pub(super) fn at(&self, i: usize) -> Option<u8> {
        self.src.get(i).copied()
    }

    pub(super) fn rest_starts_with(&self, pat: &[u8]) -> bool {
        self.src.get(self.pos..).is_some_and(|r| r.starts_with(pat))
    }

    /// The next token as (kind, start, end); byte offsets always fall on char boundaries because
    /// every byte the lexer stops at or after is ASCII.
    pub(super) fn next_token(&mut self) -> Option<(Tok, usize, usize)> {
        loop {
            match self.at(self.pos)? {
                b' ' | b'\t' | b'\n' | b'\r' | b',' => self.pos += 1,
                b'#' => {
                    while self.at(self.pos).is_some_and(|c| c != b'\n' && c != b'\r') {
                        self.pos += 1;
                    }
                }
                _ => break,
            }
        }
        let start = self.pos;
        let b = self.at(start)?;
        let tok = if b == b'"' {
            if self.rest_starts_with(b"\"\"\"") {
                self.pos += 3;
                loop {
                    if self.rest_starts_with(b"\\\"\"\"") {
                        self.pos += 4;
                    } else if self.rest_starts_with(b"\"\"\"") {
                        self.pos += 3;
                        break;
                    } else if self.pos >= self.src.len() {
                        break;
                    } else {
                        self.pos += 1;
                    }
                }
            } else {
                self.pos += 1;
                loop {
                    match self.at(self.pos) {
                        None | Some(b'\n' | b'\r') => break,
                        Some(b'\\') => self.pos += 2,
                        Some(b'"') => {
                            self.pos += 1;
                            break;
                        }
                        Some(_) => self.pos += 1,
                    }
                }
            }
            Tok::Other
        } else if b == b'_' || b.is_ascii_alphabetic() {
            while self.at(self.pos).is_some_and(|c| c == b'_' || c.is_ascii_alphanumeric()) {
                self.pos += 1;
            }
            Tok::Name
        } else if b"{}()[]@:".contains(&b) {
            self.pos += 1;
            Tok::Punct(b)
        } else {
            // Skip a whole UTF-8 sequence so that `pos` stays on a char boundary.
            self.pos += 1;
            while self.at(self.pos).is_some_and(|c| (0x80..0xC0).contains(&c)) {
                self.pos += 1;
            }
            Tok::Other
        };
        self.pos = self.pos.min(self.src.len());
        Some((tok, start, self.pos))
    }
}

/// Operation roles set by `extend schema` blocks: (role, type name).
pub(super) type RoleList<'s> = Vec<(&'s str, &'s str)>;

/// Blanks every well-formed top-level `extend schema …` out of the SDL (keeping line breaks and
/// tabs, so the parser's line:column positions stay true) and returns the roles it set. A
/// malformed one is left in place for the parser to report.
pub(super) fn strip_schema_extensions(sdl: &str) -> (Cow<'_, str>, RoleList<'_>) {
    // Lexing all of GitHub's schema takes milliseconds; a text search rules most schemas out first.
    let may_extend_schema = sdl.match_indices("extend").any(|(at, word)| {
        let mut after = Lexer { src: sdl.as_bytes(), pos: at + word.len() };
        matches!(after.next_token(), Some((Tok::Name, s, e)) if sdl.get(s..e) == Some("schema"))
    });
    if !may_extend_schema {
        return (Cow::Borrowed(sdl), Vec::new());
    }
    let mut lx = Lexer { src: sdl.as_bytes(), pos: 0 };
    let mut depth = 0i64;
    let mut spans = Vec::new();
    let mut roles = Vec::new();
    while let Some((tok, start, end)) = lx.next_token() {
        match tok {
            Tok::Punct(b'{' | b'(' | b'[') => depth += 1,
            Tok::Punct(b'}' | b')' | b']') => depth -= 1,
            Tok::Name if depth == 0 && sdl.get(start..end) == Some("extend") => {
                let mut probe = lx;
                if let Some((Tok::Name, s, e)) = probe.next_token() {
                    if sdl.get(s..e) == Some("schema") {
                        if let Some((stop, found)) = schema_extension_body(sdl, probe) {
                            spans.push((start, stop));
                            roles.extend(found);
                            lx.pos = stop;
                        }
                    }
                }
            }
            _ => {}
        }
    }
    if spans.is_empty() {
        return (Cow::Borrowed(sdl), roles);
    }
    let mut out = String::with_capacity(sdl.len());
    let mut last = 0;
    for (start, stop) in spans {
        out.push_str(sdl.get(last..start).unwrap_or(""));
        out.extend(sdl.get(start..stop).unwrap_or("").chars().map(|c| {
            if matches!(c, '\n' | '\r' | '\t') {
                c
            } else {
                ' '
            }
        }));
        last = stop;
    }
    out.push_str(sdl.get(last..).unwrap_or(""));
    (Cow::Owned(out), roles)
}

/// Reads `@dir(args)* { role: Type … }` after `extend schema`; returns where it ends.
pub(super) fn schema_extension_body<'s>(sdl: &'s str, mut lx: Lexer<'_>) -> Option<(usize, RoleList<'s>)> {
    let mut end = lx.pos;
    let mut saw_directive = false;
    loop {
        let mut probe = lx;
        match probe.next_token() {
            Some((Tok::Punct(b'@'), ..)) => {
                let (Tok::Name, ..) = probe.next_token()? else { return None };
                lx = probe;
                saw_directive = true;
                let mut args = lx;
                if let Some((Tok::Punct(b'('), ..)) = args.next_token() {
                    let mut depth = 1u32;
                    while depth > 0 {
                        match args.next_token()?.0 {
                            Tok::Punct(b'(' | b'[' | b'{') => depth += 1,
                            Tok::Punct(b')' | b']' | b'}') => depth -= 1,
                            _ => {}
                        }
                    }
                    lx = args;
                }
                end = lx.pos;
            }
            Some((Tok::Punct(b'{'), ..)) => {
                let mut roles = Vec::new();
                loop {
                    match probe.next_token()? {
                        (Tok::Punct(b'}'), _, stop) => return Some((stop, roles)),
                        (Tok::Name, s, e) => {
                            let role = sdl.get(s..e)?;
                            if !ROLES.iter().any(|&(r, _)| r == role) {
                                return None;
                            }
                            let (Tok::Punct(b':'), ..) = probe.next_token()? else { return None };
                            let (Tok::Name, s, e) = probe.next_token()? else { return None };
                            roles.push((role, sdl.get(s..e)?));
                        }
                        _ => return None,
                    }
                }
            }
            _ => return saw_directive.then_some((end, Vec::new())),
        }
    }
}
