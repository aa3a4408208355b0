use traced_chat::traced_chat;

#[traced_chat(prompt = question)]
fn call(text: &str, model: &str) -> String {
    format!("{model}: {text}")
}

fn main() {}
