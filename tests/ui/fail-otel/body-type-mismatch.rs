use traced_chat::traced_chat;

// A type error in the body is reported at the user's code, as without the attribute.
#[traced_chat]
fn call(prompt: &str) -> String {
    prompt.len()
}

fn main() {}
