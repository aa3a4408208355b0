//! Concurrency and cancellation: many calls at once never mix their spans, and a call or a
//! stream dropped half-way ends each of its spans exactly once, marked cancelled.
//!
//! The mock server echoes each request's prompt (`prompt #i`) into its answer (`echo: prompt #i`,
//! id `chatcmpl-i`), so every call's chain of spans can be checked on its own: the function's span
//! holds its prompt and its own answer, its only child is the chat span of its own request, whose
//! only child is the `HTTP POST` span whose `traceparent` reached the server with that prompt.
#![cfg(feature = "otel")]

mod support;

use std::collections::HashMap;
use std::time::Duration;

use async_openai::error::OpenAIError;
use async_openai::types::chat::CreateChatCompletionResponse;
use futures_util::StreamExt as _;
use futures_util::future::join_all;
use opentelemetry::Value;
use opentelemetry::trace::{FutureExt as _, SpanId, Status};
use traced_chat::attributes as attr;
use traced_chat::testing::{
    Lifecycle, MetricCapture, MockOpenAI, SpanCapture, SpanData, Spans, attribute, fixtures,
    str_attribute,
};
use traced_chat::{TracedChatStream, TracedClient, traced_chat};
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use support::{RawServer, Script, request};

const MODEL: &str = "gpt-4o-mini";
const CALLS: usize = 1_000;
const ROOT: &str = "concurrency";

// --- an echoing server ----------------------------------------------------------------------

fn prompt_of(request: &wiremock::Request) -> String {
    let body: serde_json::Value = request.body_json().unwrap();
    body["messages"][0]["content"].as_str().unwrap().to_owned()
}

fn index_of(prompt: &str) -> usize {
    prompt.rsplit('#').next().unwrap().parse().unwrap()
}

fn prompt(i: usize) -> String {
    format!("prompt #{i}")
}

fn echo_answer(prompt: &str) -> ResponseTemplate {
    let mut body: serde_json::Value = serde_json::from_str(fixtures::CHAT_COMPLETION).unwrap();
    body["id"] = format!("chatcmpl-{}", index_of(prompt)).into();
    body["choices"][0]["message"]["content"] = format!("echo: {prompt}").into();
    ResponseTemplate::new(200).set_body_raw(body.to_string().into_bytes(), "application/json")
}

fn echo_stream(prompt: &str) -> ResponseTemplate {
    let id = format!("chatcmpl-{}", index_of(prompt));
    let chunk = |delta: serde_json::Value, finish: Option<&str>| {
        let chunk = serde_json::json!({
            "id": id, "object": "chat.completion.chunk", "created": 1, "model": MODEL,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        });
        format!("data: {chunk}\n\n")
    };
    let sse = [
        chunk(
            serde_json::json!({"role": "assistant", "content": "echo: "}),
            None,
        ),
        chunk(serde_json::json!({"content": prompt}), None),
        chunk(serde_json::json!({}), Some("stop")),
        "data: [DONE]\n\n".to_owned(),
    ]
    .concat();
    ResponseTemplate::new(200).set_body_raw(sse.into_bytes(), "text/event-stream")
}

/// A mock answering every chat request with its echo, streamed when the request asks, after
/// `delay(i)` for prompt `#i`.
async fn echo_server(delay: fn(usize) -> Duration) -> MockOpenAI {
    let mock = MockOpenAI::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(move |request: &wiremock::Request| {
            let prompt = prompt_of(request);
            let body: serde_json::Value = request.body_json().unwrap();
            let answer = if body["stream"] == serde_json::Value::Bool(true) {
                echo_stream(&prompt)
            } else {
                echo_answer(&prompt)
            };
            answer.set_delay(delay(index_of(&prompt)))
        })
        .with_priority(1)
        .mount(mock.server())
        .await;
    mock
}

fn no_delay(_: usize) -> Duration {
    Duration::ZERO
}

// --- the functions under test ---------------------------------------------------------------

#[traced_chat]
async fn ask(
    client: &TracedClient,
    prompt: String,
) -> Result<CreateChatCompletionResponse, OpenAIError> {
    client.chat().create(request(MODEL, &prompt)).await
}

#[traced_chat]
async fn ask_stream(
    client: &TracedClient,
    prompt: String,
) -> Result<TracedChatStream, OpenAIError> {
    client.chat().create_stream(request(MODEL, &prompt)).await
}

async fn read_all(stream: Result<TracedChatStream, OpenAIError>) -> String {
    let mut stream = stream.unwrap();
    let mut text = String::new();
    while let Some(chunk) = stream.next().await {
        for choice in chunk.unwrap().choices {
            text.push_str(choice.delta.content.as_deref().unwrap_or(""));
        }
    }
    text
}

fn answer_text(result: Result<CreateChatCompletionResponse, OpenAIError>) -> String {
    result.unwrap().choices[0].message.content.clone().unwrap()
}

// --- checks ---------------------------------------------------------------------------------

fn children(spans: &Spans) -> HashMap<SpanId, Vec<&SpanData>> {
    let mut children: HashMap<SpanId, Vec<&SpanData>> = HashMap::new();
    for span in spans.iter() {
        children.entry(span.parent_span_id).or_default().push(span);
    }
    children
}

#[track_caller]
fn assert_all_ended(life: &Lifecycle, expected: usize) {
    life.assert_all_ended();
    assert_eq!(life.started, expected, "spans started: {life:?}");
}

/// Every call `#i` (for `i < calls`) has its own chain root ← `function` ← chat ← `HTTP POST`,
/// recording its own prompt and answer, and the server got each prompt with the `traceparent`
/// of that prompt's own `HTTP POST` span.
fn check_chains(spans: &Spans, function: &str, calls: usize, requests: &[wiremock::Request]) {
    let root = spans.one(ROOT);
    let trace_id = root.span_context.trace_id();
    let children = children(spans);
    let functions = spans.named(function);
    assert_eq!(functions.len(), calls, "one {function} span per call");
    let mut http_of_prompt: HashMap<String, SpanId> = HashMap::new();
    for func in functions {
        assert_eq!(
            func.parent_span_id,
            root.span_context.span_id(),
            "no orphan"
        );
        let prompt = str_attribute(func, attr::OPENAI_PROMPT);
        let i = index_of(prompt);
        assert!(i < calls);
        assert_eq!(
            str_attribute(func, attr::OPENAI_RESPONSE),
            format!("echo: {prompt}"),
            "{prompt}: its own answer"
        );
        let [chat] = children[&func.span_context.span_id()][..] else {
            panic!("{prompt}: one chat span under the function's span")
        };
        assert_eq!(chat.name, attr::SPAN_CHAT_COMPLETION_CREATE);
        assert_eq!(
            str_attribute(chat, attr::GEN_AI_RESPONSE_ID),
            format!("chatcmpl-{i}"),
            "{prompt}: its own request's chat span"
        );
        let [http] = children[&chat.span_context.span_id()][..] else {
            panic!("{prompt}: one HTTP POST span under the chat span")
        };
        assert_eq!(http.name, attr::SPAN_HTTP_POST);
        assert!(!children.contains_key(&http.span_context.span_id()));
        for span in [func, chat, http] {
            assert_eq!(span.span_context.trace_id(), trace_id);
            assert_eq!(span.status, Status::Unset, "{prompt}: {}", span.name);
            assert!(attribute(span, attr::TRACED_CHAT_CANCELLED).is_none());
        }
        assert!(func.start_time <= chat.start_time && chat.end_time <= func.end_time);
        assert!(chat.start_time <= http.start_time && http.end_time <= chat.end_time);
        assert!(
            http_of_prompt
                .insert(prompt.to_owned(), http.span_context.span_id())
                .is_none(),
            "{prompt}: one call"
        );
    }
    assert_eq!(spans.len(), 1 + 3 * calls, "nothing else in the trace");

    assert_eq!(requests.len(), calls);
    for request in requests {
        let prompt = prompt_of(request);
        let traceparent = request.headers["traceparent"].to_str().unwrap();
        assert_eq!(
            traceparent,
            format!("00-{trace_id}-{}-01", http_of_prompt[&prompt]),
            "{prompt}: the server saw its own HTTP POST span"
        );
    }
}

// --- many calls at once ---------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_thousand_calls_joined_keep_their_own_spans() {
    let mock = echo_server(no_delay).await;
    let client = mock.client();
    let capture = SpanCapture::new();
    let (answers, spans, life) = capture
        .trace_once(
            ROOT,
            join_all((0..CALLS).map(|i| {
                let client = &client;
                async move { answer_text(ask(client, prompt(i)).await) }
            })),
        )
        .await;
    for (i, answer) in answers.iter().enumerate() {
        assert_eq!(
            *answer,
            format!("echo: {}", prompt(i)),
            "each caller its own answer"
        );
    }
    assert_all_ended(&life, 1 + 3 * CALLS);
    check_chains(&spans, "ask", CALLS, &mock.received_requests().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_thousand_spawned_calls_keep_their_own_spans() {
    let mock = echo_server(no_delay).await;
    let client = mock.client();
    let capture = SpanCapture::new();
    let (answers, spans, life) = capture
        .trace_once(ROOT, async {
            // Each task gets the current context, as an application hands it over.
            let tasks: Vec<_> = (0..CALLS)
                .map(|i| {
                    let client = client.clone();
                    tokio::spawn(
                        async move { answer_text(ask(&client, prompt(i)).await) }
                            .with_current_context(),
                    )
                })
                .collect();
            let mut answers = Vec::with_capacity(CALLS);
            for task in tasks {
                answers.push(task.await.unwrap());
            }
            answers
        })
        .await;
    for (i, answer) in answers.iter().enumerate() {
        assert_eq!(*answer, format!("echo: {}", prompt(i)));
    }
    assert_all_ended(&life, 1 + 3 * CALLS);
    check_chains(&spans, "ask", CALLS, &mock.received_requests().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_streams_keep_their_own_spans() {
    const STREAMS: usize = 300;
    let mock = echo_server(no_delay).await;
    let client = mock.client();
    let capture = SpanCapture::new();
    let (texts, spans, life) = capture
        .trace_once(ROOT, async {
            let spawned: Vec<_> = (0..STREAMS / 2)
                .map(|i| {
                    let client = client.clone();
                    tokio::spawn(
                        async move { read_all(ask_stream(&client, prompt(i)).await).await }
                            .with_current_context(),
                    )
                })
                .collect();
            let joined = join_all((STREAMS / 2..STREAMS).map(|i| {
                let client = &client;
                async move { read_all(ask_stream(client, prompt(i)).await).await }
            }))
            .await;
            let mut texts = Vec::with_capacity(STREAMS);
            for task in spawned {
                texts.push(task.await.unwrap());
            }
            texts.extend(joined);
            texts
        })
        .await;
    for (i, text) in texts.iter().enumerate() {
        assert_eq!(*text, format!("echo: {}", prompt(i)));
    }
    assert_all_ended(&life, 1 + 3 * STREAMS);
    check_chains(
        &spans,
        "ask_stream",
        STREAMS,
        &mock.received_requests().await,
    );
}

// --- cancellation ---------------------------------------------------------------------------

fn cancelled(span: &SpanData) -> bool {
    attribute(span, attr::TRACED_CHAT_CANCELLED) == Some(&Value::Bool(true))
}

/// The spans of a call dropped half-way: all ended once, the function's and the chat span
/// marked cancelled and not failed.
#[track_caller]
fn assert_cancelled_call(spans: &Spans, life: &Lifecycle, function: &str) {
    life.assert_all_ended();
    for name in [function, attr::SPAN_CHAT_COMPLETION_CREATE] {
        let span = spans.one(name);
        assert!(cancelled(span), "{name} marked cancelled");
        assert_eq!(
            span.status,
            Status::Unset,
            "{name}: cancelled is not failed"
        );
        assert!(attribute(span, attr::ERROR_TYPE).is_none());
    }
    for http in spans.named(attr::SPAN_HTTP_POST) {
        assert_eq!(
            http.parent_span_id,
            spans
                .one(attr::SPAN_CHAT_COMPLETION_CREATE)
                .span_context
                .span_id()
        );
    }
}

#[tokio::test]
async fn a_call_dropped_by_timeout_ends_every_span_cancelled_once() {
    let metrics = MetricCapture::install();
    let mock = echo_server(|_| Duration::from_secs(5)).await;
    let model = "timeout-cancelled-model";
    let client = mock.client(); // after the meter provider, to record metrics
    let capture = SpanCapture::new();
    let (result, spans, life) = capture
        .trace_once(ROOT, async {
            tokio::time::timeout(
                Duration::from_millis(100),
                client.chat().create(request(model, &prompt(1))),
            )
            .await
        })
        .await;
    assert!(result.is_err(), "timed out");
    life.assert_all_ended();
    let chat = spans.one(attr::SPAN_CHAT_COMPLETION_CREATE);
    assert!(cancelled(chat));
    let http = spans.one(attr::SPAN_HTTP_POST);
    assert!(cancelled(http), "the attempt in flight is cancelled too");
    assert!(attribute(http, attr::HTTP_RESPONSE_STATUS_CODE).is_none());

    // The same through an annotated function.
    let (result, spans, life) = capture
        .trace_once(ROOT, async {
            tokio::time::timeout(Duration::from_millis(100), ask(&client, prompt(2))).await
        })
        .await;
    assert!(result.is_err());
    assert_cancelled_call(&spans, &life, "ask");
    assert_eq!(spans.len(), 4);

    let cancelled_durations: u64 = metrics
        .histograms()
        .iter()
        .filter(|p| {
            p.name == attr::METRIC_OPERATION_DURATION
                && p.attribute(attr::GEN_AI_REQUEST_MODEL) == Some(&Value::from(model))
                && p.attribute(attr::ERROR_TYPE) == Some(&Value::from("cancelled"))
        })
        .map(|p| p.count)
        .sum();
    assert_eq!(
        cancelled_durations, 1,
        "error.type=cancelled on the duration"
    );
}

#[tokio::test]
async fn a_call_dropped_by_select_ends_every_span_cancelled_once() {
    let mock = echo_server(|_| Duration::from_secs(5)).await;
    let client = mock.client();
    let capture = SpanCapture::new();
    let (winner, spans, life) = capture
        .trace_once(ROOT, async {
            tokio::select! {
                _ = ask(&client, prompt(1)) => "the call",
                _ = tokio::time::sleep(Duration::from_millis(100)) => "the timer",
            }
        })
        .await;
    assert_eq!(winner, "the timer");
    assert_cancelled_call(&spans, &life, "ask");
    assert_eq!(spans.named(attr::SPAN_HTTP_POST).len(), 1);
}

#[tokio::test]
async fn a_call_dropped_between_retries_ends_every_span_cancelled_once() {
    let mock = MockOpenAI::start().await;
    mock.answer(500, fixtures::ERROR_500_SERVER).await;
    let client = TracedClient::builder()
        .config(mock.config())
        .max_retries(5)
        .build();
    let capture = SpanCapture::new();
    // The first attempt fails at once; async-openai then waits 100 ms before the next. The call
    // is dropped 40 ms after the server saw the first request: in that wait on any ordinary
    // machine (on a very loaded one the first attempt may still be finishing, and is then
    // marked cancelled itself, which is allowed below).
    let (dropped, spans, life) = capture
        .trace_once(ROOT, async {
            let first_attempt_answered = async {
                while mock.received_requests().await.is_empty() {
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
                tokio::time::sleep(Duration::from_millis(40)).await;
            };
            tokio::select! {
                _ = ask(&client, prompt(1)) => false,
                _ = first_attempt_answered => true,
            }
        })
        .await;
    assert!(dropped, "the call was dropped, not finished");
    assert_eq!(mock.received_requests().await.len(), 1, "no second attempt");
    assert_cancelled_call(&spans, &life, "ask");
    let attempts = spans.named(attr::SPAN_HTTP_POST);
    assert_eq!(attempts.len(), 1);
    for http in attempts {
        let finished = attribute(http, attr::ERROR_TYPE).map(|v| v.as_str().into_owned());
        assert!(
            finished.as_deref() == Some("500") || cancelled(http),
            "the attempt either finished with its 500 or was cut off and marked cancelled"
        );
    }
}

/// Calls dropped at every stage (before the request, waiting for headers, reading the body,
/// between attempts) next to calls that finish: every span ends once, and a span is marked
/// cancelled exactly when its call was dropped.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn calls_dropped_at_random_points_end_every_span_once() {
    const N: usize = 400;
    let mock = echo_server(|i| Duration::from_millis((i * 7 % 40) as u64)).await;
    let client = mock.client();
    let capture = SpanCapture::new();
    let (finished, spans, life) = capture
        .trace_once(
            ROOT,
            join_all((0..N).map(|i| {
                let client = &client;
                async move {
                    // Some always finish, some are dropped at their first poll, the others
                    // wherever the race between their delay and their limit leaves them.
                    let limit = match i % 4 {
                        0 => Duration::from_secs(20),
                        1 => Duration::ZERO,
                        _ => Duration::from_millis((i * 13 % 45) as u64),
                    };
                    tokio::time::timeout(limit, ask(client, prompt(i)))
                        .await
                        .map(answer_text)
                        .is_ok()
                }
            })),
        )
        .await;
    life.assert_all_ended();
    let done = finished.iter().filter(|f| **f).count();
    assert!(
        done > 0 && done < N,
        "some finished, some were dropped: {done}"
    );
    let children = children(&spans);
    let root = spans.one(ROOT);
    let functions = spans.named("ask");
    assert_eq!(functions.len(), N);
    for func in functions {
        assert_eq!(func.parent_span_id, root.span_context.span_id());
        let i = index_of(str_attribute(func, attr::OPENAI_PROMPT));
        let dropped = !finished[i];
        assert_eq!(cancelled(func), dropped, "#{i}");
        let kids = children
            .get(&func.span_context.span_id())
            .map(Vec::as_slice)
            .unwrap_or_default();
        let [chat] = kids else {
            panic!("#{i}: one chat span, found {}", kids.len())
        };
        assert_eq!(cancelled(chat), dropped, "#{i}");
        let https = children
            .get(&chat.span_context.span_id())
            .map(Vec::as_slice)
            .unwrap_or_default();
        assert!(https.len() <= 1, "#{i}");
        if dropped {
            assert!(attribute(func, attr::OPENAI_RESPONSE).is_none());
        } else {
            assert_eq!(https.len(), 1, "#{i}");
            assert_eq!(
                str_attribute(func, attr::OPENAI_RESPONSE),
                format!("echo: {}", prompt(i))
            );
        }
        for span in [func, chat].into_iter().chain(https.iter().copied()) {
            assert_eq!(span.status, Status::Unset, "#{i}: {}", span.name);
        }
    }
}

/// A stream that never ends: one chunk every 5 ms.
async fn endless_stream_server() -> RawServer {
    let event = r#"{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"tick "},"finish_reason":null}]}"#;
    RawServer::start(Script::SseForever {
        event: event.to_owned(),
        interval: Duration::from_millis(5),
    })
    .await
}

async fn wait_for(mut done: impl FnMut() -> bool) -> bool {
    for _ in 0..200 {
        if done() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    done()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_dropped_after_n_chunks_end_every_span_once_and_close_the_connection() {
    let server = endless_stream_server().await;
    let client = TracedClient::builder()
        .config(
            async_openai::config::OpenAIConfig::new()
                .with_api_base(server.base_url())
                .with_api_key(traced_chat::testing::TEST_API_KEY),
        )
        .build();
    let capture = SpanCapture::new();
    for (round, n) in [0usize, 1, 3, 10].into_iter().enumerate() {
        let on_task = round % 2 == 1;
        let (text, spans, life) = capture
            .trace_once(ROOT, async {
                let mut stream = ask_stream(&client, prompt(n)).await.unwrap();
                let read = async move {
                    let mut text = String::new();
                    for _ in 0..n {
                        let chunk = stream.next().await.unwrap().unwrap();
                        text.push_str(chunk.choices[0].delta.content.as_deref().unwrap());
                    }
                    drop(stream); // before its end: it never ends
                    text
                };
                if on_task {
                    // Read and dropped on another task (and maybe another thread).
                    tokio::spawn(read).await.unwrap()
                } else {
                    read.await
                }
            })
            .await;
        assert_eq!(text, "tick ".repeat(n));
        assert_cancelled_call(&spans, &life, "ask_stream");
        assert_eq!(spans.len(), 4, "root, function, chat, HTTP POST");
        let func = spans.one("ask_stream");
        assert_eq!(
            str_attribute(func, attr::OPENAI_RESPONSE),
            text,
            "what arrived is recorded"
        );
        // Nothing keeps the connection: the server sees it closed.
        assert!(
            wait_for(|| server.closed_connections() == round + 1).await,
            "after {n} chunks: the connection is closed once the stream is dropped"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_streams_dropped_at_once_end_every_span_once() {
    const STREAMS: usize = 100;
    let server = endless_stream_server().await;
    let client = TracedClient::builder()
        .config(
            async_openai::config::OpenAIConfig::new()
                .with_api_base(server.base_url())
                .with_api_key(traced_chat::testing::TEST_API_KEY),
        )
        .build();
    let capture = SpanCapture::new();
    let ((), spans, life) = capture
        .trace_once(ROOT, async {
            let tasks: Vec<_> = (0..STREAMS)
                .map(|i| {
                    let client = client.clone();
                    tokio::spawn(
                        async move {
                            let mut stream = ask_stream(&client, prompt(i)).await.unwrap();
                            for _ in 0..i % 4 {
                                stream.next().await.unwrap().unwrap();
                            }
                        }
                        .with_current_context(),
                    )
                })
                .collect();
            for task in tasks {
                task.await.unwrap();
            }
        })
        .await;
    assert_all_ended(&life, 1 + 3 * STREAMS);
    let children = children(&spans);
    for func in spans.named("ask_stream") {
        assert!(cancelled(func));
        let [chat] = children[&func.span_context.span_id()][..] else {
            panic!("one chat span")
        };
        assert!(cancelled(chat));
        let [http] = children[&chat.span_context.span_id()][..] else {
            panic!("one HTTP POST span")
        };
        assert!(!cancelled(http), "the attempt finished at the headers");
        let ticks = index_of(str_attribute(func, attr::OPENAI_PROMPT)) % 4;
        assert_eq!(
            str_attribute(func, attr::OPENAI_RESPONSE),
            "tick ".repeat(ticks)
        );
    }
    assert!(
        wait_for(|| server.closed_connections() == STREAMS).await,
        "every connection closed: {}",
        server.closed_connections()
    );
}

// --- the mock server itself -------------------------------------------------------------------

/// wiremock verifies its mocks when a server is dropped, blocking on an async lock; in a tokio
/// task whose cooperative budget is spent, that used to spin forever (it hung the thousand-call
/// tests about one run in thirty). `MockOpenAI` drops its server on a thread of its own.
#[test]
fn dropping_the_mock_with_a_spent_budget_does_not_hang() {
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let mock = MockOpenAI::start().await;
            tokio::task::yield_now().await; // a fresh budget, spent below without yielding
            while tokio::task::coop::has_budget_remaining() {
                tokio::task::consume_budget().await;
            }
            drop(mock);
        });
        done.send(()).unwrap();
    });
    assert!(
        finished.recv_timeout(Duration::from_secs(20)).is_ok(),
        "dropping the mock hung"
    );
}
