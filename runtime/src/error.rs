//! A short, stable classification of [`OpenAIError`] for `error.type`.

use std::borrow::Cow;

use async_openai::error::OpenAIError;

/// The `error.type` of an [`OpenAIError`]: the API's error `code` (`model_not_found`,
/// `rate_limit_exceeded`, …), else the HTTP status (`500`), else a Rust-side kind (`timeout`,
/// `connect`, `body`, `decode`, …). Never a debug dump.
///
/// An API error object where an answer was expected (a stream's `error` event, which
/// async-openai reports as a decode error) is typed by its `code`, else its `type`
/// (`server_error`).
pub fn error_type(error: &OpenAIError) -> Cow<'static, str> {
    match error {
        OpenAIError::ApiError(response) => match &response.api_error.code {
            Some(code) if !code.is_empty() => server_name(code),
            _ => Cow::Owned(response.status_code.as_u16().to_string()),
        },
        OpenAIError::Reqwest(error) => Cow::Borrowed(reqwest_kind(error)),
        OpenAIError::JSONDeserialize(_, content) => {
            match api_error_in(content).and_then(|api| {
                [api.code, api.r#type]
                    .into_iter()
                    .flatten()
                    .find(|name| !name.is_empty())
            }) {
                Some(name) => server_name(&name),
                None => Cow::Borrowed("decode"),
            }
        }
        OpenAIError::StreamError(_) => Cow::Borrowed("stream"),
        OpenAIError::InvalidArgument(_) => Cow::Borrowed("invalid_argument"),
        OpenAIError::FileSaveError(_) | OpenAIError::FileReadError(_) => Cow::Borrowed("file"),
        OpenAIError::Boxed(error) => match error.downcast_ref::<reqwest::Error>() {
            Some(error) => Cow::Borrowed(reqwest_kind(error)),
            None => Cow::Borrowed("_OTHER"),
        },
    }
}

/// A name the server chose (an error `code` or `type`), kept as `error.type` only when it looks
/// like one: 1 to 64 ASCII letters, digits, `_`, `.` or `-`. Anything else becomes `_OTHER`, so
/// a server cannot put a long or free-form text (or an unbounded number of values) into the
/// attribute and the metrics keyed by it.
fn server_name(name: &str) -> Cow<'static, str> {
    const MAX_NAME: usize = 64;
    // A name holding a secret (a key echoed as the code) is not one.
    let looks_like_a_name = (1..=MAX_NAME).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
        && matches!(crate::redact::redact(name), Cow::Borrowed(_));
    if looks_like_a_name {
        Cow::Owned(name.to_owned())
    } else {
        Cow::Borrowed("_OTHER")
    }
}

/// The API error object a body holds instead of the expected answer (`{"error": {…}}`), if it
/// is one. Only small bodies that look like one are parsed again.
fn api_error_in(content: &str) -> Option<async_openai::error::ApiError> {
    const MAX_ERROR_BODY: usize = 16 * 1024;
    if content.len() > MAX_ERROR_BODY
        || !content.trim_start().starts_with('{')
        || !content.contains("\"error\"")
    {
        return None;
    }
    serde_json::from_str::<async_openai::error::WrappedError>(content)
        .ok()
        .map(|wrapped| wrapped.error)
}

/// The kind of a transport error: `body` when the connection failed while the response body
/// was read (reqwest reports it as a decode error caused by a body error), apart from `decode`,
/// a body that arrived but could not be decoded.
pub(crate) fn reqwest_kind(error: &reqwest::Error) -> &'static str {
    let body_read_failed = || {
        std::error::Error::source(error)
            .and_then(|source| source.downcast_ref::<reqwest::Error>())
            .is_some_and(reqwest::Error::is_body)
    };
    if error.is_timeout() {
        "timeout"
    } else if error.is_connect() {
        "connect"
    } else if error.is_body() || (error.is_decode() && body_read_failed()) {
        "body"
    } else if error.is_decode() {
        "decode"
    } else if error.is_request() {
        "request"
    } else {
        "_OTHER"
    }
}

/// Longest error description recorded, in bytes.
const MAX_MESSAGE: usize = 512;

/// A short description of an error for the span status and the exception event: the API's
/// message when there is one, never a response body (a decode error keeps only the parser's
/// message), cut to 512 bytes, with anything that looks like an API key masked.
pub fn error_message(error: &OpenAIError) -> String {
    let message = match error {
        OpenAIError::ApiError(response) => response.api_error.message.clone(),
        // async-openai's text appends the whole body that failed to parse.
        OpenAIError::JSONDeserialize(error, content) => match api_error_in(content) {
            Some(api) => api.message,
            None => format!("failed to deserialize api response: {error}"),
        },
        // `Boxed` displays a middleware's own error, whatever its `Display` does.
        other => return display_message(other),
    };
    short_message(&message)
}

/// How much of a text is looked at for secrets before it is cut to [`MAX_MESSAGE`]: a key that
/// starts within the kept part (keys are shorter than 512 bytes) is seen whole, so no part of
/// it is kept unmasked.
const MASK_WINDOW: usize = 2 * MAX_MESSAGE;

/// An error text as recorded: secrets masked ([`crate::redact`]), then cut to 512 bytes.
pub(crate) fn short_message(message: &str) -> String {
    let window = crate::text::truncate(message, MASK_WINDOW);
    let masked = crate::redact::redact(window);
    crate::text::truncate(&masked, MAX_MESSAGE).to_owned()
}

/// The `Display` text of `value` as recorded ([`short_message`]), formatted into a bounded
/// buffer. Unlike `to_string`, it never panics (a `Display` that returns an error gives what it
/// wrote until then) and a huge text costs no more than the bytes looked at for secrets (1 KiB),
/// in memory and in time (formatting stops there).
pub(crate) fn display_message<T: core::fmt::Display + ?Sized>(value: &T) -> String {
    short_message(crate::text::format_bounded(value, MASK_WINDOW, true).as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_masked() {
        assert_eq!(
            short_message("Incorrect API key provided: sk-test-*******CRET. You can find"),
            "Incorrect API key provided: sk-***. You can find"
        );
        assert_eq!(
            short_message("sk-abc and task-list"),
            "sk-*** and task-list"
        );
        assert_eq!(short_message("no key here"), "no key here");
        // A key that starts in the kept part is masked whole, not cut and then missed.
        let key = "0123456789abcdef0123456789abcdef";
        let message = short_message(&format!("{}{key}", "x ".repeat(245)));
        assert!(!message.contains("0123456789"), "{message}");
    }

    #[test]
    fn decode_errors_keep_no_body() {
        let parse = serde_json::from_str::<serde_json::Value>("{\"secret answer\"").unwrap_err();
        let error = OpenAIError::JSONDeserialize(parse, "{\"secret answer\"".into());
        let message = error_message(&error);
        assert!(message.starts_with("failed to deserialize api response"));
        assert!(!message.contains("secret answer"), "{message}");
    }

    #[test]
    fn an_api_error_in_place_of_an_answer_is_typed_by_its_code_or_type() {
        let typed = |content: &str| {
            let parse = serde_json::from_str::<
                async_openai::types::chat::CreateChatCompletionStreamResponse,
            >(content)
            .unwrap_err();
            let error = OpenAIError::JSONDeserialize(parse, content.into());
            (error_type(&error), error_message(&error))
        };
        assert_eq!(
            typed(
                r#"{"error":{"message":"Try again. sk-abc123","type":"server_error","param":null,"code":null}}"#
            ),
            ("server_error".into(), "Try again. sk-***".into())
        );
        assert_eq!(
            typed(r#"{"error":{"message":"m","type":"invalid_request_error","code":"bad_thing"}}"#)
                .0,
            "bad_thing"
        );
        // Not an error object: a decode error, with no body in the message.
        let (kind, message) = typed(r#"{"id":"c","error":"x"}"#);
        assert_eq!(kind, "decode");
        assert!(
            message.starts_with("failed to deserialize api response"),
            "{message}"
        );
        assert!(!message.contains("\"x\""), "{message}");
    }

    #[test]
    fn failing_or_huge_displays_are_recorded_without_panic() {
        struct Fails;
        impl core::fmt::Display for Fails {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str("written before failing, key sk-abc123")?;
                Err(core::fmt::Error)
            }
        }
        assert_eq!(
            display_message(&Fails),
            "written before failing, key sk-***"
        );
        let huge = "é".repeat(100_000);
        assert_eq!(display_message(&huge), "é".repeat(MAX_MESSAGE / 2));
        assert_eq!(display_message("x"), short_message("x"));
        // Written in pieces: still a prefix, a character that does not fit ends it.
        struct Pieces;
        impl core::fmt::Display for Pieces {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str(&"x".repeat(MAX_MESSAGE - 1))?;
                f.write_str("é")?;
                f.write_str("y")
            }
        }
        assert_eq!(display_message(&Pieces), "x".repeat(MAX_MESSAGE - 1));
    }

    #[test]
    fn server_chosen_names_are_kept_only_when_they_look_like_names() {
        let api_error = |code: &str| {
            let content = serde_json::json!({"error": {"message": "m", "type": "t", "code": code}})
                .to_string();
            let parse = serde_json::from_str::<
                async_openai::types::chat::CreateChatCompletionStreamResponse,
            >(&content)
            .unwrap_err();
            error_type(&OpenAIError::JSONDeserialize(parse, content))
        };
        assert_eq!(api_error("rate_limit_exceeded"), "rate_limit_exceeded");
        assert_eq!(api_error("model-v2.not_found"), "model-v2.not_found");
        assert_eq!(api_error("a free-form text with spaces"), "_OTHER");
        assert_eq!(api_error(&"x".repeat(65)), "_OTHER");
        assert_eq!(api_error("naïve"), "_OTHER");
        // A key echoed as the code.
        assert_eq!(api_error("sk-abc123"), "_OTHER");
        assert_eq!(api_error("0123456789abcdef0123456789abcdef"), "_OTHER");
    }

    #[test]
    fn long_messages_are_cut() {
        let error = OpenAIError::InvalidArgument("x".repeat(10_000));
        assert!(error_message(&error).len() <= MAX_MESSAGE);
        // Masking after the cut does not grow the text past the limit.
        assert!(short_message(&"sk-a ".repeat(200)).len() <= MAX_MESSAGE);
    }
}
