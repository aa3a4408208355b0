//! `init::otlp()` exports spans and metrics over OTLP/HTTP to the endpoint named by the standard
//! `OTEL_EXPORTER_OTLP_ENDPOINT` variable, with the service name, resource attributes and headers
//! of the other standard variables (own process: it installs global providers).

use common::contains;
use traced_chat::testing::MockOpenAI;
use traced_chat::traced_chat;

mod common;

#[traced_chat(name = "otlp-test-span")]
async fn ask(client: &traced_chat::TracedClient, prompt: &str) -> Option<String> {
    use async_openai::types::chat::{
        ChatCompletionRequestUserMessage, CreateChatCompletionRequestArgs,
    };
    let request = CreateChatCompletionRequestArgs::default()
        .model("otlp-model")
        .messages([ChatCompletionRequestUserMessage::from(prompt).into()])
        .build()
        .ok()?;
    client
        .chat()
        .create(request)
        .await
        .ok()?
        .choices
        .pop()?
        .message
        .content
}

#[tokio::test(flavor = "multi_thread")]
async fn otlp_setup_exports_spans_and_metrics() {
    let collector = common::otlp_receiver().await;
    // SAFETY of the test: this process has one test, which sets the variable before any thread
    // reads it.
    unsafe {
        std::env::set_var("OTEL_EXPORTER_OTLP_ENDPOINT", collector.uri());
        std::env::set_var("OTEL_SERVICE_NAME", "otlp-test-service");
        std::env::set_var(
            "OTEL_RESOURCE_ATTRIBUTES",
            "deployment.environment.name=otlp-test-env",
        );
        std::env::set_var("OTEL_EXPORTER_OTLP_HEADERS", "x-tenant=otlp-test-tenant");
    }
    let guard = traced_chat::init::otlp().expect("exporter builds");
    let mock = MockOpenAI::start().await;
    let client = mock.client();
    assert!(ask(&client, "hello").await.is_some());
    // Dropping the guard flushes and shuts down (blocking exporters: off the async thread).
    tokio::task::spawn_blocking(move || drop(guard))
        .await
        .unwrap();

    let requests = collector.received_requests().await.unwrap();
    let traces: Vec<_> = requests
        .iter()
        .filter(|r| r.url.path() == "/v1/traces")
        .collect();
    let metrics: Vec<_> = requests
        .iter()
        .filter(|r| r.url.path() == "/v1/metrics")
        .collect();
    assert!(!traces.is_empty(), "spans exported");
    assert!(!metrics.is_empty(), "metrics exported");
    assert!(traces.iter().any(|r| contains(&r.body, "otlp-test-span")));
    assert!(traces.iter().any(|r| contains(&r.body, "HTTP POST")));
    assert!(
        metrics
            .iter()
            .any(|r| contains(&r.body, "gen_ai.client.operation.duration"))
    );
    for request in traces.iter().chain(&metrics) {
        assert_eq!(
            request.headers.get("content-type").unwrap(),
            "application/x-protobuf"
        );
        // The standard variables configure the exporter and the resource.
        assert_eq!(request.headers.get("x-tenant").unwrap(), "otlp-test-tenant");
        assert!(
            contains(&request.body, "otlp-test-service"),
            "OTEL_SERVICE_NAME"
        );
        assert!(
            contains(&request.body, "otlp-test-env"),
            "OTEL_RESOURCE_ATTRIBUTES"
        );
    }

    // OTEL_EXPORTER_OTLP_COMPRESSION=gzip compresses what is sent; OTEL_METRICS_EXPORTER=none
    // (for backends that take traces only) sends no metrics.
    collector.reset().await;
    common::mount_otlp(&collector).await;
    // SAFETY of the test: as above; the previous providers are shut down.
    unsafe {
        std::env::set_var("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip");
        std::env::set_var("OTEL_METRICS_EXPORTER", "none");
    }
    let guard = traced_chat::init::otlp().expect("exporter builds");
    let client = mock.client();
    assert!(ask(&client, "compressed").await.is_some());
    tokio::task::spawn_blocking(move || guard.shutdown().expect("clean shutdown"))
        .await
        .unwrap();
    let requests = collector.received_requests().await.unwrap();
    assert!(requests.iter().any(|r| r.url.path() == "/v1/traces"));
    assert!(
        requests.iter().all(|r| r.url.path() != "/v1/metrics"),
        "no metrics"
    );
    for request in &requests {
        assert_eq!(request.headers.get("content-encoding").unwrap(), "gzip");
        assert_eq!(&request.body[..2], [0x1f, 0x8b], "a gzip stream");
    }
}
