// Generic parameters, bounds, `where` clauses, lifetimes, const generics.
use std::fmt::Display;
use traced_chat::traced_chat;

#[traced_chat]
fn generic<P: Display + ?Sized>(prompt: &P) -> String {
    prompt.to_string()
}

#[traced_chat(prompt = prompt.as_ref())]
fn with_where<'a, 'b: 'a, P, R>(prompt: P, fallback: &'b R) -> &'a str
where
    P: AsRef<str>,
    R: AsRef<str> + ?Sized,
{
    if prompt.as_ref().is_empty() {
        fallback.as_ref()
    } else {
        "given"
    }
}

#[traced_chat(prompt = prompt[0])]
fn const_generic<const N: usize>(prompt: [&str; N]) -> String {
    prompt.join(" ")
}

struct Wrapper<T>(T);

impl<T: Display> Wrapper<T> {
    #[traced_chat(prompt = self.0)]
    async fn describe<U>(&self, extra: U) -> String
    where
        U: Into<String> + Send,
    {
        format!("{} {}", self.0, extra.into())
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    assert_eq!(generic("a"), "a");
    assert_eq!(with_where("", "fallback"), "fallback");
    assert_eq!(const_generic(["a", "b"]), "a b");
    assert_eq!(Wrapper(1).describe("x").await, "1 x");
}
