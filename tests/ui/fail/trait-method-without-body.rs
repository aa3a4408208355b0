use traced_chat::traced_chat;

trait Chat {
    #[traced_chat]
    fn call(&self, prompt: &str) -> String;
}

fn main() {}
