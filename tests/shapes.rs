//! What each function shape records: one span per call, named after the function (or `name`),
//! INTERNAL, child of the current span, with the prompt, the response, fields, and the right end
//! (ERROR on panic, cancelled when a future is dropped).
#![cfg(feature = "otel")]

use std::future::Future;
use std::sync::Arc;

use async_trait::async_trait;
use opentelemetry::Value;
use opentelemetry::trace::{SpanKind, Status};
use traced_chat::testing::{SpanCapture, SpanData, Spans, attribute};
use traced_chat::traced_chat;

fn text<'a>(span: &'a SpanData, key: &str) -> Option<&'a str> {
    match attribute(span, key) {
        Some(Value::String(s)) => Some(s.as_str()),
        None => None,
        other => panic!("{key} on {}: {other:?}", span.name),
    }
}

#[track_caller]
fn check(spans: &Spans, name: &str, prompt: Option<&str>, response: Option<&str>) {
    let span = spans.one(name);
    assert_eq!(span.span_kind, SpanKind::Internal, "{name}");
    assert_eq!(
        spans.parent_of(span).map(|p| p.name.as_ref()),
        Some("test"),
        "{name}"
    );
    assert_eq!(text(span, "openai.prompt"), prompt, "{name}");
    assert_eq!(text(span, "openai.response"), response, "{name}");
}

#[traced_chat]
fn sync_fn(prompt: &str) -> String {
    prompt.to_uppercase()
}

#[traced_chat(name = "renamed", prompt = question, fields(user.id = id, "app.tier" = "free"))]
async fn async_fn(question: String, id: i64) -> Result<String, std::fmt::Error> {
    tokio::task::yield_now().await;
    Ok(format!("{question}!"))
}

#[traced_chat]
fn impl_future(prompt: String) -> impl Future<Output = String> {
    async move {
        tokio::task::yield_now().await;
        prompt.repeat(2)
    }
}

struct Bot {
    history: Vec<String>,
}

impl Bot {
    #[traced_chat]
    fn remember(&mut self, prompt: String) -> &str {
        self.history.push(prompt);
        self.history.last().unwrap()
    }

    #[traced_chat(skip(response))]
    async fn shared(self: Arc<Self>, prompt: &str) -> usize {
        self.history.len() + prompt.len()
    }
}

#[async_trait]
trait Chat {
    async fn chat(&self, prompt: &str) -> String;
}

#[async_trait]
impl Chat for Bot {
    #[traced_chat]
    async fn chat(&self, prompt: &str) -> String {
        // The span is current inside the async-trait future: a nested call is its child.
        let inner = sync_fn(prompt);
        format!("{inner} ({})", self.history.len())
    }
}

#[traced_chat(content = false)]
fn panics(prompt: &str) -> String {
    panic!("{prompt}")
}

#[traced_chat]
async fn never_finishes(prompt: &str) -> String {
    std::future::pending::<()>().await;
    prompt.to_owned()
}

#[tokio::test]
async fn every_shape_records_its_span() {
    let capture = SpanCapture::install();
    let mut bot = Bot {
        history: Vec::new(),
    };
    let (_, spans) = capture
        .trace("test", async {
            assert_eq!(sync_fn("a"), "A");
            assert_eq!(async_fn("b".into(), 7).await.unwrap(), "b!");
            assert_eq!(impl_future("c".into()).await, "cc");
            assert_eq!(bot.remember("d".into()), "d");
        })
        .await;
    check(&spans, "sync_fn", Some("a"), Some("A"));
    check(&spans, "renamed", Some("b"), Some("b!"));
    let renamed = spans.one("renamed");
    assert_eq!(attribute(renamed, "user.id"), Some(&Value::I64(7)));
    assert_eq!(text(renamed, "app.tier"), Some("free"));
    check(&spans, "impl_future", Some("c"), Some("cc"));
    check(&spans, "remember", Some("d"), Some("d"));

    let bot = Arc::new(bot);
    let (_, spans) = capture
        .trace("test", async {
            assert_eq!(bot.chat("e").await, "E (1)");
            assert_eq!(bot.clone().shared("ff").await, 3);
        })
        .await;
    check(&spans, "chat", Some("e"), Some("E (1)"));
    let chat = spans.one("chat");
    let nested = spans.one("sync_fn");
    assert_eq!(
        spans.parent_of(nested).map(|p| p.name.as_ref()),
        Some("chat")
    );
    assert_eq!(text(nested, "openai.prompt"), Some("e"));
    assert!(chat.end_time >= nested.end_time);
    check(&spans, "shared", Some("ff"), None);
}

#[tokio::test]
async fn panic_ends_the_span_with_error() {
    let capture = SpanCapture::install();
    let (result, spans) =
        capture.trace_sync("test", || std::panic::catch_unwind(|| panics("boom")));
    assert!(result.is_err());
    let span = spans.one("panics");
    assert!(
        matches!(span.status, Status::Error { .. }),
        "{:?}",
        span.status
    );
    assert_eq!(text(span, "openai.prompt"), None);
}

#[tokio::test]
async fn dropped_future_ends_the_span() {
    let capture = SpanCapture::install();
    let (_, spans) = capture
        .trace("test", async {
            let timeout =
                tokio::time::timeout(std::time::Duration::from_millis(10), never_finishes("g"));
            assert!(timeout.await.is_err());
        })
        .await;
    let span = spans.one("never_finishes");
    assert_eq!(text(span, "openai.prompt"), Some("g"));
    assert_eq!(text(span, "openai.response"), None);
    assert_eq!(
        attribute(span, "traced_chat.cancelled"),
        Some(&Value::Bool(true))
    );
}
