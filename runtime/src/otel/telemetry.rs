//! Where spans and instruments come from: the instrumentation scope, the tracer (injected into a
//! client, carried in the context, or the global one), and the parent of a new span.

use std::sync::{Arc, LazyLock};

use opentelemetry::global::{self, BoxedTracer};
use opentelemetry::metrics::{Meter, MeterProvider};
use opentelemetry::trace::{SpanBuilder, TraceContextExt as _, Tracer as _, TracerProvider};
use opentelemetry::{Context, InstrumentationScope};

/// Name of the instrumentation scope of every span and metric this crate makes.
pub const INSTRUMENTATION_NAME: &str = "traced-chat";

static SCOPE: LazyLock<InstrumentationScope> = LazyLock::new(|| {
    InstrumentationScope::builder(INSTRUMENTATION_NAME)
        .with_version(env!("CARGO_PKG_VERSION"))
        .build()
});

/// The instrumentation scope of this crate's spans and metrics.
pub(crate) fn scope() -> InstrumentationScope {
    SCOPE.clone()
}

/// A tracer taken from a provider given to a client builder or to a test capture, instead of the
/// global one. Carried in the [`Context`] of the spans it starts, so that the spans beneath them
/// (a client's `HTTP POST` spans, the spans of `#[traced_chat]` functions called inside a test
/// capture) come from the same provider.
#[derive(Clone)]
pub(crate) struct InjectedTracer(Arc<BoxedTracer>);

impl std::fmt::Debug for InjectedTracer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("InjectedTracer")
    }
}

impl InjectedTracer {
    /// This crate's tracer from `provider`.
    #[cfg(any(test, feature = "testing"))]
    pub(crate) fn new<P>(provider: &P) -> Self
    where
        P: TracerProvider,
        P::Tracer: Send + Sync + 'static,
        <P::Tracer as opentelemetry::trace::Tracer>::Span: Send + Sync + 'static,
    {
        InjectedTracer(boxed_tracer(provider))
    }

    /// A tracer made by [`boxed_tracer`].
    pub(crate) fn from_boxed(tracer: Arc<BoxedTracer>) -> Self {
        InjectedTracer(tracer)
    }

    /// `cx` carrying this tracer, for the spans started beneath it.
    pub(crate) fn carried_by(&self, cx: &Context) -> Context {
        cx.with_value(self.clone())
    }
}

/// This crate's tracer from `provider`, type-erased.
pub(crate) fn boxed_tracer<P>(provider: &P) -> Arc<BoxedTracer>
where
    P: TracerProvider,
    P::Tracer: Send + Sync + 'static,
    <P::Tracer as opentelemetry::trace::Tracer>::Span: Send + Sync + 'static,
{
    Arc::new(BoxedTracer::new(Box::new(
        provider.tracer_with_scope(scope()),
    )))
}

/// This crate's meter from `provider`.
pub(crate) fn meter<P: MeterProvider + ?Sized>(provider: &P) -> Meter {
    provider.meter_with_scope(scope())
}

/// The meter of the global meter provider as it is now.
pub(crate) fn global_meter() -> Meter {
    global::meter_with_scope(scope())
}

/// Starts a span child of `parent` and returns the context holding it. The tracer is `injected`
/// if given, else the one `parent` carries, else the global provider's as it is now (so a
/// provider installed later, by `init::console()` or a test, is the one used). An injected
/// tracer that `parent` does not carry yet is carried by the returned context.
pub(crate) fn start_span(
    parent: &Context,
    builder: SpanBuilder,
    injected: Option<&InjectedTracer>,
) -> Context {
    let carried = parent.get::<InjectedTracer>();
    match injected.or(carried) {
        Some(tracer) => {
            let cx = parent.with_span(tracer.0.build_with_context(builder, parent));
            match carried {
                Some(c) if Arc::ptr_eq(&c.0, &tracer.0) => cx,
                _ => tracer.carried_by(&cx),
            }
        }
        None => {
            let tracer = global::tracer_provider().tracer_with_scope(scope());
            parent.with_span(tracer.build_with_context(builder, parent))
        }
    }
}

/// The parent of a new span: the current OpenTelemetry context, or — with the `tracing` feature,
/// when that context holds no span — the context of the current `tracing` span as bridged by
/// `tracing-opentelemetry` (so our spans nest under `#[tracing::instrument]` spans).
#[cfg(not(feature = "tracing"))]
#[inline]
pub(crate) fn parent_context() -> Context {
    Context::current()
}

/// The parent of a new span: the current OpenTelemetry context, or — with the `tracing` feature,
/// when that context holds no span — the context of the current `tracing` span as bridged by
/// `tracing-opentelemetry` (so our spans nest under `#[tracing::instrument]` spans).
#[cfg(feature = "tracing")]
pub(crate) fn parent_context() -> Context {
    use tracing_opentelemetry::OpenTelemetrySpanExt as _;
    let current = Context::current();
    if current.has_active_span() {
        return current;
    }
    let span = tracing::Span::current();
    if span.is_none() {
        return current;
    }
    // Without the bridge's layer this is an empty context: keep the current one (and its
    // baggage) then.
    let bridged = span.context();
    if bridged.has_active_span() {
        bridged
    } else {
        current
    }
}
