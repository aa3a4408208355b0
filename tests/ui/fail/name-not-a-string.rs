use traced_chat::traced_chat;

#[traced_chat(name = answer)]
fn call(prompt: &str) -> String {
    prompt.to_owned()
}

fn main() {}
