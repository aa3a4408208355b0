use traced_chat::traced_chat;

struct Assistant;

impl Assistant {
    #[traced_chat(prompt = self.prompt)]
    fn call(text: &str) -> String {
        text.to_owned()
    }
}

fn main() {}
