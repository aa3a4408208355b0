//! Runs one variant of the network-free chat call N times, for `valgrind --tool=callgrind`
//! (instruction counts are stable on a noisy machine, unlike wall time). Used by
//! `scripts/callgrind.sh`, which subtracts a 0-call run and divides by N.
//!
//! `cargo bench --bench instructions` alone runs every variant once, as a smoke test.

use std::hint::black_box;

use traced_chat::testing::fixtures;

mod common;
use common::*;

fn main() {
    let mut args = std::env::args().skip(1).filter(|a| !a.starts_with("--"));
    let variant = args.next();
    let calls: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(1);
    let variants = [
        "plain",
        "traced_client",
        "traced_fn",
        "bare_fn",
        "floor",
        "noop",
        "content_1k",
        "content_64k",
        "content_1m",
    ];
    let texts = |size: usize| ("p".repeat(size), "r".repeat(size));
    let (p1k, r1k) = texts(1 << 10);
    let (p64k, r64k) = texts(64 << 10);
    let (p1m, r1m) = texts(1 << 20);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let json = "application/json";
    let plain = plain_client(fixtures::CHAT_COMPLETION, json);
    #[cfg(feature = "otel")]
    let _provider = sdk::install_batch();
    let traced = traced_client(fixtures::CHAT_COMPLETION, json);
    let bare = bare_client(fixtures::CHAT_COMPLETION, json);
    let selected: Vec<&str> = match variant.as_deref() {
        Some(v) => vec![v],
        None => variants.to_vec(),
    };
    for variant in selected {
        #[cfg(feature = "otel")]
        if variant == "noop" {
            sdk::install_noop();
        }
        rt.block_on(async {
            for _ in 0..calls {
                match variant {
                    "plain" => {
                        black_box(plain.chat().create(request()).await.unwrap());
                    }
                    "traced_client" => {
                        black_box(traced.chat().create(request()).await.unwrap());
                    }
                    "bare_fn" => {
                        black_box(call(&bare, PROMPT).await.unwrap());
                    }
                    "traced_fn" | "noop" => {
                        black_box(call(&traced, PROMPT).await.unwrap());
                    }
                    "content_1k" => {
                        black_box(answer(black_box(&p1k), black_box(&r1k)));
                    }
                    "content_64k" => {
                        black_box(answer(black_box(&p64k), black_box(&r64k)));
                    }
                    "content_1m" => {
                        black_box(answer(black_box(&p1m), black_box(&r1m)));
                    }
                    #[cfg(feature = "otel")]
                    "floor" => sdk::floor(&plain, PROMPT).await,
                    #[cfg(not(feature = "otel"))]
                    "floor" => {}
                    other => panic!("unknown variant {other}; one of {variants:?}"),
                }
            }
        });
    }
}
