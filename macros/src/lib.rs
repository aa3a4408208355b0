//! The `#[traced_chat]` attribute of [traced-chat](https://docs.rs/traced-chat).
//!
//! Use it through the `traced-chat` crate (`use traced_chat::traced_chat;`), which re-exports it
//! together with the runtime the generated code calls; this crate alone is not useful.
//!
//! The attribute only parses and generates: the expansion is a handful of calls into
//! `traced_chat::__private`, where the span handling and recording live. The examples below are
//! doc tests compiled against the `traced-chat` crate (a dev-dependency of this one).
//!
//! Files: `attr.rs` parses the options, `item.rs` parses and checks the function, `expand.rs`
//! checks the options against the function and generates the code.

#![deny(missing_docs, unreachable_pub, missing_debug_implementations)]

use proc_macro::TokenStream;

mod attr;
mod expand;
mod item;

/// Traces every call of a function that asks a model for an answer.
///
/// Each call opens an OpenTelemetry span (kind INTERNAL, child of the context current when it
/// starts) that is current while the body runs, records the prompt argument as `openai.prompt`
/// and the returned value as `openai.response`, and ends when the function returns (or, for a
/// future, when it completes or is dropped). When the span starts, and so which span is its
/// parent, depends on the function's shape: see [Function shapes](#function-shapes). A panic
/// ends the span with status ERROR and propagates unchanged; an `Err` return sets status ERROR.
///
/// ```
/// use async_openai::error::OpenAIError;
/// use async_openai::types::chat::{
///     ChatCompletionRequestUserMessage, CreateChatCompletionRequestArgs,
///     CreateChatCompletionResponse,
/// };
/// use traced_chat::{TracedClient, traced_chat};
///
/// #[traced_chat]
/// async fn call(
///     client: &TracedClient,
///     prompt: &str,
/// ) -> Result<CreateChatCompletionResponse, OpenAIError> {
///     let request = CreateChatCompletionRequestArgs::default()
///         .model("gpt-4o-mini")
///         .messages([ChatCompletionRequestUserMessage::from(prompt).into()])
///         .build()?;
///     client.chat().create(request).await
/// }
/// ```
///
/// # Function shapes
///
/// The attribute works on any function with a body. Where a span starts follows
/// `#[tracing::instrument]`, which Rust users know: a future is traced from its first poll.
///
/// - **`fn`**: the span starts at the call, child of the context current at the call, is
///   current while the body runs, and ends when it returns or panics.
/// - **`async fn`**: nothing happens at the call. The span starts when the future is first
///   polled, child of the context current at that poll (so a future built in one place and
///   awaited inside another span is that span's child), is current at every poll, and ends
///   when the future completes or is dropped.
/// - **A function that is not `async` and returns a future**: `fn f(…) -> impl Future<Output =
///   T>`, `-> Pin<Box<dyn Future<…>>>`, `-> BoxFuture<…>`, whatever the body (an `async` block
///   at its end, maybe in `Box::pin(…)`, or a future made elsewhere: `std::future::ready(x)`, a
///   call). The body runs at the call, as written, and the future it returns is traced as an
///   `async fn` is: the span starts when the future is first polled, child of the context
///   current at that poll (a future built before a span and awaited inside it is that span's
///   child), is current at every poll, and ends when the future completes or is dropped; a
///   future dropped before its first poll makes no span. What is recorded at the call (the
///   `fields(...)` values and the prompt, read before the body runs, so the body may move the
///   prompt wherever it likes) is kept until the span starts. The statements before the future
///   run outside the span: a traced call made there is not its child.
/// - **Methods of an `#[async_trait]` impl**: put `#[traced_chat]` on the method, under the
///   `#[async_trait]` of the `impl` block. async-trait turns the method into a function ending
///   in `Box::pin(async move { … })`, traced from its first poll as above: as a native
///   `async fn` is.
/// - free functions and associated functions; methods taking `&self`, `&mut self`, `self`,
///   `self: Arc<Self>`, and trait impl methods;
/// - generic functions, bounds and `where` clauses, lifetimes, `impl Trait` arguments and
///   return types, argument patterns such as `(a, b): (A, B)` and `_`;
/// - `pub(crate)`, `unsafe fn`, `extern "C" fn`; its other attributes and doc comments are kept,
///   so `#[must_use]`, `#[inline]` and `#[cfg(...)]` work as written;
/// - functions written by `macro_rules!`: parts given as fragments (`-> $ret:ty` with `$ret`
///   = `impl Future<Output = T> + Send`, a `$body:block`, an `$e:expr` at the end of the body,
///   `$arg:pat`, `$name:ident`, `$vis:vis`, and `$e:expr`, `$l:literal` or `$p:path` in the
///   options) are seen through, so the function is traced as if written out.
///
/// ```
/// # use traced_chat::traced_chat;
/// use std::future::Future;
///
/// struct Assistant {
///     drafts: Vec<String>,
/// }
///
/// impl Assistant {
///     #[traced_chat]
///     pub async fn ask(&self, prompt: String) -> Result<String, std::fmt::Error> {
///         Ok(format!("{} drafts, then: {prompt}", self.drafts.len()))
///     }
///
///     #[traced_chat]
///     fn draft<'a>(&mut self, prompt: &'a str, (lo, hi): (usize, usize)) -> Option<&'a str> {
///         self.drafts.push(prompt.to_owned());
///         prompt.get(lo..hi)
///     }
///
///     // Traced from the future's first poll; `count` is computed at the call.
///     #[traced_chat]
///     fn later(&self, prompt: String) -> impl Future<Output = String> + '_ {
///         let count = self.drafts.len();
///         async move { format!("{count}: {prompt}") }
///     }
///
///     // Traced from the future's first poll too, wherever the future is made.
///     #[traced_chat]
///     fn ready(&self, prompt: String) -> impl Future<Output = String> {
///         std::future::ready(prompt)
///     }
/// }
///
/// #[async_trait::async_trait]
/// trait Chat {
///     async fn chat(&self, prompt: &str) -> String;
/// }
///
/// #[async_trait::async_trait]
/// impl Chat for Assistant {
///     #[traced_chat]
///     async fn chat(&self, prompt: &str) -> String {
///         prompt.to_uppercase()
///     }
/// }
///
/// // One traced function per endpoint.
/// macro_rules! endpoint {
///     ($name:ident($prompt:ident), $ret:ty, $body:block) => {
///         #[traced_chat]
///         fn $name($prompt: String) -> $ret $body
///     };
/// }
///
/// endpoint!(summarise(prompt), impl Future<Output = String> + Send, {
///     async move { prompt.chars().take(40).collect() }
/// });
/// ```
///
/// Early `return`, `?`, `loop` with `break` values and panics behave as without the attribute.
///
/// Not supported, with a compile error that says so: `const fn` (spans are made at run time), a
/// trait method declaration without a body (put the attribute on the method of each impl), a
/// C-variadic function, and `#[track_caller]`: the body runs inside a closure or an async
/// block, which do not pass the caller's location on, so `Location::caller()` and panic
/// locations would point into the function instead of at its caller; rather than silently
/// changing what `#[track_caller]` means, the attribute refuses it.
///
/// # What is recorded
///
/// **The prompt** is the argument named `prompt` (also `mut prompt`), or the one chosen with
/// `prompt = …`. It is recorded through the runtime's `RecordPrompt` trait (implemented for
/// `&str`, `String`, the request message types of async-openai, …), else through `Display`. A
/// type that is neither fails to compile at the prompt argument.
///
/// **The response** is the returned value, recorded through the runtime's `RecordResponse` trait
/// (implemented for `String`, `&str`, the chat completion response, `Option<T>`,
/// `Result<T, E>`, `Box`/`Arc` of those, `()`…; an `Err` sets the span's status to ERROR). A
/// return type without an implementation fails to compile at the return type, with a message
/// that says what to do: implement `RecordResponse` for your type, or use `skip(response)`.
///
/// # Options
///
/// Options are written `#[traced_chat(option, option, …)]`, each at most once.
///
/// ## `name = "…"`
///
/// The span name (default: the function's name).
///
/// ```
/// # use traced_chat::traced_chat;
/// #[traced_chat(name = "summarise")]
/// async fn summarise_v2(prompt: &str) -> String {
///     prompt.chars().take(40).collect()
/// }
/// ```
///
/// ## `prompt = argument`
///
/// Which argument is the prompt, when it is not called `prompt`. A field or a method call on an
/// argument (or on `self`) also works; it is evaluated before the body.
///
/// ```
/// # use traced_chat::traced_chat;
/// use async_openai::types::chat::CreateChatCompletionRequest;
///
/// #[traced_chat(prompt = question)]
/// async fn ask(question: &str) -> String {
///     question.to_owned()
/// }
///
/// #[traced_chat(prompt = request.messages)]
/// async fn complete(request: CreateChatCompletionRequest) -> String {
///     request.model
/// }
///
/// struct Job {
///     prompt: String,
/// }
///
/// impl Job {
///     #[traced_chat(prompt = self.prompt)]
///     fn run(&self) -> String {
///         self.prompt.to_uppercase()
///     }
/// }
/// ```
///
/// A function with no `prompt` argument and no `prompt = …` does not compile: name the argument
/// `prompt`, choose it with `prompt = …`, or record no prompt with `skip(prompt)`.
///
/// ## `skip(prompt)`, `skip(response)`, `skip(prompt, response)`
///
/// Do not record the prompt, the response, or either (the span is still made, with what else is
/// known). `skip(response)` also lifts the `RecordResponse` requirement on the return type.
///
/// ```
/// # use traced_chat::traced_chat;
/// #[traced_chat(skip(prompt))]
/// async fn daily_digest() -> String {
///     "nothing new".to_owned()
/// }
///
/// struct Tokens(Vec<String>); // not RecordResponse: fine with skip(response)
///
/// #[traced_chat(skip(response))]
/// fn tokenize(prompt: &str) -> Tokens {
///     Tokens(prompt.split(' ').map(str::to_owned).collect())
/// }
/// ```
///
/// ## `content = false`
///
/// Records neither the prompt nor the response text, e.g. for personal data; same as
/// `skip(prompt, response)`. `content = true` is the default.
///
/// ```
/// # use traced_chat::traced_chat;
/// #[traced_chat(content = false)]
/// async fn answer_patient(prompt: &str) -> String {
///     format!("{} characters", prompt.len())
/// }
/// ```
///
/// ## `fields(key = value, …)`
///
/// Extra span attributes. A key is a dotted name (`user.id`) or a string literal
/// (`"app.tier"`); a value is any expression whose type converts into an OpenTelemetry value
/// (`&'static str`, `String`, `i64`, `f64`, `bool`, …). Each value is evaluated once, before the
/// body, and moved: clone what the body still needs. `openai.prompt` and `openai.response` are
/// recorded by the attribute and cannot be set here.
///
/// ```
/// # use traced_chat::traced_chat;
/// #[traced_chat(fields(user.id = user_id, "app.tier" = "free", app.retries = 3_i64))]
/// async fn call(prompt: &str, user_id: i64) -> String {
///     format!("{user_id}: {prompt}")
/// }
/// ```
///
/// ## `crate = path`
///
/// Where the traced-chat crate is, if it is not reachable as `::traced_chat` (renamed in
/// `Cargo.toml`, or re-exported by another crate).
///
/// ```
/// mod app {
///     // Or in Cargo.toml: tc = { package = "traced-chat", version = "…" }, then `crate = ::tc`.
///     pub use traced_chat as tc;
/// }
///
/// #[app::tc::traced_chat(crate = app::tc)]
/// fn call(prompt: &str) -> String {
///     prompt.to_owned()
/// }
/// ```
///
/// # Errors
///
/// Every mistake is reported at the token that is wrong, all of them at once, and the function
/// is still emitted as written, so no other error follows from the attribute: an unknown option
/// (the message lists the options), a repeated option, an option without its value, `name` that is
/// not a string literal, `crate` that is not a path, malformed `fields(...)`, `prompt = x` where
/// `x` is not an argument, a function without a prompt argument, options that contradict each
/// other (`prompt = x` with `skip(prompt)`), the attribute on something that is not a function,
/// on a `const fn`, on a trait method without a body, or on a `#[track_caller]` function.
///
/// # Feature `otel`
///
/// With the `otel` feature off (`default-features = false` on traced-chat), the attribute still
/// checks its options and the function, with the same errors, then emits the function exactly
/// as written: no span, no runtime call, nothing to pay.
#[proc_macro_attribute]
pub fn traced_chat(args: TokenStream, item: TokenStream) -> TokenStream {
    let (args, item) = (args.into(), proc_macro2::TokenStream::from(item));
    expand::expand(args, item.clone(), cfg!(feature = "otel"))
        .unwrap_or_else(|error| expand::fallback(error, item))
        .into()
}
