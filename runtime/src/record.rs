//! How prompts and responses become span attributes: the [`RecordPrompt`] and
//! [`RecordResponse`] traits and the [`Recorder`] they write through.

use std::borrow::Cow;
use std::fmt::Display;
use std::rc::Rc;
use std::sync::Arc;

use async_openai::error::OpenAIError;
use async_openai::types::chat::{
    ChatCompletionMessageToolCalls, ChatCompletionRequestMessage, CreateChatCompletionRequest,
    CreateChatCompletionResponse,
};

#[cfg(feature = "otel")]
use opentelemetry::{
    Context, KeyValue,
    trace::{Status, TraceContextExt},
};

use crate::attributes;

/// Writes a prompt, a response or an error onto the span of a `#[traced_chat]` call.
///
/// Handed to [`RecordPrompt`] and [`RecordResponse`] implementations. With the `otel` feature
/// off every method does nothing.
#[derive(Debug, Clone, Copy)]
pub struct Recorder<'a> {
    #[cfg(feature = "otel")]
    cx: &'a Context,
    #[cfg(feature = "otel")]
    keep_open: Option<&'a core::cell::Cell<bool>>,
    #[cfg(not(feature = "otel"))]
    _life: core::marker::PhantomData<&'a ()>,
}

impl<'a> Recorder<'a> {
    #[cfg(feature = "otel")]
    pub(crate) fn new(cx: &'a Context) -> Self {
        Recorder {
            cx,
            keep_open: None,
        }
    }

    /// A recorder whose span the recorded value may keep open (see [`Self::keep_open`]).
    #[cfg(feature = "otel")]
    pub(crate) fn with_keep_open(cx: &'a Context, keep_open: &'a core::cell::Cell<bool>) -> Self {
        Recorder {
            cx,
            keep_open: Some(keep_open),
        }
    }

    /// Asks that the span stay open after the function returns, and hands over its context:
    /// the value (a stream) records the response and ends the span when it finishes.
    #[cfg(feature = "otel")]
    pub(crate) fn keep_open(&self) -> Option<Context> {
        let keep = self.keep_open?;
        if !self.is_recording() || keep.get() {
            return None;
        }
        keep.set(true);
        Some(self.cx.clone())
    }

    #[cfg(not(feature = "otel"))]
    pub(crate) fn new() -> Self {
        Recorder {
            _life: core::marker::PhantomData,
        }
    }

    /// Whether anything written will be kept (a sampled-out or no-op span keeps nothing): check
    /// it before doing costly work such as formatting.
    #[inline]
    pub fn is_recording(&self) -> bool {
        #[cfg(feature = "otel")]
        {
            self.cx.span().is_recording()
        }
        #[cfg(not(feature = "otel"))]
        {
            false
        }
    }

    /// Records `text` as the prompt ([`openai.prompt`](attributes::OPENAI_PROMPT)), subject
    /// to the [content policy](crate::content), and its length.
    #[inline]
    pub fn prompt(&self, text: &str) {
        self.text(
            attributes::OPENAI_PROMPT,
            attributes::OPENAI_PROMPT_LENGTH,
            text,
        );
    }

    /// Records `text` as the response ([`openai.response`](attributes::OPENAI_RESPONSE)),
    /// subject to the [content policy](crate::content), and its length.
    #[inline]
    pub fn response(&self, text: &str) {
        self.text(
            attributes::OPENAI_RESPONSE,
            attributes::OPENAI_RESPONSE_LENGTH,
            text,
        );
    }

    /// Records how many choices the response had, when there were several.
    #[inline]
    pub fn choice_count(&self, count: usize) {
        #[cfg(feature = "otel")]
        if count > 1 {
            self.cx.span().set_attribute(KeyValue::new(
                attributes::OPENAI_RESPONSE_CHOICE_COUNT,
                i64::try_from(count).unwrap_or(i64::MAX),
            ));
        }
        #[cfg(not(feature = "otel"))]
        let _ = count;
    }

    /// Marks the call as failed: status ERROR with `message`, and
    /// [`error.type`](attributes::ERROR_TYPE) = `error_type` (a short, stable name).
    #[inline]
    pub fn error(&self, error_type: &str, message: &str) {
        #[cfg(feature = "otel")]
        {
            let span = self.cx.span();
            if span.is_recording() {
                span.set_attribute(KeyValue::new(attributes::ERROR_TYPE, error_type.to_owned()));
                span.set_status(Status::error(message.to_owned()));
            }
        }
        #[cfg(not(feature = "otel"))]
        let _ = (error_type, message);
    }

    /// Records a prompt that is JSON, already cut piece by piece so that it stays valid, with
    /// `length` as the original length of its texts.
    pub(crate) fn prompt_json(&self, json: &str, length: usize) {
        #[cfg(feature = "otel")]
        {
            let span = self.cx.span();
            if span.is_recording() {
                span.set_attributes([
                    KeyValue::new(
                        attributes::OPENAI_PROMPT_LENGTH,
                        i64::try_from(length).unwrap_or(i64::MAX),
                    ),
                    KeyValue::new(attributes::OPENAI_PROMPT, json.to_owned()),
                ]);
            }
        }
        #[cfg(not(feature = "otel"))]
        let _ = (json, length);
    }

    /// Records `text` as the prompt with `length` as its original length (the text was
    /// already cut, or is empty when content is off).
    pub(crate) fn prompt_with_length(&self, text: &str, length: usize) {
        #[cfg(feature = "otel")]
        self.text_with_length(
            attributes::OPENAI_PROMPT,
            attributes::OPENAI_PROMPT_LENGTH,
            text,
            length,
        );
        #[cfg(not(feature = "otel"))]
        let _ = (text, length);
    }

    /// Records `text` as the response with `length` as its original length (the text was
    /// already cut).
    #[cfg(feature = "otel")]
    pub(crate) fn response_with_length(&self, text: &str, length: usize) {
        self.text_with_length(
            attributes::OPENAI_RESPONSE,
            attributes::OPENAI_RESPONSE_LENGTH,
            text,
            length,
        );
    }

    #[inline]
    fn text(&self, key: &'static str, length_key: &'static str, text: &str) {
        #[cfg(feature = "otel")]
        self.text_with_length(key, length_key, text, text.len());
        #[cfg(not(feature = "otel"))]
        let _ = (key, length_key, text);
    }

    /// Records `text` (cut to the content limit, unless content is off) and `length`, in one
    /// update of the span.
    #[cfg(feature = "otel")]
    fn text_with_length(
        &self,
        key: &'static str,
        length_key: &'static str,
        text: &str,
        length: usize,
    ) {
        let span = self.cx.span();
        if !span.is_recording() {
            return;
        }
        let length = KeyValue::new(length_key, i64::try_from(length).unwrap_or(i64::MAX));
        if crate::content::enabled() {
            let kept = crate::content::truncate(text, crate::content::max_length());
            span.set_attributes([length, KeyValue::new(key, kept.to_owned())]);
        } else {
            span.set_attribute(length);
        }
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
            let (json, text_len) = compact_messages(self, share);
            recorder.prompt_json(&json, text_len);
        } else {
            // Content off: the length of the texts only, as for a text prompt.
            let (_, text_len) = compact_messages(self, 0);
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

/// The compact JSON form of request messages (see the `RecordPrompt` impl), each text cut to
/// `max` bytes, and the total length of the texts before cutting.
pub(crate) fn compact_messages(
    messages: &[ChatCompletionRequestMessage],
    max: usize,
) -> (String, usize) {
    use serde_json::{Map, Value, json};
    let text_len = core::cell::Cell::new(0usize);
    let cut = |text: &str| {
        text_len.set(text_len.get() + text.len());
        crate::content::truncate(text, max).to_owned()
    };
    let mut out = Vec::with_capacity(messages.len());
    for message in messages {
        let Ok(wire) = serde_json::to_value(message) else {
            continue;
        };
        let mut compact = Map::new();
        compact.insert("role".into(), wire["role"].clone());
        if let Some(texts) = content_texts(&wire["content"]) {
            let texts: Vec<String> = texts.map(cut).collect();
            compact.insert("content".into(), Value::String(texts.join("\n")));
        }
        if let Some(calls) = wire["tool_calls"].as_array() {
            let calls: Vec<Value> = calls
                .iter()
                .map(|call| {
                    json!({
                        "id": call["id"],
                        "name": call["function"]["name"],
                        "arguments": cut(call["function"]["arguments"].as_str().unwrap_or("")),
                    })
                })
                .collect();
            compact.insert("tool_calls".into(), Value::Array(calls));
        }
        if let Some(id) = wire.get("tool_call_id") {
            compact.insert("tool_call_id".into(), id.clone());
        }
        out.push(Value::Object(compact));
    }
    (Value::Array(out).to_string(), text_len.get())
}

/// The texts of a message's wire `content`: the string itself, or the `text` of each part of an
/// array; `None` when there is no content.
pub(crate) fn content_texts(
    content: &serde_json::Value,
) -> Option<Box<dyn Iterator<Item = &str> + '_>> {
    match content {
        serde_json::Value::String(text) => Some(Box::new(core::iter::once(text.as_str()))),
        serde_json::Value::Array(parts) => {
            Some(Box::new(parts.iter().filter_map(|p| p["text"].as_str())))
        }
        _ => None,
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
            match (&choice.message.content, &choice.message.tool_calls) {
                (Some(content), _) if !content.is_empty() => recorder.response(content),
                (_, Some(calls)) if !calls.is_empty() => {
                    recorder.response(&tool_call_summary(calls.iter().map(|call| match call {
                        ChatCompletionMessageToolCalls::Function(f) => {
                            (f.function.name.as_str(), f.function.arguments.as_str())
                        }
                        ChatCompletionMessageToolCalls::Custom(c) => {
                            (c.custom_tool.name.as_str(), c.custom_tool.input.as_str())
                        }
                    })))
                }
                (Some(content), _) => recorder.response(content),
                _ => {}
            }
        }
        recorder.choice_count(self.choices.len());
    }
}

/// A readable one-line summary of tool calls given as `(name, arguments)`:
/// `get_weather({"location":"Paris"}); get_time({})`.
pub(crate) fn tool_call_summary<'a>(calls: impl Iterator<Item = (&'a str, &'a str)>) -> String {
    let mut out = String::new();
    for (i, (name, arguments)) in calls.enumerate() {
        if i > 0 {
            out.push_str("; ");
        }
        out.push_str(name);
        out.push('(');
        out.push_str(arguments);
        out.push(')');
    }
    out
}

impl<T: RecordResponse> RecordResponse for Option<T> {
    #[inline]
    fn record_response(&self, recorder: &Recorder<'_>) {
        if let Some(value) = self {
            value.record_response(recorder);
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
        }
        impl<T: RecordPrompt + ?Sized> RecordPrompt for $ty {
            #[inline]
            fn record_prompt(&self, recorder: &Recorder<'_>) {
                (**self).record_prompt(recorder);
            }
        }
    )*};
}

forward_impls!(&T, &mut T, Box<T>, Arc<T>, Rc<T>);

#[cfg(test)]
mod tests {
    use super::*;
    use async_openai::types::chat::{
        ChatCompletionRequestSystemMessage, ChatCompletionRequestToolMessage,
        ChatCompletionRequestUserMessage,
    };

    #[test]
    fn compact_message_json() {
        let messages: Vec<ChatCompletionRequestMessage> = vec![
            ChatCompletionRequestSystemMessage::from("Be brief.").into(),
            ChatCompletionRequestUserMessage::from("Hi").into(),
            ChatCompletionRequestToolMessage {
                content: "22°C".into(),
                tool_call_id: "call_1".into(),
            }
            .into(),
        ];
        assert_eq!(
            compact_messages(&messages, 100).0,
            r#"[{"content":"Be brief.","role":"system"},{"content":"Hi","role":"user"},{"content":"22°C","role":"tool","tool_call_id":"call_1"}]"#
        );
    }

    #[test]
    fn short_type_names() {
        assert_eq!(short_type_name::<OpenAIError>(), "OpenAIError");
        assert_eq!(short_type_name::<Vec<String>>(), "Vec");
        assert_eq!(short_type_name::<String>(), "String");
    }
}
