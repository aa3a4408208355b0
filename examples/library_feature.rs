//! An application using a library whose telemetry is an optional feature of its own.
//!
//! The library is `examples/chat-lib`: it depends on traced-chat with `default-features = false`,
//! annotates its functions with `#[traced_chat::traced_chat]` and offers
//! `telemetry = ["traced-chat/otel"]`. This application turns it on and picks the exporter:
//!
//! ```toml
//! [dependencies]
//! chat-lib = { version = "…", features = ["telemetry"] }
//! traced-chat = "0.1" # for init::from_env() and the application's own #[traced_chat]
//! ```
//!
//! Prints the trace on stdout (`handle_ticket` ← the library's `chat_lib.classify` and
//! `chat_lib.draft_reply` ← their chat and HTTP spans) and the reply on stderr. Offline it talks
//! to an embedded mock OpenAI server; with `OPENAI_API_KEY` set it talks to `OPENAI_BASE_URL`
//! (default the real API).
//!
//! ```text
//! cargo run --example library_feature
//! ```

use std::error::Error;

use async_openai::error::OpenAIError;
use traced_chat::testing::MockOpenAI;
use traced_chat::traced_chat;

/// The application's own span around the library's two calls.
#[traced_chat(prompt = ticket)]
async fn handle_ticket(client: &chat_lib::Client, ticket: &str) -> Result<String, OpenAIError> {
    let category = chat_lib::classify(client, ticket).await?;
    eprintln!("category: {category}");
    chat_lib::draft_reply(client, ticket, &category).await
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    // The application, never the library, decides where spans go.
    let _telemetry = traced_chat::init::from_env()?;

    let mock;
    let client = if std::env::var_os("OPENAI_API_KEY").is_some() {
        chat_lib::Client::new()
    } else {
        mock = MockOpenAI::start().await;
        mock.client()
    };

    let reply = handle_ticket(
        &client,
        "I was charged twice for my subscription this month.",
    )
    .await?;
    eprintln!("reply: {reply}");
    Ok(())
}
