//! Fuzz target: an arbitrary server-sent-events body served to a `TracedClient` stream.
//!
//! The input is the response body of a streamed chat completion (`200`, `text/event-stream`),
//! served through an in-process transport. The traced stream is read (to its end, or a few items
//! and then dropped), inside a root span of an SDK pipeline that exports to an in-memory
//! exporter. The same bytes are also served to a plain `async_openai::Client`.
//!
//! A few knobs come from a hash of the input, so every input runs one fixed configuration and a
//! crash reproduces from the input alone: the content limit (1 byte to 16 KiB), whether the
//! stream is returned through a `#[traced_chat]` function, how the body is cut into frames, and
//! whether the stream is read to its end or dropped early.
//!
//! Invariants (a violation panics, which libFuzzer reports as a crash):
//! - nothing panics;
//! - the traced stream yields exactly the items the plain async-openai stream yields for the same
//!   bytes (`Ok` compared as JSON values, `Err` by `Display`);
//! - every span that started ended exactly once; the chat span is marked cancelled exactly when
//!   the stream was dropped before its end, and has status ERROR when an error item was yielded;
//! - the recorded text (`gen_ai.output.messages` on the chat span, `openai.response` on the
//!   function's span) is the concatenated `delta.content` of choice 0 cut to the content limit on
//!   a character boundary (so a prefix, within the limit); with several choices, one output
//!   message per choice, each text a prefix within the limit and at least an equal share of it;
//!   `openai.response.length` is the full length; JSON attributes parse; token counts and
//!   lengths are non-negative; the usage and response id are those of the chunks.
#![no_main]

use std::convert::Infallible;
use std::sync::{Arc, Mutex, OnceLock};

use async_openai::Client;
use async_openai::config::OpenAIConfig;
use async_openai::error::OpenAIError;
use async_openai::middleware::HttpRequestFactory;
use async_openai::types::chat::{
    ChatCompletionRequestUserMessage, CreateChatCompletionRequest, CreateChatCompletionRequestArgs,
    CreateChatCompletionStreamResponse,
};
use bytes::Bytes;
use futures_util::StreamExt as _;
use libfuzzer_sys::fuzz_target;
use opentelemetry::trace::{
    FutureExt as _, Status, TraceContextExt as _, Tracer as _, TracerProvider as _,
};
use opentelemetry::{Array, Context, Value};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use traced_chat::attributes as attr;
use traced_chat::content;
use traced_chat::testing::{SpanLedger, attribute};
use traced_chat::{Semconv, TracedChatStream, TracedClient, traced_chat};

/// Content limits the hash picks from: tiny ones cut inside multi-byte characters.
const MAX_LENGTHS: [usize; 8] = [1, 2, 3, 4, 7, 16, 64, content::DEFAULT_MAX_LENGTH];
/// Frame sizes the body is cut into (0: one frame).
const FRAME_SIZES: [usize; 6] = [0, 0, 1, 2, 3, 61];

/// What the in-process transport answers with next: the body and its frame size.
#[derive(Clone, Default)]
struct Served(Arc<Mutex<(Bytes, usize)>>);

impl Served {
    fn set(&self, body: Bytes, frame: usize) {
        *self.0.lock().unwrap() = (body, frame);
    }

    /// A `200 text/event-stream` response with the body, in frames of the chosen size.
    fn response(&self) -> reqwest::Response {
        let (body, frame) = self.0.lock().unwrap().clone();
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
                .status(200)
                .header("content-type", "text/event-stream")
                .body(reqwest::Body::wrap(body))
                .unwrap(),
        )
    }
}

struct Fixture {
    runtime: tokio::runtime::Runtime,
    provider: SdkTracerProvider,
    exporter: InMemorySpanExporter,
    ledger: SpanLedger,
    served: Served,
    traced: TracedClient,
    plain: Client<OpenAIConfig>,
    /// `SSE_STREAM_DEBUG` set: print what each input did.
    debug: bool,
}

fn config() -> OpenAIConfig {
    OpenAIConfig::new()
        .with_api_base("http://fuzz.invalid/v1")
        .with_api_key("sk-fuzz")
}

fn fixture() -> &'static Fixture {
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
        let served = Served::default();
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
            debug: std::env::var_os("SSE_STREAM_DEBUG").is_some(),
        }
    })
}

fn request() -> CreateChatCompletionRequest {
    CreateChatCompletionRequestArgs::default()
        .model("gpt-4o-mini")
        .messages([ChatCompletionRequestUserMessage::from("fuzz").into()])
        .build()
        .unwrap()
}

#[traced_chat]
async fn ask_stream(client: &TracedClient, prompt: &str) -> Result<TracedChatStream, OpenAIError> {
    let _ = prompt;
    client.chat().create_stream(request()).await
}

/// One stream item in a comparable form.
#[derive(Debug, PartialEq)]
enum Item {
    Ok(serde_json::Value),
    Err(String),
}

fn item(result: &Result<CreateChatCompletionStreamResponse, OpenAIError>) -> Item {
    match result {
        Ok(chunk) => Item::Ok(serde_json::to_value(chunk).expect("a chunk serializes")),
        Err(error) => Item::Err(error.to_string()),
    }
}

/// FNV-1a: a cheap, stable hash of the input.
fn hash(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

fn str_attr<'a>(span: &'a SpanData, key: &str) -> Option<&'a str> {
    match attribute(span, key)? {
        Value::String(s) => Some(s.as_str()),
        other => panic!("{key} is not a string: {other:?}"),
    }
}

fn int_attr(span: &SpanData, key: &str) -> Option<i64> {
    match attribute(span, key)? {
        Value::I64(v) => Some(*v),
        other => panic!("{key} is not an integer: {other:?}"),
    }
}

/// `kept` is `full` cut to `max` bytes on a character boundary.
#[track_caller]
fn assert_cut(what: &str, kept: &str, full: &str, max: usize) {
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

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    let h = hash(data);
    let max = MAX_LENGTHS[(h & 7) as usize];
    let annotated = h & 8 != 0;
    let frame = FRAME_SIZES[((h >> 4) % FRAME_SIZES.len() as u64) as usize];
    // One input in four: read 0-3 items, then drop the stream.
    let read = if (h >> 8) & 3 == 0 {
        ((h >> 10) & 3) as usize
    } else {
        usize::MAX
    };
    content::set_max_length(max);
    f.served.set(Bytes::copy_from_slice(data), frame);

    // What plain async-openai makes of these bytes.
    let expected: Vec<Item> = f.runtime.block_on(async {
        let mut stream = f
            .plain
            .chat()
            .create_stream(request())
            .await
            .expect("a 200 opens a stream");
        let mut items = Vec::new();
        while let Some(result) = stream.next().await {
            items.push(item(&result));
        }
        items
    });

    // The traced stream, under a root span.
    let tracer = f.provider.tracer("fuzz");
    let root = Context::new().with_span(tracer.start_with_context("fuzz", &Context::new()));
    let trace_id = root.span().span_context().trace_id();
    let (items, chunks, ended) = f.runtime.block_on(
        async {
            let stream = if annotated {
                ask_stream(&f.traced, "fuzz").await
            } else {
                f.traced.chat().create_stream(request()).await
            };
            let mut stream = stream.expect("a 200 opens a stream");
            let mut items = Vec::new();
            let mut chunks = Vec::new();
            let mut ended = false;
            while items.len() < read {
                match stream.next().await {
                    Some(result) => {
                        items.push(item(&result));
                        if let Ok(chunk) = result {
                            chunks.push(chunk);
                        }
                    }
                    None => {
                        ended = true;
                        break;
                    }
                }
            }
            (items, chunks, ended)
        }
        .with_context(root.clone()),
    );
    root.span().end();
    let (spans, life) = f.ledger.forget(trace_id);
    let exported = f.exporter.get_finished_spans().unwrap_or_default();
    f.exporter.reset();

    if f.debug {
        eprintln!(
            "limit {max}, annotated {annotated}, frames of {frame}, read {read}, ended {ended}: \
             {} items ({} chunks), spans {:?}",
            items.len(),
            chunks.len(),
            spans.iter().map(|s| s.name.as_ref()).collect::<Vec<_>>(),
        );
        for span in spans.iter() {
            eprintln!("  {}: {:?} {:?}", span.name, span.status, span.attributes);
        }
    }

    // The caller gets exactly async-openai's items.
    if ended {
        assert_eq!(
            items, expected,
            "the traced stream yields async-openai's items"
        );
    } else {
        assert_eq!(
            items[..],
            expected[..items.len()],
            "the traced stream yields async-openai's items"
        );
    }

    // Every span ended exactly once, and was exported.
    life.assert_all_ended();
    assert_eq!(exported.len(), spans.len(), "every ended span is exported");
    let chat = spans.one(attr::SPAN_CHAT_COMPLETION_CREATE);
    assert_eq!(spans.named(attr::SPAN_HTTP_POST).len(), 1);
    assert_eq!(spans.len(), 3 + usize::from(annotated), "{life:?}");

    // Attributes are well formed.
    for span in spans.iter() {
        for kv in &span.attributes {
            let key = kv.key.as_str();
            match &kv.value {
                Value::I64(v)
                    if key.ends_with("tokens")
                        || key.ends_with(".length")
                        || key.ends_with(".created") =>
                {
                    assert!(*v >= 0, "{key} = {v}")
                }
                Value::String(s)
                    if key == attr::GEN_AI_OUTPUT_MESSAGES
                        || key == attr::GEN_AI_INPUT_MESSAGES =>
                {
                    assert!(
                        serde_json::from_str::<serde_json::Value>(s.as_str()).is_ok(),
                        "{key} is not JSON: {s}"
                    )
                }
                Value::F64(v) if key == attr::GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK => {
                    assert!(v.is_finite() && *v >= 0.0, "{key} = {v}")
                }
                Value::Array(Array::String(v)) => {
                    assert!(v.len() <= 129, "{key}: {} values", v.len())
                }
                _ => {}
            }
        }
    }

    // Cancelled exactly when dropped before the end; ERROR when an error was yielded.
    let cancelled = attribute(chat, attr::TRACED_CHAT_CANCELLED) == Some(&Value::Bool(true));
    assert_eq!(cancelled, !ended, "cancelled iff dropped early");
    let failed = items.iter().any(|i| matches!(i, Item::Err(_)));
    assert_eq!(
        matches!(chat.status, Status::Error { .. }),
        failed,
        "ERROR status iff an error was yielded: {:?}",
        chat.status
    );
    let first_chunk = chat
        .events
        .iter()
        .any(|e| e.name == attr::EVENT_FIRST_CHUNK);
    assert_eq!(
        first_chunk,
        !chunks.is_empty(),
        "a first-chunk event iff a chunk arrived"
    );

    // The texts: each choice's deltas, cut to the limit (choice 0) or to at least an equal
    // share of it (one message per choice when there are several).
    let text_of = |index: u32| -> String {
        chunks
            .iter()
            .flat_map(|c| &c.choices)
            .filter(|c| c.index == index)
            .filter_map(|c| c.delta.content.as_deref())
            .collect()
    };
    let full = text_of(0);
    let choices = chunks
        .iter()
        .flat_map(|c| &c.choices)
        .map(|c| c.index)
        .filter(|&i| i <= 128)
        .max()
        .map_or(0, |i| i as usize + 1);
    let output: serde_json::Value = serde_json::from_str(
        str_attr(chat, attr::GEN_AI_OUTPUT_MESSAGES).expect("output messages"),
    )
    .unwrap();
    let messages = output.as_array().expect("output messages are an array");
    assert_eq!(messages.len(), choices, "one output message per choice");
    for (index, message) in messages.iter().enumerate() {
        let first = &message["parts"][0];
        let recorded = if first["type"] == "text" {
            first["content"].as_str().unwrap()
        } else {
            ""
        };
        let text = text_of(index as u32);
        if choices == 1 {
            assert_cut("gen_ai.output.messages", recorded, &text, max);
        } else {
            assert!(
                recorded.len() <= max,
                "choice {index}: {} bytes > limit {max}",
                recorded.len()
            );
            assert!(
                text.starts_with(recorded),
                "choice {index}: {recorded:?} is not a prefix of {text:?}"
            );
            let share = traced_chat::testing::truncate(&text, max / choices);
            assert!(
                recorded.len() >= share.len(),
                "choice {index}: cut below an equal share"
            );
        }
    }
    let usage = chunks.iter().rev().find_map(|c| c.usage.as_ref());
    assert_eq!(
        int_attr(chat, attr::GEN_AI_USAGE_INPUT_TOKENS),
        usage.map(|u| i64::from(u.prompt_tokens))
    );
    let first_id = chunks
        .iter()
        .map(|c| c.id.as_str())
        .find(|id| !id.is_empty());
    assert_eq!(str_attr(chat, attr::GEN_AI_RESPONSE_ID), first_id);

    if annotated {
        let func = spans.one("ask_stream");
        assert_eq!(
            spans.parent_of(chat).map(|s| s.name.as_ref()),
            Some("ask_stream")
        );
        let tool_calls = chunks
            .iter()
            .flat_map(|c| &c.choices)
            .filter(|c| c.index == 0)
            .flat_map(|c| c.delta.tool_calls.iter().flatten())
            .any(|t| t.index <= 128);
        // An error at the end is recorded instead of the text; a tool-call-only answer as a
        // summary of its calls.
        let summary = full.is_empty() && tool_calls;
        if !(failed && ended) && !summary {
            let text = str_attr(func, attr::OPENAI_RESPONSE).unwrap_or("");
            assert_cut("openai.response", text, &full, max);
            assert_eq!(
                int_attr(func, attr::OPENAI_RESPONSE_LENGTH),
                Some(full.len() as i64),
                "openai.response.length"
            );
        }
    }
});
