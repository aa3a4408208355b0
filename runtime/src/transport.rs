//! Where HTTP requests go: a reqwest client (the default) or any tower service (an in-process
//! server for tests and benchmarks, a custom stack).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use async_openai::error::OpenAIError;
use async_openai::middleware::HttpRequestFactory;
use tower::ServiceExt as _;
use tower::util::BoxCloneSyncService;

/// A type-erased transport service.
pub(crate) type BoxTransport =
    BoxCloneSyncService<reqwest::Request, reqwest::Response, reqwest::Error>;

/// Sends one built request.
#[derive(Clone)]
pub(crate) enum Transport {
    Reqwest(reqwest::Client),
    Service(BoxTransport),
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Transport::Reqwest(client) => f.debug_tuple("Reqwest").field(client).finish(),
            Transport::Service(_) => f.write_str("Service"),
        }
    }
}

impl Transport {
    pub(crate) async fn send(
        &self,
        request: reqwest::Request,
    ) -> Result<reqwest::Response, reqwest::Error> {
        match self {
            Transport::Reqwest(client) => client.execute(request).await,
            Transport::Service(service) => service.clone().oneshot(request).await,
        }
    }
}

/// The untraced innermost service (instrumentation off, custom transport).
#[cfg_attr(feature = "otel", allow(dead_code))]
#[derive(Clone, Debug)]
pub(crate) struct TransportService(pub(crate) Transport);

type HttpFuture = Pin<Box<dyn Future<Output = Result<reqwest::Response, OpenAIError>> + Send>>;

impl tower::Service<HttpRequestFactory> for TransportService {
    type Response = reqwest::Response;
    type Error = OpenAIError;
    type Future = HttpFuture;

    fn poll_ready(&mut self, _: &mut TaskContext<'_>) -> Poll<Result<(), OpenAIError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, factory: HttpRequestFactory) -> HttpFuture {
        let transport = self.0.clone();
        Box::pin(async move {
            let request = factory.build().await?;
            transport.send(request).await.map_err(OpenAIError::Reqwest)
        })
    }
}
