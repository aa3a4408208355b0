//! The item `#[traced_chat]` is put on: parsed into a [`TracedFn`], and checked to be a function
//! the attribute can instrument.
//!
//! Like tracing-attributes' `MaybeItemFn`, a body that does not parse is kept as tokens: the
//! function is still expanded and rustc reports the user's own syntax error.

use proc_macro2::TokenStream;
use quote::{ToTokens, quote};
use syn::parse::{Parse, ParseStream, Parser as _};
use syn::{
    Attribute, Block, Error, FnArg, Ident, Item, Pat, Result, Signature, Stmt, Token, Visibility,
    braced, token,
};

use crate::attr::Errors;

/// A function (free, associated, trait default or trait impl method), as written.
pub(crate) struct TracedFn {
    /// Outer attributes and doc comments, kept on the expanded function.
    pub(crate) attrs: Vec<Attribute>,
    pub(crate) vis: Visibility,
    /// `default fn` in a specializing impl.
    pub(crate) defaultness: Option<Token![default]>,
    pub(crate) sig: Signature,
    pub(crate) body: Body,
}

/// The body of a [`TracedFn`].
pub(crate) enum Body {
    /// `{ ... }`, parsed into statements.
    Parsed {
        brace: token::Brace,
        inner_attrs: Vec<Attribute>,
        stmts: Vec<Stmt>,
    },
    /// `{ ... }` that syn could not parse, kept as written for rustc to report on.
    Tokens {
        brace: token::Brace,
        inner_attrs: Vec<Attribute>,
        tokens: TokenStream,
    },
    /// No body: a trait method declaration `fn f(&self);`.
    Missing(Token![;]),
}

impl Parse for TracedFn {
    fn parse(input: ParseStream<'_>) -> Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
        let vis = input.parse()?;
        let defaultness = input.parse()?;
        let sig = input.parse()?;
        let body = if input.peek(Token![;]) {
            Body::Missing(input.parse()?)
        } else {
            let content;
            let brace = braced!(content in input);
            let inner_attrs = content.call(Attribute::parse_inner)?;
            let tokens: TokenStream = content.parse()?;
            match Block::parse_within.parse2(tokens.clone()) {
                Ok(stmts) => Body::Parsed {
                    brace,
                    inner_attrs,
                    stmts,
                },
                Err(_) => Body::Tokens {
                    brace,
                    inner_attrs,
                    tokens,
                },
            }
        };
        Ok(TracedFn {
            attrs,
            vis,
            defaultness,
            sig,
            body,
        })
    }
}

impl Body {
    /// The attributes written inside the body (`#![allow(...)]`).
    pub(crate) fn inner_attrs(&self) -> &[Attribute] {
        match self {
            Body::Parsed { inner_attrs, .. } | Body::Tokens { inner_attrs, .. } => inner_attrs,
            Body::Missing(_) => &[],
        }
    }

    /// The statements, when the body parsed.
    pub(crate) fn stmts(&self) -> Option<&[Stmt]> {
        match self {
            Body::Parsed { stmts, .. } => Some(stmts),
            _ => None,
        }
    }

    /// The body as a block `{ ... }` with its original braces, without its inner attributes.
    pub(crate) fn block(&self) -> TokenStream {
        let mut out = TokenStream::new();
        match self {
            Body::Parsed { brace, stmts, .. } => brace.surround(&mut out, |out| {
                out.extend(stmts.iter().map(|s| s.to_token_stream()))
            }),
            Body::Tokens { brace, tokens, .. } => {
                brace.surround(&mut out, |out| out.extend(tokens.clone()))
            }
            Body::Missing(semi) => semi.to_tokens(&mut out),
        }
        out
    }
}

/// Parses the annotated item, or explains why it cannot be instrumented.
pub(crate) fn parse(item: TokenStream) -> Result<TracedFn> {
    syn::parse2::<TracedFn>(item.clone()).map_err(|error| not_a_function(item, error))
}

/// The error for an item that is not a function: at its keyword and name when it parses as
/// another kind of item, else syn's own parse error.
fn not_a_function(item: TokenStream, parse_error: Error) -> Error {
    let Ok(item) = syn::parse2::<Item>(item) else {
        return parse_error;
    };
    let (what, tokens, hint) = match &item {
        Item::Struct(s) => ("a struct", pair(&s.struct_token, &s.ident), ""),
        Item::Enum(e) => ("an enum", pair(&e.enum_token, &e.ident), ""),
        Item::Union(u) => ("a union", pair(&u.union_token, &u.ident), ""),
        Item::Trait(t) => (
            "a trait",
            pair(&t.trait_token, &t.ident),
            "; put it on the methods of each `impl` of the trait that have a body",
        ),
        Item::Impl(i) => (
            "an `impl` block",
            pair(&i.impl_token, &i.self_ty),
            "; put it on each method you want traced",
        ),
        Item::Mod(m) => ("a module", pair(&m.mod_token, &m.ident), ""),
        Item::Const(c) => ("a constant", pair(&c.const_token, &c.ident), ""),
        Item::Static(s) => ("a static", pair(&s.static_token, &s.ident), ""),
        Item::Type(t) => ("a type alias", pair(&t.type_token, &t.ident), ""),
        Item::Use(u) => ("a `use` declaration", u.to_token_stream(), ""),
        Item::ForeignMod(f) => (
            "an `extern` block",
            f.abi.to_token_stream(),
            "; a foreign function has no body to trace",
        ),
        Item::Macro(m) => ("a macro item", m.mac.path.to_token_stream(), ""),
        // `fn` that did not parse as ours (or syntax syn does not know): syn's error says why.
        Item::Fn(_) | Item::Verbatim(_) => return parse_error,
        _ => ("this item", item.to_token_stream(), ""),
    };
    Error::new_spanned(
        tokens,
        format!("`#[traced_chat]` goes on a function, not on {what}{hint}"),
    )
}

/// Two tokens (or token groups) as one span, for `Error::new_spanned`.
fn pair(a: &dyn ToTokens, b: &dyn ToTokens) -> TokenStream {
    quote!(#a #b)
}

impl TracedFn {
    /// Checks that the function can be instrumented: not `const`, has a body, not
    /// `#[track_caller]`, not C-variadic.
    pub(crate) fn check_shape(&self, errors: &mut Errors) {
        if let Some(constness) = &self.sig.constness {
            errors.push(Error::new(
                constness.span,
                "`#[traced_chat]` cannot trace a `const fn`: its span is made at run time; remove `const` or the attribute",
            ));
        }
        if let Body::Missing(semi) = &self.body {
            let (fn_token, ident) = (&self.sig.fn_token, &self.sig.ident);
            errors.push(Error::new_spanned(
                quote!(#fn_token #ident #semi),
                "`#[traced_chat]` needs a function body to trace; put it on the method in each `impl` of the trait instead of on its declaration",
            ));
        }
        if let Some(track_caller) = self
            .attrs
            .iter()
            .find(|a| a.path().is_ident("track_caller"))
        {
            errors.push(Error::new_spanned(
                track_caller.path(),
                "`#[track_caller]` would have no effect under `#[traced_chat]`: the body runs inside a closure or an async block, which do not pass the caller's location on, so `Location::caller()` and panics would point into this function instead of at its caller; remove `#[track_caller]` or `#[traced_chat]`",
            ));
        }
        if let Some(variadic) = &self.sig.variadic {
            errors.push(Error::new_spanned(
                variadic,
                "`#[traced_chat]` cannot trace a C-variadic function",
            ));
        }
    }

    /// Whether the function takes `self` in any form.
    pub(crate) fn has_receiver(&self) -> bool {
        self.sig.receiver().is_some()
    }

    /// Every name the arguments bind, in order (`self` excluded).
    pub(crate) fn arg_names(&self) -> Vec<&Ident> {
        let mut names = Vec::new();
        for arg in &self.sig.inputs {
            if let FnArg::Typed(typed) = arg {
                bindings(&typed.pat, &mut names);
            }
        }
        names
    }

    /// The argument binding named `prompt`, if any (`prompt`, `mut prompt`, or inside a pattern).
    pub(crate) fn prompt_arg(&self) -> Option<&Ident> {
        self.arg_names().into_iter().find(|name| *name == "prompt")
    }
}

/// The names a pattern binds.
fn bindings<'a>(pat: &'a Pat, names: &mut Vec<&'a Ident>) {
    match pat {
        Pat::Ident(p) => {
            names.push(&p.ident);
            if let Some((_, sub)) = &p.subpat {
                bindings(sub, names);
            }
        }
        Pat::Reference(p) => bindings(&p.pat, names),
        Pat::Paren(p) => bindings(&p.pat, names),
        Pat::Type(p) => bindings(&p.pat, names),
        Pat::Tuple(p) => p.elems.iter().for_each(|p| bindings(p, names)),
        Pat::TupleStruct(p) => p.elems.iter().for_each(|p| bindings(p, names)),
        Pat::Slice(p) => p.elems.iter().for_each(|p| bindings(p, names)),
        Pat::Struct(p) => p.fields.iter().for_each(|f| bindings(&f.pat, names)),
        Pat::Or(p) => {
            if let Some(first) = p.cases.first() {
                bindings(first, names);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_ok(tokens: TokenStream) -> TracedFn {
        match parse(tokens) {
            Ok(f) => f,
            Err(e) => panic!("unexpected error: {e}"),
        }
    }

    fn shape_errors(tokens: TokenStream) -> Vec<String> {
        let mut errors = Errors::default();
        parse_ok(tokens).check_shape(&mut errors);
        errors
            .finish()
            .err()
            .map(|e| e.into_iter().map(|e| e.to_string()).collect())
            .unwrap_or_default()
    }

    #[test]
    fn function_shapes() {
        for tokens in [
            quote!(
                fn f() {}
            ),
            quote!(
                pub(crate) async unsafe extern "C" fn f<T: Clone>(x: T) -> T
                where
                    T: Send,
                {
                    x
                }
            ),
            quote!(
                #[inline]
                #[must_use]
                /// doc
                fn f(&mut self) -> u8 {
                    1
                }
            ),
            quote!(default fn f(self: std::sync::Arc<Self>) {}),
            quote!(
                fn f((a, b): (u8, u8), _: u8) {}
            ),
        ] {
            assert!(shape_errors(tokens).is_empty());
        }
    }

    #[test]
    fn body_that_does_not_parse_is_kept() {
        let f = parse_ok(quote!(fn f() { #![allow(unused)] let x = ; }));
        assert!(f.body.stmts().is_none());
        assert_eq!(f.body.inner_attrs().len(), 1);
        assert_eq!(f.body.block().to_string(), "{ let x = ; }");
    }

    #[test]
    fn rejected_shapes() {
        let errors = shape_errors(quote!(
            const fn f() {}
        ));
        assert!(
            errors[0].contains("cannot trace a `const fn`"),
            "{errors:?}"
        );
        let errors = shape_errors(quote!(
            fn f(&self, prompt: &str) -> String;
        ));
        assert!(errors[0].contains("needs a function body"), "{errors:?}");
    }

    #[test]
    fn not_a_function() {
        for (tokens, what) in [
            (
                quote!(
                    struct S;
                ),
                "not on a struct",
            ),
            (
                quote!(impl S { fn f() {} }),
                "not on an `impl` block; put it on each method",
            ),
            (
                quote!(
                    trait T {}
                ),
                "not on a trait",
            ),
            (
                quote!(
                    mod m {}
                ),
                "not on a module",
            ),
            (
                quote!(
                    static X: u8 = 1;
                ),
                "not on a static",
            ),
        ] {
            let error = parse(tokens).err().expect("an error").to_string();
            assert!(
                error.starts_with("`#[traced_chat]` goes on a function"),
                "{error}"
            );
            assert!(error.contains(what), "{error}");
        }
    }

    #[test]
    fn argument_names() {
        let f = parse_ok(quote!(
            fn f(&self, (a, mut b): (u8, u8), S { c, .. }: S, _: u8, ref d: u8) {}
        ));
        let names: Vec<_> = f.arg_names().iter().map(|i| i.to_string()).collect();
        assert_eq!(names, ["a", "b", "c", "d"]);
        assert!(f.has_receiver());
        assert!(f.prompt_arg().is_none());
        let f = parse_ok(quote!(
            fn f(mut prompt: String) {}
        ));
        assert_eq!(f.prompt_arg().unwrap(), "prompt");
    }
}
