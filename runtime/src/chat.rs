//! What a chat span records: request attributes at start, response facts (from a whole
//! completion or accumulated from a stream) at the end, errors, and message content.

use std::sync::Arc;

use async_openai::error::OpenAIError;
use async_openai::types::chat::{
    ChatChoice, ChatCompletionMessageToolCallChunk, ChatCompletionMessageToolCalls,
    CompletionUsage, CreateChatCompletionRequest, CreateChatCompletionResponse, FinishReason,
    ResponseFormat, ServiceTier, StopConfiguration,
};
use opentelemetry::trace::{SpanBuilder, SpanKind, Status, TraceContextExt, Tracer as _};
use opentelemetry::{Array, Context, KeyValue, StringValue, Value};
use serde_json::json;

use crate::attributes as attr;
use crate::client::{Semconv, Settings};
use crate::content;

/// Starts the chat span for `request`, child of the current context.
pub(crate) fn start_span(
    settings: &Settings,
    request: &CreateChatCompletionRequest,
    model: &Arc<str>,
    stream: bool,
) -> Context {
    let seed = settings.semconv.seed();
    let genai = settings.semconv.genai();
    let mut attributes = Vec::with_capacity(if genai { 16 } else { 3 });
    #[allow(deprecated)]
    let max_tokens = request.max_completion_tokens.or(request.max_tokens);
    if seed {
        attributes.push(KeyValue::new(attr::OPENAI_CREATE_MODEL, model.clone()));
        if let Some(max_tokens) = max_tokens {
            attributes.push(KeyValue::new(
                attr::OPENAI_CREATE_MAX_TOKENS,
                i64::from(max_tokens),
            ));
        }
        if let Some(t) = request.temperature {
            attributes.push(KeyValue::new(attr::OPENAI_CREATE_TEMPERATURE, f32_value(t)));
        }
    }
    if genai {
        attributes.push(KeyValue::new(
            attr::GEN_AI_OPERATION_NAME,
            attr::GEN_AI_OPERATION_CHAT,
        ));
        attributes.push(KeyValue::new(
            attr::GEN_AI_PROVIDER_NAME,
            settings.provider_name.clone(),
        ));
        attributes.push(KeyValue::new(attr::GEN_AI_REQUEST_MODEL, model.clone()));
        attributes.push(KeyValue::new(attr::OPENAI_API_TYPE, "chat_completions"));
        if let Some(address) = &settings.server_address {
            attributes.push(KeyValue::new(attr::SERVER_ADDRESS, address.clone()));
        }
        if let Some(port) = settings.server_port {
            attributes.push(KeyValue::new(attr::SERVER_PORT, port));
        }
        if let Some(max_tokens) = max_tokens {
            attributes.push(KeyValue::new(
                attr::GEN_AI_REQUEST_MAX_TOKENS,
                i64::from(max_tokens),
            ));
        }
        let floats = [
            (attr::GEN_AI_REQUEST_TEMPERATURE, request.temperature),
            (attr::GEN_AI_REQUEST_TOP_P, request.top_p),
            (
                attr::GEN_AI_REQUEST_FREQUENCY_PENALTY,
                request.frequency_penalty,
            ),
            (
                attr::GEN_AI_REQUEST_PRESENCE_PENALTY,
                request.presence_penalty,
            ),
        ];
        for (key, value) in floats {
            if let Some(value) = value {
                attributes.push(KeyValue::new(key, f32_value(value)));
            }
        }
        if let Some(stop) = &request.stop {
            let stops: Vec<StringValue> = match stop {
                StopConfiguration::String(s) => vec![s.clone().into()],
                StopConfiguration::StringArray(v) => v.iter().cloned().map(Into::into).collect(),
            };
            attributes.push(KeyValue::new(
                attr::GEN_AI_REQUEST_STOP_SEQUENCES,
                Value::Array(Array::String(stops)),
            ));
        }
        #[allow(deprecated)]
        if let Some(seed) = request.seed {
            attributes.push(KeyValue::new(attr::GEN_AI_REQUEST_SEED, seed));
        }
        if let Some(n) = request.n.filter(|n| *n != 1) {
            attributes.push(KeyValue::new(
                attr::GEN_AI_REQUEST_CHOICE_COUNT,
                i64::from(n),
            ));
        }
        if let Some(format) = &request.response_format {
            let output_type = match format {
                ResponseFormat::Text => "text",
                ResponseFormat::JsonObject | ResponseFormat::JsonSchema { .. } => "json",
            };
            attributes.push(KeyValue::new(attr::GEN_AI_OUTPUT_TYPE, output_type));
        }
        if let Some(tier) = request
            .service_tier
            .as_ref()
            .filter(|t| **t != ServiceTier::Auto)
        {
            attributes.push(KeyValue::new(
                attr::OPENAI_REQUEST_SERVICE_TIER,
                service_tier(tier),
            ));
        }
        if stream {
            attributes.push(KeyValue::new(attr::GEN_AI_REQUEST_STREAM, true));
        }
        if settings.capture_content() {
            let (system, messages) = input_messages_json(&request.messages);
            if let Some(system) = system {
                attributes.push(KeyValue::new(attr::GEN_AI_SYSTEM_INSTRUCTIONS, system));
            }
            attributes.push(KeyValue::new(attr::GEN_AI_INPUT_MESSAGES, messages));
        }
    }
    let name: std::borrow::Cow<'static, str> = match settings.semconv {
        Semconv::GenAi => format!("{} {}", attr::GEN_AI_OPERATION_CHAT, request.model).into(),
        _ => attr::SPAN_CHAT_COMPLETION_CREATE.into(),
    };
    let builder = SpanBuilder::from_name(name)
        .with_kind(SpanKind::Client)
        .with_attributes(attributes);
    let parent = crate::telemetry::parent_context();
    let span = crate::telemetry::tracer().build_with_context(builder, &parent);
    parent.with_span(span)
}

/// An `f32` request parameter as the decimal the user wrote (`0.7`, not `0.699999988…`).
pub(crate) fn f32_value(value: f32) -> Value {
    // Rounding to 6 decimals recovers what was written (f32 keeps about 7 significant digits)
    // without formatting on the hot path.
    let wide = f64::from(value);
    let rounded = (wide * 1e6).round() / 1e6;
    Value::F64(if rounded.is_finite() { rounded } else { wide })
}

pub(crate) fn service_tier(tier: &ServiceTier) -> &'static str {
    match tier {
        ServiceTier::Auto => "auto",
        ServiceTier::Default => "default",
        ServiceTier::Flex => "flex",
        ServiceTier::Scale => "scale",
        ServiceTier::Priority => "priority",
        ServiceTier::Fast => "fast",
    }
}

pub(crate) fn finish_reason(reason: &FinishReason) -> &'static str {
    match reason {
        FinishReason::Stop => "stop",
        FinishReason::Length => "length",
        FinishReason::ToolCalls => "tool_calls",
        FinishReason::ContentFilter => "content_filter",
        FinishReason::FunctionCall => "function_call",
    }
}

/// One tool call of an answer.
#[derive(Debug, Default, Clone)]
pub(crate) struct ToolCall {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) arguments: String,
    /// The arguments reached the content limit while streaming: nothing more is appended.
    pub(crate) arguments_full: bool,
}

/// Streamed choices and tool calls above this index are ignored (a bogus index must not
/// allocate).
pub(crate) const MAX_INDEX: usize = 128;

/// What one choice of an answer said: its text, cut to the content limit, and its tool calls.
#[derive(Debug, Default, Clone)]
pub(crate) struct ChoiceOutput {
    /// The text, cut to the content limit (a true prefix).
    pub(crate) text: String,
    /// The text's length before cutting.
    pub(crate) text_len: usize,
    /// The text reached the limit while streaming: nothing more is kept.
    pub(crate) text_full: bool,
    pub(crate) tool_calls: Vec<ToolCall>,
}

impl ChoiceOutput {
    /// A whole choice; its text is copied only when `keep_text`.
    fn from_choice(choice: &ChatChoice, keep_text: bool) -> Self {
        let text = choice.message.content.as_deref().unwrap_or("");
        let tool_calls = choice
            .message
            .tool_calls
            .iter()
            .flatten()
            .map(|call| match call {
                ChatCompletionMessageToolCalls::Function(f) => ToolCall {
                    id: f.id.clone(),
                    name: f.function.name.clone(),
                    arguments: f.function.arguments.clone(),
                    arguments_full: false,
                },
                ChatCompletionMessageToolCalls::Custom(c) => ToolCall {
                    id: c.id.clone(),
                    name: c.custom_tool.name.clone(),
                    arguments: c.custom_tool.input.clone(),
                    arguments_full: false,
                },
            })
            .collect();
        ChoiceOutput {
            text: if keep_text {
                content::truncate(text, content::max_length()).to_owned()
            } else {
                String::new()
            },
            text_len: text.len(),
            text_full: false,
            tool_calls,
        }
    }

    /// Appends a streamed piece of text, keeping at most `max` bytes in all (a true prefix).
    pub(crate) fn push_text(&mut self, text: &str, max: usize) {
        self.text_len += text.len();
        if !self.text_full {
            let room = max.saturating_sub(self.text.len());
            let kept = content::truncate(text, room);
            self.text.push_str(kept);
            self.text_full = kept.len() < text.len();
        }
    }

    /// Merges a streamed tool-call delta, keeping at most `max` bytes of its arguments.
    pub(crate) fn push_tool_call(
        &mut self,
        delta: &ChatCompletionMessageToolCallChunk,
        max: usize,
    ) {
        let i = delta.index as usize;
        if i > MAX_INDEX {
            return;
        }
        if self.tool_calls.len() <= i {
            self.tool_calls.resize(i + 1, ToolCall::default());
        }
        let call = &mut self.tool_calls[i];
        if let Some(id) = &delta.id {
            call.id.clone_from(id);
        }
        if let Some(function) = &delta.function {
            // Some providers repeat the name in every delta: keep the first.
            if let Some(name) = &function.name
                && call.name.is_empty()
            {
                call.name.clone_from(name);
            }
            if let Some(arguments) = &function.arguments
                && !call.arguments_full
            {
                let room = max.saturating_sub(call.arguments.len());
                let kept = content::truncate(arguments, room);
                call.arguments.push_str(kept);
                call.arguments_full = kept.len() < arguments.len();
            }
        }
    }
}

/// What is known about an answer, from a whole completion or accumulated from a stream.
#[derive(Debug, Default)]
pub(crate) struct ResponseFacts {
    pub(crate) id: Option<Arc<str>>,
    pub(crate) model: Option<Arc<str>>,
    pub(crate) created: Option<u32>,
    pub(crate) service_tier: Option<&'static str>,
    pub(crate) system_fingerprint: Option<String>,
    /// One per choice, by index (`None` until the choice finishes).
    pub(crate) finish_reasons: Vec<Option<&'static str>>,
    pub(crate) usage: Option<CompletionUsage>,
    /// What each choice said, by index: the first always (its text only when content is
    /// captured, for a whole completion), the others only when content is captured (they are
    /// recorded in `gen_ai.output.messages` only).
    pub(crate) choices: Vec<ChoiceOutput>,
}

impl ResponseFacts {
    /// The facts of a whole completion; its text is copied only when `capture_content`.
    pub(crate) fn from_response(
        response: &CreateChatCompletionResponse,
        capture_content: bool,
    ) -> Self {
        let choices = response
            .choices
            .iter()
            .take(if capture_content { usize::MAX } else { 1 })
            .map(|choice| ChoiceOutput::from_choice(choice, capture_content))
            .collect();
        ResponseFacts {
            id: Some(Arc::from(response.id.as_str())),
            model: Some(Arc::from(response.model.as_str())),
            created: Some(response.created),
            service_tier: response.service_tier.as_ref().map(service_tier),
            #[allow(deprecated)]
            system_fingerprint: response.system_fingerprint.clone(),
            finish_reasons: response
                .choices
                .iter()
                .map(|c| c.finish_reason.as_ref().map(finish_reason))
                .collect(),
            usage: response.usage.clone(),
            choices,
        }
    }

    /// What the first choice said (nothing when there is no choice).
    pub(crate) fn first(&self) -> &ChoiceOutput {
        static NOTHING: ChoiceOutput = ChoiceOutput {
            text: String::new(),
            text_len: 0,
            text_full: false,
            tool_calls: Vec::new(),
        };
        self.choices.first().unwrap_or(&NOTHING)
    }

    /// What choice `index` said, created empty if needed.
    pub(crate) fn choice_mut(&mut self, index: usize) -> &mut ChoiceOutput {
        if self.choices.len() <= index {
            self.choices.resize(index + 1, ChoiceOutput::default());
        }
        &mut self.choices[index]
    }

    /// A readable one-line summary of the tool calls: `get_weather({"location":"Paris"})`.
    pub(crate) fn tool_call_summary(&self) -> String {
        crate::record::tool_call_summary(
            self.first()
                .tool_calls
                .iter()
                .map(|call| (call.name.as_str(), call.arguments.as_str())),
        )
    }
}

/// Records the facts of a successful answer on the chat span.
pub(crate) fn record_response(cx: &Context, settings: &Settings, facts: &ResponseFacts) {
    let span = cx.span();
    if !span.is_recording() {
        return;
    }
    let mut attributes = Vec::with_capacity(16);
    if settings.semconv.seed() {
        if let Some(id) = &facts.id {
            attributes.push(KeyValue::new(attr::OPENAI_RESPONSE_ID, id.clone()));
        }
        if let Some(created) = facts.created {
            attributes.push(KeyValue::new(
                attr::OPENAI_RESPONSE_CREATED,
                i64::from(created),
            ));
        }
        if let Some(usage) = &facts.usage {
            attributes.push(KeyValue::new(
                attr::OPENAI_USAGE_PROMPT_TOKENS,
                i64::from(usage.prompt_tokens),
            ));
            attributes.push(KeyValue::new(
                attr::OPENAI_USAGE_COMPLETION_TOKENS,
                i64::from(usage.completion_tokens),
            ));
            attributes.push(KeyValue::new(
                attr::OPENAI_USAGE_TOTAL_TOKENS,
                i64::from(usage.total_tokens),
            ));
        }
    }
    if settings.semconv.genai() {
        if let Some(id) = &facts.id {
            attributes.push(KeyValue::new(attr::GEN_AI_RESPONSE_ID, id.clone()));
        }
        if let Some(model) = &facts.model {
            attributes.push(KeyValue::new(attr::GEN_AI_RESPONSE_MODEL, model.clone()));
        }
        let reasons: Vec<StringValue> = facts
            .finish_reasons
            .iter()
            .flatten()
            .map(|r| StringValue::from(*r))
            .collect();
        if !reasons.is_empty() {
            attributes.push(KeyValue::new(
                attr::GEN_AI_RESPONSE_FINISH_REASONS,
                Value::Array(Array::String(reasons)),
            ));
        }
        if let Some(usage) = &facts.usage {
            attributes.push(KeyValue::new(
                attr::GEN_AI_USAGE_INPUT_TOKENS,
                i64::from(usage.prompt_tokens),
            ));
            attributes.push(KeyValue::new(
                attr::GEN_AI_USAGE_OUTPUT_TOKENS,
                i64::from(usage.completion_tokens),
            ));
            if let Some(cached) = usage
                .prompt_tokens_details
                .as_ref()
                .and_then(|d| d.cached_tokens)
            {
                attributes.push(KeyValue::new(
                    attr::GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS,
                    i64::from(cached),
                ));
            }
            if let Some(reasoning) = usage
                .completion_tokens_details
                .as_ref()
                .and_then(|d| d.reasoning_tokens)
            {
                attributes.push(KeyValue::new(
                    attr::GEN_AI_USAGE_REASONING_OUTPUT_TOKENS,
                    i64::from(reasoning),
                ));
            }
        }
        if let Some(tier) = facts.service_tier {
            attributes.push(KeyValue::new(attr::OPENAI_RESPONSE_SERVICE_TIER, tier));
        }
        if let Some(fp) = &facts.system_fingerprint {
            attributes.push(KeyValue::new(
                attr::OPENAI_RESPONSE_SYSTEM_FINGERPRINT,
                fp.clone(),
            ));
        }
        if settings.capture_content() {
            attributes.push(KeyValue::new(
                attr::GEN_AI_OUTPUT_MESSAGES,
                output_messages_json(facts),
            ));
        }
    }
    let tool_calls = &facts.first().tool_calls;
    if !tool_calls.is_empty() {
        let names = tool_calls
            .iter()
            .map(|c| StringValue::from(c.name.clone()))
            .collect();
        let ids = tool_calls
            .iter()
            .map(|c| StringValue::from(c.id.clone()))
            .collect();
        attributes.push(KeyValue::new(
            attr::OPENAI_RESPONSE_TOOL_CALL_NAMES,
            Value::Array(Array::String(names)),
        ));
        attributes.push(KeyValue::new(
            attr::OPENAI_RESPONSE_TOOL_CALL_IDS,
            Value::Array(Array::String(ids)),
        ));
    }
    span.set_attributes(attributes);
}

/// Marks the chat span failed: status ERROR with a short description, `error.type`, and an
/// `exception` event carrying the message.
pub(crate) fn record_error(cx: &Context, error: &OpenAIError) {
    let span = cx.span();
    if !span.is_recording() {
        return;
    }
    let error_type = crate::error::error_type(error);
    let message = crate::error::error_message(error);
    span.add_event(
        attr::EVENT_EXCEPTION,
        vec![
            KeyValue::new(attr::EXCEPTION_TYPE, error_type.clone()),
            KeyValue::new(attr::EXCEPTION_MESSAGE, message.clone()),
        ],
    );
    span.set_attribute(KeyValue::new(attr::ERROR_TYPE, error_type));
    span.set_status(Status::error(message));
}

/// The request's messages in the GenAI conventions' JSON shape: system instructions apart
/// (`[{type: "text", content}]`) and the other messages as `[{role, parts: [...]}]`.
/// Texts are cut to the content limit, so the JSON stays valid.
pub(crate) fn input_messages_json<T: serde::Serialize>(messages: &[T]) -> (Option<String>, String) {
    // Each text gets an equal share of the limit: the JSON stays valid and its size bounded.
    let max = content::per_message_budget(messages.len());
    let mut system = Vec::new();
    let mut out = Vec::with_capacity(messages.len());
    for message in messages {
        let Ok(wire) = serde_json::to_value(message) else {
            continue;
        };
        let role = wire["role"].as_str().unwrap_or("user");
        let mut parts = text_parts(&wire["content"], max);
        if role == "system" || role == "developer" {
            system.append(&mut parts);
            continue;
        }
        if let Some(calls) = wire["tool_calls"].as_array() {
            for call in calls {
                parts.push(json!({
                    "type": "tool_call",
                    "id": call["id"],
                    "name": call["function"]["name"],
                    "arguments": cut(call["function"]["arguments"].as_str().unwrap_or(""), max),
                }));
            }
        }
        if role == "tool" {
            let response: Vec<&str> = parts.iter().filter_map(|p| p["content"].as_str()).collect();
            parts = vec![json!({
                "type": "tool_call_response",
                "id": wire["tool_call_id"],
                "response": response.concat(),
            })];
        }
        out.push(json!({ "role": role, "parts": parts }));
    }
    let system = (!system.is_empty()).then(|| serde_json::Value::Array(system).to_string());
    (system, serde_json::Value::Array(out).to_string())
}

fn text_parts(content: &serde_json::Value, max: usize) -> Vec<serde_json::Value> {
    crate::record::content_texts(content)
        .into_iter()
        .flatten()
        .map(|text| json!({ "type": "text", "content": cut(text, max) }))
        .collect()
}

fn cut(text: &str, max: usize) -> &str {
    content::truncate(text, max)
}

/// The answer in the GenAI conventions' JSON shape: one `{role, parts, finish_reason}` message
/// per choice, each text and arguments cut to an equal share of the content limit.
pub(crate) fn output_messages_json(facts: &ResponseFacts) -> String {
    let max = content::per_message_budget(facts.choices.len());
    let messages: Vec<_> = facts
        .choices
        .iter()
        .enumerate()
        .map(|(index, choice)| {
            let mut parts = Vec::new();
            if !choice.text.is_empty() {
                parts.push(json!({ "type": "text", "content": cut(&choice.text, max) }));
            }
            for call in &choice.tool_calls {
                parts.push(json!({
                    "type": "tool_call",
                    "id": call.id,
                    "name": call.name,
                    "arguments": cut(&call.arguments, max),
                }));
            }
            let finish = facts.finish_reasons.get(index).copied().flatten();
            json!({ "role": "assistant", "parts": parts, "finish_reason": finish })
        })
        .collect();
    serde_json::Value::Array(messages).to_string()
}
