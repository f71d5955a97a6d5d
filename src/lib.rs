//! drover: an interpreter for a plan language that orchestrates fleets of servers.
//!
//! The front end is [`parser`] (grammar and AST builder, with [`delimiters`]
//! and [`syntax_error`] for precise messages), [`ast`], [`check`] for the
//! name-level checks and [`diagnostic`] for reporting.

pub mod ast;
pub mod check;
pub mod cli;
pub mod delimiters;
pub mod diagnostic;
pub mod parser;
pub mod source;
pub mod syntax_error;
