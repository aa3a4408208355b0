//! Chat completions: what a chat call records ([`ChatOp`]), and the two calls of the Chat
//! Completions API run through a [`Call`].

mod facts;
mod genai;
mod legacy;
mod mapping;

use std::sync::Arc;

use async_openai::Client;
use async_openai::config::OpenAIConfig;
use async_openai::error::OpenAIError;
use async_openai::types::chat::{
    ChatCompletionResponseStream, CreateChatCompletionRequest, CreateChatCompletionResponse,
    CreateChatCompletionStreamResponse,
};
use opentelemetry::KeyValue;
use opentelemetry::trace::FutureExt as _;

use self::facts::ResponseFacts;
use super::call::{Call, Operation};
use super::metrics::TokenUsage;
use super::settings::Settings;
use crate::attributes as attr;
use crate::record::Recorder;

/// What a chat completion records: the facts of its answer.
#[derive(Debug, Default)]
pub(crate) struct ChatOp {
    facts: ResponseFacts,
}

impl Operation for ChatOp {
    type Response = CreateChatCompletionResponse;
    type Chunk = CreateChatCompletionStreamResponse;
    const NAME: &'static str = attr::GEN_AI_OPERATION_CHAT;

    fn absorb(&mut self, response: &CreateChatCompletionResponse, settings: &Settings) {
        self.facts.absorb(response, settings.capture_content());
    }

    fn observe(&mut self, chunk: &CreateChatCompletionStreamResponse, settings: &Settings) -> bool {
        self.facts.observe(chunk, settings.capture_content());
        true
    }

    fn attributes(&self, settings: &Settings, budget: usize) -> Vec<KeyValue> {
        mapping::response(settings, &self.facts, budget).into_vec()
    }

    fn response_model(&self) -> Option<Arc<str>> {
        self.facts.model.clone()
    }

    fn usage(&self) -> Option<TokenUsage> {
        self.facts.usage.as_ref().map(|u| TokenUsage {
            input: u64::from(u.prompt_tokens),
            output: Some(u64::from(u.completion_tokens)),
        })
    }

    fn record_fn_response(&self, recorder: &Recorder<'_>) {
        mapping::record_fn_response(&self.facts, recorder);
    }
}

/// Starts the call of `request`.
fn start(
    settings: &Arc<Settings>,
    request: &CreateChatCompletionRequest,
    stream: bool,
) -> Call<ChatOp> {
    let model: Arc<str> = Arc::from(request.model.as_str());
    let name = mapping::span_name(settings, &model);
    let attributes = mapping::request(settings, request, &model, stream);
    Call::start(settings, name, attributes, &model, ChatOp::default())
}

/// `chat().create(request)` inside a chat span.
pub(crate) async fn create(
    settings: &Arc<Settings>,
    client: &Client<OpenAIConfig>,
    request: CreateChatCompletionRequest,
) -> Result<CreateChatCompletionResponse, OpenAIError> {
    let call = start(settings, &request, false);
    let cx = call.context().clone();
    let result = client.chat().create(request).with_context(cx).await;
    call.settle(&result);
    result
}

/// `chat().create_stream(request)` inside a chat span, which the returned stream's call keeps
/// open until the stream ends.
pub(crate) async fn create_stream(
    settings: &Arc<Settings>,
    client: &Client<OpenAIConfig>,
    mut request: CreateChatCompletionRequest,
) -> Result<(ChatCompletionResponseStream, super::ChatStreamCall), OpenAIError> {
    if settings.include_usage {
        let options = request.stream_options.get_or_insert_with(Default::default);
        options.include_usage = Some(true);
    }
    let call = start(settings, &request, true);
    let cx = call.context().clone();
    match client.chat().create_stream(request).with_context(cx).await {
        Ok(stream) => Ok((stream, super::stream::StreamCall::new(call))),
        Err(error) => {
            call.fail(&error);
            Err(error)
        }
    }
}
