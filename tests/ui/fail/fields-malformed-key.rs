use traced_chat::traced_chat;

#[traced_chat(fields(user. = user_id, 42 = "answer"))]
fn call(prompt: &str, user_id: i64) -> String {
    format!("{user_id}: {prompt}")
}

fn main() {}
