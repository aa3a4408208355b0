//! [`TracedClient`]: an async-openai client whose chat completions are traced.

use async_openai::Client;
use async_openai::config::OpenAIConfig;
use async_openai::error::OpenAIError;
use async_openai::types::chat::{CreateChatCompletionRequest, CreateChatCompletionResponse};

#[cfg(feature = "otel")]
use opentelemetry::{
    Context, KeyValue, Value,
    trace::{FutureExt as _, SpanBuilder, SpanKind, Status, TraceContextExt, Tracer as _},
};

#[cfg(feature = "otel")]
use crate::{attributes as attr, span::OwnedSpan};

/// An [`async_openai::Client`] whose requests are traced.
///
/// Each `chat().create(..)` gets a CLIENT span `openai.ChatCompletion.create`, child of the
/// current OpenTelemetry context, with the model, the request parameters, the response id and the
/// token usage; each HTTP attempt under it gets an `HTTP POST` CLIENT span, whose W3C
/// `traceparent` is sent with the request. async-openai's retries (429, 5xx, connection errors)
/// behave as in a plain client. The API key and the `Authorization` header are never recorded.
///
/// With the `otel` feature off this is a plain async-openai client.
///
/// ```no_run
/// use async_openai::types::chat::CreateChatCompletionRequestArgs;
/// use traced_chat::TracedClient;
///
/// # async fn demo() -> Result<(), async_openai::error::OpenAIError> {
/// let client = TracedClient::new(); // reads OPENAI_API_KEY and OPENAI_BASE_URL
/// let request = CreateChatCompletionRequestArgs::default()
///     .model("gpt-4o-mini")
///     .messages([async_openai::types::chat::ChatCompletionRequestUserMessage::from("Hi").into()])
///     .build()?;
/// let response = client.chat().create(request).await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct TracedClient {
    inner: Client<OpenAIConfig>,
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
        Self::with_config(OpenAIConfig::new())
    }

    /// A client with the given configuration.
    pub fn with_config(config: OpenAIConfig) -> Self {
        Self::with_http_client(reqwest_client(), config)
    }

    /// A client sending its requests with `http_client` (timeouts, proxies, TLS settings).
    pub fn with_http_client(http_client: reqwest::Client, config: OpenAIConfig) -> Self {
        let inner = Client::build(http_client.clone(), config);
        #[cfg(feature = "otel")]
        let inner = inner.with_http_service(
            tower::ServiceBuilder::new()
                .layer(async_openai::middleware::retry::OpenAIRetryLayer::default())
                .service(crate::http::TracedHttpService::new(http_client)),
        );
        TracedClient { inner }
    }

    /// The wrapped async-openai client: calls made through it directly are not traced by this
    /// crate (their HTTP attempts still are).
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

fn reqwest_client() -> reqwest::Client {
    reqwest::Client::new()
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
            let span = OwnedSpan::start(start_chat_span(&request));
            let result = self
                .client
                .inner
                .chat()
                .create(request)
                .with_context(span.context().clone())
                .await;
            record_chat_outcome(span.context(), &result);
            span.end();
            result
        }
        #[cfg(not(feature = "otel"))]
        {
            self.client.inner.chat().create(request).await
        }
    }
}

/// Starts the chat span with the request's attributes, child of the current context.
#[cfg(feature = "otel")]
fn start_chat_span(request: &CreateChatCompletionRequest) -> Context {
    let mut attributes = Vec::with_capacity(3);
    attributes.push(KeyValue::new(
        attr::OPENAI_CREATE_MODEL,
        request.model.clone(),
    ));
    #[allow(deprecated)]
    let max_tokens = request.max_completion_tokens.or(request.max_tokens);
    if let Some(max_tokens) = max_tokens {
        attributes.push(KeyValue::new(
            attr::OPENAI_CREATE_MAX_TOKENS,
            i64::from(max_tokens),
        ));
    }
    if let Some(temperature) = request.temperature {
        attributes.push(KeyValue::new(
            attr::OPENAI_CREATE_TEMPERATURE,
            f32_value(temperature),
        ));
    }
    let builder = SpanBuilder::from_name(attr::SPAN_CHAT_COMPLETION_CREATE)
        .with_kind(SpanKind::Client)
        .with_attributes(attributes);
    let parent = Context::current();
    let span = crate::telemetry::tracer().build_with_context(builder, &parent);
    parent.with_span(span)
}

/// An `f32` request parameter as the decimal the user wrote (`0.7`, not `0.699999988…`).
#[cfg(feature = "otel")]
fn f32_value(value: f32) -> Value {
    let shortest = value.to_string();
    Value::F64(shortest.parse().unwrap_or(f64::from(value)))
}

#[cfg(feature = "otel")]
fn record_chat_outcome(cx: &Context, result: &Result<CreateChatCompletionResponse, OpenAIError>) {
    let span = cx.span();
    if !span.is_recording() {
        return;
    }
    match result {
        Ok(response) => {
            let mut attributes = Vec::with_capacity(5);
            attributes.push(KeyValue::new(attr::OPENAI_RESPONSE_ID, response.id.clone()));
            attributes.push(KeyValue::new(
                attr::OPENAI_RESPONSE_CREATED,
                i64::from(response.created),
            ));
            if let Some(usage) = &response.usage {
                attributes.push(KeyValue::new(
                    attr::OPENAI_USAGE_PROMPT_TOKENS,
                    i64::from(usage.prompt_tokens),
                ));
                attributes.push(KeyValue::new(
                    attr::OPENAI_USAGE_COMPLETION_TOKENS,
                    i64::from(usage.completion_tokens),
                ));
                attributes.push(KeyValue::new(
                    attr::OPENAI_USAGE_TOTAL_TOKENS,
                    i64::from(usage.total_tokens),
                ));
            }
            span.set_attributes(attributes);
        }
        Err(error) => {
            span.set_attribute(KeyValue::new(
                attr::ERROR_TYPE,
                crate::error::error_type(error),
            ));
            span.set_status(Status::error(crate::error::error_message(error)));
        }
    }
}
