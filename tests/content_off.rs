//! A deployment switch turns all content capture off, the macro's included (own process: the
//! switch is global). Lengths are still recorded; truncation keeps JSON valid.
#![cfg(feature = "otel")]

use opentelemetry::Value;
use traced_chat::attributes as attr;
use traced_chat::testing::{SpanCapture, attribute};
use traced_chat::traced_chat;

#[traced_chat]
fn echo(prompt: &str) -> String {
    prompt.repeat(2)
}

#[test]
fn global_switch_and_truncation() {
    let capture = SpanCapture::install();

    // Truncation: on a char boundary, with the original length.
    traced_chat::content::set_max_length(5);
    let (_, spans) = capture.trace_sync("test", || echo("héllo wörld"));
    let span = spans.one("echo");
    assert_eq!(
        attribute(span, attr::OPENAI_PROMPT),
        Some(&Value::from("héll"))
    );
    assert_eq!(
        attribute(span, attr::OPENAI_PROMPT_LENGTH),
        Some(&Value::I64(13))
    );
    assert_eq!(
        attribute(span, attr::OPENAI_RESPONSE),
        Some(&Value::from("héll"))
    );
    assert_eq!(
        attribute(span, attr::OPENAI_RESPONSE_LENGTH),
        Some(&Value::I64(26))
    );

    // A 1 MiB prompt is cut to the limit.
    traced_chat::content::set_max_length(traced_chat::content::DEFAULT_MAX_LENGTH);
    let big = "x".repeat(1 << 20);
    let (_, spans) = capture.trace_sync("test", || echo(&big));
    let span = spans.one("echo");
    assert_eq!(
        attribute(span, attr::OPENAI_PROMPT).unwrap().as_str().len(),
        16 * 1024
    );
    assert_eq!(
        attribute(span, attr::OPENAI_PROMPT_LENGTH),
        Some(&Value::I64(1 << 20))
    );

    // Off for the deployment: no text at all, lengths still there.
    traced_chat::content::set_enabled(false);
    let (_, spans) = capture.trace_sync("test", || echo("secret prompt"));
    let span = spans.one("echo");
    assert!(attribute(span, attr::OPENAI_PROMPT).is_none());
    assert!(attribute(span, attr::OPENAI_RESPONSE).is_none());
    assert_eq!(
        attribute(span, attr::OPENAI_PROMPT_LENGTH),
        Some(&Value::I64(13))
    );
    let client = traced_chat::TracedClient::builder()
        .capture_content(true)
        .build();
    drop(client); // building with capture_content(true) under the switch must not re-enable it
    assert!(!traced_chat::content::enabled());
}
