//! [`StreamCall`]: the [`Call`] behind a traced stream, fed with every item the stream yields.

use std::task::Poll;

use async_openai::error::OpenAIError;

use super::call::{Call, Operation};
use super::span::FnSpan;

/// The call of a streamed answer, until the stream ends (then the call has ended too).
#[derive(Debug)]
pub(crate) struct StreamCall<O: Operation>(Option<Call<O>>);

impl<O: Operation> StreamCall<O> {
    /// The stream of `call`.
    pub(crate) fn new(call: Call<O>) -> Self {
        StreamCall(Some(call))
    }

    /// Records what one poll of the stream gave: a chunk, an error, or the end.
    #[inline]
    pub(crate) fn on_poll(&mut self, poll: &Poll<Option<Result<O::Chunk, OpenAIError>>>) {
        let Poll::Ready(item) = poll else {
            return;
        };
        match (item, self.0.as_mut()) {
            (Some(Ok(chunk)), Some(call)) => call.observe(chunk),
            (Some(Err(error)), Some(call)) => call.observe_error(error),
            (None, _) => {
                if let Some(call) = self.0.take() {
                    call.end_stream();
                }
            }
            (Some(_), None) => {}
        }
    }

    /// Keeps `span` open until the stream ends; gives it back when the stream has already ended.
    pub(crate) fn adopt(&mut self, span: FnSpan) -> Option<FnSpan> {
        match self.0.as_mut() {
            Some(call) => {
                call.adopt(span);
                None
            }
            None => Some(span),
        }
    }
}
