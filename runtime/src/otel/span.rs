//! Spans owned by values: [`OwnedSpan`] (ends on drop, marked cancelled or panicked), the span
//! of a `#[traced_chat]` function ([`FnSpan`]) and the handle recorders write through
//! ([`SpanRef`]).

use std::cell::RefCell;

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

    /// A span that starts later, at the first poll of the future it is given to (see
    /// [`DeferredSpan`]).
    #[inline]
    pub fn deferred(name: &'static str) -> DeferredSpan {
        DeferredSpan {
            name,
            attributes: RefCell::new(Vec::new()),
            status: RefCell::new(Status::Unset),
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
        SpanRef::Live(self.span.context())
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

/// The span of a `#[traced_chat]` function returning a future, before the future's first poll:
/// what is recorded at the call (its fields, its prompt) is kept here, and the span starts at
/// the first poll, child of the context current then, as an `async fn`'s span does. A future
/// dropped before its first poll makes no span.
#[derive(Debug)]
#[must_use = "the span starts when the future it is given to is first polled"]
pub struct DeferredSpan {
    name: &'static str,
    attributes: RefCell<Vec<KeyValue>>,
    status: RefCell<Status>,
}

impl DeferredSpan {
    /// Sets an attribute given with `fields(key = value)`.
    #[inline]
    pub fn set_attribute(&self, key: &'static str, value: impl Into<opentelemetry::Value>) {
        self.push(KeyValue::new(key, value.into()));
    }

    fn push(&self, attribute: KeyValue) {
        self.attributes.borrow_mut().push(attribute);
    }

    /// The handle that prompt recording writes through.
    #[inline]
    pub(crate) fn target(&self) -> SpanRef<'_> {
        SpanRef::Pending(self)
    }

    /// Starts the span now, child of the current context, with what was recorded.
    pub(crate) fn start(self) -> FnSpan {
        let parent = super::telemetry::parent_context();
        let builder = SpanBuilder::from_name(self.name)
            .with_kind(SpanKind::Internal)
            .with_attributes(self.attributes.into_inner());
        let cx = super::telemetry::start_span(&parent, builder, None);
        let status = self.status.into_inner();
        if status != Status::Unset {
            cx.span().set_status(status);
        }
        FnSpan {
            span: OwnedSpan::new(cx),
        }
    }
}

/// Where a [`Recorder`](crate::Recorder) writes: the span of a context, or a span that has not
/// started yet.
#[derive(Debug, Clone, Copy)]
pub(crate) enum SpanRef<'a> {
    Live(&'a Context),
    Pending(&'a DeferredSpan),
}

impl SpanRef<'_> {
    /// Whether anything written will be kept (a span not started yet keeps everything).
    #[inline]
    pub(crate) fn is_recording(&self) -> bool {
        match self {
            SpanRef::Live(cx) => cx.span().is_recording(),
            SpanRef::Pending(_) => true,
        }
    }

    fn set(&self, attributes: impl IntoIterator<Item = KeyValue>) {
        match self {
            SpanRef::Live(cx) => cx.span().set_attributes(attributes),
            SpanRef::Pending(span) => attributes.into_iter().for_each(|a| span.push(a)),
        }
    }

    /// Sets a text attribute and its length attribute in one update.
    pub(crate) fn set_text(
        &self,
        key: &'static str,
        text: Option<String>,
        length: (&'static str, usize),
    ) {
        let length = KeyValue::new(length.0, i64::try_from(length.1).unwrap_or(i64::MAX));
        match text {
            Some(text) => self.set([length, KeyValue::new(key, text)]),
            None => self.set([length]),
        }
    }

    /// Sets an integer attribute.
    pub(crate) fn set_int(&self, key: &'static str, value: usize) {
        self.set([KeyValue::new(key, i64::try_from(value).unwrap_or(i64::MAX))]);
    }

    /// Marks the span failed: status ERROR with `message`, and `error.type`.
    pub(crate) fn fail(&self, error_type: &str, message: &str) {
        self.set([KeyValue::new(attr::ERROR_TYPE, error_type.to_owned())]);
        let status = Status::error(message.to_owned());
        match self {
            SpanRef::Live(cx) => cx.span().set_status(status),
            SpanRef::Pending(span) => *span.status.borrow_mut() = status,
        }
    }
}
