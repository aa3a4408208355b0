//! Shared by the benchmarks: the in-process "server", the loopback HTTP server, clients, the
//! request, the annotated functions and the hand-written floor.
#![allow(dead_code)]

use async_openai::Client;
use async_openai::config::OpenAIConfig;
use async_openai::middleware::HttpRequestFactory;
use async_openai::middleware::retry::OpenAIRetryLayer;
use async_openai::types::chat::{
    ChatCompletionRequestSystemMessage, ChatCompletionRequestUserMessage,
    CreateChatCompletionRequest, CreateChatCompletionRequestArgs,
};
use traced_chat::{TracedClient, traced_chat};

pub const PROMPT: &str = "What is the meaning of life in a short sentence?";

pub fn fixture_response(body: &'static str, content_type: &'static str) -> reqwest::Response {
    // Server-sent events arrive one event per body frame, as from a real server (one frame for
    // the whole body would make the SSE parser's buffer handling dominate).
    let frames: Vec<Result<http_body::Frame<bytes::Bytes>, std::convert::Infallible>> =
        if content_type == "text/event-stream" {
            body.split_inclusive("\n\n")
                .map(|event| {
                    Ok(http_body::Frame::data(bytes::Bytes::from_static(
                        event.as_bytes(),
                    )))
                })
                .collect()
        } else {
            vec![Ok(http_body::Frame::data(bytes::Bytes::from_static(
                body.as_bytes(),
            )))]
        };
    let body = reqwest::Body::wrap(http_body_util::StreamBody::new(futures_util::stream::iter(
        frames,
    )));
    reqwest::Response::from(
        http::Response::builder()
            .status(200)
            .header("content-type", content_type)
            .body(body)
            .expect("valid response"),
    )
}

/// The in-process "server": answers every request with `body`.
pub fn transport(
    body: &'static str,
    content_type: &'static str,
) -> impl tower::Service<
    reqwest::Request,
    Response = reqwest::Response,
    Error = reqwest::Error,
    Future = impl Future<Output = Result<reqwest::Response, reqwest::Error>> + Send,
> + Clone
+ Send
+ Sync
+ 'static {
    tower::service_fn(move |_request: reqwest::Request| async move {
        Ok::<_, reqwest::Error>(fixture_response(body, content_type))
    })
}

/// Plain async-openai with its default retry layer, answered by the same in-process service.
pub fn plain_client(body: &'static str, content_type: &'static str) -> Client<OpenAIConfig> {
    Client::with_config(config()).with_http_service(
        tower::ServiceBuilder::new()
            .layer(OpenAIRetryLayer::default())
            .service(tower::service_fn(
                move |factory: HttpRequestFactory| async move {
                    let _request = factory.build().await?;
                    Ok::<_, async_openai::error::OpenAIError>(fixture_response(body, content_type))
                },
            )),
    )
}

pub fn traced_client(body: &'static str, content_type: &'static str) -> TracedClient {
    TracedClient::builder()
        .config(config())
        .transport(transport(body, content_type))
        .build()
}

/// The same spans and attributes as the hand-written floor: the legacy OpenAI attribute names only, no
/// metrics, no `traceparent`.
pub fn bare_client(body: &'static str, content_type: &'static str) -> TracedClient {
    TracedClient::builder()
        .config(config())
        .transport(transport(body, content_type))
        .semconv(traced_chat::Semconv::Legacy)
        .metrics(false)
        .propagate_trace_context(false)
        .build()
}

/// The base URL the in-process clients are configured with (never connected to).
pub const IN_PROCESS_BASE: &str = "http://in-process.invalid/v1";

/// The URL of a chat completion under [`IN_PROCESS_BASE`].
pub const IN_PROCESS_CHAT_URL: &str = "http://in-process.invalid/v1/chat/completions";

pub fn config() -> OpenAIConfig {
    config_at(IN_PROCESS_BASE)
}

/// A configuration for the API at `api_base`, with a placeholder key.
pub fn config_at(api_base: &str) -> OpenAIConfig {
    OpenAIConfig::new()
        .with_api_base(api_base)
        .with_api_key("sk-bench")
}

/// A local HTTP/1.1 server on 127.0.0.1 answering `POST /v1/chat/completions` with a fixed JSON
/// body (keep-alive), on its own thread and its own current-thread runtime, so that it shares
/// nothing with the runtime being measured. It runs until the process exits.
///
/// Returns the API base URL (`http://127.0.0.1:PORT/v1`).
pub fn serve_loopback(body: &'static str) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
    listener.set_nonblocking(true).expect("non-blocking");
    let address = listener.local_addr().expect("local address");
    std::thread::Builder::new()
        .name("loopback-server".into())
        .spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("server runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                // The handler reads the whole request body, as a real server does (an unread
                // body would make hyper drop the connection instead of keeping it alive).
                let app = axum::Router::new().route(
                    "/v1/chat/completions",
                    axum::routing::post(move |_request: bytes::Bytes| async move {
                        ([(http::header::CONTENT_TYPE, "application/json")], body)
                    }),
                );
                axum::serve(listener, app).await.expect("loopback server");
            });
        })
        .expect("server thread");
    format!("http://{address}/v1")
}

pub fn request() -> CreateChatCompletionRequest {
    CreateChatCompletionRequestArgs::default()
        .model("gpt-3.5-turbo")
        .messages([
            ChatCompletionRequestSystemMessage::from("You are a helpful assistant.").into(),
            ChatCompletionRequestUserMessage::from(PROMPT).into(),
        ])
        .max_completion_tokens(500u32)
        .temperature(0.5)
        .build()
        .expect("valid request")
}

#[traced_chat]
pub async fn call(
    client: &TracedClient,
    prompt: &str,
) -> Result<async_openai::types::chat::CreateChatCompletionResponse, async_openai::error::OpenAIError>
{
    let _ = prompt;
    client.chat().create(request()).await
}

#[traced_chat]
pub fn answer<'a>(prompt: &'a str, response: &'a str) -> &'a str {
    let _ = prompt;
    response
}

pub fn plain_answer<'a>(prompt: &'a str, response: &'a str) -> &'a str {
    let _ = prompt;
    response
}

#[cfg(feature = "otel")]
pub mod sdk {
    use opentelemetry::trace::{FutureExt as _, SpanKind, TraceContextExt as _, Tracer as _};
    use opentelemetry::{Context, KeyValue, StringValue, global};
    use opentelemetry_sdk::error::OTelSdkResult;
    use opentelemetry_sdk::trace::{SdkTracerProvider, SpanData, SpanExporter};

    /// Receives batches and drops them: the benchmark measures span creation, not export.
    #[derive(Debug)]
    pub struct Discard;

    impl SpanExporter for Discard {
        async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
            drop(batch);
            Ok(())
        }
    }

    pub fn install_batch() -> SdkTracerProvider {
        let provider = SdkTracerProvider::builder()
            .with_batch_exporter(Discard)
            .build();
        global::set_tracer_provider(provider.clone());
        provider
    }

    pub fn install_noop() {
        global::set_tracer_provider(opentelemetry::trace::noop::NoopTracerProvider::new());
    }

    /// The floor: the same three spans and attributes, written by hand around a plain call to
    /// the in-process "server".
    pub async fn floor(
        client: &async_openai::Client<async_openai::config::OpenAIConfig>,
        prompt: &str,
    ) {
        floor_at(
            client,
            prompt,
            StringValue::from(super::IN_PROCESS_CHAT_URL),
        )
        .await
    }

    /// The floor for a client whose chat completions go to `url` (recorded as `http.url` and
    /// `url.full`; pass a value made once, the floor does not format it per call).
    pub async fn floor_at(
        client: &async_openai::Client<async_openai::config::OpenAIConfig>,
        prompt: &str,
        url: StringValue,
    ) {
        let tracer = global::tracer("floor");
        let parent = Context::current();
        let fn_span = tracer.build_with_context(
            tracer.span_builder("call").with_kind(SpanKind::Internal),
            &parent,
        );
        let fn_cx = parent.with_span(fn_span);
        fn_cx.span().set_attributes([
            KeyValue::new("openai.prompt.length", prompt.len() as i64),
            KeyValue::new("openai.prompt", prompt.to_owned()),
        ]);
        let request = super::request();
        let chat_span = tracer.build_with_context(
            tracer
                .span_builder("openai.ChatCompletion.create")
                .with_kind(SpanKind::Client)
                .with_attributes([
                    KeyValue::new("openai.create.model", request.model.clone()),
                    KeyValue::new("openai.create.max_tokens", 500_i64),
                    KeyValue::new("openai.create.temperature", 0.5),
                ]),
            &fn_cx,
        );
        let chat_cx = fn_cx.with_span(chat_span);
        let http_span = tracer.build_with_context(
            tracer
                .span_builder("HTTP POST")
                .with_kind(SpanKind::Client)
                .with_attributes([
                    KeyValue::new("http.method", "POST"),
                    KeyValue::new("http.url", url.clone()),
                    KeyValue::new("http.request.method", "POST"),
                    KeyValue::new("url.full", url),
                ]),
            &chat_cx,
        );
        let http_cx = chat_cx.with_span(http_span);
        let response = client
            .chat()
            .create(request)
            .with_context(http_cx.clone())
            .await
            .expect("fixture answer");
        http_cx.span().set_attributes([
            KeyValue::new("http.status_code", 200_i64),
            KeyValue::new("http.response.status_code", 200_i64),
        ]);
        http_cx.span().end();
        let usage = response.usage.as_ref().expect("usage");
        chat_cx.span().set_attributes([
            KeyValue::new("openai.response.id", response.id.clone()),
            KeyValue::new("openai.response.created", i64::from(response.created)),
            KeyValue::new("openai.usage.prompt_tokens", i64::from(usage.prompt_tokens)),
            KeyValue::new(
                "openai.usage.completion_tokens",
                i64::from(usage.completion_tokens),
            ),
            KeyValue::new("openai.usage.total_tokens", i64::from(usage.total_tokens)),
        ]);
        chat_cx.span().end();
        let text = response.choices[0]
            .message
            .content
            .clone()
            .unwrap_or_default();
        fn_cx.span().set_attributes([
            KeyValue::new("openai.response.length", text.len() as i64),
            KeyValue::new("openai.response", text),
        ]);
        fn_cx.span().end();
    }
}
