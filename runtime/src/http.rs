//! The innermost tower service of a [`TracedClient`](crate::TracedClient): sends each HTTP
//! attempt inside its own `HTTP POST` CLIENT span and injects that span's W3C `traceparent`.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};

use async_openai::error::OpenAIError;
use async_openai::middleware::HttpRequestFactory;
use opentelemetry::{
    Context, KeyValue, StringValue,
    propagation::{Injector, TextMapPropagator},
    trace::{FutureExt as _, SpanBuilder, SpanKind, Status, TraceContextExt, Tracer as _},
};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

use crate::attributes as attr;
use crate::span::OwnedSpan;
use crate::transport::Transport;

type HttpFuture = Pin<Box<dyn Future<Output = Result<reqwest::Response, OpenAIError>> + Send>>;

/// Sends requests through the client's transport, one `HTTP POST` span per attempt.
#[derive(Clone, Debug)]
pub(crate) struct TracedHttpService {
    transport: Transport,
}

impl TracedHttpService {
    pub(crate) fn new(transport: Transport) -> Self {
        TracedHttpService { transport }
    }
}

impl tower::Service<HttpRequestFactory> for TracedHttpService {
    type Response = reqwest::Response;
    type Error = OpenAIError;
    type Future = HttpFuture;

    fn poll_ready(&mut self, _: &mut TaskContext<'_>) -> Poll<Result<(), OpenAIError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, factory: HttpRequestFactory) -> HttpFuture {
        let transport = self.transport.clone();
        // The retry layer calls us from inside the chat span's context.
        let parent = Context::current();
        Box::pin(async move {
            let mut request = factory.build().await?;
            let span = OwnedSpan::start(start_http_span(&parent, &request));
            inject_traceparent(span.context(), request.headers_mut());
            let result = transport
                .send(request)
                .with_context(span.context().clone())
                .await;
            record_outcome(&span, &result);
            span.end();
            result.map_err(OpenAIError::Reqwest)
        })
    }
}

fn start_http_span(parent: &Context, request: &reqwest::Request) -> Context {
    let method = method_name(request.method());
    let url: Arc<str> = redacted_url(request.url()).into();
    let name = if request.method() == reqwest::Method::POST {
        attr::SPAN_HTTP_POST.into()
    } else {
        format!("HTTP {method}").into()
    };
    let builder = SpanBuilder::from_name::<std::borrow::Cow<'static, str>>(name)
        .with_kind(SpanKind::Client)
        .with_attributes([
            KeyValue::new(attr::HTTP_METHOD, method.clone()),
            KeyValue::new(attr::HTTP_URL, url.clone()),
            KeyValue::new(attr::HTTP_REQUEST_METHOD, method),
            KeyValue::new(attr::URL_FULL, url),
        ]);
    let span = crate::telemetry::tracer().build_with_context(builder, parent);
    parent.with_span(span)
}

/// The method as a static string for the standard methods (no allocation on the hot path).
fn method_name(method: &reqwest::Method) -> StringValue {
    match *method {
        reqwest::Method::POST => "POST".into(),
        reqwest::Method::GET => "GET".into(),
        reqwest::Method::PUT => "PUT".into(),
        reqwest::Method::DELETE => "DELETE".into(),
        reqwest::Method::PATCH => "PATCH".into(),
        _ => method.as_str().to_owned().into(),
    }
}

/// The URL without user name or password (`url.full` must not carry credentials).
fn redacted_url(url: &reqwest::Url) -> String {
    if url.username().is_empty() && url.password().is_none() {
        return url.as_str().to_owned();
    }
    let mut url = url.clone();
    let _ = url.set_username("");
    let _ = url.set_password(None);
    url.into()
}

fn record_outcome(span: &OwnedSpan, result: &Result<reqwest::Response, reqwest::Error>) {
    let span = span.context().span();
    match result {
        Ok(response) => {
            let status = i64::from(response.status().as_u16());
            span.set_attributes([
                KeyValue::new(attr::HTTP_STATUS_CODE, status),
                KeyValue::new(attr::HTTP_RESPONSE_STATUS_CODE, status),
            ]);
            if status >= 400 {
                span.set_attribute(KeyValue::new(attr::ERROR_TYPE, status.to_string()));
                span.set_status(Status::error(
                    response
                        .status()
                        .canonical_reason()
                        .unwrap_or("HTTP error")
                        .to_owned(),
                ));
            }
        }
        Err(error) => {
            span.set_attribute(KeyValue::new(
                attr::ERROR_TYPE,
                crate::error::reqwest_kind(error),
            ));
            span.set_status(Status::error(error.to_string()));
        }
    }
}

fn inject_traceparent(cx: &Context, headers: &mut HeaderMap) {
    TraceContextPropagator::new().inject_context(cx, &mut HeaderInjector(headers));
}

struct HeaderInjector<'a>(&'a mut HeaderMap);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(key.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            self.0.insert(name, value);
        }
    }
}
