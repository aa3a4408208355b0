//! The chat span as it ends: the answer's facts as attributes, in the legacy OpenAI names and in
//! the GenAI conventions' names, and the answer as a `#[traced_chat]` function's response.

use serde_json::{Value, json};

use super::facts::ResponseFacts;
use crate::attributes as attr;
use crate::messages::{text_part, tool_call_part};
use crate::otel::attrs::Attrs;
use crate::otel::settings::Settings;
use crate::record::Recorder;

/// The answer's attributes in the vocabularies `settings` selects, within `budget` bytes of
/// variable-size attributes.
pub(crate) fn attributes(settings: &Settings, facts: &ResponseFacts, budget: usize) -> Attrs {
    let mut attrs = Attrs::with_budget(16, budget);
    if settings.semconv.legacy() {
        legacy(&mut attrs, facts);
    }
    if settings.semconv.genai() {
        genai(&mut attrs, facts);
        if settings.capture_content() && facts.answered {
            let max = crate::content::per_message_budget(facts.choices.len());
            attrs.json(attr::GEN_AI_OUTPUT_MESSAGES, max, |max| {
                output_messages_json(facts, max)
            });
        }
    }
    tool_calls(&mut attrs, facts);
    counts(&mut attrs, facts);
    attrs
}

fn legacy(attrs: &mut Attrs, facts: &ResponseFacts) {
    let usage = facts.usage.as_ref();
    attrs
        .opt(attr::OPENAI_RESPONSE_ID, facts.id.clone())
        .int(attr::OPENAI_RESPONSE_CREATED, facts.created)
        .int(
            attr::OPENAI_USAGE_PROMPT_TOKENS,
            usage.map(|u| u.prompt_tokens),
        )
        .int(
            attr::OPENAI_USAGE_COMPLETION_TOKENS,
            usage.map(|u| u.completion_tokens),
        )
        .int(
            attr::OPENAI_USAGE_TOTAL_TOKENS,
            usage.map(|u| u.total_tokens),
        );
}

fn genai(attrs: &mut Attrs, facts: &ResponseFacts) {
    let usage = facts.usage.as_ref();
    let cached = usage
        .and_then(|u| u.prompt_tokens_details.as_ref())
        .and_then(|d| d.cached_tokens);
    let reasoning = usage
        .and_then(|u| u.completion_tokens_details.as_ref())
        .and_then(|d| d.reasoning_tokens);
    attrs
        .opt(attr::GEN_AI_RESPONSE_ID, facts.id.clone())
        .opt(attr::GEN_AI_RESPONSE_MODEL, facts.model.clone())
        .strings(attr::GEN_AI_RESPONSE_FINISH_REASONS, facts.finish_reasons())
        .int(
            attr::GEN_AI_USAGE_INPUT_TOKENS,
            usage.map(|u| u.prompt_tokens),
        )
        .int(
            attr::GEN_AI_USAGE_OUTPUT_TOKENS,
            usage.map(|u| u.completion_tokens),
        )
        .int(attr::GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS, cached)
        .int(attr::GEN_AI_USAGE_REASONING_OUTPUT_TOKENS, reasoning)
        .opt(attr::OPENAI_RESPONSE_SERVICE_TIER, facts.service_tier)
        .opt(
            attr::OPENAI_RESPONSE_SYSTEM_FINGERPRINT,
            facts.system_fingerprint.clone(),
        );
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
        let tool_calls: usize = facts.choices.iter().map(|c| c.tool_calls_seen).sum();
        attrs
            .add(
                attr::TRACED_CHAT_RESPONSE_CHOICE_COUNT,
                i64::try_from(facts.choices_seen).unwrap_or(i64::MAX),
            )
            .add(
                attr::TRACED_CHAT_RESPONSE_TOOL_CALL_COUNT,
                i64::try_from(tool_calls).unwrap_or(i64::MAX),
            );
    }
}

/// The answer in the GenAI conventions' JSON shape: one `{role, parts, finish_reason}` message
/// per recorded choice, in the order of their indices, each text and arguments cut to `max`
/// bytes.
pub(crate) fn output_messages_json(facts: &ResponseFacts, max: usize) -> String {
    let messages: Vec<Value> = facts
        .choices
        .iter()
        .map(|choice| {
            let text = choice.text.as_str();
            let parts: Vec<Value> = (!text.is_empty())
                .then(|| text_part(text, max))
                .into_iter()
                .chain(choice.tool_calls.iter().map(|call| {
                    tool_call_part((&call.id, &call.name, call.arguments.as_str()), max)
                }))
                .collect();
            let finish = facts.finish_reason_of(choice.index);
            json!({ "role": "assistant", "parts": parts, "finish_reason": finish })
        })
        .collect();
    Value::Array(messages).to_string()
}

/// Records the answer as a `#[traced_chat]` function's `openai.response`: the first choice's
/// text, or a summary of its tool calls when it had no text at all (a text cut to nothing by a
/// tiny content limit is still the text).
pub(crate) fn record_fn_response(facts: &ResponseFacts, recorder: &Recorder<'_>) {
    let Some(first) = facts.first() else {
        recorder.response("");
        return;
    };
    if first.text.is_empty() && !first.tool_calls.is_empty() {
        recorder.response(&facts.tool_call_summary());
    } else {
        // The text was cut as it arrived; record the kept part with the full length.
        recorder.response_with_length(first.text.as_str(), first.text.len());
    }
}
