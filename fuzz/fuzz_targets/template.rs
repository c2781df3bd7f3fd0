//! Template parsing and rendering, key patterns and the segment encoding.
//!
//! Input: `[delimiter selector][template text] \0 [value] \0 [value] …`. Checks that a rendered
//! key has exactly the template's segments (a substituted value never adds one, never becomes a
//! wildcard), that encoding round-trips, and that patterns render back to their text.
#![no_main]

use cascade_edge::{decode_segment, encode_segment, validate_key, KeyTemplate, Pattern};
use libfuzzer_sys::fuzz_target;
use std::borrow::Cow;

const DELIMITERS: [char; 4] = [':', '/', '|', '#'];

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else { return };
    let Ok(text) = std::str::from_utf8(rest) else { return };
    let d = DELIMITERS[usize::from(sel) % DELIMITERS.len()];
    let mut parts = text.split('\0');
    let source = parts.next().unwrap_or_default();
    let values: Vec<&str> = parts.collect();

    for v in std::iter::once(source).chain(values.iter().copied()) {
        let enc = encode_segment(v, d);
        assert!(!enc.is_empty() && !enc.contains(d) && !enc.contains('*'), "{v:?} → {enc:?}");
        assert!(!enc.contains(['{', '}', ',']) && !enc.contains(char::is_whitespace));
        assert_eq!(decode_segment(&enc), v, "encoding round-trips");
    }

    if let Ok(p) = Pattern::parse(source, d) {
        assert_eq!(p.to_string(d), source, "a pattern renders back to its text");
        let exact_key = validate_key(source, d).is_ok();
        assert_eq!(p.is_exact(), exact_key);
        if exact_key {
            assert!(p.matches(source, d) && p.covers(source, d));
        }
    }

    let Ok(t) = KeyTemplate::parse(source, d) else { return };
    let segments = source.split(d).count();
    let mut next = 0;
    let r = t.render_with(d, |_| {
        let v = values.get(next).copied();
        next += 1;
        v.map(|v| (Cow::Owned(v.to_owned()), false))
    });
    assert_eq!(r.key.split(d).count(), segments, "{source:?} with {values:?} → {:?}", r.key);
    assert!(r.key.split(d).all(|s| !s.is_empty()), "no empty segment in {:?}", r.key);
    assert_eq!(r.is_pattern, r.key.split(d).any(|s| s == "*"));
    let placeholders = t.placeholders().count();
    if r.coarse {
        assert!(placeholders > values.len(), "coarse only when a value is missing");
    }
    if placeholders <= values.len() && !source.split(d).any(|s| s == "*") {
        assert!(!r.is_pattern, "a fully filled template without `*` renders an exact key");
    }
    let widest = t.widest(d);
    assert_eq!(widest.split(d).count(), segments);
    if r.key.len() <= cascade_edge::MAX_KEY_LEN {
        Pattern::parse(&r.key, d).expect("a rendered key is a valid pattern");
    }
});
