use traced_chat::traced_chat;

#[traced_chat(skip(prompt, user_id))]
fn call(prompt: &str, user_id: u64) -> String {
    format!("{user_id}: {prompt}")
}

fn main() {}
