use traced_chat::traced_chat;

#[traced_chat]
const fn call(prompt: &str) -> &str {
    prompt
}

// The function is still emitted as written: no second error here.
const ANSWER: &str = call("const");

fn main() {
    let _ = ANSWER;
}
