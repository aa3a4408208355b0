//! An answer that calls a tool: the chat span records the tool's name, the call id and the
//! `tool_calls` finish reason; the function's `openai.response` is a readable summary.
//!
//! ```text
//! cargo run --example tools
//! ```

use std::error::Error;

use async_openai::error::OpenAIError;
use async_openai::types::chat::{
    ChatCompletionRequestUserMessage, ChatCompletionTool, ChatCompletionTools,
    CreateChatCompletionRequestArgs, CreateChatCompletionResponse, FunctionObjectArgs,
};
use traced_chat::testing::{MockOpenAI, fixtures};
use traced_chat::{TracedClient, traced_chat};

#[traced_chat]
async fn weather(
    client: &TracedClient,
    prompt: &str,
) -> Result<CreateChatCompletionResponse, OpenAIError> {
    let get_weather = FunctionObjectArgs::default()
        .name("get_weather")
        .description("Current weather for a location")
        .parameters(serde_json::json!({
            "type": "object",
            "properties": {
                "location": {"type": "string"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}
            },
            "required": ["location"]
        }))
        .build()?;
    let request = CreateChatCompletionRequestArgs::default()
        .model("gpt-4o-mini")
        .messages([ChatCompletionRequestUserMessage::from(prompt).into()])
        .tools([ChatCompletionTools::Function(ChatCompletionTool {
            function: get_weather,
        })])
        .build()?;
    client.chat().create(request).await
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let _telemetry = traced_chat::init::from_env()?;
    let mock;
    let config = if std::env::var_os("OPENAI_API_KEY").is_some() {
        async_openai::config::OpenAIConfig::new()
    } else {
        mock = MockOpenAI::start().await;
        mock.answer(200, fixtures::CHAT_COMPLETION_TOOL_CALLS).await;
        mock.config()
    };
    // Message content (the tool's arguments included) is recorded only when asked.
    let client = TracedClient::builder()
        .config(config)
        .capture_content(true)
        .build();
    let response = weather(&client, "What's the weather in Paris, in celsius?").await?;
    for call in response.choices[0].message.tool_calls.iter().flatten() {
        eprintln!("tool call: {call:?}");
    }
    Ok(())
}
