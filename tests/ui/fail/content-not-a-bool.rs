use traced_chat::traced_chat;

#[traced_chat(content = "none")]
fn call(prompt: &str) -> String {
    prompt.to_owned()
}

fn main() {}
