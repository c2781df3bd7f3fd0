//! Substrings by byte range, without core's slicing panic.
//!
//! `&text[a..b]` on a `str` panics through `core::str::slice_error_fail`, whose message prints
//! the `char` at a bad boundary with `Debug`: that brings Unicode's printable-character tables
//! (about 17 KB) into the wasm. Every span taken here comes from the text it is taken of, so a
//! bad one is a bug, reported by a panic with a fixed message instead.

use std::slice::SliceIndex;

/// `&text[range]`; a range out of bounds or inside a character is a bug (it panics).
#[inline]
pub(crate) fn span<R: SliceIndex<str, Output = str>>(text: &str, range: R) -> &str {
    match text.get(range) {
        Some(s) => s,
        None => bad_span(),
    }
}

#[cold]
#[inline(never)]
fn bad_span() -> ! {
    panic!("cascade-edge: a text span out of bounds or inside a character")
}

/// `text.contains(c)` for a char known only at run time. `str::contains` would take a non-ASCII
/// char through core's substring searcher, whose empty-needle branch slices `str` (see above).
pub(crate) fn has_char(text: &str, c: char) -> bool {
    let mut buf = [0u8; 4];
    let needle = c.encode_utf8(&mut buf).as_bytes();
    // UTF-8 is self-synchronising: the bytes of a char occur in valid text only where it does.
    match needle {
        [b] => text.as_bytes().contains(b),
        _ => text.as_bytes().windows(needle.len()).any(|w| w == needle),
    }
}

/// `c.is_alphanumeric()`. In wasm a non-ASCII char is asked of JS (`/[\p{Alphabetic}\p{N}]/u`,
/// the same two Unicode properties), which leaves Rust's tables of them out of the module.
pub(crate) fn is_alphanumeric(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_alphanumeric()
    } else {
        crate::platform::unicode_alphanumeric(c)
    }
}

#[cfg(test)]
mod tests {
    use super::{has_char, is_alphanumeric};

    #[test]
    fn is_alphanumeric_is_chars() {
        for c in ['a', 'Z', '0', '_', ':', ' ', 'é', 'É', '日', '٣', 'Ⅻ', '½', '→', '·', '🙂', '\u{300}']
        {
            assert_eq!(is_alphanumeric(c), c.is_alphanumeric(), "{c:?}");
        }
    }

    #[test]
    fn has_char_is_contains() {
        for text in ["", "a", "a:b", "é", "aé:b", "日本", "x日y", "🙂", "a🙂b", "\u{7f}"] {
            for c in [':', 'a', 'é', '日', '本', '🙂', '\u{7f}', 'z', '\u{80}'] {
                assert_eq!(has_char(text, c), text.contains(c), "{text:?} {c:?}");
            }
        }
    }
}
