//! What the fuzz targets share: the in-process transport, the SDK pipeline, the traced and plain
//! clients, the knobs a hash of the input picks, and the checks of the documented bounds and of
//! the configured key.
#![allow(dead_code)] // each target uses part of it

use std::convert::Infallible;
use std::sync::{Arc, Mutex, OnceLock};

use async_openai::Client;
use async_openai::config::OpenAIConfig;
use async_openai::error::OpenAIError;
use async_openai::middleware::HttpRequestFactory;
use async_openai::types::chat::{
    ChatCompletionRequestUserMessage, CreateChatCompletionRequest, CreateChatCompletionRequestArgs,
};
use bytes::Bytes;
use opentelemetry::trace::Status;
use opentelemetry::{Array, Value};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use traced_chat::attributes as attr;
use traced_chat::content;
use traced_chat::testing::{SpanLedger, Spans, attribute};
use traced_chat::{Semconv, TracedClient};

/// The key the traced client is configured with: of no known shape, so only its registration
/// masks it (whole, and its last 8 bytes with the token around them).
pub const KEY: &str = "fz.Custom/Key+Value~42kQw0";

/// Content limits the hash picks from: tiny ones cut inside multi-byte characters.
const MAX_LENGTHS: [usize; 8] = [1, 2, 3, 4, 7, 16, 64, content::DEFAULT_MAX_LENGTH];
/// Frame sizes the body is cut into (0: one frame).
const FRAME_SIZES: [usize; 6] = [0, 0, 1, 2, 3, 61];
/// Identifier limits: tiny, or the default.
const ID_LENGTHS: [usize; 4] = [
    4,
    16,
    content::DEFAULT_MAX_IDENTIFIER_LENGTH,
    content::DEFAULT_MAX_IDENTIFIER_LENGTH,
];
/// Item limits: tiny, or the default.
const ITEMS: [usize; 4] = [1, 3, content::DEFAULT_MAX_ITEMS, content::DEFAULT_MAX_ITEMS];
/// Span budgets: small, or the default.
const BUDGETS: [usize; 4] = [
    256,
    4096,
    content::DEFAULT_MAX_SPAN_CONTENT,
    content::DEFAULT_MAX_SPAN_CONTENT,
];
/// Statuses of a whole answer.
const STATUSES: [u16; 4] = [200, 200, 401, 500];

/// The configuration one input runs with, from a hash of it (so a crash reproduces from the
/// input alone).
#[derive(Debug, Clone, Copy)]
pub struct Knobs {
    pub max_length: usize,
    pub annotated: bool,
    pub frame: usize,
    /// Items read before the stream is dropped (`usize::MAX`: to its end).
    pub read: usize,
    pub max_id: usize,
    pub max_items: usize,
    pub budget: usize,
    pub status: u16,
}

impl Knobs {
    pub fn of(data: &[u8]) -> Knobs {
        let h = hash(data);
        let pick = |shift: u32, n: usize| ((h >> shift) % n as u64) as usize;
        Knobs {
            max_length: MAX_LENGTHS[(h & 7) as usize],
            annotated: h & 8 != 0,
            frame: FRAME_SIZES[pick(4, FRAME_SIZES.len())],
            // One input in four: read 0-3 items, then drop the stream.
            read: if (h >> 8) & 3 == 0 {
                ((h >> 10) & 3) as usize
            } else {
                usize::MAX
            },
            max_id: ID_LENGTHS[pick(12, 4)],
            max_items: ITEMS[pick(14, 4)],
            budget: BUDGETS[pick(16, 4)],
            status: STATUSES[pick(18, 4)],
        }
    }

    /// Sets the content policy of this input.
    pub fn apply(&self) {
        content::set_max_length(self.max_length);
        content::set_max_identifier_length(self.max_id);
        content::set_max_items(self.max_items);
        content::set_max_span_content(self.budget);
    }

    /// Whether the span budget is the default one, which no input of 4 KiB reaches: texts are
    /// then cut by the content limit only.
    pub fn default_budget(&self) -> bool {
        self.budget == content::DEFAULT_MAX_SPAN_CONTENT
    }
}

/// FNV-1a: a cheap, stable hash of the input.
pub fn hash(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// What the in-process transport answers with next: status, body, content type, frame size.
#[derive(Clone)]
pub struct Served(Arc<Mutex<(u16, Bytes, &'static str, usize)>>);

impl Served {
    pub fn set(&self, status: u16, body: Bytes, content_type: &'static str, frame: usize) {
        *self.0.lock().unwrap() = (status, body, content_type, frame);
    }

    /// The response, its body in frames of the chosen size.
    pub fn response(&self) -> reqwest::Response {
        let (status, body, content_type, frame) = self.0.lock().unwrap().clone();
        // At most 64 frames: byte-by-byte delivery of a 4 KiB body costs more than it finds.
        let frame = if frame == 0 {
            0
        } else {
            frame.max(body.len().div_ceil(64))
        };
        let frames: Vec<Result<http_body::Frame<Bytes>, Infallible>> = if frame == 0 {
            vec![Ok(http_body::Frame::data(body))]
        } else {
            (0..body.len())
                .step_by(frame)
                .map(|start| {
                    let end = (start + frame).min(body.len());
                    Ok(http_body::Frame::data(body.slice(start..end)))
                })
                .collect()
        };
        let body = http_body_util::StreamBody::new(futures_util::stream::iter(frames));
        reqwest::Response::from(
            http::Response::builder()
                .status(status)
                .header("content-type", content_type)
                .body(reqwest::Body::wrap(body))
                .unwrap(),
        )
    }
}

pub struct Fixture {
    pub runtime: tokio::runtime::Runtime,
    pub provider: SdkTracerProvider,
    pub exporter: InMemorySpanExporter,
    pub ledger: SpanLedger,
    pub served: Served,
    pub traced: TracedClient,
    pub plain: Client<OpenAIConfig>,
    /// `FUZZ_DEBUG` (or `SSE_STREAM_DEBUG`) set: print what each input did.
    pub debug: bool,
}

fn config() -> OpenAIConfig {
    OpenAIConfig::new()
        .with_api_base("http://fuzz.invalid/v1")
        .with_api_key(KEY)
}

pub fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        content::set_enabled(true);
        let exporter = InMemorySpanExporter::default();
        let ledger = SpanLedger::default();
        let provider = SdkTracerProvider::builder()
            .with_span_processor(ledger.clone())
            .with_simple_exporter(exporter.clone())
            .build();
        opentelemetry::global::set_tracer_provider(provider.clone());
        let served = Served(Arc::new(Mutex::new((
            200,
            Bytes::new(),
            "application/json",
            0,
        ))));
        let traced = {
            let served = served.clone();
            TracedClient::builder()
                .config(config())
                .transport(tower::service_fn(move |_: reqwest::Request| {
                    let response = served.response();
                    async move { Ok::<_, reqwest::Error>(response) }
                }))
                .semconv(Semconv::Both)
                .capture_content(true)
                .max_retries(0)
                .build()
        };
        let plain = {
            let served = served.clone();
            Client::with_config(config()).with_http_service(tower::service_fn(
                move |factory: HttpRequestFactory| {
                    let served = served.clone();
                    async move {
                        factory.build().await?;
                        Ok::<_, OpenAIError>(served.response())
                    }
                },
            ))
        };
        Fixture {
            runtime: tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap(),
            provider,
            exporter,
            ledger,
            served,
            traced,
            plain,
            debug: std::env::var_os("FUZZ_DEBUG").is_some()
                || std::env::var_os("SSE_STREAM_DEBUG").is_some(),
        }
    })
}

pub fn request() -> CreateChatCompletionRequest {
    CreateChatCompletionRequestArgs::default()
        .model("gpt-4o-mini")
        .messages([ChatCompletionRequestUserMessage::from("fuzz").into()])
        .build()
        .unwrap()
}

pub fn str_attr<'a>(span: &'a SpanData, key: &str) -> Option<&'a str> {
    match attribute(span, key)? {
        Value::String(s) => Some(s.as_str()),
        other => panic!("{key} is not a string: {other:?}"),
    }
}

pub fn int_attr(span: &SpanData, key: &str) -> Option<i64> {
    match attribute(span, key)? {
        Value::I64(v) => Some(*v),
        other => panic!("{key} is not an integer: {other:?}"),
    }
}

pub fn strings_attr(span: &SpanData, key: &str) -> Vec<String> {
    match attribute(span, key) {
        None => Vec::new(),
        Some(Value::Array(Array::String(v))) => v.iter().map(|s| s.to_string()).collect(),
        Some(other) => panic!("{key} is not a string array: {other:?}"),
    }
}

/// `kept` is `full` cut to `max` bytes on a character boundary.
#[track_caller]
pub fn assert_cut(what: &str, kept: &str, full: &str, max: usize) {
    assert!(
        kept.len() <= max,
        "{what}: {} bytes > limit {max}",
        kept.len()
    );
    assert!(
        full.starts_with(kept),
        "{what}: {kept:?} is not a prefix of {full:?}"
    );
    assert_eq!(
        kept,
        traced_chat::testing::truncate(full, max),
        "{what}: cut at the wrong place (limit {max})"
    );
}

/// The `(id, name)` of each tool call of each message of `gen_ai.output.messages`.
pub fn output_calls(span: &SpanData) -> Option<Vec<Vec<(String, String)>>> {
    let json: serde_json::Value =
        serde_json::from_str(str_attr(span, attr::GEN_AI_OUTPUT_MESSAGES)?)
            .expect("gen_ai.output.messages is JSON");
    Some(
        json.as_array()
            .expect("output messages are an array")
            .iter()
            .map(|message| {
                message["parts"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|part| part["type"] == "tool_call")
                    .map(|part| {
                        let field = |key: &str| part[key].as_str().unwrap_or("").to_owned();
                        (field("id"), field("name"))
                    })
                    .collect()
            })
            .collect(),
    )
}

/// The attributes of a chat span whose size depends on the exchange, together.
pub fn variable_bytes(span: &SpanData) -> usize {
    let texts = [
        attr::GEN_AI_INPUT_MESSAGES,
        attr::GEN_AI_OUTPUT_MESSAGES,
        attr::GEN_AI_SYSTEM_INSTRUCTIONS,
    ]
    .iter()
    .filter_map(|key| str_attr(span, key))
    .map(str::len);
    let lists = [
        attr::OPENAI_RESPONSE_TOOL_CALL_IDS,
        attr::OPENAI_RESPONSE_TOOL_CALL_NAMES,
    ]
    .iter()
    .flat_map(|key| strings_attr(span, key))
    .map(|value| value.len());
    texts.chain(lists).sum()
}

/// The documented bounds on the chat span, whatever the server sent: identifiers and names
/// (attributes, and inside `gen_ai.output.messages`) within the identifier limit; at most
/// `max_items` choices, tool calls per choice and finish reasons; the variable-size attributes
/// within the span budget.
#[track_caller]
pub fn assert_bounded(chat: &SpanData, knobs: &Knobs) {
    for key in [
        attr::OPENAI_RESPONSE_ID,
        attr::GEN_AI_RESPONSE_ID,
        attr::GEN_AI_RESPONSE_MODEL,
        attr::OPENAI_RESPONSE_SYSTEM_FINGERPRINT,
    ] {
        if let Some(value) = str_attr(chat, key) {
            assert!(value.len() <= knobs.max_id, "{key}: {} bytes", value.len());
        }
    }
    for key in [
        attr::OPENAI_RESPONSE_TOOL_CALL_IDS,
        attr::OPENAI_RESPONSE_TOOL_CALL_NAMES,
        attr::GEN_AI_RESPONSE_FINISH_REASONS,
    ] {
        let values = strings_attr(chat, key);
        assert!(
            values.len() <= knobs.max_items,
            "{key}: {} values",
            values.len()
        );
        if key != attr::GEN_AI_RESPONSE_FINISH_REASONS {
            for value in &values {
                assert!(value.len() <= knobs.max_id, "{key}: {} bytes", value.len());
            }
        }
    }
    if let Some(messages) = output_calls(chat) {
        assert!(
            messages.len() <= knobs.max_items,
            "{} output messages",
            messages.len()
        );
        for calls in &messages {
            assert!(
                calls.len() <= knobs.max_items,
                "{} tool calls in a message",
                calls.len()
            );
            for (id, name) in calls {
                assert!(
                    id.len() <= knobs.max_id && name.len() <= knobs.max_id,
                    "an output tool call's id or name is too long: {id:?} {name:?}"
                );
            }
        }
    }
    let size = variable_bytes(chat);
    assert!(
        size <= knobs.budget,
        "{size} bytes > budget {}",
        knobs.budget
    );
}

/// Every exported byte of a span: its console JSON and its `Debug`.
pub fn exported(span: &SpanData) -> String {
    let resource = opentelemetry_sdk::Resource::builder_empty().build();
    format!(
        "{}\n{span:?}",
        traced_chat::testing::span_to_json(span, &resource)
    )
}

/// The error texts of a span: its status description, its events (the exception's message and
/// type) and `error.type`.
pub fn error_texts(span: &SpanData) -> String {
    let status = match &span.status {
        Status::Error { description } => description.to_string(),
        _ => String::new(),
    };
    format!(
        "{status}\n{:?}\n{:?}",
        span.events.iter().collect::<Vec<_>>(),
        attribute(span, attr::ERROR_TYPE)
    )
}

/// Neither the configured key nor its last 8 bytes is in `text` (of `span`).
#[track_caller]
pub fn assert_no_key(what: &str, text: &str) {
    for needle in [KEY, &KEY[KEY.len() - 8..]] {
        assert!(!text.contains(needle), "{what} holds {needle:?}: {text}");
    }
}

/// Every span that started ended exactly once and was exported; the trace holds the root, the
/// chat span, one `HTTP POST` and, when annotated, the function's span.
#[track_caller]
pub fn assert_ended(
    spans: &Spans,
    life: &traced_chat::testing::Lifecycle,
    exported: usize,
    annotated: bool,
) {
    life.assert_all_ended();
    assert_eq!(exported, spans.len(), "every ended span is exported");
    spans.one(attr::SPAN_CHAT_COMPLETION_CREATE);
    assert_eq!(spans.named(attr::SPAN_HTTP_POST).len(), 1);
    assert_eq!(spans.len(), 3 + usize::from(annotated), "{life:?}");
}
