//! [`TracedClient`]: an async-openai client whose chat completions are traced.

use std::borrow::Cow;
use std::sync::Arc;

use async_openai::Client;
use async_openai::config::{Config as _, OpenAIConfig};
use async_openai::error::OpenAIError;
use async_openai::types::chat::{CreateChatCompletionRequest, CreateChatCompletionResponse};
use async_openai::types::embeddings::{
    CreateBase64EmbeddingResponse, CreateEmbeddingRequest, CreateEmbeddingResponse,
};

use crate::backend::{self, Settings};
use crate::config::{ClientOptions, Semconv};
use crate::stream::TracedChatStream;
use crate::transport::Transport;

/// Builds a [`TracedClient`] with non-default recording.
///
/// ```
/// use traced_chat::{Semconv, TracedClient};
/// use async_openai::config::{Config as _, OpenAIConfig};
///
/// let client = TracedClient::builder()
///     .config(OpenAIConfig::new().with_api_base("http://localhost:11434/v1"))
///     .provider_name("ollama")
///     .semconv(Semconv::GenAi)
///     .capture_content(true)
///     .include_usage(true)
///     .build();
/// ```
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct TracedClientBuilder {
    config: Option<OpenAIConfig>,
    http_client: Option<reqwest::Client>,
    transport: Option<crate::transport::BoxTransport>,
    options: ClientOptions,
}

impl TracedClientBuilder {
    /// The client configuration (default: [`OpenAIConfig::new`], from the environment).
    pub fn config(mut self, config: OpenAIConfig) -> Self {
        self.config = Some(config);
        self
    }

    /// The HTTP client to send requests with (timeouts, proxies, TLS settings).
    pub fn http_client(mut self, http_client: reqwest::Client) -> Self {
        self.http_client = Some(http_client);
        self
    }

    /// The attribute vocabulary (default: [`Semconv::from_env`]).
    pub fn semconv(mut self, semconv: Semconv) -> Self {
        self.options.semconv = Some(semconv);
        self
    }

    /// Records message content (`gen_ai.input.messages`, `gen_ai.output.messages`,
    /// `gen_ai.system_instructions`). Default: off, unless
    /// `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT` opts in. A global
    /// [`content::set_enabled(false)`](crate::content::set_enabled) still wins.
    pub fn capture_content(mut self, capture: bool) -> Self {
        self.options.capture_content = Some(capture);
        self
    }

    /// The `gen_ai.provider.name` (default `openai`): set it for Azure OpenAI, vLLM, Ollama, ….
    pub fn provider_name(mut self, name: impl Into<Cow<'static, str>>) -> Self {
        self.options.provider_name = Some(name.into());
        self
    }

    /// Sets `stream_options.include_usage` on streamed requests so that token usage is reported
    /// (a final chunk with empty `choices`). Off by default: the request is never changed
    /// unless you ask.
    pub fn include_usage(mut self, include: bool) -> Self {
        self.options.include_usage = include;
        self
    }

    /// Records the GenAI metrics (`gen_ai.client.token.usage`, `gen_ai.client.operation.duration`,
    /// and the streaming ones). Default: on.
    pub fn metrics(mut self, enabled: bool) -> Self {
        self.options.metrics = Some(enabled);
        self
    }

    /// Sends each HTTP attempt's W3C `traceparent` (and `tracestate`) header, so a server that
    /// traces can join the trace. Default: on; turn it off for third-party endpoints that
    /// should not learn your trace ids. The caller's own headers are never changed.
    pub fn propagate_trace_context(mut self, enabled: bool) -> Self {
        self.options.propagate = Some(enabled);
        self
    }

    /// Sends every HTTP request through `transport` instead of a reqwest client: an in-process
    /// server for tests and benchmarks, or your own tower stack. Retries and `HTTP POST` spans
    /// behave as with the default transport.
    pub fn transport<S>(mut self, transport: S) -> Self
    where
        S: tower::Service<reqwest::Request, Response = reqwest::Response, Error = reqwest::Error>
            + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send + 'static,
    {
        self.transport = Some(tower::util::BoxCloneSyncService::new(transport));
        self
    }

    /// Retries after a 429, a 5xx or a connection error (default 3, as async-openai).
    pub fn max_retries(mut self, retries: usize) -> Self {
        self.options.max_retries = Some(retries);
        self
    }

    /// Sends spans to `provider` instead of the global tracer provider (the default, read at
    /// each call). The spans of the `HTTP POST` attempts beneath this client's spans come from
    /// it too.
    #[cfg(feature = "otel")]
    #[cfg_attr(docsrs, doc(cfg(feature = "otel")))]
    pub fn tracer_provider<P>(mut self, provider: &P) -> Self
    where
        P: opentelemetry::trace::TracerProvider,
        P::Tracer: Send + Sync + 'static,
        <P::Tracer as opentelemetry::trace::Tracer>::Span: Send + Sync + 'static,
    {
        self.options.tracer = Some(crate::otel::telemetry::boxed_tracer(provider));
        self
    }

    /// Records metrics with `provider` instead of the global meter provider (the default, as it
    /// is when the client is built).
    #[cfg(feature = "otel")]
    #[cfg_attr(docsrs, doc(cfg(feature = "otel")))]
    pub fn meter_provider<P>(mut self, provider: &P) -> Self
    where
        P: opentelemetry::metrics::MeterProvider + ?Sized,
    {
        self.options.meter = Some(crate::otel::telemetry::meter(provider));
        self
    }

    /// Builds the client.
    pub fn build(self) -> TracedClient {
        let config = self.config.unwrap_or_default();
        // The key may come back in an error text, on this client's spans or on others'.
        crate::redact::register_key(secrecy::ExposeSecret::expose_secret(config.api_key()));
        let http_client = self.http_client.unwrap_or_default();
        let settings = Arc::new(Settings::new(&self.options, config.api_base()));
        let transport = match self.transport {
            Some(service) => Transport::Service(service),
            None => Transport::Reqwest(http_client.clone()),
        };
        let inner = Client::build(http_client, config);
        let inner = backend::client(inner, transport, &settings, self.options.max_retries);
        TracedClient { inner, settings }
    }
}

/// An [`async_openai::Client`] whose requests are traced.
///
/// Each `chat().create(..)` gets a CLIENT span `openai.ChatCompletion.create`, child of the
/// current OpenTelemetry context, with the model, the request parameters, the response id and the
/// token usage (in the legacy OpenAI attribute names `openai.*` and the GenAI conventions'
/// `gen_ai.*` names, see
/// [`Semconv`]); each HTTP attempt under it gets an `HTTP POST` CLIENT span, whose W3C
/// `traceparent` is sent with the request. async-openai's retries (429, 5xx, connection errors)
/// behave as in a plain client. The API key and the `Authorization` header are never recorded.
/// Metrics (`gen_ai.client.token.usage`, `gen_ai.client.operation.duration`, …) go to the
/// global meter provider as it is when the client is built: install telemetry first.
///
/// With the `otel` feature off this is a plain async-openai client.
///
/// ```no_run
/// use async_openai::types::chat::{ChatCompletionRequestUserMessage, CreateChatCompletionRequestArgs};
/// use traced_chat::TracedClient;
///
/// # async fn demo() -> Result<(), async_openai::error::OpenAIError> {
/// let client = TracedClient::new(); // reads OPENAI_API_KEY and OPENAI_BASE_URL
/// let request = CreateChatCompletionRequestArgs::default()
///     .model("gpt-4o-mini")
///     .messages([ChatCompletionRequestUserMessage::from("Hi").into()])
///     .build()?;
/// let response = client.chat().create(request).await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct TracedClient {
    inner: Client<OpenAIConfig>,
    settings: Arc<Settings>,
}

impl Default for TracedClient {
    fn default() -> Self {
        Self::new()
    }
}

impl TracedClient {
    /// A client configured like [`async_openai::Client::new`]: API key from `OPENAI_API_KEY`,
    /// base URL from `OPENAI_BASE_URL` (default the OpenAI API).
    pub fn new() -> Self {
        Self::builder().build()
    }

    /// A client with the given configuration.
    pub fn with_config(config: OpenAIConfig) -> Self {
        Self::builder().config(config).build()
    }

    /// A builder for non-default recording.
    pub fn builder() -> TracedClientBuilder {
        TracedClientBuilder::default()
    }

    /// The wrapped async-openai client: calls made through it directly get no chat span (their
    /// HTTP attempts still get `HTTP POST` spans).
    pub fn inner(&self) -> &Client<OpenAIConfig> {
        &self.inner
    }

    /// Unwraps the async-openai client.
    pub fn into_inner(self) -> Client<OpenAIConfig> {
        self.inner
    }

    /// The configuration the client was made with.
    pub fn config(&self) -> &OpenAIConfig {
        self.inner.config()
    }

    /// The Chat Completions API, traced.
    pub fn chat(&self) -> TracedChat<'_> {
        TracedChat { client: self }
    }

    /// The Embeddings API, traced.
    pub fn embeddings(&self) -> TracedEmbeddings<'_> {
        TracedEmbeddings { client: self }
    }
}

/// The Embeddings API of a [`TracedClient`]; mirrors [`async_openai::Embeddings`].
///
/// Each call gets a CLIENT span `openai.Embedding.create` (`embeddings {model}` in the GenAI
/// vocabulary alone) with the request model, the encoding format, the dimension count, the
/// response model and the input tokens, an `HTTP POST` span per attempt, and the duration and
/// input-token metrics. The input texts are content (recorded only when the client captures
/// content); the vectors are never recorded.
#[derive(Debug, Clone, Copy)]
pub struct TracedEmbeddings<'c> {
    client: &'c TracedClient,
}

impl TracedEmbeddings<'_> {
    /// Creates embeddings, like [`async_openai::Embeddings::create`]. Returns exactly what
    /// async-openai returns.
    pub async fn create(
        &self,
        request: CreateEmbeddingRequest,
    ) -> Result<CreateEmbeddingResponse, OpenAIError> {
        backend::embeddings::create(&self.client.settings, &self.client.inner, request).await
    }

    /// Creates base64-encoded embeddings, like [`async_openai::Embeddings::create_base64`].
    pub async fn create_base64(
        &self,
        request: CreateEmbeddingRequest,
    ) -> Result<CreateBase64EmbeddingResponse, OpenAIError> {
        let client = &self.client;
        backend::embeddings::create_base64(&client.settings, &client.inner, request).await
    }
}

/// The Chat Completions API of a [`TracedClient`]; mirrors [`async_openai::Chat`].
#[derive(Debug, Clone, Copy)]
pub struct TracedChat<'c> {
    client: &'c TracedClient,
}

impl TracedChat<'_> {
    /// Creates a chat completion, like [`async_openai::Chat::create`], inside an
    /// `openai.ChatCompletion.create` span. Returns exactly what async-openai returns.
    pub async fn create(
        &self,
        request: CreateChatCompletionRequest,
    ) -> Result<CreateChatCompletionResponse, OpenAIError> {
        backend::chat::create(&self.client.settings, &self.client.inner, request).await
    }

    /// Creates a streamed chat completion, like [`async_openai::Chat::create_stream`]. The
    /// returned stream yields the same items; the chat span stays open until it ends, fails or
    /// is dropped (then marked cancelled).
    ///
    /// Token usage is reported by the server only when the request sets
    /// `stream_options.include_usage` (or the client was built with
    /// [`include_usage(true)`](TracedClientBuilder::include_usage)).
    pub async fn create_stream(
        &self,
        request: CreateChatCompletionRequest,
    ) -> Result<TracedChatStream, OpenAIError> {
        let client = &self.client;
        let (stream, call) =
            backend::chat::create_stream(&client.settings, &client.inner, request).await?;
        Ok(TracedChatStream::new(stream, call))
    }
}
