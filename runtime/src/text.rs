//! Bounded text: how a text that may be long is kept. A [`BoundedText`] holds a true prefix of at
//! most `max` bytes, cut on a UTF-8 character boundary, and counts the length of everything
//! written to it, so memory stays bounded whatever arrives.
// The budgeted pushes serve the instrumented implementation only.
#![cfg_attr(not(feature = "otel"), allow(dead_code))]

use core::fmt;

/// `text` cut to at most `max` bytes on a UTF-8 character boundary.
#[inline]
pub(crate) fn truncate(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// A prefix of at most `max` bytes of everything pushed, and the length of everything pushed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct BoundedText {
    kept: String,
    len: usize,
    max: usize,
    /// A piece did not fit: nothing more is kept (the prefix stays a true prefix).
    full: bool,
}

impl BoundedText {
    /// An empty text that keeps at most `max` bytes.
    pub(crate) const fn new(max: usize) -> Self {
        BoundedText {
            kept: String::new(),
            len: 0,
            max,
            full: false,
        }
    }

    /// `text`, kept up to `max` bytes.
    #[cfg(test)]
    pub(crate) fn of(text: &str, max: usize) -> Self {
        let mut out = BoundedText::new(max);
        out.push_str(text);
        out
    }

    /// Appends `piece`: counted whole, kept as far as it fits.
    pub(crate) fn push_str(&mut self, piece: &str) {
        self.len = self.len.saturating_add(piece.len());
        if self.full {
            return;
        }
        let kept = truncate(piece, self.max.saturating_sub(self.kept.len()));
        self.kept.push_str(kept);
        self.full = kept.len() < piece.len();
    }

    /// Appends `piece` as [`push_str`](Self::push_str) does, keeping no more than `budget` more
    /// bytes, and takes what it kept from `budget`.
    pub(crate) fn push_within(&mut self, piece: &str, budget: &mut usize) {
        self.len = self.len.saturating_add(piece.len());
        if self.full {
            return;
        }
        let room = self.max.saturating_sub(self.kept.len()).min(*budget);
        let kept = truncate(piece, room);
        self.kept.push_str(kept);
        *budget -= kept.len();
        self.full = kept.len() < piece.len();
    }

    /// The kept prefix.
    pub(crate) fn as_str(&self) -> &str {
        &self.kept
    }

    /// The length in bytes of everything pushed.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing was pushed (or only empty pieces).
    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether some of what was pushed was not kept.
    pub(crate) fn is_full(&self) -> bool {
        self.full
    }
}

/// Formatting into a bounded text counts every byte and keeps the prefix; it never fails.
impl fmt::Write for BoundedText {
    fn write_str(&mut self, piece: &str) -> fmt::Result {
        self.push_str(piece);
        Ok(())
    }
}

/// Formats `value` into a text that keeps at most `max` bytes. With `stop_when_full`, formatting
/// stops once the text is full (the length is then not the whole length, but a huge value costs
/// no more time than `max` bytes); a `Display` that fails gives what it wrote until then.
pub(crate) fn format_bounded<T: fmt::Display + ?Sized>(
    value: &T,
    max: usize,
    stop_when_full: bool,
) -> BoundedText {
    struct Stopping<'a>(&'a mut BoundedText);
    impl fmt::Write for Stopping<'_> {
        fn write_str(&mut self, piece: &str) -> fmt::Result {
            if self.0.is_full() {
                return Err(fmt::Error);
            }
            self.0.push_str(piece);
            if self.0.is_full() {
                return Err(fmt::Error);
            }
            Ok(())
        }
    }
    let mut out = BoundedText::new(max);
    let _ = if stop_when_full {
        fmt::write(&mut Stopping(&mut out), format_args!("{value}"))
    } else {
        fmt::write(&mut out, format_args!("{value}"))
    };
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncates_on_char_boundaries() {
        assert_eq!(truncate("hello", 10), "hello");
        assert_eq!(truncate("hello", 3), "hel");
        // 'é' is two bytes: never split it.
        assert_eq!(truncate("aé", 2), "a");
        assert_eq!(truncate("aé", 3), "aé");
        assert_eq!(truncate("日本", 4), "日");
        assert_eq!(truncate("", 0), "");
    }

    #[test]
    fn keeps_a_true_prefix_and_counts_everything() {
        let mut text = BoundedText::new(5);
        text.push_str("abc");
        text.push_str("déf"); // 'é' would straddle the limit: the piece stops before it
        text.push_str("g"); // full: a later piece that would fit is not kept either
        assert_eq!(text.as_str(), "abcd");
        assert_eq!(text.len(), 8);
        assert!(text.is_full());
        assert_eq!(BoundedText::of("abc", 10).as_str(), "abc");
        assert!(!BoundedText::of("abc", 10).is_full());
    }

    #[test]
    fn formatting_is_bounded_and_never_fails() {
        struct Fails;
        impl fmt::Display for Fails {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("written")?;
                Err(fmt::Error)
            }
        }
        assert_eq!(format_bounded(&Fails, 100, false).as_str(), "written");
        let long = "x".repeat(1000);
        let counted = format_bounded(&long, 10, false);
        assert_eq!((counted.as_str().len(), counted.len()), (10, 1000));
        assert_eq!(format_bounded(&long, 10, true).as_str(), "x".repeat(10));
    }
}
