//! drover: an interpreter for a plan language that orchestrates fleets of servers.
//!
//! The layers, each importing only from those above it in this list (see
//! `docs/architecture.md`; `tests/architecture.rs` enforces it):
//! [`source`], [`duration`] and [`diagnostic`] (leaves) → [`syntax`] →
//! [`puppet`] (the second front end) → [`lang`]
//! (the vocabulary) → [`value`] → [`project`] → [`check`] → [`transport`] and
//! [`pools`] → [`eval`] → [`report`] → [`app`] → [`cli`].

// pest_derive without "std" names `alloc::` paths.
extern crate alloc;

/// `println!` that carries on when stdout is closed (`drover ... | head`).
/// SIGPIPE stays ignored, as Rust leaves it: a reader that goes away must
/// not kill a run midway (nor a write to a task's stdin after the task
/// exited), so writes to stdout ignore the broken pipe instead.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

pub mod app;
pub mod check;
pub mod cli;
pub mod diagnostic;
pub mod duration;
pub mod eval;
pub mod lang;
pub mod pools;
pub mod project;
pub mod puppet;
pub mod report;
pub mod source;
pub mod syntax;
pub mod transport;
pub mod value;
