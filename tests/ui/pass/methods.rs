// Every receiver: `&self`, `&mut self`, `self`, `self: Arc<Self>`, and associated functions.
use std::sync::Arc;
use traced_chat::traced_chat;

struct Assistant {
    history: Vec<String>,
}

impl Assistant {
    #[traced_chat(skip(response))]
    fn new(prompt: &str) -> Self {
        Assistant {
            history: vec![prompt.to_owned()],
        }
    }

    #[traced_chat]
    fn ask(&self, prompt: &str) -> String {
        format!("{} previous, {prompt}", self.history.len())
    }

    #[traced_chat]
    fn remember(&mut self, prompt: String) -> &mut String {
        self.history.push(prompt);
        self.history.last_mut().unwrap()
    }

    #[traced_chat]
    fn into_last(self, prompt: &str) -> Option<String> {
        let _ = prompt;
        self.history.into_iter().last()
    }

    #[traced_chat]
    async fn ask_async(&self, prompt: &str) -> String {
        self.ask(prompt)
    }

    #[traced_chat]
    async fn shared(self: Arc<Self>, prompt: String) -> String {
        format!("{}: {prompt}", self.history.len())
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut assistant = Assistant::new("hello");
    assistant.history.clear();
    assistant.remember("a".into()).push('!');
    assert_eq!(assistant.ask("b"), "1 previous, b");
    assert_eq!(assistant.ask_async("c").await, "1 previous, c");
    let assistant = Arc::new(assistant);
    assert_eq!(assistant.clone().shared("d".into()).await, "1: d");
    let assistant = Arc::into_inner(assistant).unwrap();
    assert_eq!(assistant.into_last("e").as_deref(), Some("a!"));
}
