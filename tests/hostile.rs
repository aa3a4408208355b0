//! A hostile server: broken, compromised, a misconfigured gateway or proxy. Each scenario is
//! served by a raw server on 127.0.0.1 writing exact bytes ([`server`]) and called with plain
//! async-openai (the reference), with `TracedClient`, and (where it matters) through a
//! `#[traced_chat]` function, all fed the same bytes. For every scenario:
//!
//! - the traced callers get what async-openai gets (same `Ok`/`Err`, `Debug`, `Display` and
//!   sources, same stream items);
//! - every span that started ended exactly once, and the trace holds the spans it should;
//! - every exported byte (each span serialized as the console exporter writes it, and its
//!   `Debug`) is free of the configured key, of its last 8 characters and of `Bearer` values;
//! - the recorded identifiers, choice and tool-call counts and per-span content stay within
//!   `content::max_identifier_length`, `max_items` and `max_span_content`;
//! - for the large answers, the peak memory of a traced call over the plain call's, and the
//!   memory its spans keep, stay within a few times `max_span_content` (a counting global
//!   allocator, per thread: each test runs on its own thread, with a current-thread runtime, and
//!   the server on a thread of its own).
#![cfg(feature = "otel")]

#[path = "common/outcome.rs"]
mod outcome;
#[path = "common/output.rs"]
mod output;
#[path = "hostile/server.rs"]
mod server;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::future::Future;
use std::sync::OnceLock;

use outcome::{Outcome, read_stream};
use std::time::{Duration, Instant};

use async_openai::config::OpenAIConfig;
use async_openai::error::OpenAIError;
use async_openai::middleware::ReqwestService;
use async_openai::middleware::retry::OpenAIRetryLayer;
use async_openai::types::chat::{
    ChatCompletionRequestUserMessage, CreateChatCompletionRequest, CreateChatCompletionRequestArgs,
    CreateChatCompletionResponse,
};
use opentelemetry::trace::{
    FutureExt as _, Status, TraceContextExt as _, Tracer as _, TracerProvider as _,
};
use opentelemetry::{Array, Context, Value};
use opentelemetry_sdk::trace::SdkTracerProvider;
use traced_chat::attributes as attr;
use traced_chat::content;
use traced_chat::testing::{Lifecycle, SpanData, SpanLedger, Spans, attribute};
use traced_chat::{TracedChatStream, TracedClient, traced_chat};

use server::{HostileServer, Reply};

// --- memory ---------------------------------------------------------------------------------

/// Counts the bytes allocated and freed by each thread, and each thread's peak.
struct Counting;

thread_local! {
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

fn note(delta: isize) {
    let _ = LIVE.try_with(|live| {
        let now = live.get() + delta;
        live.set(now);
        let _ = PEAK.try_with(|peak| {
            if now > peak.get() {
                peak.set(now);
            }
        });
    });
}

// SAFETY: every call is forwarded to `System`; the counters are const-initialised thread locals
// without destructors, which never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            note(layout.size() as isize);
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            note(layout.size() as isize);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        note(-(layout.size() as isize));
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            note(new_size as isize - layout.size() as isize);
        }
        new
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// What a call cost in memory on this thread.
#[derive(Debug, Clone, Copy)]
struct Memory {
    /// The highest number of bytes allocated at once during the call, over what was allocated
    /// before it.
    peak: isize,
    /// Bytes still allocated after it (its output and, for a traced call, its spans held).
    retained: isize,
}

const MIB: f64 = 1024.0 * 1024.0;

impl std::fmt::Display for Memory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "peak {:.2} MiB, retained {:.2} MiB",
            self.peak as f64 / MIB,
            self.retained as f64 / MIB
        )
    }
}

/// Runs `work` on this thread and measures it.
async fn measured<F: Future>(work: F) -> (F::Output, Memory) {
    let base = LIVE.with(Cell::get);
    PEAK.with(|peak| peak.set(base));
    let output = work.await;
    let memory = Memory {
        peak: PEAK.with(Cell::get) - base,
        retained: LIVE.with(Cell::get) - base,
    };
    (output, memory)
}

// --- spans ----------------------------------------------------------------------------------

/// This binary's tracer provider: a [`SpanLedger`] sees every span start and receives every
/// ended span (what an exporter receives), installed as the global provider once.
fn ledger() -> &'static (SpanLedger, SdkTracerProvider) {
    static LEDGER: OnceLock<(SpanLedger, SdkTracerProvider)> = OnceLock::new();
    LEDGER.get_or_init(|| {
        let ledger = SpanLedger::default();
        let provider = SdkTracerProvider::builder()
            .with_span_processor(ledger.clone())
            .build();
        opentelemetry::global::set_tracer_provider(provider.clone());
        (ledger, provider)
    })
}

/// Runs `work` under a new root span `hostile` and returns its output, the trace's spans and
/// their lifecycle (the ledger then forgets the trace).
async fn in_trace<F: Future>(work: F) -> (F::Output, Spans, Lifecycle) {
    let (ledger, provider) = ledger();
    let span = provider
        .tracer("hostile")
        .start_with_context("hostile", &Context::new());
    let cx = Context::new().with_span(span);
    let output = work.with_context(cx.clone()).await;
    cx.span().end();
    let (spans, life) = ledger.forget(cx.span().span_context().trace_id());
    (output, spans, life)
}

// --- callers --------------------------------------------------------------------------------

/// The configured key: Azure style, 32 hexadecimal digits, no `sk-`.
const KEY: &str = "3f9a0c5e7b1d2468ace013579bdf2468";
/// An OpenAI-style project key.
const SK_KEY: &str = "sk-proj-HostileTest0123456789abcdefXYZ0123456789";
const MODEL: &str = "gpt-4o-mini";
const PROMPT: &str = "What is the meaning of life?";
/// Only a safety net: no scenario should come near it.
const NO_TIMEOUT: Duration = Duration::from_secs(30);

fn request() -> CreateChatCompletionRequest {
    CreateChatCompletionRequestArgs::default()
        .model(MODEL)
        .messages([ChatCompletionRequestUserMessage::from(PROMPT).into()])
        .build()
        .unwrap()
}

fn config(base_url: &str, key: &str) -> OpenAIConfig {
    OpenAIConfig::new()
        .with_api_base(base_url)
        .with_api_key(key)
}

fn http_client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder().timeout(timeout).build().unwrap()
}

/// async-openai's own stack, without retries (each scenario is one attempt, whatever it is).
fn plain_client(
    base_url: &str,
    key: &str,
    timeout: Duration,
) -> async_openai::Client<OpenAIConfig> {
    let service = tower::Layer::layer(
        &OpenAIRetryLayer::new(0),
        ReqwestService::new(http_client(timeout)),
    );
    async_openai::Client::with_config(config(base_url, key)).with_http_service(service)
}

/// The traced client, recording everything it can (content included): the worst case.
fn traced_client(base_url: &str, key: &str, timeout: Duration) -> TracedClient {
    TracedClient::builder()
        .config(config(base_url, key))
        .http_client(http_client(timeout))
        .max_retries(0)
        .capture_content(true)
        .build()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Create,
    Stream,
}

#[traced_chat]
async fn ask(
    client: &TracedClient,
    prompt: &str,
) -> Result<CreateChatCompletionResponse, OpenAIError> {
    let mut request = request();
    request.messages = vec![ChatCompletionRequestUserMessage::from(prompt).into()];
    client.chat().create(request).await
}

#[traced_chat]
async fn ask_stream(client: &TracedClient, prompt: &str) -> Result<TracedChatStream, OpenAIError> {
    let mut request = request();
    request.messages = vec![ChatCompletionRequestUserMessage::from(prompt).into()];
    client.chat().create_stream(request).await
}

async fn call_plain(
    client: &async_openai::Client<OpenAIConfig>,
    mode: Mode,
    limit: Option<usize>,
) -> Outcome {
    match mode {
        Mode::Create => client.chat().create(request()).await.into(),
        Mode::Stream => read_stream(client.chat().create_stream(request()).await, limit).await,
    }
}

async fn call_traced(client: &TracedClient, mode: Mode, limit: Option<usize>) -> Outcome {
    match mode {
        Mode::Create => client.chat().create(request()).await.into(),
        Mode::Stream => read_stream(client.chat().create_stream(request()).await, limit).await,
    }
}

async fn call_annotated(client: &TracedClient, mode: Mode, limit: Option<usize>) -> Outcome {
    match mode {
        Mode::Create => ask(client, PROMPT).await.into(),
        Mode::Stream => read_stream(ask_stream(client, PROMPT).await, limit).await,
    }
}

/// One traced caller's result.
struct Traced {
    outcome: Outcome,
    spans: Spans,
    life: Lifecycle,
    memory: Memory,
}

/// The three callers of one scenario, in turn on this thread (so that each is measured alone).
struct Run {
    plain: Outcome,
    plain_memory: Memory,
    client: Traced,
    annotated: Option<Traced>,
    requests: usize,
}

/// Initialises the process-wide state every call touches (the tracer provider, metric
/// instruments, the content policy, the key registry, reqwest's and serde's first-use
/// allocations), so that it is not counted as the first measured call's.
async fn warm_up() {
    let _ = ledger();
    let server = HostileServer::start(Reply::json(200, &completion(&[choice(0, "hi")])));
    let base_url = server.base_url();
    let plain = plain_client(&base_url, KEY, NO_TIMEOUT);
    let traced = traced_client(&base_url, KEY, NO_TIMEOUT);
    for _ in 0..2 {
        assert!(!call_plain(&plain, Mode::Create, None).await.failed());
        let (outcome, _, _) = in_trace(call_annotated(&traced, Mode::Create, None)).await;
        assert!(!outcome.failed());
    }
}

/// Serves `reply` and calls it with the plain client, the traced client and (when
/// `annotated`) the annotated function.
async fn run(reply: Reply, mode: Mode, key: &str, annotated: bool, limit: Option<usize>) -> Run {
    run_with(reply, mode, key, annotated, limit, NO_TIMEOUT).await
}

async fn run_with(
    reply: Reply,
    mode: Mode,
    key: &str,
    annotated: bool,
    limit: Option<usize>,
    timeout: Duration,
) -> Run {
    warm_up().await;
    let server = HostileServer::start(reply);
    let base_url = server.base_url();
    let plain = plain_client(&base_url, key, timeout);
    let traced = traced_client(&base_url, key, timeout);
    let (plain_outcome, plain_memory) = measured(call_plain(&plain, mode, limit)).await;
    let ((outcome, spans, life), memory) =
        measured(in_trace(call_traced(&traced, mode, limit))).await;
    let client = Traced {
        outcome,
        spans,
        life,
        memory,
    };
    let annotated = if annotated {
        let ((outcome, spans, life), memory) =
            measured(in_trace(call_annotated(&traced, mode, limit))).await;
        Some(Traced {
            outcome,
            spans,
            life,
            memory,
        })
    } else {
        None
    };
    Run {
        plain: plain_outcome,
        plain_memory,
        client,
        annotated,
        requests: server.requests(),
    }
}

impl Run {
    fn traced(&self) -> impl Iterator<Item = (&'static str, &Traced)> {
        std::iter::once(("TracedClient", &self.client))
            .chain(self.annotated.as_ref().map(|a| ("#[traced_chat]", a)))
    }

    /// The traced callers got what async-openai got; every span ended once; the trace holds
    /// the root, the function's span (if any), one chat span and `attempts` `HTTP POST` spans.
    #[track_caller]
    fn assert_same_and_ended(&self, scenario: &str, attempts: usize) {
        for (caller, traced) in self.traced() {
            assert_eq!(
                traced.outcome, self.plain,
                "{scenario}: {caller} gives what async-openai gives"
            );
            traced.life.assert_all_ended();
            let function = usize::from(caller == "#[traced_chat]");
            assert_eq!(
                traced.spans.len(),
                2 + function + attempts,
                "{scenario}: {caller}'s spans: {:?}",
                names(&traced.spans)
            );
            assert_eq!(
                traced.spans.named(attr::SPAN_CHAT_COMPLETION_CREATE).len(),
                1
            );
            assert_eq!(
                traced.spans.named(attr::SPAN_HTTP_POST).len(),
                attempts,
                "{scenario}: {caller}"
            );
        }
        let callers = 1 + self.traced().count();
        assert_eq!(
            self.requests,
            callers * attempts.max(1),
            "{scenario}: one request per caller and attempt (warm-up apart)"
        );
    }

    /// The spans of every traced caller.
    fn all_spans(&self) -> impl Iterator<Item = &SpanData> {
        self.traced().flat_map(|(_, traced)| traced.spans.iter())
    }
}

fn names(spans: &Spans) -> Vec<String> {
    spans.iter().map(|s| s.name.to_string()).collect()
}

// --- what the spans may hold ----------------------------------------------------------------

/// Every exported byte of each span: as the console exporter serializes it (name, attributes,
/// events, status, links) and its `Debug`.
fn exported_texts(span: &SpanData) -> [String; 2] {
    let resource = opentelemetry_sdk::Resource::builder_empty().build();
    [
        traced_chat::testing::span_to_json(span, &resource),
        format!("{span:?}"),
    ]
}

/// No span holds `key`, its last 8 characters, or a `Bearer` value that is not masked.
#[track_caller]
fn assert_no_secret<'a>(scenario: &str, spans: impl Iterator<Item = &'a SpanData>, key: &str) {
    let tail = &key[key.len() - 8..];
    let mut scanned = 0;
    for span in spans {
        for text in exported_texts(span) {
            scanned += text.len();
            for needle in [key, tail] {
                assert!(
                    !text.contains(needle),
                    "{scenario}: {needle:?} in {}: {}",
                    span.name,
                    excerpt(&text, needle)
                );
            }
            for (at, _) in text.match_indices("Bearer ") {
                // The value, masked: `***`, or its kind and `***` (`sk-proj-***`).
                let value = text[at + 7..]
                    .split(|c: char| c.is_whitespace() || c == '"' || c == '\\')
                    .next()
                    .unwrap_or("");
                assert!(
                    value.is_empty() || value.find("***").is_some_and(|i| i <= 8),
                    "{scenario}: a Bearer value in {}: {}",
                    span.name,
                    excerpt(&text[at..], "Bearer")
                );
            }
        }
    }
    assert!(scanned > 0, "{scenario}: nothing was scanned");
}

fn excerpt<'a>(text: &'a str, needle: &str) -> &'a str {
    let at = text.find(needle).unwrap_or(0);
    let start = (0..=at.saturating_sub(80))
        .rev()
        .find(|i| text.is_char_boundary(*i))
        .unwrap_or(0);
    let end = (at + needle.len() + 80).min(text.len());
    let end = (end..=text.len())
        .find(|i| text.is_char_boundary(*i))
        .unwrap_or(text.len());
    &text[start..end]
}

/// The bytes of a value as an exporter writes it (strings and array elements by length,
/// scalars as 8 bytes).
fn value_size(value: &Value) -> usize {
    match value {
        Value::String(s) => s.as_str().len(),
        Value::Array(Array::String(items)) => items.iter().map(|s| s.as_str().len() + 1).sum(),
        Value::Array(Array::I64(items)) => items.len() * 8,
        Value::Array(Array::F64(items)) => items.len() * 8,
        Value::Array(Array::Bool(items)) => items.len(),
        _ => 8,
    }
}

/// All the attributes of a span, events included, and its status description, in bytes.
fn content_size(span: &SpanData) -> usize {
    let attributes: usize = span
        .attributes
        .iter()
        .map(|kv| kv.key.as_str().len() + value_size(&kv.value))
        .sum();
    let events: usize = span
        .events
        .iter()
        .flat_map(|e| e.attributes.iter())
        .map(|kv| kv.key.as_str().len() + value_size(&kv.value))
        .sum();
    let status = match &span.status {
        Status::Error { description } => description.len(),
        _ => 0,
    };
    attributes + events + status
}

/// The bytes of fixed-size attributes a span may hold beside its content (names, numbers,
/// model names, the URL…).
const FIXED: usize = 4 * 1024;

fn strings(span: &SpanData, key: &str) -> Vec<String> {
    match attribute(span, key) {
        Some(Value::Array(Array::String(items))) => {
            items.iter().map(|s| s.as_str().to_owned()).collect()
        }
        Some(Value::String(s)) => vec![s.as_str().to_owned()],
        Some(other) => vec![other.to_string()],
        None => Vec::new(),
    }
}

/// What the chat span's `gen_ai.output.messages` holds: per message, its tool calls' ids and
/// names.
fn output_tool_calls(span: &SpanData) -> Vec<Vec<(String, String)>> {
    attribute(span, attr::GEN_AI_OUTPUT_MESSAGES)
        .map(|json| output::tool_calls(json.as_str().as_ref()))
        .unwrap_or_default()
}

/// The documented bounds, on every span of a run: identifiers and names, counts, and the
/// content of each span taken together.
#[track_caller]
fn assert_bounded(scenario: &str, run: &Run) {
    assert_none(scenario, bound_violations(scenario, run));
}

/// Panics with every violation found, if any.
#[track_caller]
fn assert_none(scenario: &str, violations: Vec<String>) {
    assert!(
        violations.is_empty(),
        "{scenario}: {} bounds broken:\n{}",
        violations.len(),
        violations.join("\n")
    );
}

/// Pushes the message when the condition does not hold.
macro_rules! check {
    ($broken:ident, $holds:expr, $($message:tt)+) => {
        if !$holds {
            $broken.push(format!($($message)+));
        }
    };
}

/// What [`assert_bounded`] checks: every broken bound, not only the first.
fn bound_violations(scenario: &str, run: &Run) -> Vec<String> {
    let mut broken = Vec::new();
    let max_id = content::max_identifier_length();
    let max_items = content::max_items();
    let budget = content::max_span_content() + FIXED;
    for (caller, traced) in run.traced() {
        let scenario = format!("{scenario}, {caller}");
        bound_violations_of(
            &scenario,
            &traced.spans,
            max_id,
            max_items,
            budget,
            &mut broken,
        );
    }
    broken
}

fn bound_violations_of(
    scenario: &str,
    spans: &Spans,
    max_id: usize,
    max_items: usize,
    budget: usize,
    broken: &mut Vec<String>,
) {
    for span in spans.iter() {
        let size = content_size(span);
        check!(
            broken,
            size <= budget,
            "{scenario}: {} holds {size} bytes of attributes (at most {budget})",
            span.name
        );
        for key in [
            attr::OPENAI_RESPONSE_ID,
            attr::GEN_AI_RESPONSE_ID,
            attr::GEN_AI_RESPONSE_MODEL,
            attr::OPENAI_RESPONSE_SYSTEM_FINGERPRINT,
            attr::OPENAI_RESPONSE_TOOL_CALL_IDS,
            attr::OPENAI_RESPONSE_TOOL_CALL_NAMES,
        ] {
            let values = strings(span, key);
            if let Some(long) = values.iter().find(|v| v.len() > max_id) {
                broken.push(format!(
                    "{scenario}: {key} of {} is {} bytes long (at most {max_id})",
                    span.name,
                    long.len()
                ));
            }
            check!(
                broken,
                values.len() <= max_items,
                "{scenario}: {key} of {} has {} entries (at most {max_items})",
                span.name,
                values.len()
            );
        }
        for key in [
            attr::OPENAI_RESPONSE_TOOL_CALL_IDS,
            attr::OPENAI_RESPONSE_TOOL_CALL_NAMES,
        ] {
            check!(
                broken,
                !strings(span, key).iter().any(String::is_empty)
                    || strings(span, attr::OPENAI_RESPONSE_TOOL_CALL_IDS)
                        .iter()
                        .zip(strings(span, attr::OPENAI_RESPONSE_TOOL_CALL_NAMES))
                        .all(|(id, name)| !id.is_empty() || !name.is_empty()),
                "{scenario}: {key} of {} holds placeholder tool calls",
                span.name
            );
        }
        let reasons = strings(span, attr::GEN_AI_RESPONSE_FINISH_REASONS);
        check!(
            broken,
            reasons.len() <= max_items,
            "{scenario}: {} finish reasons on {} (at most {max_items})",
            reasons.len(),
            span.name
        );
        let messages = output_tool_calls(span);
        check!(
            broken,
            messages.len() <= max_items,
            "{scenario}: {} output messages on {} (at most {max_items})",
            messages.len(),
            span.name
        );
        for calls in &messages {
            check!(
                broken,
                calls.len() <= max_items,
                "{scenario}: {} tool calls in one output message (at most {max_items})",
                calls.len()
            );
            let longest = calls
                .iter()
                .map(|(id, name)| id.len().max(name.len()))
                .max()
                .unwrap_or(0);
            check!(
                broken,
                longest <= max_id,
                "{scenario}: an output tool call's id or name is {longest} bytes (at most {max_id})"
            );
        }
        let placeholders = messages
            .iter()
            .flatten()
            .filter(|(id, name)| id.is_empty() && name.is_empty())
            .count();
        check!(
            broken,
            placeholders == 0,
            "{scenario}: {placeholders} placeholder tool calls (no id, no name) in the output messages"
        );
    }
}

/// The memory of the traced calls against the plain one on the same bytes: the peak may exceed
/// it by what the recording builds (the content attributes, a few copies of at most
/// `max_span_content` each: accumulated texts, the attribute values, the JSON of the output
/// messages) plus [`SLACK`]; what the spans keep, by one copy of that budget per span, with
/// room for the attributes' in-memory overhead.
///
/// The bounds and the memory bounds of a run, all violations reported at once.
#[track_caller]
fn assert_within_bounds(scenario: &str, run: &Run) {
    let mut violations = bound_violations(scenario, run);
    violations.extend(memory_violations(scenario, run));
    assert_none(scenario, violations);
}

/// The memory bounds of [`assert_within_bounds`].
fn memory_violations(scenario: &str, run: &Run) -> Vec<String> {
    let mut broken = Vec::new();
    let budget = (content::max_span_content() + FIXED) as isize;
    for (caller, traced) in run.traced() {
        let extra_peak = traced.memory.peak - run.plain_memory.peak;
        let extra_retained = traced.memory.retained - run.plain_memory.retained;
        check!(
            broken,
            extra_peak <= 4 * budget + SLACK,
            "{scenario}: {caller}'s peak is {:.2} MiB over async-openai's (at most {:.2} MiB)",
            extra_peak as f64 / MIB,
            (4 * budget + SLACK) as f64 / MIB
        );
        let spans = traced.spans.len() as isize;
        check!(
            broken,
            extra_retained <= 2 * budget * spans,
            "{scenario}: {caller}'s {spans} spans keep {:.2} MiB (at most {:.2} MiB)",
            extra_retained as f64 / MIB,
            (2 * budget * spans) as f64 / MIB
        );
    }
    broken
}

/// Prints the memory figures of a run (shown with `--nocapture`, and with a failure).
fn print_memory(scenario: &str, run: &Run) {
    for (caller, traced) in run.traced() {
        eprintln!(
            "{scenario}: plain {}; {caller} {} (+{:.2} MiB peak, +{:.2} MiB retained)",
            run.plain_memory,
            traced.memory,
            (traced.memory.peak - run.plain_memory.peak) as f64 / MIB,
            (traced.memory.retained - run.plain_memory.retained) as f64 / MIB
        );
    }
}

/// What a traced call may allocate at its peak beside its content, whatever the answer: its
/// spans and fixed attributes, the request's JSON, the recorded prompt, metric points, the
/// traceparent. On a small answer the traced peak is within 0.01 MiB of the plain one
/// (`a_small_answer_costs_little`); 2 MiB leaves room for hyper's read buffers, whose sizes
/// follow the timing of the reads, and for a transient copy of about one identifier's size seen
/// with megabyte identifiers (0.9–1.2 MiB over the plain peak, nothing of it retained; not yet
/// traced to its allocation).
const SLACK: isize = 2 * 1024 * 1024;

// --- bodies ---------------------------------------------------------------------------------

fn json_string(text: &str) -> String {
    serde_json::Value::from(text).to_string()
}

fn choice(index: usize, text: &str) -> String {
    format!(
        r#"{{"index":{index},"message":{{"role":"assistant","content":{}}},"logprobs":null,"finish_reason":"stop"}}"#,
        json_string(text)
    )
}

fn tool_call(id: &str, name: &str, arguments: &str) -> String {
    format!(
        r#"{{"id":{},"type":"function","function":{{"name":{},"arguments":{}}}}}"#,
        json_string(id),
        json_string(name),
        json_string(arguments)
    )
}

fn tool_choice(index: usize, calls: &[String]) -> String {
    format!(
        r#"{{"index":{index},"message":{{"role":"assistant","content":null,"tool_calls":[{}]}},"logprobs":null,"finish_reason":"tool_calls"}}"#,
        calls.join(",")
    )
}

fn completion_with(id: &str, model: &str, fingerprint: &str, choices: &[String]) -> String {
    format!(
        r#"{{"id":{},"object":"chat.completion","created":1741569952,"model":{},"choices":[{}],"usage":{{"prompt_tokens":12,"completion_tokens":5,"total_tokens":17}},"system_fingerprint":{}}}"#,
        json_string(id),
        json_string(model),
        choices.join(","),
        json_string(fingerprint)
    )
}

fn completion(choices: &[String]) -> String {
    completion_with("chatcmpl-hostile", MODEL, "fp_hostile", choices)
}

/// A stream chunk: `delta` (a JSON object) for choice `index`.
fn chunk_with(id: &str, model: &str, index: usize, delta: &str) -> String {
    format!(
        r#"{{"id":{},"object":"chat.completion.chunk","created":1741569952,"model":{},"system_fingerprint":"fp_hostile","choices":[{{"index":{index},"delta":{delta},"logprobs":null,"finish_reason":null}}]}}"#,
        json_string(id),
        json_string(model)
    )
}

fn chunk(index: usize, delta: &str) -> String {
    chunk_with("chatcmpl-hostile", MODEL, index, delta)
}

fn text_delta(text: &str) -> String {
    format!(r#"{{"content":{}}}"#, json_string(text))
}

fn tool_delta(index: usize, id: &str, name: &str, arguments: &str) -> String {
    format!(
        r#"{{"tool_calls":[{{"index":{index},"id":{},"type":"function","function":{{"name":{},"arguments":{}}}}}]}}"#,
        json_string(id),
        json_string(name),
        json_string(arguments)
    )
}

fn api_error(message: &str, kind: &str, code: Option<&str>) -> String {
    serde_json::json!({"error": {"message": message, "type": kind, "param": null, "code": code}})
        .to_string()
}

// --- secrets --------------------------------------------------------------------------------

/// The error spans say what went wrong, masked: ERROR with a short description.
#[track_caller]
fn assert_error_spans(scenario: &str, run: &Run) {
    for (caller, traced) in run.traced() {
        let chat = traced.spans.one(attr::SPAN_CHAT_COMPLETION_CREATE);
        let Status::Error { description } = &chat.status else {
            panic!(
                "{scenario}: {caller}'s chat span is ERROR: {:?}",
                chat.status
            )
        };
        assert!(
            !description.is_empty() && description.len() <= 512,
            "{scenario}: {description:?}"
        );
        for http in traced.spans.named(attr::SPAN_HTTP_POST) {
            if let Status::Error { description } = &http.status {
                assert!(description.len() <= 512, "{scenario}: {description:?}");
            }
        }
    }
}

/// A 401 echoing the key as a `Bearer` value, in the `Authorization` header's words, and its
/// tail: for whole answers and streams, through the client and an annotated function.
#[tokio::test]
async fn an_azure_key_echoed_by_a_401_is_masked() {
    let message = format!(
        "Incorrect API key provided: Bearer {KEY}. The header was Authorization: Bearer {KEY}; \
         key ending in ************************{}.",
        &KEY[24..]
    );
    let body = api_error(&message, "invalid_request_error", Some("invalid_api_key"));
    for mode in [Mode::Create, Mode::Stream] {
        let scenario = format!("401 {mode:?}");
        let run = run(Reply::json(401, &body), mode, KEY, true, None).await;
        assert!(run.plain.failed(), "{scenario}: {:?}", run.plain);
        run.assert_same_and_ended(&scenario, 1);
        assert_error_spans(&scenario, &run);
        assert_no_secret(&scenario, run.all_spans(), KEY);
        // Masked, not dropped: the description still says what happened.
        let chat = run.client.spans.one(attr::SPAN_CHAT_COMPLETION_CREATE);
        assert_eq!(
            chat.status,
            Status::error(
                "Incorrect API key provided: Bearer ***. The header was Authorization: Bearer ***; key ending in ***."
            ),
            "{scenario}"
        );
        assert_bounded(&scenario, &run);
    }
}

/// A 200 answer that echoes the key in its text, its id, its model and a tool call (the
/// recorded content, with capture on, and the annotated function's response): masked
/// everywhere, whole answers and streams alike, while the rest of the text is kept.
#[tokio::test]
async fn the_key_echoed_in_an_answer_is_masked_in_the_content() {
    let text = format!("Your key is {KEY}, sent as Bearer {KEY}. Keep it safe.");
    let call = tool_call(
        &format!("call_{KEY}"),
        "lookup",
        &format!(r#"{{"key":"{KEY}"}}"#),
    );
    let body = completion_with(
        &format!("chatcmpl-{KEY}"),
        KEY,
        "fp",
        &[choice(0, &text), tool_choice(1, &[call])],
    );
    let run = run(Reply::json(200, &body), Mode::Create, KEY, true, None).await;
    run.assert_same_and_ended("key in an answer", 1);
    assert_no_secret("key in an answer", run.all_spans(), KEY);
    let chat = run.client.spans.one(attr::SPAN_CHAT_COMPLETION_CREATE);
    let output = traced_chat::testing::str_attribute(chat, attr::GEN_AI_OUTPUT_MESSAGES);
    assert!(output.contains("Keep it safe."), "{output}");

    let events = [
        chunk(0, &text_delta("Your key is ")),
        chunk(0, &text_delta(KEY)),
        chunk(0, &text_delta(". Keep it safe.")),
    ];
    let run = run_with_events(&events).await;
    run.assert_same_and_ended("key in a stream", 1);
    assert_no_secret("key in a stream", run.all_spans(), KEY);
}

async fn run_with_events(events: &[String]) -> Run {
    run(Reply::sse(events, true), Mode::Stream, KEY, true, None).await
}

/// A 500 whose message holds the key in a query string and as a whole word.
#[tokio::test]
async fn an_azure_key_echoed_by_a_500_is_masked() {
    let message = format!(
        "upstream https://gateway.example/openai?api-key={KEY}&v=1 refused key {KEY} (api-key: {KEY})"
    );
    let body = api_error(&message, "server_error", None);
    let run = run(Reply::json(500, &body), Mode::Create, KEY, true, None).await;
    assert!(run.plain.failed());
    run.assert_same_and_ended("500", 1);
    assert_error_spans("500", &run);
    assert_no_secret("500", run.all_spans(), KEY);
    assert_eq!(
        traced_chat::testing::str_attribute(
            run.client.spans.one(attr::SPAN_CHAT_COMPLETION_CREATE),
            attr::ERROR_TYPE
        ),
        "500"
    );
}

/// An SSE `error` event after two chunks, whose message echoes the key and whose `type` is the
/// key itself (a server-chosen name that holds a secret is not kept as `error.type`).
#[tokio::test]
async fn an_azure_key_echoed_by_an_sse_error_event_is_masked() {
    let error = api_error(&format!("Bearer {KEY} was revoked"), KEY, None);
    let events = [
        chunk(0, &text_delta("The meaning")),
        chunk(0, &text_delta(" of life")),
        format!("event: error\ndata: {error}"),
    ];
    let run = run(Reply::sse(&events, false), Mode::Stream, KEY, true, None).await;
    assert!(run.plain.failed(), "{:?}", run.plain);
    run.assert_same_and_ended("SSE error event", 1);
    assert_error_spans("SSE error event", &run);
    assert_no_secret("SSE error event", run.all_spans(), KEY);
    for (_, traced) in run.traced() {
        let chat = traced.spans.one(attr::SPAN_CHAT_COMPLETION_CREATE);
        assert_eq!(
            traced_chat::testing::str_attribute(chat, attr::ERROR_TYPE),
            "_OTHER"
        );
    }
}

/// A redirect loop whose `Location` carries the key (in the path and the query) and 8 KB of
/// padding: reqwest gives up after 10 redirects with the last URL in its error text, which the
/// `HTTP POST` span records bounded and masked.
#[tokio::test]
async fn a_redirect_loop_carrying_the_key_is_masked_and_bounded() {
    let location = format!(
        "/v1/{KEY}/chat/completions?key={KEY}&pad={}",
        "p".repeat(8 * 1024)
    );
    for mode in [Mode::Create, Mode::Stream] {
        let scenario = format!("redirect loop {mode:?}");
        let run = run(
            Reply::Redirect {
                location: location.as_str().into(),
            },
            mode,
            KEY,
            true,
            None,
        )
        .await;
        assert!(run.plain.failed(), "{scenario}: {:?}", run.plain);
        // One attempt each (the redirects happen inside it): 11 requests per caller.
        for (caller, traced) in run.traced() {
            assert_eq!(traced.outcome, run.plain, "{scenario}: {caller}");
            traced.life.assert_all_ended();
            assert_eq!(traced.spans.named(attr::SPAN_HTTP_POST).len(), 1);
        }
        assert_eq!(run.requests, 3 * 11, "{scenario}: 10 redirects followed");
        assert_error_spans(&scenario, &run);
        assert_no_secret(&scenario, run.all_spans(), KEY);
        let http = run.client.spans.one(attr::SPAN_HTTP_POST);
        let Status::Error { description } = &http.status else {
            panic!("{scenario}: the attempt failed: {:?}", http.status)
        };
        assert!(
            description.starts_with("error following redirect"),
            "{scenario}: {description:?}"
        );
        assert!(description.contains("/v1/***/chat"), "{description:?}");
    }
}

/// `sk-` keys, echoed whole and as OpenAI echoes them (`sk-proj-****…tail`), are masked.
#[tokio::test]
async fn sk_keys_are_masked() {
    let echoed = format!("sk-proj-{}{}", "*".repeat(20), &SK_KEY[SK_KEY.len() - 4..]);
    let message =
        format!("Incorrect API key provided: {echoed}. Also seen: {SK_KEY}, Bearer {SK_KEY}.");
    let body = api_error(&message, "invalid_request_error", Some("invalid_api_key"));
    let run = run(Reply::json(401, &body), Mode::Create, SK_KEY, true, None).await;
    print_memory("sk- key", &run);
    run.assert_same_and_ended("sk- key", 1);
    assert_no_secret("sk- key", run.all_spans(), SK_KEY);
    assert_eq!(
        run.client
            .spans
            .one(attr::SPAN_CHAT_COMPLETION_CREATE)
            .status,
        Status::error(
            "Incorrect API key provided: sk-proj-***. Also seen: sk-proj-***, Bearer sk-proj-***."
        )
    );
}

// --- bounds ---------------------------------------------------------------------------------

const MB: usize = 1024 * 1024;

/// 1 MB response id, model, system fingerprint, tool-call id and tool name in a whole answer.
#[tokio::test]
async fn megabyte_identifiers_in_a_whole_answer_are_cut() {
    let big = |c: char| c.to_string().repeat(MB);
    let body = completion_with(
        &big('i'),
        &big('m'),
        &big('f'),
        &[tool_choice(0, &[tool_call(&big('c'), &big('n'), "{}")])],
    );
    let run = run(Reply::json(200, &body), Mode::Create, KEY, true, None).await;
    print_memory("1 MB identifiers", &run);
    run.assert_same_and_ended("1 MB identifiers", 1);
    assert_no_secret("1 MB identifiers", run.all_spans(), KEY);
    assert_within_bounds("1 MB identifiers", &run);
}

/// Long identifiers in a stream (256 KiB each: an SSE line of about 1 MB; async-openai's SSE
/// parser rescans a line from its start on every read, so longer lines cost it seconds).
#[tokio::test]
async fn long_identifiers_in_a_stream_are_cut() {
    let big = |c: char| c.to_string().repeat(256 * 1024);
    let events = [
        chunk_with(
            &big('i'),
            &big('m'),
            0,
            &tool_delta(0, &big('c'), &big('n'), "{}"),
        ),
        chunk(0, &text_delta("done")),
    ];
    let run = run(Reply::sse(&events, true), Mode::Stream, KEY, true, None).await;
    print_memory("long streamed identifiers", &run);
    run.assert_same_and_ended("long streamed identifiers", 1);
    assert_within_bounds("long streamed identifiers", &run);
}

/// A whole answer of 100,000 choices.
#[tokio::test]
async fn a_hundred_thousand_choices_are_bounded() {
    let choices: Vec<String> = (0..100_000).map(|i| choice(i, "forty-two")).collect();
    let body = completion(&choices);
    let run = run(Reply::json(200, &body), Mode::Create, KEY, true, None).await;
    print_memory("100,000 choices", &run);
    run.assert_same_and_ended("100,000 choices", 1);
    assert_within_bounds("100,000 choices", &run);
}

/// A whole answer of one choice with 10,000 tool calls.
#[tokio::test]
async fn ten_thousand_tool_calls_in_a_whole_answer_are_bounded() {
    let calls: Vec<String> = (0..10_000)
        .map(|i| {
            tool_call(
                &format!("call_{i:08}"),
                &format!("get_weather_{i}"),
                &format!(r#"{{"location":"City number {i}","unit":"celsius"}}"#),
            )
        })
        .collect();
    let body = completion(&[tool_choice(0, &calls)]);
    let run = run(Reply::json(200, &body), Mode::Create, KEY, true, None).await;
    print_memory("10,000 tool calls", &run);
    run.assert_same_and_ended("10,000 tool calls", 1);
    assert_within_bounds("10,000 tool calls", &run);
}

/// Sparse streamed indices: tool call 8,000 alone on choice 0, tool call 120 alone on choice
/// 100. Recorded as what arrived: no empty entries for the indices that never came.
#[tokio::test]
async fn sparse_streamed_indices_make_no_phantom_entries() {
    let events = [
        chunk(
            0,
            &tool_delta(8_000, "call_far", "far_away", r#"{"n":8000}"#),
        ),
        chunk(
            100,
            &tool_delta(120, "call_sparse", "sparse", r#"{"n":120}"#),
        ),
    ];
    let run = run(Reply::sse(&events, true), Mode::Stream, KEY, false, None).await;
    print_memory("sparse indices", &run);
    run.assert_same_and_ended("sparse indices", 1);
    assert_bounded("sparse indices", &run);
    let chat = run.client.spans.one(attr::SPAN_CHAT_COMPLETION_CREATE);
    let recorded: Vec<(String, String)> = output_tool_calls(chat).into_iter().flatten().collect();
    assert!(
        recorded.len() <= 2,
        "at most the 2 tool calls that arrived are recorded, not {}",
        recorded.len()
    );
    assert!(
        output_tool_calls(chat).len() <= 2,
        "at most the 2 choices that arrived are recorded, not {}",
        output_tool_calls(chat).len()
    );
    for id in strings(chat, attr::OPENAI_RESPONSE_TOOL_CALL_IDS) {
        assert!(!id.is_empty(), "a placeholder tool-call id");
    }
}

/// 10,000 streamed tool calls spread densely over choices 0 to 128.
#[tokio::test]
async fn dense_streamed_tool_calls_are_bounded() {
    let events: Vec<String> = (0..10_000)
        .map(|i| {
            let choice = i % 129;
            let index = i / 129;
            chunk(
                choice,
                &tool_delta(
                    index,
                    &format!("call_{choice}_{index}"),
                    &format!("tool_{index}"),
                    &format!(r#"{{"city":"City {i}","padding":"{}"}}"#, "x".repeat(40)),
                ),
            )
        })
        .collect();
    let run = run(Reply::sse(&events, true), Mode::Stream, KEY, false, None).await;
    print_memory("dense tool calls", &run);
    run.assert_same_and_ended("dense tool calls", 1);
    assert_within_bounds("dense tool calls", &run);
}

/// The traced call of a small answer costs a small, fixed amount over the plain one: the base
/// of [`SLACK`].
#[tokio::test]
async fn a_small_answer_costs_little() {
    let body = completion(&[choice(0, "forty-two")]);
    let run = run(Reply::json(200, &body), Mode::Create, KEY, true, None).await;
    print_memory("small answer", &run);
    run.assert_same_and_ended("small answer", 1);
    assert_within_bounds("small answer", &run);
    for (caller, traced) in run.traced() {
        let extra = traced.memory.peak - run.plain_memory.peak;
        assert!(
            extra < 512 * 1024,
            "{caller}: +{extra} bytes for a small answer"
        );
    }
}

// --- what already holds ---------------------------------------------------------------------

const STREAM_EVENT_COUNT: usize = 10;

fn endless() -> Reply {
    Reply::Paced {
        event: chunk(0, &text_delta("and on ")).into(),
        interval: Duration::from_millis(5),
        count: None,
    }
}

/// An endless stream cut by the client's timeout: every caller gets chunks then the same
/// timeout error, and every span ends.
#[tokio::test]
async fn an_endless_stream_is_cut_by_the_client_timeout() {
    let timeout = Duration::from_millis(300);
    let started = Instant::now();
    let run = run_with(endless(), Mode::Stream, KEY, true, None, timeout).await;
    assert!(started.elapsed() < Duration::from_secs(10));
    let last_error = |outcome: &Outcome| match outcome {
        Outcome::Streamed(items) => {
            assert!(items.len() > 1, "chunks before the timeout");
            let (last, before) = items.split_last().unwrap();
            assert!(before.iter().all(Result::is_ok));
            last.as_ref().err().map(|e| e.display.clone())
        }
        other => panic!("a stream: {other:?}"),
    };
    let expected = last_error(&run.plain).expect("the plain stream ends in an error");
    for (caller, traced) in run.traced() {
        // How many chunks arrive before the timeout depends on the clock: the end is the same.
        assert_eq!(
            last_error(&traced.outcome).as_deref(),
            Some(expected.as_str()),
            "{caller}"
        );
        traced.life.assert_all_ended();
        let chat = traced.spans.one(attr::SPAN_CHAT_COMPLETION_CREATE);
        assert!(matches!(chat.status, Status::Error { .. }), "{caller}");
    }
    assert_no_secret("endless stream, timeout", run.all_spans(), KEY);
    assert_bounded("endless stream, timeout", &run);
}

/// An endless stream dropped after 50 chunks: the spans end once, marked cancelled.
#[tokio::test]
async fn an_endless_stream_dropped_after_n_chunks_ends_its_spans() {
    let run = run(endless(), Mode::Stream, KEY, true, Some(50)).await;
    run.assert_same_and_ended("endless stream, dropped", 1);
    for (caller, traced) in run.traced() {
        let chat = traced.spans.one(attr::SPAN_CHAT_COMPLETION_CREATE);
        assert_eq!(
            attribute(chat, attr::TRACED_CHAT_CANCELLED),
            Some(&Value::Bool(true)),
            "{caller}: a dropped stream is marked cancelled"
        );
    }
    assert_bounded("endless stream, dropped", &run);
}

/// A slow stream (a chunk every 50 ms) read to its end: the same items for every caller.
#[tokio::test]
async fn a_slow_stream_is_read_to_its_end() {
    let reply = Reply::Paced {
        event: chunk(0, &text_delta("slowly ")).into(),
        interval: Duration::from_millis(50),
        count: Some(STREAM_EVENT_COUNT),
    };
    let run = run(reply, Mode::Stream, KEY, true, None).await;
    let Outcome::Streamed(items) = &run.plain else {
        panic!("{:?}", run.plain)
    };
    assert_eq!(items.len(), STREAM_EVENT_COUNT);
    assert!(items.iter().all(Result::is_ok));
    run.assert_same_and_ended("slow stream", 1);
    assert_bounded("slow stream", &run);
}

/// A reset in the middle of a whole answer's body.
#[tokio::test]
async fn a_reset_mid_body_fails_the_same() {
    let body = completion(&[choice(0, &"forty-two ".repeat(1_000))]);
    let reply = Reply::ResetMidBody {
        head: format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
            body.len()
        ),
        sent: body.len() / 2,
        body: body.into_bytes().into(),
    };
    let run = run(reply, Mode::Create, KEY, true, None).await;
    assert!(run.plain.failed());
    run.assert_same_and_ended("reset mid-body", 1);
    assert_error_spans("reset mid-body", &run);
    assert_no_secret("reset mid-body", run.all_spans(), KEY);
}

const CONCURRENT: usize = 1_000;

/// 1,000 annotated calls at once, half (500) against a server that resets mid-body: every call fails
/// or succeeds as its server says, and each trace is whole and well parented.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_calls_under_resets_keep_their_parents() {
    warm_up().await;
    let good = HostileServer::start(Reply::json(200, &completion(&[choice(0, "ok")])));
    let body = completion(&[choice(0, &"cut ".repeat(500))]);
    let bad = HostileServer::start(Reply::ResetMidBody {
        head: format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
            body.len()
        ),
        sent: body.len() / 3,
        body: body.into_bytes().into(),
    });
    let good_client = traced_client(&good.base_url(), KEY, NO_TIMEOUT);
    let bad_client = traced_client(&bad.base_url(), KEY, NO_TIMEOUT);
    let calls = (0..CONCURRENT).map(|i| {
        let client = if i % 2 == 0 {
            &good_client
        } else {
            &bad_client
        };
        async move {
            let (outcome, spans, life) = in_trace(call_annotated(client, Mode::Create, None)).await;
            (i, outcome, spans, life)
        }
    });
    for (i, outcome, spans, life) in futures_util::future::join_all(calls).await {
        assert_eq!(outcome.failed(), i % 2 == 1, "call {i}: {outcome:?}");
        life.assert_all_ended();
        assert_eq!(spans.len(), 4, "call {i}: {:?}", names(&spans));
        let root = spans.one("hostile");
        let func = spans.one("ask");
        let chat = spans.one(attr::SPAN_CHAT_COMPLETION_CREATE);
        let http = spans.one(attr::SPAN_HTTP_POST);
        assert_eq!(func.parent_span_id, root.span_context.span_id(), "call {i}");
        assert_eq!(chat.parent_span_id, func.span_context.span_id(), "call {i}");
        assert_eq!(http.parent_span_id, chat.span_context.span_id(), "call {i}");
        assert_no_secret("concurrent resets", spans.iter(), KEY);
    }
    assert_eq!(good.requests() + bad.requests(), CONCURRENT);
}

/// async-openai honours `Retry-After` without an upper bound (an hour here): the traced client
/// does the same (it does not paper over it), and a caller's timeout that drops the call in its
/// backoff ends every span once, the chat span marked cancelled.
#[tokio::test]
async fn an_unbounded_retry_after_is_honoured_as_async_openai_does() {
    warm_up().await;
    let body = api_error(
        "Rate limit reached",
        "requests",
        Some("rate_limit_exceeded"),
    );
    let server = HostileServer::start(Reply::Bytes(
        format!(
            "HTTP/1.1 429 Too Many Requests\r\ncontent-type: application/json\r\nretry-after: 3600\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
        .into(),
    ));
    let base_url = server.base_url();
    let plain = async_openai::Client::with_config(config(&base_url, KEY)).with_http_service(
        tower::Layer::layer(
            &OpenAIRetryLayer::new(1),
            ReqwestService::new(http_client(NO_TIMEOUT)),
        ),
    );
    let traced = TracedClient::builder()
        .config(config(&base_url, KEY))
        .http_client(http_client(NO_TIMEOUT))
        .max_retries(1)
        .build();
    let patience = Duration::from_millis(800);
    let (plain_chat, traced_chat) = (plain.chat(), traced.chat());
    let (plain_waited, (traced_waited, spans, life)) = tokio::join!(
        tokio::time::timeout(patience, plain_chat.create(request())),
        in_trace(tokio::time::timeout(
            patience,
            traced_chat.create(request())
        )),
    );
    assert!(
        plain_waited.is_err(),
        "async-openai still waits after {patience:?}"
    );
    assert!(traced_waited.is_err(), "so does the traced client");
    assert_eq!(server.requests(), 2, "one attempt each, then the wait");
    life.assert_all_ended();
    assert_eq!(spans.named(attr::SPAN_HTTP_POST).len(), 1);
    let chat = spans.one(attr::SPAN_CHAT_COMPLETION_CREATE);
    assert_eq!(
        attribute(chat, attr::TRACED_CHAT_CANCELLED),
        Some(&Value::Bool(true))
    );
}
