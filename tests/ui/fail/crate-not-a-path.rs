use traced_chat::traced_chat;

#[traced_chat(crate = "traced_chat")]
fn call(prompt: &str) -> String {
    prompt.to_owned()
}

fn main() {}
