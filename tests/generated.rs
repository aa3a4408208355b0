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
//!
//! Whatever a server sends: long ids, models, fingerprints, tool-call ids and names (up to a few
//! KiB), a few hundred choices or tool calls, sparse and repeated streamed indices, under tiny or
//! default identifier, item and span-budget limits; every identifier recorded (in attributes and
//! in `gen_ai.output.messages`) is a cut within the identifier limit, at most `max_items` choices
//! and tool calls per choice are recorded (the first that arrived, in index order, none for an
//! index that never came), and the span's variable attributes stay within the budget. Error
//! bodies (`401`, `500`, SSE `error` events and error objects as `data:`) whose message, `type`
//! and `code` hold key-shaped strings and the client's configured key: the caller gets what
//! async-openai gives, no exported byte of any span holds a secret, its tail or 12 bytes of it,
//! and the status still says the rest of the message.
//!
//! The properties marked `#[ignore]` fail on runtime defects they found; each says which, with a
//! minimal input.
#![cfg(feature = "otel")]

mod support;

#[path = "common/output.rs"]
mod output;

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
    content::set_max_identifier_length(content::DEFAULT_MAX_IDENTIFIER_LENGTH);
    content::set_max_items(content::DEFAULT_MAX_ITEMS);
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
    (any::<bool>(), small_text(), small_text(), text())
        .prop_map(|(custom, id, name, args)| make_tool_call(custom, id, name, args))
}

/// A function tool call, or a custom one (whose input is its arguments).
fn make_tool_call(
    custom: bool,
    id: String,
    name: String,
    args: String,
) -> ChatCompletionMessageToolCalls {
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

/// What the in-process transport answers with: a status, a body and its content type.
#[derive(Clone)]
struct Served(Arc<Mutex<(u16, String, &'static str)>>);

impl Default for Served {
    fn default() -> Self {
        Served(Arc::new(Mutex::new((
            200,
            String::new(),
            "application/json",
        ))))
    }
}

impl Served {
    /// Answers `200` with `body` from now on.
    fn set(&self, body: String, content_type: &'static str) {
        self.set_status(200, body, content_type);
    }

    /// Answers `status` with `body` from now on.
    fn set_status(&self, status: u16, body: String, content_type: &'static str) {
        *self.0.lock().unwrap() = (status, body, content_type);
    }

    /// The response to serve now.
    fn response(&self) -> reqwest::Response {
        let (status, body, content_type) = self.0.lock().unwrap().clone();
        reqwest::Response::from(
            http::Response::builder()
                .status(status)
                .header("content-type", content_type)
                .body(body)
                .unwrap(),
        )
    }

    fn client(&self) -> TracedClient {
        self.client_with_key(TEST_API_KEY)
    }

    /// A traced client configured with `key`, answered by this transport.
    fn client_with_key(&self, key: &str) -> TracedClient {
        let served = self.clone();
        let transport = tower::service_fn(move |_: reqwest::Request| {
            let response = served.response();
            async move { Ok::<_, reqwest::Error>(response) }
        });
        TracedClient::builder()
            .config(
                OpenAIConfig::new()
                    .with_api_base("http://generated.invalid/v1")
                    .with_api_key(key),
            )
            .transport(transport)
            .capture_content(true)
            .max_retries(0)
            .metrics(false)
            .build()
    }

    /// A plain async-openai client answered by this transport: what the caller must get.
    fn plain_client(&self) -> async_openai::Client<OpenAIConfig> {
        let served = self.clone();
        async_openai::Client::with_config(
            OpenAIConfig::new()
                .with_api_base("http://generated.invalid/v1")
                .with_api_key(TEST_API_KEY),
        )
        .with_http_service(tower::service_fn(
            move |factory: async_openai::middleware::HttpRequestFactory| {
                let served = served.clone();
                async move {
                    factory.build().await?;
                    Ok::<_, OpenAIError>(served.response())
                }
            },
        ))
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

// --- bounds whatever the server sends: identifiers, names, counts, indices -------------------

/// The bounds of a case: the identifier limit, the item limit and the span budget.
#[derive(Debug, Clone, Copy)]
struct Bounds {
    id: usize,
    items: usize,
    budget: usize,
}

impl Bounds {
    fn set(self) {
        content::set_max_length(content::DEFAULT_MAX_LENGTH);
        content::set_max_identifier_length(self.id);
        content::set_max_items(self.items);
        content::set_max_span_content(self.budget);
    }

    /// Back to what [`settings`] sets.
    fn reset() {
        content::set_max_identifier_length(content::DEFAULT_MAX_IDENTIFIER_LENGTH);
        content::set_max_items(content::DEFAULT_MAX_ITEMS);
        content::set_max_span_content(UNLIMITED);
    }
}

/// Tiny limits (so that the caps are crossed often with small inputs), or the defaults. The
/// identifier limit holds a character of any size, so that no identifier is cut to nothing.
fn bounds() -> impl Strategy<Value = Bounds> {
    (
        prop_oneof![2 => 4usize..40, 1 => Just(content::DEFAULT_MAX_IDENTIFIER_LENGTH)],
        prop_oneof![3 => 1usize..6, 1 => Just(content::DEFAULT_MAX_ITEMS)],
        prop_oneof![2 => 64usize..4096, 1 => Just(content::DEFAULT_MAX_SPAN_CONTENT)],
    )
        .prop_map(|(id, items, budget)| Bounds { id, items, budget })
}

/// An identifier or a name as a server may send it: short, or up to a few KiB of ASCII or
/// multi-byte characters. Never empty.
fn identifier() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-zA-Z0-9_.-]{1,24}",
        2 => ("[a-z0-9é日🦀]{1,3}", 1usize..600).prop_map(|(unit, n)| unit.repeat(n)),
    ]
}

/// An identifier, or the empty string (a chunk without an id).
fn maybe_identifier() -> impl Strategy<Value = String> {
    prop_oneof![1 => Just(String::new()), 4 => identifier()]
}

/// Short tool-call arguments.
fn arguments() -> impl Strategy<Value = String> {
    "[a-z{}\":, 0-9é]{0,16}"
}

/// A choice of a whole answer with `calls` tool calls, each with an id and a name.
fn wide_choice(calls: std::ops::Range<usize>) -> impl Strategy<Value = ChatChoice> {
    let call = (any::<bool>(), identifier(), identifier(), arguments())
        .prop_map(|(custom, id, name, args)| make_tool_call(custom, id, name, args));
    (
        proptest::option::of("[a-z é]{0,24}"),
        proptest::collection::vec(call, calls),
        finish_reason(),
    )
        .prop_map(|(content, calls, finish_reason)| ChatChoice {
            index: 0,
            message: ChatCompletionResponseMessage {
                content,
                tool_calls: (!calls.is_empty()).then_some(calls),
                role: Role::Assistant,
                ..Default::default()
            },
            finish_reason,
            logprobs: None,
        })
}

/// A whole answer with long identifiers, and a few choices and tool calls, or a few hundred.
fn wide_response() -> impl Strategy<Value = CreateChatCompletionResponse> {
    let choices = prop_oneof![
        3 => proptest::collection::vec(wide_choice(0..4), 0..6),
        1 => proptest::collection::vec(wide_choice(0..2), 100..300),
        1 => proptest::collection::vec(wide_choice(100..300), 1..3),
    ];
    (
        maybe_identifier(),
        choices,
        maybe_identifier(),
        proptest::option::of(identifier()),
    )
        .prop_map(|(id, choices, model, fingerprint)| {
            #[allow(deprecated)]
            CreateChatCompletionResponse {
                id,
                choices,
                created: 1,
                model,
                system_fingerprint: fingerprint,
                object: "chat.completion".into(),
                ..Default::default()
            }
        })
}

/// A streamed choice or tool-call index: small and repeated, sparse, or far out.
fn sparse_index() -> impl Strategy<Value = u32> {
    prop_oneof![6 => 0u32..4, 2 => 0u32..300, 1 => Just(u32::MAX), 1 => any::<u32>()]
}

/// One streamed delta: its choice index, maybe a tool-call index with arguments, maybe text.
type Delta = (u32, Option<(u32, String)>, Option<String>);

/// Chunks of one delta each, with sparse and repeated choice and tool-call indices (or a few
/// hundred dense tool calls), long ids, models, fingerprints, tool-call ids and names. The
/// first delta of each tool call carries its id and name (from a small pool, so that they
/// repeat), later ones only arguments.
fn wide_stream() -> impl Strategy<Value = Vec<CreateChatCompletionStreamResponse>> {
    let delta = || {
        (
            sparse_index(),
            proptest::option::of((sparse_index(), arguments())),
            proptest::option::of("[a-z é]{0,8}"),
        )
    };
    let dense = (0u32..300).prop_map(|n| {
        (0..n)
            .map(|i| (0, Some((i, "{}".to_owned())), None))
            .collect::<Vec<Delta>>()
    });
    let deltas = prop_oneof![
        3 => proptest::collection::vec(delta(), 0..12),
        1 => proptest::collection::vec(delta(), 100..300),
        1 => dense,
    ];
    (
        deltas,
        proptest::collection::vec(maybe_identifier(), 2),
        proptest::collection::vec(maybe_identifier(), 2),
        proptest::option::of(identifier()),
        proptest::collection::vec((identifier(), identifier()), 4),
    )
        .prop_map(|(deltas, ids, models, fingerprint, pool)| {
            let mut started: Vec<(u32, u32)> = Vec::new();
            deltas
                .into_iter()
                .enumerate()
                .map(|(at, (index, call, content))| {
                    let tool_calls = call.map(|(call, arguments)| {
                        let first = !started.contains(&(index, call));
                        if first {
                            started.push((index, call));
                        }
                        let (id, name) = &pool[(index ^ call) as usize % pool.len()];
                        vec![ChatCompletionMessageToolCallChunk {
                            index: call,
                            id: first.then(|| id.clone()),
                            r#type: None,
                            function: Some(FunctionCallStream {
                                name: first.then(|| name.clone()),
                                arguments: Some(arguments),
                            }),
                        }]
                    });
                    #[allow(deprecated)]
                    CreateChatCompletionStreamResponse {
                        id: ids[usize::from(at > 0)].clone(),
                        choices: vec![ChatChoiceStream {
                            index,
                            delta: ChatCompletionStreamResponseDelta {
                                content,
                                function_call: None,
                                tool_calls,
                                role: None,
                                refusal: None,
                                audio: None,
                            },
                            finish_reason: None,
                            logprobs: None,
                        }],
                        created: 1,
                        model: models[usize::from(at > 0)].clone(),
                        system_fingerprint: fingerprint.clone().filter(|_| at == 0),
                        object: "chat.completion.chunk".into(),
                        ..Default::default()
                    }
                })
                .collect()
        })
}

/// The `(id, name)` of each tool call of each message of `gen_ai.output.messages`, if the span
/// has it.
fn output_calls(span: &SpanData) -> Option<Vec<Vec<(String, String)>>> {
    str_attr(span, attr::GEN_AI_OUTPUT_MESSAGES).map(output::tool_calls)
}

/// The documented bounds on a chat span: identifiers and names (attributes and inside
/// `gen_ai.output.messages`) within the identifier limit, at most `items` choices and tool calls
/// per choice, and the variable-size attributes within the budget.
fn within_bounds(chat: &SpanData, bounds: Bounds) -> Result<(), TestCaseError> {
    for key in [
        attr::OPENAI_RESPONSE_ID,
        attr::GEN_AI_RESPONSE_ID,
        attr::GEN_AI_RESPONSE_MODEL,
        attr::OPENAI_RESPONSE_SYSTEM_FINGERPRINT,
    ] {
        if let Some(value) = str_attr(chat, key) {
            prop_assert!(value.len() <= bounds.id, "{key}: {} bytes", value.len());
        }
    }
    let ids = strings_attr(chat, attr::OPENAI_RESPONSE_TOOL_CALL_IDS).unwrap_or_default();
    let names = strings_attr(chat, attr::OPENAI_RESPONSE_TOOL_CALL_NAMES).unwrap_or_default();
    for value in ids.iter().chain(&names) {
        prop_assert!(
            value.len() <= bounds.id,
            "a tool-call id or name of {} bytes",
            value.len()
        );
    }
    prop_assert!(ids.len() <= bounds.items && names.len() <= bounds.items);
    let reasons = strings_attr(chat, attr::GEN_AI_RESPONSE_FINISH_REASONS).unwrap_or_default();
    prop_assert!(
        reasons.len() <= bounds.items,
        "{} finish reasons",
        reasons.len()
    );
    if let Some(messages) = output_calls(chat) {
        prop_assert!(
            messages.len() <= bounds.items,
            "{} output messages",
            messages.len()
        );
        for (at, calls) in messages.iter().enumerate() {
            prop_assert!(
                calls.len() <= bounds.items,
                "{} tool calls in message {at}",
                calls.len()
            );
            for (id, name) in calls {
                prop_assert!(id.len() <= bounds.id && name.len() <= bounds.id);
            }
        }
    }
    prop_assert!(
        variable_bytes(chat) <= bounds.budget,
        "{} > {}",
        variable_bytes(chat),
        bounds.budget
    );
    Ok(())
}

/// No placeholder tool call (no id and no name) in any attribute of a chat span whose answer
/// sent an id and a name with every tool call.
fn no_placeholders(chat: &SpanData) -> Result<(), TestCaseError> {
    let ids = strings_attr(chat, attr::OPENAI_RESPONSE_TOOL_CALL_IDS).unwrap_or_default();
    let names = strings_attr(chat, attr::OPENAI_RESPONSE_TOOL_CALL_NAMES).unwrap_or_default();
    for (at, (id, name)) in ids.iter().zip(&names).enumerate() {
        prop_assert!(
            !id.is_empty() || !name.is_empty(),
            "tool call {at} of {} is a placeholder: ids {ids:?}, names {names:?}",
            attr::OPENAI_RESPONSE_TOOL_CALL_IDS
        );
    }
    for (at, calls) in output_calls(chat).iter().flatten().enumerate() {
        prop_assert!(
            calls
                .iter()
                .all(|(id, name)| !id.is_empty() || !name.is_empty()),
            "a placeholder tool call in output message {at}: {calls:?}"
        );
    }
    Ok(())
}

/// The count attributes: when more choices, or more tool calls in a choice, arrived than are
/// recorded, both are there and say how many arrived.
fn counted(
    chat: &SpanData,
    bounds: Bounds,
    choices: usize,
    calls_per_choice: &[usize],
) -> Result<(), TestCaseError> {
    let choice_count = int_attr(chat, attr::TRACED_CHAT_RESPONSE_CHOICE_COUNT);
    let call_count = int_attr(chat, attr::TRACED_CHAT_RESPONSE_TOOL_CALL_COUNT);
    let over = choices > bounds.items || calls_per_choice.iter().any(|&n| n > bounds.items);
    if over {
        prop_assert!(
            choice_count.is_some(),
            "more than {} arrived: counted",
            bounds.items
        );
    }
    if choice_count.is_some() || call_count.is_some() {
        let calls: usize = calls_per_choice.iter().sum();
        prop_assert_eq!(
            (choice_count, call_count),
            (Some(choices as i64), Some(calls as i64)),
            "(choices, tool calls) counted and arrived; tool calls per choice: {:?}",
            calls_per_choice
        );
    }
    Ok(())
}

/// Serves `response` as a whole answer, to the client or through `#[traced_chat]`, within
/// `bounds`: the caller gets what async-openai gives, every span ends once.
fn serve_wide_answer(
    runtime: &tokio::runtime::Runtime,
    capture: &SpanCapture,
    served: &Served,
    client: &TracedClient,
    response: &CreateChatCompletionResponse,
    bounds: Bounds,
    annotated: bool,
) -> Result<(CreateChatCompletionResponse, Spans), TestCaseError> {
    bounds.set();
    let body = serde_json::to_string(response).unwrap();
    let expected: CreateChatCompletionResponse = serde_json::from_str(&body).unwrap();
    served.set(body, "application/json");
    let (result, spans, life) = runtime.block_on(capture.trace_once("generated", async {
        if annotated {
            ask(client, "generated").await
        } else {
            client
                .chat()
                .create(request("gpt-4o-mini", "generated"))
                .await
        }
    }));
    Bounds::reset();
    prop_assert_eq!(
        result.unwrap(),
        expected.clone(),
        "the caller gets the answer"
    );
    well_formed(&spans, &life)?;
    Ok((expected, spans))
}

#[test]
fn wide_answers_stay_within_the_bounds() {
    let _settings = settings();
    let capture = SpanCapture::install();
    let runtime = runtime();
    let served = Served::default();
    let client = served.client();
    proptest!(config(150), |(response in wide_response(), bounds in bounds(), annotated in any::<bool>())| {
        let (expected, spans) =
            serve_wide_answer(&runtime, &capture, &served, &client, &response, bounds, annotated)?;
        let chat = spans.one(attr::SPAN_CHAT_COMPLETION_CREATE);
        within_bounds(chat, bounds)?;
        let cut = |text: &str| traced_chat::testing::truncate(text, bounds.id).to_owned();
        let (id, model) = (cut(&expected.id), cut(&expected.model));
        prop_assert_eq!(str_attr(chat, attr::GEN_AI_RESPONSE_ID), Some(id.as_str()));
        prop_assert_eq!(str_attr(chat, attr::GEN_AI_RESPONSE_MODEL), Some(model.as_str()));
        #[allow(deprecated)]
        let fingerprint = expected.system_fingerprint.as_deref().map(cut);
        prop_assert_eq!(str_attr(chat, attr::OPENAI_RESPONSE_SYSTEM_FINGERPRINT), fingerprint.as_deref());
        // Recorded by position: the first choices, their first tool calls, ids and names cut.
        let sent = |choice: &ChatChoice| -> Vec<(String, String)> {
            choice.message.tool_calls.iter().flatten().map(|call| {
                let (id, name, _) = call_parts(call);
                (id.to_owned(), name.to_owned())
            }).collect()
        };
        if let Some(messages) = output_calls(chat) {
            prop_assert!(messages.len() <= expected.choices.len());
            for (calls, choice) in messages.iter().zip(&expected.choices) {
                let sent = sent(choice);
                prop_assert!(calls.len() <= sent.len());
                for ((id, name), (sent_id, sent_name)) in calls.iter().zip(&sent) {
                    prop_assert!(cut_or_masked(id, sent_id), "{id:?} not a cut of {sent_id:?}");
                    prop_assert!(cut_or_masked(name, sent_name), "{name:?} not a cut of {sent_name:?}");
                }
            }
        }
        let first = expected.choices.first().map(sent).unwrap_or_default();
        let names = strings_attr(chat, attr::OPENAI_RESPONSE_TOOL_CALL_NAMES).unwrap_or_default();
        let ids = strings_attr(chat, attr::OPENAI_RESPONSE_TOOL_CALL_IDS).unwrap_or_default();
        prop_assert!(names.len() <= first.len() && ids.len() <= first.len());
        for (name, (_, sent)) in names.iter().zip(&first) {
            prop_assert!(sent.starts_with(name.as_str()));
        }
        for (id, (sent, _)) in ids.iter().zip(&first) {
            prop_assert!(sent.starts_with(id.as_str()));
        }
    });
}

/// Found by this property: `traced_chat.response.tool_call_count` counts only the tool calls of
/// the recorded choices. Minimal input: a whole answer of two choices, the second with one tool
/// call, and `max_items` 1: `choice_count` 2, `tool_call_count` 0 (1 arrived).
#[test]
fn wide_answers_count_what_arrived() {
    let _settings = settings();
    let capture = SpanCapture::install();
    let runtime = runtime();
    let served = Served::default();
    let client = served.client();
    proptest!(config(150), |(response in wide_response(), bounds in bounds())| {
        let (expected, spans) =
            serve_wide_answer(&runtime, &capture, &served, &client, &response, bounds, false)?;
        let chat = spans.one(attr::SPAN_CHAT_COMPLETION_CREATE);
        let calls: Vec<usize> = expected
            .choices
            .iter()
            .map(|c| c.message.tool_calls.as_ref().map_or(0, Vec::len))
            .collect();
        counted(chat, bounds, expected.choices.len(), &calls)?;
    });
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

/// The tool-call deltas of choice `index`.
fn call_deltas(
    chunks: &[CreateChatCompletionStreamResponse],
    index: u32,
) -> impl Iterator<Item = &ChatCompletionMessageToolCallChunk> {
    chunks
        .iter()
        .flat_map(|c| &c.choices)
        .filter(move |c| c.index == index)
        .flat_map(|c| c.delta.tool_calls.iter().flatten())
}

/// Serves `chunks` as a stream read to its end, to the client or through `#[traced_chat]`,
/// within `bounds`: the caller gets every chunk, every span ends once.
fn serve_wide_stream(
    runtime: &tokio::runtime::Runtime,
    capture: &SpanCapture,
    served: &Served,
    client: &TracedClient,
    chunks: &[CreateChatCompletionStreamResponse],
    bounds: Bounds,
    annotated: bool,
) -> Result<(Vec<CreateChatCompletionStreamResponse>, Spans), TestCaseError> {
    bounds.set();
    served.set(sse(chunks), "text/event-stream");
    let expected: Vec<CreateChatCompletionStreamResponse> = chunks
        .iter()
        .map(|c| serde_json::from_str(&serde_json::to_string(c).unwrap()).unwrap())
        .collect();
    let (items, spans, life) = runtime.block_on(capture.trace_once("generated", async {
        let stream = if annotated {
            ask_stream(client, "generated").await
        } else {
            client
                .chat()
                .create_stream(request("gpt-4o-mini", "generated"))
                .await
        };
        let mut stream = stream.unwrap();
        let mut items = Vec::new();
        while let Some(item) = stream.next().await {
            items.push(item.unwrap());
        }
        items
    }));
    Bounds::reset();
    prop_assert_eq!(&items, &expected, "the caller gets every chunk");
    well_formed(&spans, &life)?;
    Ok((expected, spans))
}

#[test]
fn wide_streams_stay_within_the_bounds() {
    let _settings = settings();
    let capture = SpanCapture::install();
    let runtime = runtime();
    let served = Served::default();
    let client = served.client();
    proptest!(config(150), |(chunks in wide_stream(), bounds in bounds(), annotated in any::<bool>())| {
        let (items, spans) =
            serve_wide_stream(&runtime, &capture, &served, &client, &chunks, bounds, annotated)?;
        let chat = spans.one(attr::SPAN_CHAT_COMPLETION_CREATE);
        within_bounds(chat, bounds)?;
        let cut = |text: &str| traced_chat::testing::truncate(text, bounds.id).to_owned();
        let first_id = items.iter().map(|c| c.id.as_str()).find(|id| !id.is_empty()).map(cut);
        prop_assert_eq!(str_attr(chat, attr::GEN_AI_RESPONSE_ID), first_id.as_deref());
        let first_model = items.iter().map(|c| c.model.as_str()).find(|m| !m.is_empty()).map(cut);
        prop_assert_eq!(str_attr(chat, attr::GEN_AI_RESPONSE_MODEL), first_model.as_deref());
        #[allow(deprecated)]
        let fingerprint = items.iter().find_map(|c| c.system_fingerprint.as_deref()).map(cut);
        prop_assert_eq!(str_attr(chat, attr::OPENAI_RESPONSE_SYSTEM_FINGERPRINT), fingerprint.as_deref());
        // The choices recorded are the first that arrived, one message each (none for an index
        // that never came), in index order; in each, the first tool calls that arrived, in
        // index order, with the id and name of their first delta, cut.
        let arrived = distinct(items.iter().flat_map(|c| &c.choices).map(|c| c.index));
        if let Some(messages) = output_calls(chat) {
            prop_assert!(messages.len() <= arrived.len(), "{} messages for {} choices", messages.len(), arrived.len());
            let mut recorded = arrived[..messages.len()].to_vec();
            recorded.sort_unstable();
            for (calls, &index) in messages.iter().zip(&recorded) {
                let mut indices = distinct(call_deltas(&items, index).map(|d| d.index));
                prop_assert!(calls.len() <= indices.len(), "{} tool calls for {} indices", calls.len(), indices.len());
                indices.truncate(calls.len());
                indices.sort_unstable();
                for ((id, name), &call) in calls.iter().zip(&indices) {
                    let first = call_deltas(&items, index).find(|d| d.index == call).unwrap();
                    let sent_id = first.id.as_deref().unwrap_or("");
                    let sent_name = first.function.as_ref().and_then(|f| f.name.as_deref()).unwrap_or("");
                    prop_assert!(cut_or_masked(id, sent_id), "choice {index}, call {call}: {id:?} not a cut of {sent_id:?}");
                    prop_assert!(cut_or_masked(name, sent_name), "choice {index}, call {call}: {name:?} not a cut of {sent_name:?}");
                }
            }
        }
    });
}

/// Found by this property: in a stream, an index that was not recorded is counted again with
/// every delta that carries it, and the tool calls of choices that were not recorded are not
/// counted. Minimal inputs, with `max_items` 1: chunks of choice indices 0, 1, 1, 1 give
/// `choice_count` 4 (2 arrived); a chunk of choice 0 then one of choice 1 carrying one tool call
/// give `tool_call_count` 0 (1 arrived). With a small span budget the same happens for choices
/// the budget left out.
#[test]
fn wide_streams_count_what_arrived() {
    let _settings = settings();
    let capture = SpanCapture::install();
    let runtime = runtime();
    let served = Served::default();
    let client = served.client();
    proptest!(config(150), |(chunks in wide_stream(), bounds in bounds())| {
        let (items, spans) =
            serve_wide_stream(&runtime, &capture, &served, &client, &chunks, bounds, false)?;
        let chat = spans.one(attr::SPAN_CHAT_COMPLETION_CREATE);
        let arrived = distinct(items.iter().flat_map(|c| &c.choices).map(|c| c.index));
        let calls: Vec<usize> = arrived
            .iter()
            .map(|&index| distinct(call_deltas(&items, index).map(|d| d.index)).len())
            .collect();
        counted(chat, bounds, arrived.len(), &calls)?;
    });
}

// --- secrets in error bodies ----------------------------------------------------------------

/// `recorded` is a cut of `sent`, or `sent` held something secret-shaped that was masked.
fn cut_or_masked(recorded: &str, sent: &str) -> bool {
    sent.starts_with(recorded) || recorded.contains("***")
}

/// The keys the clients of the error cases are configured with: an OpenAI-shaped one, an
/// Azure-style one (32 hexadecimal digits) and one of no known shape.
const CONFIGURED_KEYS: [&str; 3] = [
    TEST_API_KEY,
    "5f0c2a9e8b7d4c3a1e6f0b9d8c7a6e5f",
    "gen.Custom/Key+Value~93bQxZ",
];

/// Plain words of an error text: none of them is, or introduces, a secret.
const WORDS: [&str; 16] = [
    "the",
    "request",
    "failed",
    "upstream",
    "gateway",
    "refused",
    "invalid",
    "credentials",
    "for",
    "gpt-4o",
    "retry",
    "later",
    "quota",
    "é日本",
    "🦀",
    "42",
];

/// What separates the pieces of an error text.
const SEPARATORS: [&str; 7] = [" ", ", ", "; ", "\n", " (", ") ", ". "];

/// A piece of an error text: a plain word, or a secret in one of the shapes the masking knows,
/// with what of it must never be exported.
#[derive(Debug, Clone)]
enum Piece {
    Word(&'static str),
    Secret { text: String, never: Vec<String> },
}

/// What must never be exported: a text, and whether any 12 bytes of it in a row count too (for
/// random secrets; the configured keys share words with ordinary text, `traced-chat-`).
type Never = (String, bool);

/// A secret: a key-shaped token or a credential in context, or the configured `key` (whole, in
/// a URL, or its tail as servers echo it).
fn secret(key: &'static str) -> impl Strategy<Value = Piece> {
    // A random body that looks like a credential (it holds a digit).
    let body = || "[A-Za-z0-9]{15,39}[0-9]";
    let tail = &key[key.len() - 8..];
    let piece = |text: String, never: Vec<String>| Piece::Secret { text, never };
    prop_oneof![
        body().prop_map(move |b| piece(format!("sk-{b}"), vec![b])),
        body().prop_map(move |b| piece(format!("sk-proj-{b}"), vec![b])),
        "[0-9a-f]{32}".prop_map(move |h| piece(h.clone(), vec![h])),
        "[0-9A-F]{32}".prop_map(move |h| piece(h.clone(), vec![h])),
        body().prop_map(move |b| piece(format!("Bearer {b}"), vec![b])),
        body().prop_map(move |b| piece(format!("Authorization: Bearer {b}"), vec![b])),
        body().prop_map(move |b| piece(format!("?api-key={b}&v=1"), vec![b])),
        "[A-Za-z0-9_-]{34}[0-9]".prop_map(move |b| piece(format!("AIza{b}"), vec![b])),
        Just(piece(key.to_owned(), vec![key.to_owned(), tail.to_owned()])),
        Just(piece(
            format!("Bearer {key}"),
            vec![key.to_owned(), tail.to_owned()]
        )),
        Just(piece(
            format!("https://gateway.example/v1/{key}/chat?a=b"),
            vec![key.to_owned(), tail.to_owned()]
        )),
        (3usize..30).prop_map(move |stars| piece(
            format!("{}{}{tail}", &key[..3], "*".repeat(stars)),
            vec![tail.to_owned()]
        )),
    ]
}

/// An error text of words and secrets, maybe after padding that takes the secrets to where
/// the recorded text is cut (512 bytes) and past where secrets are looked for (1 KiB).
fn error_text(key: &'static str) -> impl Strategy<Value = Vec<Piece>> {
    let piece = prop_oneof![
        2 => proptest::sample::select(&WORDS[..]).prop_map(Piece::Word),
        1 => secret(key),
    ];
    (
        prop_oneof![3 => Just(0usize), 1 => 60usize..220],
        proptest::collection::vec(piece, 0..8),
    )
        .prop_map(|(padding, pieces)| {
            std::iter::repeat_n(Piece::Word("quota"), padding)
                .chain(pieces)
                .collect()
        })
}

/// How an error body reaches the client.
#[derive(Debug, Clone, Copy)]
enum ErrorForm {
    /// `401` with an API error object.
    Unauthorized,
    /// `500` with an API error object.
    ServerError,
    /// A stream that sends chunks, then an `event: error` with an API error object.
    SseErrorEvent,
    /// A stream that sends chunks, then an API error object as a `data:` line.
    SseErrorData,
}

/// Every form of error body.
const ERROR_FORMS: [ErrorForm; 4] = [
    ErrorForm::Unauthorized,
    ErrorForm::ServerError,
    ErrorForm::SseErrorEvent,
    ErrorForm::SseErrorData,
];

/// One error case: the configured key, the message's pieces and separators, what the `type`
/// and `code` fields hold, the form, and how it is called.
#[derive(Debug, Clone)]
struct ErrorCase {
    key: usize,
    pieces: Vec<Piece>,
    separators: Vec<usize>,
    kind: Option<Piece>,
    code: Option<Piece>,
    form: ErrorForm,
    chunks_before: usize,
    stream: bool,
    annotated: bool,
}

/// The separator that a JSON body writes as an escape (`\n`).
const NEWLINE: usize = 3;

/// An error case of one of `forms`.
fn error_case(forms: &'static [ErrorForm]) -> impl Strategy<Value = ErrorCase> {
    (0..CONFIGURED_KEYS.len()).prop_flat_map(move |key| {
        let configured = CONFIGURED_KEYS[key];
        let field = move |word: &'static str| {
            proptest::option::of(prop_oneof![Just(Piece::Word(word)), secret(configured),])
        };
        (
            Just(key),
            error_text(configured),
            proptest::collection::vec(0..SEPARATORS.len(), 240),
            field("invalid_request_error"),
            field("invalid_api_key"),
            proptest::sample::select(forms),
            0usize..3,
            any::<bool>(),
            any::<bool>(),
        )
            .prop_map(
                |(key, pieces, separators, kind, code, form, chunks_before, stream, annotated)| {
                    ErrorCase {
                        key,
                        pieces,
                        separators,
                        kind,
                        code,
                        form,
                        chunks_before,
                        stream,
                        annotated,
                    }
                },
            )
    })
}

impl Piece {
    fn text(&self) -> &str {
        match self {
            Piece::Word(word) => word,
            Piece::Secret { text, .. } => text,
        }
    }

    fn never(&self) -> Vec<Never> {
        match self {
            Piece::Word(_) => Vec::new(),
            Piece::Secret { never, .. } => never
                .iter()
                .map(|secret| {
                    let configured = CONFIGURED_KEYS
                        .iter()
                        .any(|key| key.contains(secret.as_str()));
                    (secret.clone(), !configured)
                })
                .collect(),
        }
    }
}

impl ErrorCase {
    /// The message.
    fn message(&self) -> String {
        let mut message = String::new();
        for (at, piece) in self.pieces.iter().enumerate() {
            if at > 0 {
                message.push_str(SEPARATORS[self.separators[at % self.separators.len()]]);
            }
            message.push_str(piece.text());
        }
        message
    }

    /// The API error object of the body.
    fn error_json(&self) -> String {
        serde_json::json!({"error": {
            "message": self.message(),
            "type": self.kind.as_ref().map(Piece::text),
            "param": null,
            "code": self.code.as_ref().map(Piece::text),
        }})
        .to_string()
    }

    /// The plain words of the message with where each ends in the text the status description
    /// is made from: the message, or for a `500` the whole body (async-openai makes a server
    /// error's body its message).
    fn words(&self) -> Vec<(&'static str, usize)> {
        let (source, mut at) = match self.form {
            ErrorForm::ServerError => {
                let body = self.error_json();
                let start = body.find("\"message\":\"").unwrap() + 11;
                (body, start)
            }
            _ => (self.message(), 0),
        };
        let mut words = Vec::new();
        for piece in &self.pieces {
            let text = match piece {
                Piece::Word(word) => word,
                Piece::Secret { text, .. } => text.as_str(),
            };
            // Secrets are written as they are in JSON too (no character to escape).
            let found = source[at..].find(text).map(|i| at + i + text.len());
            let Some(end) = found else { break };
            at = end;
            if let Piece::Word(word) = piece {
                words.push((*word, end));
            }
        }
        words
    }

    /// Everything that must never be exported: the configured key, its last 8 characters, and
    /// the secrets of the body.
    fn never(&self) -> Vec<Never> {
        let key = CONFIGURED_KEYS[self.key];
        let mut never = vec![
            (key.to_owned(), false),
            (key[key.len() - 8..].to_owned(), false),
        ];
        let fields = self.pieces.iter().chain(&self.kind).chain(&self.code);
        never.extend(fields.flat_map(Piece::never));
        never
    }

    /// The status, body and content type served, and whether it is read as a stream.
    fn served(&self) -> (u16, String, &'static str, bool) {
        let error = self.error_json();
        let chunks = || -> String {
            (0..self.chunks_before)
                .map(|i| {
                    format!(
                        "data: {{\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"part {i}\"}}}}]}}\n\n"
                    )
                })
                .collect()
        };
        match self.form {
            ErrorForm::Unauthorized => (401, error, "application/json", self.stream),
            ErrorForm::ServerError => (500, error, "application/json", self.stream),
            ErrorForm::SseErrorEvent => (
                200,
                format!("{}event: error\ndata: {error}\n\n", chunks()),
                "text/event-stream",
                true,
            ),
            ErrorForm::SseErrorData => (
                200,
                format!("{}data: {error}\n\n", chunks()),
                "text/event-stream",
                true,
            ),
        }
    }
}

/// What a stream call gives: each item, chunks as JSON and errors by their text (the call's
/// own error as the only item).
async fn stream_items<S>(result: Result<S, OpenAIError>) -> Vec<Result<serde_json::Value, String>>
where
    S: futures_util::Stream<Item = Result<CreateChatCompletionStreamResponse, OpenAIError>>,
{
    let stream = match result {
        Ok(stream) => stream,
        Err(error) => return vec![Err(error.to_string())],
    };
    let mut stream = std::pin::pin!(stream);
    let mut items = Vec::new();
    while let Some(item) = stream.next().await {
        items.push(
            item.map(|chunk| serde_json::to_value(chunk).unwrap())
                .map_err(|e| e.to_string()),
        );
    }
    items
}

/// What a call gives, comparable with async-openai's: the answer or chunks as JSON, errors by
/// their text.
type Outcome = Vec<Result<serde_json::Value, String>>;

fn whole_outcome(result: Result<CreateChatCompletionResponse, OpenAIError>) -> Outcome {
    vec![
        result
            .map(|answer| serde_json::to_value(answer).unwrap())
            .map_err(|e| e.to_string()),
    ]
}

/// Every exported byte of a span: its console JSON (name, attributes, events, status) and its
/// `Debug`.
fn exported(span: &SpanData) -> String {
    let resource = opentelemetry_sdk::Resource::builder_empty().build();
    format!(
        "{}\n{span:?}",
        traced_chat::testing::span_to_json(span, &resource)
    )
}

/// Whether `text` holds `secret`, or (`parts`, for a long one) any 12 bytes of it in a row: what
/// of it leaked.
fn leaks(text: &str, (secret, parts): &Never) -> Option<String> {
    const PART: usize = 12;
    if !parts || secret.len() <= PART {
        return text.contains(secret).then(|| secret.to_owned());
    }
    (0..=secret.len() - PART)
        .filter_map(|at| secret.get(at..at + PART))
        .find(|part| text.contains(part))
        .map(str::to_owned)
}

#[test]
fn error_bodies_never_export_a_key() {
    let _settings = settings();
    let capture = SpanCapture::install();
    let runtime = runtime();
    let served = Served::default();
    let clients: Vec<TracedClient> = CONFIGURED_KEYS
        .iter()
        .map(|key| served.client_with_key(key))
        .collect();
    let plain = served.plain_client();
    proptest!(config(500), |(case in error_case(&ERROR_FORMS))| {
        // A `500` body is recorded as written, JSON escapes included: see
        // `escaped_server_error_bodies_never_export_a_key`.
        let mut case = case;
        if matches!(case.form, ErrorForm::ServerError) {
            case.separators.retain(|&s| s != NEWLINE);
            case.separators.push(0);
        }
        check_error_case(&runtime, &capture, &served, &clients, &plain, &case)?;
    });
}

/// Found by `error_bodies_never_export_a_key`: async-openai makes a `500`'s whole body the
/// error's message, so the status description holds the body's JSON as written, and a key right
/// after a JSON escape (`\n`, `\t`) follows a letter there (`\nsk-…` is the word `nsk-…`), which
/// the masking does not take for the start of a key or of a `Bearer`. Minimal inputs: a `500`
/// with body `{"error":{"message":"a\nsk-proj-abcdefghijklmnop1 b"}}` gives the status
/// description `{"error":{…"message":"a\nsk-proj-abcdefghijklmnop1 b"…}}` (also the
/// exception event); `"a\tBearer abcdefghijklmnop1 b"` leaves the Bearer token.
#[test]
fn escaped_server_error_bodies_never_export_a_key() {
    let _settings = settings();
    let capture = SpanCapture::install();
    let runtime = runtime();
    let served = Served::default();
    let clients: Vec<TracedClient> = CONFIGURED_KEYS
        .iter()
        .map(|key| served.client_with_key(key))
        .collect();
    let plain = served.plain_client();
    proptest!(config(200), |(case in error_case(&[ErrorForm::ServerError]))| {
        let mut case = case;
        case.separators = vec![NEWLINE];
        check_error_case(&runtime, &capture, &served, &clients, &plain, &case)?;
    });
}

/// Serves the error of `case` to the client of its key and to plain async-openai: the caller
/// gets what async-openai gives, every span ends once, no secret (nor 12 bytes of one) is in
/// any exported byte of any span, and the status still says what the message said.
fn check_error_case(
    runtime: &tokio::runtime::Runtime,
    capture: &SpanCapture,
    served: &Served,
    clients: &[TracedClient],
    plain: &async_openai::Client<OpenAIConfig>,
    case: &ErrorCase,
) -> Result<(), TestCaseError> {
    let client = &clients[case.key];
    let (status, body, content_type, stream) = case.served();
    served.set_status(status, body, content_type);
    // What async-openai itself gives for these bytes.
    let expected: Outcome = runtime.block_on(async {
        if stream {
            stream_items(
                plain
                    .chat()
                    .create_stream(request("gpt-4o-mini", "generated"))
                    .await,
            )
            .await
        } else {
            whole_outcome(
                plain
                    .chat()
                    .create(request("gpt-4o-mini", "generated"))
                    .await,
            )
        }
    });
    let (outcome, spans, life) = runtime.block_on(capture.trace_once("generated", async {
        match (stream, case.annotated) {
            (true, true) => stream_items(ask_stream(client, "generated").await).await,
            (true, false) => {
                stream_items(
                    client
                        .chat()
                        .create_stream(request("gpt-4o-mini", "generated"))
                        .await,
                )
                .await
            }
            (false, true) => whole_outcome(ask(client, "generated").await),
            (false, false) => whole_outcome(
                client
                    .chat()
                    .create(request("gpt-4o-mini", "generated"))
                    .await,
            ),
        }
    }));
    prop_assert_eq!(
        &outcome,
        &expected,
        "the caller gets what async-openai gives"
    );
    prop_assert!(
        outcome.iter().any(Result::is_err),
        "the call failed: {outcome:?}"
    );
    well_formed(&spans, &life)?;
    // No secret, nor any part of one, in any exported byte of any span.
    let never = case.never();
    for span in spans.iter() {
        let text = exported(span);
        for secret in &never {
            if let Some(part) = leaks(&text, secret) {
                let secret = &secret.0;
                let at = text.find(&part).unwrap();
                let start = (0..=at.saturating_sub(60))
                    .rev()
                    .find(|&i| text.is_char_boundary(i))
                    .unwrap_or(0);
                return Err(TestCaseError::fail(format!(
                    "{part:?} (of {secret:?}) in {}: …{}…",
                    span.name,
                    &text[start..text.len().min(at + part.len() + 20)]
                )));
            }
        }
    }
    // The rest of the message is still there: the status says what went wrong, its words
    // in order (those the 512 bytes kept).
    let chat = spans.one(attr::SPAN_CHAT_COMPLETION_CREATE);
    let opentelemetry::trace::Status::Error { description } = &chat.status else {
        return Err(TestCaseError::fail(format!(
            "ERROR status: {:?}",
            chat.status
        )));
    };
    prop_assert!(description.len() <= 512);
    let mut rest: &str = description;
    for (word, end) in case.words() {
        if end > 500 {
            break;
        }
        match rest.find(word) {
            Some(at) => rest = &rest[at + word.len()..],
            None => {
                return Err(TestCaseError::fail(format!(
                    "{word:?} (ending at {end}) is missing from {description:?}"
                )));
            }
        }
    }
    Ok(())
}

/// Found by the property below: a tool call recorded when the span budget has room for its entry
/// (64 bytes) but not for its id and name is recorded with both empty. Minimal input: a whole
/// answer of one choice with one tool call (`"id":"call_1"`, `"name":"get"`) and
/// `max_span_content` 128 gives `openai.response.tool_calls.ids = [""]` and `names = [""]`;
/// a stream of one chunk carrying that tool call, with `max_span_content` 129, the same.
#[test]
fn wide_answers_and_streams_record_no_placeholder_tool_calls() {
    let _settings = settings();
    let capture = SpanCapture::install();
    let runtime = runtime();
    let served = Served::default();
    let client = served.client();
    proptest!(config(400), |(
        response in wide_response(),
        chunks in wide_stream(),
        bounds in bounds(),
        budget in 64usize..512,
        annotated in any::<bool>(),
    )| {
        // Budgets that run out among the first entries.
        let bounds = Bounds { budget, ..bounds };
        let (_, spans) =
            serve_wide_answer(&runtime, &capture, &served, &client, &response, bounds, annotated)?;
        no_placeholders(spans.one(attr::SPAN_CHAT_COMPLETION_CREATE))?;
        let (_, spans) =
            serve_wide_stream(&runtime, &capture, &served, &client, &chunks, bounds, annotated)?;
        no_placeholders(spans.one(attr::SPAN_CHAT_COMPLETION_CREATE))?;
    });
}
