//! Sends the trace to an OpenTelemetry collector over OTLP/HTTP, to view it in Phoenix, Jaeger or
//! any OTLP backend.
//!
//! Exports to `OTEL_EXPORTER_OTLP_ENDPOINT` (default here `http://localhost:4318`, the standard
//! OTLP/HTTP port) with the service name `OTEL_SERVICE_NAME` (default here `traced-chat-example`).
//! Offline it talks to an embedded mock OpenAI server; with `OPENAI_API_KEY` set it talks to
//! `OPENAI_BASE_URL` (default the real API).
//!
//! **Phoenix** (UI and OTLP receiver on port 6006):
//!
//! ```text
//! pip install arize-phoenix && phoenix serve
//! OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:6006 OTEL_METRICS_EXPORTER=none \
//!   cargo run --example otlp --features otlp
//! # open http://localhost:6006 (Phoenix takes traces only: no metrics sent)
//! ```
//!
//! **Jaeger** (OTLP on 4318, UI on 16686):
//!
//! ```text
//! docker run --rm -p 16686:16686 -p 4318:4318 jaegertracing/all-in-one
//! OTEL_METRICS_EXPORTER=none cargo run --example otlp --features otlp
//! # open http://localhost:16686, service traced-chat-example
//! ```
//!
//! With no collector listening the program still finishes: spans are sent from a background
//! thread, and shutting telemetry down waits at most 5 seconds; it then says what to start. A
//! collector that takes traces only and refuses the metrics gets one line saying so, and no more
//! metrics are sent.

use std::error::Error;
use std::net::{TcpStream, ToSocketAddrs as _};
use std::time::Duration;

use async_openai::error::OpenAIError;
use async_openai::types::chat::{
    ChatCompletionRequestUserMessage, CreateChatCompletionRequestArgs, CreateChatCompletionResponse,
};
use traced_chat::testing::{MockOpenAI, fixtures};
use traced_chat::{TracedClient, traced_chat};

const DEFAULT_ENDPOINT: &str = "http://localhost:4318";

/// One question to the model, in its own span.
#[traced_chat]
async fn ask(
    client: &TracedClient,
    prompt: &str,
) -> Result<CreateChatCompletionResponse, OpenAIError> {
    let request = CreateChatCompletionRequestArgs::default()
        .model("gpt-4o-mini")
        .messages([ChatCompletionRequestUserMessage::from(prompt).into()])
        .build()?;
    client.chat().create(request).await
}

/// The trace's root: two questions.
#[traced_chat(name = "otlp_example", skip(prompt))]
async fn run(client: &TracedClient) -> Result<(), OpenAIError> {
    for prompt in [
        "What is the meaning of life in a short sentence?",
        "What is the meaning of death in a long paragraph?",
    ] {
        let response = ask(client, prompt).await?;
        let answer = response.choices[0].message.content.as_deref().unwrap_or("");
        eprintln!("{prompt}\n  -> {answer}\n");
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn Error>> {
    // Defaults for the example, set before any other thread exists (the Tokio runtime is built
    // below); your own program would leave these to its environment.
    let endpoint = match std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT") {
        Ok(endpoint) if !endpoint.trim().is_empty() => endpoint,
        _ => {
            // SAFETY: no other thread is running yet.
            unsafe { std::env::set_var("OTEL_EXPORTER_OTLP_ENDPOINT", DEFAULT_ENDPOINT) };
            DEFAULT_ENDPOINT.to_owned()
        }
    };
    if std::env::var_os("OTEL_SERVICE_NAME").is_none() {
        // SAFETY: no other thread is running yet.
        unsafe { std::env::set_var("OTEL_SERVICE_NAME", "traced-chat-example") };
    }

    let telemetry = traced_chat::init::from_env()?.with_shutdown_timeout(Duration::from_secs(5));
    eprintln!("exporting spans and metrics over OTLP/HTTP to {endpoint}\n");

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let mock;
        let client = if std::env::var_os("OPENAI_API_KEY").is_some() {
            TracedClient::new()
        } else {
            mock = MockOpenAI::start().await;
            // The second question gets a long answer.
            mock.answer_when("meaning of death", 200, fixtures::CHAT_COMPLETION_LONG)
                .await;
            mock.client()
        };
        run(&client).await
    })?;
    drop(runtime);

    // Flush now (at most 5 s), then say what became of the trace.
    let shutdown = telemetry.shutdown();
    let traces = traces_endpoint(&endpoint);
    if !listening(&traces) {
        eprintln!(
            "Is a collector listening at {traces}? Nothing answered there, so the trace was \
             dropped. Start Phoenix (`pip install arize-phoenix && phoenix serve`, then \
             OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:6006) or Jaeger (`docker run --rm \
             -p 16686:16686 -p 4318:4318 jaegertracing/all-in-one`) and run this again."
        );
        return Ok(());
    }
    eprintln!("trace sent to {traces}: {}", where_to_look(&traces));
    if let Err(error) = shutdown {
        // A collector that refuses metrics says so in one line of its own and stops them: what
        // lands here is anything else (a timeout, say).
        eprintln!("({error})");
    }
    Ok(())
}

/// Where spans go: `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` when it is set, else the endpoint (the
/// OTLP exporter appends `/v1/traces`).
fn traces_endpoint(endpoint: &str) -> String {
    match std::env::var("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") {
        Ok(traces) if !traces.trim().is_empty() => traces,
        _ => endpoint.to_owned(),
    }
}

/// The UIs that may show a trace sent to `traces`, at the host it was sent to: Phoenix serves
/// its UI on the port it receives on, Jaeger on 16686.
fn where_to_look(traces: &str) -> String {
    let service = std::env::var("OTEL_SERVICE_NAME").unwrap_or_default();
    let Ok(uri) = traces.parse::<http::Uri>() else {
        return format!("open your collector's UI (service {service})");
    };
    let scheme = uri.scheme_str().unwrap_or("http");
    let host = uri.host().unwrap_or("localhost");
    let port = uri
        .port_u16()
        .unwrap_or(if scheme == "https" { 443 } else { 80 });
    format!(
        "Phoenix shows it at {scheme}://{host}:{port} when Phoenix is the receiver, Jaeger at \
         {scheme}://{host}:16686 (service {service})"
    )
}

/// Whether something accepts TCP connections at the URL's host and port.
fn listening(endpoint: &str) -> bool {
    let Ok(uri) = endpoint.parse::<http::Uri>() else {
        return false;
    };
    let port = uri.port_u16().unwrap_or(match uri.scheme_str() {
        Some("https") => 443,
        _ => 80,
    });
    let Ok(addresses) = (uri.host().unwrap_or("localhost"), port).to_socket_addrs() else {
        return false;
    };
    addresses
        .into_iter()
        .any(|address| TcpStream::connect_timeout(&address, Duration::from_secs(1)).is_ok())
}
