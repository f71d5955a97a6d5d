//! The syntax layer: from source text to a spanned AST and back. It knows
//! nothing of the runtime.
//!
//! [`delimiters`] scans brackets, strings and comments first (an unclosed one
//! is reported at its opening, nesting is capped); [`parser`] runs the pest
//! [`grammar`] and builds the [`ast`]; [`errors`] turns pest's failure into a
//! diagnostic with help; [`pretty`] prints an AST back as source.

pub mod ast;
pub mod delimiters;
pub mod errors;
mod grammar;
mod literals;
pub mod parser;
pub mod pretty;
