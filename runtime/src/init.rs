//! One-call telemetry setup for applications.
//!
//! A library never calls these: it leaves the choice of exporter to the application.
//!
//! ```no_run
//! let _telemetry = traced_chat::init::console(); // flushed and shut down when dropped
//! // … traced work …
//! ```

#[cfg(feature = "otel")]
use opentelemetry_sdk::{metrics::SdkMeterProvider, trace::SdkTracerProvider};

/// Keeps the installed tracer provider alive; flushes and shuts it down when dropped.
#[derive(Debug)]
#[must_use = "telemetry is shut down when the guard is dropped"]
pub struct TelemetryGuard {
    #[cfg(feature = "otel")]
    provider: Option<SdkTracerProvider>,
    #[cfg(feature = "otel")]
    meter_provider: Option<SdkMeterProvider>,
}

impl TelemetryGuard {
    /// A guard that owns nothing (what every setup returns with the `otel` feature off).
    pub fn noop() -> Self {
        TelemetryGuard {
            #[cfg(feature = "otel")]
            provider: None,
            #[cfg(feature = "otel")]
            meter_provider: None,
        }
    }

    /// The installed tracer provider, if any.
    #[cfg(feature = "otel")]
    pub fn tracer_provider(&self) -> Option<&SdkTracerProvider> {
        self.provider.as_ref()
    }

    /// The installed meter provider, if any.
    #[cfg(feature = "otel")]
    pub fn meter_provider(&self) -> Option<&SdkMeterProvider> {
        self.meter_provider.as_ref()
    }

    #[cfg(feature = "otel")]
    fn install(provider: SdkTracerProvider, meter_provider: SdkMeterProvider) -> Self {
        opentelemetry::global::set_text_map_propagator(
            opentelemetry_sdk::propagation::TraceContextPropagator::new(),
        );
        opentelemetry::global::set_tracer_provider(provider.clone());
        opentelemetry::global::set_meter_provider(meter_provider.clone());
        TelemetryGuard {
            provider: Some(provider),
            meter_provider: Some(meter_provider),
        }
    }
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        #[cfg(feature = "otel")]
        {
            if let Some(provider) = self.provider.take() {
                let _ = provider.force_flush();
                let _ = provider.shutdown();
            }
            if let Some(meter_provider) = self.meter_provider.take() {
                let _ = meter_provider.shutdown();
            }
        }
    }
}

/// Installs a global tracer provider that prints every finished span to standard output as
/// pretty JSON in the seed's shape (see [`ConsoleExporter`](crate::ConsoleExporter)), a global
/// meter provider that prints the GenAI metrics to standard error when the guard is dropped
/// (see [`ConsoleMetricExporter`](crate::ConsoleMetricExporter)), and the W3C trace-context
/// propagator. Install it before building clients: their metric instruments come from the
/// global meter provider.
///
/// With the `otel` feature off it installs nothing.
pub fn console() -> TelemetryGuard {
    #[cfg(feature = "otel")]
    {
        let provider = SdkTracerProvider::builder()
            .with_simple_exporter(crate::console::ConsoleExporter::new())
            .build();
        let meter_provider = SdkMeterProvider::builder()
            .with_periodic_exporter(crate::console::ConsoleMetricExporter::new())
            .build();
        TelemetryGuard::install(provider, meter_provider)
    }
    #[cfg(not(feature = "otel"))]
    {
        TelemetryGuard::noop()
    }
}

/// Installs a global tracer provider exporting over OTLP/HTTP (protobuf) with a batch span
/// processor, a global meter provider exporting metrics the same way, configured by the standard `OTEL_EXPORTER_OTLP_*` and `OTEL_SERVICE_NAME`
/// environment variables, and the W3C trace-context propagator.
#[cfg(feature = "otlp")]
#[cfg_attr(docsrs, doc(cfg(feature = "otlp")))]
pub fn otlp() -> Result<TelemetryGuard, opentelemetry_otlp::ExporterBuildError> {
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .build()?;
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .build();
    let metric_exporter = opentelemetry_otlp::MetricExporter::builder()
        .with_http()
        .build()?;
    let meter_provider = SdkMeterProvider::builder()
        .with_periodic_exporter(metric_exporter)
        .build();
    Ok(TelemetryGuard::install(provider, meter_provider))
}
