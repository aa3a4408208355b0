//! Failures as an operator sees them: a model that does not exist (404, `error.type` =
//! `model_not_found`), and a rate limit that async-openai retries (one `HTTP POST` span per
//! attempt: 429, then 200).
//!
//! ```text
//! cargo run --example errors
//! ```

use std::error::Error;

use async_openai::error::OpenAIError;
use async_openai::types::chat::{
    ChatCompletionRequestUserMessage, CreateChatCompletionRequestArgs, CreateChatCompletionResponse,
};
use traced_chat::testing::{MockOpenAI, fixtures};
use traced_chat::{TracedClient, traced_chat};

#[traced_chat]
async fn ask(
    client: &TracedClient,
    model: &str,
    prompt: &str,
) -> Result<CreateChatCompletionResponse, OpenAIError> {
    let request = CreateChatCompletionRequestArgs::default()
        .model(model)
        .messages([ChatCompletionRequestUserMessage::from(prompt).into()])
        .build()?;
    client.chat().create(request).await
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let _telemetry = traced_chat::init::from_env()?;
    let online = std::env::var_os("OPENAI_API_KEY").is_some();
    let mock = if online {
        None
    } else {
        Some(MockOpenAI::start().await)
    };
    let client = match &mock {
        Some(mock) => mock.client(),
        None => TracedClient::new(),
    };

    // 1. A model that does not exist.
    if let Some(mock) = &mock {
        mock.answer_times(1, 404, fixtures::ERROR_404_MODEL_NOT_FOUND)
            .await;
    }
    match ask(&client, "gpt-9-ultra", "Hello?").await {
        Err(error) => eprintln!("404 as expected: {error}"),
        Ok(_) => eprintln!("unexpected success"),
    }

    // 2. Rate limited once, then answered (offline only: a real server decides for itself).
    if let Some(mock) = &mock {
        mock.answer_times(1, 429, fixtures::ERROR_429_RATE_LIMIT)
            .await;
    }
    let response = ask(&client, "gpt-4o-mini", "What is the meaning of life?").await?;
    eprintln!(
        "after the retry: {}",
        response.choices[0].message.content.as_deref().unwrap_or("")
    );
    Ok(())
}
