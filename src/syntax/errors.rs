//! Turns pest's failure into a diagnostic a person can act on: the real
//! position (pest's furthest attempt), what was expected there without
//! whitespace and comment noise, and help for the common mistakes.

use std::collections::BTreeSet;

use pest::error::{Error, ErrorVariant, InputLocation};

use super::grammar::Rule;
use crate::diagnostic::{Diagnostic, did_you_mean};
use crate::duration::UNITS;
use crate::source::{FileId, Span};
use crate::syntax::delimiters::Trivia;

/// Words that may start a statement or continue an `if`/`try`.
pub(crate) const STATEMENT_KEYWORDS: [&str; 14] = [
    "if", "elsif", "else", "unless", "foreach", "with", "try", "catch", "finally", "async",
    "await", "return", "break", "continue",
];

/// Tokens that can start an expression, summarised as "an expression" (and at
/// a statement start as "a statement").
const EXPRESSION_STARTS: [&str; 16] = [
    "`!`",
    "`\"`",
    "`$`",
    "`'`",
    "`(`",
    "`-`",
    "`[`",
    "`{`",
    "`false`",
    "`true`",
    "`undef`",
    "a name",
    "a number",
    "an expression",
    "a variable",
    "`await`",
];

/// Translate a failed parse of `text` into one diagnostic.
pub(crate) fn translate(
    file: FileId,
    text: &str,
    trivia: &Trivia,
    err: &Error<Rule>,
) -> Diagnostic {
    let (pos, expected) = expectations(err);
    let pos = pos.min(text.len());
    let ctx = Context {
        file,
        text,
        trivia,
        pos,
        expected,
    };
    ctx.special_case().unwrap_or_else(|| ctx.generic())
}

/// The furthest position pest reached and what it would have accepted there.
fn expectations(err: &Error<Rule>) -> (usize, BTreeSet<String>) {
    let mut expected = BTreeSet::new();
    let pos = if let Some(attempts) = err.parse_attempts() {
        // pest does not export its token type; its Display is the literal,
        // or `A..Z` for the range that starts a type name.
        for token in attempts.expected_tokens() {
            match token.to_string().as_str() {
                "A..Z" => expected.insert("a type".to_string()),
                literal => expected.insert(format!("`{literal}`")),
            };
        }
        for stack in attempts.call_stacks() {
            if let Some(&rule) = stack.deepest.get_rule()
                && let Some(name) = rule_name(rule)
            {
                expected.insert(name.to_string());
            }
        }
        attempts.max_position
    } else {
        if let ErrorVariant::ParsingError { positives, .. } = &err.variant {
            expected.extend(
                positives
                    .iter()
                    .filter_map(|r| rule_name(*r))
                    .map(String::from),
            );
        }
        match err.location {
            InputLocation::Pos(p) | InputLocation::Span((p, _)) => p,
        }
    };
    // A one-character range such as `[..[` (a dispatch test) is that character.
    let single: Vec<String> = expected
        .iter()
        .filter(|t| t.len() == 6 && t.as_bytes()[1] == t.as_bytes()[4] && &t[2..4] == "..")
        .cloned()
        .collect();
    for t in single {
        expected.remove(&t);
        expected.insert(format!("`{}`", &t[1..2]));
    }
    // Whitespace and comments (with the first-character test of COMMENT).
    for noise in [
        "` `",
        "`\t..\r`",
        "`\t..#`",
        "`/`",
        "`#`",
        "`/*`",
        "`\u{feff}`",
    ] {
        expected.remove(noise);
    }
    // The first-character guard of `infix_op` stands for every operator, and
    // where an operator may follow, so may `.method` and `[index]`.
    let guard = [
        "`!`", "`%..&`", "`*..+`", "`-`", "`/`", "`<..>`", "`i`", "`|`",
    ];
    if expected.contains("`<..>`") {
        for token in guard.iter().chain(&["`.`", "`[`"]) {
            expected.remove(*token);
        }
        expected.insert("an operator".to_string());
    }
    // Where any expression may start, say so once rather than list its first tokens.
    if ["`$`", "`(`", "`[`"].iter().all(|t| expected.contains(*t)) {
        for token in EXPRESSION_STARTS
            .iter()
            .chain(&["`a`", "`_`", "`0..9`", "`a..z`"])
        {
            expected.remove(*token);
        }
        expected.insert("an expression".to_string());
    }
    // Character ranges say what kind of token was wanted.
    for (range, name) in [
        ("`a..z`", "a name"),
        ("`_`", "a name"),
        ("`0..9`", "a number"),
    ] {
        if expected.remove(range) {
            expected.insert(name.to_string());
        }
    }
    (pos, expected)
}

/// Names for the rules that appear as the deepest failed attempt.
fn rule_name(rule: Rule) -> Option<&'static str> {
    Some(match rule {
        Rule::expr | Rule::interp_expr => "an expression",
        Rule::type_expr | Rule::type_name => "a type",
        Rule::variable => "a variable",
        Rule::block | Rule::lambda_body => "`{`",
        Rule::call_args => "`(`",
        Rule::word | Rule::name | Rule::qname => "a name",
        Rule::number => "a number",
        _ => return None,
    })
}

struct Context<'a> {
    file: FileId,
    text: &'a str,
    trivia: &'a Trivia,
    pos: usize,
    expected: BTreeSet<String>,
}

impl Context<'_> {
    fn span(&self, start: usize, end: usize) -> Span {
        Span::new(self.file, start, end)
    }

    fn expects(&self, token: &str) -> bool {
        self.expected.contains(&format!("`{token}`"))
    }

    /// The token at the failure position: a word, a string, a symbol or EOF.
    fn found(&self) -> (String, Span) {
        let rest = &self.text[self.pos..];
        let Some(c) = rest.chars().next() else {
            return ("end of file".into(), self.span(self.pos, self.pos));
        };
        let len = if c.is_alphanumeric() || c == '_' || c == '$' {
            rest.char_indices()
                .skip(1)
                .find(|&(_, c)| !(c.is_alphanumeric() || c == '_'))
                .map_or(rest.len(), |(i, _)| i)
        } else {
            let two = rest.get(..2).unwrap_or("");
            if ["==", "!=", "=~", "!~", "<=", ">=", "=>", "&&", "||", "::"].contains(&two) {
                2
            } else {
                c.len_utf8()
            }
        };
        let word = &rest[..len];
        let shown = match c {
            '"' | '\'' => "a string".to_string(),
            _ => format!("`{word}`"),
        };
        (shown, self.span(self.pos, self.pos + len))
    }

    /// Where the previous token ends: skip back over whitespace and comments.
    fn previous_end(&self, mut pos: usize) -> usize {
        loop {
            let trimmed = self.text[..pos].trim_end();
            pos = trimmed.len();
            match self
                .trivia
                .comments
                .iter()
                .find(|&&(s, e)| s < pos && pos <= e)
            {
                Some(&(s, _)) => pos = s,
                None => return pos,
            }
        }
    }

    /// The word that ends at `end`, if any.
    fn word_before(&self, end: usize) -> Option<(&str, usize)> {
        let before = &self.text[..end];
        let start = before
            .char_indices()
            .rfind(|&(_, c)| !(c.is_ascii_alphanumeric() || c == '_'))
            .map_or(0, |(i, c)| i + c.len_utf8());
        (start < end).then(|| (&before[start..], start))
    }

    fn line_of(&self, pos: usize) -> usize {
        self.text[..pos].bytes().filter(|&b| b == b'\n').count()
    }

    fn special_case(&self) -> Option<Diagnostic> {
        let (found, found_span) = self.found();
        let prev_end = self.previous_end(self.pos);
        let around = Around {
            found,
            found_span,
            rest: &self.text[self.pos..],
            prev_end,
            prev: self.word_before(prev_end),
        };
        MISTAKES.iter().find_map(|rule| rule(self, &around))
    }

    /// True when the word at `start` is the first token of a statement.
    fn starts_statement(&self, start: usize) -> bool {
        let before = self.previous_end(start);
        before == 0 || self.text[..before].ends_with(['{', '}', ';'])
    }

    fn generic(&self) -> Diagnostic {
        let (found, span) = self.found();
        let mut items: Vec<String> = Vec::new();
        if self.expects("foreach") {
            items.push("a statement".into());
        }
        let after_operand = self.expected.contains("an operator");
        for e in &self.expected {
            let bare = e.trim_matches('`');
            let is_kw = self.expects("foreach")
                && (STATEMENT_KEYWORDS.contains(&bare) || e == "an expression");
            // After a complete operand, "an expression" only means "more of it".
            let is_noise = after_operand && e == "an expression";
            if !is_kw && !is_noise && !items.contains(e) && e != "an operator" {
                items.push(e.clone());
            }
        }
        if after_operand {
            items.push("an operator".into());
        }
        let list = match items.as_slice() {
            [] => "something else".to_string(),
            [one] => one.clone(),
            [init @ .., last] => format!("{} or {last}", init.join(", ")),
        };
        Diagnostic::error("syntax", span, format!("expected {list}, found {found}"))
            .with_label(format!("expected {list}"))
    }
}

/// What the rules look at besides the failure: the token found there, the
/// text after it, and the word before it.
struct Around<'a> {
    found: String,
    found_span: Span,
    rest: &'a str,
    /// Where the previous token ends.
    prev_end: usize,
    /// The word that ends there, and where it starts.
    prev: Option<(&'a str, usize)>,
}

/// A common mistake: a diagnostic with help when the failure is one.
type Mistake = fn(&Context, &Around) -> Option<Diagnostic>;

/// The common mistakes, tried in order; the first that matches explains
/// the failure, else the generic "expected ..." message does.
const MISTAKES: &[Mistake] = &[
    else_if,
    equals_for_arrow,
    colon_in_hash,
    untyped_parameter,
    spaced_duration,
    upper_case_variable,
    stray_semicolon,
    unknown_keyword,
    bare_word_value,
    missing_semicolon,
    after_last_plan,
];

/// `else if` instead of `elsif`.
fn else_if(cx: &Context, a: &Around) -> Option<Diagnostic> {
    if a.found == "`if`" && a.prev.is_some_and(|(w, _)| w == "else") {
        let (_, start) = a.prev.expect("checked");
        return Some(
            Diagnostic::error(
                "syntax",
                cx.span(start, a.found_span.end as usize),
                "`else if` is written `elsif`",
            )
            .with_label("use `elsif` here")
            .with_help("write `elsif condition { ... }`"),
        );
    }

    None
}

/// `name = value` in an argument list.
fn equals_for_arrow(cx: &Context, a: &Around) -> Option<Diagnostic> {
    if cx.expects("=>") && a.rest.starts_with('=') && !a.rest.starts_with("==") {
        return Some(
            Diagnostic::error(
                "syntax",
                cx.span(cx.pos, cx.pos + 1),
                "named arguments take `=>`, not `=`",
            )
            .with_label("expected `=>`")
            .with_help("write `name => value`"),
        );
    }

    None
}

/// `key: value` in a hash.
fn colon_in_hash(cx: &Context, a: &Around) -> Option<Diagnostic> {
    if cx.expects("=>") && a.rest.starts_with(':') && !a.rest.starts_with("::") {
        return Some(
            Diagnostic::error(
                "syntax",
                cx.span(cx.pos, cx.pos + 1),
                "hash entries take `=>`, not `:`",
            )
            .with_label("expected `=>`")
            .with_help("write `{ key => value }`"),
        );
    }

    None
}

/// A parameter without a type.
fn untyped_parameter(cx: &Context, a: &Around) -> Option<Diagnostic> {
    if cx.expected.contains("a type") && a.rest.starts_with('$') {
        return Some(
            Diagnostic::error(
                "syntax",
                a.found_span,
                format!("parameter {} has no type", a.found),
            )
            .with_label("expected a type before the name")
            .with_help(format!(
                "declare one, e.g. `Any {0}` or `String {0}`",
                &a.found[1..a.found.len() - 1]
            )),
        );
    }

    None
}

/// `5 m`: a duration written with a space.
fn spaced_duration(cx: &Context, a: &Around) -> Option<Diagnostic> {
    if let Some(unit) = UNITS
        .iter()
        .map(|(u, _)| *u)
        .find(|u| a.found == format!("`{u}`"))
        && let Some((digits, start)) = a.prev
        && digits.bytes().all(|b| b.is_ascii_digit())
        && a.prev_end < cx.pos
    {
        return Some(
            Diagnostic::error(
                "bad-duration",
                cx.span(start, a.found_span.end as usize),
                "a duration is written without a space",
            )
            .with_label(format!("write `{digits}{unit}`"))
            .with_help("durations are a number directly followed by ms, s, m, h or d"),
        );
    }

    None
}

/// `$Count`: variable names are lower case.
fn upper_case_variable(cx: &Context, a: &Around) -> Option<Diagnostic> {
    if cx.text[..cx.pos].ends_with('$') && a.rest.starts_with(|c: char| c.is_ascii_uppercase()) {
        let word = &a.found[1..a.found.len() - 1];
        return Some(
            Diagnostic::error(
                "syntax",
                a.found_span,
                "variable names start with a lower-case letter or `_`",
            )
            .with_label("upper-case letter")
            .with_help(format!("write `${}`", word.to_lowercase())),
        );
    }

    None
}

/// A `;` where a statement should start, usually after a block.
fn stray_semicolon(cx: &Context, a: &Around) -> Option<Diagnostic> {
    if a.found == "`;`" && cx.expects("foreach") {
        let help = if cx.text[..a.prev_end].ends_with('}') {
            "block statements (`if`, `foreach`, `with`, `try`, `async { }`) do not end with `;`"
        } else {
            "remove the extra `;`"
        };
        return Some(
            Diagnostic::error("syntax", a.found_span, "unexpected `;`")
                .with_label("expected a statement")
                .with_help(help),
        );
    }

    None
}

/// A bare word where a statement starts: an unknown keyword.
fn unknown_keyword(cx: &Context, a: &Around) -> Option<Diagnostic> {
    if cx.expects("(")
        && let Some((word, start)) = a.prev
        && start < a.prev_end
        && !cx.text[..start].ends_with([':', '.', '$'])
        && cx.starts_statement(start)
    {
        let word_span = cx.span(start, a.prev_end);
        if let Some(parent) = match word {
            "elsif" | "else" => Some("an `if` or `unless` block"),
            "catch" | "finally" => Some("a `try` block"),
            _ => None,
        } {
            return Some(
                Diagnostic::error("syntax", word_span, format!("`{word}` without {parent}"))
                    .with_label(format!("`{word}` must directly follow {parent}"))
                    .with_help("check the braces above: the block may have been closed early"),
            );
        }
        let suggestion = did_you_mean(word, STATEMENT_KEYWORDS);
        return Some(match suggestion {
            Some(s) => Diagnostic::error(
                "unknown-keyword",
                word_span,
                format!("unknown keyword `{word}`"),
            )
            .with_label("not a keyword")
            .with_help(format!("did you mean `{s}`?")),
            None => Diagnostic::error(
                "syntax",
                word_span,
                format!("expected a statement, found `{word}`"),
            )
            .with_label("not a keyword or a call")
            .with_help(format!("a function call needs parentheses: `{word}(...)`")),
        });
    }

    None
}

/// A bare word where a value belongs.
fn bare_word_value(cx: &Context, a: &Around) -> Option<Diagnostic> {
    if cx.expects("(")
        && let Some((word, start)) = a.prev
        && start < a.prev_end
        && !cx.text[..start].ends_with([':', '.', '$'])
        && !word.starts_with(|c: char| c.is_ascii_digit())
        && !cx.expects(";")
    {
        return Some(
            Diagnostic::error(
                "syntax",
                cx.span(start, a.prev_end),
                format!("bare word `{word}` is not a value"),
            )
            .with_label("expected a value")
            .with_help(format!(
                "quote it as a string (`\"{word}\"`), or call a function: `{word}(...)`"
            )),
        );
    }

    None
}

/// A missing `;` at the end of a line: point where it belongs.
fn missing_semicolon(cx: &Context, a: &Around) -> Option<Diagnostic> {
    if cx.expects(";") && cx.line_of(a.prev_end) < cx.line_of(cx.pos) {
        return Some(
            Diagnostic::error("syntax", cx.span(a.prev_end, a.prev_end), "missing `;`")
                .with_label("expected `;` here")
                .with_help("end the statement with `;`"),
        );
    }

    None
}

/// Something after the last plan.
fn after_last_plan(cx: &Context, a: &Around) -> Option<Diagnostic> {
    if cx.expects("plan") && cx.expects("test") && cx.expected.len() == 2 {
        return Some(
            Diagnostic::error(
                "syntax",
                a.found_span,
                format!(
                    "expected `plan`, `test` or the end of the file, found {}",
                    a.found
                ),
            )
            .with_label("unexpected here")
            .with_help(
                "only `plan` definitions, `test` blocks and comments may stand outside a plan",
            ),
        );
    }
    None
}
