//! What [`init`](crate::init) installs: the SDK's tracer and meter providers with the console or
//! OTLP exporters, and how they shut down within a deadline.

use std::time::{Duration, Instant};

use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::trace::SdkTracerProvider;

use super::console::{ConsoleExporter, ConsoleMetricExporter};
use super::tree::{DEFAULT_MAX_SPANS, Look, TreeExporter, TreeMetricExporter};
use crate::attributes::{ENV_CONSOLE_FORMAT, ENV_TREE_MAX_SPANS};
use crate::init::{Exporter, InitError, ShutdownError};

/// The providers a [`TelemetryGuard`](crate::init::TelemetryGuard) keeps alive.
#[derive(Debug, Default)]
pub(crate) struct Providers {
    pub(crate) tracer: Option<SdkTracerProvider>,
    pub(crate) meter: Option<SdkMeterProvider>,
}

impl Providers {
    /// Flushes and shuts the providers down, spans and metrics side by side, each on a thread of
    /// its own with the whole `timeout`; returns by the deadline whatever the exporters do.
    pub(crate) fn shutdown(self, timeout: Duration) -> Result<(), ShutdownError> {
        type Job = Box<dyn FnOnce() -> OTelSdkResult + Send>;
        let jobs: [(&'static str, Option<Job>); 2] = [
            (
                "spans",
                self.tracer
                    .map(|p| Box::new(move || p.shutdown_with_timeout(timeout)) as Job),
            ),
            (
                "metrics",
                self.meter
                    .map(|p| Box::new(move || p.shutdown_with_timeout(timeout)) as Job),
            ),
        ];
        let deadline = Instant::now() + timeout;
        let (done, finished) = std::sync::mpsc::channel::<Option<String>>();
        let mut pending = 0;
        let mut failures = Vec::new();
        for (what, job) in jobs {
            let Some(job) = job else { continue };
            let done = done.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("traced-chat-shutdown-{what}"))
                .spawn(move || {
                    let _ = done.send(job().err().map(|error| format!("{what}: {error}")));
                });
            match spawned {
                Ok(_) => pending += 1,
                Err(error) => failures.push(format!("{what}: no thread to shut down on: {error}")),
            }
        }
        for _ in 0..pending {
            let left = deadline.saturating_duration_since(Instant::now());
            match finished.recv_timeout(left) {
                Ok(failure) => failures.extend(failure),
                Err(_) => return Err(ShutdownError::Timeout(timeout)),
            }
        }
        if failures.is_empty() {
            Ok(())
        } else {
            Err(ShutdownError::Failed(failures.join("; ")))
        }
    }
}

/// Sets telemetry up as the environment says (see [`Exporter::from_env`]).
pub(crate) fn from_env() -> Result<Providers, InitError> {
    let traces = Exporter::from_env()?;
    let metrics = Exporter::metrics_from_env(traces)?;
    install(traces, metrics)
}

/// Installs spans exported to `traces` and metrics exported to `metrics`.
pub(crate) fn install(traces: Exporter, metrics: Exporter) -> Result<Providers, InitError> {
    match traces {
        Exporter::None => Ok(installed(None, meter_provider(metrics)?)),
        Exporter::Console if tree_from_env() => Ok(tree(metrics)),
        Exporter::Console => Ok(console(metrics)),
        Exporter::Otlp => otlp(metrics),
    }
}

/// Spans printed as JSON on standard output, with the metrics `metrics` asks for (without the
/// `otlp` feature an OTLP metrics request cannot be met: the console stands in).
pub(crate) fn console(metrics: Exporter) -> Providers {
    let tracer = SdkTracerProvider::builder()
        .with_simple_exporter(ConsoleExporter::new())
        .build();
    let meter = meter_provider(metrics).unwrap_or_else(|_| Some(console_meter_provider()));
    installed(Some(tracer), meter)
}

/// Whether [`ENV_CONSOLE_FORMAT`] asks for the tree format (`tree`; any other value is JSON).
fn tree_from_env() -> bool {
    std::env::var(ENV_CONSOLE_FORMAT).is_ok_and(|format| format.trim().eq_ignore_ascii_case("tree"))
}

/// Each finished trace printed on standard output as a tree, with the metrics `metrics` asks
/// for (the console's as a table on standard error at shutdown).
pub(crate) fn tree(metrics: Exporter) -> Providers {
    let max_spans = std::env::var(ENV_TREE_MAX_SPANS)
        .ok()
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or(DEFAULT_MAX_SPANS);
    let exporter = TreeExporter::new(std::io::stdout(), Look::stdout(), max_spans);
    let tracer = SdkTracerProvider::builder()
        .with_simple_exporter(exporter)
        .build();
    let table = || {
        SdkMeterProvider::builder()
            .with_periodic_exporter(TreeMetricExporter::new(std::io::stderr()))
            .build()
    };
    let meter = match metrics {
        Exporter::Console => Some(table()),
        other => meter_provider(other).unwrap_or_else(|_| Some(table())),
    };
    installed(Some(tracer), meter)
}

fn console_meter_provider() -> SdkMeterProvider {
    SdkMeterProvider::builder()
        .with_periodic_exporter(ConsoleMetricExporter::new())
        .build()
}

/// Spans over OTLP/HTTP with a batch processor.
#[cfg(feature = "otlp")]
fn otlp(metrics: Exporter) -> Result<Providers, InitError> {
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .build()
        .map_err(|e| InitError::Otlp(Box::new(e)))?;
    let tracer = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .build();
    Ok(installed(Some(tracer), meter_provider(metrics)?))
}

/// OTLP export needs the `otlp` feature.
#[cfg(not(feature = "otlp"))]
fn otlp(_: Exporter) -> Result<Providers, InitError> {
    Err(InitError::OtlpFeatureOff)
}

/// A meter provider exporting to `metrics`, or none.
fn meter_provider(metrics: Exporter) -> Result<Option<SdkMeterProvider>, InitError> {
    match metrics {
        Exporter::None => Ok(None),
        Exporter::Console => Ok(Some(console_meter_provider())),
        Exporter::Otlp => otlp_meter_provider().map(Some),
    }
}

#[cfg(feature = "otlp")]
fn otlp_meter_provider() -> Result<SdkMeterProvider, InitError> {
    let exporter = opentelemetry_otlp::MetricExporter::builder()
        .with_http()
        .build()
        .map_err(|e| InitError::Otlp(Box::new(e)))?;
    Ok(SdkMeterProvider::builder()
        .with_periodic_exporter(RefusedOnce::new(exporter))
        .build())
}

/// A metric exporter that stops sending after the collector refuses metrics once (it answers
/// with a 4xx status: Phoenix and Jaeger take traces only), saying so in one line on standard
/// error, instead of failing every export and the shutdown. Other failures (a collector that is
/// down or slow) are reported as they are and do not stop the metrics.
#[cfg(feature = "otlp")]
#[derive(Debug)]
struct RefusedOnce<E> {
    inner: E,
    refused: std::sync::atomic::AtomicBool,
}

#[cfg(feature = "otlp")]
impl<E> RefusedOnce<E> {
    fn new(inner: E) -> Self {
        RefusedOnce {
            inner,
            refused: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Whether `error` says the collector answered with a client-error status.
    fn is_refusal(error: &opentelemetry_sdk::error::OTelSdkError) -> bool {
        let text = error.to_string();
        text.split("status code: ")
            .nth(1)
            .is_some_and(|code| code.starts_with('4'))
    }
}

#[cfg(feature = "otlp")]
impl<E: opentelemetry_sdk::metrics::exporter::PushMetricExporter>
    opentelemetry_sdk::metrics::exporter::PushMetricExporter for RefusedOnce<E>
{
    async fn export(
        &self,
        metrics: &opentelemetry_sdk::metrics::data::ResourceMetrics,
    ) -> OTelSdkResult {
        use std::sync::atomic::Ordering;
        if self.refused.load(Ordering::Relaxed) {
            return Ok(());
        }
        match self.inner.export(metrics).await {
            Err(error) if Self::is_refusal(&error) => {
                if !self.refused.swap(true, Ordering::Relaxed) {
                    eprintln!(
                        "traced-chat: the collector refused metrics ({error}), so no more are \
                         sent; set OTEL_METRICS_EXPORTER=none for a collector that takes traces \
                         only (Phoenix, Jaeger)"
                    );
                }
                Ok(())
            }
            other => other,
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn temporality(&self) -> opentelemetry_sdk::metrics::Temporality {
        self.inner.temporality()
    }
}

#[cfg(not(feature = "otlp"))]
fn otlp_meter_provider() -> Result<SdkMeterProvider, InitError> {
    Err(InitError::OtlpFeatureOff)
}

/// Installs the providers as the global ones (and, with a tracer provider, the W3C
/// trace-context propagator).
fn installed(tracer: Option<SdkTracerProvider>, meter: Option<SdkMeterProvider>) -> Providers {
    if let Some(tracer) = &tracer {
        opentelemetry::global::set_text_map_propagator(
            opentelemetry_sdk::propagation::TraceContextPropagator::new(),
        );
        opentelemetry::global::set_tracer_provider(tracer.clone());
    }
    if let Some(meter) = &meter {
        opentelemetry::global::set_meter_provider(meter.clone());
    }
    Providers { tracer, meter }
}
