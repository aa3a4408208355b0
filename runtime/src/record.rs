//! How prompts and responses become span attributes: the [`RecordPrompt`] and
//! [`RecordResponse`] traits and the [`Recorder`] they write through.

use std::borrow::Cow;
use std::fmt::Display;
use std::rc::Rc;
use std::sync::Arc;

use async_openai::error::OpenAIError;
use async_openai::types::chat::{
    ChatCompletionRequestMessage, CreateChatCompletionRequest, CreateChatCompletionResponse,
};
use async_openai::types::embeddings::{
    CreateBase64EmbeddingResponse, CreateEmbeddingRequest, CreateEmbeddingResponse, EmbeddingInput,
};

use crate::attributes;
use crate::backend::{FnSpan, SpanRef};

/// Writes a prompt, a response or an error onto the span of a `#[traced_chat]` call.
///
/// Handed to [`RecordPrompt`] and [`RecordResponse`] implementations. With the `otel` feature
/// off every method does nothing.
#[derive(Debug, Clone, Copy)]
pub struct Recorder<'a> {
    target: SpanRef<'a>,
}

impl<'a> Recorder<'a> {
    pub(crate) fn new(target: SpanRef<'a>) -> Self {
        Recorder { target }
    }

    /// Whether anything written will be kept (a sampled-out or no-op span keeps nothing): check
    /// it before doing costly work such as formatting.
    #[inline]
    pub fn is_recording(&self) -> bool {
        self.target.is_recording()
    }

    /// Records `text` as the prompt ([`openai.prompt`](attributes::OPENAI_PROMPT)), subject
    /// to the [content policy](crate::content), and its length.
    #[inline]
    pub fn prompt(&self, text: &str) {
        self.prompt_with_length(text, text.len());
    }

    /// Records `text` as the response ([`openai.response`](attributes::OPENAI_RESPONSE)),
    /// subject to the [content policy](crate::content), and its length.
    #[inline]
    pub fn response(&self, text: &str) {
        self.response_with_length(text, text.len());
    }

    /// Records how many choices the response had, when there were several.
    #[inline]
    pub fn choice_count(&self, count: usize) {
        if count > 1 && self.is_recording() {
            self.target
                .set_int(attributes::OPENAI_RESPONSE_CHOICE_COUNT, count);
        }
    }

    /// Marks the call as failed: status ERROR with `message`, and
    /// [`error.type`](attributes::ERROR_TYPE) = `error_type` (a short, stable name).
    #[inline]
    pub fn error(&self, error_type: &str, message: &str) {
        if self.is_recording() {
            self.target.fail(error_type, message);
        }
    }

    /// Records a prompt that is JSON, already cut piece by piece so that it stays valid, with
    /// `length` as the original length of its texts.
    pub(crate) fn prompt_json(&self, json: String, length: usize) {
        if self.is_recording() {
            self.target.set_text(
                attributes::OPENAI_PROMPT,
                Some(json),
                (attributes::OPENAI_PROMPT_LENGTH, length),
            );
        }
    }

    /// Records `text` as the prompt with `length` as its original length (the text may have
    /// been cut already).
    pub(crate) fn prompt_with_length(&self, text: &str, length: usize) {
        self.text(
            (attributes::OPENAI_PROMPT, attributes::OPENAI_PROMPT_LENGTH),
            text,
            length,
        );
    }

    /// Records `text` as the response with `length` as its original length (the text may have
    /// been cut already).
    pub(crate) fn response_with_length(&self, text: &str, length: usize) {
        self.text(
            (
                attributes::OPENAI_RESPONSE,
                attributes::OPENAI_RESPONSE_LENGTH,
            ),
            text,
            length,
        );
    }

    /// Records `text` (cut to the content limit, unless content is off) and `length`, in one
    /// update of the span.
    #[inline]
    fn text(&self, (key, length_key): (&'static str, &'static str), text: &str, length: usize) {
        if !self.is_recording() {
            return;
        }
        let kept = crate::content::enabled().then(|| {
            crate::redact::redact_bounded(text, crate::content::max_length()).into_owned()
        });
        self.target.set_text(key, kept, (length_key, length));
    }
}

/// A value that can be recorded as the prompt of a `#[traced_chat]` function.
///
/// Any [`Display`] type is recorded through `to_string` without implementing this trait;
/// implement it for a type that is not `Display`, or to record it differently.
///
/// ```
/// use traced_chat::{RecordPrompt, Recorder};
///
/// struct Question { topic: String }
///
/// impl RecordPrompt for Question {
///     fn record_prompt(&self, recorder: &Recorder<'_>) {
///         recorder.prompt(&format!("Tell me about {}", self.topic));
///     }
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be recorded as a prompt",
    label = "not a recordable prompt",
    note = "implement `traced_chat::RecordPrompt` or `Display` for `{Self}`, or write `#[traced_chat(skip(prompt))]`"
)]
pub trait RecordPrompt {
    /// Records `self` through `recorder` (usually with [`Recorder::prompt`]).
    fn record_prompt(&self, recorder: &Recorder<'_>);
}

impl RecordPrompt for str {
    #[inline]
    fn record_prompt(&self, recorder: &Recorder<'_>) {
        recorder.prompt(self);
    }
}

impl RecordPrompt for String {
    #[inline]
    fn record_prompt(&self, recorder: &Recorder<'_>) {
        recorder.prompt(self);
    }
}

/// Request messages are recorded as compact JSON, one object per message, keys sorted:
/// `[{"content":"You are …","role":"system"},{"content":"Hi","role":"user"}]`; an assistant
/// message's tool calls as `"tool_calls":[{"id","name","arguments"}]`, a tool message's call id as
/// `"tool_call_id"`. Text parts of a message are joined with newlines; each text is cut to the
/// [content limit](crate::content::max_length).
///
/// The JSON stays valid: instead of cutting the whole string, each message's text is cut to an
/// equal share of the limit (at least 256 bytes), and `openai.prompt.length` is the total length
/// of the messages' texts before cutting. With content off, only that length is recorded.
impl RecordPrompt for [ChatCompletionRequestMessage] {
    fn record_prompt(&self, recorder: &Recorder<'_>) {
        if !recorder.is_recording() {
            return;
        }
        if crate::content::enabled() {
            let share = crate::content::per_message_budget(self.len());
            let (json, text_len) = crate::messages::compact_json(self, share);
            recorder.prompt_json(json, text_len);
        } else {
            // Content off: the length of the texts only, as for a text prompt.
            let (_, text_len) = crate::messages::compact_json(self, 0);
            recorder.prompt_with_length("", text_len);
        }
    }
}

impl RecordPrompt for Vec<ChatCompletionRequestMessage> {
    #[inline]
    fn record_prompt(&self, recorder: &Recorder<'_>) {
        self.as_slice().record_prompt(recorder);
    }
}

/// Records the request's messages, as for `[ChatCompletionRequestMessage]`.
impl RecordPrompt for CreateChatCompletionRequest {
    #[inline]
    fn record_prompt(&self, recorder: &Recorder<'_>) {
        self.messages.record_prompt(recorder);
    }
}

/// A value a `#[traced_chat]` function returns, recorded as its response.
///
/// Implemented for chat completions (the first choice's text), strings, `Option`, `Result` (an
/// `Err` marks the span as failed), `()`, and references and smart pointers to those. Implement
/// it for your own return types:
///
/// ```
/// use traced_chat::{RecordResponse, Recorder};
///
/// struct Answer { text: String, confidence: f32 }
///
/// impl RecordResponse for Answer {
///     fn record_response(&self, recorder: &Recorder<'_>) {
///         recorder.response(&self.text);
///     }
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "`#[traced_chat]` cannot record a `{Self}` as the response",
    label = "the function returns `{Self}`, which does not implement `RecordResponse`",
    note = "write `#[traced_chat(skip(response))]` to record no response, or implement `traced_chat::RecordResponse` for `{Self}`"
)]
pub trait RecordResponse {
    /// Records `self` through `recorder` (usually with [`Recorder::response`] or
    /// [`Recorder::error`]).
    fn record_response(&self, recorder: &Recorder<'_>);

    /// Takes over the span of the function that returned `self`, for a value that finishes
    /// later (a stream records its answer and ends the span when it ends); gives the span back
    /// otherwise. Not for implementing by hand: the default gives it back.
    #[doc(hidden)]
    #[inline]
    fn __traced_chat_adopt(&mut self, span: FnSpan) -> Option<FnSpan> {
        Some(span)
    }
}

impl RecordResponse for () {
    #[inline]
    fn record_response(&self, _: &Recorder<'_>) {}
}

impl RecordResponse for str {
    #[inline]
    fn record_response(&self, recorder: &Recorder<'_>) {
        recorder.response(self);
    }
}

impl RecordResponse for String {
    #[inline]
    fn record_response(&self, recorder: &Recorder<'_>) {
        recorder.response(self);
    }
}

impl RecordResponse for Cow<'_, str> {
    #[inline]
    fn record_response(&self, recorder: &Recorder<'_>) {
        recorder.response(self);
    }
}

impl RecordResponse for CreateChatCompletionResponse {
    /// The first choice's text; for an answer that only calls tools, a readable summary of the
    /// calls (`get_weather({"location":"Paris"})`). With several choices, their count too.
    fn record_response(&self, recorder: &Recorder<'_>) {
        if let Some(choice) = self.choices.first() {
            let content = choice.message.content.as_deref();
            let calls = choice.message.tool_calls.as_deref().unwrap_or_default();
            if content.is_none_or(str::is_empty) && !calls.is_empty() {
                let calls = calls.iter().map(crate::messages::tool_call);
                let summary = crate::messages::tool_call_summary(
                    calls.map(|(_, name, arguments)| (name, arguments)),
                );
                recorder.response_with_length(summary.as_str(), summary.len());
            } else if let Some(content) = content {
                recorder.response(content);
            }
        }
        recorder.choice_count(self.choices.len());
    }
}

/// An embeddings answer as a summary, never the vectors: `3 embeddings × 1536 dimensions`.
impl RecordResponse for CreateEmbeddingResponse {
    fn record_response(&self, recorder: &Recorder<'_>) {
        let dimension = self.data.first().map(|e| e.embedding.len());
        recorder.response(&embeddings_summary(self.data.len(), dimension));
    }
}

/// As for [`CreateEmbeddingResponse`]: the count and dimension of the vectors.
impl RecordResponse for CreateBase64EmbeddingResponse {
    fn record_response(&self, recorder: &Recorder<'_>) {
        let dimension = self.data.first().map(|e| base64_dimension(&e.embedding.0));
        recorder.response(&embeddings_summary(self.data.len(), dimension));
    }
}

/// The dimension of a base64-encoded vector: little-endian `f32`s, 4 bytes a dimension.
pub(crate) fn base64_dimension(text: &str) -> usize {
    let padding = text.bytes().rev().take_while(|b| *b == b'=').count();
    (text.len() / 4 * 3).saturating_sub(padding) / 4
}

/// `3 embeddings × 1536 dimensions`.
pub(crate) fn embeddings_summary(count: usize, dimension: Option<usize>) -> String {
    let noun = if count == 1 {
        "embedding"
    } else {
        "embeddings"
    };
    match dimension {
        Some(dimension) => format!("{count} {noun} × {dimension} dimensions"),
        None => format!("{count} {noun}"),
    }
}

/// The texts to embed: the text itself, or the texts as a compact JSON array (each cut to an
/// equal share of the content limit); token arrays record their length only.
impl RecordPrompt for CreateEmbeddingRequest {
    fn record_prompt(&self, recorder: &Recorder<'_>) {
        match &self.input {
            EmbeddingInput::String(text) => recorder.prompt(text),
            EmbeddingInput::StringArray(texts) => {
                let share = crate::content::per_message_budget(texts.len());
                let length = texts.iter().map(String::len).sum();
                let cut: Vec<_> = texts
                    .iter()
                    .map(|t| crate::redact::redact_bounded(t, share))
                    .collect();
                let json = serde_json::to_string(&cut).unwrap_or_default();
                match crate::content::enabled() {
                    true => recorder.prompt_json(json, length),
                    false => recorder.prompt_with_length("", length),
                }
            }
            EmbeddingInput::IntegerArray(_) | EmbeddingInput::ArrayOfIntegerArray(_) => {
                recorder.prompt_with_length("", 0)
            }
        }
    }
}

impl<T: RecordResponse> RecordResponse for Option<T> {
    #[inline]
    fn record_response(&self, recorder: &Recorder<'_>) {
        if let Some(value) = self {
            value.record_response(recorder);
        }
    }

    #[inline]
    fn __traced_chat_adopt(&mut self, span: FnSpan) -> Option<FnSpan> {
        match self {
            Some(value) => value.__traced_chat_adopt(span),
            None => Some(span),
        }
    }
}

impl<T: RecordResponse, E: Display + 'static> RecordResponse for Result<T, E> {
    fn record_response(&self, recorder: &Recorder<'_>) {
        match self {
            Ok(value) => value.record_response(recorder),
            Err(error) => {
                if recorder.is_recording() {
                    let (error_type, message) = describe_error(error);
                    recorder.error(&error_type, &message);
                }
            }
        }
    }

    #[inline]
    fn __traced_chat_adopt(&mut self, span: FnSpan) -> Option<FnSpan> {
        match self {
            Ok(value) => value.__traced_chat_adopt(span),
            Err(_) => Some(span),
        }
    }
}

/// The `error.type` and status description of an error returned by a `#[traced_chat]`
/// function: for an [`OpenAIError`], its stable classification and the API's message; otherwise
/// the error type's name and its `Display` text.
fn describe_error<E: Display + 'static>(error: &E) -> (Cow<'static, str>, String) {
    if let Some(error) = (error as &dyn core::any::Any).downcast_ref::<OpenAIError>() {
        return (
            crate::error::error_type(error),
            crate::error::error_message(error),
        );
    }
    (
        Cow::Borrowed(short_type_name::<E>()),
        // Not `to_string`: it panics when a `Display` fails, and copies a huge text whole.
        crate::error::display_message(error),
    )
}

/// `core::any::type_name` without the module path or generic arguments.
fn short_type_name<E>() -> &'static str {
    let full = core::any::type_name::<E>();
    let base = full.split('<').next().unwrap_or(full);
    base.rsplit("::").next().unwrap_or(base)
}

macro_rules! forward_impls {
    ($($ty:ty),*) => {$(
        impl<T: RecordResponse + ?Sized> RecordResponse for $ty {
            #[inline]
            fn record_response(&self, recorder: &Recorder<'_>) {
                (**self).record_response(recorder);
            }
            // Shared pointers cannot hand the value over: the default gives the span back.
        }
        impl<T: RecordPrompt + ?Sized> RecordPrompt for $ty {
            #[inline]
            fn record_prompt(&self, recorder: &Recorder<'_>) {
                (**self).record_prompt(recorder);
            }
        }
    )*};
}

forward_impls!(&T, Arc<T>, Rc<T>);

/// Owned and exclusive pointers hand the value over, so a boxed stream keeps the span too.
macro_rules! forward_owning_impls {
    ($($ty:ty),*) => {$(
        impl<T: RecordResponse + ?Sized> RecordResponse for $ty {
            #[inline]
            fn record_response(&self, recorder: &Recorder<'_>) {
                (**self).record_response(recorder);
            }

            #[inline]
            fn __traced_chat_adopt(&mut self, span: FnSpan) -> Option<FnSpan> {
                (**self).__traced_chat_adopt(span)
            }
        }
        impl<T: RecordPrompt + ?Sized> RecordPrompt for $ty {
            #[inline]
            fn record_prompt(&self, recorder: &Recorder<'_>) {
                (**self).record_prompt(recorder);
            }
        }
    )*};
}

forward_owning_impls!(&mut T, Box<T>);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_type_names() {
        assert_eq!(short_type_name::<OpenAIError>(), "OpenAIError");
        assert_eq!(short_type_name::<Vec<String>>(), "Vec");
        assert_eq!(short_type_name::<String>(), "String");
    }
}
