use traced_chat::traced_chat;

#[traced_chat]
async fn call(prompt: &str) -> Vec<u8> {
    prompt.as_bytes().to_vec()
}

fn main() {}
