//! Embeddings through `TracedClient`: one CLIENT span per call with the GenAI conventions'
//! attributes (and the legacy OpenAI names), an `HTTP POST` span per attempt, the duration and
//! input-token metrics, content only when captured, never the vectors; `#[traced_chat]` records
//! a summary of the answer. Against the embedded mock server answering a recorded answer.

use async_openai::types::embeddings::{CreateEmbeddingRequest, CreateEmbeddingRequestArgs};
use opentelemetry::Value;
use opentelemetry::trace::{SpanKind, Status};
use traced_chat::attributes as attr;
use traced_chat::testing::{
    MetricCapture, MockOpenAI, SpanCapture, attribute, fixtures, int_attribute, str_attribute,
    strings_attribute,
};
use traced_chat::{Semconv, TracedClient, traced_chat};

const MODEL: &str = "text-embedding-ada-002";
const TEXT: &str = "The food was delicious and the waiter...";

fn request(dimensions: Option<u32>) -> CreateEmbeddingRequest {
    let mut args = CreateEmbeddingRequestArgs::default();
    args.model(MODEL).input(TEXT);
    if let Some(dimensions) = dimensions {
        args.dimensions(dimensions);
    }
    args.build().unwrap()
}

#[tokio::test]
async fn an_embeddings_call_gets_its_span_attributes_and_metrics() {
    let mock = MockOpenAI::start().await;
    let spans = SpanCapture::new();
    let metrics = MetricCapture::new();
    let client = TracedClient::builder()
        .config(mock.config())
        .meter_provider(metrics.provider())
        .build();
    let (answer, trace) = spans
        .trace("test", client.embeddings().create(request(None)))
        .await;
    let answer = answer.unwrap();
    assert_eq!(answer.data[0].embedding.len(), 1536);

    let span = trace.one(attr::SPAN_EMBEDDING_CREATE);
    assert_eq!(span.span_kind, SpanKind::Client);
    assert_eq!(span.status, Status::Unset);
    assert_eq!(
        str_attribute(span, attr::GEN_AI_OPERATION_NAME),
        "embeddings"
    );
    assert_eq!(str_attribute(span, attr::GEN_AI_PROVIDER_NAME), "openai");
    assert_eq!(str_attribute(span, attr::GEN_AI_REQUEST_MODEL), MODEL);
    assert_eq!(str_attribute(span, attr::GEN_AI_RESPONSE_MODEL), MODEL);
    assert_eq!(str_attribute(span, attr::SERVER_ADDRESS), "127.0.0.1");
    assert_eq!(
        strings_attribute(span, attr::GEN_AI_REQUEST_ENCODING_FORMATS),
        ["float"]
    );
    assert_eq!(
        int_attribute(span, attr::GEN_AI_EMBEDDINGS_DIMENSION_COUNT),
        1536
    );
    assert_eq!(int_attribute(span, attr::GEN_AI_USAGE_INPUT_TOKENS), 8);
    assert!(attribute(span, attr::GEN_AI_USAGE_OUTPUT_TOKENS).is_none());
    // The legacy names, as chat's.
    assert_eq!(str_attribute(span, attr::OPENAI_CREATE_MODEL), MODEL);
    assert_eq!(int_attribute(span, attr::OPENAI_USAGE_PROMPT_TOKENS), 8);
    assert_eq!(
        int_attribute(span, attr::OPENAI_RESPONSE_EMBEDDING_COUNT),
        1
    );
    // Content is off by default; vectors are never recorded.
    assert!(attribute(span, attr::GEN_AI_INPUT_MESSAGES).is_none());
    let http = trace.one(attr::SPAN_HTTP_POST);
    assert_eq!(
        trace.parent_of(http).unwrap().span_context,
        span.span_context
    );
    assert_eq!(trace.parent_of(span).unwrap().name, "test");

    let points = metrics.histograms();
    let duration: Vec<_> = points
        .iter()
        .filter(|p| p.name == attr::METRIC_OPERATION_DURATION)
        .collect();
    assert_eq!(duration.len(), 1);
    assert_eq!(
        duration[0].attribute(attr::GEN_AI_OPERATION_NAME),
        Some(&Value::from("embeddings"))
    );
    let tokens: Vec<_> = points
        .iter()
        .filter(|p| p.name == attr::METRIC_TOKEN_USAGE)
        .collect();
    assert_eq!(tokens.len(), 1, "input tokens only: {tokens:?}");
    assert_eq!(tokens[0].sum, 8.0);
    assert_eq!(
        tokens[0].attribute(attr::GEN_AI_TOKEN_TYPE),
        Some(&Value::from("input"))
    );
}

#[tokio::test]
async fn genai_only_names_the_span_by_operation_and_model_and_content_is_opt_in() {
    let mock = MockOpenAI::start().await;
    let spans = SpanCapture::new();
    let client = TracedClient::builder()
        .config(mock.config())
        .semconv(Semconv::GenAi)
        .capture_content(true)
        .build();
    let (answer, trace) = spans
        .trace("test", client.embeddings().create(request(Some(256))))
        .await;
    answer.unwrap();
    let span = trace.one(&format!("embeddings {MODEL}"));
    assert_eq!(
        int_attribute(span, attr::GEN_AI_EMBEDDINGS_DIMENSION_COUNT),
        256
    );
    assert!(attribute(span, attr::OPENAI_CREATE_MODEL).is_none());
    let input: serde_json::Value =
        serde_json::from_str(str_attribute(span, attr::GEN_AI_INPUT_MESSAGES)).unwrap();
    assert_eq!(input[0]["parts"][0]["content"], TEXT);
    // No number of the vector reaches the span.
    let exported = format!("{span:?}");
    assert!(
        !exported.contains("-0.0027657382"),
        "a vector value was recorded"
    );
}

#[tokio::test]
async fn base64_answers_have_their_dimension() {
    let mock = MockOpenAI::start().await;
    // 3 little-endian f32s (12 bytes): 16 base64 characters.
    mock.answer_embeddings(
        200,
        r#"{"object":"list","data":[{"object":"embedding","index":0,"embedding":"AACAPwAAAEAAAEBA"}],"model":"text-embedding-3-small","usage":{"prompt_tokens":3,"total_tokens":3}}"#,
    )
    .await;
    let spans = SpanCapture::new();
    let client = mock.client();
    let mut request = request(None);
    request.encoding_format = Some(async_openai::types::embeddings::EncodingFormat::Base64);
    let (answer, trace) = spans
        .trace("test", client.embeddings().create_base64(request))
        .await;
    answer.unwrap();
    let span = trace.one(attr::SPAN_EMBEDDING_CREATE);
    assert_eq!(
        strings_attribute(span, attr::GEN_AI_REQUEST_ENCODING_FORMATS),
        ["base64"]
    );
    assert_eq!(
        int_attribute(span, attr::GEN_AI_EMBEDDINGS_DIMENSION_COUNT),
        3
    );
}

#[tokio::test]
async fn an_error_fails_the_span_as_chat_does() {
    let mock = MockOpenAI::start().await;
    mock.answer_embeddings(404, fixtures::ERROR_404_MODEL_NOT_FOUND)
        .await;
    let spans = SpanCapture::new();
    let client = mock.client();
    let (answer, trace) = spans
        .trace("test", client.embeddings().create(request(None)))
        .await;
    assert!(answer.is_err());
    let span = trace.one(attr::SPAN_EMBEDDING_CREATE);
    assert!(matches!(span.status, Status::Error { .. }));
    assert_eq!(str_attribute(span, attr::ERROR_TYPE), "model_not_found");
    assert_eq!(span.events.len(), 1, "an exception event");
    let life = spans.lifecycle(span.span_context.trace_id());
    life.assert_all_ended();
}

#[traced_chat(skip(prompt))]
async fn embed(
    client: &TracedClient,
    request: CreateEmbeddingRequest,
) -> Result<
    async_openai::types::embeddings::CreateEmbeddingResponse,
    async_openai::error::OpenAIError,
> {
    client.embeddings().create(request).await
}

#[traced_chat(prompt = request)]
async fn embed_recorded(
    client: &TracedClient,
    request: CreateEmbeddingRequest,
) -> Result<
    async_openai::types::embeddings::CreateEmbeddingResponse,
    async_openai::error::OpenAIError,
> {
    client.embeddings().create(request).await
}

#[tokio::test]
async fn an_annotated_function_records_a_summary_never_the_vectors() {
    let mock = MockOpenAI::start().await;
    let spans = SpanCapture::new();
    let client = mock.client();
    let (_, trace) = spans
        .trace("test", async {
            embed(&client, request(None)).await.unwrap();
            embed_recorded(&client, request(None)).await.unwrap();
        })
        .await;
    let span = trace.one("embed");
    assert_eq!(
        str_attribute(span, attr::OPENAI_RESPONSE),
        "1 embedding × 1536 dimensions"
    );
    let span = trace.one("embed_recorded");
    assert_eq!(str_attribute(span, attr::OPENAI_PROMPT), TEXT);
    assert_eq!(
        trace
            .children_of(span)
            .iter()
            .map(|s| s.name.as_ref())
            .collect::<Vec<_>>(),
        [attr::SPAN_EMBEDDING_CREATE]
    );
}
