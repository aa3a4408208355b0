// Early `return`, `?`, `loop` with `break` values, and a body that panics.
use traced_chat::traced_chat;

#[traced_chat]
fn early(prompt: &str) -> Option<String> {
    if prompt.is_empty() {
        return None;
    }
    let first = prompt.chars().next()?;
    Some(first.to_string())
}

#[traced_chat]
fn parse(prompt: &str) -> Result<String, std::num::ParseIntError> {
    let n: u32 = prompt.parse()?;
    Ok((n * 2).to_string())
}

#[traced_chat]
fn looping(prompt: &str) -> String {
    let mut n = 0;
    loop {
        n += 1;
        if n >= prompt.len() {
            break prompt.to_uppercase();
        }
    }
}

#[traced_chat]
async fn async_early(prompt: &str) -> Result<String, std::num::ParseIntError> {
    if prompt == "none" {
        return Ok(String::new());
    }
    let n: u32 = prompt.parse()?;
    Ok(n.to_string())
}

#[traced_chat]
fn panics(prompt: &str) -> String {
    panic!("no answer for {prompt}")
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    assert_eq!(early(""), None);
    assert_eq!(early("ab").as_deref(), Some("a"));
    assert_eq!(parse("21").unwrap(), "42");
    assert!(parse("x").is_err());
    assert_eq!(looping("abc"), "ABC");
    assert_eq!(async_early("none").await.unwrap(), "");
    assert!(async_early("x").await.is_err());
    assert!(std::panic::catch_unwind(|| panics("p")).is_err());
}
