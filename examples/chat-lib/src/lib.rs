//! A support-desk library that asks a model about tickets: the pattern for library authors.
//!
//! It depends on traced-chat with `default-features = false` and annotates its functions with
//! `#[traced_chat::traced_chat]`. Its own `telemetry` feature turns the instrumentation on
//! (`telemetry = ["traced-chat/otel"]`); without it the attribute leaves each function exactly as
//! written and [`Client`] is a plain async-openai client, so the library never pays for, nor
//! imposes, telemetry its application did not ask for. The application picks the exporter
//! (`traced_chat::init::from_env()` or its own OpenTelemetry setup); a library never installs one.
//!
//! Cargo features are additive: any crate in the build that enables `traced-chat/otel` (an
//! application depending on `traced-chat` with its default features does) turns the spans on here
//! too.
#![deny(missing_docs)]

use async_openai::error::OpenAIError;
use async_openai::types::chat::{
    ChatCompletionRequestSystemMessage, ChatCompletionRequestUserMessage,
    CreateChatCompletionRequestArgs, CreateChatCompletionResponse,
};

/// The client the library's functions take: re-exported, so applications need not name
/// traced-chat to build one.
pub use traced_chat::TracedClient as Client;

const MODEL: &str = "gpt-4o-mini";

/// Sorts a ticket into `billing`, `bug` or `question` (whatever the model answers, trimmed).
///
/// Traced with the `telemetry` feature: span `chat_lib.classify`, the ticket as
/// `openai.prompt`, the answer as `openai.response`.
#[traced_chat::traced_chat(name = "chat_lib.classify", prompt = ticket)]
pub async fn classify(client: &Client, ticket: &str) -> Result<String, OpenAIError> {
    let response = ask(
        client,
        "Classify the support ticket as billing, bug or question. Answer with one word.",
        ticket,
    )
    .await?;
    Ok(answer(response).trim().to_owned())
}

/// Drafts a reply to a ticket of the given category.
///
/// Traced with the `telemetry` feature: span `chat_lib.draft_reply`.
#[traced_chat::traced_chat(name = "chat_lib.draft_reply", prompt = ticket)]
pub async fn draft_reply(
    client: &Client,
    ticket: &str,
    category: &str,
) -> Result<String, OpenAIError> {
    let instructions =
        format!("You answer {category} tickets for a support desk. Be brief and friendly.");
    let response = ask(client, &instructions, ticket).await?;
    Ok(answer(response))
}

async fn ask(
    client: &Client,
    instructions: &str,
    ticket: &str,
) -> Result<CreateChatCompletionResponse, OpenAIError> {
    let request = CreateChatCompletionRequestArgs::default()
        .model(MODEL)
        .messages([
            ChatCompletionRequestSystemMessage::from(instructions).into(),
            ChatCompletionRequestUserMessage::from(ticket).into(),
        ])
        .build()?;
    client.chat().create(request).await
}

fn answer(response: CreateChatCompletionResponse) -> String {
    response
        .choices
        .into_iter()
        .next()
        .and_then(|choice| choice.message.content)
        .unwrap_or_default()
}
