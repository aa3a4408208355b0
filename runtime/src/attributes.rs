//! Names of every attribute, event and metric traced-chat records, in one place.
//!
//! The seed vocabulary (`openai.*`) comes from the Python story this crate reproduces; the HTTP
//! names follow the [OpenTelemetry HTTP semantic conventions]
//! (both the legacy `http.method`/`http.url`/`http.status_code` and the current names).
//!
//! [OpenTelemetry HTTP semantic conventions]: https://opentelemetry.io/docs/specs/semconv/http/http-spans/

/// The prompt a `#[traced_chat]` function was called with.
pub const OPENAI_PROMPT: &str = "openai.prompt";
/// The text of the answer a `#[traced_chat]` function returned.
pub const OPENAI_RESPONSE: &str = "openai.response";
/// Number of choices in the answer a `#[traced_chat]` function returned (only when more than one).
pub const OPENAI_RESPONSE_CHOICE_COUNT: &str = "openai.response.choice_count";

/// Span name of the client span of a chat completion (the seed's name).
pub const SPAN_CHAT_COMPLETION_CREATE: &str = "openai.ChatCompletion.create";
/// Span name of one HTTP attempt.
pub const SPAN_HTTP_POST: &str = "HTTP POST";

/// The model the request asked for.
pub const OPENAI_CREATE_MODEL: &str = "openai.create.model";
/// The token limit of the request (`max_completion_tokens`, or the deprecated `max_tokens`).
pub const OPENAI_CREATE_MAX_TOKENS: &str = "openai.create.max_tokens";
/// The sampling temperature of the request.
pub const OPENAI_CREATE_TEMPERATURE: &str = "openai.create.temperature";
/// The id of the completion the server returned.
pub const OPENAI_RESPONSE_ID: &str = "openai.response.id";
/// The `created` Unix timestamp of the completion.
pub const OPENAI_RESPONSE_CREATED: &str = "openai.response.created";
/// Tokens in the prompt, as reported by the server.
pub const OPENAI_USAGE_PROMPT_TOKENS: &str = "openai.usage.prompt_tokens";
/// Tokens in the completion, as reported by the server.
pub const OPENAI_USAGE_COMPLETION_TOKENS: &str = "openai.usage.completion_tokens";
/// Total tokens, as reported by the server.
pub const OPENAI_USAGE_TOTAL_TOKENS: &str = "openai.usage.total_tokens";

/// HTTP method, legacy name (the seed's).
pub const HTTP_METHOD: &str = "http.method";
/// Full request URL, legacy name (the seed's).
pub const HTTP_URL: &str = "http.url";
/// HTTP response status, legacy name (the seed's).
pub const HTTP_STATUS_CODE: &str = "http.status_code";
/// HTTP method, [current name](https://opentelemetry.io/docs/specs/semconv/registry/attributes/http/).
pub const HTTP_REQUEST_METHOD: &str = "http.request.method";
/// Full request URL, [current name](https://opentelemetry.io/docs/specs/semconv/registry/attributes/url/).
pub const URL_FULL: &str = "url.full";
/// HTTP response status, [current name](https://opentelemetry.io/docs/specs/semconv/registry/attributes/http/).
pub const HTTP_RESPONSE_STATUS_CODE: &str = "http.response.status_code";

/// Low-cardinality class of an error: the API's error code, else the HTTP status, else a kind
/// such as `timeout` or `connect` ([error.type](https://opentelemetry.io/docs/specs/semconv/registry/attributes/error/)).
pub const ERROR_TYPE: &str = "error.type";
/// Set to `true` on a span whose future or stream was dropped before it finished.
pub const TRACED_CHAT_CANCELLED: &str = "traced_chat.cancelled";

/// The W3C trace-context header injected into each HTTP attempt.
pub const TRACEPARENT_HEADER: &str = "traceparent";
