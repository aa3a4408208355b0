//! A short, stable classification of [`OpenAIError`] for `error.type`.

use std::borrow::Cow;

use async_openai::error::OpenAIError;

/// The `error.type` of an [`OpenAIError`]: the API's error `code` (`model_not_found`,
/// `rate_limit_exceeded`, …), else the HTTP status (`500`), else a Rust-side kind (`timeout`,
/// `connect`, `decode`, …). Never a debug dump.
pub fn error_type(error: &OpenAIError) -> Cow<'static, str> {
    match error {
        OpenAIError::ApiError(response) => match &response.api_error.code {
            Some(code) if !code.is_empty() => Cow::Owned(code.clone()),
            _ => Cow::Owned(response.status_code.as_u16().to_string()),
        },
        OpenAIError::Reqwest(error) => Cow::Borrowed(reqwest_kind(error)),
        OpenAIError::JSONDeserialize(..) => Cow::Borrowed("decode"),
        OpenAIError::StreamError(_) => Cow::Borrowed("stream"),
        OpenAIError::InvalidArgument(_) => Cow::Borrowed("invalid_argument"),
        OpenAIError::FileSaveError(_) | OpenAIError::FileReadError(_) => Cow::Borrowed("file"),
        OpenAIError::Boxed(error) => match error.downcast_ref::<reqwest::Error>() {
            Some(error) => Cow::Borrowed(reqwest_kind(error)),
            None => Cow::Borrowed("_OTHER"),
        },
    }
}

/// The kind of a transport error.
pub(crate) fn reqwest_kind(error: &reqwest::Error) -> &'static str {
    if error.is_timeout() {
        "timeout"
    } else if error.is_connect() {
        "connect"
    } else if error.is_decode() {
        "decode"
    } else if error.is_body() {
        "body"
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
        OpenAIError::JSONDeserialize(error, _) => {
            format!("failed to deserialize api response: {error}")
        }
        other => other.to_string(),
    };
    short_message(&message)
}

/// An error text as recorded: cut to 512 bytes, API keys masked.
pub(crate) fn short_message(message: &str) -> String {
    mask_keys(crate::content::truncate(message, MAX_MESSAGE))
}

/// Replaces the body of every `sk-…` token (OpenAI-style secret keys, as echoed by a 401) with
/// `***`, keeping the `sk-` prefix so the message still says what it was.
fn mask_keys(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("sk-") {
        let starts_word = at == 0
            || !rest[..at]
                .chars()
                .next_back()
                .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        out.push_str(&rest[..at + 3]);
        rest = &rest[at + 3..];
        if starts_word {
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '*'))
                .unwrap_or(rest.len());
            if end > 0 {
                out.push_str("***");
                rest = &rest[end..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_masked() {
        assert_eq!(
            mask_keys("Incorrect API key provided: sk-test-*******CRET. You can find"),
            "Incorrect API key provided: sk-***. You can find"
        );
        assert_eq!(mask_keys("sk-abc and task-list"), "sk-*** and task-list");
        assert_eq!(mask_keys("no key here"), "no key here");
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
    fn long_messages_are_cut() {
        let error = OpenAIError::InvalidArgument("x".repeat(10_000));
        assert!(error_message(&error).len() <= MAX_MESSAGE);
    }
}
