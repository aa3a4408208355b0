use traced_chat::traced_chat;

#[traced_chat(fields(user.tags = tags))]
fn call(prompt: &str, tags: Vec<u8>) -> String {
    prompt.to_owned()
}

fn main() {}
