//! The span a `#[traced_chat]` function runs in, and the helpers the generated code calls.
//!
//! Everything here is reached by generated code through `traced_chat::__private`; nothing in
//! this module is meant to be called by hand.

use core::fmt::Display;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context as TaskContext, Poll};

use crate::record::{RecordPrompt, RecordResponse, Recorder};

#[cfg(feature = "otel")]
use opentelemetry::{
    Context, KeyValue,
    trace::{SpanKind, Status, TraceContextExt, Tracer as _},
};

/// A span owned by a value: dropping it ends the span, with status ERROR if the thread is
/// panicking, otherwise marked [`traced_chat.cancelled`](crate::attributes::TRACED_CHAT_CANCELLED)
/// (the call never finished: a future or stream dropped early). Ending it explicitly first makes
/// the drop a no-op, so a span is never ended twice.
#[cfg(feature = "otel")]
#[derive(Debug)]
pub(crate) struct OwnedSpan {
    cx: Context,
}

#[cfg(feature = "otel")]
impl OwnedSpan {
    /// Takes ownership of the span held by `cx`.
    #[inline]
    pub(crate) fn start(cx: Context) -> Self {
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

    /// Gives up ownership without ending the span (another owner took its context over).
    #[inline]
    pub(crate) fn disarm(mut self) {
        self.cx = Context::new();
    }

    /// Marks the span as failed by a panic and ends it.
    pub(crate) fn end_panicked(&self) {
        let span = self.cx.span();
        if span.is_recording() {
            span.set_attribute(KeyValue::new(crate::attributes::ERROR_TYPE, "panic"));
            span.set_status(Status::error("panicked"));
            span.end();
        }
    }
}

#[cfg(feature = "otel")]
impl Drop for OwnedSpan {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.end_panicked();
            return;
        }
        let span = self.cx.span();
        if span.is_recording() {
            span.set_attribute(KeyValue::new(
                crate::attributes::TRACED_CHAT_CANCELLED,
                true,
            ));
            span.end();
        }
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
    #[cfg(feature = "otel")]
    span: OwnedSpan,
}

impl FnSpan {
    /// Starts an INTERNAL span named `name`, child of the current context.
    #[inline]
    pub fn start(name: &'static str) -> FnSpan {
        #[cfg(feature = "otel")]
        {
            let parent = crate::telemetry::parent_context();
            let tracer = crate::telemetry::tracer();
            let span = tracer.build_with_context(
                opentelemetry::trace::SpanBuilder::from_name(name).with_kind(SpanKind::Internal),
                &parent,
            );
            FnSpan {
                span: OwnedSpan::start(parent.with_span(span)),
            }
        }
        #[cfg(not(feature = "otel"))]
        {
            let _ = name;
            FnSpan {}
        }
    }

    /// Sets an attribute given with `fields(key = value)`.
    #[cfg(feature = "otel")]
    #[inline]
    pub fn set_attribute(&self, key: &'static str, value: impl Into<opentelemetry::Value>) {
        self.span
            .context()
            .span()
            .set_attribute(KeyValue::new(key, value.into()));
    }

    /// Without the `otel` feature: accepts the value and records nothing (so code expanded with
    /// the attribute on still compiles against a runtime with instrumentation off).
    #[cfg(not(feature = "otel"))]
    #[inline]
    pub fn set_attribute<V>(&self, key: &'static str, value: V) {
        let _ = (key, value);
    }

    /// The recorder that prompt and response recording write through.
    #[inline]
    pub fn recorder(&self) -> Recorder<'_> {
        #[cfg(feature = "otel")]
        {
            Recorder::new(self.span.context())
        }
        #[cfg(not(feature = "otel"))]
        {
            Recorder::new()
        }
    }

    /// The OpenTelemetry context holding this span.
    #[cfg(feature = "otel")]
    pub fn context(&self) -> &Context {
        self.span.context()
    }

    /// Records `value` as the response and ends the span, unless the value took the span over
    /// (a stream, which ends it when it finishes).
    fn finish<R: RecordResponse + ?Sized>(self, value: &R) {
        #[cfg(feature = "otel")]
        {
            let keep_open = core::cell::Cell::new(false);
            value.record_response(&Recorder::with_keep_open(self.span.context(), &keep_open));
            if keep_open.get() {
                self.span.disarm();
            } else {
                self.span.end();
            }
        }
        #[cfg(not(feature = "otel"))]
        {
            let _ = value;
        }
    }

    /// Ends the span without recording anything.
    #[inline]
    fn end(self) {
        #[cfg(feature = "otel")]
        self.span.end();
    }

    fn end_panicked(&self) {
        #[cfg(feature = "otel")]
        self.span.end_panicked();
    }
}

/// Runs a sync body inside `span`, records what it returns and ends the span.
#[inline]
pub fn run<R: RecordResponse, F: FnOnce() -> R>(span: FnSpan, f: F) -> R {
    let out = in_context(&span, f);
    span.finish(&out);
    out
}

/// Runs a sync body inside `span` and ends the span, recording nothing (`skip(response)`).
#[inline]
pub fn run_unrecorded<R, F: FnOnce() -> R>(span: FnSpan, f: F) -> R {
    let out = in_context(&span, f);
    span.end();
    out
}

#[inline]
fn in_context<R>(span: &FnSpan, f: impl FnOnce() -> R) -> R {
    #[cfg(feature = "otel")]
    let _guard = span.context().clone().attach();
    #[cfg(not(feature = "otel"))]
    let _ = span;
    f()
}

/// Wraps an async body: the span is current at every poll, the output is recorded when the
/// future completes, and the span ends then or when the future is dropped.
#[inline]
pub fn instrument<F: Future>(span: FnSpan, fut: F) -> Instrumented<F>
where
    F::Output: RecordResponse,
{
    Instrumented {
        fut,
        span: Some(span),
        record: Some(FnSpan::finish::<F::Output>),
    }
}

/// As [`instrument`], recording nothing about the output (`skip(response)`).
#[inline]
pub fn instrument_unrecorded<F: Future>(span: FnSpan, fut: F) -> Instrumented<F> {
    Instrumented {
        fut,
        span: Some(span),
        record: None,
    }
}

pin_project_lite::pin_project! {
    /// A future running inside a [`FnSpan`]; see [`instrument`].
    pub struct Instrumented<F: Future> {
        // Declared first: dropped before the span, so child spans end before their parent.
        #[pin]
        fut: F,
        span: Option<FnSpan>,
        record: Option<fn(FnSpan, &F::Output)>,
    }
}

impl<F: Future> core::fmt::Debug for Instrumented<F> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Instrumented")
            .field("span", &self.span)
            .finish_non_exhaustive()
    }
}

/// Ends the span with ERROR if a poll panics (an executor may catch the panic and drop the
/// future later, when the thread is no longer panicking).
struct PanicMark<'a>(&'a FnSpan);

impl Drop for PanicMark<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.end_panicked();
        }
    }
}

impl<F: Future> Future for Instrumented<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<F::Output> {
        let this = self.project();
        let Some(span) = this.span.as_ref() else {
            panic!("`Instrumented` polled after completion");
        };
        let poll = {
            #[cfg(feature = "otel")]
            let _guard = span.context().clone().attach();
            let mark = PanicMark(span);
            let poll = this.fut.poll(cx);
            core::mem::forget(mark);
            poll
        };
        if let Poll::Ready(out) = &poll
            && let Some(span) = this.span.take()
        {
            match this.record {
                Some(finish) => finish(span, out),
                None => span.end(),
            }
        }
        poll
    }
}

/// Wraps a reference to the prompt argument for autoref dispatch: types that implement
/// [`RecordPrompt`] are recorded through it, other [`Display`] types through `to_string`, and
/// any other type reaches [`UnrecordablePromptKind`], whose `RecordPrompt` bound reports
/// `RecordPrompt`'s own message.
#[derive(Debug)]
pub struct Prompt<'a, T: ?Sized>(pub &'a T);

impl<T: ?Sized> Clone for Prompt<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T: ?Sized> Copy for Prompt<'_, T> {}

/// Last choice of the prompt dispatch: found for every type, so that a type that is neither
/// [`RecordPrompt`] nor [`Display`] fails on the `T: RecordPrompt` bound with its
/// `on_unimplemented` message instead of "method not found".
pub trait UnrecordablePromptKind<T: ?Sized> {
    /// Records the prompt on `span`.
    fn __traced_chat_record_prompt(self, span: &FnSpan)
    where
        T: RecordPrompt;
}

impl<T: ?Sized> UnrecordablePromptKind<T> for Prompt<'_, T> {
    #[inline]
    fn __traced_chat_record_prompt(self, span: &FnSpan)
    where
        T: RecordPrompt,
    {
        self.0.record_prompt(&span.recorder());
    }
}

/// First choice of the prompt dispatch: a [`RecordPrompt`] type.
pub trait RecordPromptKind {
    /// Records the prompt on `span`.
    fn __traced_chat_record_prompt(&self, span: &FnSpan);
}

impl<T: RecordPrompt + ?Sized> RecordPromptKind for &Prompt<'_, T> {
    #[inline]
    fn __traced_chat_record_prompt(&self, span: &FnSpan) {
        self.0.record_prompt(&span.recorder());
    }
}

/// Second choice of the prompt dispatch: any [`Display`] type.
pub trait DisplayPromptKind {
    /// Records the prompt on `span`.
    fn __traced_chat_record_prompt(&self, span: &FnSpan);
}

impl<T: Display + ?Sized> DisplayPromptKind for Prompt<'_, T> {
    #[inline]
    fn __traced_chat_record_prompt(&self, span: &FnSpan) {
        let recorder = span.recorder();
        if recorder.is_recording() {
            // Format into a buffer that keeps at most the content limit but counts every byte:
            // memory stays bounded however long the text is.
            let mut out = Bounded {
                kept: String::new(),
                max: if crate::content::enabled() {
                    crate::content::max_length()
                } else {
                    0
                },
                full: false,
                length: 0,
            };
            let _ = core::fmt::write(&mut out, format_args!("{}", self.0));
            recorder.prompt_with_length(&out.kept, out.length);
        }
    }
}

/// A `fmt::Write` that keeps the first `max` bytes (on a character boundary) and counts all.
struct Bounded {
    kept: String,
    max: usize,
    full: bool,
    length: usize,
}

impl core::fmt::Write for Bounded {
    fn write_str(&mut self, piece: &str) -> core::fmt::Result {
        self.length += piece.len();
        if !self.full {
            let room = self.max.saturating_sub(self.kept.len());
            let kept = crate::content::truncate(piece, room);
            self.kept.push_str(kept);
            self.full = kept.len() < piece.len();
        }
        Ok(())
    }
}
