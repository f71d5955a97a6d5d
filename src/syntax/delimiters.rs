//! A scan of brackets, strings and comments that runs before the grammar.
//!
//! A PEG parser reports an unclosed string or brace where it gives up, often
//! the end of the file; this scan names the opening instead, with a label at
//! both ends. It also bounds nesting depth, so that no later recursive stage
//! (builder, checker, printer, evaluator) can overflow the stack.

use crate::diagnostic::Diagnostic;
use crate::source::{FileId, Span};

/// Deepest nesting of brackets, blocks and strings a plan may use.
pub const MAX_NESTING: usize = 100;

/// What the scan learnt that later diagnostics use.
#[derive(Debug, Default)]
pub(crate) struct Trivia {
    /// Byte ranges of comments, in order.
    pub comments: Vec<(usize, usize)>,
}

enum Frame {
    Open { ch: u8, pos: usize },
    Interp { pos: usize },
    Str { pos: usize },
}

/// Check delimiters, strings and comments of `text`.
pub(crate) fn scan(file: FileId, text: &str) -> Result<Trivia, Box<Diagnostic>> {
    let bytes = text.as_bytes();
    let span = |a: usize, b: usize| Span::new(file, a, b);
    // Labels for "the file ends here" go after the last visible character.
    let eof = text.trim_end().len();
    let mut trivia = Trivia::default();
    let mut stack: Vec<Frame> = Vec::new();
    // Every string literal seen, as (start, end); used to spot a missing quote.
    let mut strings: Vec<(usize, usize)> = Vec::new();
    // Matched `{ }` pairs, for the indentation heuristic.
    let mut braces: Vec<(usize, usize)> = Vec::new();
    let mut i = 0;

    let too_deep = |pos: usize| {
        Diagnostic::error(
            "nesting-too-deep",
            span(pos, pos + 1),
            format!("nesting is deeper than {MAX_NESTING} levels"),
        )
        .with_label("this opens one level too many")
        .with_help("split the plan into smaller plans or use intermediate variables")
    };

    while i < bytes.len() {
        let b = bytes[i];
        if let Some(Frame::Str { pos }) = stack.last() {
            let start = *pos;
            match b {
                b'\\' => i += 1,
                b'"' => {
                    stack.pop();
                    strings.push((start, i + 1));
                }
                b'$' if bytes.get(i + 1) == Some(&b'{') => {
                    stack.push(Frame::Interp { pos: i });
                    if stack.len() > MAX_NESTING {
                        return Err(Box::new(too_deep(i)));
                    }
                    i += 1;
                }
                _ => {}
            }
            i += 1;
            continue;
        }
        match b {
            b'#' => {
                let end = text[i..].find('\n').map_or(bytes.len(), |n| i + n);
                trivia.comments.push((i, end));
                i = end;
                continue;
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                let Some(n) = text[i + 2..].find("*/") else {
                    return Err(Box::new(
                        Diagnostic::error(
                            "unclosed-comment",
                            span(i, i + 2),
                            "unclosed block comment",
                        )
                        .with_label("this comment is never closed")
                        .with_secondary(span(eof, eof), "the file ends here")
                        .with_help("close the comment with `*/`"),
                    ));
                };
                let end = i + 2 + n + 2;
                trivia.comments.push((i, end));
                i = end;
                continue;
            }
            b'"' => {
                stack.push(Frame::Str { pos: i });
                if stack.len() > MAX_NESTING {
                    return Err(Box::new(too_deep(i)));
                }
            }
            b'\'' => {
                let mut j = i + 1;
                while j < bytes.len() && bytes[j] != b'\'' {
                    j += if bytes[j] == b'\\' { 2 } else { 1 };
                }
                if j >= bytes.len() {
                    let at = suspicious_string(text, &strings).unwrap_or(i);
                    return Err(Box::new(unclosed_string(file, text, at)));
                }
                strings.push((i, j + 1));
                i = j;
            }
            b'(' | b'[' | b'{' => {
                stack.push(Frame::Open { ch: b, pos: i });
                if stack.len() > MAX_NESTING {
                    return Err(Box::new(too_deep(i)));
                }
            }
            b')' | b']' | b'}' => match stack.pop() {
                Some(Frame::Open { ch, pos }) if closer(ch) == b => {
                    if b == b'}' {
                        braces.push((pos, i));
                    }
                }
                Some(Frame::Interp { .. }) if b == b'}' => {}
                Some(Frame::Open { ch, pos }) => {
                    if let Some(at) = suspicious_string(text, &strings) {
                        return Err(Box::new(unclosed_string(file, text, at)));
                    }
                    return Err(Box::new(mismatched(file, text, ch, pos, i)));
                }
                Some(Frame::Interp { pos }) => {
                    return Err(Box::new(mismatched(file, text, b'{', pos + 1, i)));
                }
                Some(Frame::Str { .. }) => unreachable!("strings are handled above"),
                None => {
                    if let Some(at) = suspicious_string(text, &strings) {
                        return Err(Box::new(unclosed_string(file, text, at)));
                    }
                    return Err(Box::new(
                        Diagnostic::error(
                            "unexpected-delimiter",
                            span(i, i + 1),
                            format!("unexpected closing `{}`", b as char),
                        )
                        .with_label("nothing is open here")
                        .with_help("remove it, or look for a missing opening bracket above"),
                    ));
                }
            },
            _ => {}
        }
        i += 1;
    }

    match stack.last() {
        None => Ok(trivia),
        Some(Frame::Str { pos }) => {
            let at = suspicious_string(text, &strings).unwrap_or(*pos);
            Err(Box::new(unclosed_string(file, text, at)))
        }
        Some(_) => {
            if let Some(at) = suspicious_string(text, &strings) {
                return Err(Box::new(unclosed_string(file, text, at)));
            }
            let (ch, pos) = match stack.last() {
                Some(Frame::Open { ch, pos }) => (*ch, *pos),
                Some(Frame::Interp { pos }) => (b'{', pos + 1),
                _ => unreachable!(),
            };
            // A `{` whose `}` is indented differently probably lost its own
            // `}` and borrowed a later one: name it rather than the outer one.
            let (ch, pos) = braces
                .iter()
                .find(|&&(open, close)| {
                    line_of(text, open) != line_of(text, close)
                        && indent_of(text, open) != indent_of(text, close)
                })
                .map_or((ch, pos), |&(open, _)| (b'{', open));
            Err(Box::new(
                Diagnostic::error(
                    "unclosed-delimiter",
                    span(pos, pos + 1),
                    format!("unclosed `{}`", ch as char),
                )
                .with_label("this is never closed")
                .with_secondary(
                    span(eof, eof),
                    format!("the file ends here without its `{}`", closer(ch) as char),
                )
                .with_help(format!("add the missing `{}`", closer(ch) as char)),
            ))
        }
    }
}

fn closer(open: u8) -> u8 {
    match open {
        b'(' => b')',
        b'[' => b']',
        _ => b'}',
    }
}

fn line_of(text: &str, pos: usize) -> usize {
    text[..pos].bytes().filter(|&b| b == b'\n').count()
}

fn indent_of(text: &str, pos: usize) -> usize {
    let line_start = text[..pos].rfind('\n').map_or(0, |n| n + 1);
    text[line_start..]
        .bytes()
        .take_while(|&b| b == b' ' || b == b'\t')
        .count()
}

/// The first string literal that runs over a line end right after something
/// that looks like the end of a statement: most likely its quote is missing.
fn suspicious_string(text: &str, strings: &[(usize, usize)]) -> Option<usize> {
    strings.iter().find_map(|&(start, end)| {
        let body = &text[start + 1..end.saturating_sub(1).max(start + 1)];
        let first_line = body.split('\n').next()?;
        let looks_like_code = first_line.trim_end().ends_with([';', ')', '{', ',', '(']);
        (body.contains('\n') && looks_like_code).then_some(start)
    })
}

fn unclosed_string(file: FileId, text: &str, at: usize) -> Diagnostic {
    let line_end = text[at..].find('\n').map_or(text.len(), |n| at + n);
    Diagnostic::error(
        "unclosed-string",
        Span::new(file, at, at + 1),
        "unclosed string",
    )
    .with_label("this string is never closed")
    .with_secondary(
        Span::new(file, line_end, line_end),
        "the closing quote is probably missing here",
    )
    .with_help(format!("end the string with `{}`", &text[at..at + 1]))
}

fn mismatched(file: FileId, text: &str, open: u8, open_pos: usize, close_pos: usize) -> Diagnostic {
    let close = text.as_bytes()[close_pos] as char;
    let expected = closer(open) as char;
    let open_span = Span::new(file, open_pos, open_pos + 1);
    let close_span = Span::new(file, close_pos, close_pos + 1);
    if line_of(text, open_pos) != line_of(text, close_pos) {
        // Across lines the opening most likely lost its closer.
        Diagnostic::error(
            "unclosed-delimiter",
            open_span,
            format!("unclosed `{}`", open as char),
        )
        .with_label("this is never closed")
        .with_secondary(
            close_span,
            format!("`{close}` found before the `{expected}`"),
        )
        .with_help(format!("add the missing `{expected}`"))
    } else {
        Diagnostic::error(
            "mismatched-delimiter",
            close_span,
            format!("mismatched closing `{close}`"),
        )
        .with_label(format!("expected `{expected}`"))
        .with_secondary(open_span, "to close this")
    }
}
