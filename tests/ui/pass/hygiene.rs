// Generated names cannot collide with the user's: arguments called `span`, `cx`, `guard`,
// `__traced_chat_span`; user modules called `opentelemetry` or `core`.
#![deny(unused_variables)]
use traced_chat::traced_chat;

mod opentelemetry {}
#[allow(dead_code)]
mod core {}

#[traced_chat]
fn names(prompt: &str, span: u8, cx: u8, guard: u8, __traced_chat_span: u8) -> String {
    format!("{prompt}{}", span + cx + guard + __traced_chat_span)
}

#[traced_chat(fields(span = span as i64))]
async fn async_names(
    prompt: String,
    span: u8,
    __traced_chat_span: &str,
    __traced_chat_fake: u8,
) -> String {
    format!("{prompt}{span}{__traced_chat_span}{__traced_chat_fake}")
}

#[traced_chat]
fn shadowing(prompt: &str) -> String {
    let prompt = prompt.len();
    let __traced_chat_span = prompt;
    __traced_chat_span.to_string()
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    assert_eq!(names("a", 1, 2, 3, 4), "a10");
    assert_eq!(async_names("a".into(), 1, "b", 2).await, "a1b2");
    assert_eq!(shadowing("abc"), "3");
}
