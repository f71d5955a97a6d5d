//! The expectation headers of test inputs, one parser for all of them.
//! A header is the leading `#` lines of a file:
//!
//! - `# expect: success <JSON value>`: the plan succeeds with this value;
//! - `# expect: failure <error kind> at <line>:<column>`: it fails there;
//! - `# expect: rejected <code> at <line>:<column>`: `drover check` stops it;
//! - `# expect: error|warning <code> at <line>:<column>`: that diagnostic;
//! - `# args: ...`: more command-line arguments;
//! - `# secret: <text>`: text that must appear in no byte of the output.

use serde_json::Value;

/// What a test input expects.
#[derive(Debug)]
pub enum Outcome {
    /// The plan succeeds with this value.
    Success(Value),
    /// The plan fails with this error kind, raised at `at` (`L:C`).
    Failure { kind: String, at: String },
    /// `drover check` rejects it with this code at `at`.
    Rejected { code: String, at: String },
    /// This diagnostic, at `at`.
    Diagnostic {
        severity: String,
        code: String,
        at: String,
    },
}

/// A test input's header.
#[derive(Debug)]
pub struct Header {
    pub outcome: Outcome,
    pub args: Vec<String>,
    pub secret: Option<String>,
}

/// `CODE at L:C`.
fn code_at(rest: &str) -> Result<(String, String), String> {
    let (code, at) = rest
        .split_once(" at ")
        .ok_or_else(|| format!("`{rest}` is not `CODE at LINE:COLUMN`"))?;
    Ok((code.to_string(), at.to_string()))
}

/// The header of `text`.
pub fn parse(text: &str) -> Result<Header, String> {
    let mut outcome = None;
    let mut args = Vec::new();
    let mut secret = None;
    for line in text.lines().take_while(|l| l.starts_with('#')) {
        if let Some(rest) = line.strip_prefix("# expect: ") {
            let (word, rest) = rest.split_once(' ').unwrap_or((rest, ""));
            outcome = Some(match word {
                "success" => Outcome::Success(
                    serde_json::from_str(rest).map_err(|e| format!("bad JSON in header: {e}"))?,
                ),
                "failure" => {
                    let (kind, at) = code_at(rest)?;
                    Outcome::Failure { kind, at }
                }
                "rejected" => {
                    let (code, at) = code_at(rest)?;
                    Outcome::Rejected { code, at }
                }
                "error" | "warning" => {
                    let (code, at) = code_at(rest)?;
                    Outcome::Diagnostic {
                        severity: word.to_string(),
                        code,
                        at,
                    }
                }
                other => return Err(format!("unknown expectation `{other}`")),
            });
        } else if let Some(rest) = line.strip_prefix("# args: ") {
            args = rest.split_whitespace().map(String::from).collect();
        } else if let Some(rest) = line.strip_prefix("# secret: ") {
            secret = Some(rest.to_string());
        }
    }
    Ok(Header {
        outcome: outcome.ok_or("no `# expect:` header")?,
        args,
        secret,
    })
}
