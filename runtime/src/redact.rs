//! Masking of secrets in recorded text: the one function every text goes through before it
//! enters a span ([`redact`]).
//!
//! What is masked (each masked value is replaced with `***`, keeping its kind visible):
//!
//! 1. **Registered keys.** Every API key a [`TracedClient`](crate::TracedClient) was built with
//!    ([`register_key`]; keys shorter than 8 bytes are not registered): every occurrence of the
//!    key, and every other occurrence of its last 8 bytes (servers echo keys as
//!    `sk-test-*******CRET`-like tails) with the run of token characters (ASCII letters, digits,
//!    `-`, `_`, `.`, `~`, `+`, `/`, `=`, `*`; a final `.` excepted) around it.
//! 2. **Key shapes**, case-sensitive, at the start of a word (not preceded by a letter, digit,
//!    `-` or `_`):
//!    - OpenAI / Anthropic `sk-…` (one or more of letters, digits, `-`, `_`, `*` after it): shown
//!      as `sk-ant-***`, `sk-proj-***` or `sk-***`;
//!    - Google `AIza` + at least 30 more word characters (`AIza***`);
//!    - Groq `gsk_`, xAI `xai-`, Hugging Face `hf_` + at least 20 more word characters
//!      (`gsk_***`, `xai-***`, `hf_***`);
//!    - Azure-style keys: a whole word of exactly 32 hexadecimal digits (`***`), unless the word
//!      just before it names a trace (`trace`, `trace_id`, `traceId`, … : a W3C trace id printed
//!      alone). A trace id inside a `traceparent` (`00-…-…-01`), a UUID or a prefixed id
//!      (`req_…`) is not a whole word and is never masked.
//! 3. **Credential contexts**, keywords matched case-insensitively:
//!    - `Bearer` followed by spaces and a token (`[A-Za-z0-9-._~+/*]+=*`): the token is masked
//!      when it looks like a credential (at least 8 characters, and a character other than a
//!      letter or at least 20 characters), so `Bearer token` or `Bearer authentication` stay;
//!    - `Authorization` followed by `:` or `=` (quotes and spaces allowed around it): the value is
//!      masked whatever it looks like, an authentication scheme before it (`Bearer`, `Basic`, …)
//!      kept: `Authorization: Bearer ***`;
//!    - a word ending in `key` (`key`, `api-key`, `api_key`, `x-api-key`,
//!      `Ocp-Apim-Subscription-Key`, …) followed by `:` or `=`: the value is masked when it looks
//!      like a credential (as for `Bearer`): `api-key: ***`, `?key=***`.
//!
//! Ordinary words, numbers, ids and trace ids are left as they are. The cost, for a text with
//! nothing to mask, is a dozen vectorised substring searches, a look at every 16th byte and one
//! substring search per registered key (about 0.5 ns a byte), with no allocation; a text that
//! holds a candidate gets one more pass over its words.

use std::borrow::Cow;
use std::sync::RwLock;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Keys shorter than this are not registered (an empty key, a placeholder): their exact text
/// would mask ordinary words. It is also the length of the tail that is looked for.
const TAIL: usize = 8;

/// At most this many distinct keys are registered (a process that builds a client per tenant
/// must not grow this set, nor the cost of each text, without bound). Further keys are still
/// masked when they have one of the known shapes.
const MAX_KEYS: usize = 64;

/// The registered keys; [`KEY_COUNT`] lets texts skip the lock when there are none.
static KEYS: RwLock<Vec<Box<str>>> = RwLock::new(Vec::new());
static KEY_COUNT: AtomicUsize = AtomicUsize::new(0);

/// Masks `key` (and its last 8 bytes) in every text recorded from now on, by any span of the
/// process. Keys shorter than 8 bytes are ignored; a key registered twice is stored once.
pub(crate) fn register_key(key: &str) {
    if key.len() < TAIL {
        return;
    }
    if KEY_COUNT.load(Ordering::Acquire) > 0
        && KEYS
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .any(|k| &**k == key)
    {
        return;
    }
    let mut keys = KEYS.write().unwrap_or_else(|e| e.into_inner());
    if keys.len() < MAX_KEYS && !keys.iter().any(|k| &**k == key) {
        keys.push(key.into());
        KEY_COUNT.store(keys.len(), Ordering::Release);
    }
}

/// `text` with every secret masked (see the [module](self) documentation); borrowed, without
/// allocating, when there is nothing to mask.
pub(crate) fn redact(text: &str) -> Cow<'_, str> {
    redact_all(text)
}

/// `text` masked as [`redact`] does and cut to `max` bytes: the masking looks a little past the
/// cut, so a secret that the cut would split is still found and masked whole.
pub(crate) fn redact_bounded(text: &str, max: usize) -> Cow<'_, str> {
    /// How far past the cut a secret may reach.
    const SLACK: usize = 256;
    let window = crate::text::truncate(text, max.saturating_add(SLACK));
    match redact(window) {
        Cow::Borrowed(_) => Cow::Borrowed(crate::text::truncate(text, max)),
        Cow::Owned(masked) => Cow::Owned(crate::text::truncate(&masked, max).to_owned()),
    }
}

fn redact_all(text: &str) -> Cow<'_, str> {
    let mut ranges = Ranges::default();
    if KEY_COUNT.load(Ordering::Acquire) > 0 {
        let keys = KEYS.read().unwrap_or_else(|e| e.into_inner());
        for key in keys.iter() {
            registered_key_ranges(text, key, &mut ranges);
        }
    }
    if may_hold_secrets(text) {
        shape_ranges(text.as_bytes(), &mut ranges);
    }
    if ranges.0.is_empty() {
        return Cow::Borrowed(text);
    }
    Cow::Owned(ranges.apply(text))
}

/// Whether `text` holds anything [`shape_ranges`] could mask: one of the key prefixes or
/// keywords, or a run of 32 hexadecimal digits. A few vectorised substring searches and a
/// sparse look at the bytes: much cheaper than the word-by-word pass it saves on texts with
/// nothing to mask (most texts).
fn may_hold_secrets(text: &str) -> bool {
    const NEEDLES: [&str; 12] = [
        "sk-",
        "AIza",
        "gsk_",
        "hf_",
        "xai-",
        "earer",
        "EARER",
        "uthorization",
        "UTHORIZATION",
        "key",
        "Key",
        "KEY",
    ];
    NEEDLES.iter().any(|needle| text.contains(needle)) || has_hex_run(text.as_bytes())
}

/// Whether `bytes` holds a run of at least 32 hexadecimal digits. Such a run covers at least
/// two multiples of 16, so only every 16th byte is looked at, and the run around it only when
/// it is a digit.
fn has_hex_run(bytes: &[u8]) -> bool {
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_hexdigit() {
            let mut start = i;
            while start > 0 && bytes[start - 1].is_ascii_hexdigit() {
                start -= 1;
            }
            let mut end = i + 1;
            while end < bytes.len() && bytes[end].is_ascii_hexdigit() && end - start < 32 {
                end += 1;
            }
            if end - start >= 32 {
                return true;
            }
            // The next multiple of 16 past the run.
            i = end.next_multiple_of(16).max(i + 16);
        } else {
            i += 16;
        }
    }
    false
}

/// Byte ranges of `text` to mask.
#[derive(Default)]
struct Ranges(Vec<(usize, usize)>);

impl Ranges {
    fn push(&mut self, start: usize, end: usize) {
        if start < end {
            self.0.push((start, end));
        }
    }

    /// `text` with each (merged) range replaced by its kind and `***`.
    fn apply(mut self, text: &str) -> String {
        self.0.sort_unstable();
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        let mut i = 0;
        while i < self.0.len() {
            let (start, mut end) = self.0[i];
            i += 1;
            while i < self.0.len() && self.0[i].0 <= end {
                end = end.max(self.0[i].1);
                i += 1;
            }
            // Ranges start and end on ASCII bytes, so on character boundaries.
            let start = start.max(at);
            out.push_str(&text[at..start]);
            out.push_str(kind(&text[start..end]));
            out.push_str("***");
            at = end;
        }
        out.push_str(&text[at..]);
        out
    }
}

/// The visible prefix of a masked value: the provider's key prefix, if it has one.
fn kind(value: &str) -> &'static str {
    const KINDS: [&str; 7] = ["sk-ant-", "sk-proj-", "sk-", "AIza", "gsk_", "hf_", "xai-"];
    KINDS
        .into_iter()
        .find(|k| value.len() > k.len() && value.starts_with(k))
        .unwrap_or("")
}

/// Letters, digits, `-` and `_`: the characters of a word and of the known key shapes.
#[inline]
fn is_word(b: u8) -> bool {
    WORD[usize::from(b)]
}

/// [`is_word`] as a table: one load per byte on the scan's hot path.
static WORD: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric() || c == b'-' || c == b'_';
        b += 1;
    }
    table
};

/// The characters of a token value (RFC 6750's `b64token`, and `*` of a masked echo).
#[inline]
fn is_token(b: u8) -> bool {
    is_word(b) || matches!(b, b'.' | b'~' | b'+' | b'/' | b'=' | b'*')
}

/// Every occurrence of `key` (just the key), and of its last 8 bytes elsewhere with the run of
/// token characters around it (an echo such as `****…tail`, without a sentence's full stop).
fn registered_key_ranges(text: &str, key: &str, ranges: &mut Ranges) {
    let Some(tail) = key.get(key.len() - TAIL..) else {
        // The last 8 bytes are not whole characters: the exact key only.
        for (at, _) in text.match_indices(key) {
            ranges.push(at, at + key.len());
        }
        return;
    };
    let bytes = text.as_bytes();
    for (at, _) in text.match_indices(tail) {
        let end = at + TAIL;
        if let Some(key_start) = end.checked_sub(key.len())
            && text.get(key_start..end) == Some(key)
        {
            ranges.push(key_start, end);
            continue;
        }
        let mut start = at;
        while start > 0 && is_token(bytes[start - 1]) {
            start -= 1;
        }
        let mut end = end;
        while end < bytes.len() && is_token(bytes[end]) {
            end += 1;
        }
        while end > at + TAIL && bytes[end - 1] == b'.' {
            end -= 1;
        }
        ranges.push(start, end);
    }
}

/// The key shapes and credential contexts of the module documentation, in one pass over the
/// words of `bytes`.
fn shape_ranges(bytes: &[u8], ranges: &mut Ranges) {
    let n = bytes.len();
    let mut i = 0;
    while i < n {
        if !is_word(bytes[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < n && is_word(bytes[i]) {
            i += 1;
        }
        // A word right after a JSON escape (`\nsk-…` in a body recorded as written) starts
        // after the escape.
        let start = start + escape_len(bytes, start, i);
        if start >= i {
            continue;
        }
        i = match key_shape(bytes, start, i, ranges) {
            Some(end) => end,
            None => credential_after(bytes, start, i, ranges),
        };
    }
}

/// How many bytes at the start of the word `bytes[start..end]` belong to a JSON escape whose
/// backslash comes just before it (`n` of `\n`, `u00e9` of `\u00e9`): 0 when there is none.
fn escape_len(bytes: &[u8], start: usize, end: usize) -> usize {
    if start == 0 || bytes[start - 1] != b'\\' || (start >= 2 && bytes[start - 2] == b'\\') {
        return 0;
    }
    match bytes[start] {
        b'n' | b'r' | b't' | b'b' | b'f' => 1,
        b'u' if end >= start + 5
            && bytes[start + 1..start + 5]
                .iter()
                .all(u8::is_ascii_hexdigit) =>
        {
            5
        }
        _ => 0,
    }
}

/// Masks the word `bytes[start..end]` if it has the shape of a provider's key; returns where
/// scanning goes on, or `None` when it is no key.
fn key_shape(bytes: &[u8], start: usize, end: usize, ranges: &mut Ranges) -> Option<usize> {
    let word = &bytes[start..end];
    match word[0] {
        b's' if word.starts_with(b"sk-") => {
            // Through the `*` of an echoed key (`sk-test-*******CRET`).
            let mut stop = end;
            while stop < bytes.len() && (is_word(bytes[stop]) || bytes[stop] == b'*') {
                stop += 1;
            }
            if stop > start + 3 {
                ranges.push(start, stop);
            }
            return Some(stop);
        }
        b'A' if word.len() >= 4 + 30 && word.starts_with(b"AIza") => {
            ranges.push(start, end);
            return Some(end);
        }
        b'g' | b'x' | b'h'
            if (word.starts_with(b"gsk_")
                || word.starts_with(b"xai-")
                || word.starts_with(b"hf_"))
                && word.len() >= 3 + 20 =>
        {
            let prefix = if word[0] == b'h' { 3 } else { 4 };
            if word.len() >= prefix + 20 {
                ranges.push(start, end);
            }
            return Some(end);
        }
        _ => {}
    }
    if word.len() == 32
        && word.iter().all(u8::is_ascii_hexdigit)
        && !after_trace_word(&bytes[..start])
    {
        ranges.push(start, end);
        return Some(end);
    }
    None
}

/// Masks the credential that follows the word `bytes[start..end]` when the word introduces one
/// (`Bearer`, `Authorization:`, `…key=`); returns where scanning goes on.
fn credential_after(bytes: &[u8], start: usize, end: usize, ranges: &mut Ranges) -> usize {
    let word = &bytes[start..end];
    let last = word.len().saturating_sub(3);
    if keyword(word, b"bearer") {
        if let Some((value_start, value_end)) = bearer_value(bytes, end)
            && looks_secret(&bytes[value_start..value_end])
        {
            ranges.push(value_start, value_end);
            return value_end;
        }
    } else if keyword(word, b"authorization") {
        if let Some(mut value_start) = after_separator(bytes, end) {
            let scheme_end = token_end(bytes, value_start);
            // A scheme (`Bearer`, `Basic`, …) then a space then the credential.
            if scheme_end > value_start
                && bytes[value_start..scheme_end]
                    .iter()
                    .all(u8::is_ascii_alphabetic)
                && let Some((v, _)) = bearer_value(bytes, scheme_end)
            {
                value_start = v;
            }
            let value_end = token_end(bytes, value_start);
            ranges.push(value_start, value_end);
            return value_end.max(end);
        }
    } else if keyword(&word[last..], b"key")
        && let Some(value_start) = after_separator(bytes, end)
    {
        let value_end = token_end(bytes, value_start);
        if looks_secret(&bytes[value_start..value_end]) {
            ranges.push(value_start, value_end);
            return value_end;
        }
    }
    end
}

/// Whether `word` is `lower` written in lowercase, capitalised or in uppercase.
fn keyword(word: &[u8], lower: &[u8]) -> bool {
    word.len() == lower.len()
        && (word == lower
            || (word[0] == lower[0].to_ascii_uppercase()
                && (word[1..] == lower[1..]
                    || word[1..]
                        .iter()
                        .zip(&lower[1..])
                        .all(|(w, l)| *w == l.to_ascii_uppercase()))))
}

/// Whether the word before `before`'s end (skipping separators) names a trace: `trace`,
/// `trace_id`, `traceId`, `trace-id`, `traceparent`, ….
fn after_trace_word(before: &[u8]) -> bool {
    let mut end = before.len();
    while end > 0 && matches!(before[end - 1], b' ' | b':' | b'=' | b'"' | b'\'' | b'\t') {
        end -= 1;
    }
    let mut start = end;
    while start > 0 && is_word(before[start - 1]) && end - start < 32 {
        start -= 1;
    }
    let word = &before[start..end];
    word.len() >= 5 && word[..5].eq_ignore_ascii_case(b"trace")
}

/// The token after the spaces that follow `at` (at least one space): `Bearer <token>`.
fn bearer_value(bytes: &[u8], at: usize) -> Option<(usize, usize)> {
    let mut start = at;
    while start < bytes.len() && matches!(bytes[start], b' ' | b'\t') {
        start += 1;
    }
    let end = token_end(bytes, start);
    (start > at && end > start).then_some((start, end))
}

/// Where a value starts after a `:` or `=` following `at` (quotes and spaces allowed on either
/// side): `api-key: v`, `key=v`, `"Authorization": "v"`.
fn after_separator(bytes: &[u8], at: usize) -> Option<usize> {
    let skip = |mut i: usize| {
        while i < bytes.len() && matches!(bytes[i], b' ' | b'\t' | b'"' | b'\'') {
            i += 1;
        }
        i
    };
    let i = skip(at);
    if i < bytes.len() && matches!(bytes[i], b':' | b'=') {
        Some(skip(i + 1))
    } else {
        None
    }
}

/// The end of the token starting at `start`, without a trailing `.` (a sentence's full stop).
fn token_end(bytes: &[u8], start: usize) -> usize {
    let mut end = start;
    while end < bytes.len() && is_token(bytes[end]) {
        end += 1;
    }
    while end > start && bytes[end - 1] == b'.' {
        end -= 1;
    }
    end
}

/// A value that looks like a credential rather than a word: at least 8 characters, and either
/// a character other than a letter or at least 20 of them.
fn looks_secret(value: &[u8]) -> bool {
    value.len() >= 8 && (value.len() >= 20 || !value.iter().all(u8::is_ascii_alphabetic))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn masked(text: &str) -> String {
        redact(text).into_owned()
    }

    #[test]
    fn keys_right_after_a_json_escape_are_masked() {
        assert_eq!(
            masked(r#"{"message":"a\nsk-proj-abcdefghijklmnop1 b"}"#),
            r#"{"message":"a\nsk-proj-*** b"}"#
        );
        assert_eq!(
            masked(r#"a\tBearer abcdefghijklmnop1 b"#),
            r#"a\tBearer *** b"#
        );
        assert_eq!(masked(r#"\u0041 plain"#), r#"\u0041 plain"#);
    }

    #[test]
    fn openai_and_anthropic_keys_keep_their_kind() {
        assert_eq!(
            masked("Incorrect API key provided: sk-test-*******CRET. You can find"),
            "Incorrect API key provided: sk-***. You can find"
        );
        assert_eq!(masked("sk-abc and task-list"), "sk-*** and task-list");
        assert_eq!(
            masked("key sk-proj-AbC123_xyz-789 here"),
            "key sk-proj-*** here"
        );
        assert_eq!(masked("(sk-ant-api03-AbCdEf012345)"), "(sk-ant-***)");
        // Not at the start of a word, or nothing after the prefix.
        assert_eq!(
            masked("task-list disk-usage sk-"),
            "task-list disk-usage sk-"
        );
    }

    #[test]
    fn other_providers_key_shapes() {
        let google = "AIzaSyD-1234567890abcdefghijklmnopqrstu";
        assert_eq!(masked(&format!("key {google}.")), "key AIza***.");
        let groq = "gsk_0123456789abcdefghijABCDEFGHIJ0123456789abcdefghij";
        assert_eq!(masked(&format!("bad {groq}")), "bad gsk_***");
        let hf = "hf_abcdefghijklmnopqrstuvwxyzABCDEFGH";
        assert_eq!(masked(&format!("token {hf}!")), "token hf_***!");
        let xai = "xai-0123456789abcdefghij0123456789abcdefghij";
        assert_eq!(masked(xai), "xai-***");
        // Too short to be keys: words and identifiers.
        for text in [
            "AIza is not a key",
            "gsk_short",
            "hf_hub_download",
            "xai-grok",
            "the_hf_token_is_missing",
        ] {
            assert_eq!(masked(text), text);
        }
    }

    #[test]
    fn a_32_hex_key_that_is_not_sk_is_masked() {
        let azure = "0123456789abcdef0123456789ABCDEF";
        assert_eq!(
            masked(&format!("Access denied: key {azure} is invalid")),
            "Access denied: key *** is invalid"
        );
        assert_eq!(masked(&format!("api-key: {azure}")), "api-key: ***");
        assert_eq!(masked(&format!("?key={azure}&x=1")), "?key=***&x=1");
        assert_eq!(masked(&format!("Bearer {azure}")), "Bearer ***");
        assert_eq!(
            masked(&format!(r#"{{"api_key": "{azure}"}}"#)),
            r#"{"api_key": "***"}"#
        );
    }

    #[test]
    fn trace_ids_uuids_and_ids_are_not_keys() {
        for text in [
            "traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "trace_id=4bf92f3577b34da6a3ce929d0e0e4736",
            "trace 4bf92f3577b34da6a3ce929d0e0e4736 failed",
            "\"traceId\": \"4bf92f3577b34da6a3ce929d0e0e4736\"",
            "request req_4bf92f3577b34da6a3ce929d0e0e4736",
            "id 123e4567-e89b-12d3-a456-426614174000",
            "31 hex 4bf92f3577b34da6a3ce929d0e0e473, 33 hex 4bf92f3577b34da6a3ce929d0e0e47361",
            "chatcmpl-7DO5Jns0IVgSxWRjTaBUHL0VWPtyK fp_44709d6fcb",
        ] {
            assert_eq!(masked(text), text);
        }
    }

    #[test]
    fn bearer_and_authorization_values() {
        assert_eq!(
            masked("Authorization: Bearer abc.DEF-123_x~y+z/w=="),
            "Authorization: Bearer ***"
        );
        assert_eq!(masked("bearer eyJhbGciOi.J9eyJz.dWIi."), "bearer ***.");
        assert_eq!(
            masked(r#"{"authorization":"Basic dXNlcjpwYXNz"}"#),
            r#"{"authorization":"Basic ***"}"#
        );
        assert_eq!(masked("AUTHORIZATION=tok"), "AUTHORIZATION=***");
        assert_eq!(masked("Bearer sk-abc123"), "Bearer sk-***");
        // Words, not credentials.
        for text in [
            "Expected a Bearer token in the header",
            "Bearer authentication failed",
            "Authorization failed: check your plan",
            "the primary key: customer",
            "monkey business",
        ] {
            assert_eq!(masked(text), text);
        }
    }

    #[test]
    fn registered_keys_and_their_tails() {
        // A key of no known shape, with characters that are not word characters.
        let key = "Zq9.Registered/Key+Value-77xYw";
        register_key(key);
        register_key(key);
        assert_eq!(
            KEYS.read().unwrap().iter().filter(|k| &***k == key).count(),
            1,
            "registered once"
        );
        assert_eq!(masked(&format!("got {key}, refused")), "got ***, refused");
        // The tail alone, as a server echoes it.
        assert_eq!(
            masked("Incorrect key provided: ******************ue-77xYw."),
            "Incorrect key provided: ***."
        );
        assert_eq!(masked("zzzue-77xYwzzz"), "***");
        // In a URL: the key only, not the path around it.
        assert_eq!(
            masked(&format!("http://h:1/v1/{key}/chat?a=b")),
            "http://h:1/v1/***/chat?a=b"
        );
        // Short keys are not registered: they would mask words.
        register_key("");
        register_key("short");
        assert_eq!(masked("short"), "short");
        assert!(KEYS.read().unwrap().iter().all(|k| k.len() >= TAIL));
    }

    #[test]
    fn a_hex_key_is_found_at_every_offset() {
        let key = "0123456789abcdef0123456789abcdef";
        for offset in 0..48 {
            let text = format!("{} {key} tail", "z".repeat(offset));
            assert_eq!(
                masked(&text),
                format!("{} *** tail", "z".repeat(offset)),
                "{offset}"
            );
        }
        assert!(!has_hex_run("0123456789abcdef0123456789abcde".as_bytes()));
    }

    #[test]
    fn keywords_in_their_three_spellings() {
        for word in ["bearer", "Bearer", "BEARER"] {
            assert_eq!(
                masked(&format!("{word} abcdef123456")),
                format!("{word} ***")
            );
        }
        assert_eq!(masked("bEaReR abcdef123456"), "bEaReR abcdef123456");
        assert_eq!(masked("X-API-KEY: abcdef123456"), "X-API-KEY: ***");
        assert_eq!(
            masked("Ocp-Apim-Subscription-Key: abcdef123456"),
            "Ocp-Apim-Subscription-Key: ***"
        );
    }

    #[test]
    fn nothing_to_mask_borrows() {
        let text = "The meaning of life is 42. Ask again tomorrow, key: none. ".repeat(300);
        assert!(matches!(redact(&text), Cow::Borrowed(_)));
        assert!(matches!(redact(""), Cow::Borrowed(_)));
        assert!(matches!(redact("日本語のテキスト sk"), Cow::Borrowed(_)));
    }

    #[test]
    fn masking_is_idempotent_and_keeps_utf8() {
        for text in [
            "é sk-abc é Bearer xyz12345678 ü",
            "api-key: 0123456789abcdef0123456789abcdef",
        ] {
            let once = masked(text);
            assert_eq!(masked(&once), once);
        }
        assert_eq!(masked("ésk-abc"), "ésk-***");
    }
}
