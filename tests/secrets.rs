//! Secrets and content, end to end: every example runs with a known API key against a local API
//! server (as if online: `OPENAI_API_KEY` and `OPENAI_BASE_URL` set) and exports over OTLP/HTTP to
//! a local receiver. Every exported byte (spans, events, metrics) is searched for the key, for
//! `Bearer` and `Authorization`, and, with content capture off, for every prompt and answer text
//! that crossed the wire: zero hits. With capture on, the key is still absent (and every text is
//! found, which shows the search looks where the content would be).

use std::path::Path;

use common::contains;
use traced_chat::testing::{MockOpenAI, fixtures};
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

mod common;

const API_KEY: &str = "sk-tracedchat-known-test-key-5f3a9c1e7b2d4086";

/// The examples' names, from the source tree: every example is run.
fn examples() -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|entry| {
            let path = entry.ok()?.path();
            (path.extension()? == "rs").then(|| path.file_stem()?.to_str().map(str::to_owned))?
        })
        .collect();
    names.sort();
    assert!(names.len() >= 4, "examples found: {names:?}");
    names
}

/// The API server the examples talk to "online": the mock's answers, the long answer for the
/// quickstart's second question, plus the stream and the tool call for the requests that ask for
/// them.
async fn api() -> MockOpenAI {
    let mock = MockOpenAI::start().await;
    mock.answer_when("meaning of death", 200, fixtures::CHAT_COMPLETION_LONG)
        .await;
    for (needle, body, content_type) in [
        (
            "\"stream\":true",
            fixtures::CHAT_STREAM_WITH_USAGE,
            "text/event-stream",
        ),
        (
            "\"tools\":",
            fixtures::CHAT_COMPLETION_TOOL_CALLS,
            "application/json",
        ),
    ] {
        Mock::given(method("POST"))
            .and(path("/v1/chat/completions"))
            .and(body_string_contains(needle))
            .respond_with(ResponseTemplate::new(200).set_body_raw(body, content_type))
            .with_priority(1)
            .mount(mock.server())
            .await;
    }
    mock
}

/// Runs every example against `api`, exporting to `receiver`; returns what the examples printed.
fn run_examples(api: &MockOpenAI, receiver: &MockServer, capture: bool) -> String {
    let mut printed = String::new();
    for name in examples() {
        // None of the caller's telemetry or content settings: only ours.
        let out = common::example_command(&name)
            .env("OPENAI_API_KEY", API_KEY)
            .env("OPENAI_BASE_URL", api.base_url())
            .env("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.uri())
            .env("OTEL_SERVICE_NAME", format!("secrets-{name}"))
            .env(
                "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT",
                capture.to_string(),
            )
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "example {name} failed: {stderr}");
        printed.push_str(&String::from_utf8_lossy(&out.stdout));
        printed.push_str(&stderr);
    }
    printed
}

/// Every text that crossed the wire as content: the messages of every chat request the API
/// received, the texts of every embeddings request, and the answers it gave.
async fn wire_texts(api: &MockOpenAI) -> Vec<String> {
    let mut texts = Vec::new();
    for request in api.received_requests().await {
        let body: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
        match &body["input"] {
            serde_json::Value::String(text) => texts.push(text.clone()),
            serde_json::Value::Array(inputs) => {
                texts.extend(inputs.iter().filter_map(|t| t.as_str().map(str::to_owned)))
            }
            _ => {}
        }
        for message in body["messages"].as_array().into_iter().flatten() {
            match &message["content"] {
                serde_json::Value::String(text) => texts.push(text.clone()),
                serde_json::Value::Array(parts) => texts.extend(
                    parts
                        .iter()
                        .filter_map(|part| part["text"].as_str().map(str::to_owned)),
                ),
                _ => {}
            }
        }
    }
    for body in [
        fixtures::CHAT_COMPLETION,
        fixtures::CHAT_COMPLETION_LONG,
        fixtures::CHAT_COMPLETION_TOOL_CALLS,
    ] {
        let body: serde_json::Value = serde_json::from_str(body).unwrap();
        for choice in body["choices"].as_array().unwrap() {
            let message = &choice["message"];
            texts.extend(message["content"].as_str().map(str::to_owned));
            for call in message["tool_calls"].as_array().into_iter().flatten() {
                texts.extend(call["function"]["arguments"].as_str().map(str::to_owned));
            }
        }
    }
    let streamed: String = fixtures::CHAT_STREAM_WITH_USAGE
        .lines()
        .filter_map(|line| line.strip_prefix("data: "))
        .filter_map(|data| serde_json::from_str::<serde_json::Value>(data).ok())
        .flat_map(|chunk| {
            chunk["choices"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .filter_map(|choice| choice["delta"]["content"].as_str().map(str::to_owned))
        })
        .collect();
    texts.push(streamed);
    texts.retain(|text| text.len() >= 8);
    texts.sort();
    texts.dedup();
    texts
}

fn contains_ignore_case(haystack: &[u8], needle: &str) -> bool {
    let needle = needle.to_ascii_lowercase();
    haystack
        .windows(needle.len())
        .any(|window| window.to_ascii_lowercase() == needle.as_bytes())
}

/// Every byte the receiver got, spans and metrics; checks they are uncompressed protobuf.
async fn exported(receiver: &MockServer) -> Vec<u8> {
    let requests = receiver.received_requests().await.unwrap();
    let traces = requests
        .iter()
        .filter(|r| r.url.path() == "/v1/traces")
        .count();
    let metrics = requests
        .iter()
        .filter(|r| r.url.path() == "/v1/metrics")
        .count();
    assert!(traces >= examples().len(), "every example exported spans");
    let span_bytes: Vec<u8> = requests
        .iter()
        .filter(|r| r.url.path() == "/v1/traces")
        .flat_map(|r| r.body.clone())
        .collect();
    for name in examples() {
        let service = format!("secrets-{name}");
        assert!(
            contains(&span_bytes, service.as_bytes()),
            "example {name} exported no span"
        );
    }
    assert!(metrics >= 1, "metrics exported");
    for request in &requests {
        assert_eq!(
            request.headers.get("content-type").unwrap(),
            "application/x-protobuf"
        );
        assert!(
            request.headers.get("content-encoding").is_none(),
            "searchable bytes"
        );
    }
    requests.into_iter().flat_map(|r| r.body).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_key_and_with_capture_off_no_content_leaves_the_process() {
    let api = api().await;

    // Capture off.
    let off = common::otlp_receiver().await;
    let printed = run_examples(&api, &off, false);
    let bytes = exported(&off).await;
    let texts = wire_texts(&api).await;
    assert!(
        texts.len() >= 8,
        "prompts and answers to look for: {texts:?}"
    );
    // The exported bytes are the real trace: span names are there.
    assert!(contains(&bytes, b"HTTP POST") && contains(&bytes, b"gen_ai.usage.input_tokens"));
    assert!(
        !contains(&bytes, API_KEY.as_bytes()),
        "the key was exported"
    );
    assert!(
        !contains(&bytes, &API_KEY.as_bytes()[API_KEY.len() - 12..]),
        "part of the key"
    );
    assert!(
        !contains_ignore_case(&bytes, "bearer"),
        "a Bearer credential was exported"
    );
    assert!(
        !contains_ignore_case(&bytes, "authorization"),
        "an Authorization header"
    );
    let leaked: Vec<&String> = texts
        .iter()
        .filter(|text| contains(&bytes, text.as_bytes()))
        .collect();
    assert!(
        leaked.is_empty(),
        "content exported with capture off: {leaked:#?}"
    );
    assert!(!printed.contains(API_KEY), "an example printed the key");

    // Capture on: the content is there, the key still is not.
    let on = common::otlp_receiver().await;
    run_examples(&api, &on, true);
    let bytes = exported(&on).await;
    assert!(
        !contains(&bytes, API_KEY.as_bytes()),
        "the key was exported"
    );
    assert!(
        !contains(&bytes, &API_KEY.as_bytes()[API_KEY.len() - 12..]),
        "part of the key"
    );
    assert!(!contains_ignore_case(&bytes, "bearer"));
    assert!(!contains_ignore_case(&bytes, "authorization"));
    let missing: Vec<&String> = texts
        .iter()
        .filter(|text| !contains(&bytes, text.as_bytes()))
        .collect();
    assert!(
        missing.is_empty(),
        "with capture on every text is exported (the search finds content): {missing:#?}"
    );
}
