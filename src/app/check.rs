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
    // The standard library's plans are checked with them, so that calls of
    // them are checked too, but only the project's files are reported on.
    let stdlib = crate::project::stdlib_dir();
    let mut all = files.clone();
    if stdlib.is_dir() {
        all.extend(plan_files(tasks.project(), &[stdlib], false)?);
        all.dedup();
    }
    let read = PlanFiles::read(&all)?;
    let (asts, mut diags) = read.check(Some(tasks));
    let sources = &read.sources;
    let own: std::collections::HashSet<String> =
        files.iter().map(|f| f.display().to_string()).collect();
    diags.retain(|d| own.contains(&sources.get(d.primary.span.file).name));
    let errors = diags.iter().filter(|d| d.is_error()).count();
    let warnings = diags.len() - errors;
    let plans = asts
        .iter()
        .flat_map(|f| &f.plans)
        .filter(|p| own.contains(&sources.get(p.name.span.file).name))
        .count();
    let tests = asts
        .iter()
        .flat_map(|f| &f.tests)
        .filter(|t| own.contains(&sources.get(t.span.file).name))
        .count();
    match format {
        Format::Json => {
            let out = json!({
                "files": files.len(),
                "plans": plans,
                "tests": tests,
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
            let tests = match tests {
                0 => String::new(),
                n => format!(" and {n} test(s)"),
            };
            let _ = writeln!(
                err,
                "checked {plans} plan(s){tests} in {} file(s): {errors} error(s), {warnings} warning(s)",
                files.len()
            );
        }
    }
    Ok(if errors > 0 { 1 } else { 0 })
}
