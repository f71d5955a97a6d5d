//! The front end never panics, never hangs and never overflows the stack,
//! whatever the input: mutated and random plans, and absurd nesting.

mod common;

use drover::diagnostic::Diagnostic;
use drover::source::SourceMap;
use drover::syntax::{parser, pretty};

const TOKENS: &[&str] = &[
    "plan",
    "if",
    "elsif",
    "else",
    "unless",
    "foreach",
    "in",
    "parallel",
    "serial",
    "max_failures",
    "with",
    "try",
    "catch",
    "finally",
    "async",
    "await",
    "return",
    "break",
    "continue",
    "true",
    "undef",
    "$x",
    "$node",
    "${",
    "}",
    "{",
    "(",
    ")",
    "[",
    "]",
    "\"",
    "'",
    "|",
    "||",
    "&&",
    "=",
    "==",
    "=>",
    "=~",
    "!",
    "-",
    "+",
    "*",
    "/",
    "%",
    "25%",
    "0",
    "-9223372036854775808",
    "99999999999999999999",
    "1.5",
    "5m",
    "5mins",
    "1h30m",
    ";",
    ",",
    ".",
    "::",
    "#",
    "/*",
    "*/",
    "\n",
    " ",
    "\\",
    "$",
    "log::info",
    "run_task",
    "parallelize",
    "String",
    "Array[",
    "Enum[",
    "é",
    "😀",
    "\t",
    "\r\n",
    "\u{feff}",
];

/// Parse and check; every diagnostic must point inside the text.
fn front_end(text: &str, render: bool) -> Vec<Diagnostic> {
    let mut sources = SourceMap::new();
    let id = sources.add("fuzz.plan", text);
    let (files, diags) = drover::check::check_sources(&sources);
    for d in &diags {
        for span in std::iter::once(d.primary.span).chain(d.secondary.iter().map(|l| l.span)) {
            let (s, e) = (span.start as usize, span.end as usize);
            assert!(
                s <= e && e <= text.len(),
                "span {s}..{e} outside {} bytes: {d:?}\n{text}",
                text.len()
            );
            assert!(
                text.is_char_boundary(s) && text.is_char_boundary(e),
                "span splits a char: {d:?}"
            );
        }
        if render {
            assert!(!d.render(&sources, false, 80).is_empty());
        }
    }
    // Whatever parses cleanly also survives printing and parsing again.
    if let [file] = files.as_slice()
        && !diags.iter().any(|d| d.is_error())
    {
        let printed = pretty::file(file);
        let (_, again) = parser::parse_str("printed.plan", &printed);
        assert!(
            again.file.is_some() && again.diagnostics.is_empty(),
            "printed form does not parse:\n{text}\n---\n{printed}"
        );
    }
    let _ = id;
    diags
}

fn random_soup(rng: &mut fastrand::Rng) -> String {
    let mut s = String::from("plan p() {");
    for _ in 0..rng.usize(1..200) {
        s.push_str(TOKENS[rng.usize(0..TOKENS.len())]);
        if rng.bool() {
            s.push(' ');
        }
    }
    s
}

#[test]
fn one_hundred_thousand_mutated_and_random_inputs() {
    let seeds: Vec<String> = [
        "plans",
        "tests/fixtures",
        "tests/diagnostics",
        "tests/conformance",
    ]
    .iter()
    .flat_map(|d| common::plans_under(d))
    .map(|p| std::fs::read_to_string(p).unwrap())
    .collect();
    assert!(seeds.len() > 40);
    common::on_small_stack(move || {
        // DROVER_FUZZ_SEED explores other inputs; CI uses the fixed default.
        let seed =
            std::env::var("DROVER_FUZZ_SEED").map_or(0xd20e, |s| s.parse().expect("a number"));
        let mut rng = fastrand::Rng::with_seed(seed);
        let (mut parsed, mut rejected) = (0, 0);
        for i in 0..100_000 {
            let input = if i % 10 == 0 {
                random_soup(&mut rng)
            } else {
                let seed = rng.usize(0..seeds.len());
                common::mutate(&mut rng, &seeds[seed], TOKENS)
            };
            let diags = front_end(&input, i % 50 == 0);
            if diags.iter().any(|d| d.is_error()) {
                rejected += 1;
            } else {
                parsed += 1;
            }
        }
        // Both outcomes must be common, or the mutations test too little.
        assert!(
            parsed > 2_000 && rejected > 20_000,
            "parsed {parsed}, rejected {rejected}"
        );
    });
}

fn first_error(text: &str) -> Diagnostic {
    let text = text.to_string();
    common::on_small_stack(move || {
        let diags = front_end(&text, true);
        diags.into_iter().find(|d| d.is_error()).expect("an error")
    })
}

#[test]
fn ten_thousand_nested_brackets_are_an_error() {
    for (open, close) in [("[", "]"), ("(", ")"), ("{ x => ", "}")] {
        let text = format!(
            "plan p() {{ $x = {}1{}; }}",
            open.repeat(10_000),
            close.repeat(10_000)
        );
        assert_eq!(first_error(&text).code, "nesting-too-deep", "{open}");
    }
    // Unclosed, too: the depth limit comes first.
    assert_eq!(
        first_error(&format!("plan p() {{ $x = {}", "[".repeat(10_000))).code,
        "nesting-too-deep"
    );
}

#[test]
fn ten_thousand_nested_blocks_are_an_error() {
    let text = format!(
        "plan p() {{ {} {} }}",
        "if true { ".repeat(10_000),
        "}".repeat(10_000)
    );
    assert_eq!(first_error(&text).code, "nesting-too-deep");
    let text = format!(
        "plan p() {{ {} {} }}",
        "async { ".repeat(10_000),
        "}".repeat(10_000)
    );
    assert_eq!(first_error(&text).code, "nesting-too-deep");
    let text = format!(
        "plan p() {{ $x = \"{}{}\"; }}",
        "${\"".repeat(10_000),
        "\"}".repeat(10_000)
    );
    assert_eq!(first_error(&text).code, "nesting-too-deep");
}

#[test]
fn nesting_up_to_the_limit_is_accepted() {
    // The deepest nesting allowed parses and checks on a 2 MiB stack.
    let depth = drover::syntax::delimiters::MAX_NESTING - 2;
    let text = format!(
        "plan p() {{ $x = {}1{}; log::info(\"$x\"); }}",
        "[".repeat(depth),
        "]".repeat(depth)
    );
    let diags = common::on_small_stack(move || front_end(&text, true));
    assert!(diags.is_empty(), "{diags:?}");
    let blocks = drover::syntax::delimiters::MAX_NESTING - 2;
    let text = format!(
        "plan p() {{ {} {} }}",
        "if true { ".repeat(blocks),
        "}".repeat(blocks)
    );
    let diags = common::on_small_stack(move || front_end(&text, true));
    assert!(diags.is_empty(), "{diags:?}");
}

#[test]
fn long_operator_chains_are_bounded() {
    // Flat chains make deep trees without any brackets.
    for op in ["+", "&&", "-"] {
        let text = format!(
            "plan p() {{ $x = 1{}; log::info(\"$x\"); }}",
            format!(" {op} 1").repeat(10_000)
        );
        assert_eq!(first_error(&text).code, "nesting-too-deep", "{op}");
    }
    let text = format!(
        "plan p() {{ $x = {}true; log::info(\"$x\"); }}",
        "!".repeat(10_000)
    );
    assert_eq!(first_error(&text).code, "nesting-too-deep");
    let text = format!(
        "plan p(Array $a) {{ $x = $a{}; log::info(\"$x\"); }}",
        ".first".repeat(10_000)
    );
    assert_eq!(first_error(&text).code, "nesting-too-deep");
    // A long but reasonable chain is fine.
    let text = format!(
        "plan p() {{ $x = 1{}; log::info(\"$x\"); }}",
        " + 1".repeat(500)
    );
    assert!(common::on_small_stack(move || front_end(&text, false)).is_empty());
}
