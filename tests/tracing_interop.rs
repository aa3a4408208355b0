//! Feature `tracing`: with no OpenTelemetry context current, our spans nest under the current
//! `tracing` span as bridged by a real `tracing_subscriber` + `tracing_opentelemetry` layer, all
//! exported through one SDK pipeline with the in-memory exporter (own process: global providers).

use std::sync::OnceLock;

use async_openai::types::chat::{
    ChatCompletionRequestUserMessage, CreateChatCompletionRequestArgs,
};
use opentelemetry::trace::{
    SpanId, TraceContextExt as _, TraceId, Tracer as _, TracerProvider as _,
};
use opentelemetry::{Context, trace::SpanKind};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use traced_chat::testing::{MockOpenAI, str_attribute};
use traced_chat::{TracedClient, attributes as attr, traced_chat};
use tracing::Instrument as _;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;
use tracing_subscriber::layer::SubscriberExt as _;

/// One SDK provider for the whole process, global for our spans and behind the tracing layer.
fn exporter() -> &'static (InMemorySpanExporter, SdkTracerProvider) {
    static PIPELINE: OnceLock<(InMemorySpanExporter, SdkTracerProvider)> = OnceLock::new();
    PIPELINE.get_or_init(|| {
        let exporter = InMemorySpanExporter::default();
        let provider = SdkTracerProvider::builder()
            .with_simple_exporter(exporter.clone())
            .build();
        opentelemetry::global::set_tracer_provider(provider.clone());
        let layer = tracing_opentelemetry::layer().with_tracer(provider.tracer("app"));
        tracing::subscriber::set_global_default(tracing_subscriber::registry().with(layer))
            .expect("one subscriber per process");
        (exporter, provider)
    })
}

fn spans_of(trace_id: TraceId) -> Vec<SpanData> {
    exporter()
        .0
        .get_finished_spans()
        .unwrap()
        .into_iter()
        .filter(|span| span.span_context.trace_id() == trace_id)
        .collect()
}

fn named<'a>(spans: &'a [SpanData], name: &str) -> &'a SpanData {
    let found: Vec<_> = spans.iter().filter(|span| span.name == name).collect();
    assert_eq!(found.len(), 1, "one {name:?} in {spans:#?}");
    found[0]
}

#[traced_chat]
async fn ask(client: &TracedClient, prompt: &str) -> Option<String> {
    let request = CreateChatCompletionRequestArgs::default()
        .model("gpt-3.5-turbo")
        .messages([ChatCompletionRequestUserMessage::from(prompt).into()])
        .build()
        .ok()?;
    client
        .chat()
        .create(request)
        .await
        .ok()?
        .choices
        .pop()?
        .message
        .content
}

/// The OpenTelemetry ids of a tracing span, as the bridge assigned them.
fn ids(span: &tracing::Span) -> (TraceId, SpanId) {
    let cx = span.context();
    let otel = cx.span();
    let context = otel.span_context();
    (context.trace_id(), context.span_id())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_annotated_function_nests_under_the_current_tracing_span() {
    exporter();
    let mock = MockOpenAI::start().await;
    let client = mock.client();
    let request = tracing::info_span!("handle_request");
    let (trace_id, request_id) = ids(&request);
    assert_ne!(trace_id, TraceId::INVALID);

    // On another task and thread, inside `.instrument`: only the tracing span is current.
    let answer = tokio::spawn(async move { ask(&client, "hello").await }.instrument(request))
        .await
        .unwrap();
    assert!(answer.is_some());

    let spans = spans_of(trace_id);
    let root = named(&spans, "handle_request");
    assert_eq!(root.span_context.span_id(), request_id);
    let function = named(&spans, "ask");
    let chat = named(&spans, attr::SPAN_CHAT_COMPLETION_CREATE);
    let http = named(&spans, attr::SPAN_HTTP_POST);
    assert_eq!(
        function.parent_span_id, request_id,
        "fn span under the tracing span"
    );
    assert_eq!(chat.parent_span_id, function.span_context.span_id());
    assert_eq!(http.parent_span_id, chat.span_context.span_id());
    assert_eq!(chat.span_kind, SpanKind::Client);
    assert_eq!(str_attribute(function, attr::OPENAI_PROMPT), "hello");
    // Our spans use the crate's own instrumentation scope, the tracing span the app's.
    assert_eq!(function.instrumentation_scope.name(), "traced-chat");
    assert_eq!(root.instrumentation_scope.name(), "app");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_call_alone_nests_under_the_current_tracing_span() {
    exporter();
    let mock = MockOpenAI::start().await;
    let client = mock.client();
    let outer = tracing::info_span!("batch_job");
    let (trace_id, outer_id) = ids(&outer);
    let request = CreateChatCompletionRequestArgs::default()
        .model("gpt-3.5-turbo")
        .messages([ChatCompletionRequestUserMessage::from("hi").into()])
        .build()
        .unwrap();
    client
        .chat()
        .create(request)
        .instrument(outer)
        .await
        .unwrap();

    let spans = spans_of(trace_id);
    let chat = named(&spans, attr::SPAN_CHAT_COMPLETION_CREATE);
    assert_eq!(chat.parent_span_id, outer_id);
    let http = named(&spans, attr::SPAN_HTTP_POST);
    assert_eq!(http.parent_span_id, chat.span_context.span_id());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_current_opentelemetry_context_wins_over_the_tracing_span() {
    exporter();
    let mock = MockOpenAI::start().await;
    let client = mock.client();
    let tracer = exporter().1.tracer("explicit");
    let explicit = Context::new().with_span(tracer.start("explicit_parent"));
    let explicit_ids = {
        let context = explicit.span().span_context().clone();
        (context.trace_id(), context.span_id())
    };
    let tracing_span = tracing::info_span!("ignored_tracing_span");
    let (tracing_trace, _) = ids(&tracing_span);

    let answer = {
        use opentelemetry::trace::FutureExt as _;
        ask(&client, "explicit")
            .with_context(explicit.clone())
            .instrument(tracing_span)
            .await
    };
    assert!(answer.is_some());
    explicit.span().end();

    let spans = spans_of(explicit_ids.0);
    let function = named(&spans, "ask");
    assert_eq!(function.parent_span_id, explicit_ids.1);
    assert!(
        spans_of(tracing_trace)
            .iter()
            .all(|span| span.name != "ask"),
        "nothing of ours in the tracing span's trace"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_any_current_span_the_function_span_is_a_root() {
    exporter();
    let mock = MockOpenAI::start().await;
    let client = mock.client();
    assert!(tracing::Span::current().is_none());
    assert!(ask(&client, "alone").await.is_some());
    let all = exporter().0.get_finished_spans().unwrap();
    let function = all
        .iter()
        .find(|span| {
            span.name == "ask"
                && span.attributes.iter().any(|kv| {
                    kv.key.as_str() == attr::OPENAI_PROMPT && kv.value.as_str() == "alone"
                })
        })
        .expect("the function span was exported");
    assert_eq!(function.parent_span_id, SpanId::INVALID);
}
