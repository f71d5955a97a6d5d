//! `drover check`.

use std::io::Write;
use std::path::PathBuf;

use serde_json::json;

use super::UsageError;
use super::load::{PlanFiles, plan_files};
use crate::project::tasks::Catalog;
use crate::report::Format;

/// `drover check`: exit 0 clean (warnings allowed), 1 with errors.
pub(crate) fn run(tasks: &Catalog, paths: &[PathBuf], format: Format) -> Result<u8, UsageError> {
    let files = plan_files(tasks.project(), paths, false)?;
    let read = PlanFiles::read(&files)?;
    let (asts, diags) = read.check(Some(tasks));
    let sources = &read.sources;
    let errors = diags.iter().filter(|d| d.is_error()).count();
    let warnings = diags.len() - errors;
    let plans: usize = asts.iter().map(|f| f.plans.len()).sum();
    match format {
        Format::Json => {
            let out = json!({
                "files": files.len(),
                "plans": plans,
                "errors": errors,
                "warnings": warnings,
                "diagnostics": diags.iter().map(|d| d.to_json(sources)).collect::<Vec<_>>(),
            });
            outln!("{out}");
        }
        Format::Human => {
            let color = crate::diagnostic::use_color();
            let mut err = std::io::stderr().lock();
            for d in &diags {
                let _ = write!(err, "{}", d.render(sources, color, 100));
            }
            let _ = writeln!(
                err,
                "checked {plans} plan(s) in {} file(s): {errors} error(s), {warnings} warning(s)",
                files.len()
            );
        }
    }
    Ok(if errors > 0 { 1 } else { 0 })
}
