//! Embeddings: what an embeddings call records ([`EmbeddingsOp`]), and the two calls of the
//! Embeddings API run through a [`Call`]. Vectors are never recorded: only their count and
//! dimension.

mod genai;
mod legacy;

use std::sync::Arc;

use async_openai::Client;
use async_openai::config::OpenAIConfig;
use async_openai::error::OpenAIError;
use async_openai::types::embeddings::{
    CreateBase64EmbeddingResponse, CreateEmbeddingRequest, CreateEmbeddingResponse, EmbeddingUsage,
};
use opentelemetry::KeyValue;
use opentelemetry::trace::FutureExt as _;

use super::attrs::{Attrs, identifier};
use super::call::{Call, Operation};
use super::metrics::TokenUsage;
use super::settings::Settings;
use crate::attributes as attr;
use crate::record::{Recorder, base64_dimension, embeddings_summary};

/// What an embeddings answer says, whatever its encoding.
#[derive(Debug, Clone, Default)]
pub(crate) struct EmbeddingsSummary {
    model: Option<Arc<str>>,
    usage: Option<EmbeddingUsage>,
    /// How many vectors.
    count: usize,
    /// The length of the first vector.
    dimension: Option<usize>,
}

impl EmbeddingsSummary {
    fn of_floats(response: &CreateEmbeddingResponse) -> Self {
        EmbeddingsSummary {
            model: Some(identifier(&response.model)),
            usage: Some(response.usage.clone()),
            count: response.data.len(),
            dimension: response.data.first().map(|e| e.embedding.len()),
        }
    }

    fn of_base64(response: &CreateBase64EmbeddingResponse) -> Self {
        EmbeddingsSummary {
            model: Some(identifier(&response.model)),
            usage: Some(response.usage.clone()),
            count: response.data.len(),
            dimension: response
                .data
                .first()
                .map(|e| base64_dimension(&e.embedding.0)),
        }
    }
}

/// What an embeddings call records.
#[derive(Debug, Default)]
pub(crate) struct EmbeddingsOp {
    /// The dimensions the request asked for.
    requested: Option<u32>,
    answer: Option<EmbeddingsSummary>,
}

impl Operation for EmbeddingsOp {
    type Response = EmbeddingsSummary;
    type Chunk = std::convert::Infallible;
    const NAME: &'static str = attr::GEN_AI_OPERATION_EMBEDDINGS;

    fn absorb(&mut self, response: &EmbeddingsSummary, _: &Settings) {
        self.answer = Some(response.clone());
    }

    fn observe(&mut self, chunk: &std::convert::Infallible, _: &Settings) -> bool {
        match *chunk {}
    }

    fn attributes(&self, settings: &Settings, budget: usize) -> Vec<KeyValue> {
        let mut attrs = Attrs::with_budget(6, budget);
        if let Some(answer) = &self.answer {
            if settings.semconv.legacy() {
                legacy::response(&mut attrs, answer);
            }
            if settings.semconv.genai() {
                genai::response(&mut attrs, answer, self.requested);
            }
        }
        attrs.into_vec()
    }

    fn response_model(&self) -> Option<Arc<str>> {
        self.answer.as_ref().and_then(|a| a.model.clone())
    }

    fn usage(&self) -> Option<TokenUsage> {
        let usage = self.answer.as_ref()?.usage.as_ref()?;
        Some(TokenUsage {
            input: u64::from(usage.prompt_tokens),
            output: None,
        })
    }

    fn record_fn_response(&self, recorder: &Recorder<'_>) {
        if let Some(answer) = &self.answer {
            recorder.response(&embeddings_summary(answer.count, answer.dimension));
        }
    }
}

/// Starts the call of `request`.
fn start(settings: &Arc<Settings>, request: &CreateEmbeddingRequest) -> Call<EmbeddingsOp> {
    let model: Arc<str> = Arc::from(request.model.as_str());
    let mut attrs = Attrs::new(10);
    if settings.semconv.legacy() {
        legacy::request(&mut attrs, &model);
    }
    if settings.semconv.genai() {
        genai::request(&mut attrs, settings, request, &model);
    }
    let op = EmbeddingsOp {
        requested: request.dimensions,
        answer: None,
    };
    Call::start(
        settings,
        genai::span_name(settings, &model),
        attrs,
        &model,
        op,
    )
}

/// `embeddings().create(request)` inside an embeddings span.
pub(crate) async fn create(
    settings: &Arc<Settings>,
    client: &Client<OpenAIConfig>,
    request: CreateEmbeddingRequest,
) -> Result<CreateEmbeddingResponse, OpenAIError> {
    let call = start(settings, &request);
    let cx = call.context().clone();
    let result = client.embeddings().create(request).with_context(cx).await;
    match &result {
        Ok(response) => call.succeed(&EmbeddingsSummary::of_floats(response)),
        Err(error) => call.fail(error),
    }
    result
}

/// `embeddings().create_base64(request)` inside an embeddings span.
pub(crate) async fn create_base64(
    settings: &Arc<Settings>,
    client: &Client<OpenAIConfig>,
    request: CreateEmbeddingRequest,
) -> Result<CreateBase64EmbeddingResponse, OpenAIError> {
    let call = start(settings, &request);
    let cx = call.context().clone();
    let result = client
        .embeddings()
        .create_base64(request)
        .with_context(cx)
        .await;
    match &result {
        Ok(response) => call.succeed(&EmbeddingsSummary::of_base64(response)),
        Err(error) => call.fail(error),
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_vectors_have_their_dimension() {
        // Two little-endian f32s: 8 bytes, 12 base64 characters with one `=`.
        assert_eq!(base64_dimension("AAAAAAAAgD8="), 2);
        assert_eq!(base64_dimension("AAAAAA=="), 1);
        assert_eq!(base64_dimension(""), 0);
        assert_eq!(embeddings_summary(1, Some(3)), "1 embedding × 3 dimensions");
        assert_eq!(embeddings_summary(2, None), "2 embeddings");
    }
}
