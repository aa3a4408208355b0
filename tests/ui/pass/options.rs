// Every option: name, prompt, skip, content, fields.
use traced_chat::traced_chat;

struct Request {
    messages: Vec<String>,
}

impl Request {
    fn last(&self) -> &str {
        self.messages.last().map_or("", |m| m.as_str())
    }
}

#[traced_chat(name = "answer")]
fn renamed(prompt: &str) -> String {
    prompt.to_owned()
}

#[traced_chat(prompt = question)]
fn chosen(question: &str, context: &str) -> String {
    format!("{context}: {question}")
}

#[traced_chat(prompt = request.last())]
fn method_call(request: &Request) -> String {
    request.messages.join("\n")
}

#[traced_chat(skip(prompt))]
fn no_prompt() -> String {
    "daily digest".to_owned()
}

#[traced_chat(skip(response))]
fn no_response(prompt: &str) -> Vec<u8> {
    prompt.as_bytes().to_vec()
}

#[traced_chat(skip(prompt, response))]
fn neither(secret: &[u8]) -> [u8; 2] {
    [secret[0], secret[1]]
}

#[traced_chat(content = false)]
fn private(patient: &str) -> String {
    patient.to_owned()
}

#[traced_chat(content = true, name = "explicit")]
fn content_on(prompt: &str) -> String {
    prompt.to_owned()
}

#[traced_chat(fields(user.id = user_id, "app.tier" = "free", app.score = 0.5, app.ok = true, app.name = name.to_owned()))]
fn with_fields(prompt: &str, user_id: i64, name: &str) -> String {
    format!("{name}#{user_id}: {prompt}")
}

#[traced_chat(
    name = "everything",
    prompt = request.messages[0],
    skip(response),
    fields(r#type = "chat", messages = request.messages.len() as i64),
)]
async fn everything(request: Request) -> Request {
    request
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    assert_eq!(renamed("a"), "a");
    assert_eq!(chosen("q", "c"), "c: q");
    let request = Request {
        messages: vec!["x".into(), "y".into()],
    };
    assert_eq!(method_call(&request), "x\ny");
    assert_eq!(no_prompt(), "daily digest");
    assert_eq!(no_response("ab"), b"ab");
    assert_eq!(neither(b"ab"), *b"ab");
    assert_eq!(private("p"), "p");
    assert_eq!(content_on("c"), "c");
    assert_eq!(with_fields("p", 7, "ann"), "ann#7: p");
    assert_eq!(everything(request).await.messages.len(), 2);
}
