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

// An `async` block after statements: the statements run at the call, the block is traced.
#[traced_chat(fields(app.words = words as i64))]
fn prepared(prompt: &str, words: usize) -> impl Future<Output = String> {
    let first: Vec<&str> = prompt.split(' ').take(words).collect();
    let joined = first.join(" ");
    async move { joined }
}

// The prompt is recorded at the call, so a block that does not use it need not take it.
#[traced_chat]
fn unused_prompt(prompt: String) -> impl Future<Output = String> + Send + 'static {
    let n = prompt.len();
    async move { n.to_string() }
}

// ... and a statement before the block may move the prompt away.
#[traced_chat]
fn moved_prompt(prompt: String) -> impl Future<Output = String> {
    let messages = vec![prompt];
    async move { messages.join("\n") }
}

// A future that captures nothing of the arguments.
#[traced_chat]
fn captures_nothing(prompt: &str) -> impl Future<Output = String> + use<> {
    let n = prompt.len();
    async move { n.to_string() }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    assert_eq!(into_prompt("a"), "a");
    assert_eq!(as_ref_prompt("a").to_string(), "a");
    assert_eq!(shown("b").to_string(), "b");
    assert_eq!(later("c".into()).await, "cc");
    assert_eq!(later_borrowed("").await, None);
    assert_eq!(later_borrowed("d").await, Some("d"));
    assert_eq!(prepared("a b c", 2).await, "a b");
    assert_eq!(unused_prompt("abc".into()).await, "3");
    assert_eq!(moved_prompt("m".into()).await, "m");
    assert_eq!(captures_nothing("four").await, "4");
}
