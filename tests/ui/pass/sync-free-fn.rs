// The simplest shape: a free function, the prompt argument named `prompt`.
use traced_chat::traced_chat;

#[traced_chat]
fn call(prompt: &str) -> String {
    format!("answer to {prompt}")
}

#[traced_chat]
fn borrowed<'a>(prompt: &'a str) -> &'a str {
    prompt
}

#[traced_chat]
fn owned(prompt: String) -> Option<String> {
    Some(prompt)
}

#[traced_chat]
fn unit(prompt: &String) {
    let _ = prompt.len();
}

fn main() {
    assert_eq!(call("hi"), "answer to hi");
    assert_eq!(borrowed("hi"), "hi");
    assert_eq!(owned("hi".into()).as_deref(), Some("hi"));
    unit(&"hi".to_owned());
}
