//! [`TracedChatStream`]: a streamed chat completion that keeps its span open until it ends.

use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use async_openai::error::OpenAIError;
use async_openai::types::chat::{ChatCompletionResponseStream, CreateChatCompletionStreamResponse};
use futures_core::Stream;

use crate::record::{RecordResponse, Recorder};

#[cfg(feature = "otel")]
use {
    crate::{
        attributes as attr,
        chat::{self, ResponseFacts},
        client::Settings,
        content,
        span::OwnedSpan,
    },
    opentelemetry::{Context, KeyValue, trace::TraceContextExt},
    std::sync::{Arc, Mutex},
    std::time::Instant,
};

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
    #[cfg(feature = "otel")]
    state: Option<Box<StreamState>>,
    /// The spans of the `#[traced_chat]` functions that returned this stream, innermost first.
    #[cfg(feature = "otel")]
    fn_spans: Mutex<Vec<Context>>,
}

impl std::fmt::Debug for TracedChatStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TracedChatStream").finish_non_exhaustive()
    }
}

#[cfg(feature = "otel")]
struct StreamState {
    span: OwnedSpan,
    settings: Arc<Settings>,
    started: Instant,
    last_chunk: Option<Instant>,
    metric_attributes: Vec<KeyValue>,
    facts: ResponseFacts,
    max_text: usize,
    /// The first error the stream yielded (async-openai goes on after a chunk that does not
    /// decode): its `error.type` and message.
    error: Option<(std::borrow::Cow<'static, str>, String)>,
}

impl TracedChatStream {
    #[cfg(feature = "otel")]
    pub(crate) fn new(
        inner: ChatCompletionResponseStream,
        span: OwnedSpan,
        settings: Arc<Settings>,
        started: Instant,
        metric_attributes: Vec<KeyValue>,
    ) -> Self {
        TracedChatStream {
            inner,
            state: Some(Box::new(StreamState {
                span,
                settings,
                started,
                last_chunk: None,
                metric_attributes,
                facts: ResponseFacts::default(),
                max_text: content::max_length(),
                error: None,
            })),
            fn_spans: Mutex::new(Vec::new()),
        }
    }

    #[cfg(not(feature = "otel"))]
    pub(crate) fn new(inner: ChatCompletionResponseStream) -> Self {
        TracedChatStream { inner }
    }

    /// Unwraps async-openai's stream; the chat span ends now, marked cancelled if the stream had
    /// not finished.
    pub fn into_inner(mut self) -> ChatCompletionResponseStream {
        let inner = std::mem::replace(&mut self.inner, Box::pin(EmptyStream));
        drop(self);
        inner
    }
}

struct EmptyStream;

impl Stream for EmptyStream {
    type Item = Result<CreateChatCompletionStreamResponse, OpenAIError>;
    fn poll_next(self: Pin<&mut Self>, _: &mut TaskContext<'_>) -> Poll<Option<Self::Item>> {
        Poll::Ready(None)
    }
}

impl Stream for TracedChatStream {
    type Item = Result<CreateChatCompletionStreamResponse, OpenAIError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Option<Self::Item>> {
        let poll = self.inner.as_mut().poll_next(cx);
        #[cfg(feature = "otel")]
        match &poll {
            Poll::Ready(Some(Ok(chunk))) => {
                if let Some(state) = self.state.as_mut() {
                    state.on_chunk(chunk);
                }
            }
            Poll::Ready(Some(Err(error))) => {
                if let Some(state) = self.state.as_mut() {
                    state.on_error(error);
                }
            }
            Poll::Ready(None) => self.finish(),
            Poll::Pending => {}
        }
        poll
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

#[cfg(feature = "otel")]
impl TracedChatStream {
    /// Ends the chat span (and the `#[traced_chat]` spans waiting on this stream).
    fn finish(&mut self) {
        let Some(state) = self.state.take() else {
            return;
        };
        let fn_spans = self.take_fn_spans();
        state.finish(fn_spans);
    }

    /// Takes over the waiting function spans, innermost first.
    fn take_fn_spans(&mut self) -> Vec<OwnedSpan> {
        let spans = self.fn_spans.get_mut().unwrap_or_else(|e| e.into_inner());
        std::mem::take(spans)
            .into_iter()
            .map(OwnedSpan::start)
            .collect()
    }
}

#[cfg(feature = "otel")]
impl Drop for TracedChatStream {
    fn drop(&mut self) {
        // Dropped early: record what arrived, then the spans end marked cancelled, the chat
        // span before the function's span that encloses it.
        if let Some(mut state) = self.state.take() {
            let fn_spans = self.take_fn_spans();
            for fn_span in &fn_spans {
                record_fn_response(&state.facts, fn_span.context());
            }
            chat::record_response(state.span.context(), &state.settings, &state.facts);
            state.settings.record_operation(
                std::mem::take(&mut state.metric_attributes),
                state.facts.model.clone(),
                Some("cancelled"),
                state.started.elapsed(),
                state.facts.usage.as_ref(),
            );
            drop(state);
            drop(fn_spans); // innermost first
        }
    }
}

#[cfg(feature = "otel")]
impl StreamState {
    fn on_chunk(&mut self, chunk: &CreateChatCompletionStreamResponse) {
        let now = Instant::now();
        match self.last_chunk {
            None => {
                let elapsed = now.duration_since(self.started);
                let span = self.span.context().span();
                span.add_event(attr::EVENT_FIRST_CHUNK, Vec::new());
                span.set_attribute(KeyValue::new(
                    attr::GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK,
                    elapsed.as_secs_f64(),
                ));
                if let Some(metrics) = &self.settings.metrics {
                    metrics.record_first_chunk(&self.metric_attributes, elapsed);
                }
            }
            Some(last) => {
                if let Some(metrics) = &self.settings.metrics {
                    metrics.record_next_chunk(&self.metric_attributes, now.duration_since(last));
                }
            }
        }
        self.last_chunk = Some(now);

        let facts = &mut self.facts;
        // Each fact from the first chunk that carries it (some providers open with an empty
        // chunk: no id, no model, `created` 0).
        if facts.id.is_none() && !chunk.id.is_empty() {
            facts.id = Some(Arc::from(chunk.id.as_str()));
        }
        if facts.model.is_none() && !chunk.model.is_empty() {
            facts.model = Some(Arc::from(chunk.model.as_str()));
        }
        if facts.created.is_none() && chunk.created != 0 {
            facts.created = Some(chunk.created);
        }
        if facts.service_tier.is_none() {
            facts.service_tier = chunk.service_tier.as_ref().map(chat::service_tier);
        }
        #[allow(deprecated)]
        if facts.system_fingerprint.is_none() {
            facts.system_fingerprint = chunk.system_fingerprint.clone();
        }
        if let Some(usage) = &chunk.usage {
            facts.usage = Some(usage.clone());
        }
        for choice in &chunk.choices {
            let index = choice.index as usize;
            if index > chat::MAX_INDEX {
                continue;
            }
            if let Some(reason) = &choice.finish_reason {
                if facts.finish_reasons.len() <= index {
                    facts.finish_reasons.resize(index + 1, None);
                }
                facts.finish_reasons[index] = Some(chat::finish_reason(reason));
            }
            // The first choice always; the others only for `gen_ai.output.messages`.
            if index != 0 && !self.settings.capture_content() {
                continue;
            }
            let output = facts.choice_mut(index);
            if let Some(text) = &choice.delta.content {
                output.push_text(text, self.max_text);
            }
            for delta in choice.delta.tool_calls.iter().flatten() {
                output.push_tool_call(delta, self.max_text);
            }
        }
    }

    /// Records the first error the stream yields on the chat span (status ERROR, `error.type`,
    /// exception event); the stream goes on, and the span ends with it.
    fn on_error(&mut self, error: &OpenAIError) {
        if self.error.is_none() {
            chat::record_error(self.span.context(), error);
            self.error = Some((
                crate::error::error_type(error),
                crate::error::error_message(error),
            ));
        }
    }

    fn finish(mut self, fn_spans: Vec<OwnedSpan>) {
        let cx = self.span.context();
        chat::record_response(cx, &self.settings, &self.facts);
        let error = self.error.take();
        let error_type = error.as_ref().map(|(kind, _)| kind.clone());
        self.settings.record_operation(
            std::mem::take(&mut self.metric_attributes),
            self.facts.model.clone(),
            error_type.as_deref(),
            self.started.elapsed(),
            self.facts.usage.as_ref(),
        );
        // The chat span ends first: the function's span encloses it.
        let StreamState { span, facts, .. } = self;
        span.end();
        for fn_span in fn_spans {
            match &error {
                Some((kind, message)) => Recorder::new(fn_span.context()).error(kind, message),
                None => record_fn_response(&facts, fn_span.context()),
            }
            fn_span.end();
        }
    }
}

/// Records a streamed answer as `openai.response` on a `#[traced_chat]` span: its text, or a
/// summary of its tool calls when it had no text at all (as for a whole completion; a text cut
/// to nothing by a tiny content limit is still the text).
#[cfg(feature = "otel")]
fn record_fn_response(facts: &ResponseFacts, cx: &Context) {
    let recorder = Recorder::new(cx);
    let first = facts.first();
    if first.text_len == 0 && !first.tool_calls.is_empty() {
        recorder.response(&facts.tool_call_summary());
    } else {
        // The text was cut as it arrived; record the kept part with the full length.
        recorder.response_with_length(&first.text, first.text_len);
    }
}

impl RecordResponse for TracedChatStream {
    /// Keeps the function's span open until the stream ends, then records the streamed text.
    fn record_response(&self, recorder: &Recorder<'_>) {
        #[cfg(feature = "otel")]
        if self.state.is_some()
            && let Some(cx) = recorder.keep_open()
        {
            self.fn_spans
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(cx);
        }
        #[cfg(not(feature = "otel"))]
        let _ = recorder;
    }
}
