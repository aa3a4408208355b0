//! Helpers shared by the tests that run the example binaries or receive OTLP: where a binary is,
//! a hermetic environment for it, a local OTLP/HTTP receiver, and a byte search.
#![allow(dead_code)] // each test file uses part of it

use std::path::PathBuf;
use std::process::Command;

use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// The example binary `name`, built by this same `cargo test` run. Run the whole `cargo test`:
/// running one test target alone after a build with other features would run a stale binary.
#[track_caller]
pub fn example_binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let bin = exe
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.exists(),
        "cargo test builds the examples: {} missing",
        bin.display()
    );
    bin
}

/// A command for the example `name` that inherits none of this process's telemetry, content or
/// OpenAI settings (`OTEL_*`, `TRACED_CHAT_*`, `OPENAI_API_KEY`, `OPENAI_BASE_URL`): the example
/// runs offline and exports to the console unless the test says otherwise.
#[track_caller]
pub fn example_command(name: &str) -> Command {
    let mut command = Command::new(example_binary(name));
    for (variable, _) in std::env::vars_os() {
        let variable_name = variable.to_string_lossy();
        if variable_name.starts_with("OTEL_") || variable_name.starts_with("TRACED_CHAT_") {
            command.env_remove(&variable);
        }
    }
    command
        .env_remove("OPENAI_API_KEY")
        .env_remove("OPENAI_BASE_URL");
    command
}

/// Makes `server` answer 200 to OTLP/HTTP spans (`/v1/traces`) and metrics (`/v1/metrics`).
pub async fn mount_otlp(server: &MockServer) {
    for signal in ["/v1/traces", "/v1/metrics"] {
        Mock::given(method("POST"))
            .and(path(signal))
            .respond_with(ResponseTemplate::new(200))
            .mount(server)
            .await;
    }
}

/// A local OTLP/HTTP receiver (see [`mount_otlp`]); its requests are what was exported.
pub async fn otlp_receiver() -> MockServer {
    let receiver = MockServer::start().await;
    mount_otlp(&receiver).await;
    receiver
}

/// Whether `needle` occurs in `haystack`.
pub fn contains(haystack: &[u8], needle: impl AsRef<[u8]>) -> bool {
    let needle = needle.as_ref();
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}
