// `async fn`: the body becomes an instrumented future; `?` and `.await` work inside.
use traced_chat::traced_chat;

#[derive(Debug)]
struct ApiError;

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("api error")
    }
}

async fn fetch(prompt: &str) -> Result<String, ApiError> {
    if prompt.is_empty() {
        Err(ApiError)
    } else {
        Ok(prompt.to_uppercase())
    }
}

#[traced_chat]
async fn call(prompt: &str) -> Result<String, ApiError> {
    let answer = fetch(prompt).await?;
    Ok(answer)
}

#[traced_chat]
pub async fn no_return(prompt: String) {
    let _ = fetch(&prompt).await;
}

fn assert_send<T: Send>(value: T) -> T {
    value
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    // The instrumented future stays `Send`: it can be spawned.
    let spawned = tokio::spawn(assert_send(call("spawned")));
    assert_eq!(spawned.await.unwrap().unwrap(), "SPAWNED");
    assert_eq!(call("hi").await.unwrap(), "HI");
    assert!(call("").await.is_err());
    no_return("x".into()).await;
}
