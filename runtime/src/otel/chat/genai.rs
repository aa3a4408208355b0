//! The chat span in the OpenTelemetry GenAI conventions' names (`gen_ai.*`, `server.*`,
//! `openai.*` where the conventions say so): its name, what the request and the answer record,
//! and the messages as content.

use std::borrow::Cow;
use std::sync::Arc;

use async_openai::types::chat::{
    CreateChatCompletionRequest, ResponseFormat, ServiceTier, StopConfiguration,
};
use serde_json::{Value, json};

use super::facts::{ResponseFacts, service_tier};
use super::legacy::max_tokens;
use crate::attributes as attr;
use crate::config::Semconv;
use crate::messages::{conversation_json, instructions_json, text_part, tool_call_part};
use crate::otel::attrs::{Attrs, f32_value};
use crate::otel::settings::Settings;

/// The span's name: `chat {model}` in the GenAI vocabulary alone, else the legacy
/// `openai.ChatCompletion.create`.
pub(super) fn span_name(settings: &Settings, model: &str) -> Cow<'static, str> {
    match settings.semconv {
        Semconv::GenAi => format!("{} {model}", attr::GEN_AI_OPERATION_CHAT).into(),
        _ => attr::SPAN_CHAT_COMPLETION_CREATE.into(),
    }
}

/// What every GenAI client span carries from the start (samplers read it).
pub(super) fn request_common(attrs: &mut Attrs, settings: &Settings, model: &Arc<str>) {
    attrs
        .add(attr::GEN_AI_OPERATION_NAME, attr::GEN_AI_OPERATION_CHAT)
        .add(attr::GEN_AI_PROVIDER_NAME, settings.provider_name.clone())
        .add(attr::GEN_AI_REQUEST_MODEL, model.clone())
        .add(attr::OPENAI_API_TYPE, "chat_completions")
        .opt(attr::SERVER_ADDRESS, settings.server_address.clone())
        .opt(attr::SERVER_PORT, settings.server_port);
}

pub(super) fn request_parameters(
    attrs: &mut Attrs,
    request: &CreateChatCompletionRequest,
    stream: bool,
) {
    #[allow(deprecated)]
    let seed = request.seed;
    attrs
        .int(attr::GEN_AI_REQUEST_MAX_TOKENS, max_tokens(request))
        .opt(
            attr::GEN_AI_REQUEST_TEMPERATURE,
            request.temperature.map(f32_value),
        )
        .opt(attr::GEN_AI_REQUEST_TOP_P, request.top_p.map(f32_value))
        .opt(
            attr::GEN_AI_REQUEST_FREQUENCY_PENALTY,
            request.frequency_penalty.map(f32_value),
        )
        .opt(
            attr::GEN_AI_REQUEST_PRESENCE_PENALTY,
            request.presence_penalty.map(f32_value),
        )
        .strings(attr::GEN_AI_REQUEST_STOP_SEQUENCES, stop_sequences(request))
        .opt(attr::GEN_AI_REQUEST_SEED, seed)
        .int(
            attr::GEN_AI_REQUEST_CHOICE_COUNT,
            request.n.filter(|n| *n != 1),
        )
        .opt(
            attr::GEN_AI_OUTPUT_TYPE,
            request.response_format.as_ref().map(output_type),
        )
        .opt(
            attr::OPENAI_REQUEST_SERVICE_TIER,
            request
                .service_tier
                .as_ref()
                .filter(|t| **t != ServiceTier::Auto)
                .map(service_tier),
        )
        .opt(attr::GEN_AI_REQUEST_STREAM, stream.then_some(true));
}

fn stop_sequences(request: &CreateChatCompletionRequest) -> Vec<String> {
    match &request.stop {
        None => Vec::new(),
        Some(StopConfiguration::String(s)) => vec![s.clone()],
        Some(StopConfiguration::StringArray(v)) => v.clone(),
    }
}

fn output_type(format: &ResponseFormat) -> &'static str {
    match format {
        ResponseFormat::Text => "text",
        ResponseFormat::JsonObject | ResponseFormat::JsonSchema { .. } => "json",
    }
}

/// The request's messages (opt-in content): system instructions apart, the rest as
/// `gen_ai.input.messages`, each text cut to an equal share of the content limit.
pub(super) fn request_content(attrs: &mut Attrs, request: &CreateChatCompletionRequest) {
    let messages = &request.messages;
    let max = crate::content::per_message_budget(messages.len());
    if let Some(system) = instructions_json(messages, max) {
        attrs.json_rendered(attr::GEN_AI_SYSTEM_INSTRUCTIONS, system, max, |max| {
            instructions_json(messages, max).unwrap_or_default()
        });
    }
    let conversation = conversation_json(messages, max);
    attrs.json_rendered(attr::GEN_AI_INPUT_MESSAGES, conversation, max, |max| {
        conversation_json(messages, max)
    });
}

pub(super) fn response(attrs: &mut Attrs, facts: &ResponseFacts) {
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

/// The answer in the GenAI conventions' JSON shape: one `{role, parts, finish_reason}` message
/// per recorded choice, in the order of their indices, each text and arguments cut to `max`
/// bytes.
pub(super) fn output_messages_json(facts: &ResponseFacts, max: usize) -> String {
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
