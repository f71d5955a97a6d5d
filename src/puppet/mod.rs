//! The second front end: Bolt's plans written in the Puppet language
//! (`plans/*.pp`), read into drover's AST ([`crate::syntax::ast`]) so that
//! checking, running, dry runs and plan tests work on them as on drover's
//! own. `lexer` makes tokens, `parser` the AST; what Puppet means where it
//! differs from drover is the evaluator's business.

mod lexer;
mod parser;

use crate::source::{FileId, SourceMap};
use crate::syntax::parser::Parsed;

/// Whether a file is a Puppet-language plan, by its name.
pub fn is_puppet(name: &str) -> bool {
    name.ends_with(".pp")
}

/// Parse `text` as a standalone Puppet-language file named `name` (tests
/// and tools).
pub fn parse_str(name: &str, text: &str) -> (SourceMap, Parsed) {
    let mut sources = SourceMap::new();
    let id = sources.add(name, text);
    let parsed = parse(&sources, id);
    (sources, parsed)
}

/// Parse the Puppet-language file `id` of `sources`.
pub(crate) fn parse(sources: &SourceMap, id: FileId) -> Parsed {
    match parser::parse(id, &sources.get(id).text) {
        Ok(file) => Parsed {
            file: Some(file),
            diagnostics: Vec::new(),
        },
        Err(d) => Parsed {
            file: None,
            diagnostics: vec![*d],
        },
    }
}
