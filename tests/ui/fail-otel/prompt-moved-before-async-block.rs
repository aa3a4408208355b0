use std::future::Future;
use traced_chat::traced_chat;

// The span of a function ending in an `async` block starts at the block's first poll and reads
// the prompt there: a statement before the block must not move the prompt away.
#[traced_chat]
fn ask(prompt: String) -> impl Future<Output = String> {
    let messages = vec![prompt];
    async move { messages.join("\n") }
}

fn main() {
    let _ = ask("x".into());
}
