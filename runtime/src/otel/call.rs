//! [`Call`]: the one owner of a traced operation's life, from the request to the last chunk.
//!
//! A call holds its client span, its start instant, its metric attributes, the facts its
//! [`Operation`] gathers from the answer, and the spans of the `#[traced_chat]` functions that
//! returned its stream. Its verbs are the life of a call: [`observe`](Call::observe) a chunk,
//! [`succeed`](Call::succeed), [`fail`](Call::fail), [`end_stream`](Call::end_stream). If none of
//! the endings happened when it is dropped (a future or a stream dropped early, a panic), its
//! `Drop` records the cancellation: what arrived so far, the span marked cancelled (or panicked)
//! and the duration metric with `error.type=cancelled`. Every span ends exactly once.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Instant;

use async_openai::error::OpenAIError;
use opentelemetry::trace::{SpanBuilder, SpanKind, Status, TraceContextExt as _};
use opentelemetry::{Context, KeyValue};

use super::metrics::TokenUsage;
use super::settings::Settings;
use super::span::{FnSpan, OwnedSpan};
use crate::attributes as attr;
use crate::record::Recorder;

/// What one kind of OpenAI call records: its facts, gathered from a whole answer or from the
/// chunks of a stream, and how they become attributes. Chat, Responses and embeddings each
/// supply one; the life of the call is [`Call`]'s.
pub(crate) trait Operation {
    /// A whole answer.
    type Response;
    /// One item of a streamed answer.
    type Chunk;
    /// The `gen_ai.operation.name` of the call's metrics.
    const NAME: &'static str;

    /// Takes in a whole answer.
    fn absorb(&mut self, response: &Self::Response, settings: &Settings);
    /// Takes in one streamed chunk; returns whether it carries output (the time to the first
    /// chunk is measured at the first such chunk).
    fn observe(&mut self, chunk: &Self::Chunk, settings: &Settings) -> bool;
    /// The answer's attributes, within `budget` bytes of variable-size attributes.
    fn attributes(&self, settings: &Settings, budget: usize) -> Vec<KeyValue>;
    /// The model that answered.
    fn response_model(&self) -> Option<Arc<str>>;
    /// The tokens used, when the answer reported them.
    fn usage(&self) -> Option<TokenUsage>;
    /// Records the answer as the response of a `#[traced_chat]` function whose span waits on
    /// this call (a function that returned the call's stream).
    fn record_fn_response(&self, recorder: &Recorder<'_>);
}

/// How a call ended, for its metrics and the functions waiting on it.
enum Ending<'a> {
    Success,
    Failure(&'a str, &'a str),
    Cancelled,
}

/// One traced call; see the [module documentation](self).
pub(crate) struct Call<O: Operation> {
    span: OwnedSpan,
    settings: Arc<Settings>,
    started: Instant,
    last_chunk: Option<Instant>,
    metric_attributes: Vec<KeyValue>,
    /// Bytes of variable-size attributes the start attributes left for the answer's.
    budget: usize,
    op: O,
    /// The first error a stream yielded (the stream goes on after a chunk that does not decode):
    /// its `error.type` and message.
    error: Option<(Cow<'static, str>, String)>,
    /// The spans of the `#[traced_chat]` functions that returned this call's stream, innermost
    /// first.
    waiting: Vec<FnSpan>,
    ended: bool,
}

impl<O: Operation> std::fmt::Debug for Call<O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Call")
            .field("span", &self.span)
            .finish_non_exhaustive()
    }
}

impl<O: Operation> Call<O> {
    /// Starts a CLIENT span named `name` with the request's `attributes`, child of the current
    /// context, and the call's clock.
    pub(crate) fn start(
        settings: &Arc<Settings>,
        name: Cow<'static, str>,
        attributes: super::attrs::Attrs,
        request_model: &Arc<str>,
        op: O,
    ) -> Self {
        let budget = attributes.budget();
        let builder = SpanBuilder::from_name(name)
            .with_kind(SpanKind::Client)
            .with_attributes(attributes.into_vec());
        let parent = super::telemetry::parent_context();
        let cx = super::telemetry::start_span(&parent, builder, settings.tracer.as_ref());
        Call {
            span: OwnedSpan::new(cx),
            settings: Arc::clone(settings),
            started: Instant::now(),
            last_chunk: None,
            metric_attributes: settings.metric_attributes(O::NAME, request_model),
            budget,
            op,
            error: None,
            waiting: Vec::new(),
            ended: false,
        }
    }

    /// The context holding the call's span: the request is sent inside it.
    pub(crate) fn context(&self) -> &Context {
        self.span.context()
    }

    /// The call ended with a whole answer.
    pub(crate) fn succeed(mut self, response: &O::Response) {
        self.op.absorb(response, &self.settings);
        self.end(Ending::Success);
    }

    /// The call failed: status ERROR with a short description, `error.type`, and an
    /// `exception` event carrying the message.
    pub(crate) fn fail(mut self, error: &OpenAIError) {
        let (kind, message) = describe(error);
        record_error(self.context(), &kind, &message);
        self.end(Ending::Failure(&kind, &message));
    }

    /// The call ended as `result` says.
    pub(crate) fn settle(self, result: &Result<O::Response, OpenAIError>) {
        match result {
            Ok(response) => self.succeed(response),
            Err(error) => self.fail(error),
        }
    }

    /// A streamed chunk arrived: the time to the first chunk (an event, an attribute and a
    /// metric) or since the previous one (a metric), and what the chunk says.
    pub(crate) fn observe(&mut self, chunk: &O::Chunk) {
        if !self.op.observe(chunk, &self.settings) {
            return;
        }
        let now = Instant::now();
        let metrics = self.settings.metrics.as_ref();
        match self.last_chunk {
            None => {
                let elapsed = now.duration_since(self.started);
                let span = self.span.context().span();
                span.add_event(attr::EVENT_FIRST_CHUNK, Vec::new());
                span.set_attribute(KeyValue::new(
                    attr::GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK,
                    elapsed.as_secs_f64(),
                ));
                if let Some(metrics) = metrics {
                    metrics.record_first_chunk(&self.metric_attributes, elapsed);
                }
            }
            Some(last) => {
                let since = now.duration_since(last);
                if let Some(metrics) = metrics {
                    metrics.record_next_chunk(&self.metric_attributes, since);
                }
            }
        }
        self.last_chunk = Some(now);
    }

    /// A stream yielded an error: the first one is recorded on the span now; the stream goes
    /// on, and the call ends with it.
    pub(crate) fn observe_error(&mut self, error: &OpenAIError) {
        if self.error.is_none() {
            let (kind, message) = describe(error);
            record_error(self.context(), &kind, &message);
            self.error = Some((kind, message));
        }
    }

    /// The stream ended: a success, unless it yielded an error.
    pub(crate) fn end_stream(mut self) {
        match self.error.take() {
            Some((kind, message)) => self.end(Ending::Failure(&kind, &message)),
            None => self.end(Ending::Success),
        }
    }

    /// Keeps the span of a `#[traced_chat]` function open until this call ends (the function
    /// returned the call's stream); it then records the answer and ends, after the call's span.
    pub(crate) fn adopt(&mut self, span: FnSpan) {
        self.waiting.push(span);
    }

    /// Records the answer and the metrics, ends the span, then the waiting functions' spans.
    fn end(&mut self, ending: Ending<'_>) {
        self.ended = true;
        {
            let span = self.span.context().span();
            if span.is_recording() {
                span.set_attributes(self.op.attributes(&self.settings, self.budget));
            }
        }
        self.record_metrics(&ending);
        match ending {
            Ending::Cancelled => self.span.end_unfinished(),
            _ => self.span.context().span().end(),
        }
        // The function spans end after the call's span, which they enclose; innermost first.
        for fn_span in std::mem::take(&mut self.waiting) {
            let recorder = Recorder::new(fn_span.target());
            match ending {
                Ending::Failure(kind, message) => recorder.error(kind, message),
                Ending::Success | Ending::Cancelled => self.op.record_fn_response(&recorder),
            }
            match ending {
                Ending::Cancelled => drop(fn_span), // marked cancelled (or panicked)
                _ => fn_span.end(),
            }
        }
    }

    fn record_metrics(&mut self, ending: &Ending<'_>) {
        let Some(metrics) = &self.settings.metrics else {
            return;
        };
        let error_type = match ending {
            Ending::Success => None,
            Ending::Failure(kind, _) => Some(*kind),
            Ending::Cancelled => Some("cancelled"),
        };
        metrics.record_operation(
            std::mem::take(&mut self.metric_attributes),
            self.op.response_model(),
            error_type,
            self.started.elapsed(),
            self.op.usage(),
        );
    }
}

impl<O: Operation> Drop for Call<O> {
    fn drop(&mut self) {
        if !self.ended {
            self.end(Ending::Cancelled);
        }
    }
}

/// The `error.type` and the recorded message of `error`.
fn describe(error: &OpenAIError) -> (Cow<'static, str>, String) {
    (
        crate::error::error_type(error),
        crate::error::error_message(error),
    )
}

/// Marks the span in `cx` failed: status ERROR with `message`, `error.type`, and an `exception`
/// event.
fn record_error(cx: &Context, kind: &str, message: &str) {
    let span = cx.span();
    if !span.is_recording() {
        return;
    }
    span.add_event(
        attr::EVENT_EXCEPTION,
        vec![
            KeyValue::new(attr::EXCEPTION_TYPE, kind.to_owned()),
            KeyValue::new(attr::EXCEPTION_MESSAGE, message.to_owned()),
        ],
    );
    span.set_attribute(KeyValue::new(attr::ERROR_TYPE, kind.to_owned()));
    span.set_status(Status::error(message.to_owned()));
}

#[cfg(all(test, feature = "testing"))]
mod tests {
    use std::sync::Arc;

    use async_openai::error::OpenAIError;
    use opentelemetry::trace::{Status, TraceContextExt as _};
    use opentelemetry::{Context, KeyValue, Value};
    use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData};
    use opentelemetry_sdk::metrics::{InMemoryMetricExporter, SdkMeterProvider};
    use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};

    use super::{Call, Operation};
    use crate::attributes as attr;
    use crate::config::ClientOptions;
    use crate::otel::attrs::Attrs;
    use crate::otel::metrics::TokenUsage;
    use crate::otel::settings::Settings;
    use crate::otel::span::FnSpan;
    use crate::otel::telemetry::{self, InjectedTracer};
    use crate::record::Recorder;

    /// An operation whose answer is a number and whose chunks are counted.
    #[derive(Default)]
    struct Counting {
        answer: Option<u32>,
        chunks: u32,
    }

    impl Operation for Counting {
        type Response = u32;
        type Chunk = u32;
        const NAME: &'static str = "count";

        fn absorb(&mut self, response: &u32, _: &Settings) {
            self.answer = Some(*response);
        }

        fn observe(&mut self, _: &u32, _: &Settings) -> bool {
            self.chunks += 1;
            true
        }

        fn attributes(&self, _: &Settings, _: usize) -> Vec<KeyValue> {
            let mut attrs = vec![KeyValue::new("test.chunks", i64::from(self.chunks))];
            attrs.extend(
                self.answer
                    .map(|a| KeyValue::new("test.answer", i64::from(a))),
            );
            attrs
        }

        fn response_model(&self) -> Option<Arc<str>> {
            None
        }

        fn usage(&self) -> Option<TokenUsage> {
            Some(TokenUsage {
                input: 1,
                output: Some(u64::from(self.chunks)),
            })
        }

        fn record_fn_response(&self, recorder: &Recorder<'_>) {
            recorder.response(&format!("{} chunks", self.chunks));
        }
    }

    /// A tracer and a meter of their own, and client settings that use them.
    struct Harness {
        spans: InMemorySpanExporter,
        metrics: InMemoryMetricExporter,
        tracer_provider: SdkTracerProvider,
        meter_provider: SdkMeterProvider,
        settings: Arc<Settings>,
    }

    impl Harness {
        fn new() -> Self {
            let spans = InMemorySpanExporter::default();
            let tracer_provider = SdkTracerProvider::builder()
                .with_simple_exporter(spans.clone())
                .build();
            let metrics = InMemoryMetricExporter::default();
            let meter_provider = SdkMeterProvider::builder()
                .with_periodic_exporter(metrics.clone())
                .build();
            let options = ClientOptions {
                tracer: Some(telemetry::boxed_tracer(&tracer_provider)),
                meter: Some(telemetry::meter(&meter_provider)),
                ..ClientOptions::default()
            };
            let settings = Arc::new(Settings::new(&options, "http://127.0.0.1:9/v1"));
            Harness {
                spans,
                metrics,
                tracer_provider,
                meter_provider,
                settings,
            }
        }

        fn start(&self) -> Call<Counting> {
            let model: Arc<str> = Arc::from("m");
            Call::start(
                &self.settings,
                "call".into(),
                Attrs::new(1),
                &model,
                Counting::default(),
            )
        }

        /// A `#[traced_chat]` function's span made with the harness's tracer.
        fn fn_span(&self) -> FnSpan {
            let _guard = InjectedTracer::new(&self.tracer_provider)
                .carried_by(&Context::new())
                .attach();
            FnSpan::start("function")
        }

        fn spans(&self) -> Vec<SpanData> {
            self.spans.get_finished_spans().unwrap()
        }

        fn one(&self, name: &str) -> SpanData {
            let spans = self.spans();
            let named: Vec<_> = spans.iter().filter(|s| s.name == name).collect();
            assert_eq!(named.len(), 1, "one {name} span, ended once: {spans:#?}");
            named[0].clone()
        }

        /// The `error.type` of each recorded duration.
        fn durations(&self) -> Vec<Option<String>> {
            self.meter_provider.force_flush().unwrap();
            let exported = self.metrics.get_finished_metrics().unwrap();
            let mut out = Vec::new();
            for metric in exported.last().into_iter().flat_map(|m| m.scope_metrics()) {
                for metric in metric.metrics() {
                    if metric.name() != attr::METRIC_OPERATION_DURATION {
                        continue;
                    }
                    if let AggregatedMetrics::F64(MetricData::Histogram(h)) = metric.data() {
                        for point in h.data_points() {
                            let error = point
                                .attributes()
                                .find(|kv| kv.key.as_str() == attr::ERROR_TYPE)
                                .map(|kv| kv.value.to_string());
                            out.extend((0..point.count()).map(|_| error.clone()));
                        }
                    }
                }
            }
            out
        }
    }

    fn attribute<'a>(span: &'a SpanData, key: &str) -> Option<&'a Value> {
        span.attributes
            .iter()
            .find(|kv| kv.key.as_str() == key)
            .map(|kv| &kv.value)
    }

    fn cancelled(span: &SpanData) -> bool {
        attribute(span, attr::TRACED_CHAT_CANCELLED) == Some(&Value::Bool(true))
    }

    #[test]
    fn success_records_the_answer_and_the_duration() {
        let h = Harness::new();
        h.start().succeed(&42);
        let span = h.one("call");
        assert_eq!(attribute(&span, "test.answer"), Some(&Value::I64(42)));
        assert_eq!(span.status, Status::Unset);
        assert!(!cancelled(&span));
        assert_eq!(h.durations(), [None]);
    }

    #[test]
    fn failure_marks_the_span_and_the_metric() {
        let h = Harness::new();
        h.start()
            .fail(&OpenAIError::InvalidArgument("bad request".into()));
        let span = h.one("call");
        assert_eq!(span.status, Status::error("invalid args: bad request"));
        assert_eq!(
            attribute(&span, attr::ERROR_TYPE),
            Some(&Value::from("invalid_argument"))
        );
        assert_eq!(span.events.len(), 1, "one exception event");
        assert_eq!(h.durations(), [Some("invalid_argument".into())]);
    }

    #[test]
    fn a_call_dropped_before_its_answer_is_cancelled() {
        let h = Harness::new();
        drop(h.start());
        let span = h.one("call");
        assert!(cancelled(&span));
        assert_eq!(span.status, Status::Unset);
        assert_eq!(h.durations(), [Some("cancelled".into())]);
    }

    #[test]
    fn a_stream_that_ends_records_its_chunks_and_ends_the_waiting_function() {
        let h = Harness::new();
        let mut call = h.start();
        call.adopt(h.fn_span());
        for chunk in 0..3 {
            call.observe(&chunk);
        }
        assert!(
            h.spans().is_empty(),
            "both spans stay open while the stream runs"
        );
        call.end_stream();
        let span = h.one("call");
        assert_eq!(attribute(&span, "test.chunks"), Some(&Value::I64(3)));
        assert_eq!(span.events[0].name, attr::EVENT_FIRST_CHUNK);
        assert!(attribute(&span, attr::GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK).is_some());
        let function = h.one("function");
        assert_eq!(
            attribute(&function, attr::OPENAI_RESPONSE),
            Some(&Value::from("3 chunks"))
        );
        assert!(!cancelled(&function));
        let names: Vec<_> = h.spans().iter().map(|s| s.name.to_string()).collect();
        assert_eq!(names, ["call", "function"], "the call's span ends first");
        assert_eq!(h.durations(), [None]);
    }

    #[test]
    fn a_stream_error_fails_the_call_and_the_waiting_function() {
        let h = Harness::new();
        let mut call = h.start();
        call.adopt(h.fn_span());
        call.observe(&0);
        call.observe_error(&OpenAIError::StreamError(Box::new(
            async_openai::error::StreamError::EventStream("cut".into()),
        )));
        call.observe(&1);
        call.end_stream();
        let span = h.one("call");
        assert!(matches!(span.status, Status::Error { .. }));
        assert_eq!(
            attribute(&span, attr::ERROR_TYPE),
            Some(&Value::from("stream"))
        );
        assert_eq!(attribute(&span, "test.chunks"), Some(&Value::I64(2)));
        let function = h.one("function");
        assert!(matches!(function.status, Status::Error { .. }));
        assert_eq!(h.durations(), [Some("stream".into())]);
    }

    #[test]
    fn a_stream_dropped_midway_records_what_arrived_and_cancels_both_spans() {
        let h = Harness::new();
        let mut call = h.start();
        call.adopt(h.fn_span());
        call.observe(&0);
        call.observe(&1);
        drop(call);
        let span = h.one("call");
        assert!(cancelled(&span));
        assert_eq!(attribute(&span, "test.chunks"), Some(&Value::I64(2)));
        let function = h.one("function");
        assert!(cancelled(&function));
        assert_eq!(
            attribute(&function, attr::OPENAI_RESPONSE),
            Some(&Value::from("2 chunks"))
        );
        assert_eq!(h.durations(), [Some("cancelled".into())]);
    }

    #[test]
    fn a_panic_marks_the_span_failed() {
        let h = Harness::new();
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _call = h.start();
            panic!("in the middle of a call");
        }));
        assert!(panicked.is_err());
        let span = h.one("call");
        assert_eq!(span.status, Status::error("panicked"));
        assert_eq!(
            attribute(&span, attr::ERROR_TYPE),
            Some(&Value::from("panic"))
        );
        assert!(!cancelled(&span));
    }

    #[test]
    fn the_context_carries_the_injected_tracer_to_child_spans() {
        let h = Harness::new();
        let call = h.start();
        let child = call.context().span().span_context().clone();
        assert!(child.is_valid(), "the injected provider made the span");
        call.succeed(&1);
        assert_eq!(h.spans().len(), 1);
    }
}
