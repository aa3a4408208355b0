//! Spans owned by values: [`OwnedSpan`] (ends on drop, marked cancelled or panicked), the span
//! of a `#[traced_chat]` function ([`FnSpan`]) and the handle recorders write through
//! ([`SpanRef`]).

use opentelemetry::trace::{SpanBuilder, SpanKind, Status, TraceContextExt as _};
use opentelemetry::{Context, KeyValue};

use crate::attributes as attr;

/// A span owned by a value: dropping it ends the span, with status ERROR if the thread is
/// panicking, otherwise marked [`traced_chat.cancelled`](crate::attributes::TRACED_CHAT_CANCELLED)
/// (the work never finished: a future or stream dropped early). Ending it explicitly first makes
/// the drop a no-op, so a span is never ended twice.
#[derive(Debug)]
pub(crate) struct OwnedSpan {
    cx: Context,
}

impl OwnedSpan {
    /// Takes ownership of the span held by `cx`.
    #[inline]
    pub(crate) fn new(cx: Context) -> Self {
        OwnedSpan { cx }
    }

    /// The context holding the span.
    #[inline]
    pub(crate) fn context(&self) -> &Context {
        &self.cx
    }

    /// Ends the span.
    #[inline]
    pub(crate) fn end(self) {
        self.cx.span().end();
    }

    /// Marks the span as failed by a panic and ends it.
    pub(crate) fn end_panicked(&self) {
        let span = self.cx.span();
        if span.is_recording() {
            span.set_attribute(KeyValue::new(attr::ERROR_TYPE, "panic"));
            span.set_status(Status::error("panicked"));
            span.end();
        }
    }

    /// Marks the span as cancelled (or panicked, while the thread panics) and ends it.
    pub(crate) fn end_unfinished(&self) {
        if std::thread::panicking() {
            self.end_panicked();
            return;
        }
        let span = self.cx.span();
        if span.is_recording() {
            span.set_attribute(KeyValue::new(attr::TRACED_CHAT_CANCELLED, true));
            span.end();
        }
    }
}

impl Drop for OwnedSpan {
    fn drop(&mut self) {
        // A no-op for a span already ended (it no longer records).
        self.end_unfinished();
    }
}

/// The span of one call of a `#[traced_chat]` function.
///
/// It is a child of the OpenTelemetry context current when it starts. Dropping it ends the span:
/// with status ERROR if the thread is panicking, otherwise marked
/// [`traced_chat.cancelled`](crate::attributes::TRACED_CHAT_CANCELLED) if the call never finished
/// (a future dropped before completion).
#[derive(Debug)]
#[must_use = "the span ends when this value is dropped"]
pub struct FnSpan {
    span: OwnedSpan,
}

impl FnSpan {
    /// Starts an INTERNAL span named `name`, child of the current context.
    #[inline]
    pub fn start(name: &'static str) -> FnSpan {
        let parent = super::telemetry::parent_context();
        let builder = SpanBuilder::from_name(name).with_kind(SpanKind::Internal);
        FnSpan {
            span: OwnedSpan::new(super::telemetry::start_span(&parent, builder, None)),
        }
    }

    /// Sets an attribute given with `fields(key = value)`.
    #[inline]
    pub fn set_attribute(&self, key: &'static str, value: impl Into<opentelemetry::Value>) {
        self.span
            .context()
            .span()
            .set_attribute(KeyValue::new(key, value.into()));
    }

    /// The handle that prompt and response recording write through.
    #[inline]
    pub(crate) fn target(&self) -> SpanRef<'_> {
        SpanRef(self.span.context())
    }

    /// The OpenTelemetry context holding this span.
    pub fn context(&self) -> &Context {
        self.span.context()
    }

    /// Makes the span current until the guard is dropped.
    #[inline]
    pub(crate) fn enter(&self) -> opentelemetry::ContextGuard {
        self.span.context().clone().attach()
    }

    /// Ends the span.
    #[inline]
    pub(crate) fn end(self) {
        self.span.end();
    }

    /// Marks the span as failed by a panic and ends it.
    #[inline]
    pub(crate) fn end_panicked(&self) {
        self.span.end_panicked();
    }
}

/// Where a [`Recorder`](crate::Recorder) writes: the span of a context.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SpanRef<'a>(pub(crate) &'a Context);

impl SpanRef<'_> {
    /// Whether anything written will be kept.
    #[inline]
    pub(crate) fn is_recording(&self) -> bool {
        self.0.span().is_recording()
    }

    /// Sets a text attribute and its length attribute in one update.
    pub(crate) fn set_text(
        &self,
        key: &'static str,
        text: Option<String>,
        length: (&'static str, usize),
    ) {
        let length = KeyValue::new(length.0, i64::try_from(length.1).unwrap_or(i64::MAX));
        let span = self.0.span();
        match text {
            Some(text) => span.set_attributes([length, KeyValue::new(key, text)]),
            None => span.set_attribute(length),
        }
    }

    /// Sets an integer attribute.
    pub(crate) fn set_int(&self, key: &'static str, value: usize) {
        self.0
            .span()
            .set_attribute(KeyValue::new(key, i64::try_from(value).unwrap_or(i64::MAX)));
    }

    /// Marks the span failed: status ERROR with `message`, and `error.type`.
    pub(crate) fn fail(&self, error_type: &str, message: &str) {
        let span = self.0.span();
        span.set_attribute(KeyValue::new(attr::ERROR_TYPE, error_type.to_owned()));
        span.set_status(Status::error(message.to_owned()));
    }
}
