//! A streamed answer: the chat span stays open while the stream is read and records the time to
//! the first chunk, the text, the finish reason and the usage of the final chunk.
//!
//! ```text
//! cargo run --example streaming
//! ```

use std::error::Error;
use std::io::Write as _;

use async_openai::error::OpenAIError;
use async_openai::types::chat::{
    ChatCompletionRequestUserMessage, CreateChatCompletionRequestArgs,
};
use futures_util::StreamExt as _;
use traced_chat::testing::{MockOpenAI, fixtures};
use traced_chat::{TracedChatStream, TracedClient, traced_chat};

/// Returns the stream: the span of this function records `openai.response` when it ends.
#[traced_chat]
async fn tell(client: &TracedClient, prompt: &str) -> Result<TracedChatStream, OpenAIError> {
    let request = CreateChatCompletionRequestArgs::default()
        .model("gpt-4o-mini")
        .messages([ChatCompletionRequestUserMessage::from(prompt).into()])
        .build()?;
    client.chat().create_stream(request).await
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let _telemetry = traced_chat::init::from_env()?;
    let mock;
    let config = if std::env::var_os("OPENAI_API_KEY").is_some() {
        async_openai::config::OpenAIConfig::new()
    } else {
        mock = MockOpenAI::start().await;
        mock.answer_stream(fixtures::CHAT_STREAM_WITH_USAGE).await;
        mock.config()
    };
    // Ask the server for the usage chunk (the request is never changed unless you ask).
    let client = TracedClient::builder()
        .config(config)
        .include_usage(true)
        .build();

    let mut stream = tell(&client, "What is death, in one sentence?").await?;
    while let Some(chunk) = stream.next().await {
        for choice in chunk?.choices {
            eprint!("{}", choice.delta.content.unwrap_or_default());
            std::io::stderr().flush()?;
        }
    }
    eprintln!();
    Ok(())
}
