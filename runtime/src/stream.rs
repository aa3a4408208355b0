//! [`TracedChatStream`]: a streamed chat completion that keeps its span open until it ends.

use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use async_openai::error::OpenAIError;
use async_openai::types::chat::{ChatCompletionResponseStream, CreateChatCompletionStreamResponse};
use futures_core::Stream;

use crate::backend::{ChatStreamCall, FnSpan};
use crate::record::{RecordResponse, Recorder};

/// The stream [`TracedChat::create_stream`](crate::TracedChat::create_stream) returns: yields
/// exactly the items of async-openai's stream, and records on the chat span as they pass: the
/// time to the first chunk (an event and `gen_ai.response.time_to_first_chunk`), the text (within
/// the content limit), finish reasons, tool calls, response id and model, and the usage of the
/// final chunk. The span ends when the stream ends or fails, or, marked cancelled, when the
/// stream is dropped early; never twice.
///
/// A `#[traced_chat]` function that returns it records `openai.response` when the stream ends:
/// the function's span stays open until then (so do the spans of functions that return it in
/// turn; they end innermost first).
pub struct TracedChatStream {
    inner: ChatCompletionResponseStream,
    call: ChatStreamCall,
}

impl std::fmt::Debug for TracedChatStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TracedChatStream").finish_non_exhaustive()
    }
}

impl TracedChatStream {
    pub(crate) fn new(inner: ChatCompletionResponseStream, call: ChatStreamCall) -> Self {
        TracedChatStream { inner, call }
    }

    /// Unwraps async-openai's stream; the chat span ends now, marked cancelled if the stream had
    /// not finished.
    pub fn into_inner(self) -> ChatCompletionResponseStream {
        self.inner
    }
}

impl Stream for TracedChatStream {
    type Item = Result<CreateChatCompletionStreamResponse, OpenAIError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Option<Self::Item>> {
        let poll = self.inner.as_mut().poll_next(cx);
        self.call.on_poll(&poll);
        poll
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

impl RecordResponse for TracedChatStream {
    /// Nothing to record now: the stream records its answer when it ends.
    fn record_response(&self, _: &Recorder<'_>) {}

    /// Keeps the function's span open until the stream ends, then records the streamed text.
    fn __traced_chat_adopt(&mut self, span: FnSpan) -> Option<FnSpan> {
        self.call.adopt(span)
    }
}
