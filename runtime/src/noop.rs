//! The pass-through implementation, compiled without the `otel` feature: the same signatures as
//! [`crate::otel`]'s, recording nothing and sending requests exactly as async-openai does.

use async_openai::Client;
use async_openai::config::OpenAIConfig;
use async_openai::error::OpenAIError;
use async_openai::types::chat::{
    ChatCompletionResponseStream, CreateChatCompletionRequest, CreateChatCompletionResponse,
};

use crate::config::ClientOptions;

/// A client's recording settings: none.
#[derive(Debug)]
pub(crate) struct Settings;

impl Settings {
    pub(crate) fn new(_: &ClientOptions, _: &str) -> Self {
        Settings
    }
}

/// The async-openai client as it is, unless a transport or a retry count was given (then they
/// are used, as with instrumentation on, without spans).
pub(crate) fn client(
    inner: Client<OpenAIConfig>,
    transport: crate::transport::Transport,
    _: &Settings,
    max_retries: Option<usize>,
) -> Client<OpenAIConfig> {
    if matches!(transport, crate::transport::Transport::Reqwest(_)) && max_retries.is_none() {
        return inner;
    }
    let retry = async_openai::middleware::retry::OpenAIRetryLayer::new(max_retries.unwrap_or(3));
    let service = crate::transport::TransportService(transport);
    inner.with_http_service(tower::ServiceBuilder::new().layer(retry).service(service))
}

/// The span of a `#[traced_chat]` function: none.
#[derive(Debug)]
#[must_use = "the span ends when this value is dropped"]
pub struct FnSpan;

impl FnSpan {
    /// Starts nothing.
    #[inline]
    pub fn start(_name: &'static str) -> FnSpan {
        FnSpan
    }

    /// Starts nothing, later.
    #[inline]
    pub fn deferred(_name: &'static str) -> DeferredSpan {
        DeferredSpan
    }

    /// Accepts the value and records nothing (so code expanded with the attribute on still
    /// compiles against a runtime with instrumentation off).
    #[inline]
    pub fn set_attribute<V>(&self, _key: &'static str, _value: V) {}

    #[inline]
    pub(crate) fn target(&self) -> SpanRef<'_> {
        SpanRef(core::marker::PhantomData)
    }

    #[inline]
    pub(crate) fn enter(&self) -> Entered {
        Entered
    }

    #[inline]
    pub(crate) fn end(self) {}

    #[inline]
    pub(crate) fn end_panicked(&self) {}
}

/// The span of a function returning a future, before its first poll: none.
#[derive(Debug)]
#[must_use = "the span starts when the future it is given to is first polled"]
pub struct DeferredSpan;

impl DeferredSpan {
    /// Accepts the value and records nothing.
    #[inline]
    pub fn set_attribute<V>(&self, _key: &'static str, _value: V) {}

    #[inline]
    pub(crate) fn target(&self) -> SpanRef<'_> {
        SpanRef(core::marker::PhantomData)
    }

    #[inline]
    pub(crate) fn start(self) -> FnSpan {
        FnSpan
    }
}

/// What [`FnSpan::enter`] returns: nothing to leave.
#[derive(Debug)]
pub(crate) struct Entered;

/// Where a recorder writes: nowhere.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SpanRef<'a>(core::marker::PhantomData<&'a ()>);

impl SpanRef<'_> {
    #[inline]
    pub(crate) fn is_recording(&self) -> bool {
        false
    }

    #[inline]
    pub(crate) fn set_text(&self, _: &'static str, _: Option<String>, _: (&'static str, usize)) {}

    #[inline]
    pub(crate) fn set_int(&self, _: &'static str, _: usize) {}

    #[inline]
    pub(crate) fn fail(&self, _: &str, _: &str) {}
}

/// The call behind a stream: none.
#[derive(Debug)]
pub(crate) struct ChatStreamCall;

impl ChatStreamCall {
    #[inline]
    pub(crate) fn on_poll<T>(&mut self, _: &T) {}

    #[inline]
    pub(crate) fn adopt(&mut self, _: FnSpan) -> Option<FnSpan> {
        None
    }
}

/// The Chat Completions API, untraced.
pub(crate) mod chat {
    use super::*;

    pub(crate) async fn create(
        _: &std::sync::Arc<Settings>,
        client: &Client<OpenAIConfig>,
        request: CreateChatCompletionRequest,
    ) -> Result<CreateChatCompletionResponse, OpenAIError> {
        client.chat().create(request).await
    }

    pub(crate) async fn create_stream(
        _: &std::sync::Arc<Settings>,
        client: &Client<OpenAIConfig>,
        request: CreateChatCompletionRequest,
    ) -> Result<(ChatCompletionResponseStream, ChatStreamCall), OpenAIError> {
        let stream = client.chat().create_stream(request).await?;
        Ok((stream, ChatStreamCall))
    }
}

/// The Embeddings API, untraced.
pub(crate) mod embeddings {
    use async_openai::types::embeddings::{
        CreateBase64EmbeddingResponse, CreateEmbeddingRequest, CreateEmbeddingResponse,
    };

    use super::*;

    pub(crate) async fn create(
        _: &std::sync::Arc<Settings>,
        client: &Client<OpenAIConfig>,
        request: CreateEmbeddingRequest,
    ) -> Result<CreateEmbeddingResponse, OpenAIError> {
        client.embeddings().create(request).await
    }

    pub(crate) async fn create_base64(
        _: &std::sync::Arc<Settings>,
        client: &Client<OpenAIConfig>,
        request: CreateEmbeddingRequest,
    ) -> Result<CreateBase64EmbeddingResponse, OpenAIError> {
        client.embeddings().create_base64(request).await
    }
}

/// What `init` installs: nothing.
pub(crate) mod setup {
    use crate::init::{InitError, ShutdownError};

    /// No providers.
    #[derive(Debug, Default)]
    pub(crate) struct Providers {}

    impl Providers {
        pub(crate) fn shutdown(self, _: std::time::Duration) -> Result<(), ShutdownError> {
            Ok(())
        }
    }

    /// Nothing to install; never fails.
    pub(crate) fn from_env() -> Result<Providers, InitError> {
        Ok(Providers {})
    }

    pub(crate) fn console(_: crate::init::Exporter) -> Providers {
        Providers {}
    }

    pub(crate) fn tree(_: crate::init::Exporter) -> Providers {
        Providers {}
    }
}
