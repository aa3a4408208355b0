//! What tracing costs where users pay it: chat calls over a real loopback socket, to a local
//! HTTP/1.1 server answering the recorded fixture, through each client's default reqwest
//! transport. See BENCHMARKS.md, "Over a loopback socket".
//!
//! `cargo bench --bench loopback` runs, for a current-thread and a multi-thread client runtime:
//! criterion on each variant, then the paired-rounds report (the variants alternated in rounds;
//! each variant's median per-call time over the rounds, and its added cost over plain
//! async-openai paired round by round), and where each call's time goes (polls per call, time
//! inside and between them). Environment:
//! - `LOOPBACK_ONLY=criterion` or `LOOPBACK_ONLY=paired`: run one of the two;
//! - `LOOPBACK_RUNTIME=current` or `LOOPBACK_RUNTIME=multi`: one client runtime;
//! - `LOOPBACK_ROUNDS` (default 30) and `LOOPBACK_CALLS` (default 200): the rounds' shape;
//! - `LOOPBACK_ONLY=calls LOOPBACK_VARIANT=<name>`: only `LOOPBACK_CALLS` calls of one variant
//!   (named as in the tables) on the first selected runtime, for a profiler (`perf record`,
//!   `valgrind --tool=callgrind`).

use std::future::Future;
use std::hint::black_box;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};
use std::time::{Duration, Instant};

use async_openai::Client;
use async_openai::config::OpenAIConfig;
use criterion::Criterion;
use traced_chat::TracedClient;
use traced_chat::testing::fixtures;

mod common;
use common::*;

/// What one measured call does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Variant {
    /// async-openai's default client, no spans.
    Plain,
    /// The hand-written floor: three spans made with the opentelemetry API around the plain
    /// client's call (instrumentation on only).
    #[cfg_attr(not(feature = "otel"), allow(dead_code))]
    Floor,
    /// `TracedClient` with default settings, called directly.
    TracedClient,
    /// A `#[traced_chat]` function calling the default `TracedClient`.
    TracedChatFn,
    /// A `#[traced_chat]` function calling a `TracedClient` doing the floor's work only (legacy
    /// `openai.*` attributes, no metrics, no `traceparent`).
    BareTracedChatFn,
}

impl Variant {
    #[cfg(feature = "otel")]
    const ALL: [Variant; 5] = [
        Variant::Plain,
        Variant::Floor,
        Variant::TracedClient,
        Variant::TracedChatFn,
        Variant::BareTracedChatFn,
    ];
    #[cfg(not(feature = "otel"))]
    const ALL: [Variant; 4] = [
        Variant::Plain,
        Variant::TracedClient,
        Variant::TracedChatFn,
        Variant::BareTracedChatFn,
    ];

    fn name(self) -> &'static str {
        match self {
            Variant::Plain => "plain_async_openai",
            Variant::Floor => "hand_written_floor",
            Variant::TracedClient => "traced_client",
            Variant::TracedChatFn => "traced_client_in_traced_chat_fn",
            Variant::BareTracedChatFn => "bare_traced_chat_fn",
        }
    }
}

/// The clients of one runtime, each with its own connection pool (one kept-alive connection).
struct Clients {
    plain: Client<OpenAIConfig>,
    traced: TracedClient,
    bare: TracedClient,
    #[cfg(feature = "otel")]
    url: opentelemetry::StringValue,
}

impl Clients {
    fn new(base: &str) -> Arc<Clients> {
        Arc::new(Clients {
            plain: Client::with_config(config_at(base)),
            traced: TracedClient::builder().config(config_at(base)).build(),
            bare: TracedClient::builder()
                .config(config_at(base))
                .semconv(traced_chat::Semconv::Legacy)
                .metrics(false)
                .propagate_trace_context(false)
                .build(),
            #[cfg(feature = "otel")]
            url: opentelemetry::StringValue::from(std::sync::Arc::<str>::from(format!(
                "{base}/chat/completions"
            ))),
        })
    }

    /// One call of `variant`.
    async fn call(&self, variant: Variant) {
        match variant {
            Variant::Plain => {
                black_box(self.plain.chat().create(request()).await.unwrap());
            }
            #[cfg(feature = "otel")]
            Variant::Floor => sdk::floor_at(&self.plain, PROMPT, self.url.clone()).await,
            #[cfg(not(feature = "otel"))]
            Variant::Floor => unreachable!("the floor needs the otel feature"),
            Variant::TracedClient => {
                black_box(self.traced.chat().create(request()).await.unwrap());
            }
            Variant::TracedChatFn => {
                black_box(call(&self.traced, PROMPT).await.unwrap());
            }
            Variant::BareTracedChatFn => {
                black_box(call(&self.bare, PROMPT).await.unwrap());
            }
        }
    }
}

/// Which runtime the client side runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flavor {
    /// `new_current_thread()`, as `benches/overhead.rs`.
    Current,
    /// `new_multi_thread()` with the default worker count, as `#[tokio::main]`.
    Multi,
}

impl Flavor {
    fn name(self) -> &'static str {
        match self {
            Flavor::Current => "current_thread",
            Flavor::Multi => "multi_thread",
        }
    }

    fn runtime(self) -> tokio::runtime::Runtime {
        match self {
            Flavor::Current => tokio::runtime::Builder::new_current_thread(),
            Flavor::Multi => tokio::runtime::Builder::new_multi_thread(),
        }
        .enable_all()
        .build()
        .expect("runtime")
    }
}

/// Runs `calls` calls of `variant` one after the other in a task spawned on `rt` (on a
/// multi-thread runtime, a worker runs it, as it runs a server's handlers), and returns the
/// time they took.
fn run_calls(
    rt: &tokio::runtime::Runtime,
    clients: &Arc<Clients>,
    variant: Variant,
    calls: u64,
) -> Duration {
    let clients = Arc::clone(clients);
    rt.block_on(async move {
        tokio::spawn(async move {
            let start = Instant::now();
            for _ in 0..calls {
                clients.call(variant).await;
            }
            start.elapsed()
        })
        .await
        .expect("calls")
    })
}

fn criterion_runs(
    c: &mut Criterion,
    rt: &tokio::runtime::Runtime,
    clients: &Arc<Clients>,
    flavor: Flavor,
) {
    let mut group = c.benchmark_group(format!("loopback_{}", flavor.name()));
    for variant in Variant::ALL {
        group.bench_function(variant.name(), |b| {
            b.iter_custom(|iters| run_calls(rt, clients, variant, iters))
        });
    }
    group.finish();
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

/// The q-quantile (0..=1) of sorted `values`, nearest rank.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

/// Alternates the variants in `rounds` rounds of `calls` calls each (the order rotated every
/// round), then prints each variant's median per-call time over the rounds and its added cost
/// over plain async-openai, paired round by round.
fn paired_rounds(
    rt: &tokio::runtime::Runtime,
    clients: &Arc<Clients>,
    flavor: Flavor,
    rounds: usize,
    calls: u64,
) {
    let variants = Variant::ALL;
    // Warm-up: connections open, pools and allocator caches filled.
    for &variant in &variants {
        run_calls(rt, clients, variant, calls);
    }
    let mut per_call: Vec<Vec<f64>> = vec![Vec::with_capacity(rounds); variants.len()];
    for round in 0..rounds {
        for k in 0..variants.len() {
            let i = (round + k) % variants.len();
            let elapsed = run_calls(rt, clients, variants[i], calls);
            per_call[i].push(elapsed.as_secs_f64() * 1e6 / calls as f64);
        }
    }
    let plain = &per_call[0];
    let added: Vec<Vec<f64>> = per_call
        .iter()
        .map(|times| times.iter().zip(plain).map(|(t, p)| t - p).collect())
        .collect();
    let floor_index = variants.iter().position(|v| *v == Variant::Floor);
    let floor_added = floor_index.map(|i| median(&mut added[i].clone()));
    let floor_time = floor_index.map(|i| median(&mut per_call[i].clone()));
    println!(
        "\nloopback {} runtime: {rounds} rounds x {calls} calls, per call (µs)",
        flavor.name()
    );
    println!(
        "| variant | median µs [p25, p75] | added over plain (median of paired rounds) | added / floor's added | time / floor's time |"
    );
    println!("| --- | ---: | ---: | ---: | ---: |");
    for (i, variant) in variants.iter().enumerate() {
        let mut times = per_call[i].clone();
        let time = median(&mut times);
        let add = median(&mut added[i].clone());
        let ratio = |x: f64, floor: Option<f64>| match floor {
            Some(f) if i != 0 => format!("{:.2}x", x / f),
            _ => "-".to_owned(),
        };
        println!(
            "| {} | {:.2} [{:.2}, {:.2}] | {} | {} | {} |",
            variant.name(),
            time,
            quantile(&times, 0.25),
            quantile(&times, 0.75),
            if i == 0 {
                "-".to_owned()
            } else {
                format!("{add:+.2} µs")
            },
            ratio(add, floor_added),
            ratio(time, floor_time),
        );
    }
}

/// For each variant: polls of the whole call future per call, and the time spent inside those
/// polls (the caller's thread running our code, async-openai's, reqwest's and the span SDK's)
/// as opposed to between them (waiting for the server, the connection task, the kernel), per
/// call, for the first poll (request built and written), the last (response read, spans
/// ended) and all. Median over `rounds` rounds of `calls` calls, variants alternated.
fn inside_polls(
    rt: &tokio::runtime::Runtime,
    clients: &Arc<Clients>,
    flavor: Flavor,
    rounds: usize,
    calls: u64,
) {
    let variants = Variant::ALL;
    // [polls, first, last, inside, total] per call, per round.
    let mut rows: Vec<Vec<[f64; 5]>> = vec![Vec::with_capacity(rounds); variants.len()];
    for round in 0..rounds {
        for k in 0..variants.len() {
            let i = (round + k) % variants.len();
            let variant = variants[i];
            let clients = Arc::clone(clients);
            let row = rt.block_on(async move {
                tokio::spawn(async move {
                    let mut sums = [0.0; 5];
                    let start = Instant::now();
                    for _ in 0..calls {
                        let mut timed = TimePolls {
                            inner: Box::pin(clients.call(variant)),
                            polls: Vec::with_capacity(4),
                        };
                        (&mut timed).await;
                        let secs = |d: &Duration| d.as_secs_f64() * 1e6;
                        sums[0] += timed.polls.len() as f64;
                        sums[1] += secs(&timed.polls[0]);
                        sums[2] += secs(timed.polls.last().expect("polled"));
                        sums[3] += timed.polls.iter().map(secs).sum::<f64>();
                    }
                    sums[4] = start.elapsed().as_secs_f64() * 1e6;
                    sums.map(|sum| sum / calls as f64)
                })
                .await
                .expect("calls")
            });
            rows[i].push(row);
        }
    }
    println!(
        "\nloopback {} runtime: inside the polls, {rounds} rounds x {calls} calls, per call (median over rounds)",
        flavor.name()
    );
    println!(
        "| variant | polls | first poll µs | last poll µs | all polls µs | between polls µs | total µs |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    for (i, variant) in variants.iter().enumerate() {
        let column = |j: usize| median(&mut rows[i].iter().map(|r| r[j]).collect::<Vec<_>>());
        let between = median(&mut rows[i].iter().map(|r| r[4] - r[3]).collect::<Vec<_>>());
        println!(
            "| {} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} |",
            variant.name(),
            column(0),
            column(1),
            column(2),
            column(3),
            between,
            column(4),
        );
    }
}

/// Times each poll of the future it wraps.
struct TimePolls<F> {
    inner: Pin<Box<F>>,
    polls: Vec<Duration>,
}

impl<F: Future> Future for &mut TimePolls<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<F::Output> {
        let start = Instant::now();
        let poll = self.inner.as_mut().poll(cx);
        let elapsed = start.elapsed();
        self.polls.push(elapsed);
        poll
    }
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let base = serve_loopback(fixtures::CHAT_COMPLETION);
    #[cfg(feature = "otel")]
    let _provider = sdk::install_batch();
    let only = std::env::var("LOOPBACK_ONLY").unwrap_or_default();
    let flavors: Vec<Flavor> = match std::env::var("LOOPBACK_RUNTIME").as_deref() {
        Ok("current") => vec![Flavor::Current],
        Ok("multi") => vec![Flavor::Multi],
        _ => vec![Flavor::Current, Flavor::Multi],
    };
    let rounds = env_number("LOOPBACK_ROUNDS", 30) as usize;
    let calls = env_number("LOOPBACK_CALLS", 200);
    let mut criterion = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(50)
        .configure_from_args();
    if only == "calls" {
        let name = std::env::var("LOOPBACK_VARIANT").unwrap_or_default();
        let Some(variant) = Variant::ALL.into_iter().find(|v| v.name() == name) else {
            panic!(
                "LOOPBACK_VARIANT: one of {:?}",
                Variant::ALL.map(Variant::name)
            );
        };
        let rt = flavors[0].runtime();
        let clients = Clients::new(&base);
        let elapsed = run_calls(&rt, &clients, variant, calls);
        println!(
            "{} calls of {name}: {:.2} µs per call",
            calls,
            elapsed.as_secs_f64() * 1e6 / calls.max(1) as f64
        );
        return;
    }
    for flavor in flavors {
        let rt = flavor.runtime();
        let clients = Clients::new(&base);
        if only != "paired" {
            criterion_runs(&mut criterion, &rt, &clients, flavor);
        }
        if only != "criterion" {
            inside_polls(&rt, &clients, flavor, rounds, calls);
            paired_rounds(&rt, &clients, flavor, rounds, calls);
        }
    }
    criterion.final_summary();
}
