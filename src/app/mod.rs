//! The commands: `run`, `check` and the `show` family, and the one reader of
//! plan files they share.

pub mod run;
