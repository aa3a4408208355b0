// Functions written by `macro_rules!`: every part of the function and of the options arrives as a
// fragment (`ty`, `block`, `expr`, `pat`, `vis`, `ident`, `literal`, `path`), which the compiler
// passes in an invisible group. The attribute sees through them: `-> $ret` with
// `$ret = impl Future<…>` is traced as a future, not recorded as a sync response.
use std::future::Future;
use std::pin::Pin;
use traced_chat::traced_chat;

macro_rules! endpoint {
    ($vis:vis fn $name:ident($arg:pat) -> $ret:ty $body:block) => {
        #[traced_chat]
        $vis fn $name($arg: String) -> $ret $body
    };
}

endpoint!(pub fn later(prompt) -> impl Future<Output = String> + Send {
    async move { prompt.repeat(2) }
});

endpoint!(fn ready(prompt) -> impl Future<Output = String> {
    std::future::ready(prompt.to_uppercase())
});

endpoint!(fn sync(prompt) -> Result<String, std::fmt::Error> {
    Ok(prompt)
});

// `impl Trait` inside the fragment is erased in the return type check as when written out.
endpoint!(fn shown(prompt) -> impl std::fmt::Display + traced_chat::RecordResponse {
    prompt
});

endpoint!(pub(crate) fn boxed(prompt) -> Pin<Box<dyn Future<Output = String> + Send>> {
    Box::pin(async move { prompt })
});

macro_rules! with_tail {
    ($name:ident, $ret:ty, $tail:expr) => {
        #[traced_chat(skip(prompt))]
        fn $name() -> $ret {
            $tail
        }
    };
}

with_tail!(tail_async, impl Future<Output = String>, async {
    "a".to_owned()
});
with_tail!(
    tail_boxed,
    Pin<Box<dyn Future<Output = String>>>,
    Box::pin(async { "b".to_owned() })
);

macro_rules! with_options {
    ($name:ident($question:ident, $id:ident), $span:literal, $krate:path, $prompt:expr, $field:expr) => {
        #[traced_chat(name = $span, crate = $krate, prompt = $prompt, fields(user.id = $field))]
        fn $name($question: &str, $id: i64) -> impl Future<Output = String> {
            let owned = $question.to_owned();
            async move { format!("{owned}{}", $id) }
        }
    };
}

with_options!(
    chosen(question, id),
    "chosen",
    traced_chat,
    question,
    id * 2
);

#[tokio::main(flavor = "current_thread")]
async fn main() {
    assert_eq!(later("c".into()).await, "cc");
    assert_eq!(ready("abc".into()).await, "ABC");
    assert_eq!(sync("d".into()), Ok("d".to_owned()));
    assert_eq!(shown("s".into()).to_string(), "s");
    assert_eq!(boxed("e".into()).await, "e");
    assert_eq!(tail_async().await, "a");
    assert_eq!(tail_boxed().await, "b");
    assert_eq!(chosen("f", 1).await, "f1");
}
