//! Generated inputs (proptest, about 10,000 cases in all) through every public path that records:
//! `traced_chat::testing::truncate`, prompts recorded by `#[traced_chat]` (text written piece by piece, request
//! messages as JSON), responses returned by `#[traced_chat]` functions, and whole answers and
//! streamed chunks served to `TracedClient` through an in-process transport. Inputs include empty
//! choices, null content, missing usage, huge and multi-byte strings, odd floats, tool calls and
//! bogus indices; the content limit varies per case.
//!
//! Nothing may panic; every recorded text is cut on a character boundary within the limit and is
//! a prefix of the original; lengths and counts are non-negative and exact; JSON attributes parse;
//! every span ends, and every span's console JSON parses.
#![cfg(feature = "otel")]

mod support;

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

use async_openai::config::OpenAIConfig;
use async_openai::error::OpenAIError;
use async_openai::types::chat::{
    ChatChoice, ChatChoiceStream, ChatCompletionMessageCustomToolCall,
    ChatCompletionMessageToolCall, ChatCompletionMessageToolCallChunk,
    ChatCompletionMessageToolCalls, ChatCompletionRequestAssistantMessage,
    ChatCompletionRequestMessage, ChatCompletionRequestMessageContentPartText,
    ChatCompletionRequestSystemMessage, ChatCompletionRequestToolMessage,
    ChatCompletionRequestUserMessage, ChatCompletionRequestUserMessageContent,
    ChatCompletionRequestUserMessageContentPart, ChatCompletionResponseMessage,
    ChatCompletionStreamResponseDelta, CompletionTokensDetails, CompletionUsage,
    CreateChatCompletionResponse, CreateChatCompletionStreamResponse, CustomTool, FinishReason,
    FunctionCall, FunctionCallStream, PromptTokensDetails, Role, ServiceTier,
};
use futures_util::StreamExt as _;
use opentelemetry::{Array, Value};
use proptest::prelude::*;
use proptest::test_runner::Config;
use traced_chat::attributes as attr;
use traced_chat::content;
use traced_chat::testing::{Lifecycle, SpanCapture, SpanData, Spans, TEST_API_KEY, attribute};
use traced_chat::{TracedChatStream, TracedClient, traced_chat};

use support::request;

// --- settings -------------------------------------------------------------------------------

/// The content limit is process-wide: the tests of this file take turns.
fn settings() -> MutexGuard<'static, ()> {
    static SETTINGS: Mutex<()> = Mutex::new(());
    let guard = SETTINGS.lock().unwrap_or_else(|e| e.into_inner());
    content::set_enabled(true);
    // The properties below check each text's own cut; the budget the texts of one span share
    // is checked by `answers_stay_within_the_span_budget` (and tests/hostile.rs).
    content::set_max_span_content(UNLIMITED);
    guard
}

/// A span budget no generated answer reaches.
const UNLIMITED: usize = 1 << 40;

fn config(cases: u32) -> Config {
    Config {
        cases,
        // Failures print their minimal input; nothing is written next to the sources.
        failure_persistence: None,
        // Generation dominates the run time; XorShift is several times cheaper than ChaCha.
        rng_algorithm: proptest::test_runner::RngAlgorithm::XorShift,
        ..Config::default()
    }
}

// --- strategies -----------------------------------------------------------------------------

/// Short arbitrary Unicode, escapes and control characters, multi-byte runs, or a huge string.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        10 => any::<String>(),
        4 => "[a-zé日🦀\"\\\\\n\t\u{0}\u{7f}\u{2028}]{0,48}",
        1 => (any::<char>(), 0usize..20_000)
            .prop_map(|(c, n)| std::iter::repeat_n(c, n).collect()),
        1 => Just(String::new()),
    ]
}

fn small_text() -> impl Strategy<Value = String> {
    prop_oneof![3 => "[a-z_é日🦀\"]{0,12}", 1 => any::<String>()]
}

/// The content limit of a case: tiny, small, or the default.
fn max_length() -> impl Strategy<Value = usize> {
    prop_oneof![3 => 1usize..48, 3 => 48usize..4096, 1 => Just(content::DEFAULT_MAX_LENGTH)]
}

fn finish_reason() -> impl Strategy<Value = Option<FinishReason>> {
    prop_oneof![
        2 => Just(None),
        1 => Just(Some(FinishReason::Stop)),
        1 => Just(Some(FinishReason::Length)),
        1 => Just(Some(FinishReason::ToolCalls)),
        1 => Just(Some(FinishReason::ContentFilter)),
        1 => Just(Some(FinishReason::FunctionCall)),
    ]
}

fn service_tier() -> impl Strategy<Value = Option<ServiceTier>> {
    prop_oneof![
        3 => Just(None),
        1 => Just(Some(ServiceTier::Auto)),
        1 => Just(Some(ServiceTier::Default)),
        1 => Just(Some(ServiceTier::Flex)),
        1 => Just(Some(ServiceTier::Priority)),
    ]
}

fn usage() -> impl Strategy<Value = Option<CompletionUsage>> {
    proptest::option::of(
        (
            any::<u32>(),
            any::<u32>(),
            any::<u32>(),
            proptest::option::of(any::<u32>()),
            proptest::option::of(any::<u32>()),
        )
            .prop_map(
                |(prompt, completion, total, cached, reasoning)| CompletionUsage {
                    prompt_tokens: prompt,
                    completion_tokens: completion,
                    total_tokens: total,
                    prompt_tokens_details: cached.map(|cached| PromptTokensDetails {
                        cached_tokens: Some(cached),
                        ..Default::default()
                    }),
                    completion_tokens_details: reasoning.map(|reasoning| CompletionTokensDetails {
                        reasoning_tokens: Some(reasoning),
                        ..Default::default()
                    }),
                },
            ),
    )
}

fn tool_call() -> impl Strategy<Value = ChatCompletionMessageToolCalls> {
    (any::<bool>(), small_text(), small_text(), text()).prop_map(|(custom, id, name, args)| {
        if custom {
            ChatCompletionMessageToolCalls::Custom(ChatCompletionMessageCustomToolCall {
                id,
                custom_tool: CustomTool { name, input: args },
            })
        } else {
            ChatCompletionMessageToolCalls::Function(ChatCompletionMessageToolCall {
                id,
                function: FunctionCall {
                    name,
                    arguments: args,
                },
            })
        }
    })
}

fn choice() -> impl Strategy<Value = ChatChoice> {
    (
        any::<u32>(),
        proptest::option::of(text()),
        proptest::option::of(proptest::collection::vec(tool_call(), 0..3)),
        finish_reason(),
    )
        .prop_map(|(index, content, tool_calls, finish_reason)| ChatChoice {
            index,
            message: ChatCompletionResponseMessage {
                content,
                tool_calls,
                role: Role::Assistant,
                ..Default::default()
            },
            finish_reason,
            logprobs: None,
        })
}

fn response() -> impl Strategy<Value = CreateChatCompletionResponse> {
    (
        small_text(),
        proptest::collection::vec(choice(), 0..4),
        any::<u32>(),
        small_text(),
        service_tier(),
        proptest::option::of(small_text()),
        usage(),
    )
        .prop_map(
            |(id, choices, created, model, service_tier, fingerprint, usage)| {
                #[allow(deprecated)]
                CreateChatCompletionResponse {
                    id,
                    choices,
                    created,
                    model,
                    service_tier,
                    system_fingerprint: fingerprint,
                    object: "chat.completion".into(),
                    usage,
                    ..Default::default()
                }
            },
        )
}

/// A choice or tool-call index: mostly small, sometimes past any sane bound.
fn index() -> impl Strategy<Value = u32> {
    prop_oneof![8 => 0u32..3, 1 => 3u32..300, 1 => Just(u32::MAX)]
}

fn tool_call_chunk() -> impl Strategy<Value = ChatCompletionMessageToolCallChunk> {
    (
        index(),
        proptest::option::of(small_text()),
        proptest::option::of(small_text()),
        proptest::option::of(text()),
    )
        .prop_map(
            |(index, id, name, arguments)| ChatCompletionMessageToolCallChunk {
                index,
                id,
                r#type: None,
                function: Some(FunctionCallStream { name, arguments }),
            },
        )
}

fn chunk() -> impl Strategy<Value = CreateChatCompletionStreamResponse> {
    let choice = (
        index(),
        proptest::option::of(text()),
        proptest::option::of(proptest::collection::vec(tool_call_chunk(), 0..3)),
        finish_reason(),
    )
        .prop_map(|(index, content, tool_calls, finish_reason)| {
            #[allow(deprecated)]
            ChatChoiceStream {
                index,
                delta: ChatCompletionStreamResponseDelta {
                    content,
                    function_call: None,
                    tool_calls,
                    role: None,
                    refusal: None,
                    audio: None,
                },
                finish_reason,
                logprobs: None,
            }
        });
    (
        prop_oneof![Just(String::new()), small_text()],
        proptest::collection::vec(choice, 0..3),
        prop_oneof![Just(0u32), any::<u32>()],
        prop_oneof![Just(String::new()), small_text()],
        service_tier(),
        usage(),
    )
        .prop_map(|(id, choices, created, model, service_tier, usage)| {
            #[allow(deprecated)]
            CreateChatCompletionStreamResponse {
                id,
                choices,
                created,
                model,
                service_tier,
                system_fingerprint: None,
                object: "chat.completion.chunk".into(),
                usage,
                ..Default::default()
            }
        })
}

fn odd_f32() -> impl Strategy<Value = f32> {
    prop_oneof![
        4 => any::<f32>(),
        1 => Just(f32::NAN),
        1 => Just(f32::INFINITY),
        1 => Just(f32::NEG_INFINITY),
        1 => Just(-0.0f32),
        1 => Just(f32::MIN_POSITIVE),
        1 => Just(1e-7f32),
        1 => Just(f32::MAX),
        2 => 0.0f32..2.0,
    ]
}

fn message() -> impl Strategy<Value = ChatCompletionRequestMessage> {
    prop_oneof![
        text().prop_map(|t| ChatCompletionRequestSystemMessage::from(t).into()),
        text().prop_map(|t| ChatCompletionRequestUserMessage::from(t).into()),
        proptest::collection::vec(text(), 0..3).prop_map(|parts| {
            ChatCompletionRequestUserMessage::from(ChatCompletionRequestUserMessageContent::Array(
                parts
                    .into_iter()
                    .map(|text| {
                        ChatCompletionRequestUserMessageContentPart::Text(
                            ChatCompletionRequestMessageContentPartText::from(text),
                        )
                    })
                    .collect(),
            ))
            .into()
        }),
        (
            proptest::option::of(text()),
            proptest::collection::vec(tool_call(), 0..3)
        )
            .prop_map(|(content, calls)| {
                ChatCompletionRequestAssistantMessage {
                    content: content.map(Into::into),
                    tool_calls: (!calls.is_empty()).then_some(calls),
                    ..Default::default()
                }
                .into()
            }),
        (text(), small_text()).prop_map(|(content, id)| {
            ChatCompletionRequestToolMessage {
                content: content.into(),
                tool_call_id: id,
            }
            .into()
        }),
    ]
}

// --- checks ---------------------------------------------------------------------------------

/// Cheap checks every recorded span must pass: it ended, its counts are non-negative, its JSON
/// attributes parse, and its console JSON parses.
fn well_formed(spans: &Spans, life: &Lifecycle) -> Result<(), TestCaseError> {
    prop_assert!(
        life.open.is_empty() && life.ended_twice.is_empty() && life.started == life.ended,
        "{life:?}"
    );
    let resource = opentelemetry_sdk::Resource::builder_empty().build();
    for span in spans.iter() {
        for kv in &span.attributes {
            let key = kv.key.as_str();
            let count = key.ends_with("tokens")
                || key.ends_with(".length")
                || key.ends_with("count")
                || key.ends_with(".created");
            let json = [
                attr::GEN_AI_INPUT_MESSAGES,
                attr::GEN_AI_OUTPUT_MESSAGES,
                attr::GEN_AI_SYSTEM_INSTRUCTIONS,
            ]
            .contains(&key);
            match &kv.value {
                Value::I64(v) if count => prop_assert!(*v >= 0, "{key} = {v}"),
                Value::String(s) if json => prop_assert!(
                    serde_json::from_str::<serde_json::Value>(s.as_str()).is_ok(),
                    "{key} is not JSON: {s}"
                ),
                Value::F64(v) if key == attr::GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK => {
                    prop_assert!(v.is_finite() && *v >= 0.0);
                }
                _ => {}
            }
        }
        let json = traced_chat::testing::span_to_json(span, &resource);
        prop_assert!(
            serde_json::from_str::<serde_json::Value>(&json).is_ok(),
            "console JSON of {} does not parse",
            span.name
        );
    }
    Ok(())
}

fn str_attr<'a>(span: &'a SpanData, key: &str) -> Option<&'a str> {
    match attribute(span, key) {
        Some(Value::String(s)) => Some(s.as_str()),
        _ => None,
    }
}

fn int_attr(span: &SpanData, key: &str) -> Option<i64> {
    match attribute(span, key) {
        Some(Value::I64(v)) => Some(*v),
        _ => None,
    }
}

fn strings_attr(span: &SpanData, key: &str) -> Option<Vec<String>> {
    match attribute(span, key) {
        Some(Value::Array(Array::String(v))) => Some(v.iter().map(|s| s.to_string()).collect()),
        _ => None,
    }
}

/// `kept` is `full` cut on a character boundary to at most `max` bytes, keeping all it can.
fn is_cut_of(kept: &str, full: &str, max: usize) -> Result<(), TestCaseError> {
    prop_assert!(kept.len() <= max, "{} > {max}", kept.len());
    prop_assert!(full.starts_with(kept), "not a prefix");
    if kept.len() < full.len() {
        let next = full[kept.len()..].chars().next().unwrap();
        prop_assert!(kept.len() + next.len_utf8() > max, "cut too short");
    }
    Ok(())
}

/// The response text and its length recorded on the function's span.
fn recorded_response(span: &SpanData) -> (Option<&str>, Option<i64>) {
    (
        str_attr(span, attr::OPENAI_RESPONSE),
        int_attr(span, attr::OPENAI_RESPONSE_LENGTH),
    )
}

fn tool_summary<'a>(calls: impl Iterator<Item = (&'a str, &'a str)>) -> String {
    calls
        .map(|(name, args)| format!("{name}({args})"))
        .collect::<Vec<_>>()
        .join("; ")
}

fn call_parts(call: &ChatCompletionMessageToolCalls) -> (&str, &str, &str) {
    match call {
        ChatCompletionMessageToolCalls::Function(f) => {
            (&f.id, &f.function.name, &f.function.arguments)
        }
        ChatCompletionMessageToolCalls::Custom(c) => {
            (&c.id, &c.custom_tool.name, &c.custom_tool.input)
        }
    }
}

/// What a `#[traced_chat]` function returning `response` records as `openai.response`.
fn expected_response(response: &CreateChatCompletionResponse) -> Option<String> {
    let choice = response.choices.first()?;
    match (&choice.message.content, &choice.message.tool_calls) {
        (Some(text), _) if !text.is_empty() => Some(text.clone()),
        (_, Some(calls)) if !calls.is_empty() => Some(tool_summary(calls.iter().map(|c| {
            let (_, name, args) = call_parts(c);
            (name, args)
        }))),
        (Some(text), _) => Some(text.clone()),
        _ => None,
    }
}

fn check_fn_response(
    span: &SpanData,
    response: &CreateChatCompletionResponse,
    max: usize,
) -> Result<(), TestCaseError> {
    let (text, length) = recorded_response(span);
    match expected_response(response) {
        Some(full) => {
            is_cut_of(text.expect("openai.response"), &full, max)?;
            prop_assert_eq!(length, Some(full.len() as i64));
        }
        None => prop_assert!(text.is_none() && length.is_none()),
    }
    let count = int_attr(span, attr::OPENAI_RESPONSE_CHOICE_COUNT);
    if response.choices.len() > 1 {
        prop_assert_eq!(count, Some(response.choices.len() as i64));
    } else {
        prop_assert!(count.is_none());
    }
    Ok(())
}

// --- truncation -----------------------------------------------------------------------------

#[test]
fn truncate_keeps_a_maximal_prefix_on_a_char_boundary() {
    proptest!(config(3_000), |(text in text(), max in prop_oneof![0usize..64, 0usize..100_000])| {
        is_cut_of(traced_chat::testing::truncate(&text, max), &text, max)?;
    });
}

// --- prompts --------------------------------------------------------------------------------

/// A prompt whose `Display` writes its pieces one by one (the bounded prompt buffer sees them
/// separately).
struct Pieces(Vec<String>);

impl fmt::Display for Pieces {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|piece| f.write_str(piece))
    }
}

#[traced_chat(skip(response))]
fn echo_pieces(prompt: &Pieces) -> usize {
    prompt.0.len()
}

#[test]
fn display_prompts_are_cut_within_the_limit() {
    let _settings = settings();
    let capture = SpanCapture::new();
    proptest!(config(1_500), |(pieces in proptest::collection::vec(text(), 0..6), max in max_length())| {
        content::set_max_length(max);
        let prompt = Pieces(pieces);
        let full = prompt.0.concat();
        let (_, spans, life) = capture.trace_sync_once("generated", || echo_pieces(&prompt));
        well_formed(&spans, &life)?;
        let span = spans.one("echo_pieces");
        is_cut_of(str_attr(span, attr::OPENAI_PROMPT).expect("openai.prompt"), &full, max)?;
        prop_assert_eq!(int_attr(span, attr::OPENAI_PROMPT_LENGTH), Some(full.len() as i64));
    });
}

#[traced_chat(prompt = messages)]
fn send_messages(messages: Vec<ChatCompletionRequestMessage>) {
    let _ = messages;
}

/// The texts of a request message, as recorded (`content`, then tool-call arguments).
fn message_texts(message: &ChatCompletionRequestMessage) -> (Vec<String>, Vec<String>) {
    let wire = serde_json::to_value(message).unwrap();
    let contents = match &wire["content"] {
        serde_json::Value::String(s) => vec![s.clone()],
        serde_json::Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p["text"].as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    };
    let arguments = wire["tool_calls"]
        .as_array()
        .map(|calls| {
            calls
                .iter()
                .map(|c| match c["type"].as_str() {
                    // A custom tool's input is its arguments.
                    Some("custom") => c["custom_tool"]["input"].as_str().unwrap_or(""),
                    _ => c["function"]["arguments"].as_str().unwrap_or(""),
                })
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    (contents, arguments)
}

#[test]
fn message_prompts_are_valid_json_cut_per_message() {
    let _settings = settings();
    let capture = SpanCapture::new();
    proptest!(config(1_000), |(messages in proptest::collection::vec(message(), 0..5), max in max_length())| {
        content::set_max_length(max);
        let (_, spans, life) =
            capture.trace_sync_once("generated", || send_messages(messages.clone()));
        well_formed(&spans, &life)?;
        let span = spans.one("send_messages");
        let json: serde_json::Value =
            serde_json::from_str(str_attr(span, attr::OPENAI_PROMPT).expect("openai.prompt"))
                .expect("openai.prompt is JSON");
        let recorded = json.as_array().expect("an array");
        prop_assert_eq!(recorded.len(), messages.len());
        // Each text gets an equal share of the limit, at least 256 bytes, at most the limit.
        let share = (max / messages.len().max(1)).clamp(256.min(max), max);
        let mut total = 0;
        for (message, recorded) in messages.iter().zip(recorded) {
            let (contents, arguments) = message_texts(message);
            total += contents.iter().chain(&arguments).map(String::len).sum::<usize>();
            if let Some(text) = recorded["content"].as_str() {
                let expected: Vec<&str> =
                    contents.iter().map(|c| traced_chat::testing::truncate(c, share)).collect();
                prop_assert_eq!(text, expected.join("\n"));
            }
            if let Some(calls) = recorded["tool_calls"].as_array() {
                prop_assert_eq!(calls.len(), arguments.len());
                for (call, full) in calls.iter().zip(&arguments) {
                    is_cut_of(call["arguments"].as_str().unwrap(), full, share)?;
                }
            }
        }
        prop_assert_eq!(int_attr(span, attr::OPENAI_PROMPT_LENGTH), Some(total as i64));
    });
}

// --- responses returned by annotated functions -----------------------------------------------

#[traced_chat(skip(prompt))]
fn respond(response: &CreateChatCompletionResponse) -> &CreateChatCompletionResponse {
    response
}

#[test]
fn returned_responses_are_recorded_within_the_limit() {
    let _settings = settings();
    let capture = SpanCapture::new();
    proptest!(config(2_000), |(response in response(), max in max_length())| {
        content::set_max_length(max);
        let (_, spans, life) = capture.trace_sync_once("generated", || {
            respond(&response);
        });
        well_formed(&spans, &life)?;
        check_fn_response(spans.one("respond"), &response, max)?;
    });
}

/// An error whose `Display` may fail, or be huge.
#[derive(Debug)]
struct OddError(Option<String>);

impl fmt::Display for OddError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Some(text) => f.write_str(text),
            None => Err(fmt::Error),
        }
    }
}

#[traced_chat]
fn fail(prompt: &str, error: Option<String>) -> Result<String, OddError> {
    let _ = prompt;
    Err(OddError(error))
}

#[test]
fn returned_errors_are_recorded_short_and_never_panic() {
    let _settings = settings();
    let capture = SpanCapture::new();
    proptest!(config(500), |(error in proptest::option::of(text()))| {
        let (result, spans, life) =
            capture.trace_sync_once("generated", || fail("p", error.clone()));
        prop_assert!(result.is_err(), "the caller gets its own error");
        well_formed(&spans, &life)?;
        let span = spans.one("fail");
        prop_assert_eq!(str_attr(span, attr::ERROR_TYPE), Some("OddError"));
        let opentelemetry::trace::Status::Error { description } = &span.status else {
            return Err(TestCaseError::fail("ERROR status"));
        };
        prop_assert!(description.len() <= 512);
        if let Some(text) = &error {
            let cut = traced_chat::testing::truncate(text, 512);
            // The description is the text cut, with anything like an API key masked.
            if !cut.contains("sk-") {
                prop_assert_eq!(description.as_ref(), cut);
            }
        }
    });
}

// --- answers and streams served to the client ----------------------------------------------

/// What the in-process transport answers with: a body and its content type.
#[derive(Clone, Default)]
struct Served(Arc<Mutex<(String, &'static str)>>);

impl Served {
    fn set(&self, body: String, content_type: &'static str) {
        *self.0.lock().unwrap() = (body, content_type);
    }

    fn client(&self) -> TracedClient {
        let served = self.clone();
        let transport = tower::service_fn(move |_: reqwest::Request| {
            let (body, content_type) = served.0.lock().unwrap().clone();
            async move {
                Ok::<_, reqwest::Error>(reqwest::Response::from(
                    http::Response::builder()
                        .status(200)
                        .header("content-type", content_type)
                        .body(body)
                        .unwrap(),
                ))
            }
        });
        TracedClient::builder()
            .config(
                OpenAIConfig::new()
                    .with_api_base("http://generated.invalid/v1")
                    .with_api_key(TEST_API_KEY),
            )
            .transport(transport)
            .capture_content(true)
            .max_retries(0)
            .metrics(false)
            .build()
    }
}

#[traced_chat]
async fn ask(
    client: &TracedClient,
    prompt: &str,
) -> Result<CreateChatCompletionResponse, OpenAIError> {
    client.chat().create(request("gpt-4o-mini", prompt)).await
}

#[traced_chat]
async fn ask_stream(client: &TracedClient, prompt: &str) -> Result<TracedChatStream, OpenAIError> {
    client
        .chat()
        .create_stream(request("gpt-4o-mini", prompt))
        .await
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn check_float(recorded: Option<&Value>, sent: Option<f32>) -> Result<(), TestCaseError> {
    match (recorded, sent) {
        (None, None) => {}
        (Some(Value::F64(got)), Some(sent)) => {
            let sent = f64::from(sent);
            if sent.is_nan() {
                prop_assert!(got.is_nan());
            } else if sent.is_infinite() {
                prop_assert_eq!(*got, sent);
            } else {
                prop_assert!(
                    (got - sent).abs() <= 5e-7 + sent.abs() * 1e-6,
                    "{got} recorded for {sent}"
                );
            }
        }
        other => return Err(TestCaseError::fail(format!("{other:?}"))),
    }
    Ok(())
}

/// The attributes of a chat span whose size depends on the exchange, together.
fn variable_bytes(span: &SpanData) -> usize {
    let texts = [
        attr::GEN_AI_INPUT_MESSAGES,
        attr::GEN_AI_OUTPUT_MESSAGES,
        attr::GEN_AI_SYSTEM_INSTRUCTIONS,
    ]
    .iter()
    .filter_map(|key| str_attr(span, key))
    .map(str::len);
    let lists = [
        attr::OPENAI_RESPONSE_TOOL_CALL_IDS,
        attr::OPENAI_RESPONSE_TOOL_CALL_NAMES,
    ]
    .iter()
    .filter_map(|key| strings_attr(span, key))
    .flatten()
    .map(|value| value.len());
    texts.chain(lists).sum()
}

#[test]
fn answers_stay_within_the_span_budget() {
    let _settings = settings();
    let capture = SpanCapture::new();
    let runtime = runtime();
    let served = Served::default();
    let client = served.client();
    proptest!(config(500), |(
        response in response(),
        budget in 64usize..8192,
        messages in proptest::collection::vec(message(), 1..4),
    )| {
        content::set_max_length(content::DEFAULT_MAX_LENGTH);
        content::set_max_span_content(budget);
        let body = serde_json::to_string(&response).unwrap();
        let expected: CreateChatCompletionResponse = serde_json::from_str(&body).unwrap();
        served.set(body, "application/json");
        let (result, spans, life) = runtime.block_on(capture.trace_once("generated", async {
            let mut req = request("gpt-4o-mini", "generated");
            req.messages = messages.clone();
            client.chat().create(req).await
        }));
        content::set_max_span_content(UNLIMITED);
        prop_assert_eq!(result.unwrap(), expected, "the caller gets the answer");
        well_formed(&spans, &life)?;
        let chat = spans.one(attr::SPAN_CHAT_COMPLETION_CREATE);
        prop_assert!(variable_bytes(chat) <= budget, "{} > {budget}", variable_bytes(chat));
        for key in [attr::GEN_AI_INPUT_MESSAGES, attr::GEN_AI_OUTPUT_MESSAGES] {
            if let Some(json) = str_attr(chat, key) {
                prop_assert!(serde_json::from_str::<serde_json::Value>(json).is_ok(), "{key} is JSON");
            }
        }
    });
}

#[test]
fn answers_served_to_the_client_are_recorded_faithfully() {
    let _settings = settings();
    let capture = SpanCapture::new();
    let runtime = runtime();
    let served = Served::default();
    let client = served.client();
    proptest!(config(1_000), |(
        response in response(),
        max in max_length(),
        floats in (proptest::option::of(odd_f32()), proptest::option::of(odd_f32())),
        messages in proptest::collection::vec(message(), 1..4),
        annotated in any::<bool>(),
    )| {
        content::set_max_length(max);
        let body = serde_json::to_string(&response).unwrap();
        // What async-openai itself makes of that body.
        let expected: CreateChatCompletionResponse = serde_json::from_str(&body).unwrap();
        served.set(body, "application/json");
        let (result, spans, life) = runtime.block_on(capture.trace_once("generated", async {
            if annotated {
                ask(&client, "generated").await
            } else {
                let mut req = request("gpt-4o-mini", "generated");
                (req.temperature, req.top_p) = floats;
                req.messages = messages.clone();
                client.chat().create(req).await
            }
        }));
        prop_assert_eq!(result.unwrap(), expected.clone(), "the caller gets the answer");
        well_formed(&spans, &life)?;
        if annotated {
            check_fn_response(spans.one("ask"), &expected, max)?;
        } else {
            let chat = spans.one(attr::SPAN_CHAT_COMPLETION_CREATE);
            check_float(attribute(chat, attr::GEN_AI_REQUEST_TEMPERATURE), floats.0)?;
            check_float(attribute(chat, attr::GEN_AI_REQUEST_TOP_P), floats.1)?;
            // The input messages: JSON (checked above), one entry per non-system message.
            let input: serde_json::Value =
                serde_json::from_str(str_attr(chat, attr::GEN_AI_INPUT_MESSAGES).unwrap()).unwrap();
            let others = messages
                .iter()
                .filter(|m| !matches!(m, ChatCompletionRequestMessage::System(_)))
                .count();
            prop_assert_eq!(input.as_array().map(Vec::len), Some(others));
        }
        let chat = spans.one(attr::SPAN_CHAT_COMPLETION_CREATE);
        prop_assert_eq!(str_attr(chat, attr::GEN_AI_RESPONSE_ID), Some(expected.id.as_str()));
        prop_assert_eq!(str_attr(chat, attr::GEN_AI_RESPONSE_MODEL), Some(expected.model.as_str()));
        let reasons: Vec<String> = expected
            .choices
            .iter()
            .filter_map(|c| c.finish_reason.as_ref())
            .map(|r| serde_json::to_value(r).unwrap().as_str().unwrap().to_owned())
            .collect();
        prop_assert_eq!(
            strings_attr(chat, attr::GEN_AI_RESPONSE_FINISH_REASONS).unwrap_or_default(),
            reasons
        );
        match &expected.usage {
            Some(usage) => {
                prop_assert_eq!(int_attr(chat, attr::GEN_AI_USAGE_INPUT_TOKENS), Some(i64::from(usage.prompt_tokens)));
                prop_assert_eq!(int_attr(chat, attr::GEN_AI_USAGE_OUTPUT_TOKENS), Some(i64::from(usage.completion_tokens)));
                prop_assert_eq!(int_attr(chat, attr::OPENAI_USAGE_TOTAL_TOKENS), Some(i64::from(usage.total_tokens)));
            }
            None => prop_assert!(int_attr(chat, attr::GEN_AI_USAGE_INPUT_TOKENS).is_none()),
        }
        // The output messages: one per choice, its text and tool calls, each cut to an equal
        // share of the limit.
        let output: serde_json::Value =
            serde_json::from_str(str_attr(chat, attr::GEN_AI_OUTPUT_MESSAGES).unwrap()).unwrap();
        let output = output.as_array().unwrap();
        prop_assert_eq!(output.len(), expected.choices.len());
        let budget = (max / expected.choices.len().max(1)).clamp(256.min(max), max);
        for (message, choice) in output.iter().zip(&expected.choices) {
            prop_assert_eq!(message["role"].as_str(), Some("assistant"));
            let finish = choice.finish_reason.as_ref().map(|r| serde_json::to_value(r).unwrap());
            prop_assert_eq!(&message["finish_reason"], finish.as_ref().unwrap_or(&serde_json::Value::Null));
            let text = choice.message.content.as_deref().unwrap_or("");
            let calls = choice.message.tool_calls.as_deref().unwrap_or(&[]);
            let mut parts = message["parts"].as_array().unwrap().iter();
            if !traced_chat::testing::truncate(text, budget).is_empty() {
                let part = parts.next().unwrap();
                prop_assert_eq!(part["type"].as_str(), Some("text"));
                is_cut_of(part["content"].as_str().unwrap(), text, budget)?;
            }
            for call in calls {
                let part = parts.next().unwrap();
                let (id, name, arguments) = call_parts(call);
                prop_assert_eq!(part["type"].as_str(), Some("tool_call"));
                prop_assert_eq!(part["id"].as_str(), Some(id));
                prop_assert_eq!(part["name"].as_str(), Some(name));
                is_cut_of(part["arguments"].as_str().unwrap(), arguments, budget)?;
            }
            prop_assert!(parts.next().is_none());
        }
        let calls = expected
            .choices
            .first()
            .and_then(|c| c.message.tool_calls.as_deref())
            .unwrap_or(&[]);
        if !calls.is_empty() {
            let names: Vec<&str> = calls.iter().map(|c| call_parts(c).1).collect();
            prop_assert_eq!(strings_attr(chat, attr::OPENAI_RESPONSE_TOOL_CALL_NAMES), Some(names.iter().map(|s| s.to_string()).collect()));
        }
    });
}

fn sse(chunks: &[CreateChatCompletionStreamResponse]) -> String {
    let mut body: String = chunks
        .iter()
        .map(|chunk| format!("data: {}\n\n", serde_json::to_string(chunk).unwrap()))
        .collect();
    body.push_str("data: [DONE]\n\n");
    body
}

#[test]
fn streams_served_to_the_client_are_recorded_faithfully() {
    let _settings = settings();
    let capture = SpanCapture::new();
    let runtime = runtime();
    let served = Served::default();
    let client = served.client();
    proptest!(config(1_000), |(
        chunks in proptest::collection::vec(chunk(), 0..6),
        max in max_length(),
        annotated in any::<bool>(),
        read in prop_oneof![3 => Just(usize::MAX), 1 => 0usize..4],
    )| {
        content::set_max_length(max);
        let body = sse(&chunks);
        served.set(body, "text/event-stream");
        let expected: Vec<CreateChatCompletionStreamResponse> = chunks
            .iter()
            .map(|c| serde_json::from_str(&serde_json::to_string(c).unwrap()).unwrap())
            .collect();
        // Read `read` items (all of them, or a few and drop the stream).
        let (items, spans, life) = runtime.block_on(capture.trace_once("generated", async {
            let stream = if annotated {
                ask_stream(&client, "generated").await
            } else {
                client.chat().create_stream(request("gpt-4o-mini", "generated")).await
            };
            let mut stream = stream.unwrap();
            let mut items = Vec::new();
            let mut ended = false;
            while items.len() < read {
                match stream.next().await {
                    Some(item) => items.push(item.unwrap()),
                    None => {
                        ended = true;
                        break;
                    }
                }
            }
            (items, ended)
        }));
        let (items, ended) = items;
        prop_assert_eq!(&items[..], &expected[..items.len()], "the caller gets every chunk");
        well_formed(&spans, &life)?;
        let chat = spans.one(attr::SPAN_CHAT_COMPLETION_CREATE);
        // Dropped before it reported its end: cancelled; read to its end: not.
        let cancelled = attribute(chat, attr::TRACED_CHAT_CANCELLED) == Some(&Value::Bool(true));
        prop_assert_eq!(cancelled, !ended);

        // The text of choice 0, over the chunks read.
        let full: String = items
            .iter()
            .flat_map(|c| &c.choices)
            .filter(|c| c.index == 0)
            .filter_map(|c| c.delta.content.as_deref())
            .collect();
        if let Some(output) = str_attr(chat, attr::GEN_AI_OUTPUT_MESSAGES) {
            let output: serde_json::Value = serde_json::from_str(output).unwrap();
            // One message per choice index that arrived (the first 128 distinct ones, no
            // placeholder for the others), in index order, texts cut to an equal share of the
            // limit.
            let mut arrived: Vec<u32> = Vec::new();
            for index in items.iter().flat_map(|c| &c.choices).map(|c| c.index) {
                if !arrived.contains(&index) && arrived.len() < 128 {
                    arrived.push(index);
                }
            }
            let seen = arrived.len();
            prop_assert_eq!(output.as_array().map(Vec::len), Some(seen));
            let budget = (max / seen.max(1)).clamp(256.min(max), max);
            if arrived.contains(&0)
                && let Some(part) = output[0]["parts"].as_array().and_then(|p| p.first())
                && part["type"] == "text"
            {
                is_cut_of(part["content"].as_str().unwrap(), &full, budget)?;
            } else {
                prop_assert!(traced_chat::testing::truncate(&full, budget).is_empty());
            }
        }
        if annotated {
            let func = spans.one("ask_stream");
            let (text, length) = recorded_response(func);
            if !full.is_empty() {
                is_cut_of(text.unwrap(), &full, max)?;
                prop_assert_eq!(length, Some(full.len() as i64));
            }
        }
        // Ids and models: the first non-empty one.
        let first_id = items.iter().map(|c| c.id.as_str()).find(|id| !id.is_empty());
        prop_assert_eq!(str_attr(chat, attr::GEN_AI_RESPONSE_ID), first_id);
        let first_model = items.iter().map(|c| c.model.as_str()).find(|m| !m.is_empty());
        prop_assert_eq!(str_attr(chat, attr::GEN_AI_RESPONSE_MODEL), first_model);
        // Usage: the last chunk that carried it.
        let usage = items.iter().rev().find_map(|c| c.usage.as_ref());
        prop_assert_eq!(
            int_attr(chat, attr::GEN_AI_USAGE_INPUT_TOKENS),
            usage.map(|u| i64::from(u.prompt_tokens))
        );
        // Tool calls: bounded, each name one that was sent for its index, arguments cut.
        if let Some(names) = strings_attr(chat, attr::OPENAI_RESPONSE_TOOL_CALL_NAMES) {
            prop_assert!(names.len() <= 128, "tool calls are capped: {}", names.len());
            // One per tool-call index that arrived (the first 128), in index order.
            let mut indices: Vec<u32> = Vec::new();
            let deltas = items
                .iter()
                .flat_map(|c| &c.choices)
                .filter(|c| c.index == 0)
                .flat_map(|c| c.delta.tool_calls.iter().flatten());
            for delta in deltas {
                if !indices.contains(&delta.index) && indices.len() < 128 {
                    indices.push(delta.index);
                }
            }
            indices.sort_unstable();
            prop_assert_eq!(names.len(), indices.len());
            for (name, i) in names.iter().zip(indices) {
                let sent: Vec<&str> = items
                    .iter()
                    .flat_map(|c| &c.choices)
                    .filter(|c| c.index == 0)
                    .flat_map(|c| c.delta.tool_calls.iter().flatten())
                    .filter(|t| t.index == i)
                    .filter_map(|t| t.function.as_ref()?.name.as_deref())
                    .collect();
                prop_assert!(name.is_empty() || sent.contains(&name.as_str()), "{name:?} not sent for {i}");
            }
        }
        if let Some(reasons) = strings_attr(chat, attr::GEN_AI_RESPONSE_FINISH_REASONS) {
            prop_assert!(reasons.len() <= 128);
        }
    });
}
