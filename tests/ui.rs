//! Compile-time behaviour of `#[traced_chat]` (trybuild).
//!
//! - `tests/ui/pass`: every supported function shape and option compiles (and runs).
//! - `tests/ui/fail`: mistakes in the options or the function, each with its reviewed `.stderr`.
//!   These errors come from the attribute itself, so they are the same with the `otel` feature on
//!   or off (trybuild builds the cases with the features of this test run).
//! - `tests/ui/fail-otel`: type errors in the instrumented code (an unsupported return or prompt
//!   type, a field value that is not an attribute value, a wrong `crate = path`, a type error in
//!   the body, a prompt moved away before the `async` block a function returns); with `otel`
//!   off the function is emitted as written and these compile.
//!
//! Compiler output changes between Rust versions, so the suite runs on the pinned toolchain
//! only. After changing a message (or `runtime/src/span.rs`/`record.rs`, whose lines some
//! `.stderr` files quote), regenerate with `TRYBUILD=overwrite cargo test --test ui` and review
//! every diff.

#[rustversion::attr(not(stable(1.95)), ignore)]
#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass/*.rs");
    t.compile_fail("tests/ui/fail/*.rs");
    if cfg!(feature = "otel") {
        t.compile_fail("tests/ui/fail-otel/*.rs");
    }
}
