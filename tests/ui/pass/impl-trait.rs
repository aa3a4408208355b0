// `impl Trait` in argument and return position, including `-> impl Future` (not `async`).
use std::future::Future;
use traced_chat::traced_chat;

#[traced_chat]
fn into_prompt(prompt: impl Into<String> + std::fmt::Display) -> String {
    prompt.into()
}

#[traced_chat(prompt = prompt.as_ref())]
fn as_ref_prompt(prompt: impl AsRef<str>) -> impl std::fmt::Display {
    prompt.as_ref().to_owned()
}

#[traced_chat]
fn shown(prompt: &str) -> impl std::fmt::Display + traced_chat::RecordResponse {
    prompt.to_owned()
}

#[traced_chat]
fn later(prompt: String) -> impl Future<Output = String> + Send {
    async move { prompt.repeat(2) }
}

#[traced_chat]
fn later_borrowed<'a>(prompt: &'a str) -> impl Future<Output = Option<&'a str>> + 'a {
    if prompt.is_empty() {
        return std::future::ready(None);
    }
    std::future::ready(Some(prompt))
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    assert_eq!(into_prompt("a"), "a");
    assert_eq!(as_ref_prompt("a").to_string(), "a");
    assert_eq!(shown("b").to_string(), "b");
    assert_eq!(later("c".into()).await, "cc");
    assert_eq!(later_borrowed("").await, None);
    assert_eq!(later_borrowed("d").await, Some("d"));
}
