//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use drover::diagnostic::Diagnostic;
use drover::source::SourceMap;

/// The crate's root directory.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every `.plan` file under `dir` (relative to the crate root), sorted.
pub fn plans_under(dir: &str) -> Vec<PathBuf> {
    drover::cli::plan_files(&root(), &[root().join(dir)]).expect("fixture directory")
}

/// Parse and check one file on its own; its name in diagnostics is its file name.
pub fn diagnose(path: &Path) -> (SourceMap, Vec<Diagnostic>) {
    let text = std::fs::read_to_string(path).expect("readable fixture");
    let mut sources = SourceMap::new();
    sources.add(path.file_name().unwrap().to_string_lossy(), text);
    let (_, diags) = drover::check_sources(&sources);
    (sources, diags)
}

/// Run `f` on a thread with the default 2 MiB test stack, so that stack
/// safety is tested under the tightest stack a caller is likely to have.
pub fn on_small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(2 * 1024 * 1024)
        .spawn(f)
        .unwrap()
        .join()
        .unwrap()
}
