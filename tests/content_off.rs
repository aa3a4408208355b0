//! A deployment switch turns all content capture off, the macro's included (own process: the
//! switch is global). Lengths are still recorded; truncation keeps JSON valid.
#![cfg(feature = "otel")]

use async_openai::error::OpenAIError;
use async_openai::types::chat::{
    ChatCompletionRequestMessage, ChatCompletionRequestSystemMessage,
    ChatCompletionRequestUserMessage, CreateChatCompletionRequest, CreateChatCompletionRequestArgs,
};
use futures_util::StreamExt as _;
use opentelemetry::Value;
use traced_chat::attributes as attr;
use traced_chat::testing::{MockOpenAI, SpanCapture, attribute};
use traced_chat::{TracedChatStream, TracedClient, traced_chat};

fn request() -> CreateChatCompletionRequest {
    CreateChatCompletionRequestArgs::default()
        .model("gpt-3.5-turbo")
        .messages([ChatCompletionRequestUserMessage::from("hi").into()])
        .build()
        .unwrap()
}

/// Writes "ab" `.0` times.
struct Big(usize);

impl std::fmt::Display for Big {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for _ in 0..self.0 {
            f.write_str("ab")?;
        }
        Ok(())
    }
}

#[traced_chat]
fn shown(prompt: Big) {
    let _ = prompt;
}

#[traced_chat]
async fn streamed(client: &TracedClient, prompt: &str) -> Result<TracedChatStream, OpenAIError> {
    let _ = prompt;
    client.chat().create_stream(request()).await
}

#[traced_chat]
fn echo(prompt: &str) -> String {
    prompt.repeat(2)
}

#[traced_chat(prompt = messages, skip(response))]
fn by_messages(messages: Vec<ChatCompletionRequestMessage>) -> usize {
    messages.len()
}

#[test]
fn global_switch_and_truncation() {
    let capture = SpanCapture::new();

    // Truncation: on a char boundary, with the original length.
    traced_chat::content::set_max_length(5);
    let (_, spans) = capture.trace_sync("test", || echo("héllo wörld"));
    let span = spans.one("echo");
    assert_eq!(
        attribute(span, attr::OPENAI_PROMPT),
        Some(&Value::from("héll"))
    );
    assert_eq!(
        attribute(span, attr::OPENAI_PROMPT_LENGTH),
        Some(&Value::I64(13))
    );
    assert_eq!(
        attribute(span, attr::OPENAI_RESPONSE),
        Some(&Value::from("héll"))
    );
    assert_eq!(
        attribute(span, attr::OPENAI_RESPONSE_LENGTH),
        Some(&Value::I64(26))
    );

    // A 1 MiB prompt is cut to the limit.
    traced_chat::content::set_max_length(traced_chat::content::DEFAULT_MAX_LENGTH);
    let big = "x".repeat(1 << 20);
    let (_, spans) = capture.trace_sync("test", || echo(&big));
    let span = spans.one("echo");
    assert_eq!(
        attribute(span, attr::OPENAI_PROMPT).unwrap().as_str().len(),
        16 * 1024
    );
    assert_eq!(
        attribute(span, attr::OPENAI_PROMPT_LENGTH),
        Some(&Value::I64(1 << 20))
    );

    // A `Display` prompt is formatted into a bounded buffer: the kept part and the full length.
    let (_, spans) = capture.trace_sync("test", || shown(Big(1 << 19)));
    let span = spans.one("shown");
    assert_eq!(
        attribute(span, attr::OPENAI_PROMPT).unwrap().as_str().len(),
        16 * 1024
    );
    assert_eq!(
        attribute(span, attr::OPENAI_PROMPT_LENGTH),
        Some(&Value::I64(1 << 20))
    );

    // A stream cut at the limit keeps a prefix of the text, never a later piece: with 3 bytes,
    // "ab" + "é!" (no room for the 2-byte "é") must not go on with "c" from "cd".
    traced_chat::content::set_max_length(3);
    let chunk = |text: &str| {
        format!(
            "data: {{\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"{text}\"}},\"finish_reason\":null}}]}}\n\n"
        )
    };
    let sse = format!(
        "{}{}{}data: [DONE]\n\n",
        chunk("ab"),
        chunk("é!"),
        chunk("cd")
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mock = rt.block_on(MockOpenAI::start());
    rt.block_on(mock.answer_stream(&sse));
    let client = mock.client();
    let (_, spans) = rt.block_on(capture.trace("test", async {
        let mut stream = streamed(&client, "p").await.unwrap();
        while stream.next().await.is_some() {}
    }));
    let span = spans.one("streamed");
    assert_eq!(
        attribute(span, attr::OPENAI_RESPONSE),
        Some(&Value::from("ab"))
    );
    assert_eq!(
        attribute(span, attr::OPENAI_RESPONSE_LENGTH),
        Some(&Value::I64(7))
    );
    traced_chat::content::set_max_length(traced_chat::content::DEFAULT_MAX_LENGTH);

    // A client built to capture content, then content turned off: the switch wins.
    let plain_mock = rt.block_on(MockOpenAI::start());
    let capturing = TracedClient::builder()
        .config(plain_mock.config())
        .capture_content(true)
        .build();
    let (_, spans) = rt.block_on(capture.trace("test", capturing.chat().create(request())));
    assert!(
        attribute(
            spans.one("openai.ChatCompletion.create"),
            attr::GEN_AI_INPUT_MESSAGES
        )
        .is_some()
    );

    // Off for the deployment: no text at all, lengths still there.
    traced_chat::content::set_enabled(false);
    let (_, spans) = rt.block_on(capture.trace("test", capturing.chat().create(request())));
    let chat = spans.one("openai.ChatCompletion.create");
    assert!(attribute(chat, attr::GEN_AI_INPUT_MESSAGES).is_none());
    assert!(attribute(chat, attr::GEN_AI_OUTPUT_MESSAGES).is_none());
    let (_, spans) = capture.trace_sync("test", || echo("secret prompt"));
    let span = spans.one("echo");
    assert!(attribute(span, attr::OPENAI_PROMPT).is_none());
    assert!(attribute(span, attr::OPENAI_RESPONSE).is_none());
    assert_eq!(
        attribute(span, attr::OPENAI_PROMPT_LENGTH),
        Some(&Value::I64(13))
    );
    // A message list as the prompt: its texts' length only.
    let messages: Vec<ChatCompletionRequestMessage> = vec![
        ChatCompletionRequestSystemMessage::from("You are terse.").into(),
        ChatCompletionRequestUserMessage::from("secret question").into(),
    ];
    let (_, spans) = capture.trace_sync("test", || by_messages(messages));
    let span = spans.one("by_messages");
    assert!(attribute(span, attr::OPENAI_PROMPT).is_none());
    assert_eq!(
        attribute(span, attr::OPENAI_PROMPT_LENGTH),
        Some(&Value::I64(29))
    );
    let client = traced_chat::TracedClient::builder()
        .capture_content(true)
        .build();
    drop(client); // building with capture_content(true) under the switch must not re-enable it
    assert!(!traced_chat::content::enabled());
}
