//! The chat span in the legacy OpenAI attribute names (`openai.create.*`, `openai.response.*`,
//! `openai.usage.*`): what the request and the answer record.

use std::sync::Arc;

use async_openai::types::chat::CreateChatCompletionRequest;

use super::facts::ResponseFacts;
use crate::attributes as attr;
use crate::otel::attrs::{Attrs, f32_value};

pub(super) fn request(attrs: &mut Attrs, request: &CreateChatCompletionRequest, model: &Arc<str>) {
    attrs
        .add(attr::OPENAI_CREATE_MODEL, model.clone())
        .int(attr::OPENAI_CREATE_MAX_TOKENS, max_tokens(request))
        .opt(
            attr::OPENAI_CREATE_TEMPERATURE,
            request.temperature.map(f32_value),
        );
}

pub(super) fn response(attrs: &mut Attrs, facts: &ResponseFacts) {
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

/// The token limit: `max_completion_tokens`, else the deprecated `max_tokens`.
pub(super) fn max_tokens(request: &CreateChatCompletionRequest) -> Option<u32> {
    #[allow(deprecated)]
    request.max_completion_tokens.or(request.max_tokens)
}
