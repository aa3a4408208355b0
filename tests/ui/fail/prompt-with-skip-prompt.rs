use traced_chat::traced_chat;

#[traced_chat(prompt = text, skip(prompt))]
fn call(text: &str) -> String {
    text.to_owned()
}

fn main() {}
