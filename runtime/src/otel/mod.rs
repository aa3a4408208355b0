//! The instrumented implementation, compiled with the `otel` feature: spans, metrics and
//! context propagation. [`crate::noop`] is the pass-through one with the same signatures; the
//! crate root picks one of them, once, as `crate::backend`.

mod attrs;
mod call;
pub(crate) mod chat;
pub(crate) mod console;
pub(crate) mod embeddings;
mod http;
mod metrics;
mod settings;
pub(crate) mod setup;
mod span;
mod stream;
pub(crate) mod telemetry;
pub(crate) mod tree;

use async_openai::Client;
use async_openai::config::OpenAIConfig;

pub(crate) use self::settings::Settings;
pub(crate) use self::span::SpanRef;
pub use self::span::{DeferredSpan, FnSpan};
use self::stream::StreamCall;

/// The call behind a [`TracedChatStream`](crate::TracedChatStream).
pub(crate) type ChatStreamCall = StreamCall<chat::ChatOp>;

/// The async-openai client of a [`TracedClient`](crate::TracedClient): its HTTP attempts go
/// through async-openai's retry layer and then one `HTTP POST` span each.
pub(crate) fn client(
    inner: Client<OpenAIConfig>,
    transport: crate::transport::Transport,
    settings: &Settings,
    max_retries: Option<usize>,
) -> Client<OpenAIConfig> {
    let retry = async_openai::middleware::retry::OpenAIRetryLayer::new(max_retries.unwrap_or(3));
    let traced = http::TracedHttpService::new(transport, settings);
    inner.with_http_service(tower::ServiceBuilder::new().layer(retry).service(traced))
}
