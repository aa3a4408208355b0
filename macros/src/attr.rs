//! The options of `#[traced_chat(...)]`: parsed into [`Args`], then checked for combinations that
//! contradict each other. Checks that need the function (does `prompt = x` name an argument?)
//! live in `expand.rs`, which has both.
//!
//! Parsing never stops at the first mistake: each option is parsed on its own, a bad one is
//! reported and skipped up to the next `,`, so two mistakes give two errors.

use proc_macro2::{Span, TokenStream, TokenTree};
use quote::ToTokens;
use syn::ext::IdentExt as _;
use syn::parse::{ParseStream, Parser as _};
use syn::{Error, Expr, Ident, LitBool, LitStr, Path, Result, Token, parenthesized, token};

mod kw {
    syn::custom_keyword!(name);
    syn::custom_keyword!(prompt);
    syn::custom_keyword!(skip);
    syn::custom_keyword!(response);
    syn::custom_keyword!(content);
    syn::custom_keyword!(fields);
}

/// Every option, as written in the message that lists them.
const OPTIONS: &str = "`name = \"…\"`, `prompt = arg`, `skip(prompt, response)`, \
                       `content = false`, `fields(key = value, …)`, `crate = path`";

/// Attribute keys that `#[traced_chat]` records itself; `fields(...)` may not set them.
const RESERVED_KEYS: [(&str, &str); 2] = [
    (
        "openai.prompt",
        "`prompt = …` chooses what is recorded as the prompt",
    ),
    (
        "openai.response",
        "the response is recorded from the return value",
    ),
];

/// The options of one `#[traced_chat(...)]`.
#[derive(Default)]
pub(crate) struct Args {
    /// `name = "…"`: the span name.
    pub(crate) name: Option<LitStr>,
    /// `prompt = expr`: what to record as the prompt.
    pub(crate) prompt: Option<PromptOption>,
    /// `skip(...)`.
    pub(crate) skip: Option<Skip>,
    /// `content = true | false`.
    pub(crate) content: Option<(kw::content, LitBool)>,
    /// `fields(key = value, ...)`, in the order written.
    pub(crate) fields: Vec<Field>,
    /// `crate = path`.
    pub(crate) krate: Option<Path>,
}

/// `prompt = expr`.
pub(crate) struct PromptOption {
    pub(crate) key: kw::prompt,
    pub(crate) expr: Expr,
}

/// `skip(prompt, response)`: the span of each word given.
pub(crate) struct Skip {
    pub(crate) key: kw::skip,
    pub(crate) prompt: Option<Span>,
    pub(crate) response: Option<Span>,
}

/// One `key = value` of `fields(...)`.
pub(crate) struct Field {
    /// The attribute key as a string literal, spanned at the key as written.
    pub(crate) key: LitStr,
    pub(crate) value: Expr,
}

impl Args {
    /// Whether the prompt is recorded (no `skip(prompt)`, no `content = false`).
    pub(crate) fn records_prompt(&self) -> bool {
        self.content_on() && self.skip.as_ref().is_none_or(|s| s.prompt.is_none())
    }

    /// Whether the response is recorded (no `skip(response)`, no `content = false`).
    pub(crate) fn records_response(&self) -> bool {
        self.content_on() && self.skip.as_ref().is_none_or(|s| s.response.is_none())
    }

    fn content_on(&self) -> bool {
        self.content.as_ref().is_none_or(|(_, on)| on.value)
    }

    /// The path generated code starts from: `crate = path`, or `::traced_chat`.
    pub(crate) fn krate(&self) -> TokenStream {
        match &self.krate {
            Some(path) => path.to_token_stream(),
            None => quote::quote!(::traced_chat),
        }
    }
}

/// Collects errors so that every mistake is reported, not just the first.
#[derive(Default)]
pub(crate) struct Errors(Option<Error>);

impl Errors {
    pub(crate) fn push(&mut self, error: Error) {
        match &mut self.0 {
            Some(errors) => errors.combine(error),
            None => self.0 = Some(error),
        }
    }

    /// Adds the error of `result`, if any, and returns its value.
    pub(crate) fn ok<T>(&mut self, result: Result<T>) -> Option<T> {
        result.map_err(|e| self.push(e)).ok()
    }

    pub(crate) fn finish(self) -> Result<()> {
        self.0.map_or(Ok(()), Err)
    }
}

/// Parses the tokens between the parentheses of `#[traced_chat(...)]`.
///
/// Returns what could be parsed even when there are errors, so the caller can still check the
/// valid options against the function and report those mistakes too.
pub(crate) fn parse(tokens: TokenStream) -> (Args, Result<()>) {
    let mut args = Args::default();
    let result = (|input: ParseStream<'_>| {
        let mut errors = Errors::default();
        let mut seen = Vec::new();
        parse_list(
            input,
            ("an option", "options"),
            &mut errors,
            |input, errors| args.parse_option(input, errors, &mut seen),
        );
        args.validate(&mut errors);
        errors.finish()
    })
    .parse2(tokens);
    (args, result)
}

/// Parses a comma-separated list with `each`; an item that fails is reported and skipped up to
/// the next `,` at this level, so the items after it are still parsed.
fn parse_list(
    input: ParseStream<'_>,
    (one, many): (&str, &str),
    errors: &mut Errors,
    mut each: impl FnMut(ParseStream<'_>, &mut Errors) -> Result<()>,
) {
    while !input.is_empty() {
        if input.peek(Token![,]) {
            errors.push(input.error(format!("expected {one} before `,`")));
        } else if let Err(error) = each(input, errors) {
            errors.push(error);
            skip_to_comma(input);
        } else if !input.is_empty() && !input.peek(Token![,]) {
            errors.push(input.error(format!("expected `,` between {many}")));
            skip_to_comma(input);
        }
        if input.is_empty() {
            break;
        }
        let _: Token![,] = input.parse().expect("peeked or skipped to a `,`");
    }
}

/// Advances past every token up to (not including) the next `,` at this level.
fn skip_to_comma(input: ParseStream<'_>) {
    let _ = input.step(|cursor| {
        let mut rest = *cursor;
        while let Some((tt, next)) = rest.token_tree() {
            if matches!(&tt, TokenTree::Punct(p) if p.as_char() == ',') {
                break;
            }
            rest = next;
        }
        Ok(((), rest))
    });
}

/// Consumes the `=` after `key`, with an error that shows the expected form if it is missing.
fn parse_eq(input: ParseStream<'_>, key: &dyn ToTokens, shown: &str, example: &str) -> Result<()> {
    if input.peek(Token![=]) {
        let eq: Token![=] = input.parse()?;
        if input.is_empty() || input.peek(Token![,]) {
            return Err(Error::new_spanned(
                quote::quote!(#key #eq),
                format!("missing value after `{shown} =`: {example}"),
            ));
        }
        Ok(())
    } else if input.is_empty() || input.peek(Token![,]) {
        Err(Error::new_spanned(
            key,
            format!("`{shown}` needs a value: {example}"),
        ))
    } else {
        Err(input.error(format!("expected `=`: {example}")))
    }
}

/// The span of the value at the cursor: a whole expression if one parses, else one token tree.
fn value_error(input: ParseStream<'_>, message: &str) -> Error {
    let ahead = input.fork();
    match ahead.parse::<Expr>() {
        Ok(expr) => Error::new_spanned(expr, message),
        Err(_) => input.error(message),
    }
}

impl Args {
    fn parse_option(
        &mut self,
        input: ParseStream<'_>,
        errors: &mut Errors,
        seen: &mut Vec<&'static str>,
    ) -> Result<()> {
        let lookahead = input.lookahead1();
        if lookahead.peek(kw::name) {
            let key: kw::name = input.parse()?;
            check_duplicate(seen, "name", key.span)?;
            self.name = Some(parse_name(input, &key)?);
        } else if lookahead.peek(kw::prompt) {
            let key: kw::prompt = input.parse()?;
            check_duplicate(seen, "prompt", key.span)?;
            parse_eq(
                input,
                &key,
                "prompt",
                "`prompt = my_arg` (an argument, or a field of one: `prompt = request.text`)",
            )?;
            let expr: Expr = input.parse()?;
            self.prompt = Some(PromptOption { key, expr });
        } else if lookahead.peek(kw::skip) {
            let key: kw::skip = input.parse()?;
            check_duplicate(seen, "skip", key.span)?;
            self.skip = Some(parse_skip(input, key, errors)?);
        } else if lookahead.peek(kw::content) {
            let key: kw::content = input.parse()?;
            check_duplicate(seen, "content", key.span)?;
            parse_eq(input, &key, "content", "`content = false`")?;
            if !input.peek(LitBool) {
                return Err(value_error(input, "`content` takes `true` or `false`"));
            }
            self.content = Some((key, input.parse()?));
        } else if lookahead.peek(kw::fields) {
            let key: kw::fields = input.parse()?;
            check_duplicate(seen, "fields", key.span)?;
            self.fields = parse_fields(input, &key, errors)?;
        } else if lookahead.peek(Token![crate]) {
            let key: Token![crate] = input.parse()?;
            check_duplicate(seen, "crate", key.span)?;
            self.krate = Some(parse_crate(input, &key)?);
        } else if input.peek(Ident::peek_any) {
            let unknown = input.call(Ident::parse_any)?;
            return Err(unknown_option(&unknown));
        } else {
            return Err(lookahead.error());
        }
        Ok(())
    }

    /// Combinations that contradict each other.
    fn validate(&self, errors: &mut Errors) {
        let content_off = self.content.as_ref().filter(|(_, on)| !on.value);
        if let (Some(_), Some(skip)) = (content_off, &self.skip) {
            errors.push(Error::new(
                skip.key.span,
                "`content = false` already skips the prompt and the response; remove `skip(...)`",
            ));
        }
        if let Some(prompt) = &self.prompt {
            let skipped = self.skip.as_ref().is_some_and(|s| s.prompt.is_some());
            if skipped || content_off.is_some() {
                let by = if skipped {
                    "`skip(prompt)`"
                } else {
                    "`content = false`"
                };
                errors.push(Error::new(
                    prompt.key.span,
                    format!("`prompt = …` has no effect with {by}, which records no prompt; remove one of them"),
                ));
            }
        }
    }
}

fn check_duplicate(seen: &mut Vec<&'static str>, key: &'static str, span: Span) -> Result<()> {
    if seen.contains(&key) {
        return Err(Error::new(
            span,
            format!("duplicate `{key}` option; give each option once"),
        ));
    }
    seen.push(key);
    Ok(())
}

fn unknown_option(unknown: &Ident) -> Error {
    let written = unknown.unraw().to_string();
    let known = ["name", "prompt", "skip", "content", "fields", "crate"];
    let suggestion = known
        .iter()
        .filter(|k| edit_distance(k, &written) <= 2)
        .min_by_key(|k| edit_distance(k, &written))
        .map(|k| format!(" (did you mean `{k}`?)"))
        .unwrap_or_default();
    Error::new(
        unknown.span(),
        format!("unknown option `{written}`{suggestion}; the options are {OPTIONS}"),
    )
}

/// Levenshtein distance, for "did you mean" on short option names.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

/// `skip(prompt, response)`.
fn parse_skip(input: ParseStream<'_>, key: kw::skip, errors: &mut Errors) -> Result<Skip> {
    let example = "`skip(prompt)`, `skip(response)` or `skip(prompt, response)`";
    if !input.peek(token::Paren) {
        return Err(if input.is_empty() || input.peek(Token![,]) {
            Error::new(key.span, format!("`skip` needs a list: {example}"))
        } else {
            input.error(format!("expected `(`: {example}"))
        });
    }
    let content;
    let parens = parenthesized!(content in input);
    let empty = content.is_empty();
    let mut skip = Skip {
        key,
        prompt: None,
        response: None,
    };
    parse_list(
        &content,
        ("`prompt` or `response`", "items"),
        errors,
        |input, _| {
            let lookahead = input.lookahead1();
            let (slot, word, span) = if lookahead.peek(kw::prompt) {
                let word: kw::prompt = input.parse()?;
                (&mut skip.prompt, "prompt", word.span)
            } else if lookahead.peek(kw::response) {
                let word: kw::response = input.parse()?;
                (&mut skip.response, "response", word.span)
            } else {
                let _ = lookahead;
                return Err(value_error(
                    input,
                    "`skip` takes `prompt` and/or `response` (other arguments are never recorded)",
                ));
            };
            if slot.is_some() {
                return Err(Error::new(span, format!("`{word}` is already skipped")));
            }
            *slot = Some(span);
            Ok(())
        },
    );
    if empty {
        return Err(Error::new(
            parens.span.join(),
            format!("`skip()` is empty; write {example}, or remove it"),
        ));
    }
    Ok(skip)
}

/// `fields(key = value, ...)`: keys are dotted identifiers (`user.id`) or string literals.
fn parse_fields(
    input: ParseStream<'_>,
    key: &kw::fields,
    errors: &mut Errors,
) -> Result<Vec<Field>> {
    let example = "`fields(user.id = user_id, \"app.tier\" = \"free\")`";
    if !input.peek(token::Paren) {
        return Err(if input.is_empty() || input.peek(Token![,]) {
            Error::new(key.span, format!("`fields` needs a list: {example}"))
        } else {
            input.error(format!("expected `(`: {example}"))
        });
    }
    let content;
    parenthesized!(content in input);
    let mut fields: Vec<Field> = Vec::new();
    parse_list(&content, ("a field", "fields"), errors, |input, _| {
        let (key, key_tokens) = parse_field_key(input, example)?;
        if let Some((reserved, why)) = RESERVED_KEYS.iter().find(|(k, _)| *k == key.value()) {
            return Err(Error::new_spanned(
                &key_tokens,
                format!(
                    "`{reserved}` is recorded by `#[traced_chat]` itself ({why}); choose another key"
                ),
            ));
        }
        if fields.iter().any(|f| f.key.value() == key.value()) {
            return Err(Error::new_spanned(
                &key_tokens,
                format!("duplicate field `{}`; give each key once", key.value()),
            ));
        }
        parse_eq(
            input,
            &key_tokens,
            &key.value(),
            &format!("`fields({} = value)`", key.value()),
        )?;
        let value: Expr = input.parse()?;
        fields.push(Field { key, value });
        Ok(())
    });
    Ok(fields)
}

/// A field key as a string literal (spanned at its first token), and its tokens as written.
fn parse_field_key(input: ParseStream<'_>, example: &str) -> Result<(LitStr, TokenStream)> {
    if input.peek(LitStr) {
        let key: LitStr = input.parse()?;
        if key.value().is_empty() {
            return Err(Error::new(key.span(), "a field key must not be empty"));
        }
        return Ok((key.clone(), key.into_token_stream()));
    }
    if !input.peek(Ident::peek_any) {
        return Err(input.error(format!(
            "expected a field key (`user.id` or a string literal): {example}"
        )));
    }
    let first = input.call(Ident::parse_any)?;
    let mut key = first.unraw().to_string();
    let mut tokens = first.to_token_stream();
    while input.peek(Token![.]) {
        let dot: Token![.] = input.parse()?;
        dot.to_tokens(&mut tokens);
        if !input.peek(Ident::peek_any) {
            return Err(input.error(format!(
                "expected an identifier after `.` in a field key: {example}"
            )));
        }
        let segment = input.call(Ident::parse_any)?;
        key.push('.');
        key.push_str(&segment.unraw().to_string());
        segment.to_tokens(&mut tokens);
    }
    Ok((LitStr::new(&key, first.span()), tokens))
}

/// `= "span name"` after `name`: a non-empty string literal.
fn parse_name(input: ParseStream<'_>, key: &kw::name) -> Result<LitStr> {
    parse_eq(input, key, "name", "`name = \"span name\"`")?;
    if !input.peek(LitStr) {
        return Err(value_error(
            input,
            "`name` takes a string literal, e.g. `name = \"answer\"`",
        ));
    }
    let name: LitStr = input.parse()?;
    if name.value().is_empty() {
        return Err(Error::new(name.span(), "the span name must not be empty"));
    }
    Ok(name)
}

/// `= path` after `crate`: the path traced-chat is reachable at.
fn parse_crate(input: ParseStream<'_>, key: &Token![crate]) -> Result<Path> {
    let example = "`crate = my_crate::traced_chat`";
    parse_eq(input, key, "crate", example)?;
    input.call(Path::parse_mod_style).map_err(|_| {
        value_error(
            input,
            &format!("`crate` takes the path traced-chat is reachable at, e.g. {example}"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn ok(tokens: TokenStream) -> Args {
        let (args, result) = parse(tokens);
        if let Err(e) = result {
            panic!("unexpected error: {e}");
        }
        args
    }

    fn errors(tokens: TokenStream) -> Vec<String> {
        let (_, result) = parse(tokens);
        result
            .expect_err("expected an error")
            .into_iter()
            .map(|e| e.to_string())
            .collect()
    }

    fn one_error(tokens: TokenStream) -> String {
        let errors = errors(tokens);
        assert_eq!(errors.len(), 1, "{errors:#?}");
        errors.into_iter().next().unwrap()
    }

    #[test]
    fn empty() {
        let args = ok(quote!());
        assert!(args.name.is_none() && args.prompt.is_none() && args.fields.is_empty());
        assert!(args.records_prompt() && args.records_response());
        assert_eq!(args.krate().to_string(), ":: traced_chat");
    }

    #[test]
    fn every_option() {
        let args = ok(quote!(
            name = "answer",
            prompt = request.text,
            skip(response),
            content = true,
            fields(user.id = user_id, "app.tier" = "free", r#type = 3),
            crate = my::reexport,
        ));
        assert_eq!(args.name.unwrap().value(), "answer");
        assert_eq!(
            args.prompt.unwrap().expr.to_token_stream().to_string(),
            "request . text"
        );
        let skip = args.skip.as_ref().unwrap();
        assert!(skip.prompt.is_none() && skip.response.is_some());
        let keys: Vec<_> = args.fields.iter().map(|f| f.key.value()).collect();
        assert_eq!(keys, ["user.id", "app.tier", "type"]);
        assert_eq!(
            args.krate.unwrap().to_token_stream().to_string(),
            "my :: reexport"
        );
    }

    #[test]
    fn skip_and_content() {
        let args = ok(quote!(skip(prompt, response)));
        assert!(!args.records_prompt() && !args.records_response());
        let args = ok(quote!(skip(prompt)));
        assert!(!args.records_prompt() && args.records_response());
        let args = ok(quote!(content = false));
        assert!(!args.records_prompt() && !args.records_response());
        let args = ok(quote!(content = true, skip(response)));
        assert!(args.records_prompt() && !args.records_response());
    }

    #[test]
    fn leading_colon_crate_path() {
        let args = ok(quote!(crate = ::renamed));
        assert_eq!(args.krate().to_string(), ":: renamed");
    }

    #[test]
    fn unknown_option() {
        let e = one_error(quote!(level = "info"));
        assert!(
            e.starts_with("unknown option `level`; the options are `name"),
            "{e}"
        );
        let e = one_error(quote!(nmae = "x"));
        assert!(e.contains("did you mean `name`?"), "{e}");
        let e = one_error(quote!("answer"));
        assert!(e.starts_with("expected one of: `name`, `prompt`"), "{e}");
    }

    #[test]
    fn duplicate_option() {
        let e = one_error(quote!(name = "a", name = "b"));
        assert_eq!(e, "duplicate `name` option; give each option once");
        let e = one_error(quote!(skip(prompt), skip(response)));
        assert!(e.starts_with("duplicate `skip`"), "{e}");
        let e = one_error(quote!(skip(prompt, prompt)));
        assert_eq!(e, "`prompt` is already skipped");
    }

    #[test]
    fn missing_value() {
        assert_eq!(
            one_error(quote!(name)),
            "`name` needs a value: `name = \"span name\"`"
        );
        assert!(one_error(quote!(prompt)).starts_with("`prompt` needs a value"));
        assert!(one_error(quote!(prompt =)).starts_with("missing value after `prompt =`"));
        assert!(one_error(quote!(skip)).starts_with("`skip` needs a list"));
        assert!(one_error(quote!(fields)).starts_with("`fields` needs a list"));
        assert!(one_error(quote!(crate, name = "x")).starts_with("`crate` needs a value"));
        assert!(one_error(quote!(content)).starts_with("`content` needs a value"));
    }

    #[test]
    fn wrong_value() {
        let e = one_error(quote!(name = answer));
        assert!(e.starts_with("`name` takes a string literal"), "{e}");
        let e = one_error(quote!(name = ""));
        assert_eq!(e, "the span name must not be empty");
        let e = one_error(quote!(crate = "traced_chat"));
        assert!(e.starts_with("`crate` takes the path"), "{e}");
        let e = one_error(quote!(content = "no"));
        assert_eq!(e, "`content` takes `true` or `false`");
        let e = one_error(quote!(name: "x"));
        assert!(e.starts_with("expected `=`"), "{e}");
    }

    #[test]
    fn malformed_skip() {
        let e = one_error(quote!(skip(user)));
        assert!(e.contains("`skip` takes `prompt` and/or `response`"), "{e}");
        let e = one_error(quote!(skip()));
        assert!(e.starts_with("`skip()` is empty"), "{e}");
        let e = one_error(quote!(skip = prompt));
        assert!(e.starts_with("expected `(`"), "{e}");
    }

    #[test]
    fn malformed_fields() {
        let e = one_error(quote!(fields(user.id)));
        assert!(e.starts_with("`user.id` needs a value"), "{e}");
        let e = one_error(quote!(fields(user. = 1)));
        assert!(e.starts_with("expected an identifier after `.`"), "{e}");
        let e = one_error(quote!(fields(3 = 1)));
        assert!(e.starts_with("expected a field key"), "{e}");
        let e = one_error(quote!(fields(a = 1, a = 2)));
        assert!(e.starts_with("duplicate field `a`"), "{e}");
        let e = one_error(quote!(fields(openai.prompt = 1)));
        assert!(e.contains("is recorded by `#[traced_chat]` itself"), "{e}");
        let e = one_error(quote!(fields = 1));
        assert!(e.starts_with("expected `(`"), "{e}");
        let e = one_error(quote!(fields(a = 1 b = 2)));
        assert_eq!(e, "expected `,` between fields");
    }

    #[test]
    fn conflicting_options() {
        let e = one_error(quote!(content = false, skip(prompt)));
        assert!(e.starts_with("`content = false` already skips"), "{e}");
        let e = one_error(quote!(prompt = p, skip(prompt)));
        assert!(e.contains("no effect with `skip(prompt)`"), "{e}");
        let e = one_error(quote!(prompt = p, content = false));
        assert!(e.contains("no effect with `content = false`"), "{e}");
    }

    #[test]
    fn errors_are_combined() {
        let errors = errors(quote!(nme = "a", name = 3, skip(all), fields(x)));
        assert_eq!(errors.len(), 4, "{errors:#?}");
        // What parsed is kept for the checks against the function.
        let (args, result) = parse(quote!(bogus, prompt = text));
        assert!(result.is_err());
        assert!(args.prompt.is_some());
    }

    #[test]
    fn separators() {
        ok(quote!(name = "a",));
        let e = one_error(quote!(name = "a",, content = true));
        assert_eq!(e, "expected an option before `,`");
        let e = one_error(quote!(name = "a" content = true));
        assert_eq!(e, "expected `,` between options");
    }

    #[test]
    fn edit_distances() {
        assert_eq!(edit_distance("name", "name"), 0);
        assert_eq!(edit_distance("name", "nmae"), 2);
        assert_eq!(edit_distance("prompt", "promt"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
    }
}
