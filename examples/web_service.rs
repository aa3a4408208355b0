//! A web service (axum) whose chat spans continue the caller's trace.
//!
//! `POST /ask` takes a prompt as its body and answers with the model's reply. The handler reads
//! the W3C `traceparent` (and `tracestate`) header of the request with the global propagator
//! (installed by `traced_chat::init`) and makes that remote span the parent of the call: the
//! `answer` span, its `openai.ChatCompletion.create` span and the `HTTP POST` spans join the
//! caller's trace instead of starting a new one.
//!
//! Needs `opentelemetry` (the version traced-chat uses) beside `traced-chat` for the propagator
//! and `FutureExt::with_context`. A production service would rather have a middleware open a
//! SERVER span per request; the extraction is the same.
//!
//! By default it binds `127.0.0.1:0`, sends itself one request carrying the `traceparent`
//! below, prints the reply on stderr and the trace on stdout, and exits. With `--serve` it keeps
//! serving on `127.0.0.1:3000` (or the address after `--serve`):
//!
//! ```text
//! cargo run --example web_service
//! cargo run --example web_service -- --serve
//! curl -d 'What is the meaning of life?' \
//!      -H 'traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' \
//!      http://127.0.0.1:3000/ask
//! ```
//!
//! Offline it talks to an embedded mock OpenAI server; with `OPENAI_API_KEY` set it talks to
//! `OPENAI_BASE_URL` (default the real API).

use std::error::Error;

use async_openai::error::OpenAIError;
use async_openai::types::chat::{
    ChatCompletionRequestUserMessage, CreateChatCompletionRequestArgs,
};
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use opentelemetry::propagation::Extractor;
use opentelemetry::trace::FutureExt as _;
use traced_chat::testing::MockOpenAI;
use traced_chat::{TracedClient, traced_chat};

/// The `traceparent` of the request the service sends itself (the W3C specification's example:
/// trace `4bf92f35…4736`, parent span `00f067aa0ba902b7`, sampled).
const INCOMING_TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

/// Reads propagation headers from an `http::HeaderMap` (what `opentelemetry-http`'s
/// `HeaderExtractor` does).
struct HeaderExtractor<'a>(&'a HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| value.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|name| name.as_str()).collect()
    }
}

/// One question to the model, in its own span.
#[traced_chat]
async fn answer(client: &TracedClient, prompt: &str) -> Result<String, OpenAIError> {
    let request = CreateChatCompletionRequestArgs::default()
        .model("gpt-4o-mini")
        .messages([ChatCompletionRequestUserMessage::from(prompt).into()])
        .build()?;
    let response = client.chat().create(request).await?;
    Ok(response
        .choices
        .into_iter()
        .next()
        .and_then(|choice| choice.message.content)
        .unwrap_or_default())
}

/// `POST /ask`: the caller's trace context becomes the parent of `answer`.
async fn ask(
    State(client): State<TracedClient>,
    headers: HeaderMap,
    prompt: String,
) -> Result<String, (StatusCode, String)> {
    let parent = opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.extract(&HeaderExtractor(&headers))
    });
    answer(&client, &prompt)
        .with_context(parent)
        .await
        .map_err(|error| (StatusCode::BAD_GATEWAY, error.to_string()))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let _telemetry = traced_chat::init::from_env()?;

    let mock;
    let client = if std::env::var_os("OPENAI_API_KEY").is_some() {
        TracedClient::new()
    } else {
        mock = MockOpenAI::start().await;
        mock.client()
    };
    let app = Router::new().route("/ask", post(ask)).with_state(client);

    let mut args = std::env::args().skip(1);
    if args.next().as_deref() == Some("--serve") {
        let address = args.next().unwrap_or_else(|| "127.0.0.1:3000".to_owned());
        let listener = tokio::net::TcpListener::bind(&address).await?;
        eprintln!(
            "serving on http://{address}/ask; try\n  curl -d 'What is the meaning of life?' \
             -H 'traceparent: {INCOMING_TRACEPARENT}' http://{address}/ask"
        );
        axum::serve(listener, app).await?;
        return Ok(());
    }

    // Offline demo: serve on a free port, send one traced request, stop.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let response = reqwest::Client::new()
        .post(format!("http://{address}/ask"))
        .header("traceparent", INCOMING_TRACEPARENT)
        .body("What is the meaning of life?")
        .send()
        .await?;
    let status = response.status();
    let body = response.text().await?;
    eprintln!("POST /ask with traceparent {INCOMING_TRACEPARENT}\n  -> {status}: {body}");
    server.abort();
    if !status.is_success() {
        return Err(format!("the service answered {status}").into());
    }
    Ok(())
}
