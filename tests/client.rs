//! `TracedClient` against a real local HTTP server: GenAI conventions, errors and retries,
//! streaming, tool calls, metrics, content capture, providers.
#![cfg(feature = "otel")]

use std::time::Duration;

use async_openai::config::OpenAIConfig;
use async_openai::error::OpenAIError;
use async_openai::types::chat::{
    ChatCompletionRequestSystemMessage, ChatCompletionRequestUserMessage,
    CreateChatCompletionRequest, CreateChatCompletionRequestArgs, ResponseFormat,
};
use futures_util::StreamExt as _;
use opentelemetry::Value;
use opentelemetry::trace::{SpanKind, Status};
use traced_chat::attributes as attr;
use traced_chat::testing::{
    MetricCapture, MockOpenAI, SpanCapture, SpanData, Spans, TEST_API_KEY, attribute, fixtures,
    int_attribute as int_attr, str_attribute as str_attr, strings_attribute as strings,
};
use traced_chat::{Semconv, TracedChatStream, TracedClient, traced_chat};

fn request(model: &str) -> CreateChatCompletionRequest {
    CreateChatCompletionRequestArgs::default()
        .model(model)
        .messages([
            ChatCompletionRequestSystemMessage::from("You are a helpful assistant.").into(),
            ChatCompletionRequestUserMessage::from("What is the meaning of life?").into(),
        ])
        .build()
        .unwrap()
}

async fn traced<T>(fut: impl Future<Output = T>) -> (T, Spans) {
    SpanCapture::new().trace("test", fut).await
}

fn chat_span(spans: &Spans) -> &SpanData {
    let chats: Vec<_> = spans
        .iter()
        .filter(|s| s.span_kind == SpanKind::Client && s.name != "HTTP POST")
        .collect();
    assert_eq!(
        chats.len(),
        1,
        "one chat span: {:?}",
        spans.iter().map(|s| &s.name).collect::<Vec<_>>()
    );
    chats[0]
}

// --- conventions ---------------------------------------------------------------------------

#[tokio::test]
async fn default_records_both_vocabularies_on_one_span() {
    let mock = MockOpenAI::start().await;
    let client = TracedClient::builder()
        .config(mock.config())
        .semconv(Semconv::Both)
        .build();
    let mut req = request("gpt-3.5-turbo");
    req.temperature = Some(0.7);
    req.top_p = Some(0.9);
    req.max_completion_tokens = Some(200);
    req.n = Some(2);
    req.response_format = Some(ResponseFormat::JsonObject);
    (result_ok(traced(client.chat().create(req)).await)).await;

    async fn result_ok((result, spans): (Result<impl Sized, OpenAIError>, Spans)) {
        result.unwrap();
        let span = chat_span(&spans);
        assert_eq!(span.name, "openai.ChatCompletion.create");
        // Legacy OpenAI names.
        assert_eq!(str_attr(span, attr::OPENAI_CREATE_MODEL), "gpt-3.5-turbo");
        assert_eq!(
            attribute(span, attr::OPENAI_CREATE_TEMPERATURE),
            Some(&Value::F64(0.7))
        );
        assert_eq!(int_attr(span, attr::OPENAI_USAGE_TOTAL_TOKENS), 43);
        // GenAI names.
        assert_eq!(str_attr(span, attr::GEN_AI_OPERATION_NAME), "chat");
        assert_eq!(str_attr(span, attr::GEN_AI_PROVIDER_NAME), "openai");
        assert_eq!(str_attr(span, attr::GEN_AI_REQUEST_MODEL), "gpt-3.5-turbo");
        assert_eq!(int_attr(span, attr::GEN_AI_REQUEST_MAX_TOKENS), 200);
        assert_eq!(
            attribute(span, attr::GEN_AI_REQUEST_TEMPERATURE),
            Some(&Value::F64(0.7))
        );
        assert_eq!(
            attribute(span, attr::GEN_AI_REQUEST_TOP_P),
            Some(&Value::F64(0.9))
        );
        assert_eq!(int_attr(span, attr::GEN_AI_REQUEST_CHOICE_COUNT), 2);
        assert_eq!(str_attr(span, attr::GEN_AI_OUTPUT_TYPE), "json");
        assert_eq!(
            str_attr(span, attr::GEN_AI_RESPONSE_ID),
            "chatcmpl-7DO5Jns0IVgSxWRjTaBUHL0VWPtyK"
        );
        assert_eq!(
            str_attr(span, attr::GEN_AI_RESPONSE_MODEL),
            "gpt-3.5-turbo-0301"
        );
        assert_eq!(
            strings(span, attr::GEN_AI_RESPONSE_FINISH_REASONS),
            ["stop"]
        );
        assert_eq!(int_attr(span, attr::GEN_AI_USAGE_INPUT_TOKENS), 30);
        assert_eq!(int_attr(span, attr::GEN_AI_USAGE_OUTPUT_TOKENS), 13);
        assert_eq!(
            int_attr(span, attr::GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS),
            0
        );
        assert_eq!(str_attr(span, attr::SERVER_ADDRESS), "127.0.0.1");
        assert!(int_attr(span, attr::SERVER_PORT) > 0);
        assert_eq!(
            str_attr(span, attr::OPENAI_RESPONSE_SERVICE_TIER),
            "default"
        );
        assert_eq!(
            str_attr(span, attr::OPENAI_RESPONSE_SYSTEM_FINGERPRINT),
            "fp_0ba0d124f1"
        );
        // Absent in the request: not recorded at all.
        for key in [
            attr::GEN_AI_REQUEST_FREQUENCY_PENALTY,
            attr::GEN_AI_REQUEST_PRESENCE_PENALTY,
            attr::GEN_AI_REQUEST_STOP_SEQUENCES,
            attr::GEN_AI_REQUEST_SEED,
            attr::GEN_AI_REQUEST_STREAM,
            attr::GEN_AI_INPUT_MESSAGES,
            attr::GEN_AI_OUTPUT_MESSAGES,
            attr::ERROR_TYPE,
        ] {
            assert!(attribute(span, key).is_none(), "{key} must be absent");
        }
        assert_eq!(span.status, Status::Unset);
    }
}

#[tokio::test]
async fn genai_only_uses_the_convention_span_name() {
    let mock = MockOpenAI::start().await;
    let client = TracedClient::builder()
        .config(mock.config())
        .semconv(Semconv::GenAi)
        .build();
    let (result, spans) = traced(client.chat().create(request("gpt-4o-mini"))).await;
    result.unwrap();
    let span = chat_span(&spans);
    assert_eq!(span.name, "chat gpt-4o-mini");
    assert_eq!(str_attr(span, attr::GEN_AI_REQUEST_MODEL), "gpt-4o-mini");
    assert!(
        span.attributes
            .iter()
            .all(|kv| !kv.key.as_str().starts_with("openai.create")
                && !kv.key.as_str().starts_with("openai.usage"))
    );
}

#[tokio::test]
async fn seed_only_has_no_genai_attributes() {
    let mock = MockOpenAI::start().await;
    let client = TracedClient::builder()
        .config(mock.config())
        .semconv(Semconv::Legacy)
        .build();
    let (result, spans) = traced(client.chat().create(request("gpt-3.5-turbo"))).await;
    result.unwrap();
    let span = chat_span(&spans);
    assert_eq!(span.name, "openai.ChatCompletion.create");
    assert!(
        span.attributes
            .iter()
            .all(|kv| !kv.key.as_str().starts_with("gen_ai."))
    );
    assert_eq!(int_attr(span, attr::OPENAI_USAGE_PROMPT_TOKENS), 30);
}

#[test]
fn semconv_from_env_reads_the_opt_in() {
    // Read in a child process so this test's environment does not leak into the others.
    if std::env::var_os("TRACED_CHAT_SEMCONV_CHILD").is_some() {
        assert_eq!(Semconv::from_env(), Semconv::GenAi);
        return;
    }
    assert_eq!(Semconv::from_env(), Semconv::Both);
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "semconv_from_env_reads_the_opt_in",
            "--exact",
            "--nocapture",
        ])
        .env("TRACED_CHAT_SEMCONV_CHILD", "1")
        .env(
            attr::ENV_SEMCONV_STABILITY_OPT_IN,
            "http,gen_ai_latest_experimental",
        )
        .status()
        .unwrap();
    assert!(status.success());
}

#[tokio::test]
async fn provider_name_and_server_come_from_the_builder_and_base_url() {
    let mock = MockOpenAI::start().await;
    let port: i64 = mock
        .base_url()
        .rsplit(':')
        .next()
        .unwrap()
        .trim_end_matches("/v1")
        .parse()
        .unwrap();
    let config = OpenAIConfig::new()
        .with_api_base(format!("http://localhost:{port}/v1"))
        .with_api_key(TEST_API_KEY);
    let client = TracedClient::builder()
        .config(config)
        .provider_name("ollama")
        .build();
    let (result, spans) = traced(client.chat().create(request("llama3"))).await;
    result.unwrap();
    let span = chat_span(&spans);
    assert_eq!(str_attr(span, attr::GEN_AI_PROVIDER_NAME), "ollama");
    assert_eq!(str_attr(span, attr::SERVER_ADDRESS), "localhost");
    assert_eq!(int_attr(span, attr::SERVER_PORT), port);
}

// --- errors and retries ----------------------------------------------------------------------

async fn failing_call(status: u16, body: &str) -> (OpenAIError, Spans, usize) {
    let mock = MockOpenAI::start().await;
    mock.answer(status, body).await;
    let client = mock.client();
    let (result, spans) = traced(client.chat().create(request("gpt-9-ultra"))).await;
    let attempts = mock.received_requests().await.len();
    (result.expect_err("the call fails"), spans, attempts)
}

fn assert_failed(spans: &Spans, error_type: &str, message_part: &str) {
    let span = chat_span(spans);
    let Status::Error { description } = &span.status else {
        panic!("status {:?}", span.status)
    };
    assert!(
        description.contains(message_part),
        "{description:?} should contain {message_part:?}"
    );
    assert!(
        description.len() < 300,
        "a short description, not a dump: {description}"
    );
    assert_eq!(str_attr(span, attr::ERROR_TYPE), error_type);
    let event = span
        .events
        .iter()
        .find(|e| e.name == attr::EVENT_EXCEPTION)
        .expect("exception event");
    let message = event
        .attributes
        .iter()
        .find(|kv| kv.key.as_str() == attr::EXCEPTION_MESSAGE)
        .unwrap();
    assert!(message.value.as_str().contains(message_part));
}

#[tokio::test]
async fn api_errors_use_the_error_code() {
    for (status, body, code) in [
        (
            400,
            fixtures::ERROR_400_CONTEXT_LENGTH,
            "context_length_exceeded",
        ),
        (401, fixtures::ERROR_401_INVALID_API_KEY, "invalid_api_key"),
        (404, fixtures::ERROR_404_MODEL_NOT_FOUND, "model_not_found"),
    ] {
        let (error, spans, attempts) = failing_call(status, body).await;
        let OpenAIError::ApiError(api) = &error else {
            panic!("{error:?}")
        };
        assert_eq!(api.status_code.as_u16(), status);
        assert_eq!(api.api_error.code.as_deref(), Some(code));
        assert_eq!(attempts, 1, "{status} is not retried");
        let Status::Error { description } = &chat_span(&spans).status else {
            unreachable!()
        };
        assert!(
            !description.contains("CRET"),
            "the key's tail is masked: {description}"
        );
        assert_failed(&spans, code, &api.api_error.message[..20]);
        let http = spans.one("HTTP POST");
        assert_eq!(int_attr(http, attr::HTTP_STATUS_CODE), i64::from(status));
        assert!(matches!(http.status, Status::Error { .. }));
    }
}

#[tokio::test]
async fn server_error_is_retried_and_typed_by_status() {
    let (error, spans, attempts) = failing_call(500, fixtures::ERROR_500_SERVER).await;
    assert!(matches!(error, OpenAIError::ApiError(_)), "{error:?}");
    assert_eq!(attempts, 4, "async-openai's default: 3 retries");
    assert_failed(&spans, "500", "server had an error");
    let chat = chat_span(&spans);
    let attempts = spans.children_of(chat);
    assert_eq!(attempts.len(), 4, "one HTTP POST span per attempt");
    assert!(
        attempts
            .iter()
            .all(|s| int_attr(s, attr::HTTP_STATUS_CODE) == 500)
    );
}

#[tokio::test]
async fn rate_limit_exhausting_retries_is_rate_limit_exceeded() {
    let mock = MockOpenAI::start().await;
    mock.answer(429, fixtures::ERROR_429_RATE_LIMIT).await;
    let client = TracedClient::builder()
        .config(mock.config())
        .max_retries(1)
        .build();
    let (result, spans) = traced(client.chat().create(request("gpt-4o-mini"))).await;
    assert!(matches!(result, Err(OpenAIError::ApiError(_))));
    assert_failed(&spans, "rate_limit_exceeded", "Rate limit reached");
    assert_eq!(spans.named("HTTP POST").len(), 2);
}

#[tokio::test]
async fn connection_refused_is_connect() {
    // Bind then drop a listener: nothing listens on that port any more.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = OpenAIConfig::new()
        .with_api_base(format!("http://127.0.0.1:{port}/v1"))
        .with_api_key(TEST_API_KEY);
    let client = TracedClient::builder()
        .config(config)
        .max_retries(0)
        .build();
    let (result, spans) = traced(client.chat().create(request("gpt-4o-mini"))).await;
    assert!(
        matches!(result, Err(OpenAIError::Reqwest(ref e)) if e.is_connect()),
        "{result:?}"
    );
    assert_failed(&spans, "connect", "error");
    let http = spans.one("HTTP POST");
    assert_eq!(str_attr(http, attr::ERROR_TYPE), "connect");
    assert!(attribute(http, attr::HTTP_STATUS_CODE).is_none());
}

#[tokio::test]
async fn timeout_is_timeout() {
    let mock = MockOpenAI::start().await;
    mock.answer_delayed(200, fixtures::CHAT_COMPLETION, Duration::from_secs(5))
        .await;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let client = TracedClient::builder()
        .config(mock.config())
        .http_client(http)
        .max_retries(0)
        .build();
    let (result, spans) = traced(client.chat().create(request("gpt-4o-mini"))).await;
    assert!(
        matches!(result, Err(OpenAIError::Reqwest(ref e)) if e.is_timeout()),
        "{result:?}"
    );
    assert_failed(&spans, "timeout", "");
}

#[tokio::test]
async fn malformed_json_is_decode() {
    let (error, spans, _) = failing_call(200, "{\"id\": \"chatcmpl-1\", \"choices\": [").await;
    assert!(
        matches!(error, OpenAIError::JSONDeserialize(..)),
        "{error:?}"
    );
    assert_failed(&spans, "decode", "deserialize");
    assert_eq!(
        int_attr(spans.one("HTTP POST"), attr::HTTP_STATUS_CODE),
        200
    );
}

// --- streaming --------------------------------------------------------------------------------

const STREAM_TEXT: &str = "Death is the end of life's story.";

async fn collect(mut stream: TracedChatStream) -> (String, usize) {
    let mut text = String::new();
    let mut items = 0;
    while let Some(item) = stream.next().await {
        let chunk = item.unwrap();
        items += 1;
        for choice in &chunk.choices {
            text.push_str(choice.delta.content.as_deref().unwrap_or(""));
        }
    }
    (text, items)
}

#[tokio::test]
async fn stream_yields_the_same_items_and_records_the_answer() {
    let mock = MockOpenAI::start().await;
    mock.answer_stream(fixtures::CHAT_STREAM_WITH_USAGE).await;
    let client = mock.client();
    let ((text, items), spans) = traced(async {
        let stream = client
            .chat()
            .create_stream(request("gpt-3.5-turbo"))
            .await
            .unwrap();
        collect(stream).await
    })
    .await;
    assert_eq!(text, STREAM_TEXT);
    assert_eq!(items, 12, "every chunk, the usage chunk included");

    // The plain client yields the same.
    let plain = async_openai::Client::with_config(mock.config());
    let mut plain_stream = plain
        .chat()
        .create_stream(request("gpt-3.5-turbo"))
        .await
        .unwrap();
    let mut plain_items = 0;
    while let Some(item) = plain_stream.next().await {
        item.unwrap();
        plain_items += 1;
    }
    assert_eq!(plain_items, items);

    let span = chat_span(&spans);
    assert_eq!(
        attribute(span, attr::GEN_AI_REQUEST_STREAM),
        Some(&Value::Bool(true))
    );
    assert_eq!(
        str_attr(span, attr::GEN_AI_RESPONSE_ID),
        "chatcmpl-7DO5K8rhgWHrHEpsLizRdNa9QkzkG"
    );
    assert_eq!(
        str_attr(span, attr::OPENAI_RESPONSE_ID),
        "chatcmpl-7DO5K8rhgWHrHEpsLizRdNa9QkzkG"
    );
    assert_eq!(
        str_attr(span, attr::GEN_AI_RESPONSE_MODEL),
        "gpt-3.5-turbo-0301"
    );
    assert_eq!(
        strings(span, attr::GEN_AI_RESPONSE_FINISH_REASONS),
        ["stop"]
    );
    assert_eq!(int_attr(span, attr::GEN_AI_USAGE_OUTPUT_TOKENS), 9);
    assert_eq!(int_attr(span, attr::OPENAI_USAGE_TOTAL_TOKENS), 39);
    assert!(
        matches!(attribute(span, attr::GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK), Some(Value::F64(t)) if *t >= 0.0)
    );
    assert_eq!(
        span.events
            .iter()
            .filter(|e| e.name == attr::EVENT_FIRST_CHUNK)
            .count(),
        1
    );
    assert!(attribute(span, attr::TRACED_CHAT_CANCELLED).is_none());
    assert_eq!(span.status, Status::Unset);
    // The HTTP span ends at the headers, under the chat span.
    assert_eq!(spans.children_of(span).len(), 1);
}

#[tokio::test]
async fn include_usage_is_set_only_when_asked() {
    let mock = MockOpenAI::start().await;
    mock.answer_stream(fixtures::CHAT_STREAM_WITH_USAGE).await;
    for (include, expected) in [(false, None), (true, Some(true))] {
        let client = TracedClient::builder()
            .config(mock.config())
            .include_usage(include)
            .build();
        let stream = client
            .chat()
            .create_stream(request("gpt-3.5-turbo"))
            .await
            .unwrap();
        collect(stream).await;
        let requests = mock.received_requests().await;
        let body: serde_json::Value = requests.last().unwrap().body_json().unwrap();
        assert_eq!(
            body["stream_options"]["include_usage"].as_bool(),
            expected,
            "include_usage({include})"
        );
    }
}

#[tokio::test]
async fn dropped_stream_ends_its_span_cancelled_once() {
    let mock = MockOpenAI::start().await;
    mock.answer_stream(fixtures::CHAT_STREAM_WITH_USAGE).await;
    let client = mock.client();
    let (first, spans) = traced(async {
        let mut stream = client
            .chat()
            .create_stream(request("gpt-3.5-turbo"))
            .await
            .unwrap();
        stream.next().await;
        let second = stream.next().await.unwrap().unwrap();
        drop(stream);
        second.choices[0].delta.content.clone()
    })
    .await;
    assert_eq!(first.as_deref(), Some("Death"));
    let span = chat_span(&spans);
    assert_eq!(
        attribute(span, attr::TRACED_CHAT_CANCELLED),
        Some(&Value::Bool(true))
    );
    assert_eq!(
        str_attr(span, attr::GEN_AI_RESPONSE_ID),
        "chatcmpl-7DO5K8rhgWHrHEpsLizRdNa9QkzkG"
    );
    assert!(attribute(span, attr::GEN_AI_RESPONSE_FINISH_REASONS).is_none());
}

#[traced_chat]
async fn stream_answer(
    client: &TracedClient,
    prompt: &str,
) -> Result<TracedChatStream, OpenAIError> {
    let mut req = request("gpt-3.5-turbo");
    req.messages = vec![ChatCompletionRequestUserMessage::from(prompt).into()];
    client.chat().create_stream(req).await
}

#[tokio::test]
async fn annotated_function_returning_a_stream_records_the_streamed_text() {
    let mock = MockOpenAI::start().await;
    mock.answer_stream(fixtures::CHAT_STREAM_WITH_USAGE).await;
    let client = mock.client();
    let ((text, _), spans) = traced(async {
        let stream = stream_answer(&client, "Tell me about death").await.unwrap();
        collect(stream).await
    })
    .await;
    assert_eq!(text, STREAM_TEXT);
    let span = spans.one("stream_answer");
    assert_eq!(str_attr(span, attr::OPENAI_PROMPT), "Tell me about death");
    assert_eq!(str_attr(span, attr::OPENAI_RESPONSE), STREAM_TEXT);
    // It stayed open until the stream ended.
    assert!(span.end_time >= chat_span(&spans).end_time);
}

// --- tool calls -----------------------------------------------------------------------------

#[traced_chat]
async fn ask_weather(
    client: &TracedClient,
    prompt: &str,
) -> Result<async_openai::types::chat::CreateChatCompletionResponse, OpenAIError> {
    let mut req = request("gpt-4o-mini");
    req.messages = vec![ChatCompletionRequestUserMessage::from(prompt).into()];
    client.chat().create(req).await
}

#[tokio::test]
async fn tool_calls_are_recorded_with_a_readable_response() {
    let mock = MockOpenAI::start().await;
    mock.answer(200, fixtures::CHAT_COMPLETION_TOOL_CALLS).await;
    let client = TracedClient::builder()
        .config(mock.config())
        .capture_content(true)
        .build();
    let (result, spans) = traced(ask_weather(&client, "Weather in Paris?")).await;
    result.unwrap();
    let chat = chat_span(&spans);
    assert_eq!(
        strings(chat, attr::GEN_AI_RESPONSE_FINISH_REASONS),
        ["tool_calls"]
    );
    assert_eq!(
        strings(chat, attr::OPENAI_RESPONSE_TOOL_CALL_NAMES),
        ["get_weather"]
    );
    assert_eq!(
        strings(chat, attr::OPENAI_RESPONSE_TOOL_CALL_IDS),
        ["call_Vt8pYyAG3rNVc3G5GQZvJ2Xe"]
    );
    let output: serde_json::Value =
        serde_json::from_str(str_attr(chat, attr::GEN_AI_OUTPUT_MESSAGES)).unwrap();
    assert_eq!(output[0]["finish_reason"], "tool_calls");
    assert_eq!(output[0]["parts"][0]["type"], "tool_call");
    assert_eq!(output[0]["parts"][0]["name"], "get_weather");
    assert_eq!(
        output[0]["parts"][0]["arguments"],
        "{\"location\":\"Paris, France\",\"unit\":\"celsius\"}"
    );
    let call = spans.one("ask_weather");
    assert_eq!(
        str_attr(call, attr::OPENAI_RESPONSE),
        "get_weather({\"location\":\"Paris, France\",\"unit\":\"celsius\"})"
    );
}

#[tokio::test]
async fn streamed_tool_call_deltas_are_merged() {
    let sse = [
        r#"{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"get_weather","arguments":""}}]},"finish_reason":null}]}"#,
        r#"{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"name":"get_weather","arguments":"{\"location\":"}}]},"finish_reason":null}]}"#,
        r#"{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\"Paris\"}"}}]},"finish_reason":null}]}"#,
        r#"{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}"#,
    ]
    .iter()
    .map(|d| format!("data: {d}\n\n"))
    .collect::<String>()
        + "data: [DONE]\n\n";
    let mock = MockOpenAI::start().await;
    mock.answer_stream(&sse).await;
    let client = TracedClient::builder()
        .config(mock.config())
        .capture_content(true)
        .build();
    let (_, spans) = traced(async {
        let stream = client.chat().create_stream(request("m")).await.unwrap();
        collect(stream).await
    })
    .await;
    let chat = chat_span(&spans);
    assert_eq!(
        strings(chat, attr::GEN_AI_RESPONSE_FINISH_REASONS),
        ["tool_calls"]
    );
    assert_eq!(
        strings(chat, attr::OPENAI_RESPONSE_TOOL_CALL_NAMES),
        ["get_weather"]
    );
    let output: serde_json::Value =
        serde_json::from_str(str_attr(chat, attr::GEN_AI_OUTPUT_MESSAGES)).unwrap();
    assert_eq!(
        output[0]["parts"][0]["arguments"],
        "{\"location\":\"Paris\"}"
    );
    assert_eq!(output[0]["parts"][0]["id"], "call_1");
}

// --- content ----------------------------------------------------------------------------------

#[tokio::test]
async fn content_is_off_by_default_and_in_convention_shape_when_on() {
    let mock = MockOpenAI::start().await;
    let off = mock.client();
    let (_, spans) = traced(off.chat().create(request("gpt-3.5-turbo"))).await;
    let span = chat_span(&spans);
    for key in [
        attr::GEN_AI_INPUT_MESSAGES,
        attr::GEN_AI_OUTPUT_MESSAGES,
        attr::GEN_AI_SYSTEM_INSTRUCTIONS,
    ] {
        assert!(attribute(span, key).is_none(), "{key} is opt-in");
    }

    let on = TracedClient::builder()
        .config(mock.config())
        .capture_content(true)
        .build();
    let (_, spans) = traced(on.chat().create(request("gpt-3.5-turbo"))).await;
    let span = chat_span(&spans);
    let system: serde_json::Value =
        serde_json::from_str(str_attr(span, attr::GEN_AI_SYSTEM_INSTRUCTIONS)).unwrap();
    assert_eq!(
        system,
        serde_json::json!([{"type": "text", "content": "You are a helpful assistant."}])
    );
    let input: serde_json::Value =
        serde_json::from_str(str_attr(span, attr::GEN_AI_INPUT_MESSAGES)).unwrap();
    assert_eq!(
        input,
        serde_json::json!([{"role": "user", "parts": [{"type": "text", "content": "What is the meaning of life?"}]}])
    );
    let output: serde_json::Value =
        serde_json::from_str(str_attr(span, attr::GEN_AI_OUTPUT_MESSAGES)).unwrap();
    assert_eq!(
        output,
        serde_json::json!([{"role": "assistant", "finish_reason": "stop", "parts": [
        {"type": "text", "content": "The meaning of life is to find purpose, love and joy in the time we have."}]}])
    );
}

#[tokio::test]
async fn no_secret_in_any_exported_byte_with_content_on() {
    let mock = MockOpenAI::start().await;
    mock.answer_stream(fixtures::CHAT_STREAM_WITH_USAGE).await;
    // Credentials in the base URL too.
    let base = mock
        .base_url()
        .replace("http://", "http://user:url-SECRET-pw@");
    let client = TracedClient::builder()
        .config(
            OpenAIConfig::new()
                .with_api_base(base)
                .with_api_key(TEST_API_KEY),
        )
        .capture_content(true)
        .build();
    let (_, spans) = traced(async {
        let stream = client
            .chat()
            .create_stream(request("gpt-3.5-turbo"))
            .await
            .unwrap();
        collect(stream).await
    })
    .await;
    assert!(spans.len() >= 3);
    let resource = opentelemetry_sdk::Resource::builder().build();
    for span in spans.iter() {
        for text in [
            traced_chat::testing::span_to_json(span, &resource),
            format!("{span:?}"),
        ] {
            assert!(!text.contains(TEST_API_KEY), "API key in {}", span.name);
            assert!(!text.contains("SECRET"), "a secret in {}", span.name);
            assert!(
                !text.to_ascii_lowercase().contains("authorization"),
                "a header in {}",
                span.name
            );
        }
    }
    let http = spans.one("HTTP POST");
    assert!(str_attr(http, attr::URL_FULL).starts_with("http://127.0.0.1:"));
}

// --- metrics ----------------------------------------------------------------------------------

#[tokio::test]
async fn metrics_follow_the_conventions() {
    let metrics = MetricCapture::install();
    let mock = MockOpenAI::start().await;
    let client = mock.client(); // built after the meter provider is installed
    let model = "metrics-test-model";
    client.chat().create(request(model)).await.unwrap();
    mock.answer_times(1, 404, fixtures::ERROR_404_MODEL_NOT_FOUND)
        .await;
    client.chat().create(request(model)).await.unwrap_err();
    mock.answer_stream(fixtures::CHAT_STREAM_WITH_USAGE).await;
    collect(client.chat().create_stream(request(model)).await.unwrap()).await;
    // A call dropped half-way still counts, as cancelled.
    let chat = client.chat();
    let mut dropped = Box::pin(chat.create(request(model)));
    let _ = dropped
        .as_mut()
        .poll(&mut std::task::Context::from_waker(std::task::Waker::noop()));
    drop(dropped);
    // So does a stream request dropped before its headers arrive.
    let mut dropped_stream = Box::pin(chat.create_stream(request(model)));
    let _ = dropped_stream
        .as_mut()
        .poll(&mut std::task::Context::from_waker(std::task::Waker::noop()));
    drop(dropped_stream);

    let points: Vec<_> = metrics
        .histograms()
        .into_iter()
        .filter(|p| {
            p.attribute(attr::GEN_AI_REQUEST_MODEL).map(|v| v.as_str()) == Some(model.into())
        })
        .collect();
    let find = |name: &str, extra: &dyn Fn(&traced_chat::testing::HistogramPoint) -> bool| {
        points
            .iter()
            .filter(|p| p.name == name && extra(p))
            .collect::<Vec<_>>()
    };
    let input = find(attr::METRIC_TOKEN_USAGE, &|p| {
        p.attribute(attr::GEN_AI_TOKEN_TYPE) == Some(&Value::from("input"))
    });
    let output = find(attr::METRIC_TOKEN_USAGE, &|p| {
        p.attribute(attr::GEN_AI_TOKEN_TYPE) == Some(&Value::from("output"))
    });
    assert_eq!(
        input.iter().map(|p| p.count).sum::<u64>(),
        2,
        "the call and the stream reported usage; the error did not"
    );
    assert_eq!(input.iter().map(|p| p.sum).sum::<f64>(), 60.0);
    assert_eq!(output.iter().map(|p| p.sum).sum::<f64>(), 22.0);
    assert_eq!(input[0].unit, "{token}");
    assert_eq!(input[0].bounds[..4], [1.0, 4.0, 16.0, 64.0]);
    assert_eq!(input[0].bounds.len(), 14);
    for p in &input {
        assert_eq!(
            p.attribute(attr::GEN_AI_OPERATION_NAME),
            Some(&Value::from("chat"))
        );
        assert_eq!(
            p.attribute(attr::GEN_AI_PROVIDER_NAME),
            Some(&Value::from("openai"))
        );
        assert_eq!(
            p.attribute(attr::GEN_AI_RESPONSE_MODEL),
            Some(&Value::from("gpt-3.5-turbo-0301"))
        );
        assert_eq!(
            p.attribute(attr::SERVER_ADDRESS),
            Some(&Value::from("127.0.0.1"))
        );
    }

    let durations = find(attr::METRIC_OPERATION_DURATION, &|_| true);
    assert_eq!(durations.iter().map(|p| p.count).sum::<u64>(), 5);
    assert_eq!(durations[0].unit, "s");
    assert_eq!(durations[0].bounds[..3], [0.01, 0.02, 0.04]);
    let failed = find(attr::METRIC_OPERATION_DURATION, &|p| {
        p.attribute(attr::ERROR_TYPE).is_some()
    });
    let mut types: Vec<String> = failed
        .iter()
        .map(|p| p.attribute(attr::ERROR_TYPE).unwrap().as_str().into_owned())
        .collect();
    types.sort();
    assert_eq!(types, ["cancelled", "model_not_found"]);
    let cancelled = find(attr::METRIC_OPERATION_DURATION, &|p| {
        p.attribute(attr::ERROR_TYPE) == Some(&Value::from("cancelled"))
    });
    assert_eq!(cancelled.iter().map(|p| p.count).sum::<u64>(), 2);

    assert_eq!(
        find(attr::METRIC_TIME_TO_FIRST_CHUNK, &|_| true)
            .iter()
            .map(|p| p.count)
            .sum::<u64>(),
        1
    );
    assert_eq!(
        find(attr::METRIC_TIME_PER_OUTPUT_CHUNK, &|_| true)
            .iter()
            .map(|p| p.count)
            .sum::<u64>(),
        11
    );
}

#[tokio::test]
async fn mid_stream_error_sets_error_before_the_span_ends() {
    let sse = "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"},\"finish_reason\":null}]}\n\ndata: {not json\n\n";
    let mock = MockOpenAI::start().await;
    mock.answer_stream(sse).await;
    let client = mock.client();
    let (items, spans) = traced(async {
        let mut stream = client.chat().create_stream(request("m")).await.unwrap();
        let mut items = Vec::new();
        while let Some(item) = stream.next().await {
            items.push(item.is_ok());
        }
        items
    })
    .await;
    assert_eq!(
        items,
        [true, false],
        "one chunk, then the error, as async-openai yields them"
    );
    let span = chat_span(&spans);
    assert!(
        matches!(span.status, Status::Error { .. }),
        "{:?}",
        span.status
    );
    assert!(attribute(span, attr::ERROR_TYPE).is_some());
    assert!(attribute(span, attr::TRACED_CHAT_CANCELLED).is_none());
}

#[test]
fn capture_variable_turns_client_content_on_and_everything_off() {
    // Each case runs in a child process: the variable is read once per process.
    match std::env::var("TRACED_CHAT_CAPTURE_CHILD").as_deref() {
        Ok("on") => {
            assert!(traced_chat::content::enabled(), "the macro still records");
            let rt = tokio::runtime::Runtime::new().unwrap();
            rt.block_on(async {
                let mock = MockOpenAI::start().await;
                let (_, spans) = traced(mock.client().chat().create(request("m"))).await;
                assert!(attribute(chat_span(&spans), attr::GEN_AI_INPUT_MESSAGES).is_some());
            });
            return;
        }
        Ok("off") => {
            assert!(!traced_chat::content::enabled(), "no content anywhere");
            let rt = tokio::runtime::Runtime::new().unwrap();
            rt.block_on(async {
                let mock = MockOpenAI::start().await;
                // Even a client that asks for content gets none.
                let client = TracedClient::builder()
                    .config(mock.config())
                    .capture_content(true)
                    .build();
                let (_, spans) = traced(client.chat().create(request("m"))).await;
                assert!(attribute(chat_span(&spans), attr::GEN_AI_INPUT_MESSAGES).is_none());
            });
            return;
        }
        _ => {}
    }
    for (mode, value) in [
        ("on", "true"),
        ("on", "span_only"),
        ("off", "false"),
        ("off", "no_content"),
    ] {
        let status = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "capture_variable_turns_client_content_on_and_everything_off",
                "--exact",
            ])
            .env("TRACED_CHAT_CAPTURE_CHILD", mode)
            .env(attr::ENV_CAPTURE_MESSAGE_CONTENT, value)
            .status()
            .unwrap();
        assert!(
            status.success(),
            "{}={value}",
            attr::ENV_CAPTURE_MESSAGE_CONTENT
        );
    }
}

#[traced_chat(prompt = prompt)]
async fn several(
    client: &TracedClient,
    prompt: &str,
) -> Result<async_openai::types::chat::CreateChatCompletionResponse, OpenAIError> {
    let mut req = request("gpt-4o-mini");
    req.n = Some(2);
    req.messages = vec![ChatCompletionRequestUserMessage::from(prompt).into()];
    client.chat().create(req).await
}

#[tokio::test]
async fn several_choices_record_the_first_and_the_count() {
    let mut body: serde_json::Value = serde_json::from_str(fixtures::CHAT_COMPLETION).unwrap();
    let mut second = body["choices"][0].clone();
    second["index"] = 1.into();
    second["message"]["content"] = "A second answer.".into();
    second["finish_reason"] = "length".into();
    body["choices"].as_array_mut().unwrap().push(second);
    let mock = MockOpenAI::start().await;
    mock.answer(200, &body.to_string()).await;
    let client = mock.client();
    let (result, spans) = traced(several(&client, "two please")).await;
    assert_eq!(result.unwrap().choices.len(), 2);
    let span = spans.one("several");
    assert_eq!(
        str_attr(span, attr::OPENAI_RESPONSE),
        "The meaning of life is to find purpose, love and joy in the time we have."
    );
    assert_eq!(int_attr(span, attr::OPENAI_RESPONSE_CHOICE_COUNT), 2);
    let chat = chat_span(&spans);
    assert_eq!(
        strings(chat, attr::GEN_AI_RESPONSE_FINISH_REASONS),
        ["stop", "length"]
    );
    assert_eq!(int_attr(chat, attr::GEN_AI_REQUEST_CHOICE_COUNT), 2);
}

#[tokio::test]
async fn with_content_captured_every_choice_is_an_output_message() {
    // A whole answer with two choices.
    let mut body: serde_json::Value = serde_json::from_str(fixtures::CHAT_COMPLETION).unwrap();
    let mut second = body["choices"][0].clone();
    second["index"] = 1.into();
    second["message"]["content"] = "A second answer.".into();
    second["finish_reason"] = "length".into();
    body["choices"].as_array_mut().unwrap().push(second);
    let mock = MockOpenAI::start().await;
    mock.answer(200, &body.to_string()).await;
    let client = TracedClient::builder()
        .config(mock.config())
        .capture_content(true)
        .build();
    let mut req = request("gpt-4o-mini");
    req.n = Some(2);
    let (_, spans) = traced(client.chat().create(req)).await;
    let output: serde_json::Value =
        serde_json::from_str(str_attr(chat_span(&spans), attr::GEN_AI_OUTPUT_MESSAGES)).unwrap();
    assert_eq!(
        output,
        serde_json::json!([
            {"role": "assistant", "finish_reason": "stop", "parts": [{"type": "text",
                "content": "The meaning of life is to find purpose, love and joy in the time we have."}]},
            {"role": "assistant", "finish_reason": "length", "parts": [{"type": "text",
                "content": "A second answer."}]},
        ])
    );

    // A stream with two choices, their deltas interleaved.
    let chunk = |index: u32, content: Option<&str>, finish: Option<&str>| {
        serde_json::json!({"id": "chatcmpl-n2", "object": "chat.completion.chunk", "created": 1,
            "model": "gpt-4o-mini", "choices": [{"index": index,
            "delta": {"content": content}, "finish_reason": finish}]})
    };
    let sse: String = [
        chunk(0, Some("First "), None),
        chunk(1, Some("Second "), None),
        chunk(0, Some("answer."), Some("stop")),
        chunk(1, Some("one."), Some("length")),
    ]
    .iter()
    .map(|c| format!("data: {c}\n\n"))
    .chain(["data: [DONE]\n\n".to_owned()])
    .collect();
    let mock = MockOpenAI::start().await;
    mock.answer_stream(&sse).await;
    let client = TracedClient::builder()
        .config(mock.config())
        .capture_content(true)
        .build();
    let mut req = request("gpt-4o-mini");
    req.n = Some(2);
    let (_, spans) =
        traced(async { collect(client.chat().create_stream(req).await.unwrap()).await }).await;
    let output: serde_json::Value =
        serde_json::from_str(str_attr(chat_span(&spans), attr::GEN_AI_OUTPUT_MESSAGES)).unwrap();
    assert_eq!(output[0]["parts"][0]["content"], "First answer.");
    assert_eq!(output[0]["finish_reason"], "stop");
    assert_eq!(output[1]["parts"][0]["content"], "Second one.");
    assert_eq!(output[1]["finish_reason"], "length");
    assert_eq!(output.as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn empty_first_chunk_records_no_empty_id_or_model() {
    // Some providers (Azure) open a stream with a chunk that has no id, no model, created 0.
    let first = r#"data: {"id":"","object":"","created":0,"model":"","choices":[]}"#;
    let sse = format!("{first}\n\n{}", fixtures::CHAT_STREAM_WITH_USAGE);
    let mock = MockOpenAI::start().await;
    mock.answer_stream(&sse).await;
    let client = mock.client();
    let (_, spans) =
        traced(async { collect(client.chat().create_stream(request("m")).await.unwrap()).await })
            .await;
    let span = chat_span(&spans);
    assert_eq!(
        str_attr(span, attr::GEN_AI_RESPONSE_ID),
        "chatcmpl-7DO5K8rhgWHrHEpsLizRdNa9QkzkG"
    );
    assert_eq!(
        str_attr(span, attr::GEN_AI_RESPONSE_MODEL),
        "gpt-3.5-turbo-0301"
    );
    assert_eq!(int_attr(span, attr::OPENAI_RESPONSE_CREATED), 1683425202);
}

#[traced_chat]
async fn outer_stream(
    client: &TracedClient,
    prompt: &str,
) -> Result<TracedChatStream, OpenAIError> {
    stream_answer(client, prompt).await
}

#[tokio::test]
async fn nested_functions_returning_a_stream_all_record_it() {
    let mock = MockOpenAI::start().await;
    mock.answer_stream(fixtures::CHAT_STREAM_WITH_USAGE).await;
    let client = mock.client();
    let ((text, _), spans) = traced(async {
        let stream = outer_stream(&client, "Tell me").await.unwrap();
        collect(stream).await
    })
    .await;
    assert_eq!(text, STREAM_TEXT);
    let outer = spans.one("outer_stream");
    let inner = spans.one("stream_answer");
    assert_eq!(inner.parent_span_id, outer.span_context.span_id());
    for span in [outer, inner] {
        assert_eq!(str_attr(span, attr::OPENAI_RESPONSE), STREAM_TEXT);
    }
    // Children end before their parents.
    assert!(chat_span(&spans).end_time <= inner.end_time);
    assert!(inner.end_time <= outer.end_time);
}
