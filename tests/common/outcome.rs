//! What a caller got from a chat call, in a form two callers can be compared with: plain
//! async-openai and the traced client fed the same bytes must get equal outcomes. Shared by the
//! fault matrix (`tests/faults.rs`) and the hostile-server suite (`tests/hostile.rs`).

use std::error::Error as _;

use async_openai::error::OpenAIError;
use async_openai::types::chat::{CreateChatCompletionResponse, CreateChatCompletionStreamResponse};
use futures_util::{Stream, StreamExt as _};

/// An error, as comparable as it gets: its `Debug` (variant and every field, sources included),
/// its `Display`, and the `Display` of each source.
#[derive(Debug, PartialEq)]
pub struct Failure {
    pub debug: String,
    pub display: String,
    pub sources: Vec<String>,
}

impl From<&OpenAIError> for Failure {
    fn from(error: &OpenAIError) -> Self {
        let mut sources = Vec::new();
        let mut source = error.source();
        while let Some(s) = source {
            sources.push(s.to_string());
            source = s.source();
        }
        Failure {
            debug: format!("{error:?}"),
            display: error.to_string(),
            sources,
        }
    }
}

/// One item of a stream as the caller got it.
pub type Item = Result<CreateChatCompletionStreamResponse, Failure>;

/// What a call gave: a whole answer, an error, or the items of a stream.
#[derive(Debug, PartialEq)]
pub enum Outcome {
    Answer(Box<CreateChatCompletionResponse>),
    Failed(Failure),
    Streamed(Vec<Item>),
}

impl Outcome {
    /// Whether the call failed, or its stream yielded an error.
    #[allow(dead_code)] // not every suite asks
    pub fn failed(&self) -> bool {
        match self {
            Outcome::Answer(_) => false,
            Outcome::Failed(_) => true,
            Outcome::Streamed(items) => items.iter().any(Result::is_err),
        }
    }
}

impl From<Result<CreateChatCompletionResponse, OpenAIError>> for Outcome {
    fn from(result: Result<CreateChatCompletionResponse, OpenAIError>) -> Self {
        match result {
            Ok(answer) => Outcome::Answer(Box::new(answer)),
            Err(error) => Outcome::Failed(Failure::from(&error)),
        }
    }
}

/// Reads a stream to its end, or its first `limit` items.
pub async fn read_stream<S>(result: Result<S, OpenAIError>, limit: Option<usize>) -> Outcome
where
    S: Stream<Item = Result<CreateChatCompletionStreamResponse, OpenAIError>> + Unpin,
{
    match result {
        Err(error) => Outcome::Failed(Failure::from(&error)),
        Ok(mut stream) => {
            let mut items = Vec::new();
            while limit.is_none_or(|limit| items.len() < limit) {
                let Some(item) = stream.next().await else {
                    break;
                };
                items.push(item.map_err(|e| Failure::from(&e)));
            }
            Outcome::Streamed(items)
        }
    }
}
