//! An OTLP exporter that is down (closed port) or black-holed (accepts, never answers) never
//! breaks or blocks the traced application: 1,000 traced calls return their normal results no
//! slower than without telemetry, and the guard's shutdown returns within its timeout.
//! (Own process: `init::otlp()` installs global providers; the scenarios run one after another.)

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use async_openai::types::chat::{
    ChatCompletionRequestUserMessage, CreateChatCompletionRequestArgs, CreateChatCompletionResponse,
};
use traced_chat::init::ShutdownError;
use traced_chat::testing::MockOpenAI;
use traced_chat::{TracedClient, traced_chat};

const CALLS: usize = 1_000;
/// The exporter's own timeout per export: far longer than any call may take.
const EXPORT_TIMEOUT: Duration = Duration::from_secs(4);
const SHUTDOWN_TIMEOUT: Duration = Duration::from_millis(800);

#[traced_chat]
async fn ask(client: &TracedClient, prompt: &str) -> Result<CreateChatCompletionResponse, String> {
    let request = CreateChatCompletionRequestArgs::default()
        .model("gpt-3.5-turbo")
        .messages([ChatCompletionRequestUserMessage::from(prompt).into()])
        .build()
        .map_err(|e| e.to_string())?;
    client
        .chat()
        .create(request)
        .await
        .map_err(|e| e.to_string())
}

/// Runs the calls one after another; returns the slowest call.
async fn run_calls(client: &TracedClient) -> Duration {
    let mut slowest = Duration::ZERO;
    for i in 0..CALLS {
        let started = Instant::now();
        let response = ask(client, &format!("question {i}"))
            .await
            .unwrap_or_else(|e| panic!("call {i} failed: {e}"));
        slowest = slowest.max(started.elapsed());
        assert_eq!(response.id, "chatcmpl-7DO5Jns0IVgSxWRjTaBUHL0VWPtyK");
        assert_eq!(
            response.choices[0].message.content.as_deref(),
            Some("The meaning of life is to find purpose, love and joy in the time we have.")
        );
    }
    slowest
}

/// A port nothing listens on: held by a socket that is bound but not listening (so no other
/// server takes it), connections to it are refused.
fn closed_port() -> (SocketAddr, tokio::net::TcpSocket) {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    (socket.local_addr().unwrap(), socket)
}

/// A server that accepts every connection and never reads or answers; counts the connections.
fn black_hole() -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            count.fetch_add(1, Ordering::SeqCst);
            held.push(stream);
        }
    });
    (address, accepted)
}

/// Sets the exporter up against `endpoint`, runs the calls, shuts down; returns the slowest call
/// and how long the shutdown took.
async fn scenario(
    endpoint: SocketAddr,
    mock: &MockOpenAI,
) -> (Duration, Duration, Result<(), ShutdownError>) {
    // SAFETY of the test: the only test of this process; no other thread reads the environment
    // while it is written (the exporter reads it while being built, below).
    unsafe {
        std::env::set_var("OTEL_EXPORTER_OTLP_ENDPOINT", format!("http://{endpoint}"));
        std::env::set_var(
            "OTEL_EXPORTER_OTLP_TIMEOUT",
            EXPORT_TIMEOUT.as_millis().to_string(),
        );
        // Export often, so exports are under way (and failing or hanging) during the calls.
        std::env::set_var("OTEL_BSP_SCHEDULE_DELAY", "20");
        std::env::set_var("OTEL_METRIC_EXPORT_INTERVAL", "50");
    }
    let guard = traced_chat::init::otlp()
        .expect("the exporter builds without a collector")
        .with_shutdown_timeout(SHUTDOWN_TIMEOUT);
    let client = mock.client();
    let slowest = run_calls(&client).await;
    let started = Instant::now();
    let outcome = tokio::task::spawn_blocking(move || guard.shutdown())
        .await
        .expect("shutdown does not panic");
    let shutdown = started.elapsed();
    eprintln!("  shutdown: {outcome:?} in {shutdown:?}");
    (slowest, shutdown, outcome)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_or_hanging_exporter_never_blocks_or_breaks_the_calls() {
    let mock = MockOpenAI::start().await;

    // Baseline: the same calls with telemetry switched off at run time (no provider installed).
    let baseline = run_calls(&mock.client()).await;
    eprintln!("without telemetry: slowest call {baseline:?}");

    let (closed, _held) = closed_port();
    let (hole, accepted) = black_hole();
    for (what, endpoint) in [("closed port", closed), ("black hole", hole)] {
        let (slowest, shutdown, outcome) = scenario(endpoint, &mock).await;
        eprintln!("{what}: slowest call {slowest:?}, shutdown {shutdown:?}");
        // A call that waited for an export would take the export timeout (4 s); the slack covers
        // a loaded 2-core machine, not an export.
        assert!(
            slowest < baseline + Duration::from_secs(2),
            "{what}: a call took {slowest:?} (without telemetry at most {baseline:?})"
        );
        assert!(
            shutdown < SHUTDOWN_TIMEOUT + Duration::from_millis(1500),
            "{what}: shutdown took {shutdown:?}, timeout {SHUTDOWN_TIMEOUT:?}"
        );
        // The exporter waits on a silent collector past the shutdown timeout: the guard gives up
        // on time and says so. (A refused one may fail fast or retry: only the time is bounded.)
        if what == "black hole" {
            assert_eq!(outcome, Err(ShutdownError::Timeout(SHUTDOWN_TIMEOUT)));
        }
    }
    assert!(
        accepted.load(Ordering::SeqCst) >= 1,
        "the exporter really tried to send to the black hole"
    );
    let requests = mock.received_requests().await.len();
    assert_eq!(requests, 3 * CALLS, "every call reached the API once");
}
