//! With `default-features = false` (no `otel`), annotated functions run as written and no span
//! is produced, while every public item still compiles.
#![cfg(not(feature = "otel"))]

use traced_chat::testing::{MockOpenAI, SpanCapture};
use traced_chat::{TracedClient, traced_chat};

#[traced_chat]
async fn ask(client: &TracedClient, prompt: &str) -> Option<String> {
    use async_openai::types::chat::{
        ChatCompletionRequestUserMessage, CreateChatCompletionRequestArgs,
    };
    let request = CreateChatCompletionRequestArgs::default()
        .model("gpt-3.5-turbo")
        .messages([ChatCompletionRequestUserMessage::from(prompt).into()])
        .build()
        .ok()?;
    let response = client.chat().create(request).await.ok()?;
    response.choices.into_iter().next()?.message.content
}

#[traced_chat(name = "shout", fields(user.id = 7))]
fn shout(prompt: String) -> String {
    prompt.to_uppercase()
}

#[tokio::test]
async fn annotated_functions_work_and_produce_no_span() {
    let _guard = traced_chat::init::console(); // installs nothing with the feature off
    let capture = SpanCapture::new();
    let mock = MockOpenAI::start().await;
    let client = mock.client();
    let (answer, spans) = capture
        .trace("test", async {
            (ask(&client, "hi").await, shout("a".into()))
        })
        .await;
    assert_eq!(
        answer.0.as_deref(),
        Some("The meaning of life is to find purpose, love and joy in the time we have.")
    );
    assert_eq!(answer.1, "A");
    let names: Vec<_> = spans.iter().map(|s| s.name.to_string()).collect();
    assert_eq!(names, ["test"], "only the test's own root span");
    // The plain client sends no traceparent.
    let requests = mock.received_requests().await;
    assert!(requests[0].headers.get("traceparent").is_none());
}
