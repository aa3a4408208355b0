//! The one typed reading of chat messages: what each request message and tool call says, taken
//! from async-openai's enums, and the two JSON forms it is recorded in (the compact prompt of a
//! `#[traced_chat]` function and the GenAI conventions' `gen_ai.input.messages`).
// The GenAI forms serve the instrumented implementation only.
#![cfg_attr(not(feature = "otel"), allow(dead_code))]

use async_openai::types::chat::{
    ChatCompletionMessageToolCalls, ChatCompletionRequestAssistantMessageContent as Assistant,
    ChatCompletionRequestAssistantMessageContentPart as AssistantPart,
    ChatCompletionRequestDeveloperMessageContent as Developer,
    ChatCompletionRequestDeveloperMessageContentPart as DeveloperPart,
    ChatCompletionRequestMessage as Message, ChatCompletionRequestSystemMessageContent as System,
    ChatCompletionRequestSystemMessageContentPart as SystemPart,
    ChatCompletionRequestToolMessageContent as Tool,
    ChatCompletionRequestToolMessageContentPart as ToolPart,
    ChatCompletionRequestUserMessageContent as User,
    ChatCompletionRequestUserMessageContentPart as UserPart,
};
use serde_json::{Map, Value, json};

use crate::redact::{redact, redact_bounded as cut};

/// One tool call: `(id, name, arguments)`, whatever its kind (a function or a custom tool).
pub(crate) fn tool_call(call: &ChatCompletionMessageToolCalls) -> (&str, &str, &str) {
    match call {
        ChatCompletionMessageToolCalls::Function(f) => {
            (&f.id, &f.function.name, &f.function.arguments)
        }
        ChatCompletionMessageToolCalls::Custom(c) => {
            (&c.id, &c.custom_tool.name, &c.custom_tool.input)
        }
    }
}

/// What one request message says.
#[derive(Debug, Default)]
pub(crate) struct MessageView<'a> {
    pub(crate) role: &'static str,
    /// The texts of its content (`None`: the message has no content at all).
    pub(crate) texts: Option<Vec<&'a str>>,
    pub(crate) tool_calls: Vec<(&'a str, &'a str, &'a str)>,
    /// The call a tool message answers.
    pub(crate) tool_call_id: Option<&'a str>,
}

impl<'a> MessageView<'a> {
    /// Reads `message`.
    pub(crate) fn of(message: &'a Message) -> Self {
        match message {
            Message::Developer(m) => Self::texts("developer", developer_texts(&m.content)),
            Message::System(m) => Self::texts("system", system_texts(&m.content)),
            Message::User(m) => Self::texts("user", user_texts(&m.content)),
            Message::Assistant(m) => MessageView {
                role: "assistant",
                texts: m.content.as_ref().map(assistant_texts),
                tool_calls: m.tool_calls.iter().flatten().map(tool_call).collect(),
                tool_call_id: None,
            },
            Message::Tool(m) => MessageView {
                tool_call_id: Some(&m.tool_call_id),
                ..Self::texts("tool", tool_texts(&m.content))
            },
            Message::Function(m) => MessageView {
                role: "function",
                texts: m.content.as_deref().map(|t| vec![t]),
                ..MessageView::default()
            },
        }
    }

    fn texts(role: &'static str, texts: Vec<&'a str>) -> Self {
        MessageView {
            role,
            texts: Some(texts),
            ..MessageView::default()
        }
    }

    /// Whether the message is an instruction (system or developer) rather than conversation.
    pub(crate) fn is_instruction(&self) -> bool {
        matches!(self.role, "system" | "developer")
    }

    /// The total length of its texts and tool-call arguments.
    pub(crate) fn text_len(&self) -> usize {
        let texts: usize = self.texts.iter().flatten().map(|t| t.len()).sum();
        texts + self.tool_calls.iter().map(|c| c.2.len()).sum::<usize>()
    }
}

fn developer_texts(content: &Developer) -> Vec<&str> {
    match content {
        Developer::Text(text) => vec![text],
        Developer::Array(parts) => parts
            .iter()
            .map(|DeveloperPart::Text(p)| p.text.as_str())
            .collect(),
    }
}

fn system_texts(content: &System) -> Vec<&str> {
    match content {
        System::Text(text) => vec![text],
        System::Array(parts) => parts
            .iter()
            .map(|SystemPart::Text(p)| p.text.as_str())
            .collect(),
    }
}

fn user_texts(content: &User) -> Vec<&str> {
    match content {
        User::Text(text) => vec![text],
        User::Array(parts) => parts
            .iter()
            .filter_map(|part| match part {
                UserPart::Text(p) => Some(p.text.as_str()),
                UserPart::ImageUrl(_) | UserPart::InputAudio(_) | UserPart::File(_) => None,
            })
            .collect(),
    }
}

fn assistant_texts(content: &Assistant) -> Vec<&str> {
    match content {
        Assistant::Text(text) => vec![text],
        Assistant::Array(parts) => parts
            .iter()
            .filter_map(|part| match part {
                AssistantPart::Text(p) => Some(p.text.as_str()),
                AssistantPart::Refusal(_) => None,
            })
            .collect(),
    }
}

fn tool_texts(content: &Tool) -> Vec<&str> {
    match content {
        Tool::Text(text) => vec![text],
        Tool::Array(parts) => parts
            .iter()
            .map(|ToolPart::Text(p)| p.text.as_str())
            .collect(),
    }
}

/// The compact JSON prompt of a message list: one object per message, keys sorted
/// (`[{"content":"Hi","role":"user"}]`), texts joined with newlines, an assistant message's tool
/// calls as `"tool_calls":[{"arguments","id","name"}]`, a tool message's `"tool_call_id"`; each
/// text cut to `max` bytes. Also returns the total length of the texts before cutting.
pub(crate) fn compact_json(messages: &[Message], max: usize) -> (String, usize) {
    let mut text_len = 0;
    let out: Vec<Value> = messages
        .iter()
        .map(|message| {
            let view = MessageView::of(message);
            text_len += view.text_len();
            let mut compact = Map::new();
            compact.insert("role".into(), view.role.into());
            if let Some(texts) = &view.texts {
                let texts: Vec<_> = texts.iter().map(|t| cut(t, max)).collect();
                compact.insert("content".into(), texts.join("\n").into());
            }
            if !view.tool_calls.is_empty()
                || matches!(message, Message::Assistant(m) if m.tool_calls.is_some())
            {
                let calls = view
                    .tool_calls
                    .iter()
                    .map(|c| tool_call_json(*c, max, false))
                    .collect();
                compact.insert("tool_calls".into(), Value::Array(calls));
            }
            if let Some(id) = view.tool_call_id {
                compact.insert("tool_call_id".into(), id.into());
            }
            Value::Object(compact)
        })
        .collect();
    (Value::Array(out).to_string(), text_len)
}

/// The system and developer instructions of a message list in the GenAI conventions' JSON shape
/// (`[{type: "text", content}]`), each text cut to `max` bytes; `None` when there are none.
pub(crate) fn instructions_json(messages: &[Message], max: usize) -> Option<String> {
    let parts: Vec<Value> = messages
        .iter()
        .map(MessageView::of)
        .filter(MessageView::is_instruction)
        .flat_map(|view| view.texts.into_iter().flatten())
        .map(|text| text_part(text, max))
        .collect();
    (!parts.is_empty()).then(|| Value::Array(parts).to_string())
}

/// The other messages in the GenAI conventions' JSON shape (`[{role, parts: [...]}]`), each
/// text and arguments cut to `max` bytes.
pub(crate) fn conversation_json(messages: &[Message], max: usize) -> String {
    let out: Vec<Value> = messages
        .iter()
        .map(MessageView::of)
        .filter(|view| !view.is_instruction())
        .map(|view| {
            let texts = view.texts.iter().flatten();
            let parts: Vec<Value> = match view.tool_call_id {
                Some(id) => {
                    let response: String = texts.map(|t| cut(t, max)).collect();
                    let id = redact(id);
                    vec![json!({"type": "tool_call_response", "id": id, "response": response})]
                }
                None => texts
                    .map(|t| text_part(t, max))
                    .chain(view.tool_calls.iter().map(|c| tool_call_part(*c, max)))
                    .collect(),
            };
            json!({"role": view.role, "parts": parts})
        })
        .collect();
    Value::Array(out).to_string()
}

/// A `{type: "text", content}` part.
pub(crate) fn text_part(text: &str, max: usize) -> Value {
    json!({"type": "text", "content": cut(text, max)})
}

/// A `{type: "tool_call", id, name, arguments}` part.
pub(crate) fn tool_call_part(call: (&str, &str, &str), max: usize) -> Value {
    tool_call_json(call, max, true)
}

/// A tool call as JSON, every text masked, the arguments cut to `max` bytes; with `part`, in
/// the conventions' part shape (`type: "tool_call"`).
fn tool_call_json((id, name, arguments): (&str, &str, &str), max: usize, part: bool) -> Value {
    let (id, name, arguments) = (redact(id), redact(name), cut(arguments, max));
    if part {
        json!({"type": "tool_call", "id": id, "name": name, "arguments": arguments})
    } else {
        json!({"id": id, "name": name, "arguments": arguments})
    }
}

/// A readable one-line summary of tool calls given as `(name, arguments)`:
/// `get_weather({"location":"Paris"}); get_time({})`.
/// Kept within the content limit (its whole length counted), so huge names or arguments cost
/// no more memory than the limit.
pub(crate) fn tool_call_summary<'a>(
    calls: impl Iterator<Item = (&'a str, &'a str)>,
) -> crate::text::BoundedText {
    let max = if crate::content::enabled() {
        crate::content::max_length()
    } else {
        0
    };
    let mut out = crate::text::BoundedText::new(max);
    for (i, (name, arguments)) in calls.enumerate() {
        if i > 0 {
            out.push_str("; ");
        }
        out.push_str(name);
        out.push_str("(");
        out.push_str(arguments);
        out.push_str(")");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_openai::types::chat::{
        ChatCompletionRequestSystemMessage, ChatCompletionRequestToolMessage,
        ChatCompletionRequestUserMessage,
    };

    fn messages() -> Vec<Message> {
        vec![
            ChatCompletionRequestSystemMessage::from("Be brief.").into(),
            ChatCompletionRequestUserMessage::from("Hi").into(),
            ChatCompletionRequestToolMessage {
                content: "22°C".into(),
                tool_call_id: "call_1".into(),
            }
            .into(),
        ]
    }

    #[test]
    fn compact_message_json() {
        assert_eq!(
            compact_json(&messages(), 100),
            (
                r#"[{"content":"Be brief.","role":"system"},{"content":"Hi","role":"user"},{"content":"22°C","role":"tool","tool_call_id":"call_1"}]"#.to_owned(),
                "Be brief.Hi22°C".len()
            )
        );
    }

    #[test]
    fn genai_message_json() {
        assert_eq!(
            instructions_json(&messages(), 100).as_deref(),
            Some(r#"[{"content":"Be brief.","type":"text"}]"#)
        );
        assert_eq!(
            conversation_json(&messages(), 100),
            r#"[{"parts":[{"content":"Hi","type":"text"}],"role":"user"},{"parts":[{"id":"call_1","response":"22°C","type":"tool_call_response"}],"role":"tool"}]"#
        );
    }
}
