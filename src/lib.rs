#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs, unreachable_pub, missing_debug_implementations)]

pub use traced_chat_macros::traced_chat;

/// `testing`, when the runtime has it (the `testing` feature, or a dev-dependency that asks).
// Without it the glob brings nothing: not an unused import to fix.
#[allow(unused_imports, unreachable_pub)]
pub use traced_chat_runtime::__optional::*;
#[cfg(feature = "otel")]
#[cfg_attr(docsrs, doc(cfg(feature = "otel")))]
pub use traced_chat_runtime::{ConsoleExporter, ConsoleMetricExporter, INSTRUMENTATION_NAME};
pub use traced_chat_runtime::{
    RecordPrompt, RecordResponse, Recorder, Semconv, TracedChat, TracedChatStream, TracedClient,
    TracedClientBuilder, TracedEmbeddings, attributes, content, error, init,
};

#[doc(hidden)]
pub use traced_chat_runtime::__private;
