//! Fuzz target: an arbitrary server-sent-events body served to a `TracedClient` stream.
//!
//! The input is the response body of a streamed chat completion (`200`, `text/event-stream`),
//! served through an in-process transport. The traced stream is read (to its end, or a few items
//! and then dropped), inside a root span of an SDK pipeline that exports to an in-memory
//! exporter. The same bytes are also served to a plain `async_openai::Client`.
//!
//! A few knobs come from a hash of the input, so every input runs one fixed configuration and a
//! crash reproduces from the input alone: the content limit (1 byte to 16 KiB), the identifier
//! limit, the item limit and the span budget (tiny, or the defaults), whether the stream is
//! returned through a `#[traced_chat]` function, how the body is cut into frames, and whether
//! the stream is read to its end or dropped early.
//!
//! Invariants (a violation panics, which libFuzzer reports as a crash):
//! - nothing panics;
//! - the traced stream yields exactly the items the plain async-openai stream yields for the same
//!   bytes (`Ok` compared as JSON values, `Err` by `Display`);
//! - every span that started ended exactly once; the chat span is marked cancelled exactly when
//!   the stream was dropped before its end, and has status ERROR when an error item was yielded;
//! - the bounds: identifiers and names cut to the identifier limit (the response id is the first
//!   non-empty one, cut), at most `max_items` choices, tool calls per choice and finish reasons,
//!   the variable-size attributes within the span budget; one output message per choice index
//!   that arrived (the first that arrived, in index order, none for an index that never came);
//! - the recorded text (`gen_ai.output.messages` on the chat span, `openai.response` on the
//!   function's span) is a prefix of each choice's concatenated `delta.content`, within the
//!   content limit; with the default span budget, choice 0 alone is cut exactly to the limit,
//!   several choices get at least an equal share of it, and `openai.response.length` is the full
//!   length; JSON attributes parse; token counts and lengths are non-negative; the usage is the
//!   last chunk's that carried one;
//! - the key the client is configured with, and its last 8 bytes, are in no error text (status
//!   description, events, `error.type`) of any span.
#![no_main]

mod common;

use async_openai::error::OpenAIError;
use async_openai::types::chat::CreateChatCompletionStreamResponse;
use bytes::Bytes;
use futures_util::StreamExt as _;
use libfuzzer_sys::fuzz_target;
use opentelemetry::trace::{
    FutureExt as _, Status, TraceContextExt as _, Tracer as _, TracerProvider as _,
};
use opentelemetry::{Array, Context, Value};
use traced_chat::attributes as attr;
use traced_chat::testing::attribute;
use traced_chat::{TracedChatStream, TracedClient, traced_chat};

use common::{Knobs, assert_cut, fixture, int_attr, request, str_attr};

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

/// The distinct values of `values`, in the order they first came.
fn distinct<T: PartialEq>(values: impl IntoIterator<Item = T>) -> Vec<T> {
    let mut seen = Vec::new();
    for value in values {
        if !seen.contains(&value) {
            seen.push(value);
        }
    }
    seen
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    let knobs = Knobs::of(data);
    let (max, annotated, read) = (knobs.max_length, knobs.annotated, knobs.read);
    knobs.apply();
    f.served.set(
        200,
        Bytes::copy_from_slice(data),
        "text/event-stream",
        knobs.frame,
    );

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
            "{knobs:?}, ended {ended}: {} items ({} chunks), spans {:?}",
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
    common::assert_ended(&spans, &life, exported.len(), annotated);
    let chat = spans.one(attr::SPAN_CHAT_COMPLETION_CREATE);

    // Attributes are well formed.
    for span in spans.iter() {
        for kv in &span.attributes {
            let key = kv.key.as_str();
            match &kv.value {
                Value::I64(v)
                    if key.ends_with("tokens")
                        || key.ends_with(".length")
                        || key.ends_with("count")
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
                    assert!(v.len() <= knobs.max_items, "{key}: {} values", v.len())
                }
                _ => {}
            }
        }
        // The configured key is never in an error text.
        common::assert_no_key(
            &format!("{}'s error texts", span.name),
            &common::error_texts(span),
        );
    }
    common::assert_bounded(chat, &knobs);

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

    // The texts: one message per choice index that arrived (the first that arrived, in index
    // order), each a prefix of that choice's deltas within the limit; with the default budget,
    // cut to the limit (one choice) or to at least an equal share of it (several).
    let text_of = |index: u32| -> String {
        chunks
            .iter()
            .flat_map(|c| &c.choices)
            .filter(|c| c.index == index)
            .filter_map(|c| c.delta.content.as_deref())
            .collect()
    };
    let full = text_of(0);
    let arrived = distinct(chunks.iter().flat_map(|c| &c.choices).map(|c| c.index));
    // No output messages when no choice arrived (or, with a small budget, when they did not fit).
    let output: serde_json::Value = match str_attr(chat, attr::GEN_AI_OUTPUT_MESSAGES) {
        Some(json) => serde_json::from_str(json).unwrap(),
        None => {
            assert!(
                arrived.is_empty() || !knobs.default_budget(),
                "no output messages for {} choices",
                arrived.len()
            );
            serde_json::Value::Array(Vec::new())
        }
    };
    let messages = output.as_array().expect("output messages are an array");
    let kept = arrived.len().min(knobs.max_items);
    assert!(
        messages.len() <= kept,
        "{} messages for {kept} choices",
        messages.len()
    );
    if knobs.default_budget() {
        assert_eq!(
            messages.len(),
            kept,
            "one output message per choice that arrived"
        );
    }
    let mut recorded = arrived[..messages.len()].to_vec();
    recorded.sort_unstable();
    for (message, &index) in messages.iter().zip(&recorded) {
        let first = &message["parts"][0];
        let text_part = if first["type"] == "text" {
            first["content"].as_str().unwrap()
        } else {
            ""
        };
        let text = text_of(index);
        assert!(
            text_part.len() <= max,
            "choice {index}: {} bytes > limit {max}",
            text_part.len()
        );
        assert!(
            text.starts_with(text_part),
            "choice {index}: {text_part:?} is not a prefix of {text:?}"
        );
        if knobs.default_budget() {
            if messages.len() == 1 {
                assert_cut("gen_ai.output.messages", text_part, &text, max);
            } else {
                let share = traced_chat::testing::truncate(&text, max / messages.len());
                assert!(
                    text_part.len() >= share.len(),
                    "choice {index}: cut below an equal share"
                );
            }
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
        .find(|id| !id.is_empty())
        .map(|id| traced_chat::testing::truncate(id, knobs.max_id));
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
            .any(|c| c.delta.tool_calls.as_ref().is_some_and(|t| !t.is_empty()));
        // An error at the end is recorded instead of the text; a tool-call-only answer as a
        // summary of its calls.
        let summary = full.is_empty() && tool_calls;
        // Choice 0 is the function's response when it was recorded (it may come after as many
        // other choices as are recorded).
        let first_recorded = recorded.contains(&0) || !arrived.contains(&0);
        if !(failed && ended) && !summary && knobs.default_budget() && first_recorded {
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
