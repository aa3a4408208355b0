//! A request to an endpoint without a traced wrapper of its own (images here), made through
//! `TracedClient::inner()`, keeps its `HTTP POST` span, which says the GenAI operation its path
//! tells, so backends can group these calls; chat and embeddings requests made that way carry
//! no operation on their HTTP span (their wrapped calls have a client span for it).

use async_openai::types::images::CreateImageRequest;
use traced_chat::attributes as attr;
use traced_chat::testing::{MockOpenAI, SpanCapture, attribute, str_attribute};

#[tokio::test]
async fn an_images_request_through_inner_gets_its_operation_on_the_http_span() {
    let mock = MockOpenAI::start().await;
    let capture = SpanCapture::new();
    let client = traced_chat::TracedClient::builder()
        .config(mock.config())
        .provider_name("azure.ai.openai")
        .build();
    let request = CreateImageRequest {
        prompt: "a lighthouse at dusk".into(),
        ..CreateImageRequest::default()
    };
    let (result, spans) = capture
        .trace("test", client.inner().images().generate(request))
        .await;
    // The mock has no images route: a 404, as async-openai reports it.
    assert!(result.is_err());
    let http = spans.one(attr::SPAN_HTTP_POST);
    assert_eq!(
        str_attribute(http, attr::GEN_AI_OPERATION_NAME),
        "generate_content"
    );
    assert_eq!(str_attribute(http, attr::GEN_AI_OUTPUT_TYPE), "image");
    assert_eq!(
        str_attribute(http, attr::GEN_AI_PROVIDER_NAME),
        "azure.ai.openai"
    );

    // A chat request through `inner()`: its HTTP span names no operation.
    let chat = async_openai::types::chat::CreateChatCompletionRequestArgs::default()
        .model("gpt-4o-mini")
        .messages([async_openai::types::chat::ChatCompletionRequestUserMessage::from("Hi").into()])
        .build()
        .unwrap();
    let (result, spans) = capture
        .trace("test", client.inner().chat().create(chat))
        .await;
    result.unwrap();
    let http = spans.one(attr::SPAN_HTTP_POST);
    assert!(attribute(http, attr::GEN_AI_OPERATION_NAME).is_none());
}
