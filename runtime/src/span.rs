//! The span a `#[traced_chat]` function runs in, and the helpers the generated code calls.
//!
//! Everything here is reached by generated code through `traced_chat::__private`; nothing in
//! this module is meant to be called by hand.

use core::fmt::Display;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context as TaskContext, Poll};

use crate::record::{RecordPrompt, RecordResponse, Recorder};

pub use crate::backend::{DeferredSpan, FnSpan};

/// Records `value` as the response of `span` and ends it, unless the value takes the span over
/// (a stream, which ends it when it finishes).
#[inline]
fn finish<R: RecordResponse + ?Sized>(span: FnSpan, value: &mut R) {
    if let Some(span) = value.__traced_chat_adopt(span) {
        value.record_response(&Recorder::new(span.target()));
        span.end();
    }
}

/// Runs a sync body inside `span`, records what it returns and ends the span.
#[inline]
pub fn run<R: RecordResponse, F: FnOnce() -> R>(span: FnSpan, f: F) -> R {
    let mut out = in_context(&span, f);
    finish(span, &mut out);
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
    let _guard = span.enter();
    f()
}

/// Wraps an async body: the span is current at every poll, the output is recorded when the
/// future completes, and the span ends then or when the future is dropped.
#[inline]
pub fn instrument<F: Future>(span: FnSpan, fut: F) -> Instrumented<F>
where
    F::Output: RecordResponse,
{
    Instrumented::new(SpanState::Started(span), fut, Some(finish::<F::Output>))
}

/// As [`instrument`], recording nothing about the output (`skip(response)`).
#[inline]
pub fn instrument_unrecorded<F: Future>(span: FnSpan, fut: F) -> Instrumented<F> {
    Instrumented::new(SpanState::Started(span), fut, None)
}

/// As [`instrument`], for a future a function returns: the span starts at the future's first
/// poll, child of the context current then (see [`DeferredSpan`]).
#[inline]
pub fn instrument_deferred<F: Future>(span: DeferredSpan, fut: F) -> Instrumented<F>
where
    F::Output: RecordResponse,
{
    Instrumented::new(SpanState::Pending(span), fut, Some(finish::<F::Output>))
}

/// As [`instrument_deferred`], recording nothing about the output (`skip(response)`).
#[inline]
pub fn instrument_deferred_unrecorded<F: Future>(span: DeferredSpan, fut: F) -> Instrumented<F> {
    Instrumented::new(SpanState::Pending(span), fut, None)
}

/// The span of an [`Instrumented`] future through its life.
#[derive(Debug)]
enum SpanState {
    /// Not started yet: starts at the first poll.
    Pending(DeferredSpan),
    Started(FnSpan),
    /// Ended: the future completed.
    Done,
}

impl SpanState {
    /// The started span, starting it now if it was pending.
    #[inline]
    fn started(&mut self) -> Option<&FnSpan> {
        if matches!(self, SpanState::Pending(_))
            && let SpanState::Pending(pending) = core::mem::replace(self, SpanState::Done)
        {
            *self = SpanState::Started(pending.start());
        }
        match self {
            SpanState::Started(span) => Some(span),
            _ => None,
        }
    }

    fn take(&mut self) -> Option<FnSpan> {
        match core::mem::replace(self, SpanState::Done) {
            SpanState::Started(span) => Some(span),
            _ => None,
        }
    }
}

pin_project_lite::pin_project! {
    /// A future running inside a [`FnSpan`]; see [`instrument`].
    pub struct Instrumented<F: Future> {
        // Declared first: dropped before the span, so child spans end before their parent.
        #[pin]
        fut: F,
        span: SpanState,
        record: Option<fn(FnSpan, &mut F::Output)>,
    }
}

impl<F: Future> Instrumented<F> {
    #[inline]
    fn new(span: SpanState, fut: F, record: Option<fn(FnSpan, &mut F::Output)>) -> Self {
        Instrumented { fut, span, record }
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
struct PanicMark<'a>(Option<&'a FnSpan>);

impl<'a> PanicMark<'a> {
    fn new(span: &'a FnSpan) -> Self {
        PanicMark(Some(span))
    }

    /// The poll returned: nothing to mark.
    #[inline]
    fn disarm(mut self) {
        self.0 = None;
    }
}

impl Drop for PanicMark<'_> {
    fn drop(&mut self) {
        if let Some(span) = self.0
            && std::thread::panicking()
        {
            span.end_panicked();
        }
    }
}

impl<F: Future> Future for Instrumented<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<F::Output> {
        let this = self.project();
        let Some(span) = this.span.started() else {
            panic!("`Instrumented` polled after completion");
        };
        let mut poll = {
            let _guard = span.enter();
            let mark = PanicMark::new(span);
            let poll = this.fut.poll(cx);
            mark.disarm();
            poll
        };
        if let Poll::Ready(out) = &mut poll
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

/// What a prompt is recorded on: a function's span, started ([`FnSpan`]) or starting at its
/// future's first poll ([`DeferredSpan`]).
pub trait PromptTarget {
    /// The recorder writing to this span.
    fn recorder(&self) -> Recorder<'_>;
}

impl PromptTarget for FnSpan {
    #[inline]
    fn recorder(&self) -> Recorder<'_> {
        Recorder::new(self.target())
    }
}

impl PromptTarget for DeferredSpan {
    #[inline]
    fn recorder(&self) -> Recorder<'_> {
        Recorder::new(self.target())
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
    fn __traced_chat_record_prompt<S: PromptTarget>(self, span: &S)
    where
        T: RecordPrompt;
}

impl<T: ?Sized> UnrecordablePromptKind<T> for Prompt<'_, T> {
    #[inline]
    fn __traced_chat_record_prompt<S: PromptTarget>(self, span: &S)
    where
        T: RecordPrompt,
    {
        self.0.record_prompt(&span.recorder());
    }
}

/// First choice of the prompt dispatch: a [`RecordPrompt`] type.
pub trait RecordPromptKind {
    /// Records the prompt on `span`.
    fn __traced_chat_record_prompt<S: PromptTarget>(&self, span: &S);
}

impl<T: RecordPrompt + ?Sized> RecordPromptKind for &Prompt<'_, T> {
    #[inline]
    fn __traced_chat_record_prompt<S: PromptTarget>(&self, span: &S) {
        self.0.record_prompt(&span.recorder());
    }
}

/// Second choice of the prompt dispatch: any [`Display`] type.
pub trait DisplayPromptKind {
    /// Records the prompt on `span`.
    fn __traced_chat_record_prompt<S: PromptTarget>(&self, span: &S);
}

impl<T: Display + ?Sized> DisplayPromptKind for Prompt<'_, T> {
    #[inline]
    fn __traced_chat_record_prompt<S: PromptTarget>(&self, span: &S) {
        let recorder = span.recorder();
        if recorder.is_recording() {
            // Formatted into a text that keeps at most the content limit but counts every byte:
            // memory stays bounded however long the text is.
            let max = if crate::content::enabled() {
                crate::content::max_length()
            } else {
                0
            };
            let text = crate::text::format_bounded(self.0, max, false);
            recorder.prompt_with_length(text.as_str(), text.len());
        }
    }
}
