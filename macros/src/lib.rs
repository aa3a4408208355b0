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
/// Each call opens an OpenTelemetry span (kind INTERNAL, child of the current context) that is
/// current for the whole body, records the prompt argument as `openai.prompt` and the returned
/// value as `openai.response`, and ends when the function returns (or, for `async`, when the
/// future completes or is dropped). A panic ends the span with status ERROR and propagates
/// unchanged; an `Err` return sets status ERROR.
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
/// The attribute works on any function with a body:
///
/// - sync and `async fn`; free functions and associated functions;
/// - methods taking `&self`, `&mut self`, `self`, `self: Arc<Self>`, and trait impl methods;
/// - generic functions, bounds and `where` clauses, lifetimes, `impl Trait` arguments and
///   return types, argument patterns such as `(a, b): (A, B)` and `_`;
/// - `pub(crate)`, `unsafe fn`, `extern "C" fn`; its other attributes and doc comments are kept,
///   so `#[must_use]`, `#[inline]` and `#[cfg(...)]` work as written;
/// - `fn f(...) -> impl Future<Output = T>` (not `async`): the future the body returns is traced,
///   from its first poll to its completion;
/// - methods of an `#[async_trait]` impl: put `#[traced_chat]` on the method, under the
///   `#[async_trait]` of the `impl` block; the `Box::pin(async move { … })` body that async-trait
///   writes is recognised and its future traced.
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
///     #[traced_chat]
///     fn later(&self, prompt: String) -> impl Future<Output = String> + '_ {
///         async move { format!("{}: {prompt}", self.drafts.len()) }
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
/// ```
///
/// Early `return`, `?`, `loop` with `break` values and panics behave as without the attribute.
///
/// Not supported, with a compile error that says so: `const fn` (spans are made at run time), and
/// a trait method declaration without a body (put the attribute on the method of each impl).
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
/// on a `const fn`, or on a trait method without a body.
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
