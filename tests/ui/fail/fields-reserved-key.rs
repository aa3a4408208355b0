use traced_chat::traced_chat;

#[traced_chat(fields(openai.response = "redacted"))]
fn call(prompt: &str) -> String {
    prompt.to_owned()
}

fn main() {}
