//! The commands: `run` (and `command run`, `task run`), `check`, `test`, `secret` and the
//! `show` family, and [`load`], the one reader of plan files they share.

pub mod check;
pub mod load;
pub mod pools;
pub mod run;
pub mod secret;
pub mod serve;
pub mod show;
pub mod test;

use std::path::PathBuf;

/// Errors that are about how drover was called, not about plans (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum UsageError {
    /// A path given on the command line does not exist.
    #[error("no such file or directory: {0}")]
    Missing(PathBuf),
    /// Nothing to check.
    #[error("no plans found: {0} has no `plans/` directory (give paths to check)")]
    NoPlans(PathBuf),
    /// A file defines several plans and none is named like the file.
    #[error("{path} defines several plans ({plans}); choose one with --plan", path = .0.display(), plans = .1.join(", "))]
    Ambiguous(PathBuf, Vec<String>),
    /// A directory could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}
