//! End to end against a real LLM tracing backend, Arize Phoenix: the quickstart example (built by
//! this same `cargo test`) exports its trace over OTLP/HTTP to the server at `PHOENIX_URL`, and
//! the test reads the spans back through Phoenix's REST API and checks that the whole trace
//! arrived as the library recorded it.
//!
//! Ignored by default; `scripts/test` starts a server and runs it:
//!
//! ```text
//! eval "$(bash scripts/phoenix.sh start)"; trap 'bash scripts/phoenix.sh stop' EXIT
//! cargo test --workspace --all-features --example quickstart --test phoenix -- --ignored
//! ```
//!
//! The example binary must come from the same features (`otlp` on): `--test phoenix` alone does
//! not build examples, so name it (`--example quickstart`) or run this after a whole
//! `cargo test --workspace --all-features`, never after a build with other features.
//!
//! Facts about Phoenix (20.26) this relies on:
//! - it receives OTLP/HTTP protobuf at `{PHOENIX_URL}/v1/traces`, so `PHOENIX_URL` is the
//!   `OTEL_EXPORTER_OTLP_ENDPOINT`;
//! - it files spans under the project named by the resource attribute
//!   `openinference.project.name` (`default` without one), and keeps no other resource
//!   attribute: each run sets a project of its own through `OTEL_RESOURCE_ATTRIBUTES`, so a
//!   reused server still holds exactly this run's seven spans there;
//! - `GET /v1/projects/{project}/spans` lists them as JSON (404 until the project's first span);
//! - it keeps span names, ids, parentage, status and attributes, but not the OpenTelemetry span
//!   kind (CLIENT): its `span_kind` is the OpenInference kind, which it derives from
//!   `gen_ai.operation.name = chat` as `LLM`, together with `llm.model_name` and
//!   `llm.token_count.*` from the `gen_ai.*` attributes.
#![cfg(feature = "otlp")]

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;

mod common;

const LIFE: &str = "What is the meaning of life in a short sentence?";
const DEATH: &str = "What is the meaning of death in a long paragraph?";

/// What the mock server answers to each prompt (runtime/fixtures/openai/chat_completion*.json):
/// response id, answer's start, prompt, completion and total tokens.
const ANSWERS: [(&str, &str, &str, i64, i64, i64); 2] = [
    (
        LIFE,
        "chatcmpl-7DO5Jns0IVgSxWRjTaBUHL0VWPtyK",
        "The meaning of life is to find purpose",
        30,
        13,
        43,
    ),
    (
        DEATH,
        "chatcmpl-7DO5K8rhgWHrHEpsLizRdNa9QkzkG",
        "Death is the cessation of life.",
        30,
        175,
        205,
    ),
];

/// How long the trace may take to show up in Phoenix once the example has exited.
const ARRIVAL: Duration = Duration::from_secs(30);

fn phoenix_url() -> String {
    let url = std::env::var("PHOENIX_URL").unwrap_or_else(|_| {
        panic!(
            "PHOENIX_URL is not set: start a Phoenix server with \
             `eval \"$(bash scripts/phoenix.sh start)\"` (scripts/test does) and run again"
        )
    });
    url.trim_end_matches('/').to_owned()
}

/// Runs the quickstart example offline (embedded mock OpenAI server), exporting over OTLP/HTTP to
/// `endpoint` with `project` as its Phoenix project and service name. Returns its stderr.
fn run_quickstart(endpoint: &str, project: &str) -> String {
    // None of the caller's OpenTelemetry settings: only ours.
    let mut command = common::example_command("quickstart");
    command
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
        .env("OTEL_SERVICE_NAME", project)
        // Phoenix takes traces only (it answers 405 to metrics), as the README says to set.
        .env("OTEL_METRICS_EXPORTER", "none")
        .env(
            "OTEL_RESOURCE_ATTRIBUTES",
            format!("openinference.project.name={project}"),
        )
        // The server is local: no proxy in between.
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("no_proxy", "127.0.0.1,localhost");
    // Bounded: a hung exporter fails the test instead of the CI run.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || tx.send(command.output()));
    let out = rx
        .recv_timeout(Duration::from_secs(120))
        .expect("the quickstart example did not finish within 120 s")
        .expect("the quickstart example runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success(),
        "quickstart failed ({}):\nstdout:\n{stdout}\nstderr:\n{stderr}",
        out.status
    );
    stderr
}

/// GET `url` and its JSON body, or the status when it is not 200.
async fn get_json(http: &reqwest::Client, url: &str) -> Result<Value, String> {
    let response = http
        .get(url)
        .send()
        .await
        .map_err(|e| format!("GET {url}: {e}"))?;
    let status = response.status();
    let body = response
        .bytes()
        .await
        .map_err(|e| format!("GET {url}: {e}"))?;
    if !status.is_success() {
        return Err(format!(
            "GET {url}: {status}: {}",
            String::from_utf8_lossy(&body)
        ));
    }
    serde_json::from_slice(&body).map_err(|e| format!("GET {url}: not JSON ({e})"))
}

/// The spans of `project`, polled until at least `expected` are there and two reads half a second
/// apart agree, or [`ARRIVAL`] has passed (then panics, saying what Phoenix has).
async fn project_spans(
    http: &reqwest::Client,
    base: &str,
    project: &str,
    expected: usize,
) -> Vec<Value> {
    let url = format!("{base}/v1/projects/{project}/spans?limit=1000");
    let deadline = Instant::now() + ARRIVAL;
    let mut last;
    let mut settled: Option<usize> = None;
    loop {
        match get_json(http, &url).await {
            Ok(body) => {
                let spans = body["data"].as_array().cloned().unwrap_or_default();
                if spans.len() >= expected && settled == Some(spans.len()) {
                    return spans;
                }
                settled = (spans.len() >= expected).then_some(spans.len());
                last = format!("{} span(s): {body}", spans.len());
            }
            // 404 until the project's first span is stored.
            Err(error) => last = error,
        }
        if Instant::now() > deadline {
            let projects = get_json(http, &format!("{base}/v1/projects"))
                .await
                .map(|p| p.to_string())
                .unwrap_or_else(|e| e);
            panic!(
                "the trace did not arrive in Phoenix project {project:?} within {ARRIVAL:?}.\n\
                 Last answer: {last}\n\
                 Projects on the server: {projects}\n\
                 (Spans without the resource attribute openinference.project.name land in \
                 \"default\": was OTEL_RESOURCE_ATTRIBUTES honoured?)"
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

fn attr<'a>(span: &'a Value, key: &str) -> &'a Value {
    let value = &span["attributes"][key];
    assert!(
        !value.is_null(),
        "span {} has no attribute {key}: {}",
        span["name"],
        span["attributes"]
    );
    value
}

fn span_id(span: &Value) -> &str {
    span["context"]["span_id"].as_str().unwrap()
}

fn children<'a>(spans: &'a [Value], parent: &Value) -> Vec<&'a Value> {
    spans
        .iter()
        .filter(|s| s["parent_id"].as_str() == Some(span_id(parent)))
        .collect()
}

#[tokio::test]
#[ignore = "needs a Phoenix server: scripts/test starts one (scripts/phoenix.sh)"]
async fn quickstart_trace_arrives_in_phoenix() {
    let base = phoenix_url();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .no_proxy()
        .build()
        .unwrap();
    // Fail early and clearly when nothing listens there.
    get_json(&http, &format!("{base}/v1/projects"))
        .await
        .unwrap_or_else(|e| panic!("Phoenix at PHOENIX_URL={base} does not answer: {e}"));

    // A project (and service name) of this run's own, so a reused server still passes.
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let project = format!("traced-chat-e2e-{}-{nanos}", std::process::id());

    let stderr = {
        let (base, project) = (base.clone(), project.clone());
        tokio::task::spawn_blocking(move || run_quickstart(&base, &project))
            .await
            .unwrap()
    };
    for (_, _, answer, ..) in ANSWERS {
        assert!(stderr.contains(answer), "{stderr}");
    }

    let spans = project_spans(&http, &base, &project, 7).await;
    let dump = || serde_json::to_string_pretty(&spans).unwrap();

    // Exactly the quickstart's seven spans.
    let mut names: Vec<&str> = spans.iter().map(|s| s["name"].as_str().unwrap()).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "HTTP POST",
            "HTTP POST",
            "call",
            "call",
            "main",
            "openai.ChatCompletion.create",
            "openai.ChatCompletion.create",
        ],
        "{}",
        dump()
    );

    // One trace.
    let trace = spans[0]["context"]["trace_id"].as_str().unwrap();
    assert_eq!(trace.len(), 32, "{trace}");
    assert!(trace.bytes().all(|b| b.is_ascii_hexdigit()), "{trace}");
    assert!(
        spans.iter().all(|s| s["context"]["trace_id"] == trace),
        "{}",
        dump()
    );
    // Every span id once; nothing failed.
    let by_id: HashMap<&str, &Value> = spans.iter().map(|s| (span_id(s), s)).collect();
    assert_eq!(by_id.len(), 7, "{}", dump());
    assert!(
        spans.iter().all(|s| s["status_code"] == "UNSET"),
        "{}",
        dump()
    );

    // main is the root and the parent of both calls.
    let main = spans.iter().find(|s| s["name"] == "main").unwrap();
    assert!(main["parent_id"].is_null(), "{main}");
    assert_eq!(main["span_kind"], "UNKNOWN", "{main}");
    let calls = children(&spans, main);
    assert_eq!(calls.len(), 2, "{}", dump());

    for (prompt, response_id, answer, input, output, total) in ANSWERS {
        // The call that asked this prompt.
        let call = *calls
            .iter()
            .find(|c| c["attributes"]["openai.prompt"] == prompt)
            .unwrap_or_else(|| panic!("no call span with openai.prompt = {prompt:?}: {}", dump()));
        assert_eq!(call["name"], "call");
        assert_eq!(call["span_kind"], "UNKNOWN", "{call}");
        assert_eq!(
            attr(call, "openai.prompt.length").as_u64(),
            Some(prompt.len() as u64),
            "{call}"
        );
        assert!(
            attr(call, "openai.response")
                .as_str()
                .unwrap()
                .starts_with(answer),
            "{call}"
        );

        // Its one chat span: Phoenix reads it as an LLM call.
        let chats = children(&spans, call);
        assert_eq!(chats.len(), 1, "{}", dump());
        let chat = chats[0];
        assert_eq!(chat["name"], "openai.ChatCompletion.create", "{chat}");
        assert_eq!(chat["span_kind"], "LLM", "{chat}");
        for (key, value) in [
            ("openai.create.model", Value::from("gpt-3.5-turbo")),
            ("gen_ai.request.model", Value::from("gpt-3.5-turbo")),
            ("llm.model_name", Value::from("gpt-3.5-turbo")),
            ("gen_ai.operation.name", Value::from("chat")),
            ("gen_ai.provider.name", Value::from("openai")),
            ("openai.create.max_tokens", Value::from(500)),
            ("gen_ai.request.max_tokens", Value::from(500)),
            ("openai.create.temperature", Value::from(0.5)),
            ("openai.response.id", Value::from(response_id)),
            ("gen_ai.response.id", Value::from(response_id)),
            ("gen_ai.response.model", Value::from("gpt-3.5-turbo-0301")),
            ("openai.usage.prompt_tokens", Value::from(input)),
            ("openai.usage.completion_tokens", Value::from(output)),
            ("openai.usage.total_tokens", Value::from(total)),
            ("gen_ai.usage.input_tokens", Value::from(input)),
            ("gen_ai.usage.output_tokens", Value::from(output)),
            ("llm.token_count.prompt", Value::from(input)),
            ("llm.token_count.completion", Value::from(output)),
            ("llm.token_count.total", Value::from(total)),
        ] {
            assert_eq!(attr(chat, key), &value, "{key} on {chat}");
        }

        // Its one HTTP attempt.
        let https = children(&spans, chat);
        assert_eq!(https.len(), 1, "{}", dump());
        let http_span = https[0];
        assert_eq!(http_span["name"], "HTTP POST", "{http_span}");
        assert_eq!(http_span["span_kind"], "UNKNOWN", "{http_span}");
        assert_eq!(attr(http_span, "http.method"), "POST");
        assert_eq!(attr(http_span, "http.request.method"), "POST");
        assert_eq!(attr(http_span, "http.status_code"), 200);
        assert_eq!(attr(http_span, "http.response.status_code"), 200);
        for key in ["http.url", "url.full"] {
            assert!(
                attr(http_span, key)
                    .as_str()
                    .unwrap()
                    .ends_with("/v1/chat/completions"),
                "{key} on {http_span}"
            );
        }
        assert!(children(&spans, http_span).is_empty(), "{}", dump());
    }

    // The same trace, asked for by id (the filter a reader of a shared project would use).
    let by_trace = get_json(
        &http,
        &format!("{base}/v1/projects/{project}/spans?trace_id={trace}&limit=1000"),
    )
    .await
    .unwrap();
    assert_eq!(
        by_trace["data"].as_array().map(Vec::len),
        Some(7),
        "{by_trace}"
    );
}
