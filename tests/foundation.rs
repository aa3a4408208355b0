//! The quickstart's trace end to end: `#[traced_chat]` + `TracedClient` against a real local HTTP
//! server, exported through a real SDK pipeline (in-memory exporter).
#![cfg(feature = "otel")]

use async_openai::error::OpenAIError;
use async_openai::types::chat::{
    ChatCompletionRequestSystemMessage, ChatCompletionRequestUserMessage,
    CreateChatCompletionRequestArgs, CreateChatCompletionResponse,
};
use opentelemetry::Value;
use opentelemetry::trace::{SpanKind, Status};
use traced_chat::attributes as attr;
use traced_chat::testing::{
    MockOpenAI, SpanCapture, Spans, TEST_API_KEY, attribute, fixtures, int_attribute as int_attr,
    str_attribute as str_attr,
};
use traced_chat::{TracedClient, traced_chat};

const LIFE: &str = "What is the meaning of life in a short sentence?";
const DEATH: &str = "What is the meaning of death in a long paragraph?";

#[traced_chat]
async fn call(
    client: &TracedClient,
    prompt: &str,
) -> Result<CreateChatCompletionResponse, OpenAIError> {
    let request = CreateChatCompletionRequestArgs::default()
        .model("gpt-3.5-turbo")
        .messages([
            ChatCompletionRequestSystemMessage::from("You are a helpful assistant.").into(),
            ChatCompletionRequestUserMessage::from(prompt).into(),
        ])
        .max_completion_tokens(500u32)
        .temperature(0.5)
        .build()?;
    client.chat().create(request).await
}

#[traced_chat(name = "main", skip(prompt))]
async fn quickstart_main(client: &TracedClient) -> Result<(), OpenAIError> {
    call(client, LIFE).await?;
    call(client, DEATH).await?;
    Ok(())
}

fn content_of(fixture: &str) -> String {
    let json: serde_json::Value = serde_json::from_str(fixture).unwrap();
    json["choices"][0]["message"]["content"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn run_quickstart() -> (MockOpenAI, Spans) {
    let mock = MockOpenAI::start().await;
    mock.answer_when("meaning of death", 200, fixtures::CHAT_COMPLETION_LONG)
        .await;
    let client = mock.client();
    let capture = SpanCapture::new();
    let (result, spans) = capture.trace("test", quickstart_main(&client)).await;
    result.expect("both calls succeed");
    (mock, spans)
}

#[tokio::test]
async fn quickstart_trace_has_seven_spans_in_one_tree() {
    let (_mock, spans) = run_quickstart().await;
    let root = spans.one("test");
    let main = spans.one("main");
    assert_eq!(
        spans.len(),
        8,
        "test root + the quickstart's 7 spans: {:?}",
        spans.iter().map(|s| &s.name).collect::<Vec<_>>()
    );
    assert_eq!(main.parent_span_id, root.span_context.span_id());
    assert_eq!(main.span_kind, SpanKind::Internal);
    assert!(
        attribute(main, attr::OPENAI_PROMPT).is_none(),
        "skip(prompt)"
    );
    assert!(
        attribute(main, attr::OPENAI_RESPONSE).is_none(),
        "main must not hold a call's response"
    );

    let calls = spans.children_of(main);
    assert_eq!(calls.len(), 2);
    let expected = [
        (
            LIFE,
            fixtures::CHAT_COMPLETION,
            "chatcmpl-7DO5Jns0IVgSxWRjTaBUHL0VWPtyK",
            1683425201,
            (30, 13, 43),
        ),
        (
            DEATH,
            fixtures::CHAT_COMPLETION_LONG,
            "chatcmpl-7DO5K8rhgWHrHEpsLizRdNa9QkzkG",
            1683425202,
            (30, 175, 205),
        ),
    ];
    for (call, (prompt, fixture, id, created, usage)) in calls.iter().zip(expected) {
        assert_eq!(call.name, "call");
        assert_eq!(call.span_kind, SpanKind::Internal);
        assert_eq!(call.status, Status::Unset);
        assert_eq!(str_attr(call, attr::OPENAI_PROMPT), prompt);
        assert_eq!(str_attr(call, attr::OPENAI_RESPONSE), content_of(fixture));

        let creates = spans.children_of(call);
        assert_eq!(creates.len(), 1);
        let create = creates[0];
        assert_eq!(create.name, attr::SPAN_CHAT_COMPLETION_CREATE);
        assert_eq!(create.span_kind, SpanKind::Client);
        assert_eq!(str_attr(create, attr::OPENAI_CREATE_MODEL), "gpt-3.5-turbo");
        assert_eq!(int_attr(create, attr::OPENAI_CREATE_MAX_TOKENS), 500);
        assert_eq!(
            attribute(create, attr::OPENAI_CREATE_TEMPERATURE),
            Some(&Value::F64(0.5))
        );
        assert_eq!(str_attr(create, attr::OPENAI_RESPONSE_ID), id);
        assert_eq!(int_attr(create, attr::OPENAI_RESPONSE_CREATED), created);
        assert_eq!(int_attr(create, attr::OPENAI_USAGE_PROMPT_TOKENS), usage.0);
        assert_eq!(
            int_attr(create, attr::OPENAI_USAGE_COMPLETION_TOKENS),
            usage.1
        );
        assert_eq!(int_attr(create, attr::OPENAI_USAGE_TOTAL_TOKENS), usage.2);

        let https = spans.children_of(create);
        assert_eq!(https.len(), 1);
        let http = https[0];
        assert_eq!(http.name, "HTTP POST");
        assert_eq!(http.span_kind, SpanKind::Client);
        assert_eq!(str_attr(http, attr::HTTP_METHOD), "POST");
        assert_eq!(str_attr(http, attr::HTTP_REQUEST_METHOD), "POST");
        assert!(str_attr(http, attr::HTTP_URL).ends_with("/v1/chat/completions"));
        assert_eq!(
            str_attr(http, attr::HTTP_URL),
            str_attr(http, attr::URL_FULL)
        );
        assert_eq!(int_attr(http, attr::HTTP_STATUS_CODE), 200);
        assert_eq!(int_attr(http, attr::HTTP_RESPONSE_STATUS_CODE), 200);
        assert!(spans.children_of(http).is_empty());
    }
    // One trace, and spans nest in time.
    let trace = root.span_context.trace_id();
    assert!(spans.iter().all(|s| s.span_context.trace_id() == trace));
    for span in spans.iter() {
        if let Some(parent) = spans.parent_of(span) {
            assert!(
                parent.start_time <= span.start_time && span.end_time <= parent.end_time,
                "{} within {}",
                span.name,
                parent.name
            );
        }
    }
}

#[tokio::test]
async fn server_receives_the_http_span_as_traceparent() {
    let (mock, spans) = run_quickstart().await;
    let requests = mock.received_requests().await;
    assert_eq!(requests.len(), 2);
    let https = spans.named("HTTP POST");
    for (request, http) in requests.iter().zip(https) {
        let header = request
            .headers
            .get("traceparent")
            .expect("traceparent sent")
            .to_str()
            .unwrap();
        let ctx = &http.span_context;
        assert_eq!(
            header,
            format!("00-{}-{}-01", ctx.trace_id(), ctx.span_id())
        );
    }
}

#[tokio::test]
async fn no_api_key_in_any_exported_byte() {
    let (mock, spans) = run_quickstart().await;
    // The key did reach the server, so it was there to leak.
    let requests = mock.received_requests().await;
    let auth = requests[0]
        .headers
        .get("authorization")
        .unwrap()
        .to_str()
        .unwrap();
    assert_eq!(auth, format!("Bearer {TEST_API_KEY}"));
    let resource = opentelemetry_sdk::Resource::builder().build();
    for span in spans.iter() {
        let json = traced_chat::testing::span_to_json(span, &resource);
        let debug = format!("{span:?}");
        for text in [&json, &debug] {
            assert!(
                !text.contains(TEST_API_KEY),
                "API key leaked in {}",
                span.name
            );
            assert!(
                !text.to_ascii_lowercase().contains("authorization"),
                "header leaked in {}",
                span.name
            );
            assert!(
                !text.contains("Bearer"),
                "bearer token leaked in {}",
                span.name
            );
        }
    }
}

#[tokio::test]
async fn err_return_marks_the_function_span_failed() {
    let mock = MockOpenAI::start().await;
    mock.answer(404, fixtures::ERROR_404_MODEL_NOT_FOUND).await;
    let client = mock.client();
    let capture = SpanCapture::new();
    let (result, spans) = capture.trace("test", call(&client, LIFE)).await;
    let error = result.expect_err("404");
    assert!(
        matches!(error, OpenAIError::ApiError(_)),
        "caller gets async-openai's error: {error:?}"
    );

    let call_span = spans.one("call");
    let Status::Error { description } = &call_span.status else {
        panic!("call span status: {:?}", call_span.status)
    };
    assert!(description.contains("does not exist"), "{description}");
    assert_eq!(str_attr(call_span, attr::ERROR_TYPE), "model_not_found");
    assert!(
        attribute(call_span, attr::OPENAI_RESPONSE).is_none(),
        "an Err records nothing else"
    );
    assert_eq!(str_attr(call_span, attr::OPENAI_PROMPT), LIFE);

    let create = spans.one(attr::SPAN_CHAT_COMPLETION_CREATE);
    assert!(matches!(create.status, Status::Error { .. }));
    assert_eq!(str_attr(create, attr::ERROR_TYPE), "model_not_found");
    assert!(attribute(create, attr::OPENAI_RESPONSE_ID).is_none());
    let http = spans.one("HTTP POST");
    assert_eq!(int_attr(http, attr::HTTP_STATUS_CODE), 404);
}

#[tokio::test]
async fn retried_429_gives_one_http_span_per_attempt() {
    let mock = MockOpenAI::start().await;
    mock.answer_times(1, 429, fixtures::ERROR_429_RATE_LIMIT)
        .await;
    let client = mock.client();
    let capture = SpanCapture::new();
    let (result, spans) = capture.trace("test", call(&client, LIFE)).await;
    result.expect("retried after the 429");
    let create = spans.one(attr::SPAN_CHAT_COMPLETION_CREATE);
    let attempts = spans.children_of(create);
    let codes: Vec<i64> = attempts
        .iter()
        .map(|s| int_attr(s, attr::HTTP_STATUS_CODE))
        .collect();
    assert_eq!(codes, [429, 200]);
    assert_eq!(create.status, Status::Unset);
    assert_eq!(mock.received_requests().await.len(), 2);
}

#[traced_chat]
fn shout(prompt: String) -> String {
    prompt.to_uppercase()
}

struct Assistant {
    client: TracedClient,
}

impl Assistant {
    #[traced_chat(name = "Assistant.ask")]
    async fn ask(&self, prompt: &str) -> Option<String> {
        let response = call(&self.client, prompt).await.ok()?;
        response.choices.into_iter().next()?.message.content
    }
}

#[tokio::test]
async fn sync_functions_and_methods_record_prompt_and_response() {
    let capture = SpanCapture::new();
    let (out, spans) = capture.trace_sync("test", || shout("hello".to_owned()));
    assert_eq!(out, "HELLO");
    let span = spans.one("shout");
    assert_eq!(str_attr(span, attr::OPENAI_PROMPT), "hello");
    assert_eq!(str_attr(span, attr::OPENAI_RESPONSE), "HELLO");
    assert_eq!(
        span.parent_span_id,
        spans.one("test").span_context.span_id()
    );

    let mock = MockOpenAI::start().await;
    let assistant = Assistant {
        client: mock.client(),
    };
    let (answer, spans) = capture.trace("test", assistant.ask(LIFE)).await;
    let ask = spans.one("Assistant.ask");
    assert_eq!(str_attr(ask, attr::OPENAI_RESPONSE), answer.unwrap());
    assert_eq!(spans.one("call").parent_span_id, ask.span_context.span_id());
}

#[tokio::test]
async fn dropped_future_ends_its_span_marked_cancelled() {
    let mock = MockOpenAI::start().await;
    let client = mock.client();
    let capture = SpanCapture::new();
    let ((), spans) = capture
        .trace("test", async {
            let mut fut = Box::pin(call(&client, LIFE));
            // Poll once so the span starts, then drop the call half-way.
            let waker = std::task::Waker::noop();
            let _ = fut
                .as_mut()
                .poll(&mut std::task::Context::from_waker(waker));
            drop(fut);
        })
        .await;
    let call_span = spans.one("call");
    assert_eq!(
        attribute(call_span, attr::TRACED_CHAT_CANCELLED),
        Some(&Value::Bool(true))
    );
    let create = spans.one(attr::SPAN_CHAT_COMPLETION_CREATE);
    assert_eq!(
        attribute(create, attr::TRACED_CHAT_CANCELLED),
        Some(&Value::Bool(true))
    );
}

#[traced_chat(prompt = request)]
async fn send(
    client: &TracedClient,
    request: async_openai::types::chat::CreateChatCompletionRequest,
) -> Result<CreateChatCompletionResponse, OpenAIError> {
    client.chat().create(request).await
}

#[tokio::test]
async fn a_whole_request_is_recorded_as_compact_message_json() {
    let mock = MockOpenAI::start().await;
    let client = mock.client();
    let request = CreateChatCompletionRequestArgs::default()
        .model("gpt-3.5-turbo")
        .messages([
            ChatCompletionRequestSystemMessage::from("You are a helpful assistant.").into(),
            ChatCompletionRequestUserMessage::from(LIFE).into(),
        ])
        .build()
        .unwrap();
    let capture = SpanCapture::new();
    let (result, spans) = capture.trace("test", send(&client, request)).await;
    result.unwrap();
    let span = spans.one("send");
    let prompt: serde_json::Value =
        serde_json::from_str(str_attr(span, attr::OPENAI_PROMPT)).unwrap();
    assert_eq!(
        prompt,
        serde_json::json!([
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": LIFE},
        ])
    );
    assert_eq!(
        str_attr(span, attr::OPENAI_RESPONSE),
        content_of(fixtures::CHAT_COMPLETION)
    );
}
