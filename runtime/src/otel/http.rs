//! The innermost tower service of a [`TracedClient`](crate::TracedClient): sends each HTTP
//! attempt inside its own `HTTP POST` CLIENT span and injects that span's trace context through
//! the configured propagator (by hand, without a lock, when that is the W3C one).

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};

use async_openai::error::OpenAIError;
use async_openai::middleware::HttpRequestFactory;
use opentelemetry::propagation::Injector;
use opentelemetry::{
    Context, KeyValue, StringValue,
    trace::{FutureExt as _, SpanBuilder, SpanKind, Status, TraceContextExt},
};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

use super::span::OwnedSpan;
use super::telemetry::InjectedTracer;
use crate::attributes as attr;
use crate::transport::Transport;

type HttpFuture = Pin<Box<dyn Future<Output = Result<reqwest::Response, OpenAIError>> + Send>>;

/// Sends requests through the client's transport, one `HTTP POST` span per attempt.
#[derive(Clone, Debug)]
pub(crate) struct TracedHttpService {
    transport: Transport,
    propagate: bool,
    tracer: Option<InjectedTracer>,
    provider_name: Cow<'static, str>,
}

impl TracedHttpService {
    pub(crate) fn new(transport: Transport, settings: &super::settings::Settings) -> Self {
        TracedHttpService {
            transport,
            propagate: settings.propagate,
            tracer: settings.tracer.clone(),
            provider_name: settings.provider_name.clone(),
        }
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
        let propagate = self.propagate;
        let tracer = self.tracer.clone();
        let provider_name = self.provider_name.clone();
        // The retry layer calls us from inside the client span's context.
        let parent = Context::current();
        Box::pin(async move {
            let mut request = factory.build().await?;
            let cx = start_http_span(&parent, &request, tracer.as_ref(), provider_name);
            let span = OwnedSpan::new(cx);
            if propagate {
                inject_trace_context(span.context(), request.headers_mut());
            }
            let result = match &transport {
                // reqwest makes no spans: nothing beneath needs the span to be current.
                Transport::Reqwest(_) => transport.send(request).await,
                Transport::Service(_) => {
                    let cx = span.context().clone();
                    transport.send(request).with_context(cx).await
                }
            };
            record_outcome(&span, &result);
            span.end();
            result.map_err(OpenAIError::Reqwest)
        })
    }
}

fn start_http_span(
    parent: &Context,
    request: &reqwest::Request,
    tracer: Option<&InjectedTracer>,
    provider_name: Cow<'static, str>,
) -> Context {
    let method = method_name(request.method());
    let url = redacted_url(request.url());
    let name = if request.method() == reqwest::Method::POST {
        attr::SPAN_HTTP_POST.into()
    } else {
        format!("HTTP {method}").into()
    };
    let mut attributes = vec![
        KeyValue::new(attr::HTTP_METHOD, method.clone()),
        KeyValue::new(attr::HTTP_URL, url.clone()),
        KeyValue::new(attr::HTTP_REQUEST_METHOD, method),
        KeyValue::new(attr::URL_FULL, url),
    ];
    if let Some((operation, output)) = unwrapped_operation(request.url().path()) {
        attributes.push(KeyValue::new(attr::GEN_AI_OPERATION_NAME, operation));
        attributes.push(KeyValue::new(attr::GEN_AI_PROVIDER_NAME, provider_name));
        if let Some(output) = output {
            attributes.push(KeyValue::new(attr::GEN_AI_OUTPUT_TYPE, output));
        }
    }
    let builder = SpanBuilder::from_name::<Cow<'static, str>>(name)
        .with_kind(SpanKind::Client)
        .with_attributes(attributes);
    super::telemetry::start_span(parent, builder, tracer)
}

/// The GenAI operation (and output type) of a request to an endpoint that has no traced wrapper
/// of its own, told by its path, so that backends can group these calls: `None` for the
/// endpoints whose calls get a client span of their own (chat completions, embeddings) and for
/// those that are no GenAI operation (files, batches, models, …).
pub(crate) fn unwrapped_operation(path: &str) -> Option<(&'static str, Option<&'static str>)> {
    let endpoint = path
        .split('/')
        .skip_while(|s| *s != "v1")
        .nth(1)
        .or_else(|| {
            // A base URL without `/v1`: the first segment that names an endpoint.
            path.split('/').find(|s| !s.is_empty())
        })?;
    let rest = path.rsplit('/').next().unwrap_or_default();
    match endpoint {
        "images" => Some(("generate_content", Some("image"))),
        "audio" if rest == "speech" => Some(("generate_content", Some("speech"))),
        "audio" => Some(("generate_content", Some("text"))),
        "completions" => Some(("text_completion", Some("text"))),
        "responses" => Some((attr::GEN_AI_OPERATION_CHAT, None)),
        _ => None,
    }
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

/// The URL without user name or password, and with any key in it masked (`url.full` must not
/// carry credentials: `?key=…` or `api-key=…` in a gateway's URL).
fn redacted_url(url: &reqwest::Url) -> Arc<str> {
    if url.username().is_empty() && url.password().is_none() {
        return Arc::from(crate::redact::redact(url.as_str()).as_ref());
    }
    let mut url = url.clone();
    let _ = url.set_username("");
    let _ = url.set_password(None);
    Arc::from(crate::redact::redact(url.as_str()).as_ref())
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
            // reqwest's text holds URLs (a redirect's, whatever the server put in it): bounded
            // and masked as every error text.
            span.set_status(Status::error(crate::error::display_message(error)));
        }
    }
}

/// Sets the trace-context headers of the span in `cx` through the global text-map propagator
/// (B3, Jaeger, baggage, a composite, …). When that propagator is the W3C trace-context one, the
/// W3C headers are written by hand (no formatting through the propagator's map); when it wrote
/// nothing (none was installed: the default no-op), they are written too, as before any
/// propagator existed.
fn inject_trace_context(cx: &Context, headers: &mut HeaderMap) {
    let injected = opentelemetry::global::get_text_map_propagator(|propagator| {
        let mut fields = propagator.fields();
        let w3c = fields.next() == Some(attr::TRACEPARENT_HEADER) && fields.eq(["tracestate"]);
        if w3c {
            return false;
        }
        let mut injector = HeaderInjector(headers, false);
        propagator.inject_context(cx, &mut injector);
        injector.1
    });
    // The W3C propagator, or one that wrote nothing (none installed: the default no-op).
    if !injected {
        inject_w3c(cx, headers);
    }
}

/// Writes propagator fields into request headers (invalid names or values are skipped), and
/// notes whether it wrote any.
struct HeaderInjector<'a>(&'a mut HeaderMap, bool);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        let name = HeaderName::from_bytes(key.as_bytes());
        if let (Ok(name), Ok(value)) = (name, HeaderValue::from_str(&value)) {
            self.0.insert(name, value);
            self.1 = true;
        }
    }
}

/// Sets the W3C `traceparent` (and `tracestate`, when there is one) of the span in `cx`,
/// formatted by hand: this runs on every attempt.
fn inject_w3c(cx: &Context, headers: &mut HeaderMap) {
    let span = cx.span();
    let context = span.span_context();
    if !context.is_valid() {
        return;
    }
    let value = traceparent(
        context.trace_id().to_bytes(),
        context.span_id().to_bytes(),
        context.trace_flags().to_u8(),
    );
    if let Ok(value) = HeaderValue::from_bytes(&value) {
        headers.insert(HeaderName::from_static(attr::TRACEPARENT_HEADER), value);
    }
    let state = context.trace_state().header();
    if !state.is_empty()
        && let Ok(value) = HeaderValue::from_str(&state)
    {
        headers.insert(HeaderName::from_static("tracestate"), value);
    }
}

/// `00-{trace id}-{span id}-{flags}` in lowercase hex.
fn traceparent(trace_id: [u8; 16], span_id: [u8; 8], flags: u8) -> [u8; 55] {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = [b'-'; 55];
    out[0] = b'0';
    out[1] = b'0';
    let mut at = 3;
    for byte in trace_id.iter().chain(span_id.iter()) {
        if at == 35 {
            at = 36; // the dash between the ids
        }
        out[at] = HEX[usize::from(byte >> 4)];
        out[at + 1] = HEX[usize::from(byte & 0x0f)];
        at += 2;
    }
    out[53] = HEX[usize::from(flags >> 4)];
    out[54] = HEX[usize::from(flags & 0x0f)];
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::propagation::TextMapPropagator;

    struct Map(std::collections::HashMap<String, String>);

    impl Injector for Map {
        fn set(&mut self, key: &str, value: String) {
            self.0.insert(key.to_owned(), value);
        }
    }

    #[test]
    fn endpoints_without_a_wrapper_are_told_by_their_path() {
        let op = |path| unwrapped_operation(path);
        assert_eq!(
            op("/v1/images/generations"),
            Some(("generate_content", Some("image")))
        );
        assert_eq!(
            op("/v1/audio/speech"),
            Some(("generate_content", Some("speech")))
        );
        assert_eq!(
            op("/v1/audio/transcriptions"),
            Some(("generate_content", Some("text")))
        );
        assert_eq!(
            op("/v1/completions"),
            Some(("text_completion", Some("text")))
        );
        assert_eq!(op("/v1/responses"), Some(("chat", None)));
        assert_eq!(op("/openai/v1/responses/resp_1"), Some(("chat", None)));
        // Wrapped, or no GenAI operation.
        assert_eq!(op("/v1/chat/completions"), None);
        assert_eq!(op("/v1/embeddings"), None);
        assert_eq!(op("/v1/files"), None);
        assert_eq!(op("/v1/moderations"), None);
    }

    #[test]
    fn traceparent_matches_the_sdk_propagator() {
        use opentelemetry::trace::{SpanContext, SpanId, TraceFlags, TraceId, TraceState};
        let context = SpanContext::new(
            TraceId::from_hex("4f30f3348f14cca1c9473b5a2ea813de").unwrap(),
            SpanId::from_hex("a7c761add82b78c4").unwrap(),
            TraceFlags::SAMPLED,
            false,
            TraceState::default(),
        );
        let cx = Context::new().with_remote_span_context(context);
        let mut expected = Map(Default::default());
        opentelemetry_sdk::propagation::TraceContextPropagator::new()
            .inject_context(&cx, &mut expected);
        let mut headers = HeaderMap::new();
        inject_w3c(&cx, &mut headers);
        assert_eq!(
            headers["traceparent"].to_str().unwrap(),
            expected.0["traceparent"],
        );
        assert_eq!(
            headers["traceparent"],
            "00-4f30f3348f14cca1c9473b5a2ea813de-a7c761add82b78c4-01"
        );
        assert!(headers.get("tracestate").is_none());
    }
}
