//! A small retrieval, all in one trace: embed three documents, embed a question, pick the
//! nearest document, and ask chat with it. Each embeddings call gets an `openai.Embedding.create`
//! span (the vectors are never recorded: their count and dimension are), the chat call its
//! `openai.ChatCompletion.create` span, all under the `answer` function's span.
//!
//! ```text
//! cargo run --example embeddings
//! ```

use std::error::Error;

use async_openai::error::OpenAIError;
use async_openai::types::chat::{
    ChatCompletionRequestSystemMessage, ChatCompletionRequestUserMessage,
    CreateChatCompletionRequestArgs,
};
use async_openai::types::embeddings::CreateEmbeddingRequestArgs;
use traced_chat::testing::MockOpenAI;
use traced_chat::{TracedClient, traced_chat};

const DOCUMENTS: [&str; 3] = [
    "The kitchen closes at ten; the terrace stays open until midnight.",
    "Every dish can be made without gluten on request.",
    "The restaurant was founded in 1987 by two sisters from Lyon.",
];

/// One text's vector.
#[traced_chat(prompt = text, skip(response))]
async fn embed(client: &TracedClient, text: &str) -> Result<Vec<f32>, OpenAIError> {
    let request = CreateEmbeddingRequestArgs::default()
        .model("text-embedding-3-small")
        .input(text)
        .build()?;
    let response = client.embeddings().create(request).await?;
    Ok(response
        .data
        .into_iter()
        .next()
        .map(|e| e.embedding)
        .unwrap_or_default())
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let norm = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
    dot / (norm(a) * norm(b)).max(f32::MIN_POSITIVE)
}

/// The question answered from the nearest document.
#[traced_chat]
async fn answer(client: &TracedClient, prompt: &str) -> Result<String, OpenAIError> {
    let mut nearest = (f32::MIN, DOCUMENTS[0]);
    let question = embed(client, prompt).await?;
    for document in DOCUMENTS {
        let score = cosine(&embed(client, document).await?, &question);
        if score > nearest.0 {
            nearest = (score, document);
        }
    }
    let request = CreateChatCompletionRequestArgs::default()
        .model("gpt-4o-mini")
        .messages([
            ChatCompletionRequestSystemMessage::from(format!("Answer from: {}", nearest.1)).into(),
            ChatCompletionRequestUserMessage::from(prompt).into(),
        ])
        .build()?;
    let response = client.chat().create(request).await?;
    let text = response
        .choices
        .into_iter()
        .next()
        .and_then(|c| c.message.content);
    Ok(text.unwrap_or_default())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let _telemetry = traced_chat::init::from_env()?;
    let mock;
    let client = if std::env::var_os("OPENAI_API_KEY").is_some() {
        TracedClient::new()
    } else {
        // The mock answers every embeddings request with the same recorded vector, and every
        // chat request with the same answer: the trace, not the retrieval, is the point here.
        mock = MockOpenAI::start().await;
        mock.client()
    };
    let text = answer(&client, "Until when can I eat on the terrace?").await?;
    eprintln!("{text}");
    Ok(())
}
