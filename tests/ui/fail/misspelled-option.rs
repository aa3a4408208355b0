use traced_chat::traced_chat;

#[traced_chat(promt = question)]
fn call(question: &str) -> String {
    question.to_owned()
}

fn main() {}
