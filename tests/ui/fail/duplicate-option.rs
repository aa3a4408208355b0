use traced_chat::traced_chat;

#[traced_chat(name = "first", name = "second")]
fn call(prompt: &str) -> String {
    prompt.to_owned()
}

fn main() {}
