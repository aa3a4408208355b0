//! Fuzz target: an arbitrary body served as the answer of a whole (non-streamed) chat
//! completion, with a `200`, a `401` or a `500`.
//!
//! The input is the response body (`application/json`), served through an in-process transport
//! to a `TracedClient` and to a plain `async_openai::Client`. A hash of the input picks the
//! status, the content limit, the identifier limit, the item limit, the span budget and whether
//! the call goes through a `#[traced_chat]` function, so a crash reproduces from the input alone.
//!
//! Invariants (a violation panics, which libFuzzer reports as a crash):
//! - nothing panics; the caller gets exactly what async-openai gives (the answer compared as a
//!   JSON value, an error by `Display`);
//! - every span that started ended exactly once and was exported; the chat span is ERROR exactly
//!   when the call failed;
//! - the bounds: identifiers and names cut to the identifier limit (the response id and model
//!   are the answer's, cut), at most `max_items` choices, tool calls per choice and finish
//!   reasons, the variable-size attributes within the span budget; the output messages are the
//!   answer's first choices, their tool calls the first of each choice, ids and names cut;
//! - when the call failed, the key the client is configured with, and its last 8 bytes, are in
//!   no exported byte of any span.
#![no_main]

mod common;

use async_openai::error::OpenAIError;
use async_openai::types::chat::{ChatCompletionMessageToolCalls, CreateChatCompletionResponse};
use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use opentelemetry::trace::{
    FutureExt as _, Status, TraceContextExt as _, Tracer as _, TracerProvider as _,
};
use opentelemetry::{Context, Value};
use traced_chat::attributes as attr;
use traced_chat::{TracedClient, traced_chat};

use common::{Knobs, fixture, request, str_attr};

#[traced_chat]
async fn ask(
    client: &TracedClient,
    prompt: &str,
) -> Result<CreateChatCompletionResponse, OpenAIError> {
    let _ = prompt;
    client.chat().create(request()).await
}

/// A call's outcome in a comparable form.
fn outcome(
    result: &Result<CreateChatCompletionResponse, OpenAIError>,
) -> Result<serde_json::Value, String> {
    match result {
        Ok(answer) => Ok(serde_json::to_value(answer).expect("an answer serializes")),
        Err(error) => Err(error.to_string()),
    }
}

fn call_parts(call: &ChatCompletionMessageToolCalls) -> (&str, &str) {
    match call {
        ChatCompletionMessageToolCalls::Function(f) => (&f.id, &f.function.name),
        ChatCompletionMessageToolCalls::Custom(c) => (&c.id, &c.custom_tool.name),
    }
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    let knobs = Knobs::of(data);
    knobs.apply();
    f.served.set(
        knobs.status,
        Bytes::copy_from_slice(data),
        "application/json",
        knobs.frame,
    );

    // What plain async-openai makes of these bytes.
    let expected = f
        .runtime
        .block_on(async { outcome(&f.plain.chat().create(request()).await) });

    let tracer = f.provider.tracer("fuzz");
    let root = Context::new().with_span(tracer.start_with_context("fuzz", &Context::new()));
    let trace_id = root.span().span_context().trace_id();
    let result = f.runtime.block_on(
        async {
            if knobs.annotated {
                ask(&f.traced, "fuzz").await
            } else {
                f.traced.chat().create(request()).await
            }
        }
        .with_context(root.clone()),
    );
    root.span().end();
    let (spans, life) = f.ledger.forget(trace_id);
    let exported = f.exporter.get_finished_spans().unwrap_or_default();
    f.exporter.reset();

    if f.debug {
        eprintln!("{knobs:?}: {:?}", result.as_ref().map(|_| "answer"));
        for span in spans.iter() {
            eprintln!("  {}: {:?} {:?}", span.name, span.status, span.attributes);
        }
    }

    assert_eq!(
        outcome(&result),
        expected,
        "the caller gets async-openai's outcome"
    );
    common::assert_ended(&spans, &life, exported.len(), knobs.annotated);
    let chat = spans.one(attr::SPAN_CHAT_COMPLETION_CREATE);
    assert_eq!(
        matches!(chat.status, Status::Error { .. }),
        result.is_err(),
        "ERROR status iff the call failed: {:?}",
        chat.status
    );
    for span in spans.iter() {
        for kv in &span.attributes {
            if let Value::I64(v) = &kv.value {
                let key = kv.key.as_str();
                if key.ends_with("tokens") || key.ends_with(".length") || key.ends_with("count") {
                    assert!(*v >= 0, "{key} = {v}");
                }
            }
        }
    }
    common::assert_bounded(chat, &knobs);

    match &result {
        Ok(answer) => {
            let cut = |text: &str| traced_chat::testing::truncate(text, knobs.max_id).to_owned();
            assert_eq!(
                str_attr(chat, attr::GEN_AI_RESPONSE_ID),
                Some(cut(&answer.id).as_str())
            );
            assert_eq!(
                str_attr(chat, attr::GEN_AI_RESPONSE_MODEL),
                Some(cut(&answer.model).as_str())
            );
            // Recorded by position: the first choices and their first tool calls, cut.
            if let Some(messages) = common::output_calls(chat) {
                assert!(messages.len() <= answer.choices.len());
                for (calls, choice) in messages.iter().zip(&answer.choices) {
                    let sent = choice.message.tool_calls.as_deref().unwrap_or_default();
                    assert!(calls.len() <= sent.len());
                    for ((id, name), call) in calls.iter().zip(sent) {
                        let (sent_id, sent_name) = call_parts(call);
                        assert!(
                            sent_id.starts_with(id.as_str()),
                            "{id:?} is not a cut of {sent_id:?}"
                        );
                        assert!(
                            sent_name.starts_with(name.as_str()),
                            "{name:?} is not a cut of {sent_name:?}"
                        );
                    }
                }
            }
        }
        Err(_) => {
            // Nothing of the body is content: the key is in no exported byte.
            for span in spans.iter() {
                common::assert_no_key(&span.name, &common::exported(span));
            }
        }
    }
});
