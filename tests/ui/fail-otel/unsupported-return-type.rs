use traced_chat::traced_chat;

struct Completion {
    text: String,
}

#[traced_chat]
fn call(prompt: &str) -> Completion {
    Completion {
        text: prompt.to_owned(),
    }
}

fn main() {}
