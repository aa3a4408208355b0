//! Content policy: whether prompt and response texts are recorded, and how long they may be.
//!
//! - `#[traced_chat]` records `openai.prompt` and `openai.response` by default (the legacy
//!   OpenAI attribute names); [`TracedClient`](crate::TracedClient) records message content
//!   (`gen_ai.input.messages`, `gen_ai.output.messages`, `gen_ai.system_instructions`) only when
//!   enabled, by its builder or by `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true`.
//! - A deployment turns **all** content capture off, the macro's included, with
//!   `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=false` (or `no_content`), or with
//!   [`set_enabled(false)`](set_enabled). Lengths and token usage are still recorded.
//! - Every recorded text is cut to [`max_length`] bytes (default 16 KiB, or
//!   `TRACED_CHAT_MAX_CONTENT_LENGTH`) on a UTF-8 character boundary; the original length is
//!   recorded beside it. The cost does not grow with the text's size beyond one copy of the kept
//!   part.
//! - Whatever a server sends, what one span holds is bounded: identifiers and names (response id,
//!   model, system fingerprint, tool-call ids and names) are cut to [`max_identifier_length`]
//!   (default 256 bytes, `TRACED_CHAT_MAX_ID_LENGTH`); at most [`max_items`] choices, and tool
//!   calls per choice, are recorded (default 128, `TRACED_CHAT_MAX_ITEMS`), the others are
//!   counted; and all the attributes of one span whose size depends on what was sent or received
//!   (messages, texts, tool-call ids and names) share one budget, [`max_span_content`] (default
//!   64 KiB, `TRACED_CHAT_MAX_SPAN_CONTENT`).
//!
//! The API key, the `Authorization` header and URL credentials are never recorded, whatever this
//! policy says.

use std::sync::LazyLock;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};

use crate::attributes::{
    ENV_CAPTURE_MESSAGE_CONTENT, ENV_MAX_CONTENT_LENGTH, ENV_MAX_ID_LENGTH, ENV_MAX_ITEMS,
    ENV_MAX_SPAN_CONTENT,
};

/// The default of [`max_length`]: 16 KiB.
pub const DEFAULT_MAX_LENGTH: usize = 16 * 1024;
/// The default of [`max_identifier_length`]: 256 bytes.
pub const DEFAULT_MAX_IDENTIFIER_LENGTH: usize = 256;
/// The default of [`max_items`]: 128.
pub const DEFAULT_MAX_ITEMS: usize = 128;
/// The default of [`max_span_content`]: 64 KiB.
pub const DEFAULT_MAX_SPAN_CONTENT: usize = 64 * 1024;

/// What `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EnvCapture {
    Unset,
    On,
    Off,
}

struct EnvPolicy {
    capture: EnvCapture,
    max_length: usize,
    max_identifier_length: usize,
    max_items: usize,
    max_span_content: usize,
}

static ENV: LazyLock<EnvPolicy> = LazyLock::new(|| EnvPolicy {
    capture: parse_capture(std::env::var(ENV_CAPTURE_MESSAGE_CONTENT).ok().as_deref()),
    max_length: env_size(ENV_MAX_CONTENT_LENGTH).unwrap_or(DEFAULT_MAX_LENGTH),
    max_identifier_length: env_size(ENV_MAX_ID_LENGTH).unwrap_or(DEFAULT_MAX_IDENTIFIER_LENGTH),
    max_items: env_size(ENV_MAX_ITEMS).unwrap_or(DEFAULT_MAX_ITEMS),
    max_span_content: env_size(ENV_MAX_SPAN_CONTENT).unwrap_or(DEFAULT_MAX_SPAN_CONTENT),
});

/// A size from the environment (at least 1).
fn env_size(name: &str) -> Option<usize> {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .map(|n| n.max(1))
}

fn parse_capture(value: Option<&str>) -> EnvCapture {
    match value.map(|v| v.trim().to_ascii_lowercase()).as_deref() {
        None | Some("") => EnvCapture::Unset,
        Some("true" | "1" | "span_only" | "span_and_event") => EnvCapture::On,
        Some("false" | "0" | "no_content" | "event_only") => EnvCapture::Off,
        Some(_) => EnvCapture::Unset,
    }
}

const UNSET: u8 = 0;
const ON: u8 = 1;
const OFF: u8 = 2;

static ENABLED: AtomicU8 = AtomicU8::new(UNSET);
static MAX_LENGTH: AtomicUsize = AtomicUsize::new(0);
static MAX_IDENTIFIER_LENGTH: AtomicUsize = AtomicUsize::new(0);
static MAX_ITEMS: AtomicUsize = AtomicUsize::new(0);
static MAX_SPAN_CONTENT: AtomicUsize = AtomicUsize::new(0);

/// The value set in `cell`, else the environment's.
#[inline]
fn setting(cell: &AtomicUsize, env: usize) -> usize {
    match cell.load(Ordering::Relaxed) {
        0 => env,
        n => n,
    }
}

/// Turns all content capture on or off for the process (overrides the environment).
///
/// Off: no prompt, response or message text is recorded by the macro or the client; lengths,
/// usage and everything else still are.
pub fn set_enabled(enabled: bool) {
    ENABLED.store(if enabled { ON } else { OFF }, Ordering::Relaxed);
}

/// Whether content may be recorded at all (the macro's `openai.prompt`/`openai.response`).
#[inline]
pub fn enabled() -> bool {
    match ENABLED.load(Ordering::Relaxed) {
        ON => true,
        OFF => false,
        _ => ENV.capture != EnvCapture::Off,
    }
}

/// Whether the client records message content when its builder did not say: only when the
/// environment opts in and nothing turned content off.
#[cfg(feature = "otel")]
pub(crate) fn client_capture_default() -> bool {
    match ENABLED.load(Ordering::Relaxed) {
        OFF => false,
        _ => ENV.capture == EnvCapture::On,
    }
}

/// Sets the maximum number of bytes of any recorded text (overrides the environment).
pub fn set_max_length(bytes: usize) {
    MAX_LENGTH.store(bytes.max(1), Ordering::Relaxed);
}

/// The maximum number of bytes of any recorded text.
#[inline]
pub fn max_length() -> usize {
    setting(&MAX_LENGTH, ENV.max_length)
}

/// Sets the maximum number of bytes of a recorded identifier or name (overrides the
/// environment).
pub fn set_max_identifier_length(bytes: usize) {
    MAX_IDENTIFIER_LENGTH.store(bytes.max(1), Ordering::Relaxed);
}

/// The maximum number of bytes of a recorded identifier or name: a response id, a model, a
/// system fingerprint, a tool call's id or name.
#[inline]
pub fn max_identifier_length() -> usize {
    setting(&MAX_IDENTIFIER_LENGTH, ENV.max_identifier_length)
}

/// Sets how many choices, and tool calls per choice, are recorded (overrides the environment).
pub fn set_max_items(items: usize) {
    MAX_ITEMS.store(items.max(1), Ordering::Relaxed);
}

/// How many choices of an answer, and tool calls of a choice, are recorded; the others are
/// counted only.
#[inline]
pub fn max_items() -> usize {
    setting(&MAX_ITEMS, ENV.max_items)
}

/// Sets the byte budget shared by the variable-size attributes of one span (overrides the
/// environment).
pub fn set_max_span_content(bytes: usize) {
    MAX_SPAN_CONTENT.store(bytes.max(1), Ordering::Relaxed);
}

/// The byte budget shared by all the attributes of one span whose size depends on what was sent
/// or received (messages, texts, tool-call ids and names).
#[inline]
pub fn max_span_content() -> usize {
    setting(&MAX_SPAN_CONTENT, ENV.max_span_content)
}

/// The bytes each text of a message list may keep so that the whole stays near the limit: an
/// equal share of [`max_length`], at least 256 bytes (never more than the limit).
pub(crate) fn per_message_budget(messages: usize) -> usize {
    let limit = max_length();
    (limit / messages.max(1)).clamp(256.min(limit), limit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_have_their_defaults_until_set() {
        assert_eq!(max_identifier_length(), DEFAULT_MAX_IDENTIFIER_LENGTH);
        assert_eq!(max_items(), DEFAULT_MAX_ITEMS);
        assert_eq!(max_span_content(), DEFAULT_MAX_SPAN_CONTENT);
    }

    #[test]
    fn parses_the_capture_variable() {
        assert_eq!(parse_capture(None), EnvCapture::Unset);
        assert_eq!(parse_capture(Some("true")), EnvCapture::On);
        assert_eq!(parse_capture(Some("SPAN_ONLY")), EnvCapture::On);
        assert_eq!(parse_capture(Some("false")), EnvCapture::Off);
        assert_eq!(parse_capture(Some("no_content")), EnvCapture::Off);
        assert_eq!(parse_capture(Some("banana")), EnvCapture::Unset);
    }
}
