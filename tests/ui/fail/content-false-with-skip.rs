use traced_chat::traced_chat;

#[traced_chat(content = false, skip(response))]
fn call(prompt: &str) -> String {
    prompt.to_owned()
}

fn main() {}
