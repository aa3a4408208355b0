//! Providers given to the client and to the test capture instead of the global ones, and trace
//! context sent through the configured propagator. This test binary never installs a global
//! tracer or meter provider: every span and data point below reached its capture by injection.

use async_openai::types::chat::{
    ChatCompletionRequestUserMessage, CreateChatCompletionRequestArgs,
};
use opentelemetry::baggage::BaggageExt as _;
use opentelemetry::propagation::{
    Extractor, Injector, TextMapCompositePropagator, TextMapPropagator,
};
use opentelemetry::trace::{FutureExt as _, TraceContextExt as _};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::propagation::{BaggagePropagator, TraceContextPropagator};
use traced_chat::attributes as attr;
use traced_chat::testing::{MetricCapture, MockOpenAI, SpanCapture};
use traced_chat::{TracedClient, traced_chat};

fn request(prompt: &str) -> async_openai::types::chat::CreateChatCompletionRequest {
    CreateChatCompletionRequestArgs::default()
        .model("gpt-4o-mini")
        .messages([ChatCompletionRequestUserMessage::from(prompt).into()])
        .build()
        .unwrap()
}

#[traced_chat]
async fn ask(client: &TracedClient, prompt: &str) -> Option<String> {
    let response = client.chat().create(request(prompt)).await.ok()?;
    response.choices.into_iter().next()?.message.content
}

#[tokio::test]
async fn a_capture_of_its_own_gets_the_spans_made_inside_its_trace() {
    let mock = MockOpenAI::start().await;
    let capture = SpanCapture::new();
    let (answer, spans) = capture.trace("test", ask(&mock.client(), "Hi")).await;
    assert!(answer.is_some());
    let ask = spans.one("ask");
    let chat = spans.one(attr::SPAN_CHAT_COMPLETION_CREATE);
    let http = spans.one(attr::SPAN_HTTP_POST);
    assert_eq!(spans.parent_of(ask).unwrap().name, "test");
    assert_eq!(spans.parent_of(chat).unwrap().name, "ask");
    assert_eq!(
        spans.parent_of(http).unwrap().span_context,
        chat.span_context
    );
    capture
        .lifecycle(ask.span_context.trace_id())
        .assert_all_ended();
    // Two captures side by side see only their own spans.
    let other = SpanCapture::new();
    assert!(other.all_spans().is_empty());
}

#[tokio::test]
async fn a_client_built_with_providers_uses_them_outside_any_capture() {
    let mock = MockOpenAI::start().await;
    let spans = SpanCapture::new();
    let metrics = MetricCapture::new();
    let client = TracedClient::builder()
        .config(mock.config())
        .tracer_provider(spans.provider())
        .meter_provider(metrics.provider())
        .build();
    // No capture's trace is current: the client's own provider makes its spans.
    client.chat().create(request("Hi")).await.unwrap();
    let all = spans.all_spans();
    let chat = all.one(attr::SPAN_CHAT_COMPLETION_CREATE);
    let http = all.one(attr::SPAN_HTTP_POST);
    assert_eq!(all.parent_of(http).unwrap().span_context, chat.span_context);
    assert!(all.parent_of(chat).is_none(), "a root: nothing was current");
    let durations: Vec<_> = metrics
        .histograms()
        .into_iter()
        .filter(|p| p.name == attr::METRIC_OPERATION_DURATION)
        .collect();
    assert_eq!(durations.len(), 1);
    assert_eq!(durations[0].count, 1);
    // A client without providers, outside any capture, sends its spans to the global provider
    // (a no-op here): the capture of the other client gets nothing more.
    let plain = mock.client();
    plain.chat().create(request("Hi")).await.unwrap();
    assert_eq!(spans.all_spans().len(), all.len());
}

/// Reads request headers for a propagator.
struct Headers<'a>(&'a http::HeaderMap);

impl Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }
    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}

/// The propagator is process-wide: one test sets each in turn.
#[tokio::test]
async fn trace_context_goes_out_through_the_configured_propagator() {
    a_composite_w3c_and_baggage_propagator().await;
    another_format_replaces_traceparent_and_switching_off_sends_nothing().await;
}

async fn a_composite_w3c_and_baggage_propagator() {
    opentelemetry::global::set_text_map_propagator(TextMapCompositePropagator::new(vec![
        Box::new(TraceContextPropagator::new()),
        Box::new(BaggagePropagator::new()),
    ]));
    let mock = MockOpenAI::start().await;
    let capture = SpanCapture::new();
    let client = mock.client();
    let (_, spans) = capture
        .trace("test", async {
            // Baggage added to the trace's context (which carries the capture's provider).
            let cx = Context::current_with_baggage([KeyValue::new("tenant", "acme")]);
            ask(&client, "Hi").with_context(cx).await
        })
        .await;
    let requests = mock.received_requests().await;
    assert_eq!(requests.len(), 1);
    let headers = &requests[0].headers;
    // Read back with the SDK's own propagators: the HTTP span's context and the baggage.
    let cx = TraceContextPropagator::new().extract(&Headers(headers));
    let http = spans.one(attr::SPAN_HTTP_POST);
    assert_eq!(
        cx.span().span_context().span_id(),
        http.span_context.span_id()
    );
    let baggage = BaggagePropagator::new().extract(&Headers(headers));
    assert_eq!(
        baggage.baggage().get("tenant").map(|v| v.to_string()),
        Some("acme".to_owned())
    );
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
}

/// A propagator of another format: one `x-trace` header with the ids.
#[derive(Debug)]
struct OneHeader;

impl TextMapPropagator for OneHeader {
    fn inject_context(&self, cx: &Context, injector: &mut dyn Injector) {
        let span = cx.span();
        let ids = span.span_context();
        injector.set("x-trace", format!("{}:{}", ids.trace_id(), ids.span_id()));
    }
    fn extract_with_context(&self, cx: &Context, _: &dyn Extractor) -> Context {
        cx.clone()
    }
    fn fields(&self) -> opentelemetry::propagation::text_map_propagator::FieldIter<'_> {
        static FIELDS: std::sync::LazyLock<[String; 1]> =
            std::sync::LazyLock::new(|| ["x-trace".to_owned()]);
        opentelemetry::propagation::text_map_propagator::FieldIter::new(&*FIELDS)
    }
}

async fn another_format_replaces_traceparent_and_switching_off_sends_nothing() {
    opentelemetry::global::set_text_map_propagator(OneHeader);
    let mock = MockOpenAI::start().await;
    let capture = SpanCapture::new();
    let quiet = TracedClient::builder()
        .config(mock.config())
        .propagate_trace_context(false)
        .build();
    let (_, spans) = capture
        .trace("test", async {
            mock.client().chat().create(request("one")).await.unwrap();
            quiet.chat().create(request("two")).await.unwrap();
        })
        .await;
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    let requests = mock.received_requests().await;
    let https = spans.named(attr::SPAN_HTTP_POST);
    let first = https.iter().find(|s| {
        requests[0].headers.get("x-trace").is_some_and(|v| {
            v.to_str().unwrap()
                == format!("{}:{}", s.span_context.trace_id(), s.span_context.span_id())
        })
    });
    assert!(
        first.is_some(),
        "the propagator's own header carries the HTTP span"
    );
    assert!(requests[0].headers.get("traceparent").is_none());
    assert!(requests[1].headers.get("x-trace").is_none());
    assert!(requests[1].headers.get("traceparent").is_none());
}
