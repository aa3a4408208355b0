//! Test your own prompt functions the way traced-chat's tests do: an embedded mock OpenAI
//! server answering with recorded wire fixtures, and an in-memory capture of exported spans.
//!
//! Enable the `testing` feature (usually in `[dev-dependencies]`).
//!
//! ```
//! use traced_chat::testing::{MockOpenAI, SpanCapture};
//!
//! # #[tokio::main] async fn main() {
//! let mock = MockOpenAI::start().await;          // a real HTTP server on 127.0.0.1
//! let client = mock.client();                   // a TracedClient pointed at it
//! let capture = SpanCapture::new();             // an SDK provider exporting to memory
//! let (_answer, spans) = capture
//!     .trace("test", async { /* call your #[traced_chat] functions with `client` */ })
//!     .await;
//! assert!(spans.named("test").len() == 1);
//! # }
//! ```

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::ops::Deref;
use std::sync::{Arc, Mutex, OnceLock};

use async_openai::config::OpenAIConfig;
use opentelemetry::trace::{
    FutureExt as _, SpanId, TraceContextExt as _, TraceId, Tracer as _, TracerProvider as _,
};
use opentelemetry::{Context, Value};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanProcessor};
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

pub use opentelemetry_sdk::trace::SpanData;

use crate::TracedClient;

/// OpenAI wire fixtures: response bodies in the shape the Chat Completions API sends.
pub mod fixtures {
    /// A plain answer with `usage`, `service_tier` and `system_fingerprint` (a short answer:
    /// id `chatcmpl-7DO5Jns0IVgSxWRjTaBUHL0VWPtyK`, usage 30/13/43).
    pub const CHAT_COMPLETION: &str = include_str!("../fixtures/openai/chat_completion.json");
    /// A long answer: a paragraph (usage 30/175/205).
    pub const CHAT_COMPLETION_LONG: &str =
        include_str!("../fixtures/openai/chat_completion_long.json");
    /// An answer that calls a tool (`content` null, `finish_reason` `tool_calls`).
    pub const CHAT_COMPLETION_TOOL_CALLS: &str =
        include_str!("../fixtures/openai/chat_completion_tool_calls.json");
    /// A streamed answer (`text/event-stream`) ending with a usage chunk and `[DONE]`.
    pub const CHAT_STREAM_WITH_USAGE: &str =
        include_str!("../fixtures/openai/chat_stream_with_usage.sse");
    /// 400, `code: context_length_exceeded`.
    pub const ERROR_400_CONTEXT_LENGTH: &str =
        include_str!("../fixtures/openai/error_400_context_length.json");
    /// 401, `code: invalid_api_key`.
    pub const ERROR_401_INVALID_API_KEY: &str =
        include_str!("../fixtures/openai/error_401_invalid_api_key.json");
    /// 404, `code: model_not_found`.
    pub const ERROR_404_MODEL_NOT_FOUND: &str =
        include_str!("../fixtures/openai/error_404_model_not_found.json");
    /// 429, `code: rate_limit_exceeded`.
    pub const ERROR_429_RATE_LIMIT: &str =
        include_str!("../fixtures/openai/error_429_rate_limit.json");
    /// 500, `code: null`.
    pub const ERROR_500_SERVER: &str = include_str!("../fixtures/openai/error_500_server.json");
    /// An embeddings answer: one `text-embedding-ada-002` vector of 1536 dimensions, usage 8/8
    /// (a recorded answer of the real API, pretty-printed as it sends it).
    pub const EMBEDDING: &str = include_str!("../fixtures/openai/embedding.json");
}

/// The API key [`MockOpenAI::config`] uses, so a test can check it never reaches a span.
pub const TEST_API_KEY: &str = "sk-test-traced-chat-SECRET-0123456789";

const CHAT_PATH: &str = "/v1/chat/completions";
const EMBEDDINGS_PATH: &str = "/v1/embeddings";
const DEFAULT_PRIORITY: u8 = 10;
const OVERRIDE_PRIORITY: u8 = 1;

/// A mock OpenAI server on `127.0.0.1` (a real HTTP server, [wiremock]).
///
/// Out of the box `POST /v1/chat/completions` answers every request with
/// [`fixtures::CHAT_COMPLETION`], and `POST /v1/embeddings` with [`fixtures::EMBEDDING`]. [`answer`](Self::answer), [`answer_times`](Self::answer_times)
/// and [`answer_when`](Self::answer_when) override that.
///
/// Dropping it shuts the server down from a thread of its own (see the `Drop` impl), so that it
/// never hangs the runtime it is dropped on.
#[derive(Debug)]
pub struct MockOpenAI {
    /// `Some` until dropped.
    server: Option<MockServer>,
}

impl MockOpenAI {
    /// Starts the server.
    pub async fn start() -> Self {
        let server = MockServer::start().await;
        let mock = MockOpenAI {
            server: Some(server),
        };
        mock.mount(
            Mock::given(method("POST")).and(path(CHAT_PATH)),
            200,
            fixtures::CHAT_COMPLETION,
            DEFAULT_PRIORITY,
        )
        .await;
        mock.mount(
            Mock::given(method("POST")).and(path(EMBEDDINGS_PATH)),
            200,
            fixtures::EMBEDDING,
            DEFAULT_PRIORITY,
        )
        .await;
        mock
    }

    /// Answers every later embeddings request with `status` and the JSON `body`.
    pub async fn answer_embeddings(&self, status: u16, body: &str) {
        self.mount(
            Mock::given(method("POST")).and(path(EMBEDDINGS_PATH)),
            status,
            body,
            OVERRIDE_PRIORITY,
        )
        .await;
    }

    async fn mount(&self, mock: wiremock::MockBuilder, status: u16, body: &str, priority: u8) {
        mock.respond_with(json_response(status, body))
            .with_priority(priority)
            .mount(self.server())
            .await;
    }

    /// Answers every later chat request with `status` and the JSON `body`.
    pub async fn answer(&self, status: u16, body: &str) {
        self.mount(
            Mock::given(method("POST")).and(path(CHAT_PATH)),
            status,
            body,
            OVERRIDE_PRIORITY,
        )
        .await;
    }

    /// Answers every later chat request whose body contains `needle` with `status` and the
    /// JSON `body` (other requests get the earlier answers).
    pub async fn answer_when(&self, needle: &str, status: u16, body: &str) {
        self.mount(
            Mock::given(method("POST"))
                .and(path(CHAT_PATH))
                .and(body_string_contains(needle)),
            status,
            body,
            OVERRIDE_PRIORITY,
        )
        .await;
    }

    /// Answers the next `times` chat requests with `status` and the JSON `body`, then falls back
    /// to the earlier answers (e.g. a 429 once, then success).
    pub async fn answer_times(&self, times: u64, status: u16, body: &str) {
        Mock::given(method("POST"))
            .and(path(CHAT_PATH))
            .respond_with(json_response(status, body))
            .up_to_n_times(times)
            .with_priority(OVERRIDE_PRIORITY)
            .mount(self.server())
            .await;
    }

    /// Answers every later chat request with the server-sent-events `body`
    /// (`text/event-stream`), e.g. [`fixtures::CHAT_STREAM_WITH_USAGE`].
    pub async fn answer_stream(&self, body: &str) {
        Mock::given(method("POST"))
            .and(path(CHAT_PATH))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_raw(body.as_bytes().to_vec(), "text/event-stream"),
            )
            .with_priority(OVERRIDE_PRIORITY)
            .mount(self.server())
            .await;
    }

    /// Answers every later chat request with `status` and the JSON `body` after `delay` (to
    /// test timeouts).
    pub async fn answer_delayed(&self, status: u16, body: &str, delay: std::time::Duration) {
        Mock::given(method("POST"))
            .and(path(CHAT_PATH))
            .respond_with(json_response(status, body).set_delay(delay))
            .with_priority(OVERRIDE_PRIORITY)
            .mount(self.server())
            .await;
    }

    /// The base URL to configure a client with (`http://127.0.0.1:PORT/v1`).
    pub fn base_url(&self) -> String {
        format!("{}/v1", self.server().uri())
    }

    /// A client configuration pointed at this server, with [`TEST_API_KEY`].
    pub fn config(&self) -> OpenAIConfig {
        OpenAIConfig::new()
            .with_api_base(self.base_url())
            .with_api_key(TEST_API_KEY)
    }

    /// A [`TracedClient`] pointed at this server.
    pub fn client(&self) -> TracedClient {
        TracedClient::with_config(self.config())
    }

    /// Every request the server received, in order.
    pub async fn received_requests(&self) -> Vec<wiremock::Request> {
        self.server().received_requests().await.unwrap_or_default()
    }

    /// The underlying wiremock server, to mount other answers.
    pub fn server(&self) -> &MockServer {
        self.server
            .as_ref()
            .expect("the server lives until the mock is dropped")
    }
}

impl Drop for MockOpenAI {
    /// wiremock verifies a server's mocks when it is dropped, blocking on an async lock with a
    /// nested executor. Inside a tokio task whose cooperative budget is spent (a test that did a
    /// lot of I/O in one poll), that lock is never granted and the thread spins forever. On a
    /// thread of its own, outside any runtime, the drop always completes; a failed verification
    /// still fails the test.
    fn drop(&mut self) {
        let Some(server) = self.server.take() else {
            return;
        };
        let dropped = std::thread::spawn(move || drop(server)).join();
        if let Err(panic) = dropped
            && !std::thread::panicking()
        {
            std::panic::resume_unwind(panic);
        }
    }
}

fn json_response(status: u16, body: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_raw(body.as_bytes().to_vec(), "application/json")
}

/// Captures exported spans in memory through a real SDK pipeline (an `SdkTracerProvider` with
/// the in-memory exporter and a simple span processor).
///
/// Run each test's work under its own root span with [`trace`](Self::trace), which returns only
/// the spans of that trace. The root's context carries the capture's provider, so the spans of
/// `#[traced_chat]` functions and of [`TracedClient`]s made beneath it go to the capture without
/// any global provider ([`new`](Self::new)); [`install`](Self::install) also makes one shared
/// capture the global provider, for spans made outside a `trace` (a task spawned without the
/// context, another library's spans).
///
/// Beside the exporter, a [`SpanLedger`] processor sees every span start and end, so a test can
/// check that nothing was left open ([`lifecycle`](Self::lifecycle)).
#[derive(Debug, Clone)]
pub struct SpanCapture {
    exporter: InMemorySpanExporter,
    ledger: SpanLedger,
    provider: SdkTracerProvider,
}

impl SpanCapture {
    /// A capture of its own, not installed anywhere: its provider reaches the spans made inside
    /// [`trace`](Self::trace) through the context, so tests run side by side without a
    /// process-wide provider.
    pub fn new() -> SpanCapture {
        let exporter = InMemorySpanExporter::default();
        let ledger = SpanLedger::default();
        let provider = SdkTracerProvider::builder()
            .with_span_processor(ledger.clone())
            .with_simple_exporter(exporter.clone())
            .build();
        SpanCapture {
            exporter,
            ledger,
            provider,
        }
    }

    /// Installs one shared capture as the global tracer provider (once per process) and returns
    /// a handle to it.
    pub fn install() -> SpanCapture {
        static CAPTURE: OnceLock<SpanCapture> = OnceLock::new();
        CAPTURE
            .get_or_init(|| {
                let capture = SpanCapture::new();
                opentelemetry::global::set_tracer_provider(capture.provider.clone());
                capture
            })
            .clone()
    }

    /// The capture's tracer provider, to give to
    /// [`TracedClientBuilder::tracer_provider`](crate::TracedClientBuilder::tracer_provider).
    pub fn provider(&self) -> &SdkTracerProvider {
        &self.provider
    }

    /// Runs `work` inside a new root span named `root` and returns its output with every span of
    /// that trace that has ended, the root included.
    pub async fn trace<F: Future>(&self, root: &'static str, work: F) -> (F::Output, Spans) {
        let (output, trace_id) = self.in_root(root, work).await;
        (output, self.spans_of(trace_id))
    }

    /// As [`trace`](Self::trace), for synchronous work.
    pub fn trace_sync<R>(&self, root: &'static str, work: impl FnOnce() -> R) -> (R, Spans) {
        let (output, trace_id) = self.in_root_sync(root, work);
        (output, self.spans_of(trace_id))
    }

    /// Runs `work` inside a new root span named `root`, ended after it; returns the output and
    /// the trace's id.
    async fn in_root<F: Future>(&self, root: &'static str, work: F) -> (F::Output, TraceId) {
        let cx = self.root_context(root);
        let output = work.with_context(cx.clone()).await;
        cx.span().end();
        (output, cx.span().span_context().trace_id())
    }

    /// As [`in_root`](Self::in_root), for synchronous work.
    fn in_root_sync<R>(&self, root: &'static str, work: impl FnOnce() -> R) -> (R, TraceId) {
        let cx = self.root_context(root);
        let output = {
            let _guard = cx.clone().attach();
            work()
        };
        cx.span().end();
        (output, cx.span().span_context().trace_id())
    }

    /// A new root span named `root`, in a context that carries the capture's provider.
    fn root_context(&self, root: &'static str) -> Context {
        let tracer = self.provider.tracer("traced-chat-testing");
        let span = tracer.start_with_context(root, &Context::new());
        carrying(&self.provider, Context::new().with_span(span))
    }

    /// Every ended span of the trace `trace_id`, in the order they ended.
    pub fn spans_of(&self, trace_id: TraceId) -> Spans {
        self.ledger.spans_of(trace_id)
    }

    /// How many spans of the trace `trace_id` have started and ended so far, and which are
    /// still open.
    pub fn lifecycle(&self, trace_id: TraceId) -> Lifecycle {
        self.ledger.lifecycle(trace_id)
    }

    /// Runs `work` as [`trace`](Self::trace) does, then forgets the trace (see
    /// [`forget`](Self::forget)): returns the output, the trace's spans and its
    /// [`Lifecycle`] (the root counted). For tests that make many traces (generated inputs).
    pub async fn trace_once<F: Future>(
        &self,
        root: &'static str,
        work: F,
    ) -> (F::Output, Spans, Lifecycle) {
        let (output, trace_id) = self.in_root(root, work).await;
        let (spans, lifecycle) = self.ledger.forget(trace_id);
        (output, spans, lifecycle)
    }

    /// As [`trace_once`](Self::trace_once), for synchronous work.
    pub fn trace_sync_once<R>(
        &self,
        root: &'static str,
        work: impl FnOnce() -> R,
    ) -> (R, Spans, Lifecycle) {
        let (output, trace_id) = self.in_root_sync(root, work);
        let (spans, lifecycle) = self.ledger.forget(trace_id);
        (output, spans, lifecycle)
    }

    /// Drops what the ledger keeps about the trace `trace_id` and returns it: later
    /// [`spans_of`](Self::spans_of) and [`lifecycle`](Self::lifecycle) calls see nothing of it
    /// (the exporter, and so [`all_spans`](Self::all_spans), still holds its spans).
    pub fn forget(&self, trace_id: TraceId) -> (Spans, Lifecycle) {
        self.ledger.forget(trace_id)
    }

    /// Every span exported since the process started (all tests' spans).
    pub fn all_spans(&self) -> Spans {
        Spans(self.exporter.get_finished_spans().unwrap_or_default())
    }
}

impl Default for SpanCapture {
    fn default() -> Self {
        SpanCapture::new()
    }
}

/// `cx` carrying `provider` to the spans this crate starts beneath it.
#[cfg(feature = "otel")]
fn carrying(provider: &SdkTracerProvider, cx: Context) -> Context {
    crate::otel::telemetry::InjectedTracer::new(provider).carried_by(&cx)
}

/// Without instrumentation this crate starts no span: nothing to carry.
#[cfg(not(feature = "otel"))]
fn carrying(_: &SdkTracerProvider, cx: Context) -> Context {
    cx
}

/// A span processor that keeps, per trace, the spans that have started and not yet ended, how
/// many started and ended, and the ended spans in the order they ended. [`SpanCapture`] installs
/// one; add your own to another provider with `with_span_processor`.
#[derive(Debug, Clone, Default)]
pub struct SpanLedger {
    traces: Arc<Mutex<HashMap<TraceId, TraceLedger>>>,
}

#[derive(Debug, Default)]
struct TraceLedger {
    started: usize,
    ended: Vec<SpanData>,
    /// Started, not ended: span id → name.
    open: HashMap<SpanId, Cow<'static, str>>,
    /// Ended, to tell a second end of the same span apart.
    closed: HashSet<SpanId>,
    ended_twice: Vec<String>,
}

impl TraceLedger {
    fn lifecycle(&self) -> Lifecycle {
        let mut open: Vec<String> = self.open.values().map(|name| name.to_string()).collect();
        open.sort();
        Lifecycle {
            started: self.started,
            ended: self.ended.len(),
            open,
            ended_twice: self.ended_twice.clone(),
        }
    }
}

impl SpanLedger {
    fn traces(&self) -> std::sync::MutexGuard<'_, HashMap<TraceId, TraceLedger>> {
        self.traces.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Every ended span of the trace `trace_id`, in the order they ended.
    pub fn spans_of(&self, trace_id: TraceId) -> Spans {
        Spans(
            self.traces()
                .get(&trace_id)
                .map(|t| t.ended.clone())
                .unwrap_or_default(),
        )
    }

    /// The start and end counts of the trace `trace_id` so far.
    pub fn lifecycle(&self, trace_id: TraceId) -> Lifecycle {
        self.traces()
            .get(&trace_id)
            .map(TraceLedger::lifecycle)
            .unwrap_or_default()
    }

    /// Removes the trace `trace_id` from the ledger, returning its ended spans and counts.
    pub fn forget(&self, trace_id: TraceId) -> (Spans, Lifecycle) {
        match self.traces().remove(&trace_id) {
            Some(trace) => {
                let lifecycle = trace.lifecycle();
                (Spans(trace.ended), lifecycle)
            }
            None => Default::default(),
        }
    }
}

impl SpanProcessor for SpanLedger {
    fn on_start(&self, span: &mut opentelemetry_sdk::trace::Span, _: &Context) {
        use opentelemetry::trace::Span as _;
        let context = span.span_context().clone();
        let name = span
            .exported_data()
            .map(|data| data.name)
            .unwrap_or_default();
        let mut traces = self.traces();
        let trace = traces.entry(context.trace_id()).or_default();
        trace.started += 1;
        trace.open.insert(context.span_id(), name);
    }

    fn on_end(&self, span: SpanData) {
        let mut traces = self.traces();
        let trace = traces.entry(span.span_context.trace_id()).or_default();
        let id = span.span_context.span_id();
        trace.open.remove(&id);
        if !trace.closed.insert(id) {
            trace.ended_twice.push(span.name.to_string());
        }
        trace.ended.push(span);
    }

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _: std::time::Duration) -> OTelSdkResult {
        Ok(())
    }
}

/// What a [`SpanLedger`] saw of one trace: spans started and ended, and which did not end.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lifecycle {
    /// Spans started.
    pub started: usize,
    /// Span ends seen (a span ended twice counts twice).
    pub ended: usize,
    /// Names of the spans started and not ended, sorted.
    pub open: Vec<String>,
    /// Names of the spans whose end was seen more than once.
    pub ended_twice: Vec<String>,
}

impl Lifecycle {
    /// Panics, showing the counts, unless every span that started ended exactly once.
    #[track_caller]
    pub fn assert_all_ended(&self) {
        assert!(
            self.open.is_empty() && self.ended_twice.is_empty() && self.started == self.ended,
            "every span started must end exactly once: {self:?}"
        );
    }
}

/// Exported spans, with lookups for assertions.
#[derive(Debug, Clone, Default)]
pub struct Spans(pub Vec<SpanData>);

impl Deref for Spans {
    type Target = [SpanData];
    fn deref(&self) -> &[SpanData] {
        &self.0
    }
}

impl Spans {
    /// The spans named `name`.
    pub fn named(&self, name: &str) -> Vec<&SpanData> {
        self.0.iter().filter(|span| span.name == name).collect()
    }

    /// The one span named `name`; panics if there is not exactly one.
    #[track_caller]
    pub fn one(&self, name: &str) -> &SpanData {
        match self.named(name).as_slice() {
            [span] => span,
            other => panic!(
                "expected one span named {name:?}, found {}; spans: {:?}",
                other.len(),
                self.0.iter().map(|s| &s.name).collect::<Vec<_>>()
            ),
        }
    }

    /// The spans whose parent is `parent`, in the order they ended.
    pub fn children_of(&self, parent: &SpanData) -> Vec<&SpanData> {
        let id = parent.span_context.span_id();
        self.0
            .iter()
            .filter(|span| span.parent_span_id == id && id != SpanId::INVALID)
            .collect()
    }

    /// The parent of `span` among these spans.
    pub fn parent_of(&self, span: &SpanData) -> Option<&SpanData> {
        self.0
            .iter()
            .find(|s| s.span_context.span_id() == span.parent_span_id)
    }
}

/// The value of attribute `key` on `span`.
pub fn attribute<'a>(span: &'a SpanData, key: &str) -> Option<&'a Value> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| &kv.value)
}

/// Captures metrics in memory through a real SDK pipeline (an `SdkMeterProvider` with a periodic
/// reader over the in-memory exporter), installed as the global meter provider once per process.
///
/// Give its [`provider`](Self::provider) to a client's builder
/// ([`TracedClientBuilder::meter_provider`](crate::TracedClientBuilder::meter_provider)), or
/// [`install`](Self::install) one shared capture as the global meter provider before building the
/// clients whose metrics you want (instruments come from the global provider as it is when a
/// client is built).
#[derive(Debug, Clone)]
pub struct MetricCapture {
    exporter: opentelemetry_sdk::metrics::InMemoryMetricExporter,
    provider: opentelemetry_sdk::metrics::SdkMeterProvider,
}

impl Default for MetricCapture {
    fn default() -> Self {
        MetricCapture::new()
    }
}

/// One histogram data point, flattened for assertions.
#[derive(Debug, Clone)]
pub struct HistogramPoint {
    /// The metric's name.
    pub name: String,
    /// The metric's unit.
    pub unit: String,
    /// The data point's attributes.
    pub attributes: Vec<opentelemetry::KeyValue>,
    /// How many values were recorded.
    pub count: u64,
    /// Their sum, as `f64`.
    pub sum: f64,
    /// The explicit bucket boundaries.
    pub bounds: Vec<f64>,
}

impl HistogramPoint {
    /// The value of attribute `key`.
    pub fn attribute(&self, key: &str) -> Option<&Value> {
        self.attributes
            .iter()
            .find(|kv| kv.key.as_str() == key)
            .map(|kv| &kv.value)
    }
}

impl MetricCapture {
    /// A capture of its own, not installed anywhere.
    pub fn new() -> MetricCapture {
        let exporter = opentelemetry_sdk::metrics::InMemoryMetricExporter::default();
        let provider = opentelemetry_sdk::metrics::SdkMeterProvider::builder()
            .with_periodic_exporter(exporter.clone())
            .build();
        MetricCapture { exporter, provider }
    }

    /// Installs one shared capture as the global meter provider (once per process).
    pub fn install() -> MetricCapture {
        static CAPTURE: OnceLock<MetricCapture> = OnceLock::new();
        CAPTURE
            .get_or_init(|| {
                let capture = MetricCapture::new();
                opentelemetry::global::set_meter_provider(capture.provider.clone());
                capture
            })
            .clone()
    }

    /// The capture's meter provider.
    pub fn provider(&self) -> &opentelemetry_sdk::metrics::SdkMeterProvider {
        &self.provider
    }

    /// Exports now and returns every histogram data point recorded so far (cumulative).
    pub fn histograms(&self) -> Vec<HistogramPoint> {
        use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData};
        let _ = self.provider.force_flush();
        let mut out = Vec::new();
        let exported = self.exporter.get_finished_metrics().unwrap_or_default();
        // Cumulative temporality: the last export holds everything.
        let Some(last) = exported.last() else {
            return out;
        };
        for scope in last.scope_metrics() {
            for metric in scope.metrics() {
                let points: Vec<(Vec<opentelemetry::KeyValue>, u64, f64, Vec<f64>)> =
                    match metric.data() {
                        AggregatedMetrics::F64(MetricData::Histogram(h)) => h
                            .data_points()
                            .map(|p| {
                                (
                                    p.attributes().cloned().collect(),
                                    p.count(),
                                    p.sum(),
                                    p.bounds().collect(),
                                )
                            })
                            .collect(),
                        AggregatedMetrics::U64(MetricData::Histogram(h)) => h
                            .data_points()
                            .map(|p| {
                                (
                                    p.attributes().cloned().collect(),
                                    p.count(),
                                    p.sum() as f64,
                                    p.bounds().collect(),
                                )
                            })
                            .collect(),
                        _ => Vec::new(),
                    };
                for (attributes, count, sum, bounds) in points {
                    out.push(HistogramPoint {
                        name: metric.name().to_owned(),
                        unit: metric.unit().to_owned(),
                        attributes,
                        count,
                        sum,
                        bounds,
                    });
                }
            }
        }
        out
    }
}

/// `text` cut to at most `max` bytes on a UTF-8 character boundary, as every recorded text is.
pub fn truncate(text: &str, max: usize) -> &str {
    crate::text::truncate(text, max)
}

/// The span formatted as one JSON document, as [`ConsoleExporter`](crate::ConsoleExporter)
/// writes it.
#[cfg(feature = "otel")]
pub fn span_to_json(span: &SpanData, resource: &opentelemetry_sdk::Resource) -> String {
    crate::otel::console::span_to_json(span, resource)
}

/// The string value of attribute `key` on `span`; panics, naming both, if it is missing or not a
/// string.
#[track_caller]
pub fn str_attribute<'a>(span: &'a SpanData, key: &str) -> &'a str {
    match attribute(span, key) {
        Some(Value::String(s)) => s.as_str(),
        other => panic!("{key} on {}: expected a string, got {other:?}", span.name),
    }
}

/// The integer value of attribute `key` on `span`; panics if it is missing or not an integer.
#[track_caller]
pub fn int_attribute(span: &SpanData, key: &str) -> i64 {
    match attribute(span, key) {
        Some(Value::I64(v)) => *v,
        other => panic!("{key} on {}: expected an integer, got {other:?}", span.name),
    }
}

/// The string-array value of attribute `key` on `span`; panics if it is missing or not one.
#[track_caller]
pub fn strings_attribute(span: &SpanData, key: &str) -> Vec<String> {
    match attribute(span, key) {
        Some(Value::Array(opentelemetry::Array::String(v))) => {
            v.iter().map(|s| s.to_string()).collect()
        }
        other => panic!(
            "{key} on {}: expected a string array, got {other:?}",
            span.name
        ),
    }
}
