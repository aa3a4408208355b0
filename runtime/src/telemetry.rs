//! Where spans come from: the instrumentation scope and the tracer.

use std::sync::LazyLock;

use opentelemetry::{
    InstrumentationScope, global, global::BoxedTracer, trace::TracerProvider as _,
};

/// Name of the instrumentation scope of every span and metric this crate makes.
pub const INSTRUMENTATION_NAME: &str = "traced-chat";

static SCOPE: LazyLock<InstrumentationScope> = LazyLock::new(|| {
    InstrumentationScope::builder(INSTRUMENTATION_NAME)
        .with_version(env!("CARGO_PKG_VERSION"))
        .build()
});

/// The tracer of the global tracer provider, looked up at each use so that a provider installed
/// later (by `init::console()` or a test) is the one used.
#[inline]
pub(crate) fn tracer() -> BoxedTracer {
    global::tracer_provider().tracer_with_scope(SCOPE.clone())
}

/// The instrumentation scope of this crate's spans and metrics.
pub(crate) fn scope() -> InstrumentationScope {
    SCOPE.clone()
}

/// The parent of a new span: the current OpenTelemetry context, or — with the `tracing` feature,
/// when that context holds no span — the context of the current `tracing` span as bridged by
/// `tracing-opentelemetry` (so our spans nest under `#[tracing::instrument]` spans).
#[inline]
pub(crate) fn parent_context() -> opentelemetry::Context {
    let current = opentelemetry::Context::current();
    #[cfg(feature = "tracing")]
    {
        use opentelemetry::trace::TraceContextExt as _;
        if !current.has_active_span() {
            let span = tracing::Span::current();
            if !span.is_none() {
                use tracing_opentelemetry::OpenTelemetrySpanExt as _;
                // Without the bridge's layer this is an empty context: keep the current one
                // (and its baggage) then.
                let bridged = span.context();
                if bridged.has_active_span() {
                    return bridged;
                }
            }
        }
    }
    current
}
