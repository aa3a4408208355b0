//! The quickstart: a `main` span and two calls of an annotated prompt function.
//!
//! Prints the trace (every span as JSON) on stdout and the two answers on stderr. Offline it talks
//! to an embedded mock OpenAI server; with `OPENAI_API_KEY` set it talks to `OPENAI_BASE_URL`
//! (default the real API).
//!
//! ```text
//! cargo run --example quickstart
//! ```

use std::error::Error;

use async_openai::error::OpenAIError;
use async_openai::types::chat::{
    ChatCompletionRequestSystemMessage, ChatCompletionRequestUserMessage,
    CreateChatCompletionRequestArgs, CreateChatCompletionResponse,
};
use traced_chat::testing::{MockOpenAI, fixtures};
use traced_chat::{TracedClient, traced_chat};

/// One question to the model, in its own span holding its prompt and its answer.
#[traced_chat]
async fn call(
    client: &TracedClient,
    prompt: &str,
) -> Result<CreateChatCompletionResponse, OpenAIError> {
    let request = CreateChatCompletionRequestArgs::default()
        .model("gpt-3.5-turbo")
        .messages([
            ChatCompletionRequestSystemMessage::from("You are a helpful assistant.").into(),
            ChatCompletionRequestUserMessage::from(prompt).into(),
        ])
        .max_completion_tokens(500u32)
        .temperature(0.5)
        .build()?;
    client.chat().create(request).await
}

/// The `main` span around both calls.
#[traced_chat(name = "main", skip(prompt))]
async fn ask_both(client: &TracedClient) -> Result<(), OpenAIError> {
    for prompt in [
        "What is the meaning of life in a short sentence?",
        "What is the meaning of death in a long paragraph?",
    ] {
        let response = call(client, prompt).await?;
        let answer = response.choices[0].message.content.as_deref().unwrap_or("");
        eprintln!("{prompt}\n  -> {answer}\n");
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let _telemetry = traced_chat::init::from_env()?;

    // Offline unless a real key is given.
    let mock;
    let client = if std::env::var_os("OPENAI_API_KEY").is_some() {
        TracedClient::new()
    } else {
        mock = MockOpenAI::start().await;
        // The second question gets a long answer.
        mock.answer_when("meaning of death", 200, fixtures::CHAT_COMPLETION_LONG)
            .await;
        eprintln!(
            "OPENAI_API_KEY is not set: using the embedded mock server at {}\n",
            mock.base_url()
        );
        mock.client()
    };

    ask_both(&client).await?;
    Ok(())
}
