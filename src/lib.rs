#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs, unreachable_pub, missing_debug_implementations)]

pub use traced_chat_macros::traced_chat;
pub use traced_chat_runtime::*;
