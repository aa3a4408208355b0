use traced_chat::traced_chat;

// A type error in the body is reported at the user's code, as without the attribute.
#[traced_chat]
async fn call(prompt: &str) -> Result<String, std::fmt::Error> {
    let n: usize = prompt.parse()?;
    Ok(n)
}

fn main() {}
