use traced_chat::traced_chat;

#[derive(Debug)]
struct AskError;

impl std::fmt::Display for AskError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ask failed")
    }
}

// A type error in the body is reported at the user's code, as without the attribute.
#[traced_chat]
async fn call(prompt: &str) -> Result<String, AskError> {
    let n: usize = prompt.parse()?;
    Ok(n)
}

fn main() {}
