//! drover: an interpreter for a plan language that orchestrates fleets of servers.
//!
//! The front end is [`parser`] (grammar and AST builder, with [`delimiters`]
//! and [`syntax_error`] for precise messages), [`ast`], [`check`] for the
//! name-level checks and [`diagnostic`] for reporting.

// pest_derive without "std" names `alloc::` paths.
extern crate alloc;

pub mod actions;
pub mod ast;
pub mod builtins;
pub mod check;
pub mod cli;
pub mod delimiters;
pub mod diagnostic;
pub mod eval;
pub mod history;
pub mod inventory;
pub mod parser;
pub mod pools;
pub mod pretty;
pub mod project;
pub mod run;
pub mod sim;
pub mod source;
pub mod ssh;
pub mod syntax_error;
pub mod tasks;
pub mod transport;
pub mod types;
pub mod value;

use diagnostic::Diagnostic;
use source::SourceMap;

/// Parse and check every file of `sources` together (plan names are global).
/// Returns the ASTs of the files that parsed and every diagnostic, sorted by
/// position.
pub fn check_sources(sources: &SourceMap) -> (Vec<ast::File>, Vec<Diagnostic>) {
    check_sources_with(sources, None)
}

/// [`check_sources`], with `run_task` calls checked against the tasks'
/// metadata when a catalog is given.
pub fn check_sources_with(
    sources: &SourceMap,
    tasks: Option<&tasks::Catalog>,
) -> (Vec<ast::File>, Vec<Diagnostic>) {
    let mut files = Vec::new();
    let mut diags = Vec::new();
    for (id, _) in sources.iter() {
        let parsed = parser::parse(sources, id);
        diags.extend(parsed.diagnostics);
        files.extend(parsed.file);
    }
    diags.extend(check::check(&files, tasks));
    diagnostic::sort(&mut diags);
    (files, diags)
}
