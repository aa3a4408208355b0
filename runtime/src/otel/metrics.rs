//! GenAI client metrics: token usage and operation duration (plus time to first chunk and time
//! per output chunk for streams), with the conventions' attributes and bucket boundaries.

use std::time::Duration;

use opentelemetry::KeyValue;
use opentelemetry::metrics::Histogram;

use crate::attributes as attr;

/// Bucket boundaries of `gen_ai.client.token.usage`.
const TOKEN_BUCKETS: [f64; 14] = [
    1.0, 4.0, 16.0, 64.0, 256.0, 1024.0, 4096.0, 16384.0, 65536.0, 262144.0, 1048576.0, 4194304.0,
    16777216.0, 67108864.0,
];
/// Bucket boundaries of the duration histograms, in seconds.
const DURATION_BUCKETS: [f64; 14] = [
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
];

/// Tokens a call used, as the server reported them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TokenUsage {
    pub(crate) input: u64,
    /// `None` for operations that produce no tokens (embeddings).
    pub(crate) output: Option<u64>,
}

/// The instruments of one client, taken from its meter (the global meter provider's as it is
/// when the client is built, unless one was given to the builder).
#[derive(Debug, Clone)]
pub(crate) struct Metrics {
    token_usage: Histogram<u64>,
    duration: Histogram<f64>,
    time_to_first_chunk: Histogram<f64>,
    time_per_output_chunk: Histogram<f64>,
}

impl Metrics {
    pub(crate) fn new(meter: &opentelemetry::metrics::Meter) -> Self {
        Metrics {
            token_usage: meter
                .u64_histogram(attr::METRIC_TOKEN_USAGE)
                .with_unit("{token}")
                .with_description("Number of input and output tokens used")
                .with_boundaries(TOKEN_BUCKETS.to_vec())
                .build(),
            duration: meter
                .f64_histogram(attr::METRIC_OPERATION_DURATION)
                .with_unit("s")
                .with_description("GenAI operation duration")
                .with_boundaries(DURATION_BUCKETS.to_vec())
                .build(),
            time_to_first_chunk: meter
                .f64_histogram(attr::METRIC_TIME_TO_FIRST_CHUNK)
                .with_unit("s")
                .with_description("Time to receive the first chunk of a streamed response")
                .with_boundaries(DURATION_BUCKETS.to_vec())
                .build(),
            time_per_output_chunk: meter
                .f64_histogram(attr::METRIC_TIME_PER_OUTPUT_CHUNK)
                .with_unit("s")
                .with_description("Time between chunks of a streamed response, after the first")
                .with_boundaries(DURATION_BUCKETS.to_vec())
                .build(),
        }
    }

    /// Records the end of an operation: its duration (with `error.type` on failure) and, when the
    /// server reported it, the token usage.
    pub(crate) fn record_operation(
        &self,
        mut attributes: Vec<KeyValue>,
        response_model: Option<std::sync::Arc<str>>,
        error_type: Option<&str>,
        duration: Duration,
        usage: Option<TokenUsage>,
    ) {
        if let Some(model) = response_model {
            attributes.push(KeyValue::new(attr::GEN_AI_RESPONSE_MODEL, model));
        }
        if let Some(error_type) = error_type {
            attributes.push(KeyValue::new(attr::ERROR_TYPE, error_type.to_owned()));
        }
        self.duration.record(duration.as_secs_f64(), &attributes);
        if let Some(usage) = usage {
            attributes.push(KeyValue::new(attr::GEN_AI_TOKEN_TYPE, "input"));
            self.token_usage.record(usage.input, &attributes);
            if let Some(last) = attributes.last_mut() {
                *last = KeyValue::new(attr::GEN_AI_TOKEN_TYPE, "output");
            }
            if let Some(output) = usage.output {
                self.token_usage.record(output, &attributes);
            }
        }
    }

    /// Records the time to the first chunk of a stream.
    pub(crate) fn record_first_chunk(&self, base: &[KeyValue], elapsed: Duration) {
        self.time_to_first_chunk.record(elapsed.as_secs_f64(), base);
    }

    /// Records the time since the previous chunk of a stream.
    pub(crate) fn record_next_chunk(&self, base: &[KeyValue], elapsed: Duration) {
        self.time_per_output_chunk
            .record(elapsed.as_secs_f64(), base);
    }
}
