//! What tracing costs: network-free chat calls (async-openai's HTTP hook answered in-process with
//! the recorded fixture), streaming, and content sizes. See BENCHMARKS.md.
//!
//! `cargo bench --bench overhead` (instrumentation on), and
//! `cargo bench --bench overhead --no-default-features --features testing` (off).

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use futures_util::StreamExt as _;
use traced_chat::testing::fixtures;

mod common;
use common::*;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

fn chat_call(c: &mut Criterion) {
    let rt = runtime();
    let json = "application/json";
    let plain = plain_client(fixtures::CHAT_COMPLETION, json);
    #[cfg(feature = "otel")]
    let provider = sdk::install_batch();
    let traced = traced_client(fixtures::CHAT_COMPLETION, json);
    let bare = bare_client(fixtures::CHAT_COMPLETION, json);

    let mut group = c.benchmark_group("chat_call");
    group.bench_function("plain_async_openai", |b| {
        b.to_async(&rt)
            .iter(|| async { black_box(plain.chat().create(request()).await.unwrap()) })
    });
    group.bench_function("traced_client", |b| {
        b.to_async(&rt)
            .iter(|| async { black_box(traced.chat().create(request()).await.unwrap()) })
    });
    group.bench_function("traced_client_in_traced_chat_fn", |b| {
        b.to_async(&rt)
            .iter(|| async { black_box(call(&traced, PROMPT).await.unwrap()) })
    });
    group.bench_function("bare_traced_chat_fn", |b| {
        b.to_async(&rt)
            .iter(|| async { black_box(call(&bare, PROMPT).await.unwrap()) })
    });
    #[cfg(feature = "otel")]
    {
        group.bench_function("hand_written_floor", |b| {
            b.to_async(&rt).iter(|| sdk::floor(&plain, PROMPT))
        });
        sdk::install_noop();
        group.bench_function("traced_chat_fn_noop_provider", |b| {
            b.to_async(&rt)
                .iter(|| async { black_box(call(&traced, PROMPT).await.unwrap()) })
        });
        opentelemetry::global::set_tracer_provider(provider.clone());
    }
    group.finish();
}

fn streaming(c: &mut Criterion) {
    let rt = runtime();
    // The fixture's content chunks repeated to 1,000 chunks, then the finish and usage chunks.
    let lines: Vec<&str> = fixtures::CHAT_STREAM_WITH_USAGE
        .split("\n\n")
        .filter(|l| l.starts_with("data: {"))
        .collect();
    let (content, tail) = (&lines[1..10], &lines[10..]);
    let mut body = String::from(lines[0]);
    body.push_str("\n\n");
    for i in 0..(1000 - 1 - tail.len()) {
        body.push_str(content[i % content.len()]);
        body.push_str("\n\n");
    }
    for line in tail {
        body.push_str(line);
        body.push_str("\n\n");
    }
    body.push_str("data: [DONE]\n\n");
    let body: &'static str = Box::leak(body.into_boxed_str());
    let sse = "text/event-stream";
    let plain = plain_client(body, sse);
    #[cfg(feature = "otel")]
    let _provider = sdk::install_batch();
    let traced = traced_client(body, sse);

    let mut group = c.benchmark_group("stream_1000_chunks");
    group.throughput(Throughput::Elements(1000));
    group.bench_function("plain_async_openai", |b| {
        b.to_async(&rt).iter(|| async {
            let mut stream = plain.chat().create_stream(request()).await.unwrap();
            let mut n = 0;
            while let Some(item) = stream.next().await {
                black_box(item.unwrap());
                n += 1;
            }
            assert_eq!(n, 1000);
        })
    });
    group.bench_function("traced_client", |b| {
        b.to_async(&rt).iter(|| async {
            let mut stream = traced.chat().create_stream(request()).await.unwrap();
            let mut n = 0;
            while let Some(item) = stream.next().await {
                black_box(item.unwrap());
                n += 1;
            }
            assert_eq!(n, 1000);
        })
    });
    group.finish();
}

fn content_size(c: &mut Criterion) {
    #[cfg(feature = "otel")]
    let _provider = sdk::install_batch();
    let mut group = c.benchmark_group("content_size");
    for size in [1 << 10, 64 << 10, 1 << 20] {
        let prompt = "p".repeat(size);
        let response = "r".repeat(size);
        group.bench_with_input(BenchmarkId::new("plain_fn", size), &size, |b, _| {
            b.iter(|| black_box(plain_answer(black_box(&prompt), black_box(&response))))
        });
        group.bench_with_input(BenchmarkId::new("traced_chat_fn", size), &size, |b, _| {
            b.iter(|| black_box(answer(black_box(&prompt), black_box(&response))))
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(50);
    targets = chat_call, streaming, content_size
}
criterion_main!(benches);
