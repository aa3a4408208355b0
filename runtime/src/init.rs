//! One-call telemetry setup for applications.
//!
//! A library never calls these: it leaves the choice of exporter to the application.
//!
//! ```
//! let _telemetry = traced_chat::init::console(); // flushed and shut down when dropped
//! // … traced work …
//! ```

use std::time::Duration;

use crate::backend::setup::{self, Providers};

/// How long dropping a [`TelemetryGuard`] waits for the last export, unless
/// [`TelemetryGuard::with_shutdown_timeout`] says otherwise.
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);

/// Keeps the installed tracer and meter providers alive; flushes and shuts them down when dropped
/// (or by [`shutdown`](TelemetryGuard::shutdown)), waiting at most its shutdown timeout, so an
/// exporter that is down or never answers cannot hold the application's exit.
#[derive(Debug)]
#[must_use = "telemetry is shut down when the guard is dropped"]
pub struct TelemetryGuard {
    providers: Providers,
    shutdown_timeout: Duration,
}

/// Why [`TelemetryGuard::shutdown`] did not finish cleanly.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ShutdownError {
    /// The exporters had not finished when the timeout passed; they go on in the background,
    /// and what they had not sent yet may be lost.
    Timeout(Duration),
    /// A provider reported a failure while shutting down (its description).
    Failed(String),
}

impl std::fmt::Display for ShutdownError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ShutdownError::Timeout(timeout) => {
                write!(f, "telemetry shutdown did not finish within {timeout:?}")
            }
            ShutdownError::Failed(why) => write!(f, "telemetry shutdown failed: {why}"),
        }
    }
}

impl std::error::Error for ShutdownError {}

impl TelemetryGuard {
    /// A guard that owns nothing (what every setup returns with the `otel` feature off).
    pub fn noop() -> Self {
        TelemetryGuard::owning(Providers::default())
    }

    fn owning(providers: Providers) -> Self {
        TelemetryGuard {
            providers,
            shutdown_timeout: DEFAULT_SHUTDOWN_TIMEOUT,
        }
    }

    /// Sets how long shutting down (explicitly or on drop) waits for the exporters at most
    /// (default [`DEFAULT_SHUTDOWN_TIMEOUT`]).
    pub fn with_shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = timeout;
        self
    }

    /// The installed tracer provider, if any.
    #[cfg(feature = "otel")]
    pub fn tracer_provider(&self) -> Option<&opentelemetry_sdk::trace::SdkTracerProvider> {
        self.providers.tracer.as_ref()
    }

    /// The installed meter provider, if any.
    #[cfg(feature = "otel")]
    pub fn meter_provider(&self) -> Option<&opentelemetry_sdk::metrics::SdkMeterProvider> {
        self.providers.meter.as_ref()
    }

    /// Flushes and shuts down the providers, waiting at most the shutdown timeout. The work runs
    /// on a thread of its own, so this may be called from async code and returns on time even when
    /// an exporter blocks. Dropping the guard does the same and ignores the result.
    pub fn shutdown(mut self) -> Result<(), ShutdownError> {
        self.shutdown_in_place()
    }

    fn shutdown_in_place(&mut self) -> Result<(), ShutdownError> {
        std::mem::take(&mut self.providers).shutdown(self.shutdown_timeout)
    }
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        let _ = self.shutdown_in_place();
    }
}

/// Installs a global tracer provider that prints every finished span to standard output as
/// pretty JSON in the shape of the Python SDK's console exporter (see [`ConsoleExporter`](crate::ConsoleExporter)), a global
/// meter provider that prints the GenAI metrics to standard error when the guard is dropped
/// (see [`ConsoleMetricExporter`](crate::ConsoleMetricExporter)), and the W3C trace-context
/// propagator. Install it before building clients: their metric instruments come from the
/// global meter provider.
///
/// With the `otel` feature off it installs nothing.
pub fn console() -> TelemetryGuard {
    TelemetryGuard::owning(setup::console(Exporter::Console))
}

/// Installs a global tracer provider that prints each finished trace to standard output as an
/// indented tree, one line per span (a `#[traced_chat]` function's prompt → response, a chat
/// call's models, tokens, finish reason and time to first chunk, each HTTP attempt's status,
/// retries, errors and cancellations), with a line of totals per trace; a global meter provider
/// that prints the GenAI metrics as a table on standard error when the guard is dropped; and the
/// W3C trace-context propagator. For a developer reading their program's calls: colour on a
/// terminal (none with `NO_COLOR` or when the output is not a terminal), lines cut to its width.
///
/// A trace is printed when its root span ends; the spans of a trace whose root never ends are
/// printed at shutdown, marked as such; a trace holding more than
/// [`TRACED_CHAT_TREE_MAX_SPANS`](crate::attributes::ENV_TREE_MAX_SPANS) spans (default 1000) is
/// printed as it goes. [`from_env`] installs the same when spans go to the console and
/// [`TRACED_CHAT_CONSOLE_FORMAT`](crate::attributes::ENV_CONSOLE_FORMAT) is `tree`.
///
/// With the `otel` feature off it installs nothing.
pub fn tree() -> TelemetryGuard {
    TelemetryGuard::owning(setup::tree(Exporter::Console))
}

/// Installs a global tracer provider exporting over OTLP/HTTP (protobuf) with a batch span
/// processor, a global meter provider exporting metrics the same way, and the W3C trace-context
/// propagator. Configured by the standard environment variables: `OTEL_EXPORTER_OTLP_ENDPOINT`
/// (default `http://localhost:4318`) and its per-signal, `_HEADERS`, `_TIMEOUT` and
/// `_COMPRESSION` variants, `OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`, `OTEL_BSP_*` and
/// `OTEL_METRIC_EXPORT_INTERVAL`.
///
/// Spans are sent from a background thread: an exporter that is down or slow never blocks the
/// traced calls (spans beyond the batch queue are dropped), and dropping the guard waits at most
/// its [shutdown timeout](TelemetryGuard::with_shutdown_timeout).
///
/// Metrics follow `OTEL_METRICS_EXPORTER` (`otlp` by default; `none` for backends that take
/// traces only, such as Phoenix and Jaeger; `console`).
#[cfg(feature = "otlp")]
#[cfg_attr(docsrs, doc(cfg(feature = "otlp")))]
pub fn otlp() -> Result<TelemetryGuard, InitError> {
    let metrics = Exporter::metrics_from_env(Exporter::Otlp)?;
    setup::install(Exporter::Otlp, metrics).map(TelemetryGuard::owning)
}

/// Why [`from_env`] could not set telemetry up.
#[derive(Debug)]
#[non_exhaustive]
pub enum InitError {
    /// `OTEL_TRACES_EXPORTER` or `OTEL_METRICS_EXPORTER` names an exporter this crate does not
    /// provide (it provides `otlp`, `console` and `none`).
    UnsupportedExporter {
        /// The variable.
        variable: &'static str,
        /// The exporter it names.
        value: String,
    },
    /// OTLP export was asked for, but the crate was built without its `otlp` feature.
    OtlpFeatureOff,
    /// The OTLP exporters could not be built (a malformed endpoint or header variable, say):
    /// the exporter's error.
    Otlp(Box<dyn std::error::Error + Send + Sync>),
}

impl std::fmt::Display for InitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            InitError::UnsupportedExporter { variable, value } => write!(
                f,
                "{variable}={value:?} is not supported (use otlp, console or none)"
            ),
            InitError::OtlpFeatureOff => f.write_str(
                "OTLP export is configured but traced-chat was built without its `otlp` feature",
            ),
            InitError::Otlp(error) => write!(f, "the OTLP exporter could not be built: {error}"),
        }
    }
}

impl std::error::Error for InitError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            InitError::Otlp(error) => Some(&**error),
            _ => None,
        }
    }
}

/// What [`from_env`] installs, as read from the environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Exporter {
    /// [`otlp()`](fn@otlp): OTLP/HTTP to `OTEL_EXPORTER_OTLP_*`.
    Otlp,
    /// [`console()`]: spans as JSON on standard output.
    Console,
    /// Nothing: no provider is installed and the instrumentation does nothing.
    None,
}

impl Exporter {
    /// The exporter the environment asks for:
    ///
    /// 1. `OTEL_SDK_DISABLED=true` → [`None`](Exporter::None);
    /// 2. else `OTEL_TRACES_EXPORTER` (`otlp`, `console`, `none`; a list takes its first entry);
    /// 3. else [`Otlp`](Exporter::Otlp) when `OTEL_EXPORTER_OTLP_ENDPOINT` or
    ///    `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is set, [`Console`](Exporter::Console) otherwise.
    ///
    /// The last rule differs from the OpenTelemetry specification, whose default is `otlp`: with
    /// nothing configured, a program shows its trace instead of sending it to a collector that
    /// may not be there.
    pub fn from_env() -> Result<Exporter, InitError> {
        Self::traces_from_lookup(&|name| std::env::var(name).ok())
    }

    /// The metrics exporter the environment asks for, given the spans' `traces`:
    /// `OTEL_SDK_DISABLED=true` → [`None`](Exporter::None), else `OTEL_METRICS_EXPORTER`, else the
    /// same as the spans.
    pub fn metrics_from_env(traces: Exporter) -> Result<Exporter, InitError> {
        Self::metrics_from_lookup(&|name| std::env::var(name).ok(), traces)
    }

    fn traces_from_lookup(var: &dyn Fn(&str) -> Option<String>) -> Result<Exporter, InitError> {
        if Self::disabled(var) {
            return Ok(Exporter::None);
        }
        if let Some(choice) = Self::named(var, "OTEL_TRACES_EXPORTER")? {
            return Ok(choice);
        }
        if set(var, "OTEL_EXPORTER_OTLP_ENDPOINT").is_some()
            || set(var, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT").is_some()
        {
            Ok(Exporter::Otlp)
        } else {
            Ok(Exporter::Console)
        }
    }

    fn metrics_from_lookup(
        var: &dyn Fn(&str) -> Option<String>,
        traces: Exporter,
    ) -> Result<Exporter, InitError> {
        if Self::disabled(var) {
            return Ok(Exporter::None);
        }
        Ok(Self::named(var, "OTEL_METRICS_EXPORTER")?.unwrap_or(traces))
    }

    fn disabled(var: &dyn Fn(&str) -> Option<String>) -> bool {
        set(var, "OTEL_SDK_DISABLED").is_some_and(|value| value.trim().eq_ignore_ascii_case("true"))
    }

    /// The exporter named by `variable` (a list takes its first entry), if it is set.
    fn named(
        var: &dyn Fn(&str) -> Option<String>,
        variable: &'static str,
    ) -> Result<Option<Exporter>, InitError> {
        let Some(list) = set(var, variable) else {
            return Ok(None);
        };
        let first = list.split(',').next().unwrap_or_default().trim();
        match first.to_ascii_lowercase().as_str() {
            "otlp" => Ok(Some(Exporter::Otlp)),
            "console" | "stdout" => Ok(Some(Exporter::Console)),
            "none" => Ok(Some(Exporter::None)),
            _ => Err(InitError::UnsupportedExporter {
                variable,
                value: first.to_owned(),
            }),
        }
    }
}

/// The value of `name`, if set and not blank.
fn set(var: &dyn Fn(&str) -> Option<String>, name: &str) -> Option<String> {
    var(name).filter(|value| !value.trim().is_empty())
}

/// Sets telemetry up as the environment says (see [`Exporter::from_env`]): OTLP/HTTP when an
/// OTLP endpoint is configured, the console otherwise, nothing with `OTEL_SDK_DISABLED=true`;
/// metrics the same way unless `OTEL_METRICS_EXPORTER` says otherwise (see
/// [`Exporter::metrics_from_env`]).
/// Service name, resource attributes, endpoints, headers, timeouts and compression come from the
/// standard `OTEL_*` variables, read by the OpenTelemetry SDK and OTLP exporter.
///
/// With the `otel` feature off it installs nothing and never fails.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// // OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:6006 cargo run --features otlp
/// let _telemetry = traced_chat::init::from_env()?;
/// # Ok(()) }
/// ```
pub fn from_env() -> Result<TelemetryGuard, InitError> {
    setup::from_env().map(TelemetryGuard::owning)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup<'a>(vars: &'a [(&str, &str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            vars.iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| (*value).to_owned())
        }
    }

    fn pick(vars: &[(&str, &str)]) -> Result<Exporter, InitError> {
        Exporter::traces_from_lookup(&lookup(vars))
    }

    fn pick_metrics(vars: &[(&str, &str)], traces: Exporter) -> Result<Exporter, InitError> {
        Exporter::metrics_from_lookup(&lookup(vars), traces)
    }

    #[test]
    fn the_environment_picks_the_exporter() {
        assert_eq!(pick(&[]).unwrap(), Exporter::Console);
        let endpoint = ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://localhost:4318");
        assert_eq!(pick(&[endpoint]).unwrap(), Exporter::Otlp);
        let traces = (
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            "http://c:4318/v1/traces",
        );
        assert_eq!(pick(&[traces]).unwrap(), Exporter::Otlp);
        let blank = ("OTEL_EXPORTER_OTLP_ENDPOINT", " ");
        assert_eq!(pick(&[blank]).unwrap(), Exporter::Console);
        let console = ("OTEL_TRACES_EXPORTER", "console");
        assert_eq!(pick(&[endpoint, console]).unwrap(), Exporter::Console);
        let list = ("OTEL_TRACES_EXPORTER", "OTLP, console");
        assert_eq!(pick(&[list]).unwrap(), Exporter::Otlp);
        let none = ("OTEL_TRACES_EXPORTER", "none");
        assert_eq!(pick(&[none]).unwrap(), Exporter::None);
        let disabled = ("OTEL_SDK_DISABLED", "TRUE");
        assert_eq!(pick(&[endpoint, disabled]).unwrap(), Exporter::None);
        let enabled = ("OTEL_SDK_DISABLED", "false");
        assert_eq!(pick(&[endpoint, enabled]).unwrap(), Exporter::Otlp);
        let zipkin = pick(&[("OTEL_TRACES_EXPORTER", "zipkin")]).unwrap_err();
        assert!(matches!(
            zipkin,
            InitError::UnsupportedExporter { variable: "OTEL_TRACES_EXPORTER", ref value }
                if value == "zipkin"
        ));
        assert!(zipkin.to_string().contains("zipkin"));
    }

    #[test]
    fn metrics_follow_the_spans_unless_told_otherwise() {
        assert_eq!(pick_metrics(&[], Exporter::Otlp).unwrap(), Exporter::Otlp);
        assert_eq!(
            pick_metrics(&[], Exporter::Console).unwrap(),
            Exporter::Console
        );
        let none = ("OTEL_METRICS_EXPORTER", "none");
        assert_eq!(
            pick_metrics(&[none], Exporter::Otlp).unwrap(),
            Exporter::None
        );
        let disabled = ("OTEL_SDK_DISABLED", "true");
        assert_eq!(
            pick_metrics(&[disabled], Exporter::Otlp).unwrap(),
            Exporter::None
        );
        let prometheus = ("OTEL_METRICS_EXPORTER", "prometheus");
        let error = pick_metrics(&[prometheus], Exporter::Otlp).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("OTEL_METRICS_EXPORTER=\"prometheus\"")
        );
    }

    #[test]
    fn a_guard_without_providers_shuts_down_at_once() {
        let guard = TelemetryGuard::noop().with_shutdown_timeout(Duration::from_millis(1));
        assert_eq!(guard.shutdown(), Ok(()));
    }
}
