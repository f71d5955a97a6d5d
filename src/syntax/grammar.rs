//! The pest grammar (`grammar/drover.pest`), derived once for the parser and
//! for the syntax-error translator.

#![allow(missing_docs)] // pest_derive generates the undocumented `Rule` enum.

/// The parser pest derives from the grammar.
#[derive(pest_derive::Parser)]
#[grammar = "../grammar/drover.pest"]
pub(crate) struct Grammar;
