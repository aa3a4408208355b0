use traced_chat::traced_chat;

#[traced_chat]
fn call(question: &str) -> String {
    question.to_owned()
}

fn main() {}
