use traced_chat::traced_chat;

struct Assistant;

#[traced_chat]
impl Assistant {
    fn call(&self, prompt: &str) -> String {
        prompt.to_owned()
    }
}

fn main() {}
