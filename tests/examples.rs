//! Runs the examples added for applications (web service, library feature, OTLP) as their users
//! would, offline, and checks what they do: the trace they print or send.
//!
//! The example binaries are built by this same `cargo test` run (`otlp` only with the `otlp`
//! feature); run the whole `cargo test`, or a stale binary from another feature set is run.

use std::io::Read as _;
use std::process::Stdio;
use std::time::{Duration, Instant};

mod common;

/// What an example printed, and how long it took.
struct Run {
    stdout: String,
    stderr: String,
    #[cfg_attr(
        not(feature = "otlp"),
        expect(dead_code, reason = "the otlp tests read it")
    )]
    elapsed: Duration,
}

/// Runs an example with no OpenAI key and no `OTEL_*`/`TRACED_CHAT_*` variable from the
/// surrounding environment, plus `env`; fails if it exits unsuccessfully or runs past `limit`.
fn run_example(name: &str, args: &[&str], env: &[(&str, &str)], limit: Duration) -> Run {
    let mut command = common::example_command(name);
    command
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .envs(env.iter().copied());

    let started = Instant::now();
    let mut child = command.spawn().unwrap();
    let read = |mut pipe: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            pipe.read_to_string(&mut text).unwrap();
            text
        })
    };
    let stdout = read(Box::new(child.stdout.take().unwrap()));
    let stderr = read(Box::new(child.stderr.take().unwrap()));
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > limit {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!(
                "{name} still running after {limit:?}; stderr: {}",
                stderr.join().unwrap()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let elapsed = started.elapsed();
    let (stdout, stderr) = (stdout.join().unwrap(), stderr.join().unwrap());
    assert!(status.success(), "{name} failed ({status}): {stderr}");
    Run {
        stdout,
        stderr,
        elapsed,
    }
}

/// The console exporter's spans (pretty JSON objects, one after another).
#[cfg(feature = "otel")]
fn spans(stdout: &str) -> Vec<serde_json::Value> {
    serde_json::Deserializer::from_str(stdout)
        .into_iter::<serde_json::Value>()
        .collect::<Result<_, _>>()
        .expect("stdout is a sequence of JSON spans")
}

#[cfg(feature = "otel")]
fn span<'a>(spans: &'a [serde_json::Value], name: &str) -> &'a serde_json::Value {
    let found: Vec<_> = spans.iter().filter(|s| s["name"] == name).collect();
    assert_eq!(found.len(), 1, "one span {name} in {spans:#?}");
    found[0]
}

#[cfg(feature = "otel")]
fn children<'a>(
    spans: &'a [serde_json::Value],
    parent: &serde_json::Value,
) -> Vec<&'a serde_json::Value> {
    spans
        .iter()
        .filter(|s| s["parent_id"] == parent["context"]["span_id"])
        .collect()
}

const LIMIT: Duration = Duration::from_secs(60);

#[test]
fn web_service_continues_the_incoming_trace() {
    let run = run_example("web_service", &[], &[], LIMIT);
    assert!(
        run.stderr
            .contains("-> 200 OK: The meaning of life is to find purpose"),
        "{}",
        run.stderr
    );
    #[cfg(not(feature = "otel"))]
    assert_eq!(run.stdout.trim(), "", "feature off: no span");
    #[cfg(feature = "otel")]
    {
        let spans = spans(&run.stdout);
        // The request carried 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01.
        let names: Vec<&str> = spans.iter().map(|s| s["name"].as_str().unwrap()).collect();
        assert_eq!(
            names,
            ["HTTP POST", "openai.ChatCompletion.create", "answer"],
            "the chat spans and nothing else"
        );
        for span in &spans {
            assert_eq!(
                span["context"]["trace_id"], "0x4bf92f3577b34da6a3ce929d0e0e4736",
                "every span in the caller's trace: {span:#}"
            );
        }
        let answer = span(&spans, "answer");
        assert_eq!(
            answer["parent_id"], "0x00f067aa0ba902b7",
            "the caller's span"
        );
        assert_eq!(
            answer["attributes"]["openai.prompt"],
            "What is the meaning of life?"
        );
        let chat = span(&spans, "openai.ChatCompletion.create");
        assert_eq!(chat["parent_id"], answer["context"]["span_id"]);
        assert_eq!(
            span(&spans, "HTTP POST")["parent_id"],
            chat["context"]["span_id"]
        );
    }
}

#[test]
fn library_feature_traces_the_library_under_the_application() {
    let run = run_example("library_feature", &[], &[], LIMIT);
    assert!(
        run.stderr.contains("category: The meaning of life"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("reply: The meaning of life"),
        "{}",
        run.stderr
    );
    #[cfg(not(feature = "otel"))]
    assert_eq!(run.stdout.trim(), "", "telemetry off: no span");
    #[cfg(feature = "otel")]
    {
        let spans = spans(&run.stdout);
        let app = span(&spans, "handle_ticket");
        assert_eq!(app["parent_id"], serde_json::Value::Null);
        let trace = &app["context"]["trace_id"];
        assert!(spans.iter().all(|s| &s["context"]["trace_id"] == trace));
        let library: Vec<&str> = children(&spans, app)
            .iter()
            .map(|s| s["name"].as_str().unwrap())
            .collect();
        assert_eq!(library, ["chat_lib.classify", "chat_lib.draft_reply"]);
        for name in library {
            let function = span(&spans, name);
            assert_eq!(
                function["attributes"]["openai.prompt"],
                "I was charged twice for my subscription this month."
            );
            assert!(
                function["attributes"]["openai.response"]
                    .as_str()
                    .unwrap()
                    .starts_with("The meaning of life"),
                "{function:#}"
            );
            let chats = children(&spans, function);
            assert_eq!(chats.len(), 1, "{name}: one chat call");
            assert_eq!(chats[0]["name"], "openai.ChatCompletion.create");
            assert_eq!(chats[0]["kind"], "SpanKind.CLIENT");
            let http = children(&spans, chats[0]);
            assert_eq!(http.len(), 1);
            assert_eq!(http[0]["name"], "HTTP POST");
        }
        assert_eq!(spans.len(), 7, "application, 2 × (library, chat, HTTP)");
    }
}

#[cfg(feature = "otlp")]
mod otlp {
    use super::*;
    use common::contains;

    #[tokio::test(flavor = "multi_thread")]
    async fn otlp_example_sends_its_trace_to_the_collector() {
        let collector = common::otlp_receiver().await;
        let endpoint = collector.uri();
        let run = tokio::task::spawn_blocking(move || {
            run_example(
                "otlp",
                &[],
                &[
                    ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
                    ("OTEL_SERVICE_NAME", "examples-test-service"),
                ],
                LIMIT,
            )
        })
        .await
        .unwrap();
        assert!(run.stderr.contains("trace sent to"), "{}", run.stderr);
        assert!(
            run.stdout.is_empty(),
            "OTLP, not the console: {}",
            run.stdout
        );

        let requests = collector.received_requests().await.unwrap();
        let traces: Vec<&[u8]> = requests
            .iter()
            .filter(|r| r.url.path() == "/v1/traces")
            .map(|r| r.body.as_slice())
            .collect();
        assert!(!traces.is_empty(), "spans exported");
        for needle in [
            "otlp_example",
            "ask",
            "openai.ChatCompletion.create",
            "HTTP POST",
            "What is the meaning of death in a long paragraph?",
            "examples-test-service",
        ] {
            assert!(
                traces.iter().any(|body| contains(body, needle)),
                "{needle} in the exported spans"
            );
        }
        assert!(
            requests
                .iter()
                .any(|r| r.url.path() == "/v1/metrics"
                    && contains(&r.body, "gen_ai.client.token.usage")),
            "metrics exported"
        );
    }

    #[test]
    fn otlp_example_finishes_without_a_collector() {
        // A port nobody listens on: bound, then closed.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let endpoint = format!("http://127.0.0.1:{port}");
        let run = run_example(
            "otlp",
            &[],
            &[("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint)],
            Duration::from_secs(30),
        );
        assert!(
            run.stderr
                .contains("The meaning of life is to find purpose"),
            "the program did its work: {}",
            run.stderr
        );
        assert!(
            run.stderr
                .contains(&format!("Is a collector listening at {endpoint}?")),
            "a hint: {}",
            run.stderr
        );
        // Shutdown waits at most 5 s; the rest is the program itself.
        assert!(run.elapsed < Duration::from_secs(15), "{:?}", run.elapsed);
    }
}
