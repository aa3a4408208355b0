//! What a client is configured with, independent of whether instrumentation is compiled in: the
//! attribute vocabulary ([`Semconv`]) and the builder's choices ([`ClientOptions`]).

use std::borrow::Cow;

use crate::attributes::ENV_SEMCONV_STABILITY_OPT_IN;

/// Which attribute vocabulary the client spans use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Semconv {
    /// The legacy OpenAI attribute names (`openai.*`) and the GenAI conventions' `gen_ai.*` ones
    /// on one span named `openai.ChatCompletion.create` (the default).
    #[default]
    Both,
    /// The GenAI semantic conventions only, span named `chat {gen_ai.request.model}`
    /// (what `OTEL_SEMCONV_STABILITY_OPT_IN=gen_ai_latest_experimental` selects).
    GenAi,
    /// The legacy OpenAI attribute names only (`openai.create.model`, `openai.usage.*`, …).
    Legacy,
}

impl Semconv {
    /// The default: [`Semconv::GenAi`] when `OTEL_SEMCONV_STABILITY_OPT_IN` lists
    /// `gen_ai_latest_experimental`, else [`Semconv::Both`].
    pub fn from_env() -> Self {
        let opt_in = std::env::var(ENV_SEMCONV_STABILITY_OPT_IN).unwrap_or_default();
        if opt_in
            .split(',')
            .any(|v| v.trim() == "gen_ai_latest_experimental")
        {
            Semconv::GenAi
        } else {
            Semconv::Both
        }
    }

    /// Whether the legacy OpenAI attribute names (`openai.*`) are recorded.
    pub fn legacy(self) -> bool {
        matches!(self, Semconv::Both | Semconv::Legacy)
    }

    /// Whether the GenAI conventions' attributes are recorded.
    pub fn genai(self) -> bool {
        matches!(self, Semconv::Both | Semconv::GenAi)
    }
}

/// The recording choices of a [`TracedClientBuilder`](crate::TracedClientBuilder), as the
/// instrumented implementation reads them (the pass-through one ignores them).
#[derive(Debug, Clone, Default)]
pub(crate) struct ClientOptions {
    pub(crate) semconv: Option<Semconv>,
    pub(crate) capture_content: Option<bool>,
    pub(crate) provider_name: Option<Cow<'static, str>>,
    pub(crate) include_usage: bool,
    pub(crate) metrics: Option<bool>,
    pub(crate) propagate: Option<bool>,
    pub(crate) max_retries: Option<usize>,
    #[cfg(feature = "otel")]
    pub(crate) tracer: Option<std::sync::Arc<opentelemetry::global::BoxedTracer>>,
    #[cfg(feature = "otel")]
    pub(crate) meter: Option<opentelemetry::metrics::Meter>,
}
