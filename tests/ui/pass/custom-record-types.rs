// User types recorded through the runtime traits; a `Display` prompt type.
use traced_chat::{RecordPrompt, RecordResponse, Recorder, traced_chat};

struct Answer {
    text: String,
}

impl RecordResponse for Answer {
    fn record_response(&self, recorder: &Recorder<'_>) {
        recorder.response(&self.text);
    }
}

struct Question {
    topic: String,
}

impl RecordPrompt for Question {
    fn record_prompt(&self, recorder: &Recorder<'_>) {
        recorder.prompt(&format!("Tell me about {}", self.topic));
    }
}

struct Shown(u32);

impl std::fmt::Display for Shown {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "#{}", self.0)
    }
}

#[traced_chat]
fn ask(prompt: Question) -> Answer {
    Answer { text: prompt.topic }
}

#[traced_chat]
fn shown(prompt: &Shown) -> Box<String> {
    Box::new(prompt.to_string())
}

#[traced_chat]
async fn wrapped(prompt: Question) -> Result<Option<Answer>, std::fmt::Error> {
    Ok(Some(ask(prompt)))
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    assert_eq!(
        ask(Question {
            topic: "owls".into()
        })
        .text,
        "owls"
    );
    assert_eq!(*shown(&Shown(3)), "#3");
    let answer = wrapped(Question {
        topic: "bats".into(),
    })
    .await
    .unwrap()
    .unwrap();
    assert_eq!(answer.text, "bats");
}
