//! Code generation: checks the options against the function, then rewrites the function into a
//! handful of calls into `traced_chat::__private` (the runtime does the work).
//!
//! The generated body, with `P` for `#krate::__private` (`crate = path`, default
//! `::traced_chat`) and `S` for the span local:
//!
//! ```text
//! use P::{DisplayPromptKind as _, FnSpan as F, Prompt as Pr, RecordPromptKind as _, run as W};
//! let S = F::start("name");
//! S.set_attribute("key", value);                        // per `fields(...)` entry
//! (&&Pr(&prompt)).__traced_chat_record_prompt(&S);      // unless the prompt is skipped
//! W(S, move || { <fake return> { body } })              // fn: `run`
//! W(S, async move { <fake return> { body } }).await     // async fn: `instrument`
//! let future = (move || { body })(); W(S, future)       // fn -> impl Future
//! ```
//!
//! A function that returns a future (`-> impl Future`, or a body ending in an `async` block or
//! `Box::pin(async …)`, as `#[async_trait]` writes it) gets a deferred span instead: what is
//! recorded at the call (the fields, the prompt) is kept, and the span starts at the future's
//! first poll, child of the context current then (`W` is `instrument_deferred`):
//!
//! ```text
//! let S = F::deferred("name");                          // fields and prompt as above
//! <statements before the block>
//! Box::pin(W(S, async move { body }))                   // `Box::pin` only if written
//! ```
//!
//! With `skip(response)`, `W` is `run_unrecorded` / `instrument_unrecorded` /
//! `instrument_deferred_unrecorded`.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};
use syn::ext::IdentExt as _;
use syn::spanned::Spanned as _;
use syn::visit_mut::VisitMut;
use syn::{
    Error, Expr, ExprAsync, ExprCall, Ident, LitStr, Result, ReturnType, Stmt, Token, Type,
    TypeParamBound, UnOp,
};

use crate::attr::{self, Args, Errors};
use crate::item::{self, TracedFn};

/// The whole attribute: `Ok` is the expansion; `Err` goes to [`fallback`].
///
/// Options and the function's shape are checked the same way whether `otel` is on or off; with
/// `otel` off the function is then returned exactly as written.
pub(crate) fn expand(args: TokenStream, item: TokenStream, otel: bool) -> Result<TokenStream> {
    let mut errors = Errors::default();
    let (args, args_result) = attr::parse(args);
    let args_ok = args_result.is_ok();
    errors.ok(args_result);
    let func = match item::parse(item.clone()) {
        Ok(func) => func,
        Err(error) => {
            errors.push(error);
            return Err(errors.finish().expect_err("an error was just pushed"));
        }
    };
    func.check_shape(&mut errors);
    let prompt = errors.ok(resolve_prompt(&args, &func, args_ok)).flatten();
    errors.finish()?;
    if !otel {
        return Ok(item);
    }
    Ok(instrument(&args, &func, prompt))
}

/// Our errors, followed by the item exactly as written: the user sees what is wrong with the
/// attribute, not a cascade of errors about a function that has disappeared.
pub(crate) fn fallback(error: Error, item: TokenStream) -> TokenStream {
    let mut out = error.into_compile_error();
    out.extend(item);
    out
}

/// The expression recorded as the prompt, and where its errors should point.
struct PromptExpr {
    tokens: TokenStream,
    span: Span,
}

/// What to record as the prompt: `prompt = …` (checked to start at an argument), else the
/// argument named `prompt`; `None` when the prompt is skipped.
fn resolve_prompt(args: &Args, func: &TracedFn, args_ok: bool) -> Result<Option<PromptExpr>> {
    if !args.records_prompt() {
        return Ok(None);
    }
    if let Some(option) = &args.prompt {
        check_prompt_root(&option.expr, func)?;
        return Ok(Some(PromptExpr {
            tokens: option.expr.to_token_stream(),
            span: option.expr.span(),
        }));
    }
    match func.prompt_arg() {
        Some(ident) => Ok(Some(PromptExpr {
            tokens: ident.to_token_stream(),
            span: ident.span(),
        })),
        // A mistake in the options (say, a misspelt `prompt`) is the likelier cause: say that.
        None if !args_ok => Ok(None),
        None => Err(Error::new(
            func.sig.ident.span(),
            format!(
                "`{}` has no argument named `prompt`: name the prompt argument `prompt`, \
                 choose it with `#[traced_chat(prompt = my_arg)]`, \
                 or record no prompt with `#[traced_chat(skip(prompt))]`",
                func.sig.ident.unraw()
            ),
        )),
    }
}

/// `prompt = …` must be an argument, or a simple expression on one (`request.text`,
/// `request.messages()`, `&items[0]`, `self.prompt`).
fn check_prompt_root(expr: &Expr, func: &TracedFn) -> Result<()> {
    let fn_name = func.sig.ident.unraw();
    let Some(root) = expression_root(expr) else {
        return Err(Error::new_spanned(
            expr,
            "`prompt` takes an argument, or a field or method call on one \
             (`prompt = request.text`); compute anything else inside the function",
        ));
    };
    if root == "self" {
        if func.has_receiver() {
            return Ok(());
        }
        return Err(Error::new(
            root.span(),
            format!("`{fn_name}` has no `self` argument"),
        ));
    }
    let names = func.arg_names();
    if names.contains(&root) {
        return Ok(());
    }
    let listed = if names.is_empty() && !func.has_receiver() {
        "it has no arguments".to_owned()
    } else {
        let mut all: Vec<String> = Vec::new();
        if func.has_receiver() {
            all.push("`self`".to_owned());
        }
        all.extend(names.iter().map(|name| format!("`{name}`")));
        format!("its arguments are {}", all.join(", "))
    };
    Err(Error::new(
        root.span(),
        format!("`{root}` is not an argument of `{fn_name}`; {listed}"),
    ))
}

/// The variable a simple place-like expression starts from.
fn expression_root(expr: &Expr) -> Option<&Ident> {
    match expr {
        Expr::Path(path) if path.qself.is_none() && path.attrs.is_empty() => path.path.get_ident(),
        Expr::Field(e) => expression_root(&e.base),
        Expr::MethodCall(e) => expression_root(&e.receiver),
        Expr::Index(e) => expression_root(&e.expr),
        Expr::Paren(e) => expression_root(&e.expr),
        Expr::Group(e) => expression_root(&e.expr),
        Expr::Reference(e) => expression_root(&e.expr),
        Expr::Unary(e) if matches!(e.op, UnOp::Deref(_)) => expression_root(&e.expr),
        _ => None,
    }
}

/// How the body runs, decided from the syntax of the function.
enum Shape<'a> {
    /// `fn`: the body runs in a closure inside the span.
    Sync,
    /// `async fn`: the body becomes an instrumented `async move` block.
    Async,
    /// A function that is not `async` whose last expression is an `async` block, maybe
    /// `Box::pin`ned (hand-written, or `#[async_trait]` output). As tracing-attributes'
    /// `AsyncInfo` does, that block is what is traced: the span starts at its first poll; the
    /// statements before it run at the call, after the prompt is recorded.
    AsyncBlock {
        before: &'a [Stmt],
        /// `Box::pin(…)` around the block, kept as written.
        pin: Option<&'a ExprCall>,
        block: &'a ExprAsync,
    },
    /// `fn f() -> impl Future<…>` with any other body: the future the body returns is
    /// instrumented, its span starting at the future's first poll.
    ImplFuture,
}

fn shape(func: &TracedFn) -> Shape<'_> {
    if func.sig.asyncness.is_some() {
        return Shape::Async;
    }
    if let Some((before, pin, block)) = tail_async_block(func) {
        return Shape::AsyncBlock { before, pin, block };
    }
    if returns_impl_future(&func.sig.output) {
        return Shape::ImplFuture;
    }
    Shape::Sync
}

/// The body ends in `async { … }` or `Box::pin(async { … })` (as `#[async_trait]` writes it),
/// also when a `macro_rules!` fragment or parentheses wrap either.
fn tail_async_block(func: &TracedFn) -> Option<(&[Stmt], Option<&ExprCall>, &ExprAsync)> {
    let (last, before) = func.body.stmts()?.split_last()?;
    let Stmt::Expr(tail, None) = last else {
        return None;
    };
    match see_through_expr(tail) {
        Expr::Async(block) => Some((before, None, block)),
        Expr::Call(call) if is_box_pin(&call.func) && call.args.len() == 1 => {
            match see_through_expr(&call.args[0]) {
                Expr::Async(block) => Some((before, Some(call), block)),
                _ => None,
            }
        }
        _ => None,
    }
}

/// `Box::pin`, `std::boxed::Box::pin`, …
fn is_box_pin(func: &Expr) -> bool {
    let Expr::Path(path) = see_through_expr(func) else {
        return false;
    };
    let segments: Vec<_> = path.path.segments.iter().map(|s| &s.ident).collect();
    matches!(segments.as_slice(), [.., b, p] if *b == "Box" && *p == "pin")
}

/// The expression inside the invisible group of a `macro_rules!` fragment (`$e:expr`) and
/// inside parentheses without attributes.
fn see_through_expr(mut expr: &Expr) -> &Expr {
    loop {
        expr = match expr {
            Expr::Group(group) if group.attrs.is_empty() => &group.expr,
            Expr::Paren(paren) if paren.attrs.is_empty() => &paren.expr,
            _ => return expr,
        };
    }
}

/// The type inside the invisible group of a `macro_rules!` fragment (`$ret:ty`) and inside
/// parentheses.
fn see_through_type(mut ty: &Type) -> &Type {
    loop {
        ty = match ty {
            Type::Group(group) => &group.elem,
            Type::Paren(paren) => &paren.elem,
            _ => return ty,
        };
    }
}

/// `-> impl Future<Output = …>` (any path ending in `Future`, other bounds allowed), also when
/// a `macro_rules!` fragment or parentheses wrap it.
fn returns_impl_future(output: &ReturnType) -> bool {
    let ReturnType::Type(_, ty) = output else {
        return false;
    };
    let Type::ImplTrait(impl_trait) = see_through_type(ty) else {
        return false;
    };
    impl_trait.bounds.iter().any(|bound| match bound {
        TypeParamBound::Trait(t) => t.path.segments.last().is_some_and(|s| s.ident == "Future"),
        _ => false,
    })
}

/// The pieces every shape's generated body is made of.
struct Parts {
    /// The span local, invisible to the user's code (mixed-site hygiene), so an argument called
    /// `__traced_chat_span` still works.
    span: Ident,
    /// The runtime function the body goes through, named at the return type: an unsupported
    /// response type is reported there.
    wrap: Ident,
    /// The `use` of the runtime items.
    imports: TokenStream,
    /// `let span = FnSpan::start("name");`
    start: TokenStream,
    /// `fields(...)`: each value, evaluated where it is written, as the span attribute.
    fields: Vec<(LitStr, TokenStream)>,
    /// Records the prompt on the span, if it is recorded.
    record_prompt: Option<TokenStream>,
    return_type: TokenStream,
    return_span: Span,
}

impl Parts {
    fn new(args: &Args, func: &TracedFn, shape: &Shape<'_>, prompt: Option<PromptExpr>) -> Self {
        let (return_type, return_span) = match &func.sig.output {
            ReturnType::Type(_, ty) => (erase_impl_trait(ty), ty.span()),
            // No return type: point at the function's name.
            ReturnType::Default => (quote!(()), func.sig.ident.span()),
        };
        let span = Ident::new("__traced_chat_span", Span::mixed_site());
        let fn_span = Ident::new("__traced_chat_FnSpan", Span::call_site());
        let prompt_type = Ident::new("__traced_chat_Prompt", Span::call_site());
        let wrap = Ident::new("__traced_chat_wrap", return_span);
        // A function that returns a future starts its span at the future's first poll.
        let deferred = matches!(shape, Shape::ImplFuture | Shape::AsyncBlock { .. });
        let wrap_fn = match (shape, deferred, args.records_response()) {
            (Shape::Sync, _, true) => "run",
            (Shape::Sync, _, false) => "run_unrecorded",
            (_, true, true) => "instrument_deferred",
            (_, true, false) => "instrument_deferred_unrecorded",
            (_, false, true) => "instrument",
            (_, false, false) => "instrument_unrecorded",
        };
        let wrap_fn = Ident::new(wrap_fn, Span::call_site());
        let krate = args.krate();
        // One `use` for everything: if `crate = path` is wrong, that is one error, at the path.
        let imports = quote! {
            #[allow(unused_imports)]
            use #krate::__private::{
                DisplayPromptKind as _, FnSpan as #fn_span, Prompt as #prompt_type,
                RecordPromptKind as _, UnrecordablePromptKind as _, #wrap_fn as #wrap,
            };
        };
        let name = args.name.clone().unwrap_or_else(|| {
            let ident = &func.sig.ident;
            LitStr::new(&ident.unraw().to_string(), ident.span())
        });
        let fields = args.fields.iter().map(|field| {
            let value = &field.value;
            (field.key.clone(), quote!(#value))
        });
        // Spanned at the prompt: a type that cannot be recorded is reported there.
        let record_prompt = prompt.map(|PromptExpr { tokens, span: at }| {
            quote_spanned! {at=>
                (&&#prompt_type(&#tokens)).__traced_chat_record_prompt(&#span);
            }
        });
        let start = if deferred {
            quote!(let #span = #fn_span::deferred(#name);)
        } else {
            quote!(let #span = #fn_span::start(#name);)
        };
        Parts {
            start,
            fields: fields.collect(),
            span,
            wrap,
            imports,
            record_prompt,
            return_type,
            return_span,
        }
    }

    /// Starts the span, sets the fields and records the prompt.
    fn prelude(&self) -> TokenStream {
        let Parts {
            span,
            start,
            record_prompt,
            ..
        } = self;
        let fields = self
            .fields
            .iter()
            .map(|(key, value)| quote!(#span.set_attribute(#key, #value);));
        quote! {
            #start
            #(#fields)*
            #record_prompt
        }
    }
}

/// The expanded function.
fn instrument(args: &Args, func: &TracedFn, prompt: Option<PromptExpr>) -> TokenStream {
    let shape = shape(func);
    let parts = Parts::new(args, func, &shape, prompt);
    let block = func.body.block();
    let Parts {
        span,
        wrap,
        imports,
        return_span,
        ..
    } = &parts;
    let prelude = parts.prelude();
    let fake_return = fake_return(&parts.return_type, *return_span);
    let body = match shape {
        Shape::Sync => quote_spanned! {*return_span=>
            #imports
            #prelude
            #wrap(#span, move || { #fake_return #block })
        },
        Shape::Async => quote_spanned! {*return_span=>
            #imports
            #prelude
            #wrap(#span, async move { #fake_return #block }).await
        },
        Shape::ImplFuture => {
            let future = Ident::new("__traced_chat_future", Span::mixed_site());
            quote_spanned! {*return_span=>
                #imports
                #prelude
                #[allow(clippy::redundant_closure_call)]
                let #future = (move || #block)();
                #wrap(#span, #future)
            }
        }
        Shape::AsyncBlock { before, pin, block } => async_block_body(&parts, before, pin, block),
    };
    let TracedFn {
        attrs,
        vis,
        defaultness,
        sig,
        body: original,
    } = func;
    let inner_attrs = original.inner_attrs();
    quote! {
        #(#attrs)*
        #vis #defaultness #sig {
            #(#inner_attrs)*
            #body
        }
    }
}

/// The body of an [`Shape::AsyncBlock`] function: the prelude (the deferred span, its fields
/// and prompt), the statements before the block as written, then the block wrapped where it
/// was (inside `Box::pin`, if written), so the function still returns the type it declares.
fn async_block_body(
    parts: &Parts,
    before: &[Stmt],
    pin: Option<&ExprCall>,
    block: &ExprAsync,
) -> TokenStream {
    let (imports, span, wrap) = (&parts.imports, &parts.span, &parts.wrap);
    let prelude = parts.prelude();
    let traced = quote_spanned!(block.async_token.span=> #wrap(#span, #block));
    let tail = match pin {
        Some(call) => {
            let (call_attrs, pin) = (&call.attrs, &call.func);
            quote!(#(#call_attrs)* #pin(#traced))
        }
        None => traced,
    };
    quote! {
        #imports
        #prelude
        #(#before)*
        #tail
    }
}

/// tracing-attributes' "fake return edge": an unreachable `return` of the declared type, so the
/// body's type is checked against the signature and errors point at the user's code.
fn fake_return(return_type: &TokenStream, span: Span) -> TokenStream {
    // Located at the return type: "return type inferred to be `T` here" points at the signature.
    let fake = Ident::new("__traced_chat_fake", Span::mixed_site().located_at(span));
    quote_spanned! {span=>
        #[allow(
            unknown_lints,
            unreachable_code,
            clippy::diverging_sub_expression,
            clippy::empty_loop,
            clippy::let_unit_value,
            clippy::let_with_type_underscore,
            clippy::needless_return,
            clippy::unreachable
        )]
        if false {
            let #fake: #return_type = loop {};
            return #fake;
        }
    }
}

/// The return type with every `impl Trait` replaced by `_`, usable in a `let`.
fn erase_impl_trait(ty: &Type) -> TokenStream {
    struct Eraser;
    impl VisitMut for Eraser {
        fn visit_type_mut(&mut self, ty: &mut Type) {
            if let Type::ImplTrait(impl_trait) = ty {
                let underscore = Token![_](impl_trait.impl_token.span);
                *ty = syn::parse_quote!(#underscore);
            } else {
                syn::visit_mut::visit_type_mut(self, ty);
            }
        }
    }
    let mut ty = ty.clone();
    Eraser.visit_type_mut(&mut ty);
    ty.into_token_stream()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand_ok(args: TokenStream, item: TokenStream, otel: bool) -> String {
        match expand(args, item, otel) {
            Ok(out) => out.to_string(),
            Err(e) => panic!("unexpected error: {e}"),
        }
    }

    fn expand_errors(args: TokenStream, item: TokenStream) -> Vec<String> {
        let on = expand(args.clone(), item.clone(), true).expect_err("an error");
        let off = expand(args, item, false).expect_err("an error");
        let on: Vec<String> = on.into_iter().map(|e| e.to_string()).collect();
        let off: Vec<String> = off.into_iter().map(|e| e.to_string()).collect();
        assert_eq!(on, off, "errors must not depend on the feature");
        on
    }

    /// Feature off: the output is the input, token for token. `expand` takes the feature as a
    /// parameter (`lib.rs` passes `cfg!(feature = "otel")`), so both paths are tested in every
    /// build; the trybuild suite then runs the same pass/fail cases with the feature on and off.
    #[test]
    fn feature_off_emits_the_function_as_written() {
        let cases = [
            (
                quote!(),
                quote!(
                    fn call(prompt: &str) -> String {
                        prompt.to_owned()
                    }
                ),
            ),
            (
                quote!(name = "answer", skip(response), fields(user.id = 7)),
                quote!(
                    /// Docs.
                    #[inline]
                    pub(crate) async fn call<T: Into<String>>(&self, prompt: T) -> Result<String, E>
                    where
                        T: Send,
                    {
                        #![allow(unused)]
                        let p = prompt.into();
                        Ok(p)
                    }
                ),
            ),
            (
                quote!(skip(prompt)),
                quote!(
                    fn f() -> impl core::future::Future<Output = String> {
                        async { String::new() }
                    }
                ),
            ),
        ];
        for (args, item) in cases {
            assert_eq!(expand_ok(args, item.clone(), false), item.to_string());
        }
    }

    #[test]
    fn sync_expansion() {
        let out = expand_ok(
            quote!(fields(user.id = id)),
            quote!(
                #[must_use]
                pub fn call(prompt: &str, id: u64) -> String {
                    prompt.to_owned()
                }
            ),
            true,
        );
        for expected in [
            "# [must_use] pub fn call (prompt : & str , id : u64) -> String {",
            "use :: traced_chat :: __private :: { DisplayPromptKind as _ , FnSpan as __traced_chat_FnSpan , \
             Prompt as __traced_chat_Prompt , RecordPromptKind as _ , UnrecordablePromptKind as _ , run as __traced_chat_wrap , } ;",
            "let __traced_chat_span = __traced_chat_FnSpan :: start (\"call\") ;",
            "__traced_chat_span . set_attribute (\"user.id\" , id) ;",
            "(&& __traced_chat_Prompt (& prompt)) . __traced_chat_record_prompt (& __traced_chat_span) ;",
            "__traced_chat_wrap (__traced_chat_span , move || {",
            "let __traced_chat_fake : String = loop { } ;",
            "{ prompt . to_owned () } }) }",
        ] {
            assert!(out.contains(expected), "missing `{expected}` in\n{out}");
        }
    }

    #[test]
    fn async_expansion() {
        let out = expand_ok(
            quote!(name = "ask", skip(response), crate = my::tc),
            quote!(
                async fn call(&self, prompt: String) -> u8 {
                    1
                }
            ),
            true,
        );
        for expected in [
            "async fn call (& self , prompt : String) -> u8 {",
            "use my :: tc :: __private :: {",
            "instrument_unrecorded as __traced_chat_wrap , } ;",
            "__traced_chat_FnSpan :: start (\"ask\")",
            "__traced_chat_wrap (__traced_chat_span , async move {",
            "{ 1 } }) . await }",
        ] {
            assert!(out.contains(expected), "missing `{expected}` in\n{out}");
        }
        assert!(!out.contains("traced_chat ::"), "{out}");
    }

    #[test]
    fn impl_future_expansion() {
        // A future made elsewhere: a deferred span, started at the future's first poll.
        let out = expand_ok(
            quote!(),
            quote!(
                fn call(prompt: String) -> impl ::core::future::Future<Output = String> + Send {
                    ::core::future::ready(prompt)
                }
            ),
            true,
        );
        assert!(
            out.contains(
                "let __traced_chat_future = (move || { :: core :: future :: ready (prompt) }) () ;"
            ),
            "{out}"
        );
        assert!(
            out.contains("instrument_deferred as __traced_chat_wrap"),
            "{out}"
        );
        assert!(
            out.contains("let __traced_chat_span = __traced_chat_FnSpan :: deferred (\"call\") ;"),
            "{out}"
        );
        assert!(
            out.contains("__traced_chat_wrap (__traced_chat_span , __traced_chat_future)"),
            "{out}"
        );
    }

    #[test]
    fn async_block_expansion() {
        // An `async` block at the end: the fields and the prompt are recorded on the deferred
        // span at the call, then the statements before the block run, and the block is wrapped.
        let out = expand_ok(
            quote!(fields(user.id = id)),
            quote!(
                fn call(prompt: String, id: i64) -> impl Future<Output = String> {
                    let n = 2;
                    async move { prompt.repeat(n) }
                }
            ),
            true,
        );
        let expected = [
            "fn call (prompt : String , id : i64) -> impl Future < Output = String > {",
            "instrument_deferred as __traced_chat_wrap , } ;",
            "let __traced_chat_span = __traced_chat_FnSpan :: deferred (\"call\") ;",
            "__traced_chat_span . set_attribute (\"user.id\" , id) ;",
            "(&& __traced_chat_Prompt (& prompt)) . __traced_chat_record_prompt (& __traced_chat_span) ;",
            "let n = 2 ;",
            "__traced_chat_wrap (__traced_chat_span , async move { prompt . repeat (n) }) }",
        ];
        let mut rest = out.as_str();
        for expected in expected {
            let Some(at) = rest.find(expected) else {
                panic!("missing `{expected}` (in this order) in\n{out}");
            };
            rest = &rest[at + expected.len()..];
        }
    }

    #[test]
    fn async_trait_expansion() {
        let out = expand_ok(
            quote!(content = false),
            quote!(
                fn call<'life0, 'async_trait>(
                    &'life0 self,
                    prompt: String,
                ) -> ::core::pin::Pin<
                    Box<dyn ::core::future::Future<Output = String> + Send + 'async_trait>,
                >
                where
                    'life0: 'async_trait,
                    Self: 'async_trait,
                {
                    Box::pin(async move {
                        let __self = self;
                        let prompt = prompt;
                        prompt
                    })
                }
            ),
            true,
        );
        assert!(
            out.contains("let __traced_chat_span = __traced_chat_FnSpan :: deferred (\"call\") ;"),
            "{out}"
        );
        assert!(
            out.contains(
                "Box :: pin (__traced_chat_wrap (__traced_chat_span , async move { let __self = self ;"
            ),
            "{out}"
        );
        assert!(
            out.contains("instrument_deferred_unrecorded as __traced_chat_wrap"),
            "{out}"
        );
        assert!(
            !out.contains("__traced_chat_record_prompt"),
            "content = false records no prompt:\n{out}"
        );
    }

    #[test]
    fn prompt_option_and_default_name() {
        let out = expand_ok(
            quote!(prompt = request.messages()),
            quote!(
                fn r#type(request: Request) -> String {
                    todo!()
                }
            ),
            true,
        );
        assert!(out.contains("start (\"type\")"), "{out}");
        assert!(
            out.contains("__traced_chat_Prompt (& request . messages ())"),
            "{out}"
        );
    }

    #[test]
    fn prompt_errors() {
        let errors = expand_errors(
            quote!(),
            quote!(
                fn call(text: &str) -> String {
                    todo!()
                }
            ),
        );
        assert_eq!(errors.len(), 1);
        assert!(
            errors[0].starts_with(
                "`call` has no argument named `prompt`: name the prompt argument `prompt`"
            ),
            "{errors:?}"
        );

        let errors = expand_errors(
            quote!(prompt = txt),
            quote!(
                fn call(&self, text: &str, (a, b): (u8, u8)) {}
            ),
        );
        assert_eq!(
            errors,
            ["`txt` is not an argument of `call`; its arguments are `self`, `text`, `a`, `b`"]
        );

        let errors = expand_errors(
            quote!(prompt = self.text),
            quote!(
                fn call(text: &str) {}
            ),
        );
        assert_eq!(errors, ["`call` has no `self` argument"]);

        let errors = expand_errors(
            quote!(prompt = format!("{}", a)),
            quote!(
                fn call(a: &str) {}
            ),
        );
        assert!(
            errors[0].starts_with("`prompt` takes an argument, or a field"),
            "{errors:?}"
        );

        // skip(prompt) and content = false need no prompt argument.
        expand_ok(
            quote!(skip(prompt)),
            quote!(
                fn call() {}
            ),
            true,
        );
        expand_ok(
            quote!(content = false),
            quote!(
                fn call() {}
            ),
            true,
        );
        // `prompt = …` on a receiver or inside a pattern.
        expand_ok(
            quote!(prompt = self.prompt),
            quote!(
                fn call(&self) {}
            ),
            true,
        );
        expand_ok(
            quote!(prompt = *p),
            quote!(
                fn call((p, _): (&str, u8)) {}
            ),
            true,
        );
    }

    #[test]
    fn errors_are_combined() {
        // A bad option and a `const fn`: both reported.
        let errors = expand_errors(
            quote!(nmae = "x"),
            quote!(
                const fn call(prompt: &str) {}
            ),
        );
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors[0].starts_with("unknown option `nmae`"));
        assert!(errors[1].contains("`const fn`"));
        // An option error hides the "no prompt argument" error it probably causes.
        let errors = expand_errors(
            quote!(promt = text),
            quote!(
                fn call(text: &str) {}
            ),
        );
        assert_eq!(errors.len(), 1, "{errors:?}");
        // Valid options are still checked against the function when another one is wrong.
        let errors = expand_errors(
            quote!(name = 1, prompt = txt),
            quote!(
                fn call(text: &str) {}
            ),
        );
        assert_eq!(errors.len(), 2, "{errors:?}");
    }

    /// A body syn cannot parse is kept as written, for rustc to report the user's own error.
    #[test]
    fn body_that_does_not_parse_is_passed_through() {
        let out = expand_ok(quote!(), quote!(fn call(prompt: &str) { let x = ; }), true);
        assert!(
            out.contains("__traced_chat_wrap (__traced_chat_span , move || {"),
            "{out}"
        );
        assert!(out.contains("{ let x = ; } })"), "{out}");
    }

    #[test]
    fn not_a_function_keeps_the_item() {
        let item = quote!(
            struct S;
        );
        let error = expand(quote!(), item.clone(), true).err().unwrap();
        assert_eq!(
            error.to_string(),
            "`#[traced_chat]` goes on a function, not on a struct"
        );
        let out = fallback(error, item).to_string();
        assert!(out.starts_with(":: core :: compile_error !"), "{out}");
        assert!(out.ends_with("struct S ;"), "{out}");
    }

    #[test]
    fn impl_trait_is_erased_in_the_fake_return() {
        let ty: Type = syn::parse_quote!(Result<Box<impl Fn() -> u8>, impl Display>);
        assert_eq!(
            erase_impl_trait(&ty).to_string(),
            "Result < Box < _ > , _ >"
        );
    }

    fn shape_of(tokens: TokenStream) -> &'static str {
        let func = item::parse(tokens).ok().unwrap();
        match shape(&func) {
            Shape::Sync => "sync",
            Shape::Async => "async",
            Shape::ImplFuture => "impl future",
            Shape::AsyncBlock { pin: None, .. } => "async block",
            Shape::AsyncBlock { pin: Some(_), .. } => "pinned async block",
        }
    }

    #[test]
    fn shapes() {
        for (tokens, expected) in [
            (
                quote!(
                    fn a() {}
                ),
                "sync",
            ),
            (
                quote!(
                    async fn a() {}
                ),
                "async",
            ),
            (
                quote!(
                    fn a() -> impl Future<Output = ()> {
                        ready(())
                    }
                ),
                "impl future",
            ),
            (
                quote!(
                    fn a() -> (impl Send + std::future::Future<Output = ()>) {
                        ready(())
                    }
                ),
                "impl future",
            ),
            (
                quote!(
                    fn a() -> impl Iterator<Item = u8> {
                        None.into_iter()
                    }
                ),
                "sync",
            ),
            (
                quote!(
                    fn a() -> impl Future<Output = ()> {
                        let x = 1;
                        async move {
                            x;
                        }
                    }
                ),
                "async block",
            ),
            (
                quote!(
                    fn a() -> impl Future<Output = ()> {
                        (async {})
                    }
                ),
                "async block",
            ),
            (
                quote!(
                    fn a() -> Pin<Box<dyn Future<Output = ()>>> {
                        Box::pin(async move {})
                    }
                ),
                "pinned async block",
            ),
            (
                quote!(
                    fn a() -> BoxFuture<'static, ()> {
                        ::std::boxed::Box::pin(async {})
                    }
                ),
                "pinned async block",
            ),
            (
                quote!(
                    fn a() -> Pin<Box<dyn Future<Output = ()>>> {
                        Box::pin(fut())
                    }
                ),
                "sync",
            ),
            (
                quote!(
                    fn a() -> impl Future<Output = ()> {
                        async {};
                    }
                ),
                "impl future",
            ),
        ] {
            assert_eq!(shape_of(tokens.clone()), expected, "{tokens}");
        }
    }

    /// `macro_rules!` hands `ty`, `expr`, `block` and `pat` fragments over inside invisible
    /// groups: the shapes are seen through them.
    #[test]
    fn shapes_through_fragments() {
        use proc_macro2::{Delimiter, Group};
        let fragment = |tokens: TokenStream| Group::new(Delimiter::None, tokens);
        let ret = fragment(quote!(impl Future<Output = String> + Send));
        let pinned = fragment(quote!(Pin<Box<dyn Future<Output = String> + Send + 'a>>));
        let ready = fragment(quote!(ready(prompt.to_owned())));
        let tail = fragment(quote!(async move { prompt.to_owned() }));
        let boxed = fragment(quote!(Box::pin(#tail)));
        let body = fragment(quote!({ #tail }));
        let arg = fragment(quote!(prompt));
        for (tokens, expected) in [
            (quote!(fn a(prompt: &str) -> #ret { #ready }), "impl future"),
            (quote!(fn a(prompt: &str) -> #ret { #tail }), "async block"),
            (quote!(fn a(prompt: &str) -> #ret #body), "async block"),
            (
                quote!(fn a(#arg: &str) -> #pinned { #boxed }),
                "pinned async block",
            ),
            (
                quote!(fn a(prompt: &str) -> (#ret) { #ready }),
                "impl future",
            ),
        ] {
            assert_eq!(shape_of(tokens.clone()), expected, "{tokens}");
            let out = expand_ok(quote!(), tokens, true);
            assert!(out.contains("as __traced_chat_wrap"), "{out}");
        }
        let f = item::parse(quote!(fn a(#arg: &str) {})).ok().unwrap();
        assert_eq!(
            f.prompt_arg().map(|p| p.to_string()).as_deref(),
            Some("prompt")
        );
    }

    #[test]
    fn track_caller_is_rejected() {
        let errors = expand_errors(
            quote!(),
            quote!(
                #[track_caller]
                fn call(prompt: &str) -> String {
                    prompt.to_owned()
                }
            ),
        );
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(
            errors[0].starts_with("`#[track_caller]` would have no effect under `#[traced_chat]`"),
            "{errors:?}"
        );
    }
}
