//! The embeddings span in the OpenTelemetry GenAI conventions' names: `embeddings {model}`,
//! `gen_ai.request.encoding_formats`, `gen_ai.embeddings.dimension.count`, the usage, and the
//! input texts as content (opt-in).

use std::borrow::Cow;
use std::sync::Arc;

use async_openai::types::embeddings::{CreateEmbeddingRequest, EmbeddingInput, EncodingFormat};
use serde_json::{Value, json};

use super::EmbeddingsSummary;
use crate::attributes as attr;
use crate::config::Semconv;
use crate::otel::attrs::Attrs;
use crate::otel::settings::Settings;

/// `embeddings {model}` in the GenAI vocabulary alone, else the legacy
/// `openai.Embedding.create`.
pub(super) fn span_name(settings: &Settings, model: &str) -> Cow<'static, str> {
    match settings.semconv {
        Semconv::GenAi => format!("{} {model}", attr::GEN_AI_OPERATION_EMBEDDINGS).into(),
        _ => attr::SPAN_EMBEDDING_CREATE.into(),
    }
}

pub(super) fn request(
    attrs: &mut Attrs,
    settings: &Settings,
    request: &CreateEmbeddingRequest,
    model: &Arc<str>,
) {
    let format = match request.encoding_format {
        Some(EncodingFormat::Base64) => "base64",
        Some(EncodingFormat::Float) | None => "float",
    };
    attrs
        .add(
            attr::GEN_AI_OPERATION_NAME,
            attr::GEN_AI_OPERATION_EMBEDDINGS,
        )
        .add(attr::GEN_AI_PROVIDER_NAME, settings.provider_name.clone())
        .add(attr::GEN_AI_REQUEST_MODEL, model.clone())
        .opt(attr::SERVER_ADDRESS, settings.server_address.clone())
        .opt(attr::SERVER_PORT, settings.server_port)
        .strings(attr::GEN_AI_REQUEST_ENCODING_FORMATS, [format])
        .int(attr::GEN_AI_EMBEDDINGS_DIMENSION_COUNT, request.dimensions);
    if settings.capture_content() {
        let texts = input_texts(&request.input);
        let max = crate::content::per_message_budget(texts.len());
        attrs.json(attr::GEN_AI_INPUT_MESSAGES, max, |max| {
            input_json(&texts, max)
        });
    }
}

pub(super) fn response(attrs: &mut Attrs, answer: &EmbeddingsSummary, requested: Option<u32>) {
    let dimension = match requested {
        // Already recorded from the request.
        Some(_) => None,
        None => answer.dimension.and_then(|d| i64::try_from(d).ok()),
    };
    attrs
        .opt(attr::GEN_AI_RESPONSE_MODEL, answer.model.clone())
        .int(
            attr::GEN_AI_USAGE_INPUT_TOKENS,
            answer.usage.as_ref().map(|u| u.prompt_tokens),
        )
        .opt(attr::GEN_AI_EMBEDDINGS_DIMENSION_COUNT, dimension);
}

/// The texts to embed (token arrays have none).
pub(crate) fn input_texts(input: &EmbeddingInput) -> Vec<&str> {
    match input {
        EmbeddingInput::String(text) => vec![text],
        EmbeddingInput::StringArray(texts) => texts.iter().map(String::as_str).collect(),
        EmbeddingInput::IntegerArray(_) | EmbeddingInput::ArrayOfIntegerArray(_) => Vec::new(),
    }
}

/// The texts as the conventions' input messages: one user message of text parts.
fn input_json(texts: &[&str], max: usize) -> String {
    let parts: Vec<Value> = texts
        .iter()
        .map(|text| crate::messages::text_part(text, max))
        .collect();
    json!([{"role": "user", "parts": parts}]).to_string()
}
