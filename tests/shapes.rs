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
    let capture = SpanCapture::new();
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
    let capture = SpanCapture::new();
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
    let capture = SpanCapture::new();
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

// --- the remaining shapes of issue 4, each checked at run time --------------------------------

#[traced_chat(prompt = prompt.as_ref())]
fn generic_where<P, R>(prompt: P, suffix: &R) -> String
where
    P: AsRef<str>,
    R: std::fmt::Display + ?Sized,
{
    format!("{}{suffix}", prompt.as_ref())
}

#[traced_chat]
fn impl_trait_arg(prompt: impl std::fmt::Display) -> Box<str> {
    prompt.to_string().into_boxed_str()
}

#[traced_chat(prompt = question)]
fn tuple_pattern((question, _context): (&str, u8), _: u8) -> Arc<String> {
    Arc::new(question.len().to_string())
}

#[traced_chat]
pub(crate) unsafe fn unsafe_fn(prompt: &str) -> String {
    prompt.chars().rev().collect()
}

#[traced_chat]
fn early_return(prompt: &str) -> Option<String> {
    if prompt.is_empty() {
        return None;
    }
    let n: usize = prompt.parse().ok()?;
    Some((n * 2).to_string())
}

#[traced_chat]
fn loop_break(prompt: &str) -> String {
    let mut i = 0;
    loop {
        i += 1;
        if i == 3 {
            break format!("{prompt}{i}");
        }
    }
}

#[traced_chat]
fn failing(prompt: &str) -> Result<String, std::fmt::Error> {
    let _ = prompt;
    Err(std::fmt::Error)
}

trait Answer {
    fn answer(self, prompt: &str) -> String;
}

struct Owned(&'static str);

impl Answer for Owned {
    #[traced_chat]
    fn answer(self, prompt: &str) -> String {
        format!("{}: {prompt}", self.0)
    }
}

#[tokio::test]
async fn remaining_shapes_record_their_spans() {
    let capture = SpanCapture::new();
    let (_, spans) = capture.trace_sync("test", || {
        assert_eq!(generic_where("g", "!"), "g!");
        assert_eq!(&*impl_trait_arg(42), "42");
        assert_eq!(*tuple_pattern(("abc", 1), 2), "3");
        // SAFETY: `unsafe_fn` has no safety requirement; it is unsafe to test the shape.
        assert_eq!(unsafe { unsafe_fn("ab") }, "ba");
        assert_eq!(Owned("bot").answer("hi"), "bot: hi");
        assert_eq!(loop_break("x"), "x3");
    });
    check(&spans, "generic_where", Some("g"), Some("g!"));
    check(&spans, "impl_trait_arg", Some("42"), Some("42"));
    check(&spans, "tuple_pattern", Some("abc"), Some("3"));
    check(&spans, "unsafe_fn", Some("ab"), Some("ba"));
    check(&spans, "answer", Some("hi"), Some("bot: hi"));
    check(&spans, "loop_break", Some("x"), Some("x3"));

    // Early `return` and `?` leave through the same path: the span ends with what was returned.
    let (_, spans) = capture.trace_sync("test", || {
        assert_eq!(early_return(""), None);
        assert_eq!(early_return("x"), None);
        assert_eq!(early_return("21").as_deref(), Some("42"));
    });
    let ends: Vec<_> = spans.named("early_return");
    assert_eq!(ends.len(), 3);
    let responses: Vec<_> = ends.iter().map(|s| text(s, "openai.response")).collect();
    assert_eq!(responses, [None, None, Some("42")]);
    assert!(ends.iter().all(|s| s.status == Status::Unset));

    let (_, spans) = capture.trace_sync("test", || failing("f").unwrap_err());
    let span = spans.one("failing");
    assert!(
        matches!(&span.status, Status::Error { description } if description == "an error occurred when formatting an argument")
    );
    assert_eq!(text(span, "error.type"), Some("Error"));
    assert_eq!(text(span, "openai.response"), None);
}

// --- futures returned by functions that are not `async` ----------------------------------------

#[traced_chat]
fn before(prompt: &str) -> String {
    prompt.len().to_string()
}

/// Ends in an `async` block: traced from the block's first poll, as `#[tracing::instrument]`
/// does; the prompt and fields are recorded at the call, the statements before the block run at
/// the call, outside the span.
#[traced_chat(fields(app.words = words))]
fn lazy(prompt: String, words: i64) -> impl Future<Output = String> {
    let n = before(&prompt);
    async move {
        tokio::task::yield_now().await;
        format!("{} {n}", sync_fn(&prompt))
    }
}

/// Returns a future made elsewhere: traced from its first poll too.
#[traced_chat]
fn eager(prompt: String) -> impl Future<Output = String> {
    std::future::ready(prompt.to_uppercase())
}

/// A hand-written `Box::pin(async …)`: traced from its first poll, as an `#[async_trait]` method.
#[traced_chat(skip(response))]
fn pinned(prompt: &str) -> std::pin::Pin<Box<dyn Future<Output = usize> + Send + '_>> {
    Box::pin(async move { prompt.len() })
}

macro_rules! endpoint {
    ($name:ident($arg:ident) -> $ret:ty $body:block) => {
        #[traced_chat]
        fn $name($arg: String) -> $ret $body
    };
}

// `$ret` arrives as a `ty` fragment, an invisible group around `impl Future<…> + Send`.
endpoint!(generated(prompt) -> impl Future<Output = String> + Send {
    async move { prompt.repeat(3) }
});

const PAUSE: std::time::Duration = std::time::Duration::from_millis(20);

#[tokio::test]
async fn future_ending_in_an_async_block_is_traced_from_its_first_poll() {
    let capture = SpanCapture::new();
    let bot = Bot {
        history: vec!["h".into()],
    };
    // Built under one root, awaited under another after a pause.
    let (futures, built) = capture.trace_sync("built", || {
        (
            lazy("q".into(), 2),
            pinned("pp"),
            bot.chat("c"),
            generated("g".into()),
        )
    });
    tokio::time::sleep(PAUSE).await;
    let polled = std::time::SystemTime::now();
    let ((lazy_out, pinned_out, chat_out, generated_out), spans) = capture
        .trace("test", async {
            let (a, b, c, d) = futures;
            (a.await, b.await, c.await, d.await)
        })
        .await;
    assert_eq!(lazy_out, "Q 1");
    check(&spans, "lazy", Some("q"), Some("Q 1"));
    check(&spans, "pinned", Some("pp"), None);
    check(&spans, "chat", Some("c"), Some("C (1)"));
    check(&spans, "generated", Some("g"), Some("ggg"));
    assert_eq!(
        (pinned_out, chat_out.as_str(), generated_out.as_str()),
        (2, "C (1)", "ggg")
    );
    for name in ["lazy", "pinned", "chat", "generated"] {
        let span = spans.one(name);
        assert!(
            span.start_time >= polled,
            "{name} started before its first poll"
        );
        assert!(
            built.named(name).is_empty(),
            "{name} in the trace it was built in"
        );
    }
    let lazy_span = spans.one("lazy");
    assert_eq!(attribute(lazy_span, "app.words"), Some(&Value::I64(2)));
    // The body's `async` block runs inside the span; the statements before it ran at the call.
    let inside: Vec<_> = spans
        .children_of(lazy_span)
        .iter()
        .map(|s| &s.name)
        .collect();
    assert_eq!(inside, ["sync_fn"]);
    assert_eq!(
        built
            .parent_of(built.one("before"))
            .map(|p| p.name.as_ref()),
        Some("built")
    );
    assert!(spans.named("before").is_empty());

    // Dropped before its first poll, like an `async fn`'s future: no span, only the statements
    // before the block ran.
    let (_, spans) = capture.trace_sync("test", || drop(lazy("never".into(), 0)));
    assert!(spans.named("lazy").is_empty());
    assert_eq!(text(spans.one("before"), "openai.prompt"), Some("never"));
}

#[tokio::test]
async fn future_made_elsewhere_is_traced_from_its_first_poll_too() {
    let capture = SpanCapture::new();
    let ((created, polled), spans) = capture
        .trace("test", async {
            let future = eager("e".into());
            let created = std::time::SystemTime::now();
            tokio::time::sleep(PAUSE).await;
            let polled = std::time::SystemTime::now();
            assert_eq!(future.await, "E");
            (created, polled)
        })
        .await;
    check(&spans, "eager", Some("e"), Some("E"));
    let span = spans.one("eager");
    assert!(span.start_time >= polled && span.start_time > created);

    // Its parent is the context current at its first poll: built outside any span and awaited
    // inside one, it is that span's child.
    let future = eager("later".into());
    let (_, spans) = capture.trace("test", future).await;
    let span = spans.one("eager");
    assert_eq!(text(span, "openai.prompt"), Some("later"));
    assert_eq!(spans.parent_of(span).map(|p| p.name.as_ref()), Some("test"));
}
