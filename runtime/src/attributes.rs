//! Names of every attribute, event and metric traced-chat records, in one place.
//!
//! The legacy OpenAI attribute names (`openai.*`) are the ones early OpenAI instrumentations
//! used, kept so that existing dashboards keep working; the GenAI names follow the OpenTelemetry
//! GenAI semantic conventions; the HTTP names follow the [OpenTelemetry HTTP semantic conventions]
//! (both the legacy `http.method`/`http.url`/`http.status_code` and the current names).
//!
//! [OpenTelemetry HTTP semantic conventions]: https://opentelemetry.io/docs/specs/semconv/http/http-spans/

/// The prompt a `#[traced_chat]` function was called with.
pub const OPENAI_PROMPT: &str = "openai.prompt";
/// The text of the answer a `#[traced_chat]` function returned.
pub const OPENAI_RESPONSE: &str = "openai.response";
/// Number of choices in the answer a `#[traced_chat]` function returned (only when more than one).
pub const OPENAI_RESPONSE_CHOICE_COUNT: &str = "openai.response.choice_count";

/// Span name of the client span of a chat completion (legacy name).
pub const SPAN_CHAT_COMPLETION_CREATE: &str = "openai.ChatCompletion.create";
/// Span name of the client span of an embeddings request (legacy name).
pub const SPAN_EMBEDDING_CREATE: &str = "openai.Embedding.create";
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

/// HTTP method, legacy name.
pub const HTTP_METHOD: &str = "http.method";
/// Full request URL, legacy name.
pub const HTTP_URL: &str = "http.url";
/// HTTP response status, legacy name.
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
/// Number of choices the answer had, recorded on the client span when more than
/// [`max_items`](crate::content::max_items) arrived (the others are not recorded).
pub const TRACED_CHAT_RESPONSE_CHOICE_COUNT: &str = "traced_chat.response.choice_count";
/// Number of tool calls the answer's choices had, recorded on the client span when some were not
/// recorded (more than [`max_items`](crate::content::max_items) in a choice).
pub const TRACED_CHAT_RESPONSE_TOOL_CALL_COUNT: &str = "traced_chat.response.tool_call_count";
/// Set to `true` on a span some of whose variable-size attributes were left out or cut to keep
/// within [`max_span_content`](crate::content::max_span_content).
pub const TRACED_CHAT_CONTENT_TRUNCATED: &str = "traced_chat.content.truncated";

/// The W3C trace-context header injected into each HTTP attempt.
pub const TRACEPARENT_HEADER: &str = "traceparent";

/// Byte length of the prompt before any truncation (recorded even when content is not).
pub const OPENAI_PROMPT_LENGTH: &str = "openai.prompt.length";
/// Byte length of the response before any truncation (recorded even when content is not).
pub const OPENAI_RESPONSE_LENGTH: &str = "openai.response.length";

// --- OpenTelemetry GenAI semantic conventions -------------------------------------------------
// https://opentelemetry.io/docs/specs/semconv/gen-ai/gen-ai-spans/ (v1.41.0; GenAI now lives in
// open-telemetry/semantic-conventions-genai). Defined here because the
// `opentelemetry-semantic-conventions` crate marks them experimental/deprecated.

/// [`gen_ai.operation.name`](https://opentelemetry.io/docs/specs/semconv/registry/attributes/gen-ai/): `chat`.
pub const GEN_AI_OPERATION_NAME: &str = "gen_ai.operation.name";
/// The value of [`GEN_AI_OPERATION_NAME`] for chat completions.
pub const GEN_AI_OPERATION_CHAT: &str = "chat";
/// The value of [`GEN_AI_OPERATION_NAME`] for embeddings.
pub const GEN_AI_OPERATION_EMBEDDINGS: &str = "embeddings";
/// `gen_ai.request.encoding_formats` (string array: `float`, `base64`).
pub const GEN_AI_REQUEST_ENCODING_FORMATS: &str = "gen_ai.request.encoding_formats";
/// `gen_ai.embeddings.dimension.count`: the requested dimensions, else the returned vectors'.
pub const GEN_AI_EMBEDDINGS_DIMENSION_COUNT: &str = "gen_ai.embeddings.dimension.count";
/// Number of vectors an embeddings answer returned (legacy name).
pub const OPENAI_RESPONSE_EMBEDDING_COUNT: &str = "openai.response.embedding_count";
/// [`gen_ai.provider.name`](https://opentelemetry.io/docs/specs/semconv/registry/attributes/gen-ai/): `openai` unless configured.
pub const GEN_AI_PROVIDER_NAME: &str = "gen_ai.provider.name";
/// The default value of [`GEN_AI_PROVIDER_NAME`].
pub const GEN_AI_PROVIDER_OPENAI: &str = "openai";
/// `gen_ai.request.model`.
pub const GEN_AI_REQUEST_MODEL: &str = "gen_ai.request.model";
/// `gen_ai.request.max_tokens`.
pub const GEN_AI_REQUEST_MAX_TOKENS: &str = "gen_ai.request.max_tokens";
/// `gen_ai.request.temperature`.
pub const GEN_AI_REQUEST_TEMPERATURE: &str = "gen_ai.request.temperature";
/// `gen_ai.request.top_p`.
pub const GEN_AI_REQUEST_TOP_P: &str = "gen_ai.request.top_p";
/// `gen_ai.request.frequency_penalty`.
pub const GEN_AI_REQUEST_FREQUENCY_PENALTY: &str = "gen_ai.request.frequency_penalty";
/// `gen_ai.request.presence_penalty`.
pub const GEN_AI_REQUEST_PRESENCE_PENALTY: &str = "gen_ai.request.presence_penalty";
/// `gen_ai.request.stop_sequences` (string array).
pub const GEN_AI_REQUEST_STOP_SEQUENCES: &str = "gen_ai.request.stop_sequences";
/// `gen_ai.request.seed`.
pub const GEN_AI_REQUEST_SEED: &str = "gen_ai.request.seed";
/// `gen_ai.request.choice.count` (only when not 1).
pub const GEN_AI_REQUEST_CHOICE_COUNT: &str = "gen_ai.request.choice.count";
/// `gen_ai.request.stream` (only when streaming).
pub const GEN_AI_REQUEST_STREAM: &str = "gen_ai.request.stream";
/// `gen_ai.output.type` (`text`, `json`, … when the request asks for a format).
pub const GEN_AI_OUTPUT_TYPE: &str = "gen_ai.output.type";
/// `gen_ai.response.id`.
pub const GEN_AI_RESPONSE_ID: &str = "gen_ai.response.id";
/// `gen_ai.response.model`.
pub const GEN_AI_RESPONSE_MODEL: &str = "gen_ai.response.model";
/// `gen_ai.response.finish_reasons` (string array, one per choice).
pub const GEN_AI_RESPONSE_FINISH_REASONS: &str = "gen_ai.response.finish_reasons";
/// `gen_ai.response.time_to_first_chunk` (seconds, streaming only).
pub const GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK: &str = "gen_ai.response.time_to_first_chunk";
/// `gen_ai.usage.input_tokens`.
pub const GEN_AI_USAGE_INPUT_TOKENS: &str = "gen_ai.usage.input_tokens";
/// `gen_ai.usage.output_tokens`.
pub const GEN_AI_USAGE_OUTPUT_TOKENS: &str = "gen_ai.usage.output_tokens";
/// `gen_ai.usage.cache_read.input_tokens`.
pub const GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: &str = "gen_ai.usage.cache_read.input_tokens";
/// `gen_ai.usage.reasoning.output_tokens`.
pub const GEN_AI_USAGE_REASONING_OUTPUT_TOKENS: &str = "gen_ai.usage.reasoning.output_tokens";
/// `gen_ai.input.messages` (opt-in content, JSON).
pub const GEN_AI_INPUT_MESSAGES: &str = "gen_ai.input.messages";
/// `gen_ai.output.messages` (opt-in content, JSON).
pub const GEN_AI_OUTPUT_MESSAGES: &str = "gen_ai.output.messages";
/// `gen_ai.system_instructions` (opt-in content, JSON).
pub const GEN_AI_SYSTEM_INSTRUCTIONS: &str = "gen_ai.system_instructions";
/// `gen_ai.token.type` on the token-usage metric: `input` or `output`.
pub const GEN_AI_TOKEN_TYPE: &str = "gen_ai.token.type";
/// [`server.address`](https://opentelemetry.io/docs/specs/semconv/registry/attributes/server/).
pub const SERVER_ADDRESS: &str = "server.address";
/// [`server.port`](https://opentelemetry.io/docs/specs/semconv/registry/attributes/server/).
pub const SERVER_PORT: &str = "server.port";
/// `openai.api.type`: `chat_completions`.
pub const OPENAI_API_TYPE: &str = "openai.api.type";
/// `openai.request.service_tier` (when not `auto`).
pub const OPENAI_REQUEST_SERVICE_TIER: &str = "openai.request.service_tier";
/// `openai.response.service_tier`.
pub const OPENAI_RESPONSE_SERVICE_TIER: &str = "openai.response.service_tier";
/// `openai.response.system_fingerprint`.
pub const OPENAI_RESPONSE_SYSTEM_FINGERPRINT: &str = "openai.response.system_fingerprint";
/// Names of the tools the response called (string array).
pub const OPENAI_RESPONSE_TOOL_CALL_NAMES: &str = "openai.response.tool_calls.names";
/// Ids of the tool calls in the response (string array).
pub const OPENAI_RESPONSE_TOOL_CALL_IDS: &str = "openai.response.tool_calls.ids";

/// Span event recorded when the first chunk of a stream arrives.
pub const EVENT_FIRST_CHUNK: &str = "gen_ai.first_chunk";
/// Span event recorded for an error ([exception](https://opentelemetry.io/docs/specs/semconv/exceptions/exceptions-spans/)).
pub const EVENT_EXCEPTION: &str = "exception";
/// `exception.message` on the exception event.
pub const EXCEPTION_MESSAGE: &str = "exception.message";
/// `exception.type` on the exception event.
pub const EXCEPTION_TYPE: &str = "exception.type";

/// Metric: [`gen_ai.client.token.usage`](https://opentelemetry.io/docs/specs/semconv/gen-ai/gen-ai-metrics/) (histogram, `{token}`).
pub const METRIC_TOKEN_USAGE: &str = "gen_ai.client.token.usage";
/// Metric: `gen_ai.client.operation.duration` (histogram, seconds).
pub const METRIC_OPERATION_DURATION: &str = "gen_ai.client.operation.duration";
/// Metric: `gen_ai.client.operation.time_to_first_chunk` (histogram, seconds, streaming only).
pub const METRIC_TIME_TO_FIRST_CHUNK: &str = "gen_ai.client.operation.time_to_first_chunk";
/// Metric: `gen_ai.client.operation.time_per_output_chunk` (histogram, seconds, streaming only).
pub const METRIC_TIME_PER_OUTPUT_CHUNK: &str = "gen_ai.client.operation.time_per_output_chunk";

/// Environment variable selecting the attribute vocabulary
/// (`gen_ai_latest_experimental`: GenAI conventions only).
pub const ENV_SEMCONV_STABILITY_OPT_IN: &str = "OTEL_SEMCONV_STABILITY_OPT_IN";
/// Environment variable switching message-content capture (`true`, `span_only`,
/// `span_and_event` on; `false`, `no_content` off for everything, the macro included).
pub const ENV_CAPTURE_MESSAGE_CONTENT: &str = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT";
/// Environment variable setting the maximum bytes of any recorded text (default 16 KiB).
pub const ENV_MAX_CONTENT_LENGTH: &str = "TRACED_CHAT_MAX_CONTENT_LENGTH";
/// Overrides the default of [`max_identifier_length`](crate::content::max_identifier_length).
pub const ENV_MAX_ID_LENGTH: &str = "TRACED_CHAT_MAX_ID_LENGTH";
/// Overrides the default of [`max_items`](crate::content::max_items).
pub const ENV_MAX_ITEMS: &str = "TRACED_CHAT_MAX_ITEMS";
/// Overrides the default of [`max_span_content`](crate::content::max_span_content).
pub const ENV_MAX_SPAN_CONTENT: &str = "TRACED_CHAT_MAX_SPAN_CONTENT";
/// Environment variable choosing the console's format when spans go to the console
/// (`OTEL_TRACES_EXPORTER=console`, or nothing configured): `json` (the default, every span as
/// JSON) or `tree` (each finished trace as an indented tree, one line per span, and the metrics
/// as a table at shutdown; see [`init::tree`](crate::init::tree)). Any other value means `json`.
pub const ENV_CONSOLE_FORMAT: &str = "TRACED_CHAT_CONSOLE_FORMAT";
/// Environment variable setting how many spans of one trace the tree format holds before it
/// prints them without waiting for the trace's root span (default 1000).
pub const ENV_TREE_MAX_SPANS: &str = "TRACED_CHAT_TREE_MAX_SPANS";
