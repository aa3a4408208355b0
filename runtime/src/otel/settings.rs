//! [`Settings`]: how one client records, fixed when it is built.

use std::borrow::Cow;
use std::sync::Arc;

use opentelemetry::KeyValue;

use super::metrics::Metrics;
use super::telemetry::{self, InjectedTracer};
use crate::attributes as attr;
use crate::config::{ClientOptions, Semconv};

/// How a client records, fixed when it is built.
#[derive(Debug)]
pub(crate) struct Settings {
    pub(crate) semconv: Semconv,
    capture_content: bool,
    pub(crate) provider_name: Cow<'static, str>,
    pub(crate) server_address: Option<Arc<str>>,
    pub(crate) server_port: Option<i64>,
    pub(crate) include_usage: bool,
    pub(crate) propagate: bool,
    /// The instruments, unless metrics are off.
    pub(crate) metrics: Option<Metrics>,
    /// The tracer given to the builder, if any (else the context's or the global one).
    pub(crate) tracer: Option<InjectedTracer>,
    /// The metric attributes every request shares (all but the operation and the model).
    metric_base: Vec<KeyValue>,
}

impl Settings {
    /// The settings of a client whose requests go to `api_base`.
    pub(crate) fn new(options: &ClientOptions, api_base: &str) -> Self {
        let url = reqwest::Url::parse(api_base).ok();
        let server_address: Option<Arc<str>> =
            url.as_ref().and_then(|u| u.host_str().map(Arc::from));
        let server_port = url
            .as_ref()
            .and_then(|u| u.port_or_known_default())
            .map(i64::from);
        let provider_name = options
            .provider_name
            .clone()
            .unwrap_or(Cow::Borrowed(attr::GEN_AI_PROVIDER_OPENAI));
        let mut metric_base = vec![KeyValue::new(
            attr::GEN_AI_PROVIDER_NAME,
            provider_name.clone(),
        )];
        metric_base.extend(
            server_address
                .clone()
                .map(|a| KeyValue::new(attr::SERVER_ADDRESS, a)),
        );
        metric_base.extend(server_port.map(|p| KeyValue::new(attr::SERVER_PORT, p)));
        let metrics = options.metrics.unwrap_or(true).then(|| {
            Metrics::new(
                &options
                    .meter
                    .clone()
                    .unwrap_or_else(telemetry::global_meter),
            )
        });
        Settings {
            semconv: options.semconv.unwrap_or_else(Semconv::from_env),
            capture_content: crate::content::enabled()
                && options
                    .capture_content
                    .unwrap_or_else(crate::content::client_capture_default),
            provider_name,
            server_address,
            server_port,
            include_usage: options.include_usage,
            propagate: options.propagate.unwrap_or(true),
            metrics,
            tracer: options.tracer.clone().map(InjectedTracer::from_boxed),
            metric_base,
        }
    }

    /// Whether message content is recorded now: the client's choice, unless content capture was
    /// turned off for the process since.
    pub(crate) fn capture_content(&self) -> bool {
        self.capture_content && crate::content::enabled()
    }

    /// The attributes of the metrics of one `operation` on `request_model` (empty, without
    /// allocating, when metrics are off).
    pub(crate) fn metric_attributes(
        &self,
        operation: &'static str,
        request_model: &Arc<str>,
    ) -> Vec<KeyValue> {
        if self.metrics.is_none() {
            return Vec::new();
        }
        let mut attributes = Vec::with_capacity(self.metric_base.len() + 4);
        attributes.push(KeyValue::new(attr::GEN_AI_OPERATION_NAME, operation));
        attributes.extend_from_slice(&self.metric_base);
        attributes.push(KeyValue::new(
            attr::GEN_AI_REQUEST_MODEL,
            request_model.clone(),
        ));
        attributes
    }
}
