//! The otlp example against a collector that takes traces only (as Phoenix and Jaeger do): it
//! refuses metrics with a 4xx status. One line says so, metrics stop, the shutdown is clean, and
//! the hints name the address actually used.
//!
//! The example binary is built by this same `cargo test` run (with the `otlp` feature).

use std::process::Stdio;

use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

mod common;

#[tokio::test(flavor = "multi_thread")]
async fn a_collector_refusing_metrics_gets_one_line_and_no_more_metrics() {
    let collector = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/traces"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&collector)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/metrics"))
        .respond_with(ResponseTemplate::new(404))
        .mount(&collector)
        .await;
    let endpoint = collector.uri();
    let mut command = common::example_command("otlp");
    command
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint)
        .env("OTEL_SERVICE_NAME", "refused-metrics-test")
        // Two metric exports during the run, then the one at shutdown.
        .env("OTEL_METRIC_EXPORT_INTERVAL", "1")
        .stdin(Stdio::null());
    let output = tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(output.status.success(), "{stderr}");

    let refusals: Vec<&str> = stderr
        .lines()
        .filter(|line| line.contains("refused metrics"))
        .collect();
    assert_eq!(refusals.len(), 1, "one line: {stderr}");
    assert!(refusals[0].contains("404"), "{}", refusals[0]);
    assert!(
        refusals[0].contains("OTEL_METRICS_EXPORTER=none"),
        "{}",
        refusals[0]
    );
    assert!(!stderr.contains("shutdown failed"), "{stderr}");

    let requests = collector.received_requests().await.unwrap();
    let metrics = requests
        .iter()
        .filter(|r| r.url.path() == "/v1/metrics")
        .count();
    assert_eq!(metrics, 1, "no metrics after the refusal");
    assert!(requests.iter().any(|r| r.url.path() == "/v1/traces"));

    let port = collector.address().port();
    let hint = stderr
        .lines()
        .find(|line| line.starts_with("trace sent to"))
        .unwrap_or_else(|| panic!("{stderr}"));
    assert!(
        hint.starts_with(&format!("trace sent to {endpoint}:")),
        "{hint}"
    );
    assert!(
        hint.contains(&format!("http://127.0.0.1:{port} when Phoenix")),
        "{hint}"
    );
    assert!(
        hint.contains("http://127.0.0.1:16686 (service refused-metrics-test)"),
        "{hint}"
    );
    assert!(!hint.contains("localhost:6006"), "{hint}");
}
