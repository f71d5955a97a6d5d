//! Tokens of the Puppet language as Bolt plans use it. Double-quoted
//! strings and heredocs keep their raw text: the parser splits their
//! interpolations, so that `${...}` holds any expression. A `/` starts a
//! regular expression where a value is expected, and divides elsewhere.

use crate::diagnostic::Diagnostic;
use crate::source::{FileId, Span};

/// One token.
#[derive(Clone, Debug, PartialEq)]
pub enum Tok {
    /// `$name`, `$::name`, `$_`, `$0`.
    Var(String),
    /// A bare word, qualified or not: `run_task`, `facts::info`, `os`.
    Name(String),
    /// A capitalized word: `Integer`, `ResultSet`, `Optional`.
    Type(String),
    Int(i64),
    Float(f64),
    /// `'...'`, its escapes resolved.
    SqStr(String),
    /// `"..."` raw (escapes and interpolation left to the parser), and the
    /// byte offset of its text.
    DqStr(String, usize),
    /// A heredoc's text (raw when it interpolates), whether it does, and
    /// the byte offset of its text.
    Heredoc(String, bool, usize),
    /// `/.../`, its text.
    Regex(String),
    /// Punctuation and operators, as written.
    Punct(&'static str),
    Eof,
}

/// A token and where it is.
#[derive(Clone, Debug)]
pub struct Token {
    pub tok: Tok,
    pub span: Span,
}

const PUNCTS: &[&str] = &[
    "=>", "==", "!=", "=~", "!~", ">=", "<=", "<<", ">>", "+>", "->", "~>", "<-", "<~", "::", "(",
    ")", "[", "]", "{", "}", ",", ";", ":", ".", "|", "=", ">", "<", "+", "-", "*", "/", "%", "!",
    "?", "@",
];

/// Whether a `/` after this token divides (else it starts a regular
/// expression). After `}` it starts one: a `case` arm follows a block, and
/// nothing divides a hash.
fn value_ended(prev: Option<&Tok>) -> bool {
    matches!(
        prev,
        Some(
            Tok::Var(_)
                | Tok::Name(_)
                | Tok::Type(_)
                | Tok::Int(_)
                | Tok::Float(_)
                | Tok::SqStr(_)
                | Tok::DqStr(..)
                | Tok::Heredoc(..)
                | Tok::Regex(_)
                | Tok::Punct(")" | "]")
        )
    )
}

/// The tokens of `text`, or the first lexical error.
pub fn lex(file: FileId, text: &str) -> Result<Vec<Token>, Box<Diagnostic>> {
    let bytes = text.as_bytes();
    let mut out: Vec<Token> = Vec::new();
    let mut i = 0;
    // Heredoc bodies start on the line after their tag: where that line is.
    let mut pending_heredocs: Vec<(usize, String, bool)> = Vec::new();
    let err = |at: usize, end: usize, msg: &str| {
        Box::new(Diagnostic::error(
            "syntax",
            Span::new(file, at, end.max(at + 1)),
            msg,
        ))
    };
    while i < bytes.len() {
        let c = bytes[i];
        if c == b'\n' && !pending_heredocs.is_empty() {
            // Read each pending heredoc's body, in order.
            let mut at = i + 1;
            for (index, tag, _) in std::mem::take(&mut pending_heredocs) {
                let tag_span = out[index].span;
                let (body, next) = heredoc_body(text, at, &tag).ok_or_else(|| {
                    err(
                        tag_span.start as usize,
                        tag_span.end as usize,
                        &format!("the heredoc has no end tag `{tag}`"),
                    )
                })?;
                if let Tok::Heredoc(b, _, offset) = &mut out[index].tok {
                    *b = body;
                    *offset = at;
                }
                at = next;
            }
            i = at;
            continue;
        }
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if c == b'#' {
            while i < bytes.len() && bytes[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        if text[i..].starts_with("/*") {
            let end = text[i + 2..]
                .find("*/")
                .ok_or_else(|| err(i, i + 2, "the comment `/*` is not closed"))?;
            i += end + 4;
            continue;
        }
        let start = i;
        let tok = match c {
            b'$' => {
                i += 1;
                let name_start = i;
                if text[i..].starts_with("::") {
                    i += 2;
                }
                while i < bytes.len()
                    && (bytes[i].is_ascii_alphanumeric()
                        || bytes[i] == b'_'
                        || (text[i..].starts_with("::")
                            && bytes.get(i + 2).is_some_and(|b| b.is_ascii_alphabetic())))
                {
                    i += if bytes[i] == b':' { 2 } else { 1 };
                }
                if i == name_start {
                    return Err(err(start, i, "`$` needs a variable name"));
                }
                Tok::Var(text[name_start..i].trim_start_matches("::").to_string())
            }
            b'\'' => {
                i += 1;
                let mut s = String::new();
                loop {
                    match bytes.get(i) {
                        None => return Err(err(start, i, "the string is not closed")),
                        Some(b'\'') => {
                            i += 1;
                            break;
                        }
                        Some(b'\\') if matches!(bytes.get(i + 1), Some(b'\'' | b'\\')) => {
                            s.push(bytes[i + 1] as char);
                            i += 2;
                        }
                        Some(_) => {
                            let ch = text[i..].chars().next().unwrap_or('\u{FFFD}');
                            s.push(ch);
                            i += ch.len_utf8();
                        }
                    }
                }
                Tok::SqStr(s)
            }
            b'"' => {
                i += 1;
                let body = i;
                loop {
                    match bytes.get(i) {
                        None => return Err(err(start, i, "the string is not closed")),
                        Some(b'"') => break,
                        Some(b'\\') => i += 2,
                        Some(_) => i += 1,
                    }
                }
                i += 1;
                Tok::DqStr(text[body..i - 1].to_string(), body)
            }
            b'@' if matches!(bytes.get(i + 1), Some(b'(')) => {
                // @(TAG), @("TAG"), @(TAG:syntax/flags)
                let close = text[i..]
                    .find(')')
                    .filter(|c| !text[i..i + c].contains('\n'))
                    .ok_or_else(|| err(i, i + 2, "a heredoc tag ends with `)`"))?;
                let spec = &text[i + 2..i + close];
                let spec = spec.split([':', '/']).next().unwrap_or("").trim();
                let (tag, interpolates) =
                    match spec.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
                        Some(t) => (t.to_string(), true),
                        None => (spec.to_string(), false),
                    };
                if tag.is_empty() {
                    return Err(err(i, i + close + 1, "the heredoc needs a tag"));
                }
                i += close + 1;
                pending_heredocs.push((out.len(), tag, interpolates));
                Tok::Heredoc(String::new(), interpolates, 0)
            }
            b'/' if !value_ended(out.last().map(|t| &t.tok)) && !text[i..].starts_with("/*") => {
                i += 1;
                let body = i;
                loop {
                    match bytes.get(i) {
                        None | Some(b'\n') => {
                            return Err(err(start, i, "the regular expression is not closed"));
                        }
                        Some(b'/') => break,
                        Some(b'\\') => i += 2,
                        Some(_) => i += 1,
                    }
                }
                i += 1;
                Tok::Regex(text[body..i - 1].replace("\\/", "/"))
            }
            b'0'..=b'9' => {
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                    i += 1;
                }
                let mut float = false;
                if bytes.get(i) == Some(&b'.') && bytes.get(i + 1).is_some_and(u8::is_ascii_digit) {
                    float = true;
                    i += 1;
                    while i < bytes.len()
                        && (bytes[i].is_ascii_alphanumeric()
                            || bytes[i] == b'-' && matches!(bytes[i - 1], b'e' | b'E'))
                    {
                        i += 1;
                    }
                }
                let lit = &text[start..i];
                if float || (lit.contains(['e', 'E']) && !lit.starts_with("0x")) {
                    Tok::Float(
                        lit.parse()
                            .map_err(|_| err(start, i, &format!("`{lit}` is not a number")))?,
                    )
                } else if let Some(hex) = lit.strip_prefix("0x").or_else(|| lit.strip_prefix("0X"))
                {
                    Tok::Int(
                        i64::from_str_radix(hex, 16)
                            .map_err(|_| err(start, i, &format!("`{lit}` is not a number")))?,
                    )
                } else if lit.len() > 1 && lit.starts_with('0') {
                    Tok::Int(
                        i64::from_str_radix(&lit[1..], 8).map_err(|_| {
                            err(start, i, &format!("`{lit}` is not an octal number"))
                        })?,
                    )
                } else {
                    Tok::Int(lit.parse().map_err(|_| {
                        err(
                            start,
                            i,
                            &format!("`{lit}` is not an integer (or it is too large)"),
                        )
                    })?)
                }
            }
            c if c.is_ascii_alphabetic()
                || c == b'_'
                || (c == b':'
                    && text[i..].starts_with("::")
                    && bytes.get(i + 2).is_some_and(u8::is_ascii_alphabetic)) =>
            {
                if c == b':' {
                    i += 2;
                }
                loop {
                    while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_')
                    {
                        i += 1;
                    }
                    if text[i..].starts_with("::")
                        && bytes
                            .get(i + 2)
                            .is_some_and(|b| b.is_ascii_alphabetic() || *b == b'_')
                    {
                        i += 2;
                        continue;
                    }
                    break;
                }
                let word = text[start..i].trim_start_matches("::");
                if word.as_bytes()[0].is_ascii_uppercase() {
                    Tok::Type(word.to_string())
                } else {
                    Tok::Name(word.to_string())
                }
            }
            _ => {
                let Some(p) = PUNCTS.iter().find(|p| text[i..].starts_with(**p)) else {
                    let ch = text[i..].chars().next().unwrap_or('?');
                    return Err(err(
                        i,
                        i + ch.len_utf8(),
                        &format!("unexpected character `{ch}`"),
                    ));
                };
                i += p.len();
                Tok::Punct(p)
            }
        };
        out.push(Token {
            tok,
            span: Span::new(file, start, i),
        });
    }
    if let Some((index, tag, _)) = pending_heredocs.first() {
        return Err(err(
            out[*index].span.start as usize,
            out[*index].span.end as usize,
            &format!("the heredoc has no end tag `{tag}`"),
        ));
    }
    out.push(Token {
        tok: Tok::Eof,
        span: Span::new(file, text.len(), text.len()),
    });
    Ok(out)
}

/// The body of a heredoc starting at `at` up to its end tag line
/// (`|- TAG`, `| TAG`, `- TAG` or `TAG`, indented or not): the text with the
/// end tag's indentation removed, and where the line after the tag starts.
fn heredoc_body(text: &str, at: usize, tag: &str) -> Option<(String, usize)> {
    let mut lines = Vec::new();
    let mut pos = at;
    while pos <= text.len() {
        let end = text[pos..].find('\n').map_or(text.len(), |n| pos + n);
        let line = &text[pos..end];
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        let (margin, rest) = match trimmed.strip_prefix('|') {
            Some(r) => (Some(indent), r.trim_start()),
            None => (None, trimmed),
        };
        let (chomp, rest) = match rest.strip_prefix('-') {
            Some(r) => (true, r.trim_start()),
            None => (false, rest),
        };
        if rest.trim_end() == tag {
            let margin = margin.unwrap_or(0);
            let mut body: String = lines
                .iter()
                .map(|l: &&str| {
                    let cut = l.len() - l.trim_start().len();
                    &l[cut.min(margin)..]
                })
                .collect::<Vec<_>>()
                .join("\n");
            if !chomp && !lines.is_empty() {
                body.push('\n');
            }
            return Some((body, (end + 1).min(text.len())));
        }
        lines.push(line);
        if end == text.len() {
            return None;
        }
        pos = end + 1;
    }
    None
}
