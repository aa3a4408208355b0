//! The embeddings span in the legacy OpenAI attribute names, as chat's: `openai.create.model`,
//! `openai.usage.prompt_tokens`, `openai.usage.total_tokens`, and the number of vectors.

use std::sync::Arc;

use super::EmbeddingsSummary;
use crate::attributes as attr;
use crate::otel::attrs::Attrs;

pub(super) fn request(attrs: &mut Attrs, model: &Arc<str>) {
    attrs.add(attr::OPENAI_CREATE_MODEL, model.clone());
}

pub(super) fn response(attrs: &mut Attrs, answer: &EmbeddingsSummary) {
    let usage = answer.usage.as_ref();
    attrs
        .int(
            attr::OPENAI_USAGE_PROMPT_TOKENS,
            usage.map(|u| u.prompt_tokens),
        )
        .int(
            attr::OPENAI_USAGE_TOTAL_TOKENS,
            usage.map(|u| u.total_tokens),
        )
        .add(
            attr::OPENAI_RESPONSE_EMBEDDING_COUNT,
            i64::try_from(answer.count).unwrap_or(i64::MAX),
        );
}
