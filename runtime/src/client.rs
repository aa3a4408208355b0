//! [`TracedClient`]: an async-openai client whose chat completions are traced.

use std::borrow::Cow;
#[cfg(feature = "otel")]
use std::sync::Arc;

use async_openai::Client;
use async_openai::config::Config as _;
use async_openai::config::OpenAIConfig;
use async_openai::error::OpenAIError;
use async_openai::types::chat::{CreateChatCompletionRequest, CreateChatCompletionResponse};

#[cfg(feature = "otel")]
use opentelemetry::{KeyValue, trace::FutureExt as _};

use crate::stream::TracedChatStream;
use crate::transport::Transport;
#[cfg(feature = "otel")]
use crate::{attributes as attr, chat, metrics::Metrics, span::OwnedSpan};

/// Which attribute vocabulary the chat span uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Semconv {
    /// The seed's `openai.*` attributes and the GenAI conventions' `gen_ai.*` ones on one span
    /// named `openai.ChatCompletion.create` (the default).
    #[default]
    Both,
    /// The GenAI semantic conventions only, span named `chat {gen_ai.request.model}`
    /// (what `OTEL_SEMCONV_STABILITY_OPT_IN=gen_ai_latest_experimental` selects).
    GenAi,
    /// The seed's attributes only.
    Seed,
}

impl Semconv {
    /// The default: [`Semconv::GenAi`] when `OTEL_SEMCONV_STABILITY_OPT_IN` lists
    /// `gen_ai_latest_experimental`, else [`Semconv::Both`].
    pub fn from_env() -> Self {
        let opt_in =
            std::env::var(crate::attributes::ENV_SEMCONV_STABILITY_OPT_IN).unwrap_or_default();
        if opt_in
            .split(',')
            .any(|v| v.trim() == "gen_ai_latest_experimental")
        {
            Semconv::GenAi
        } else {
            Semconv::Both
        }
    }

    /// Whether the seed's `openai.*` attributes are recorded.
    pub fn seed(self) -> bool {
        matches!(self, Semconv::Both | Semconv::Seed)
    }

    /// Whether the GenAI conventions' attributes are recorded.
    pub fn genai(self) -> bool {
        matches!(self, Semconv::Both | Semconv::GenAi)
    }
}

/// How a client records, fixed when it is built.
#[cfg(feature = "otel")]
#[derive(Debug)]
pub(crate) struct Settings {
    pub(crate) semconv: Semconv,
    pub(crate) capture_content: bool,
    pub(crate) provider_name: Cow<'static, str>,
    pub(crate) server_address: Option<Arc<str>>,
    pub(crate) server_port: Option<i64>,
    pub(crate) include_usage: bool,
    /// The instruments, unless metrics are off.
    pub(crate) metrics: Option<Metrics>,
    /// The metric attributes every request shares (all but the model).
    metric_base: Vec<KeyValue>,
}

#[cfg(feature = "otel")]
impl Settings {
    /// The attributes every metric of a request carries.
    /// Whether message content is recorded now: the client's choice, unless content capture was
    /// turned off for the process since.
    pub(crate) fn capture_content(&self) -> bool {
        self.capture_content && crate::content::enabled()
    }

    /// The attributes of a request's metrics (empty, without allocating, when metrics are off).
    pub(crate) fn metric_attributes(&self, request_model: &Arc<str>) -> Vec<KeyValue> {
        if self.metrics.is_none() {
            return Vec::new();
        }
        let mut attributes = Vec::with_capacity(self.metric_base.len() + 3);
        attributes.extend_from_slice(&self.metric_base);
        attributes.push(KeyValue::new(
            attr::GEN_AI_REQUEST_MODEL,
            request_model.clone(),
        ));
        attributes
    }

    /// Marks the chat span failed and records the failed operation's duration.
    pub(crate) fn record_failure(
        &self,
        cx: &opentelemetry::Context,
        metric_attributes: Vec<KeyValue>,
        started: std::time::Instant,
        error: &OpenAIError,
    ) {
        chat::record_error(cx, error);
        self.record_operation(
            metric_attributes,
            None,
            Some(&crate::error::error_type(error)),
            started.elapsed(),
            None,
        );
    }

    /// Records the end of an operation, if metrics are on.
    pub(crate) fn record_operation(
        &self,
        attributes: Vec<KeyValue>,
        response_model: Option<Arc<str>>,
        error_type: Option<&str>,
        duration: std::time::Duration,
        usage: Option<&async_openai::types::chat::CompletionUsage>,
    ) {
        if let Some(metrics) = &self.metrics {
            metrics.record_operation(attributes, response_model, error_type, duration, usage);
        }
    }

    fn new(
        semconv: Semconv,
        capture_content: bool,
        provider_name: Cow<'static, str>,
        api_base: &str,
        include_usage: bool,
        metrics: bool,
    ) -> Self {
        let url = reqwest::Url::parse(api_base).ok();
        let server_address: Option<Arc<str>> =
            url.as_ref().and_then(|u| u.host_str().map(Arc::from));
        let server_port = url
            .as_ref()
            .and_then(|u| u.port_or_known_default())
            .map(i64::from);
        let mut metric_base = vec![
            KeyValue::new(attr::GEN_AI_OPERATION_NAME, attr::GEN_AI_OPERATION_CHAT),
            KeyValue::new(attr::GEN_AI_PROVIDER_NAME, provider_name.clone()),
        ];
        if let Some(address) = &server_address {
            metric_base.push(KeyValue::new(attr::SERVER_ADDRESS, address.clone()));
        }
        if let Some(port) = server_port {
            metric_base.push(KeyValue::new(attr::SERVER_PORT, port));
        }
        Settings {
            semconv,
            capture_content,
            provider_name,
            server_address,
            server_port,
            include_usage,
            metrics: metrics.then(Metrics::new),
            metric_base,
        }
    }
}

/// Records the duration of a chat call (or of a stream's request) whose future is dropped before
/// it finishes, with `error.type` = `cancelled` (its span is marked cancelled by `OwnedSpan`).
#[cfg(feature = "otel")]
struct CancelledMetric<'a> {
    settings: &'a Settings,
    model: &'a Arc<str>,
    started: std::time::Instant,
}

#[cfg(feature = "otel")]
impl Drop for CancelledMetric<'_> {
    fn drop(&mut self) {
        self.settings.record_operation(
            self.settings.metric_attributes(self.model),
            None,
            Some("cancelled"),
            self.started.elapsed(),
            None,
        );
    }
}

/// Builds a [`TracedClient`] with non-default recording.
///
/// ```
/// use traced_chat::{Semconv, TracedClient};
/// use async_openai::config::OpenAIConfig;
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
    semconv: Option<Semconv>,
    capture_content: Option<bool>,
    provider_name: Option<Cow<'static, str>>,
    include_usage: bool,
    max_retries: Option<usize>,
    transport: Option<crate::transport::BoxTransport>,
    metrics: Option<bool>,
    propagate: Option<bool>,
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
        self.semconv = Some(semconv);
        self
    }

    /// Records message content (`gen_ai.input.messages`, `gen_ai.output.messages`,
    /// `gen_ai.system_instructions`). Default: off, unless
    /// `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT` opts in. A global
    /// [`content::set_enabled(false)`](crate::content::set_enabled) still wins.
    pub fn capture_content(mut self, capture: bool) -> Self {
        self.capture_content = Some(capture);
        self
    }

    /// The `gen_ai.provider.name` (default `openai`): set it for Azure OpenAI, vLLM, Ollama, ….
    pub fn provider_name(mut self, name: impl Into<Cow<'static, str>>) -> Self {
        self.provider_name = Some(name.into());
        self
    }

    /// Sets `stream_options.include_usage` on streamed requests so that token usage is reported
    /// (a final chunk with empty `choices`). Off by default: the request is never changed
    /// unless you ask.
    pub fn include_usage(mut self, include: bool) -> Self {
        self.include_usage = include;
        self
    }

    /// Records the GenAI metrics (`gen_ai.client.token.usage`, `gen_ai.client.operation.duration`,
    /// and the streaming ones). Default: on.
    pub fn metrics(mut self, enabled: bool) -> Self {
        self.metrics = Some(enabled);
        self
    }

    /// Sends each HTTP attempt's W3C `traceparent` (and `tracestate`) header, so a server that
    /// traces can join the trace. Default: on; turn it off for third-party endpoints that
    /// should not learn your trace ids. The caller's own headers are never changed.
    pub fn propagate_trace_context(mut self, enabled: bool) -> Self {
        self.propagate = Some(enabled);
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
        self.max_retries = Some(retries);
        self
    }

    /// Builds the client.
    pub fn build(self) -> TracedClient {
        let config = self.config.unwrap_or_default();
        // The key may come back in an error text, on this client's spans or on others'.
        crate::redact::register_key(secrecy::ExposeSecret::expose_secret(config.api_key()));
        let http_client = self.http_client.unwrap_or_default();
        #[cfg(feature = "otel")]
        let settings = Arc::new(Settings::new(
            self.semconv.unwrap_or_else(Semconv::from_env),
            crate::content::enabled()
                && self
                    .capture_content
                    .unwrap_or_else(crate::content::client_capture_default),
            self.provider_name
                .unwrap_or(Cow::Borrowed(attr::GEN_AI_PROVIDER_OPENAI)),
            config.api_base(),
            self.include_usage,
            self.metrics.unwrap_or(true),
        ));
        let inner = Client::build(http_client.clone(), config);
        let custom_transport = self.transport.is_some();
        let transport = match self.transport {
            Some(service) => Transport::Service(service),
            None => Transport::Reqwest(http_client),
        };
        let retry =
            async_openai::middleware::retry::OpenAIRetryLayer::new(self.max_retries.unwrap_or(3));
        #[cfg(feature = "otel")]
        let inner = {
            let _ = custom_transport;
            inner.with_http_service(tower::ServiceBuilder::new().layer(retry).service(
                crate::http::TracedHttpService::new(transport, self.propagate.unwrap_or(true)),
            ))
        };
        #[cfg(not(feature = "otel"))]
        let inner = if custom_transport || self.max_retries.is_some() {
            inner.with_http_service(
                tower::ServiceBuilder::new()
                    .layer(retry)
                    .service(crate::transport::TransportService(transport)),
            )
        } else {
            inner
        };
        #[cfg(not(feature = "otel"))]
        let _ = (
            self.semconv,
            self.capture_content,
            self.provider_name,
            self.include_usage,
            self.max_retries,
        );
        TracedClient {
            inner,
            #[cfg(feature = "otel")]
            settings,
        }
    }
}

/// An [`async_openai::Client`] whose requests are traced.
///
/// Each `chat().create(..)` gets a CLIENT span `openai.ChatCompletion.create`, child of the
/// current OpenTelemetry context, with the model, the request parameters, the response id and the
/// token usage (in the seed's `openai.*` names and the GenAI conventions' `gen_ai.*` names, see
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
    #[cfg(feature = "otel")]
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
        #[cfg(feature = "otel")]
        {
            let settings = &self.client.settings;
            let model: Arc<str> = Arc::from(request.model.as_str());
            let span = OwnedSpan::start(chat::start_span(settings, &request, &model, false));
            let started = std::time::Instant::now();
            let pending = CancelledMetric {
                settings,
                model: &model,
                started,
            };
            let result = self
                .client
                .inner
                .chat()
                .create(request)
                .with_context(span.context().clone())
                .await;
            std::mem::forget(pending); // finished: recorded below, not as cancelled
            match &result {
                Ok(response) => {
                    let facts =
                        chat::ResponseFacts::from_response(response, settings.capture_content());
                    chat::record_response(span.context(), settings, &facts);
                    settings.record_operation(
                        settings.metric_attributes(&model),
                        facts.model.clone(),
                        None,
                        started.elapsed(),
                        response.usage.as_ref(),
                    );
                }
                Err(error) => settings.record_failure(
                    span.context(),
                    settings.metric_attributes(&model),
                    started,
                    error,
                ),
            }
            span.end();
            result
        }
        #[cfg(not(feature = "otel"))]
        {
            self.client.inner.chat().create(request).await
        }
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
        #[allow(unused_mut)] mut request: CreateChatCompletionRequest,
    ) -> Result<TracedChatStream, OpenAIError> {
        #[cfg(feature = "otel")]
        {
            let settings = &self.client.settings;
            if settings.include_usage {
                let options = request.stream_options.get_or_insert_with(Default::default);
                options.include_usage = Some(true);
            }
            let model: Arc<str> = Arc::from(request.model.as_str());
            let span = OwnedSpan::start(chat::start_span(settings, &request, &model, true));
            let started = std::time::Instant::now();
            let pending = CancelledMetric {
                settings,
                model: &model,
                started,
            };
            let metric_attributes = settings.metric_attributes(&model);
            let result = self
                .client
                .inner
                .chat()
                .create_stream(request)
                .with_context(span.context().clone())
                .await;
            // Headers arrived: from here the stream (or the error below) records the duration.
            std::mem::forget(pending);
            match result {
                Ok(stream) => Ok(TracedChatStream::new(
                    stream,
                    span,
                    Arc::clone(settings),
                    started,
                    metric_attributes,
                )),
                Err(error) => {
                    settings.record_failure(span.context(), metric_attributes, started, &error);
                    span.end();
                    Err(error)
                }
            }
        }
        #[cfg(not(feature = "otel"))]
        {
            let stream = self.client.inner.chat().create_stream(request).await?;
            Ok(TracedChatStream::new(stream))
        }
    }
}
