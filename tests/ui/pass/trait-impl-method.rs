// Methods of a trait impl, sync and `async fn` in traits; a trait's default method with a body.
use traced_chat::traced_chat;

trait Chat {
    fn reply(&self, prompt: &str) -> String;
    async fn reply_later(&self, prompt: String) -> String;

    #[traced_chat(name = "Chat::shout")]
    fn shout(&self, prompt: &str) -> String {
        self.reply(prompt).to_uppercase()
    }
}

struct Echo;

impl Chat for Echo {
    #[traced_chat]
    fn reply(&self, prompt: &str) -> String {
        prompt.to_owned()
    }

    #[traced_chat]
    async fn reply_later(&self, prompt: String) -> String {
        prompt
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    assert_eq!(Echo.reply("a"), "a");
    assert_eq!(Echo.reply_later("b".into()).await, "b");
    assert_eq!(Echo.shout("c"), "C");
}
