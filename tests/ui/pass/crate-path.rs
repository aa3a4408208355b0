// `crate = path`: the generated code reaches the runtime through a re-export.
use traced_chat::traced_chat;

mod reexport {
    pub use traced_chat;
}

mod elsewhere {
    // A user module named like the crate does not change where `::traced_chat` points.
    #[allow(dead_code)]
    mod traced_chat {}

    #[crate::traced_chat(crate = crate::reexport::traced_chat)]
    pub fn call(prompt: &str) -> String {
        prompt.to_owned()
    }

    #[crate::traced_chat(crate = ::traced_chat, name = "absolute")]
    pub fn absolute(prompt: &str) -> String {
        prompt.to_owned()
    }
}

fn main() {
    assert_eq!(elsewhere::call("a"), "a");
    assert_eq!(elsewhere::absolute("b"), "b");
}
