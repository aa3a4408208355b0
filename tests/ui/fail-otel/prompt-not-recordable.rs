use traced_chat::traced_chat;

struct Question {
    topic: String,
}

#[traced_chat]
fn call(prompt: Question) -> String {
    prompt.topic
}

fn main() {}
