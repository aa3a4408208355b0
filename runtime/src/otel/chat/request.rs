//! The chat span as it starts: its name and the request's attributes, in the legacy OpenAI
//! names and in the GenAI conventions' names.

use std::borrow::Cow;
use std::sync::Arc;

use async_openai::types::chat::{
    CreateChatCompletionRequest, ResponseFormat, ServiceTier, StopConfiguration,
};

use super::facts::service_tier;
use crate::attributes as attr;
use crate::config::Semconv;
use crate::messages::{conversation_json, instructions_json};
use crate::otel::attrs::{Attrs, f32_value};
use crate::otel::settings::Settings;

/// The span's name: `chat {model}` in the GenAI vocabulary alone, else the legacy
/// `openai.ChatCompletion.create`.
pub(crate) fn span_name(settings: &Settings, model: &str) -> Cow<'static, str> {
    match settings.semconv {
        Semconv::GenAi => format!("{} {model}", attr::GEN_AI_OPERATION_CHAT).into(),
        _ => attr::SPAN_CHAT_COMPLETION_CREATE.into(),
    }
}

/// The request's attributes in the vocabularies `settings` selects.
pub(crate) fn attributes(
    settings: &Settings,
    request: &CreateChatCompletionRequest,
    model: &Arc<str>,
    stream: bool,
) -> Attrs {
    let genai = settings.semconv.genai();
    let mut attrs = Attrs::new(if genai { 18 } else { 3 });
    if settings.semconv.legacy() {
        legacy(&mut attrs, request, model);
    }
    if genai {
        genai_common(&mut attrs, settings, model);
        genai_parameters(&mut attrs, request, stream);
        if settings.capture_content() {
            genai_content(&mut attrs, request);
        }
    }
    attrs
}

/// The token limit: `max_completion_tokens`, else the deprecated `max_tokens`.
fn max_tokens(request: &CreateChatCompletionRequest) -> Option<u32> {
    #[allow(deprecated)]
    request.max_completion_tokens.or(request.max_tokens)
}

fn legacy(attrs: &mut Attrs, request: &CreateChatCompletionRequest, model: &Arc<str>) {
    attrs
        .add(attr::OPENAI_CREATE_MODEL, model.clone())
        .int(attr::OPENAI_CREATE_MAX_TOKENS, max_tokens(request))
        .opt(
            attr::OPENAI_CREATE_TEMPERATURE,
            request.temperature.map(f32_value),
        );
}

/// What every GenAI client span carries from the start (samplers read it).
fn genai_common(attrs: &mut Attrs, settings: &Settings, model: &Arc<str>) {
    attrs
        .add(attr::GEN_AI_OPERATION_NAME, attr::GEN_AI_OPERATION_CHAT)
        .add(attr::GEN_AI_PROVIDER_NAME, settings.provider_name.clone())
        .add(attr::GEN_AI_REQUEST_MODEL, model.clone())
        .add(attr::OPENAI_API_TYPE, "chat_completions")
        .opt(attr::SERVER_ADDRESS, settings.server_address.clone())
        .opt(attr::SERVER_PORT, settings.server_port);
}

fn genai_parameters(attrs: &mut Attrs, request: &CreateChatCompletionRequest, stream: bool) {
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
fn genai_content(attrs: &mut Attrs, request: &CreateChatCompletionRequest) {
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
