use traced_chat::traced_chat;

#[traced_chat(skip())]
fn call(prompt: &str) -> String {
    prompt.to_owned()
}

fn main() {}
