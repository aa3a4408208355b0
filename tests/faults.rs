//! Faults from the API never change what the caller gets, and never leave a span open.
//!
//! Each fault of the matrix is served by a real server on 127.0.0.1 and called three ways: with a
//! plain `async_openai::Client` (the reference), with `TracedClient`, and through a
//! `#[traced_chat]` function wrapping the `TracedClient` call. Both clients get the same HTTP
//! client (same timeout) and the same retry layer and budget. The traced callers must get exactly
//! what the plain client got (for an error: its `Debug`, `Display` and source chain; for a stream:
//! every item), every span that started must have ended, the chat span and the function's span
//! must be ERROR with a short, low-cardinality `error.type`, and each `HTTP POST` span must
//! describe its own attempt. A panic inside an annotated function ends its span as ERROR and
//! reaches the caller unchanged.
#![cfg(feature = "otel")]

#[path = "common/outcome.rs"]
mod outcome;
mod support;

use std::time::Duration;

use async_openai::config::OpenAIConfig;
use async_openai::error::OpenAIError;
use async_openai::middleware::ReqwestService;
use async_openai::middleware::retry::OpenAIRetryLayer;
use async_openai::types::chat::CreateChatCompletionResponse;
use opentelemetry::Value;
use opentelemetry::trace::{FutureExt as _, Status};
use traced_chat::attributes as attr;
use traced_chat::testing::{
    Lifecycle, MockOpenAI, SpanCapture, SpanData, Spans, TEST_API_KEY, attribute, fixtures,
    int_attribute, str_attribute,
};
use traced_chat::{TracedChatStream, TracedClient, traced_chat};

use outcome::{Outcome, read_stream};
use support::{RawServer, Script, request};

/// Retries after a 429, a 5xx or a connection error, for both clients (one keeps tests fast and
/// still shows one `HTTP POST` span per attempt).
const RETRIES: usize = 1;
const MODEL: &str = "gpt-4o-mini";
const PROMPT: &str = "What is the meaning of life?";
/// The client timeout of the slow-server case, and how long that server waits.
const TIMEOUT: Duration = Duration::from_millis(250);
const SLOW: Duration = Duration::from_secs(3);
/// The client timeout of every other case: only a safety net.
const NO_TIMEOUT: Duration = Duration::from_secs(20);

const UNAVAILABLE: &str = r#"{"error":{"message":"The engine is currently overloaded, please try again later.","type":"server_error","param":null,"code":null}}"#;
const MALFORMED: &str = r#"{"id": "chatcmpl-1", "object": "chat.completion", "choices": ["#;
const SSE_ERROR: &str = r#"{"error":{"message":"The server had an error while processing your request. Sorry about that!","type":"server_error","param":null,"code":null}}"#;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    BadRequest,
    Unauthorized,
    NotFound,
    RateLimited,
    ServerError,
    Unavailable,
    ConnectionRefused,
    ResetMidBody,
    SlowServer,
    MalformedJson,
    SseCut,
    SseErrorEvent,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// `chat().create(..)`.
    Create,
    /// `chat().create_stream(..)`, the stream read to its end.
    Stream,
}

/// What one HTTP attempt should look like on its `HTTP POST` span.
#[derive(Debug, Clone, Copy)]
enum Attempt {
    /// A response with this status (ERROR from 400 on, `error.type` the status).
    Status(u16),
    /// No response: ERROR, `error.type` this transport kind.
    Transport(&'static str),
}

impl Fault {
    /// The modes the fault is called in.
    fn modes(self) -> &'static [Mode] {
        match self {
            Fault::ResetMidBody | Fault::MalformedJson => &[Mode::Create],
            Fault::SseCut | Fault::SseErrorEvent => &[Mode::Stream],
            _ => &[Mode::Create, Mode::Stream],
        }
    }

    /// The `error.type` of the chat span and the function's span.
    fn error_type(self) -> &'static str {
        match self {
            Fault::BadRequest => "context_length_exceeded",
            Fault::Unauthorized => "invalid_api_key",
            Fault::NotFound => "model_not_found",
            Fault::RateLimited => "rate_limit_exceeded",
            Fault::ServerError => "500",
            Fault::Unavailable => "503",
            Fault::ConnectionRefused => "connect",
            // reqwest says "decode"; the body never arrived whole: not a malformed answer.
            Fault::ResetMidBody => "body",
            Fault::SlowServer => "timeout",
            Fault::MalformedJson => "decode",
            Fault::SseCut => "stream",
            // The event's API error object, typed by its `type` (it has no code).
            Fault::SseErrorEvent => "server_error",
        }
    }

    /// A part of the chat span's status description: what went wrong, in a few words.
    fn message_part(self) -> &'static str {
        match self {
            Fault::BadRequest => "maximum context length is 16385 tokens",
            Fault::Unauthorized => "Incorrect API key provided: sk-***.",
            Fault::NotFound => "does not exist",
            Fault::RateLimited => "Rate limit reached",
            Fault::ServerError => "server had an error",
            Fault::Unavailable => "currently overloaded",
            Fault::ConnectionRefused | Fault::SlowServer => "error sending request",
            Fault::ResetMidBody => "error decoding response body",
            Fault::MalformedJson => "failed to deserialize api response: EOF",
            Fault::SseCut => "stream failed",
            Fault::SseErrorEvent => "The server had an error while processing your request",
        }
    }

    /// The `HTTP POST` spans under the chat span, in order.
    fn attempts(self) -> Vec<Attempt> {
        let retried = |attempt| vec![attempt; RETRIES + 1];
        match self {
            Fault::BadRequest => vec![Attempt::Status(400)],
            Fault::Unauthorized => vec![Attempt::Status(401)],
            Fault::NotFound => vec![Attempt::Status(404)],
            Fault::RateLimited => retried(Attempt::Status(429)),
            Fault::ServerError => retried(Attempt::Status(500)),
            Fault::Unavailable => retried(Attempt::Status(503)),
            Fault::ConnectionRefused => retried(Attempt::Transport("connect")),
            Fault::SlowServer => vec![Attempt::Transport("timeout")],
            Fault::ResetMidBody | Fault::MalformedJson | Fault::SseCut | Fault::SseErrorEvent => {
                vec![Attempt::Status(200)]
            }
        }
    }

    fn timeout(self) -> Duration {
        match self {
            Fault::SlowServer => TIMEOUT,
            _ => NO_TIMEOUT,
        }
    }
}

/// The server a fault is served by, kept alive for the calls.
enum Server {
    Mock(MockOpenAI),
    Raw(RawServer),
    /// Nothing listens on this base URL: its port is held by a socket that is bound but not
    /// listening, so no other test's server can take it while connections to it are refused.
    Nobody {
        url: String,
        _held: tokio::net::TcpSocket,
    },
}

impl Server {
    fn base_url(&self) -> String {
        match self {
            Server::Mock(mock) => mock.base_url(),
            Server::Raw(raw) => raw.base_url(),
            Server::Nobody { url, .. } => url.clone(),
        }
    }

    /// How many requests reached the server (`None`: nobody listens).
    async fn requests(&self) -> Option<usize> {
        match self {
            Server::Mock(mock) => Some(mock.received_requests().await.len()),
            Server::Raw(raw) => Some(raw.requests()),
            Server::Nobody { .. } => None,
        }
    }
}

/// The `data:` payloads of the streamed fixture.
fn stream_events() -> Vec<String> {
    fixtures::CHAT_STREAM_WITH_USAGE
        .lines()
        .filter_map(|line| line.strip_prefix("data: "))
        .filter(|data| *data != "[DONE]")
        .map(str::to_owned)
        .collect()
}

async fn serve(fault: Fault) -> Server {
    async fn answering(status: u16, body: &str) -> Server {
        let mock = MockOpenAI::start().await;
        mock.answer(status, body).await;
        Server::Mock(mock)
    }
    match fault {
        Fault::BadRequest => answering(400, fixtures::ERROR_400_CONTEXT_LENGTH).await,
        Fault::Unauthorized => answering(401, fixtures::ERROR_401_INVALID_API_KEY).await,
        Fault::NotFound => answering(404, fixtures::ERROR_404_MODEL_NOT_FOUND).await,
        Fault::RateLimited => answering(429, fixtures::ERROR_429_RATE_LIMIT).await,
        Fault::ServerError => answering(500, fixtures::ERROR_500_SERVER).await,
        Fault::Unavailable => answering(503, UNAVAILABLE).await,
        Fault::MalformedJson => answering(200, MALFORMED).await,
        Fault::ConnectionRefused => {
            let socket = tokio::net::TcpSocket::new_v4().unwrap();
            socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
            let port = socket.local_addr().unwrap().port();
            Server::Nobody {
                url: format!("http://127.0.0.1:{port}/v1"),
                _held: socket,
            }
        }
        Fault::ResetMidBody => Server::Raw(
            RawServer::start(Script::ResetMidBody {
                body: fixtures::CHAT_COMPLETION.to_owned(),
                sent: fixtures::CHAT_COMPLETION.len() / 2,
            })
            .await,
        ),
        Fault::SlowServer => {
            let mock = MockOpenAI::start().await;
            mock.answer_delayed(200, fixtures::CHAT_COMPLETION, SLOW)
                .await;
            Server::Mock(mock)
        }
        Fault::SseCut => Server::Raw(
            RawServer::start(Script::SseThenReset {
                events: stream_events()[..3].to_vec(),
            })
            .await,
        ),
        Fault::SseErrorEvent => {
            let events = stream_events();
            let sse = format!(
                "data: {}\n\ndata: {}\n\nevent: error\ndata: {SSE_ERROR}\n\n",
                events[0], events[1]
            );
            let mock = MockOpenAI::start().await;
            mock.answer_stream(&sse).await;
            Server::Mock(mock)
        }
    }
}

fn config(base_url: &str) -> OpenAIConfig {
    OpenAIConfig::new()
        .with_api_base(base_url)
        .with_api_key(TEST_API_KEY)
}

fn http_client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder().timeout(timeout).build().unwrap()
}

/// async-openai's own stack with `RETRIES`: its retry layer around its reqwest service.
fn plain_client(base_url: &str, timeout: Duration) -> async_openai::Client<OpenAIConfig> {
    let service = tower::Layer::layer(
        &OpenAIRetryLayer::new(RETRIES),
        ReqwestService::new(http_client(timeout)),
    );
    async_openai::Client::with_config(config(base_url)).with_http_service(service)
}

fn traced_client(base_url: &str, timeout: Duration) -> TracedClient {
    TracedClient::builder()
        .config(config(base_url))
        .http_client(http_client(timeout))
        .max_retries(RETRIES)
        .build()
}

// --- what the caller got --------------------------------------------------------------------

#[traced_chat]
async fn ask(
    client: &TracedClient,
    prompt: &str,
) -> Result<CreateChatCompletionResponse, OpenAIError> {
    client.chat().create(request(MODEL, prompt)).await
}

#[traced_chat]
async fn ask_stream(client: &TracedClient, prompt: &str) -> Result<TracedChatStream, OpenAIError> {
    client.chat().create_stream(request(MODEL, prompt)).await
}

async fn call_plain(client: &async_openai::Client<OpenAIConfig>, mode: Mode) -> Outcome {
    match mode {
        Mode::Create => client.chat().create(request(MODEL, PROMPT)).await.into(),
        Mode::Stream => {
            read_stream(
                client.chat().create_stream(request(MODEL, PROMPT)).await,
                None,
            )
            .await
        }
    }
}

async fn call_traced(client: &TracedClient, mode: Mode) -> Outcome {
    match mode {
        Mode::Create => client.chat().create(request(MODEL, PROMPT)).await.into(),
        Mode::Stream => {
            read_stream(
                client.chat().create_stream(request(MODEL, PROMPT)).await,
                None,
            )
            .await
        }
    }
}

async fn call_annotated(client: &TracedClient, mode: Mode) -> Outcome {
    match mode {
        Mode::Create => ask(client, PROMPT).await.into(),
        Mode::Stream => read_stream(ask_stream(client, PROMPT).await, None).await,
    }
}

// --- what the spans say ---------------------------------------------------------------------

/// A short, low-cardinality class: an API code, an HTTP status or a kind, never a message.
#[track_caller]
fn assert_clean_error_type(error_type: &str) {
    assert!(
        !error_type.is_empty()
            && error_type.len() <= 40
            && (error_type == "_OTHER"
                || error_type
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')),
        "not a clean error.type: {error_type:?}"
    );
}

#[track_caller]
fn assert_failed(span: &SpanData, error_type: &str, context: &str) {
    let Status::Error { description } = &span.status else {
        panic!(
            "{context}: {} should be ERROR, is {:?}",
            span.name, span.status
        )
    };
    assert!(
        !description.is_empty() && description.len() <= 512,
        "{context}: a short description on {}: {description:?}",
        span.name
    );
    assert!(
        !description.contains(TEST_API_KEY),
        "{context}: the key in {}",
        span.name
    );
    let recorded = str_attribute(span, attr::ERROR_TYPE);
    assert_clean_error_type(recorded);
    assert_eq!(
        recorded, error_type,
        "{context}: error.type of {}",
        span.name
    );
    assert!(
        attribute(span, attr::TRACED_CHAT_CANCELLED).is_none(),
        "{context}: {} failed, it was not cancelled",
        span.name
    );
}

fn check_spans(fault: Fault, mode: Mode, function: Option<&str>, spans: &Spans, life: &Lifecycle) {
    let context = format!("{fault:?} {mode:?} {}", function.unwrap_or("client"));
    assert!(
        life.open.is_empty() && life.ended_twice.is_empty() && life.started == life.ended,
        "{context}: every span started must end exactly once: {life:?}"
    );
    let root = spans.one("fault");
    let chat = spans.one(attr::SPAN_CHAT_COMPLETION_CREATE);
    assert_failed(chat, fault.error_type(), &context);
    let Status::Error { description } = &chat.status else {
        unreachable!()
    };
    assert!(
        description.contains(fault.message_part()),
        "{context}: {description:?} should say {:?}",
        fault.message_part()
    );
    let exception = chat
        .events
        .iter()
        .find(|e| e.name == attr::EVENT_EXCEPTION)
        .unwrap_or_else(|| panic!("{context}: an exception event"));
    assert!(
        exception
            .attributes
            .iter()
            .any(|kv| kv.key.as_str() == attr::EXCEPTION_TYPE
                && kv.value == Value::from(fault.error_type())),
        "{context}: exception.type"
    );
    match function {
        Some(name) => {
            let func = spans.one(name);
            assert_failed(func, fault.error_type(), &context);
            assert_eq!(
                func.parent_span_id,
                root.span_context.span_id(),
                "{context}"
            );
            assert_eq!(
                chat.parent_span_id,
                func.span_context.span_id(),
                "{context}"
            );
            assert!(
                func.end_time >= chat.end_time,
                "{context}: the function's span ends after the chat span"
            );
        }
        None => assert_eq!(
            chat.parent_span_id,
            root.span_context.span_id(),
            "{context}"
        ),
    }

    let https = spans.children_of(chat);
    let expected = fault.attempts();
    assert_eq!(
        https.len(),
        expected.len(),
        "{context}: one HTTP POST span per attempt"
    );
    assert_eq!(
        spans.named(attr::SPAN_HTTP_POST).len(),
        expected.len(),
        "{context}: no HTTP POST span elsewhere"
    );
    for (http, attempt) in https.iter().zip(&expected) {
        assert_eq!(http.name, attr::SPAN_HTTP_POST, "{context}");
        match *attempt {
            Attempt::Status(status) => {
                assert_eq!(
                    int_attribute(http, attr::HTTP_RESPONSE_STATUS_CODE),
                    i64::from(status),
                    "{context}"
                );
                if status >= 400 {
                    assert_failed(http, &status.to_string(), &context);
                } else {
                    assert_eq!(http.status, Status::Unset, "{context}: the attempt worked");
                    assert!(attribute(http, attr::ERROR_TYPE).is_none(), "{context}");
                }
            }
            Attempt::Transport(kind) => {
                assert_failed(http, kind, &context);
                assert!(
                    attribute(http, attr::HTTP_RESPONSE_STATUS_CODE).is_none(),
                    "{context}: no response, no status"
                );
            }
        }
    }
    // Nothing else: root, optional function span, chat span, attempts.
    assert_eq!(
        spans.len(),
        2 + usize::from(function.is_some()) + expected.len(),
        "{context}: {:?}",
        spans.iter().map(|s| &s.name).collect::<Vec<_>>()
    );
}

/// Runs the fault in each of its modes, the three callers side by side, and checks them.
async fn check_fault(fault: Fault) {
    let server = serve(fault).await;
    let base_url = server.base_url();
    let capture = SpanCapture::new();
    let plain = plain_client(&base_url, fault.timeout());
    let traced = traced_client(&base_url, fault.timeout());
    for &mode in fault.modes() {
        let (expected, (by_client, client_spans, client_life), (by_fn, fn_spans, fn_life)) = tokio::join!(
            call_plain(&plain, mode),
            capture.trace_once("fault", call_traced(&traced, mode)),
            capture.trace_once("fault", call_annotated(&traced, mode)),
        );
        match (&expected, mode) {
            (Outcome::Failed(_), _) => {}
            (Outcome::Streamed(items), Mode::Stream) if items.iter().any(Result::is_err) => {}
            _ => panic!("{fault:?} {mode:?}: the fault did not happen: {expected:?}"),
        }
        assert_eq!(
            by_client, expected,
            "{fault:?} {mode:?}: TracedClient gives what async-openai gives"
        );
        assert_eq!(
            by_fn, expected,
            "{fault:?} {mode:?}: the annotated function gives what async-openai gives"
        );
        check_spans(fault, mode, None, &client_spans, &client_life);
        let name = match mode {
            Mode::Create => "ask",
            Mode::Stream => "ask_stream",
        };
        check_spans(fault, mode, Some(name), &fn_spans, &fn_life);
    }
    // The plain client made as many attempts as the traced callers' `HTTP POST` spans show.
    if let Some(requests) = server.requests().await {
        assert_eq!(
            requests,
            fault.modes().len() * 3 * fault.attempts().len(),
            "{fault:?}: the same retries for every caller"
        );
    }
}

macro_rules! fault_tests {
    ($($name:ident => $fault:expr,)*) => {$(
        #[tokio::test]
        async fn $name() {
            check_fault($fault).await;
        }
    )*};
}

fault_tests! {
    status_400_context_length => Fault::BadRequest,
    status_401_invalid_key => Fault::Unauthorized,
    status_404_model_not_found => Fault::NotFound,
    status_429_rate_limit_retried => Fault::RateLimited,
    status_500_retried => Fault::ServerError,
    status_503_retried => Fault::Unavailable,
    connection_refused_retried => Fault::ConnectionRefused,
    connection_reset_mid_body => Fault::ResetMidBody,
    slow_server_past_the_client_timeout => Fault::SlowServer,
    malformed_json => Fault::MalformedJson,
    sse_cut_mid_stream => Fault::SseCut,
    sse_error_event => Fault::SseErrorEvent,
}

/// The streamed fault items, beyond equality with the plain client: the cut stream gives its
/// chunks then one error; the error event gives its chunks then the error, and ends.
#[tokio::test]
async fn stream_faults_yield_chunks_then_the_error() {
    for (fault, chunks) in [(Fault::SseCut, 3), (Fault::SseErrorEvent, 2)] {
        let server = serve(fault).await;
        let client = traced_client(&server.base_url(), NO_TIMEOUT);
        let Outcome::Streamed(items) = call_traced(&client, Mode::Stream).await else {
            panic!("{fault:?}: a stream")
        };
        assert_eq!(items.len(), chunks + 1, "{fault:?}: {items:?}");
        assert!(items[..chunks].iter().all(Result::is_ok), "{fault:?}");
        assert!(items[chunks].is_err(), "{fault:?}");
    }
}

// --- panics ---------------------------------------------------------------------------------

#[derive(Debug, PartialEq)]
struct Payload(u32, &'static str);

#[traced_chat]
async fn panics_async(prompt: &str) -> String {
    tokio::task::yield_now().await;
    panic!("async panic for {prompt}");
}

#[traced_chat]
fn panics_with_payload(prompt: u32) -> String {
    std::panic::panic_any(Payload(prompt, "custom payload"));
}

#[traced_chat]
async fn panics_during_a_call(client: &TracedClient, prompt: &str) -> String {
    let chat = client.chat();
    let call = chat.create(request(MODEL, prompt));
    let boom = async {
        tokio::time::sleep(Duration::from_millis(20)).await;
        panic!("panic while a chat call is in flight");
    };
    let _ = tokio::join!(call, boom);
    unreachable!("the join panicked")
}

#[track_caller]
fn assert_panicked(span: &SpanData) {
    assert_eq!(
        span.status,
        Status::error("panicked"),
        "{} ends ERROR",
        span.name
    );
    assert_eq!(str_attribute(span, attr::ERROR_TYPE), "panic");
    assert!(attribute(span, attr::OPENAI_RESPONSE).is_none());
}

#[tokio::test]
async fn panic_in_a_spawned_annotated_future_propagates_unchanged() {
    let capture = SpanCapture::new();
    let (payload, spans, life) = capture
        .trace_once("fault", async {
            let task = tokio::spawn(panics_async("Paris").with_current_context());
            task.await.expect_err("the task panicked").into_panic()
        })
        .await;
    assert_eq!(
        payload.downcast_ref::<String>().map(String::as_str),
        Some("async panic for Paris"),
        "the same payload"
    );
    life.assert_all_ended();
    let span = spans.one("panics_async");
    assert_panicked(span);
    assert_eq!(str_attribute(span, attr::OPENAI_PROMPT), "Paris");
}

#[test]
fn panic_in_a_sync_annotated_function_propagates_unchanged() {
    let capture = SpanCapture::new();
    let (caught, spans, life) = capture.trace_sync_once("fault", || {
        std::panic::catch_unwind(|| panics_with_payload(7))
    });
    let payload = caught.expect_err("it panicked");
    assert_eq!(
        payload.downcast_ref::<Payload>(),
        Some(&Payload(7, "custom payload")),
        "the same payload, of the same type"
    );
    life.assert_all_ended();
    assert_panicked(spans.one("panics_with_payload"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn panic_while_a_chat_call_is_in_flight_ends_every_span() {
    let mock = MockOpenAI::start().await;
    mock.answer_delayed(200, fixtures::CHAT_COMPLETION, Duration::from_secs(5))
        .await;
    let client = mock.client();
    let capture = SpanCapture::new();
    // On a task: the executor catches the panic.
    let (payload, spans, life) = capture
        .trace_once("fault", async {
            let client = client.clone();
            let task = tokio::spawn(
                async move { panics_during_a_call(&client, "spawned").await }
                    .with_current_context(),
            );
            task.await.expect_err("the task panicked").into_panic()
        })
        .await;
    assert_eq!(
        payload.downcast_ref::<&str>(),
        Some(&"panic while a chat call is in flight")
    );
    life.assert_all_ended();
    // tokio drops a task's future while the panic unwinds: the abandoned call's spans end as
    // panicked too.
    assert_panicked(spans.one("panics_during_a_call"));
    assert_panicked(spans.one(attr::SPAN_CHAT_COMPLETION_CREATE));
    assert_eq!(spans.named(attr::SPAN_HTTP_POST).len(), 1);

    // In place: the future is dropped while the thread unwinds.
    let (caught, spans, life) = capture
        .trace_once("fault", async {
            let client = client.clone();
            let cx = opentelemetry::Context::current();
            tokio::task::spawn_blocking(move || {
                let _attached = cx.attach();
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    runtime.block_on(panics_during_a_call(&client, "in place"))
                }))
                .map_err(|payload| payload.downcast_ref::<&str>().copied())
            })
            .await
            .unwrap()
        })
        .await;
    assert_eq!(caught, Err(Some("panic while a chat call is in flight")));
    life.assert_all_ended();
    assert_panicked(spans.one("panics_during_a_call"));
    assert_panicked(spans.one(attr::SPAN_CHAT_COMPLETION_CREATE));
    assert_eq!(spans.named(attr::SPAN_HTTP_POST).len(), 1);
}

// --- secrets on the error paths ---------------------------------------------------------------

/// reqwest writes a failed request's whole URL into its error text: credentials in the base URL
/// must still never reach a span, on any error path.
#[tokio::test]
async fn url_credentials_never_reach_a_span_on_errors() {
    let capture = SpanCapture::new();
    let resource = opentelemetry_sdk::Resource::builder_empty().build();
    for fault in [
        Fault::ConnectionRefused,
        Fault::SlowServer,
        Fault::ResetMidBody,
        Fault::SseCut,
    ] {
        let server = serve(fault).await;
        let base_url = server
            .base_url()
            .replace("http://", "http://user:url-SECRET-pw@");
        let client = traced_client(&base_url, fault.timeout());
        let mode = fault.modes()[0];
        let (plain, _, _) = capture
            .trace_once(
                "fault",
                call_plain(&plain_client(&base_url, fault.timeout()), mode),
            )
            .await;
        let (traced, spans, life) = capture
            .trace_once("fault", call_annotated(&client, mode))
            .await;
        assert_eq!(
            traced, plain,
            "{fault:?}: the caller still gets async-openai's error"
        );
        life.assert_all_ended();
        assert!(spans.len() >= 3);
        for span in spans.iter() {
            for text in [
                traced_chat::testing::span_to_json(span, &resource),
                format!("{span:?}"),
            ] {
                assert!(
                    !text.contains("SECRET"),
                    "{fault:?}: URL credentials in {}: {text}",
                    span.name
                );
            }
        }
    }
}
