// A function returning an embeddings answer records a summary (count and dimension), never the
// vectors; a whole embeddings request can be the prompt.
use async_openai::error::OpenAIError;
use async_openai::types::embeddings::{
    CreateBase64EmbeddingResponse, CreateEmbeddingRequest, CreateEmbeddingResponse,
};
use traced_chat::{TracedClient, traced_chat};

#[traced_chat(prompt = request)]
async fn embed(
    client: &TracedClient,
    request: CreateEmbeddingRequest,
) -> Result<CreateEmbeddingResponse, OpenAIError> {
    client.embeddings().create(request).await
}

#[traced_chat(skip(prompt))]
async fn embed_base64(
    client: &TracedClient,
    request: CreateEmbeddingRequest,
) -> Result<CreateBase64EmbeddingResponse, OpenAIError> {
    client.embeddings().create_base64(request).await
}

#[traced_chat]
fn cached(prompt: &str, hit: &CreateEmbeddingResponse) -> CreateEmbeddingResponse {
    let _ = prompt;
    hit.clone()
}

fn main() {
    let _ = (embed, embed_base64, cached);
}
