//! The tree console format: each finished trace printed as an indented tree, one line per span,
//! for a developer reading what their program asked, what came back, how long it took and what it
//! cost ([`TRACED_CHAT_CONSOLE_FORMAT=tree`](crate::attributes::ENV_CONSOLE_FORMAT),
//! [`init::tree`](crate::init::tree)).
//!
//! A trace is printed when its root span ends; the spans of a trace whose root never ends are
//! printed at shutdown, marked as such; a trace holding more than its span limit is printed as it
//! goes, so memory stays bounded. Colour only on a terminal and never with `NO_COLOR`; lines are
//! cut to the terminal's width.

use std::collections::HashMap;
use std::fmt;
use std::io::Write;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use anstyle::{AnsiColor, Style};
use opentelemetry::trace::{SpanId, Status, TraceId};
use opentelemetry::{Array, Value};
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::metrics::Temporality;
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData, ResourceMetrics};
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};

use crate::attributes as attr;

/// How many spans of one trace are held before they are printed without waiting for the root
/// (unless [`ENV_TREE_MAX_SPANS`](crate::attributes::ENV_TREE_MAX_SPANS) says otherwise).
pub(crate) const DEFAULT_MAX_SPANS: usize = 1000;
/// All the traces held together hold at most this many times one trace's span limit.
const TRACES_HELD: usize = 16;
/// The width of the lines when the output is not a terminal.
const PIPED_WIDTH: usize = 100;
/// The longest prompt or response quoted on a line, in characters.
const QUOTE: usize = 40;
/// Deeper nesting is drawn flat.
const MAX_DEPTH: usize = 64;

const NAME: Style = Style::new().bold();
const DIM: Style = Style::new().dimmed();
const ERROR: Style = AnsiColor::Red.on_default().bold();
const WARN: Style = AnsiColor::Yellow.on_default();
const PLAIN: Style = Style::new();

/// How lines are drawn: their width and whether they are coloured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Look {
    /// The width lines are cut to.
    pub(crate) width: usize,
    /// Whether errors, cancellations and retries are coloured.
    pub(crate) color: bool,
}

impl Look {
    /// Standard output's: its terminal's width, or [`PIPED_WIDTH`] when it is not a terminal;
    /// colour when it is a terminal and neither `NO_COLOR` nor `CLICOLOR=0` is set
    /// (`CLICOLOR_FORCE` forces it).
    pub(crate) fn stdout() -> Look {
        let stdout = std::io::stdout();
        let color = !matches!(
            anstream::AutoStream::choice(&stdout),
            anstream::ColorChoice::Never
        );
        let width = terminal_size::terminal_size_of(&stdout)
            .map(|(width, _)| usize::from(width.0))
            .filter(|width| *width >= 20)
            .unwrap_or(PIPED_WIDTH);
        Look { width, color }
    }
}

/// How a printed group of spans came to be printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ending {
    /// Its root span ended.
    Complete,
    /// It reached the span limit; the rest of the trace follows later.
    Early,
    /// Shutdown came before its root span ended.
    Unfinished,
}

/// A span exporter printing each finished trace as a tree (see the module's documentation).
/// Install it with a simple span processor: it sees every span as it ends.
pub(crate) struct TreeExporter {
    traces: Mutex<HashMap<TraceId, Vec<SpanData>>>,
    out: Mutex<Box<dyn Write + Send>>,
    look: Look,
    max_spans: usize,
}

impl fmt::Debug for TreeExporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TreeExporter")
            .field("look", &self.look)
            .field("max_spans", &self.max_spans)
            .finish_non_exhaustive()
    }
}

impl TreeExporter {
    /// Writes to `out`, drawn as `look` says, holding at most `max_spans` spans of a trace.
    pub(crate) fn new(out: impl Write + Send + 'static, look: Look, max_spans: usize) -> Self {
        TreeExporter {
            traces: Mutex::new(HashMap::new()),
            out: Mutex::new(Box::new(out)),
            look,
            max_spans: max_spans.max(1),
        }
    }

    /// Keeps `batch`'s spans with their traces; returns the traces ready to print: those whose
    /// root ended, and, printed early, one that reached the span limit or, when all the traces
    /// held reach [`TRACES_HELD`] times the limit, the one the last span joined.
    fn absorb(&self, batch: Vec<SpanData>) -> Vec<(Vec<SpanData>, Ending)> {
        let mut traces = self.traces.lock().unwrap_or_else(|e| e.into_inner());
        let mut held: usize = traces.values().map(Vec::len).sum();
        let mut ready = Vec::new();
        for span in batch {
            let id = span.span_context.trace_id();
            let root = span.parent_span_id == SpanId::INVALID || span.parent_span_is_remote;
            let spans = traces.entry(id).or_default();
            spans.push(span);
            held += 1;
            let ending = if root {
                Ending::Complete
            } else if spans.len() >= self.max_spans
                || held >= self.max_spans.saturating_mul(TRACES_HELD)
            {
                Ending::Early
            } else {
                continue;
            };
            let spans = traces.remove(&id).unwrap_or_default();
            held -= spans.len();
            ready.push((spans, ending));
        }
        ready
    }

    fn print(&self, ready: Vec<(Vec<SpanData>, Ending)>) -> std::io::Result<()> {
        if ready.is_empty() {
            return Ok(());
        }
        let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
        for (spans, ending) in ready {
            out.write_all(render(&spans, ending, self.look).as_bytes())?;
        }
        out.flush()
    }

    /// The traces whose root never ended, oldest first.
    fn unfinished(&self) -> Vec<(Vec<SpanData>, Ending)> {
        let mut traces = self.traces.lock().unwrap_or_else(|e| e.into_inner());
        let mut left: Vec<_> = traces.drain().map(|(_, spans)| spans).collect();
        left.sort_by_key(|spans| spans.iter().map(|s| s.start_time).min());
        left.into_iter()
            .map(|spans| (spans, Ending::Unfinished))
            .collect()
    }
}

impl SpanExporter for TreeExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let ready = self.absorb(batch);
        self.print(ready)
            .map_err(|e| OTelSdkError::InternalFailure(e.to_string()))
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        self.print(self.unfinished())
            .map_err(|e| OTelSdkError::InternalFailure(e.to_string()))
    }
}

/// One drawn line: the tree's branches, the label's styled parts, the duration.
struct Row {
    prefix: String,
    parts: Vec<(String, Style)>,
    duration: Duration,
}

/// The spans of one trace as a tree: children in start order.
struct Tree<'a> {
    spans: &'a [SpanData],
    children: Vec<Vec<usize>>,
    roots: Vec<usize>,
}

impl<'a> Tree<'a> {
    fn new(spans: &'a [SpanData]) -> Self {
        let index: HashMap<SpanId, usize> = spans
            .iter()
            .enumerate()
            .map(|(i, span)| (span.span_context.span_id(), i))
            .collect();
        let mut children = vec![Vec::new(); spans.len()];
        let mut roots = Vec::new();
        for (i, span) in spans.iter().enumerate() {
            match index.get(&span.parent_span_id) {
                Some(&parent) if parent != i => children[parent].push(i),
                _ => roots.push(i),
            }
        }
        let by_start = |a: &usize, b: &usize| spans[*a].start_time.cmp(&spans[*b].start_time);
        roots.sort_by(by_start);
        for list in &mut children {
            list.sort_by(by_start);
        }
        Tree {
            spans,
            children,
            roots,
        }
    }

    /// The rows of `ids` (siblings) and their descendants, under `prefix`.
    fn rows(&self, ids: &[usize], prefix: &str, top: bool, depth: usize, out: &mut Vec<Row>) {
        let groups = self.groups(ids);
        let count = groups.len();
        for (n, group) in groups.into_iter().enumerate() {
            let last = n + 1 == count;
            let (branch, below) = match (top, last) {
                (true, _) => ("", ""),
                (false, false) => ("├─ ", "│  "),
                (false, true) => ("└─ ", "   "),
            };
            let spans: Vec<&SpanData> = group.iter().map(|&i| &self.spans[i]).collect();
            out.push(Row {
                prefix: format!("{prefix}{branch}"),
                parts: label(&spans),
                duration: between(spans[0].start_time, spans[spans.len() - 1].end_time),
            });
            let nested = format!("{prefix}{below}");
            let children: Vec<usize> = group
                .iter()
                .flat_map(|&i| self.children[i].iter().copied())
                .collect();
            if depth < MAX_DEPTH {
                self.rows(&children, &nested, false, depth + 1, out);
            }
        }
    }

    /// Siblings one line each, except consecutive attempts of one HTTP request (same name, no
    /// children), which share a line.
    fn groups(&self, ids: &[usize]) -> Vec<Vec<usize>> {
        let mut groups: Vec<Vec<usize>> = Vec::new();
        for &id in ids {
            let span = &self.spans[id];
            let joins = groups.last().is_some_and(|group| {
                let previous = &self.spans[group[0]];
                is_http(span)
                    && is_http(previous)
                    && previous.name == span.name
                    && self.children[id].is_empty()
                    && group.iter().all(|&g| self.children[g].is_empty())
            });
            match groups.last_mut() {
                Some(group) if joins => group.push(id),
                _ => groups.push(vec![id]),
            }
        }
        groups
    }
}

/// The text printed for one trace: its tree, then a line of totals.
pub(crate) fn render(spans: &[SpanData], ending: Ending, look: Look) -> String {
    let tree = Tree::new(spans);
    let mut rows = Vec::new();
    tree.rows(&tree.roots, "", true, 0, &mut rows);
    let mut text = String::new();
    match ending {
        Ending::Complete => {}
        Ending::Early => text.push_str(&paint(
            &format!(
                "(a trace still running: {} spans printed early)",
                spans.len()
            ),
            WARN,
            look,
        )),
        Ending::Unfinished => text.push_str(&paint(
            "(a trace whose root span never ended, printed at shutdown)",
            WARN,
            look,
        )),
    }
    if ending != Ending::Complete {
        text.push('\n');
    }
    for row in &rows {
        text.push_str(&draw(row, look));
        text.push('\n');
    }
    text.push_str(&paint(&totals(spans), DIM, look));
    text.push('\n');
    text
}

/// `N calls · I in / O out tokens · total`.
fn totals(spans: &[SpanData]) -> String {
    let calls: Vec<&SpanData> = spans.iter().filter(|s| is_chat(s)).collect();
    let input: i64 = calls.iter().filter_map(|s| input_tokens(s)).sum();
    let output: i64 = calls.iter().filter_map(|s| output_tokens(s)).sum();
    let start = spans.iter().map(|s| s.start_time).min();
    let end = spans.iter().map(|s| s.end_time).max();
    let total = match (start, end) {
        (Some(start), Some(end)) => between(start, end),
        _ => Duration::ZERO,
    };
    let plural = if calls.len() == 1 { "" } else { "s" };
    format!(
        "{} call{plural} · {input} in / {output} out tokens · {}",
        calls.len(),
        seconds(total)
    )
}

/// One line: prefix and label cut to the width, the duration right-aligned.
fn draw(row: &Row, look: Look) -> String {
    let duration = seconds(row.duration);
    let prefix_width = row.prefix.chars().count();
    let room = look
        .width
        .saturating_sub(prefix_width + duration.chars().count() + 2);
    let parts = cut(&row.parts, room);
    let used: usize = prefix_width + parts.iter().map(|(t, _)| t.chars().count()).sum::<usize>();
    let pad = look
        .width
        .saturating_sub(used + duration.chars().count())
        .max(2);
    let mut line = paint(&row.prefix, DIM, look);
    for (text, style) in &parts {
        line.push_str(&paint(text, *style, look));
    }
    line.push_str(&" ".repeat(pad));
    line.push_str(&paint(&duration, DIM, look));
    line
}

/// The parts, cut to `room` characters (the last one kept ending in `…`).
fn cut(parts: &[(String, Style)], room: usize) -> Vec<(String, Style)> {
    let total: usize = parts.iter().map(|(t, _)| t.chars().count()).sum();
    if total <= room {
        return parts.to_vec();
    }
    let mut left = room.saturating_sub(1);
    let mut kept = Vec::new();
    for (text, style) in parts {
        let n = text.chars().count();
        if n <= left {
            left -= n;
            kept.push((text.clone(), *style));
        } else {
            kept.push((text.chars().take(left).collect(), *style));
            break;
        }
    }
    kept.push(("…".to_owned(), DIM));
    kept
}

fn paint(text: &str, style: Style, look: Look) -> String {
    if look.color && style != PLAIN && !text.is_empty() {
        format!("{}{text}{}", style.render(), style.render_reset())
    } else {
        text.to_owned()
    }
}

/// What a span's line says; `spans` are one span, or the attempts of one HTTP request.
fn label(spans: &[&SpanData]) -> Vec<(String, Style)> {
    let span = spans[0];
    let mut parts = vec![(span.name.to_string(), NAME)];
    if is_http(span) {
        http_label(spans, &mut parts);
    } else if is_chat(span) {
        chat_label(span, &mut parts);
    } else {
        function_label(span, &mut parts);
    }
    let last = spans[spans.len() - 1];
    if bool_attribute(last, attr::TRACED_CHAT_CANCELLED) {
        parts.push(("  cancelled".to_owned(), WARN));
    }
    if let Status::Error { description } = &last.status {
        let why = if description.is_empty() {
            string(last, attr::ERROR_TYPE).unwrap_or_else(|| "error".to_owned())
        } else {
            one_line(description)
        };
        parts.push((format!("  ✗ {why}"), ERROR));
    }
    parts
}

/// `HTTP POST 429 → retry → 200`.
fn http_label(spans: &[&SpanData], parts: &mut Vec<(String, Style)>) {
    for (n, span) in spans.iter().enumerate() {
        let status = integer(span, attr::HTTP_RESPONSE_STATUS_CODE)
            .or_else(|| integer(span, attr::HTTP_STATUS_CODE))
            .map(|code| code.to_string())
            .or_else(|| string(span, attr::ERROR_TYPE))
            .unwrap_or_default();
        let last = n + 1 == spans.len();
        let style = if !last {
            WARN
        } else if status.starts_with(['4', '5']) || !status.starts_with(char::is_numeric) {
            ERROR
        } else {
            PLAIN
        };
        if n > 0 {
            parts.push((" → retry →".to_owned(), WARN));
        }
        if !status.is_empty() {
            parts.push((format!(" {status}"), style));
        }
    }
}

/// `chat gpt-4o → gpt-4o-2024-08-06  30 in / 13 out tok  stop  TTFT 0.21 s`.
fn chat_label(span: &SpanData, parts: &mut Vec<(String, Style)>) {
    parts[0].0 = "chat".to_owned();
    let requested = string(span, attr::GEN_AI_REQUEST_MODEL)
        .or_else(|| string(span, attr::OPENAI_CREATE_MODEL))
        .unwrap_or_default();
    let mut text = format!(" {requested}");
    if let Some(answered) = string(span, attr::GEN_AI_RESPONSE_MODEL)
        && answered != requested
    {
        text.push_str(&format!(" → {answered}"));
    }
    if let (Some(input), Some(output)) = (input_tokens(span), output_tokens(span)) {
        text.push_str(&format!("  {input} in / {output} out tok"));
    }
    if let Some(reasons) = strings(span, attr::GEN_AI_RESPONSE_FINISH_REASONS) {
        text.push_str(&format!("  {}", reasons.join(",")));
    }
    if let Some(ttft) = float(span, attr::GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK) {
        text.push_str(&format!(
            "  TTFT {}",
            seconds(Duration::from_secs_f64(ttft.max(0.0)))
        ));
    }
    parts.push((text, PLAIN));
}

/// A `#[traced_chat]` function's prompt → response, cut; nothing for other spans.
fn function_label(span: &SpanData, parts: &mut Vec<(String, Style)>) {
    let prompt = string(span, attr::OPENAI_PROMPT);
    let response = string(span, attr::OPENAI_RESPONSE);
    let quoted = match (prompt, response) {
        (Some(prompt), Some(response)) => format!("  {} → {}", quote(&prompt), quote(&response)),
        (Some(prompt), None) => format!("  {}", quote(&prompt)),
        (None, Some(response)) => format!("  → {}", quote(&response)),
        (None, None) => return,
    };
    parts.push((quoted, PLAIN));
}

fn quote(text: &str) -> String {
    let text = one_line(text);
    if text.chars().count() > QUOTE {
        let head: String = text.chars().take(QUOTE - 1).collect();
        format!("\"{}…\"", head.trim_end())
    } else {
        format!("\"{text}\"")
    }
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn is_http(span: &SpanData) -> bool {
    span.name == attr::SPAN_HTTP_POST
        || find(span, attr::HTTP_RESPONSE_STATUS_CODE).is_some()
        || find(span, attr::HTTP_REQUEST_METHOD).is_some()
}

fn is_chat(span: &SpanData) -> bool {
    span.name == attr::SPAN_CHAT_COMPLETION_CREATE
        || string(span, attr::GEN_AI_OPERATION_NAME).as_deref() == Some(attr::GEN_AI_OPERATION_CHAT)
}

fn input_tokens(span: &SpanData) -> Option<i64> {
    integer(span, attr::GEN_AI_USAGE_INPUT_TOKENS)
        .or_else(|| integer(span, attr::OPENAI_USAGE_PROMPT_TOKENS))
}

fn output_tokens(span: &SpanData) -> Option<i64> {
    integer(span, attr::GEN_AI_USAGE_OUTPUT_TOKENS)
        .or_else(|| integer(span, attr::OPENAI_USAGE_COMPLETION_TOKENS))
}

fn find<'a>(span: &'a SpanData, key: &str) -> Option<&'a Value> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| &kv.value)
}

fn string(span: &SpanData, key: &str) -> Option<String> {
    match find(span, key)? {
        Value::String(value) => Some(value.as_str().to_owned()),
        _ => None,
    }
}

fn strings(span: &SpanData, key: &str) -> Option<Vec<String>> {
    match find(span, key)? {
        Value::Array(Array::String(values)) => {
            Some(values.iter().map(|v| v.as_str().to_owned()).collect())
        }
        Value::String(value) => Some(vec![value.as_str().to_owned()]),
        _ => None,
    }
}

fn integer(span: &SpanData, key: &str) -> Option<i64> {
    match find(span, key)? {
        Value::I64(value) => Some(*value),
        _ => None,
    }
}

fn float(span: &SpanData, key: &str) -> Option<f64> {
    match find(span, key)? {
        Value::F64(value) => Some(*value),
        Value::I64(value) => Some(*value as f64),
        _ => None,
    }
}

fn bool_attribute(span: &SpanData, key: &str) -> bool {
    matches!(find(span, key), Some(Value::Bool(true)))
}

fn between(start: SystemTime, end: SystemTime) -> Duration {
    end.duration_since(start).unwrap_or_default()
}

/// `1.09 s`, `52 ms`, `0.8 ms`.
fn seconds(duration: Duration) -> String {
    let secs = duration.as_secs_f64();
    if secs >= 1.0 {
        format!("{secs:.2} s")
    } else if secs >= 0.01 {
        format!("{:.0} ms", secs * 1000.0)
    } else {
        format!("{:.1} ms", secs * 1000.0)
    }
}

/// A metric exporter that prints the GenAI metrics as a short table when the meter provider
/// shuts down (the tree format's companion; to standard error, as the JSON one).
pub(crate) struct TreeMetricExporter {
    rows: Mutex<Vec<[String; 4]>>,
    out: Mutex<Box<dyn Write + Send>>,
}

impl fmt::Debug for TreeMetricExporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TreeMetricExporter").finish_non_exhaustive()
    }
}

impl TreeMetricExporter {
    /// Prints to `out`.
    pub(crate) fn new(out: impl Write + Send + 'static) -> Self {
        TreeMetricExporter {
            rows: Mutex::new(Vec::new()),
            out: Mutex::new(Box::new(out)),
        }
    }

    fn write_table(&self) -> std::io::Result<()> {
        let rows = std::mem::take(&mut *self.rows.lock().unwrap_or_else(|e| e.into_inner()));
        if rows.is_empty() {
            return Ok(());
        }
        let header = [
            "metric".to_owned(),
            "attributes".to_owned(),
            "count".to_owned(),
            "sum".to_owned(),
        ];
        let all: Vec<&[String; 4]> = std::iter::once(&header).chain(rows.iter()).collect();
        let widths: Vec<usize> = (0..4)
            .map(|c| all.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
            .collect();
        let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
        for row in all {
            writeln!(
                out,
                "{:<w0$}  {:<w1$}  {:>w2$}  {:>w3$}",
                row[0],
                row[1],
                row[2],
                row[3],
                w0 = widths[0],
                w1 = widths[1],
                w2 = widths[2],
                w3 = widths[3]
            )?;
        }
        out.flush()
    }
}

/// The table's rows: metric, its attributes (model, token type, error), count, sum with unit.
fn metric_rows(metrics: &ResourceMetrics) -> Vec<[String; 4]> {
    let mut rows = Vec::new();
    for metric in metrics.scope_metrics().flat_map(|scope| scope.metrics()) {
        let points: Vec<(String, u64, f64)> = match metric.data() {
            AggregatedMetrics::F64(MetricData::Histogram(h)) => h
                .data_points()
                .map(|p| (point_attributes(p.attributes()), p.count(), p.sum()))
                .collect(),
            AggregatedMetrics::U64(MetricData::Histogram(h)) => h
                .data_points()
                .map(|p| (point_attributes(p.attributes()), p.count(), p.sum() as f64))
                .collect(),
            _ => Vec::new(),
        };
        for (attributes, count, sum) in points {
            let sum = if metric.unit() == "s" {
                seconds(Duration::from_secs_f64(sum.max(0.0)))
            } else {
                format!("{sum} {}", metric.unit())
            };
            rows.push([metric.name().to_owned(), attributes, count.to_string(), sum]);
        }
    }
    rows.sort();
    rows
}

fn point_attributes<'a>(attributes: impl Iterator<Item = &'a opentelemetry::KeyValue>) -> String {
    let shown = [
        attr::GEN_AI_REQUEST_MODEL,
        attr::GEN_AI_TOKEN_TYPE,
        attr::ERROR_TYPE,
    ];
    let mut found: Vec<(usize, String)> = attributes
        .filter_map(|kv| {
            let at = shown.iter().position(|key| *key == kv.key.as_str())?;
            Some((at, kv.value.to_string()))
        })
        .collect();
    found.sort();
    found
        .into_iter()
        .map(|(_, value)| value)
        .collect::<Vec<_>>()
        .join(" ")
}

impl PushMetricExporter for TreeMetricExporter {
    async fn export(&self, metrics: &ResourceMetrics) -> OTelSdkResult {
        *self.rows.lock().unwrap_or_else(|e| e.into_inner()) = metric_rows(metrics);
        Ok(())
    }

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        self.write_table()
            .map_err(|e| OTelSdkError::InternalFailure(e.to_string()))
    }

    fn temporality(&self) -> Temporality {
        Temporality::Cumulative
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use opentelemetry::trace::{Span as _, TraceContextExt as _, Tracer as _, TracerProvider as _};
    use opentelemetry::{Context, KeyValue};
    use opentelemetry_sdk::trace::SdkTracerProvider;

    use super::*;

    /// What the exporter wrote, shared with the test.
    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Shared {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }
    }

    fn provider(out: &Shared, look: Look, max_spans: usize) -> SdkTracerProvider {
        SdkTracerProvider::builder()
            .with_simple_exporter(TreeExporter::new(out.clone(), look, max_spans))
            .build()
    }

    const PIPED: Look = Look {
        width: 80,
        color: false,
    };

    /// A function span around a chat call with two HTTP attempts (429, then 200).
    fn one_call(provider: &SdkTracerProvider, prompt: &str) {
        let tracer = provider.tracer("test");
        let root = tracer
            .span_builder("ask")
            .with_attributes([KeyValue::new(attr::OPENAI_PROMPT, prompt.to_owned())])
            .start(&tracer);
        let cx = Context::current_with_span(root);
        let chat = tracer
            .span_builder(attr::SPAN_CHAT_COMPLETION_CREATE)
            .with_attributes([
                KeyValue::new(attr::GEN_AI_OPERATION_NAME, attr::GEN_AI_OPERATION_CHAT),
                KeyValue::new(attr::GEN_AI_REQUEST_MODEL, "gpt-4o"),
                KeyValue::new(attr::GEN_AI_USAGE_INPUT_TOKENS, 30),
                KeyValue::new(attr::GEN_AI_USAGE_OUTPUT_TOKENS, 13),
            ])
            .start_with_context(&tracer, &cx);
        let chat_cx = cx.with_span(chat);
        for status in [429, 200] {
            let mut http = tracer
                .span_builder(attr::SPAN_HTTP_POST)
                .with_attributes([KeyValue::new(attr::HTTP_RESPONSE_STATUS_CODE, status)])
                .start_with_context(&tracer, &chat_cx);
            http.end();
        }
        chat_cx.span().end();
        cx.span().end();
    }

    #[test]
    fn a_trace_is_printed_when_its_root_ends_attempts_on_one_line() {
        let out = Shared::default();
        let provider = provider(&out, PIPED, 100);
        one_call(
            &provider,
            "a prompt long enough to be cut where the line ends, surely",
        );
        let text = out.text();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4, "{text}");
        assert!(
            lines[0].starts_with("ask  \"a prompt long enough to be cut where th…\" "),
            "{text}"
        );
        assert!(lines[1].starts_with("└─ chat gpt-4o  30 in / 13 out tok"));
        assert!(lines[2].starts_with("   └─ HTTP POST 429 → retry → 200 "));
        assert_eq!(
            lines[3].split(" · ").take(2).collect::<Vec<_>>(),
            ["1 call", "30 in / 13 out tokens"]
        );
        for line in &lines[..3] {
            assert_eq!(line.chars().count(), PIPED.width, "right-aligned: {line:?}");
        }
        assert!(!text.contains('\x1b'));
    }

    #[test]
    fn lines_are_cut_to_the_width_and_coloured_on_request() {
        let out = Shared::default();
        let look = Look {
            width: 30,
            color: true,
        };
        one_call(&provider(&out, look, 100), "short");
        let text = out.text();
        assert!(text.contains("\x1b[33m"), "retries in yellow: {text:?}");
        let plain = strip(&text);
        for line in plain.lines().take(3) {
            assert_eq!(line.chars().count(), 30, "{line:?}");
        }
        assert!(plain.lines().nth(1).unwrap().contains('…'));
    }

    fn strip(text: &str) -> String {
        let mut plain = String::new();
        let mut chars = text.chars();
        while let Some(c) = chars.next() {
            if c == '\x1b' {
                chars.by_ref().find(|c| c.is_ascii_alphabetic());
            } else {
                plain.push(c);
            }
        }
        plain
    }

    #[test]
    fn spans_of_other_libraries_and_cancellations_are_in_the_tree() {
        let out = Shared::default();
        let provider = provider(&out, PIPED, 100);
        let web = provider.tracer("axum");
        let request = web.start("GET /ask");
        let cx = Context::current_with_span(request);
        let ours = provider.tracer(crate::INSTRUMENTATION_NAME);
        let mut call = ours
            .span_builder("ask")
            .with_attributes([KeyValue::new(attr::OPENAI_PROMPT, "hi")])
            .start_with_context(&ours, &cx);
        call.set_attribute(KeyValue::new(attr::TRACED_CHAT_CANCELLED, true));
        call.end();
        cx.span().end();
        let text = out.text();
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("GET /ask  "), "{text}");
        assert!(
            lines[1].starts_with("└─ ask  \"hi\"  cancelled  "),
            "{text}"
        );
        assert!(
            lines[2].starts_with("0 calls · 0 in / 0 out tokens · "),
            "{text}"
        );
    }

    #[test]
    fn a_root_that_never_ends_is_printed_at_shutdown_marked() {
        let out = Shared::default();
        let provider = provider(&out, PIPED, 100);
        let tracer = provider.tracer("test");
        let root = tracer.start("server");
        let cx = Context::current_with_span(root);
        let mut child = tracer.start_with_context("work", &cx);
        child.set_status(Status::error("boom"));
        child.end();
        assert_eq!(out.text(), "", "nothing before the root ends");
        provider.shutdown().unwrap();
        let text = out.text();
        assert!(text.starts_with("(a trace whose root span never ended, printed at shutdown)\n"));
        assert!(text.contains("\nwork  ✗ boom "), "{text}");
        drop(cx);
    }

    #[test]
    fn a_trace_past_its_span_limit_is_printed_as_it_goes() {
        let out = Shared::default();
        let provider = provider(&out, PIPED, 3);
        let tracer = provider.tracer("test");
        let cx = Context::current_with_span(tracer.start("batch"));
        for n in 0..5 {
            tracer.start_with_context(format!("item {n}"), &cx).end();
            let printed = out.text().matches("item ").count();
            assert_eq!(printed, if n >= 2 { 3 } else { 0 }, "after item {n}");
        }
        cx.span().end();
        let text = out.text();
        assert!(text.starts_with("(a trace still running: 3 spans printed early)\n"));
        assert_eq!(text.matches("item ").count(), 5);
        assert!(
            text.contains("\nbatch "),
            "the root comes with the rest: {text}"
        );
    }
}

#[cfg(test)]
mod bound {
    use opentelemetry::trace::{SpanContext, TraceFlags, TraceState};
    use opentelemetry_sdk::trace::{SpanEvents, SpanLinks};

    use super::*;

    fn child(trace: u128, span: u64) -> SpanData {
        SpanData {
            span_context: SpanContext::new(
                TraceId::from(trace),
                SpanId::from(span),
                TraceFlags::SAMPLED,
                false,
                TraceState::default(),
            ),
            parent_span_id: SpanId::from(u64::MAX),
            parent_span_is_remote: false,
            span_kind: opentelemetry::trace::SpanKind::Internal,
            name: "child".into(),
            start_time: SystemTime::UNIX_EPOCH,
            end_time: SystemTime::UNIX_EPOCH,
            attributes: Vec::new(),
            dropped_attributes_count: 0,
            events: SpanEvents::default(),
            links: SpanLinks::default(),
            status: Status::Unset,
            instrumentation_scope: Default::default(),
        }
    }

    #[test]
    fn the_traces_held_together_are_bounded_too() {
        let exporter = TreeExporter::new(
            std::io::sink(),
            Look {
                width: 80,
                color: false,
            },
            2,
        );
        let mut printed = 0;
        // Many traces of one span each, none of them over its own limit of 2.
        for n in 0..100u64 {
            let ready = exporter.absorb(vec![child(u128::from(n) + 1, n + 1)]);
            printed += ready.iter().map(|(spans, _)| spans.len()).sum::<usize>();
            let held: usize = exporter.traces.lock().unwrap().values().map(Vec::len).sum();
            assert!(held < 2 * TRACES_HELD, "{held} spans held after {n}");
        }
        assert_eq!(printed + exporter.unfinished().len(), 100);
    }
}
