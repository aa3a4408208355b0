use traced_chat::traced_chat;

// Two mistakes, two errors: one in the options, one in the function.
#[traced_chat(nmae = "answer")]
const fn call(prompt: &str) -> &str {
    prompt
}

fn main() {}
