//! [`ConsoleExporter`]: prints each finished span as pretty JSON in the shape of the Python
//! SDK's console exporter, so that a trace reads as the Python one does.

use std::fmt;
use std::io::Write;
use std::sync::Mutex;
use std::time::SystemTime;

use opentelemetry::trace::{SpanId, SpanKind, Status};
use opentelemetry::{Array, KeyValue, Value};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::metrics::Temporality;
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData, ResourceMetrics};
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use serde::Serialize;
use serde::ser::{SerializeMap, SerializeSeq, Serializer};

/// A span exporter that writes every span as pretty JSON, in the shape of the Python SDK's
/// console exporter: `name`,
/// `context{trace_id, span_id, trace_state}`, `kind` (`SpanKind.CLIENT`), `parent_id`,
/// `start_time`, `end_time`, `status{status_code}`, `attributes`, `events`, `links`,
/// `resource{attributes, schema_url}`, with ids as `0x…` hex.
///
/// [`init::console`](crate::init::console) installs it; build one yourself to write somewhere
/// other than standard output.
pub struct ConsoleExporter {
    out: Mutex<Box<dyn Write + Send>>,
    resource: Resource,
}

impl fmt::Debug for ConsoleExporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConsoleExporter").finish_non_exhaustive()
    }
}

impl Default for ConsoleExporter {
    fn default() -> Self {
        Self::new()
    }
}

impl ConsoleExporter {
    /// Writes to standard output.
    pub fn new() -> Self {
        Self::with_writer(std::io::stdout())
    }

    /// Writes to `out`.
    pub fn with_writer(out: impl Write + Send + 'static) -> Self {
        ConsoleExporter {
            out: Mutex::new(Box::new(out)),
            resource: Resource::builder_empty().build(),
        }
    }

    fn write(&self, batch: &[SpanData]) -> std::io::Result<()> {
        let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
        for span in batch {
            write_span(&mut *out, span, &self.resource)?;
            out.write_all(b"\n")?;
        }
        out.flush()
    }
}

impl SpanExporter for ConsoleExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        self.write(&batch)
            .map_err(|e| OTelSdkError::InternalFailure(e.to_string()))
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.resource = resource.clone();
    }
}

/// Formats a span as one JSON document in the console exporter's shape.
#[cfg(feature = "testing")]
pub(crate) fn span_to_json(span: &SpanData, resource: &Resource) -> String {
    let mut out = Vec::new();
    // Writing into a Vec cannot fail.
    let _ = write_span(&mut out, span, resource);
    String::from_utf8(out).unwrap_or_default()
}

/// Writes `span` as pretty JSON (4-space indent, as the Python exporter) to `out`.
fn write_span(out: impl Write, span: &SpanData, resource: &Resource) -> std::io::Result<()> {
    let mut serializer = serde_json::Serializer::with_formatter(
        out,
        serde_json::ser::PrettyFormatter::with_indent(b"    "),
    );
    SpanJson { span, resource }.serialize(&mut serializer)?;
    Ok(())
}

struct SpanJson<'a> {
    span: &'a SpanData,
    resource: &'a Resource,
}

impl Serialize for SpanJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let span = self.span;
        let mut map = s.serialize_map(Some(11))?;
        map.serialize_entry("name", &*span.name)?;
        map.serialize_entry("context", &ContextJson(&span.span_context))?;
        map.serialize_entry("kind", kind_name(&span.span_kind))?;
        let parent =
            (span.parent_span_id != SpanId::INVALID).then(|| hex_span(span.parent_span_id));
        map.serialize_entry("parent_id", &parent)?;
        map.serialize_entry("start_time", &Time(span.start_time))?;
        map.serialize_entry("end_time", &Time(span.end_time))?;
        map.serialize_entry("status", &StatusJson(&span.status))?;
        map.serialize_entry("attributes", &Attributes(&span.attributes))?;
        map.serialize_entry("events", &Events(span))?;
        map.serialize_entry("links", &Links(span))?;
        map.serialize_entry("resource", &ResourceJson(self.resource))?;
        map.end()
    }
}

fn kind_name(kind: &SpanKind) -> &'static str {
    match kind {
        SpanKind::Client => "SpanKind.CLIENT",
        SpanKind::Server => "SpanKind.SERVER",
        SpanKind::Producer => "SpanKind.PRODUCER",
        SpanKind::Consumer => "SpanKind.CONSUMER",
        SpanKind::Internal => "SpanKind.INTERNAL",
    }
}

fn hex_span(id: SpanId) -> String {
    format!("0x{id}")
}

struct ContextJson<'a>(&'a opentelemetry::trace::SpanContext);

impl Serialize for ContextJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(3))?;
        map.serialize_entry("trace_id", &format!("0x{}", self.0.trace_id()))?;
        map.serialize_entry("span_id", &hex_span(self.0.span_id()))?;
        map.serialize_entry(
            "trace_state",
            &format!("[{}]", self.0.trace_state().header()),
        )?;
        map.end()
    }
}

struct Time(SystemTime);

impl Serialize for Time {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&humantime::format_rfc3339_micros(self.0))
    }
}

struct StatusJson<'a>(&'a Status);

impl Serialize for StatusJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        match self.0 {
            Status::Unset => map.serialize_entry("status_code", "UNSET")?,
            Status::Ok => map.serialize_entry("status_code", "OK")?,
            Status::Error { description } => {
                map.serialize_entry("status_code", "ERROR")?;
                map.serialize_entry("description", &**description)?;
            }
        }
        map.end()
    }
}

struct Attributes<'a>(&'a [KeyValue]);

impl Serialize for Attributes<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for kv in self.0 {
            map.serialize_entry(kv.key.as_str(), &ValueJson(&kv.value))?;
        }
        map.end()
    }
}

struct ValueJson<'a>(&'a Value);

impl Serialize for ValueJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::Bool(v) => s.serialize_bool(*v),
            Value::I64(v) => s.serialize_i64(*v),
            Value::F64(v) => s.serialize_f64(*v),
            Value::String(v) => s.serialize_str(v.as_str()),
            Value::Array(array) => match array {
                Array::Bool(v) => s.collect_seq(v),
                Array::I64(v) => s.collect_seq(v),
                Array::F64(v) => s.collect_seq(v),
                Array::String(v) => s.collect_seq(v.iter().map(|v| v.as_str())),
                _ => s.serialize_str(&self.0.to_string()),
            },
            _ => s.serialize_str(&self.0.to_string()),
        }
    }
}

struct Events<'a>(&'a SpanData);

impl Serialize for Events<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.events.len()))?;
        for event in self.0.events.iter() {
            seq.serialize_element(&EventJson(event))?;
        }
        seq.end()
    }
}

struct EventJson<'a>(&'a opentelemetry::trace::Event);

impl Serialize for EventJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(3))?;
        map.serialize_entry("name", &*self.0.name)?;
        map.serialize_entry("timestamp", &Time(self.0.timestamp))?;
        map.serialize_entry("attributes", &Attributes(&self.0.attributes))?;
        map.end()
    }
}

struct Links<'a>(&'a SpanData);

impl Serialize for Links<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.links.len()))?;
        for link in self.0.links.iter() {
            seq.serialize_element(&LinkJson(link))?;
        }
        seq.end()
    }
}

struct LinkJson<'a>(&'a opentelemetry::trace::Link);

impl Serialize for LinkJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(2))?;
        map.serialize_entry("context", &ContextJson(&self.0.span_context))?;
        map.serialize_entry("attributes", &Attributes(&self.0.attributes))?;
        map.end()
    }
}

struct ResourceJson<'a>(&'a Resource);

impl Serialize for ResourceJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(2))?;
        map.serialize_entry("attributes", &ResourceAttributes(self.0))?;
        map.serialize_entry("schema_url", self.0.schema_url().unwrap_or(""))?;
        map.end()
    }
}

struct ResourceAttributes<'a>(&'a Resource);

impl Serialize for ResourceAttributes<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut pairs: Vec<_> = self.0.iter().collect();
        pairs.sort_by(|a, b| a.0.as_str().cmp(b.0.as_str()));
        let mut map = s.serialize_map(Some(pairs.len()))?;
        for (key, value) in pairs {
            map.serialize_entry(key.as_str(), &ValueJson(value))?;
        }
        map.end()
    }
}

/// A metric exporter that writes one compact JSON line per histogram data point to standard
/// error (standard output carries the spans), when the meter provider flushes or shuts down.
pub struct ConsoleMetricExporter {
    out: Mutex<Box<dyn Write + Send>>,
}

impl fmt::Debug for ConsoleMetricExporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConsoleMetricExporter")
            .finish_non_exhaustive()
    }
}

impl Default for ConsoleMetricExporter {
    fn default() -> Self {
        Self::new()
    }
}

impl ConsoleMetricExporter {
    /// Writes to standard error.
    pub fn new() -> Self {
        Self::with_writer(std::io::stderr())
    }

    /// Writes to `out`.
    pub fn with_writer(out: impl Write + Send + 'static) -> Self {
        ConsoleMetricExporter {
            out: Mutex::new(Box::new(out)),
        }
    }

    fn write(&self, metrics: &ResourceMetrics) -> std::io::Result<()> {
        let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
        for scope in metrics.scope_metrics() {
            for metric in scope.metrics() {
                let points: Vec<(Vec<KeyValue>, u64, f64)> = match metric.data() {
                    AggregatedMetrics::F64(MetricData::Histogram(h)) => h
                        .data_points()
                        .map(|p| (p.attributes().cloned().collect(), p.count(), p.sum()))
                        .collect(),
                    AggregatedMetrics::U64(MetricData::Histogram(h)) => h
                        .data_points()
                        .map(|p| (p.attributes().cloned().collect(), p.count(), p.sum() as f64))
                        .collect(),
                    _ => Vec::new(),
                };
                for (attributes, count, sum) in points {
                    let line = MetricLine {
                        name: metric.name(),
                        unit: metric.unit(),
                        attributes: &attributes,
                        count,
                        sum,
                    };
                    serde_json::to_writer(&mut *out, &line)?;
                    out.write_all(b"\n")?;
                }
            }
        }
        out.flush()
    }
}

impl PushMetricExporter for ConsoleMetricExporter {
    async fn export(&self, metrics: &ResourceMetrics) -> OTelSdkResult {
        self.write(metrics)
            .map_err(|e| OTelSdkError::InternalFailure(e.to_string()))
    }

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: std::time::Duration) -> OTelSdkResult {
        Ok(())
    }

    fn temporality(&self) -> Temporality {
        Temporality::Cumulative
    }
}

struct MetricLine<'a> {
    name: &'a str,
    unit: &'a str,
    attributes: &'a [KeyValue],
    count: u64,
    sum: f64,
}

impl Serialize for MetricLine<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(5))?;
        map.serialize_entry("metric", self.name)?;
        map.serialize_entry("unit", self.unit)?;
        map.serialize_entry("attributes", &Attributes(self.attributes))?;
        map.serialize_entry("count", &self.count)?;
        map.serialize_entry("sum", &self.sum)?;
        map.end()
    }
}
