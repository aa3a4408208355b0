//! The tree console format (`TRACED_CHAT_CONSOLE_FORMAT=tree`) as the examples print it: piped
//! (snapshots, no colour, the default width) and in a real pseudo-terminal (`script` from
//! util-linux: the terminal's width, colour unless `NO_COLOR`).
//!
//! The example binaries are built by this same `cargo test` run; run the whole `cargo test
//! --all-features`, or a stale binary from another feature set is run.

use std::process::{Command, Stdio};

mod common;

/// The format's width when the output is not a terminal.
const PIPED_WIDTH: usize = 100;

/// Runs example `name` in the tree format with its output piped: (stdout, stderr).
fn piped(name: &str) -> (String, String) {
    let output = common::example_command(name)
        .env("TRACED_CHAT_CONSOLE_FORMAT", "tree")
        .env("TERM", "xterm-256color")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(output.status.success(), "{name}: {output:?}");
    (
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

/// Durations (`1.09 s`, `52 ms`, `0.8 ms`) replaced by `‹t›`, and the spaces that right-align
/// a line's last one collapsed to two.
fn normalise(text: &str) -> String {
    text.lines()
        .map(|line| {
            let words: Vec<&str> = line.split(' ').collect();
            let mut kept = Vec::new();
            let mut i = 0;
            while i < words.len() {
                let number = !words[i].is_empty()
                    && words[i].chars().all(|c| c.is_ascii_digit() || c == '.');
                if number && matches!(words.get(i + 1), Some(&"s" | &"ms")) {
                    kept.push("‹t›");
                    i += 2;
                } else {
                    kept.push(words[i]);
                    i += 1;
                }
            }
            let line = kept.join(" ");
            match line.strip_suffix("‹t›") {
                Some(head) if head.ends_with("  ") => format!("{}  ‹t›", head.trim_end()),
                _ => line,
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The metrics table at the end of standard error, normalised, its columns' padding collapsed.
fn table(stderr: &str) -> String {
    let start = stderr
        .find("metric ")
        .unwrap_or_else(|| panic!("no metrics table: {stderr}"));
    let mut table = normalise(&stderr[start..]);
    while table.contains("   ") {
        table = table.replace("   ", "  ");
    }
    table
}

fn assert_piped_shape(stdout: &str) {
    assert!(!stdout.contains('\x1b'), "no colour when piped: {stdout:?}");
    for line in stdout.lines() {
        assert!(line.chars().count() <= PIPED_WIDTH, "{line:?}");
    }
}

#[test]
fn quickstart() {
    let (stdout, stderr) = piped("quickstart");
    assert_piped_shape(&stdout);
    insta::assert_snapshot!("quickstart", normalise(&stdout));
    insta::assert_snapshot!("quickstart_metrics", table(&stderr));
}

#[test]
fn streaming() {
    let (stdout, _) = piped("streaming");
    assert_piped_shape(&stdout);
    insta::assert_snapshot!("streaming", normalise(&stdout));
}

#[test]
fn tools() {
    let (stdout, _) = piped("tools");
    assert_piped_shape(&stdout);
    insta::assert_snapshot!("tools", normalise(&stdout));
}

#[test]
fn errors() {
    let (stdout, _) = piped("errors");
    assert_piped_shape(&stdout);
    insta::assert_snapshot!("errors", normalise(&stdout));
}

/// Runs example `name` in the tree format in a pseudo-terminal `columns` wide, with only `PATH`,
/// `TERM` and `env` set; what
/// the terminal showed (standard output and error together), line ends as `\n`.
fn in_terminal(name: &str, columns: u16, env: &[(&str, &str)]) -> String {
    let binary = common::example_binary(name);
    let inner = format!("stty cols {columns} rows 50; exec '{}'", binary.display());
    // A clean environment: no OTEL_*, TRACED_CHAT_* or OpenAI variable from this process.
    let output = Command::new("script")
        .args(["-q", "-e", "-c", &inner, "/dev/null"])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("TERM", "xterm-256color")
        .env("TRACED_CHAT_CONSOLE_FORMAT", "tree")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .expect("`script` (util-linux) runs");
    assert!(output.status.success(), "{name} in a terminal: {output:?}");
    String::from_utf8(output.stdout)
        .unwrap()
        .replace("\r\n", "\n")
}

/// Text without ANSI escape sequences.
fn strip(text: &str) -> String {
    let mut plain = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            chars.by_ref().find(|c| c.is_ascii_alphabetic());
        } else {
            plain.push(c);
        }
    }
    plain
}

/// The tree's lines (those ending in a duration) of a terminal's text, without escapes.
fn tree_lines(shown: &str) -> Vec<String> {
    strip(shown)
        .lines()
        .filter(|line| line.ends_with(" s") || line.ends_with(" ms"))
        .filter(|line| !line.contains(" tokens · ") && !line.starts_with("gen_ai."))
        .map(str::to_owned)
        .collect()
}

#[test]
fn in_a_terminal_lines_fit_its_width_and_errors_are_coloured() {
    let shown = in_terminal("errors", 64, &[]);
    let lines = tree_lines(&shown);
    assert!(lines.len() >= 6, "{shown}");
    for line in &lines {
        assert_eq!(
            line.chars().count(),
            64,
            "right-aligned to the terminal: {line:?}"
        );
    }
    assert!(
        shown.contains("\x1b[1m\x1b[31m") || shown.contains("\x1b[31m"),
        "{shown:?}"
    );
    assert!(shown.contains("\x1b[33m"), "retries in yellow: {shown:?}");
    assert!(
        strip(&shown).contains("HTTP POST 429 → retry → 200"),
        "{shown}"
    );
}

#[test]
fn in_a_terminal_no_color_turns_colour_off() {
    let shown = in_terminal("quickstart", 72, &[("NO_COLOR", "1")]);
    assert!(!shown.contains('\x1b'), "{shown:?}");
    let lines = tree_lines(&shown);
    assert_eq!(lines.len(), 7, "{shown}");
    for line in &lines {
        assert_eq!(line.chars().count(), 72, "{line:?}");
    }
}
