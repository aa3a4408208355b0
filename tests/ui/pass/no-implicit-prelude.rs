// The expansion names nothing from the prelude: it works in a `#![no_implicit_prelude]` module.
use traced_chat::traced_chat;

mod inner {
    #![no_implicit_prelude]

    #[::traced_chat::traced_chat]
    pub fn call(prompt: &str) -> ::std::string::String {
        ::std::borrow::ToOwned::to_owned(prompt)
    }

    #[::traced_chat::traced_chat(fields(user.id = 1))]
    pub async fn call_async(prompt: &str) -> ::std::option::Option<&str> {
        ::std::option::Option::Some(prompt)
    }
}

#[traced_chat]
fn outer(prompt: &str) -> String {
    inner::call(prompt)
}

fn main() {
    assert_eq!(outer("a"), "a");
    drop(inner::call_async("b"));
}
