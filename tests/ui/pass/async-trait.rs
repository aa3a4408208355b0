// `#[traced_chat]` on methods of an `#[async_trait]` impl: the `Box::pin(async move { .. })`
// body async-trait writes is recognised and its future instrumented.
use async_trait::async_trait;
use std::sync::Arc;
use traced_chat::traced_chat;

#[async_trait]
trait Chat {
    async fn reply(&self, prompt: &str) -> String;
    async fn reply_owned(self: Arc<Self>, prompt: String) -> Result<String, std::fmt::Error>;

    #[traced_chat(name = "Chat::default_reply")]
    async fn default_reply(&self, prompt: &str) -> String {
        prompt.to_owned()
    }
}

struct Echo {
    prefix: String,
}

#[async_trait]
impl Chat for Echo {
    #[traced_chat]
    async fn reply(&self, prompt: &str) -> String {
        format!("{}{prompt}", self.prefix)
    }

    #[traced_chat(fields(echo.prefix = self.prefix.clone()))]
    async fn reply_owned(self: Arc<Self>, prompt: String) -> Result<String, std::fmt::Error> {
        if prompt.is_empty() {
            return Err(std::fmt::Error);
        }
        Ok(self.reply(&prompt).await)
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let echo = Arc::new(Echo {
        prefix: "> ".into(),
    });
    assert_eq!(echo.reply("a").await, "> a");
    assert_eq!(echo.clone().reply_owned("b".into()).await.unwrap(), "> b");
    assert!(echo.clone().reply_owned(String::new()).await.is_err());
    assert_eq!(echo.default_reply("c").await, "c");
}
