// Visibility, `unsafe fn`, `extern "C"`, and the function's own attributes and docs are kept.
#![deny(unused_must_use)]
use traced_chat::traced_chat;

mod inner {
    use traced_chat::traced_chat;

    /// Documented, inlined, crate-visible.
    #[inline]
    #[must_use]
    #[traced_chat]
    pub(crate) fn visible(prompt: &str) -> String {
        prompt.to_owned()
    }

    #[traced_chat]
    #[cfg(any())]
    pub(crate) fn compiled_out(prompt: &str) -> String {
        compile_error!("a cfg'd out function is not compiled")
    }

    #[cfg(all())]
    #[traced_chat]
    pub(crate) fn compiled_in(prompt: &str) -> String {
        prompt.to_owned()
    }
}

/// # Safety
/// `byte` must point to a valid byte.
#[traced_chat]
unsafe fn with_byte(prompt: &str, byte: *const u8) -> String {
    format!("{prompt}{}", unsafe { *byte })
}

#[traced_chat(skip(prompt))]
extern "C" fn c_abi() {}

#[traced_chat]
#[allow(clippy::needless_return)]
fn body_attributes(prompt: &str) -> String {
    #![allow(unused_variables)]
    let unused = 1;
    return prompt.to_uppercase();
}

fn main() {
    let _kept = inner::visible("a");
    let _ = inner::compiled_in("b");
    assert_eq!(unsafe { with_byte("c", &1) }, "c1");
    c_abi();
    assert_eq!(body_attributes("abc"), "ABC");
}
