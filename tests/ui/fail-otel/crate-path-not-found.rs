use traced_chat::traced_chat;

#[traced_chat(crate = tc)]
fn call(prompt: &str) -> String {
    prompt.to_owned()
}

fn main() {}
