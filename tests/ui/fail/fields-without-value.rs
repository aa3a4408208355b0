use traced_chat::traced_chat;

#[traced_chat(fields(user.id))]
fn call(prompt: &str, user_id: i64) -> String {
    format!("{user_id}: {prompt}")
}

fn main() {}
