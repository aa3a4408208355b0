use traced_chat::traced_chat;

#[traced_chat(prompt = format!("{system}\n{user}"))]
fn call(system: &str, user: &str) -> String {
    format!("{system}: {user}")
}

fn main() {}
