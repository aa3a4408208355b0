//! What tracing costs: network-free chat calls (async-openai's HTTP hook answered in-process with
//! the recorded fixture), streaming, and content sizes. See BENCHMARKS.md.
//!
//! `cargo bench --bench overhead` (instrumentation on), and
//! `cargo bench --bench overhead --no-default-features --features testing` (off).

use std::hint::black_box;
use std::time::Duration;

use async_openai::Client;
use async_openai::config::OpenAIConfig;
use async_openai::middleware::HttpRequestFactory;
use async_openai::middleware::retry::OpenAIRetryLayer;
use async_openai::types::chat::{
    ChatCompletionRequestSystemMessage, ChatCompletionRequestUserMessage,
    CreateChatCompletionRequest, CreateChatCompletionRequestArgs,
};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use futures_util::StreamExt as _;
use traced_chat::testing::fixtures;
use traced_chat::{TracedClient, traced_chat};

const PROMPT: &str = "What is the meaning of life in a short sentence?";

fn fixture_response(body: &'static str, content_type: &'static str) -> reqwest::Response {
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
fn transport(
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
fn plain_client(body: &'static str, content_type: &'static str) -> Client<OpenAIConfig> {
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

fn traced_client(body: &'static str, content_type: &'static str) -> TracedClient {
    TracedClient::builder()
        .config(config())
        .transport(transport(body, content_type))
        .build()
}

fn config() -> OpenAIConfig {
    OpenAIConfig::new()
        .with_api_base("http://in-process.invalid/v1")
        .with_api_key("sk-bench")
}

fn request() -> CreateChatCompletionRequest {
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
async fn call(
    client: &TracedClient,
    prompt: &str,
) -> Result<async_openai::types::chat::CreateChatCompletionResponse, async_openai::error::OpenAIError>
{
    let _ = prompt;
    client.chat().create(request()).await
}

#[traced_chat]
fn answer<'a>(prompt: &'a str, response: &'a str) -> &'a str {
    let _ = prompt;
    response
}

fn plain_answer<'a>(prompt: &'a str, response: &'a str) -> &'a str {
    let _ = prompt;
    response
}

#[cfg(feature = "otel")]
mod sdk {
    use opentelemetry::trace::{FutureExt as _, SpanKind, TraceContextExt as _, Tracer as _};
    use opentelemetry::{Context, KeyValue, global};
    use opentelemetry_sdk::error::OTelSdkResult;
    use opentelemetry_sdk::trace::{SdkTracerProvider, SpanData, SpanExporter};

    /// Receives batches and drops them: the benchmark measures span creation, not export.
    #[derive(Debug)]
    pub(crate) struct Discard;

    impl SpanExporter for Discard {
        async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
            drop(batch);
            Ok(())
        }
    }

    pub(crate) fn install_batch() -> SdkTracerProvider {
        let provider = SdkTracerProvider::builder()
            .with_batch_exporter(Discard)
            .build();
        global::set_tracer_provider(provider.clone());
        provider
    }

    pub(crate) fn install_noop() {
        global::set_tracer_provider(opentelemetry::trace::noop::NoopTracerProvider::new());
    }

    /// The floor: the same three spans and attributes, written by hand around a plain call.
    pub(crate) async fn floor(
        client: &async_openai::Client<async_openai::config::OpenAIConfig>,
        prompt: &str,
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
                    KeyValue::new("http.url", "http://in-process.invalid/v1/chat/completions"),
                    KeyValue::new("http.request.method", "POST"),
                    KeyValue::new("url.full", "http://in-process.invalid/v1/chat/completions"),
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

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

fn chat_call(c: &mut Criterion) {
    let rt = runtime();
    let json = "application/json";
    let plain = plain_client(fixtures::CHAT_COMPLETION, json);
    #[cfg(feature = "otel")]
    let provider = sdk::install_batch();
    let traced = traced_client(fixtures::CHAT_COMPLETION, json);
    let traced_seed = TracedClient::builder()
        .config(config())
        .transport(transport(fixtures::CHAT_COMPLETION, json))
        .semconv(traced_chat::Semconv::Seed)
        .build();

    let mut group = c.benchmark_group("chat_call");
    group.bench_function("plain_async_openai", |b| {
        b.to_async(&rt)
            .iter(|| async { black_box(plain.chat().create(request()).await.unwrap()) })
    });
    group.bench_function("traced_client", |b| {
        b.to_async(&rt)
            .iter(|| async { black_box(traced.chat().create(request()).await.unwrap()) })
    });
    group.bench_function("traced_client_in_traced_chat_fn", |b| {
        b.to_async(&rt)
            .iter(|| async { black_box(call(&traced, PROMPT).await.unwrap()) })
    });
    group.bench_function("seed_semconv_in_traced_chat_fn", |b| {
        b.to_async(&rt)
            .iter(|| async { black_box(call(&traced_seed, PROMPT).await.unwrap()) })
    });
    #[cfg(feature = "otel")]
    {
        group.bench_function("hand_written_floor", |b| {
            b.to_async(&rt).iter(|| sdk::floor(&plain, PROMPT))
        });
        sdk::install_noop();
        group.bench_function("traced_chat_fn_noop_provider", |b| {
            b.to_async(&rt)
                .iter(|| async { black_box(call(&traced, PROMPT).await.unwrap()) })
        });
        opentelemetry::global::set_tracer_provider(provider.clone());
    }
    group.finish();
}

fn streaming(c: &mut Criterion) {
    let rt = runtime();
    // The fixture's content chunks repeated to 1,000 chunks, then the finish and usage chunks.
    let lines: Vec<&str> = fixtures::CHAT_STREAM_WITH_USAGE
        .split("\n\n")
        .filter(|l| l.starts_with("data: {"))
        .collect();
    let (content, tail) = (&lines[1..10], &lines[10..]);
    let mut body = String::from(lines[0]);
    body.push_str("\n\n");
    for i in 0..(1000 - 1 - tail.len()) {
        body.push_str(content[i % content.len()]);
        body.push_str("\n\n");
    }
    for line in tail {
        body.push_str(line);
        body.push_str("\n\n");
    }
    body.push_str("data: [DONE]\n\n");
    let body: &'static str = Box::leak(body.into_boxed_str());
    let sse = "text/event-stream";
    let plain = plain_client(body, sse);
    #[cfg(feature = "otel")]
    let _provider = sdk::install_batch();
    let traced = traced_client(body, sse);

    let mut group = c.benchmark_group("stream_1000_chunks");
    group.throughput(Throughput::Elements(1000));
    group.bench_function("plain_async_openai", |b| {
        b.to_async(&rt).iter(|| async {
            let mut stream = plain.chat().create_stream(request()).await.unwrap();
            let mut n = 0;
            while let Some(item) = stream.next().await {
                black_box(item.unwrap());
                n += 1;
            }
            assert_eq!(n, 1000);
        })
    });
    group.bench_function("traced_client", |b| {
        b.to_async(&rt).iter(|| async {
            let mut stream = traced.chat().create_stream(request()).await.unwrap();
            let mut n = 0;
            while let Some(item) = stream.next().await {
                black_box(item.unwrap());
                n += 1;
            }
            assert_eq!(n, 1000);
        })
    });
    group.finish();
}

fn content_size(c: &mut Criterion) {
    #[cfg(feature = "otel")]
    let _provider = sdk::install_batch();
    let mut group = c.benchmark_group("content_size");
    for size in [1 << 10, 64 << 10, 1 << 20] {
        let prompt = "p".repeat(size);
        let response = "r".repeat(size);
        group.bench_with_input(BenchmarkId::new("plain_fn", size), &size, |b, _| {
            b.iter(|| black_box(plain_answer(black_box(&prompt), black_box(&response))))
        });
        group.bench_with_input(BenchmarkId::new("traced_chat_fn", size), &size, |b, _| {
            b.iter(|| black_box(answer(black_box(&prompt), black_box(&response))))
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(50);
    targets = chat_call, streaming, content_size
}
criterion_main!(benches);
