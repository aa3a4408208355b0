use traced_chat::traced_chat;

#[traced_chat]
struct Assistant {
    model: String,
}

fn main() {}
