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

/// A short description of an error for the span status: the API's message when there is one.
pub fn error_message(error: &OpenAIError) -> String {
    match error {
        OpenAIError::ApiError(response) => response.api_error.message.clone(),
        other => other.to_string(),
    }
}
