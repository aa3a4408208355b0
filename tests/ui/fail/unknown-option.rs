use traced_chat::traced_chat;

#[traced_chat(level = "info")]
fn call(prompt: &str) -> String {
    prompt.to_owned()
}

fn main() {}
