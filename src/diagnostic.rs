//! Diagnostics: what every stage reports about source text, rendered with
//! miette for people and as JSON for tools.

use std::borrow::Cow;
use std::fmt;

use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource, SourceCode};
use serde_json::json;

use crate::source::{SourceMap, Span};

/// Whether to colour what goes to stderr: on a terminal, unless `NO_COLOR`.
pub(crate) fn use_color() -> bool {
    use std::io::IsTerminal;
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// How serious a diagnostic is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Stops the plan from running.
    Error,
    /// Worth a look; does not stop anything.
    Warning,
}

impl Severity {
    /// Lower-case name, as used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// A message attached to a span.
#[derive(Clone, Debug, PartialEq)]
pub struct Label {
    /// Where.
    pub span: Span,
    /// What to say there (may be empty).
    pub message: String,
}

/// One finding about a source file, with its location.
#[derive(Clone, Debug, PartialEq)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// Stable kebab-case code, e.g. `undefined-variable`; for a runtime
    /// error, its kind (`drover/timeout`).
    pub code: Cow<'static, str>,
    /// One-line summary.
    pub message: String,
    /// The main location; its start is the reported line and column.
    pub primary: Label,
    /// Further locations (the opening of an unclosed brace, a first definition).
    pub secondary: Vec<Label>,
    /// A hint on how to fix it.
    pub help: Option<String>,
}

impl Diagnostic {
    /// An error at `span`.
    pub(crate) fn error(code: &'static str, span: Span, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            code: Cow::Borrowed(code),
            message: message.into(),
            primary: Label {
                span,
                message: String::new(),
            },
            secondary: Vec::new(),
            help: None,
        }
    }

    /// A warning at `span`.
    pub(crate) fn warning(code: &'static str, span: Span, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Self::error(code, span, message)
        }
    }

    /// A runtime error of kind `kind` raised at `span`, to be rendered like a
    /// check diagnostic in a run's report.
    pub(crate) fn runtime(kind: &str, span: Span, message: impl Into<String>) -> Self {
        Diagnostic {
            code: Cow::Owned(kind.to_string()),
            ..Self::error("", span, message)
        }
    }

    /// Set the text of the primary label.
    pub(crate) fn with_label(mut self, message: impl Into<String>) -> Self {
        self.primary.message = message.into();
        self
    }

    /// Add a secondary label.
    pub(crate) fn with_secondary(mut self, span: Span, message: impl Into<String>) -> Self {
        self.secondary.push(Label {
            span,
            message: message.into(),
        });
        self
    }

    /// Set the help line.
    pub(crate) fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Set the help line if there is one.
    pub(crate) fn with_help_opt(mut self, help: Option<String>) -> Self {
        if help.is_some() {
            self.help = help;
        }
        self
    }

    /// True for errors.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// Render for a person: source snippet, carets, labels and help.
    pub fn render(&self, sources: &SourceMap, color: bool, width: usize) -> String {
        let file = sources.get(self.primary.span.file);
        let report = Report {
            diag: self,
            source: NamedSource::new(&file.name, file.text.clone()),
        };
        let theme = if color {
            GraphicalTheme::unicode()
        } else {
            GraphicalTheme::unicode_nocolor()
        };
        let mut out = String::new();
        let handler = GraphicalReportHandler::new_themed(theme)
            .with_width(width)
            .with_links(false);
        if handler.render_report(&mut out, &report).is_err() {
            // Rendering only fails on a broken span; never lose the message.
            let (line, col) = file.line_col(self.primary.span.start);
            out = format!("{}:{line}:{col}: {}\n", file.name, self.message);
        }
        out
    }

    /// The diagnostic as a JSON object (file, line, column, severity, code, message, ...).
    pub(crate) fn to_json(&self, sources: &SourceMap) -> serde_json::Value {
        let label = |l: &Label| {
            let file = sources.get(l.span.file);
            let (line, column) = file.line_col(l.span.start);
            let (end_line, end_column) = file.line_col(l.span.end);
            json!({
                "file": file.name, "line": line, "column": column,
                "end_line": end_line, "end_column": end_column, "message": l.message,
            })
        };
        let primary = label(&self.primary);
        json!({
            "file": primary["file"],
            "line": primary["line"],
            "column": primary["column"],
            "end_line": primary["end_line"],
            "end_column": primary["end_column"],
            "severity": self.severity.as_str(),
            "code": self.code,
            "message": self.message,
            "label": self.primary.message,
            "help": self.help,
            "related": self.secondary.iter().map(label).collect::<Vec<_>>(),
        })
    }
}

/// The adapter miette renders.
struct Report<'a> {
    diag: &'a Diagnostic,
    source: NamedSource<String>,
}

impl fmt::Debug for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.diag.message)
    }
}

impl fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.diag.message)
    }
}

impl std::error::Error for Report<'_> {}

impl miette::Diagnostic for Report<'_> {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.diag.code.as_ref()))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.diag.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        })
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.diag
            .help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        Some(&self.source)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let labeled = |l: &Label, primary: bool| {
            let text = (!l.message.is_empty()).then(|| l.message.clone());
            let span = (l.span.start as usize, l.span.len());
            if primary {
                LabeledSpan::new_primary_with_span(text, span)
            } else {
                LabeledSpan::new_with_span(text, span)
            }
        };
        let labels = std::iter::once(labeled(&self.diag.primary, true))
            .chain(self.diag.secondary.iter().map(move |l| labeled(l, false)));
        Some(Box::new(labels))
    }
}

/// The candidate closest to `word`, if it is close enough to be a likely typo.
pub(crate) fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .filter(|c| *c != word)
        .map(|c| (strsim::damerau_levenshtein(word, c), c))
        .filter(|&(d, _)| d <= limit)
        .min_by_key(|&(d, c)| (d, c.len()))
        .map(|(_, c)| c)
}

/// Sort diagnostics by file and position, errors first on ties.
pub(crate) fn sort(diags: &mut [Diagnostic]) {
    diags.sort_by_key(|d| (d.primary.span.file, d.primary.span.start, d.severity));
}
