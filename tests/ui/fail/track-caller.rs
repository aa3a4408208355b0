use traced_chat::traced_chat;

// The body runs in a closure (or an async block), where the caller's location is lost.
#[traced_chat]
#[track_caller]
fn call(prompt: &str) -> String {
    prompt.to_owned()
}

// The function is still emitted as written: no second error here.
fn main() {
    let _ = call("x");
}
