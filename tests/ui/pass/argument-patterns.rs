// Argument patterns: tuples, `_`, `mut`, struct patterns; the prompt found inside a pattern.
use traced_chat::traced_chat;

struct Request {
    text: String,
    user: u64,
}

#[traced_chat]
fn tuple((prompt, count): (&str, usize), _: u8) -> String {
    prompt.repeat(count)
}

#[traced_chat]
fn mutable(mut prompt: String) -> String {
    prompt.push('!');
    prompt
}

#[traced_chat(prompt = text)]
fn destructured(Request { text, user }: Request) -> String {
    format!("{user}: {text}")
}

#[traced_chat(prompt = request.text)]
fn field(request: &Request) -> &str {
    &request.text
}

fn main() {
    assert_eq!(tuple(("ab", 2), 0), "abab");
    assert_eq!(mutable("a".into()), "a!");
    let request = Request {
        text: "hi".into(),
        user: 7,
    };
    assert_eq!(field(&request), "hi");
    assert_eq!(destructured(request), "7: hi");
}
