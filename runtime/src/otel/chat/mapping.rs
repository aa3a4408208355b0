//! What a chat span records, composed from the two vocabularies ([`legacy`](super::legacy),
//! [`genai`](super::genai)) as the client's [`Semconv`](crate::Semconv) says, and what both
//! record alike.

use std::borrow::Cow;
use std::sync::Arc;

use async_openai::types::chat::CreateChatCompletionRequest;

use super::facts::ResponseFacts;
use super::{genai, legacy};
use crate::attributes as attr;
use crate::otel::attrs::Attrs;
use crate::otel::settings::Settings;
use crate::record::Recorder;

/// The span's name.
pub(super) fn span_name(settings: &Settings, model: &str) -> Cow<'static, str> {
    genai::span_name(settings, model)
}

/// The request's attributes in the vocabularies `settings` selects.
pub(super) fn request(
    settings: &Settings,
    request: &CreateChatCompletionRequest,
    model: &Arc<str>,
    stream: bool,
) -> Attrs {
    let genai = settings.semconv.genai();
    let mut attrs = Attrs::new(if genai { 18 } else { 3 });
    if settings.semconv.legacy() {
        legacy::request(&mut attrs, request, model);
    }
    if genai {
        genai::request_common(&mut attrs, settings, model);
        genai::request_parameters(&mut attrs, request, stream);
        if settings.capture_content() {
            genai::request_content(&mut attrs, request);
        }
    }
    attrs
}

/// The answer's attributes in the vocabularies `settings` selects, within `budget` bytes of
/// variable-size attributes.
pub(super) fn response(settings: &Settings, facts: &ResponseFacts, budget: usize) -> Attrs {
    let mut attrs = Attrs::with_budget(16, budget);
    if settings.semconv.legacy() {
        legacy::response(&mut attrs, facts);
    }
    if settings.semconv.genai() {
        genai::response(&mut attrs, facts);
        if settings.capture_content() && facts.answered {
            let max = crate::content::per_message_budget(facts.choices.len());
            attrs.json(attr::GEN_AI_OUTPUT_MESSAGES, max, |max| {
                genai::output_messages_json(facts, max)
            });
        }
    }
    tool_calls(&mut attrs, facts);
    counts(&mut attrs, facts);
    attrs
}

/// The first choice's tool calls: their names and ids.
fn tool_calls(attrs: &mut Attrs, facts: &ResponseFacts) {
    let calls = facts
        .first()
        .map(|c| c.tool_calls.as_slice())
        .unwrap_or_default();
    if !calls.is_empty() {
        attrs
            .bounded_strings(
                attr::OPENAI_RESPONSE_TOOL_CALL_NAMES,
                calls.iter().map(|c| c.name.as_str()),
            )
            .bounded_strings(
                attr::OPENAI_RESPONSE_TOOL_CALL_IDS,
                calls.iter().map(|c| c.id.as_str()),
            );
    }
}

/// How many choices and tool calls arrived, when some were not recorded.
fn counts(attrs: &mut Attrs, facts: &ResponseFacts) {
    if facts.items_dropped() {
        let count = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
        attrs
            .add(
                attr::TRACED_CHAT_RESPONSE_CHOICE_COUNT,
                count(facts.choice_count()),
            )
            .add(
                attr::TRACED_CHAT_RESPONSE_TOOL_CALL_COUNT,
                count(facts.tool_call_count()),
            );
    }
}

/// Records the answer as a `#[traced_chat]` function's `openai.response`: the first choice's
/// text, or a summary of its tool calls when it had no text at all (a text cut to nothing by a
/// tiny content limit is still the text).
pub(super) fn record_fn_response(facts: &ResponseFacts, recorder: &Recorder<'_>) {
    let Some(first) = facts.first() else {
        recorder.response("");
        return;
    };
    if first.text.is_empty() && !first.tool_calls.is_empty() {
        let summary = facts.tool_call_summary();
        recorder.response_with_length(summary.as_str(), summary.len());
    } else {
        // The text was cut as it arrived; record the kept part with the full length.
        recorder.response_with_length(first.text.as_str(), first.text.len());
    }
}
