//! Reading what commands work on: plan files (one reader for every command,
//! which rejects files that are not UTF-8 with the same diagnostic), the
//! plan files of a project, and the inventory.

use std::path::{Path, PathBuf};

use super::UsageError;
use crate::check::{CallGraph, check_program};
use crate::diagnostic::Diagnostic;
use crate::lang::Vocabulary;
use crate::project::inventory::Inventory;
use crate::project::tasks::Catalog;
use crate::source::{SourceMap, Span};
use crate::syntax::ast::File;

/// Plan files as read: their text, and an `invalid-utf8` error for each one
/// that is not UTF-8 (checked as decoded lossily, so its other mistakes are
/// reported too).
pub(crate) struct PlanFiles {
    /// Every file's text.
    pub sources: SourceMap,
    /// Files that are not UTF-8.
    pub encoding: Vec<Diagnostic>,
}

impl PlanFiles {
    /// Read `files`.
    pub(crate) fn read(files: &[PathBuf]) -> Result<PlanFiles, UsageError> {
        let mut sources = SourceMap::new();
        let mut encoding = Vec::new();
        for path in files {
            let bytes = std::fs::read(path).map_err(|source| UsageError::Io {
                path: path.clone(),
                source,
            })?;
            let id = sources.add(
                path.display().to_string(),
                String::from_utf8_lossy(&bytes).into_owned(),
            );
            if let Err(e) = std::str::from_utf8(&bytes) {
                let at = e.valid_up_to();
                encoding.push(
                    Diagnostic::error(
                        "invalid-utf8",
                        Span::new(id, at, at + 1),
                        "plan files must be UTF-8",
                    )
                    .with_label("invalid byte here"),
                );
            }
        }
        Ok(PlanFiles { sources, encoding })
    }

    /// Parse and check them all (with `run_task` calls against `tasks`): the
    /// syntax trees and every diagnostic, sorted.
    pub(crate) fn check(&self, tasks: Option<&Catalog>) -> (Vec<File>, Vec<Diagnostic>) {
        let (asts, diags, _) = self.check_calls(tasks);
        (asts, diags)
    }

    /// [`PlanFiles::check`], and the plans each plan calls.
    pub(crate) fn check_calls(
        &self,
        tasks: Option<&Catalog>,
    ) -> (Vec<File>, Vec<Diagnostic>, CallGraph) {
        let (files, mut diags, calls) = check_program(&self.sources, tasks, Vocabulary::standard());
        diags.extend(self.encoding.iter().cloned());
        crate::diagnostic::sort(&mut diags);
        (files, diags, calls)
    }
}

/// The `.plan` files under `paths`, or under the plan directories of the
/// project and its modules (and the standard library's when `stdlib`).
pub fn plan_files(
    project: &crate::project::Project,
    paths: &[PathBuf],
    stdlib: bool,
) -> Result<Vec<PathBuf>, UsageError> {
    let roots: Vec<PathBuf> = if paths.is_empty() {
        let dirs = project.plan_dirs(stdlib);
        if dirs.is_empty() {
            return Err(UsageError::NoPlans(project.root.clone()));
        }
        dirs
    } else {
        paths.to_vec()
    };
    let mut files = Vec::new();
    for root in roots {
        if root.is_dir() {
            collect(&root, &mut files)?;
        } else if root.is_file() {
            files.push(root);
        } else {
            return Err(UsageError::Missing(root));
        }
    }
    Ok(files)
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), UsageError> {
    let io = |source| UsageError::Io {
        path: dir.to_path_buf(),
        source,
    };
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .map_err(io)?;
    entries.sort();
    for path in entries {
        if path.is_dir() {
            collect(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "plan" || e == "pp")
            || (path.extension().is_some_and(|e| e == "yaml" || e == "yml")
                && path.components().any(|c| c.as_os_str() == "plans"))
        {
            // YAML files are plans only in a `plans` directory (Bolt's rule).
            out.push(path);
        }
    }
    Ok(())
}

/// Load the inventory: `-i FILE`, else `inventory.yaml` in the project, else
/// an empty one; its plugin references resolved (once: this is the run's
/// inventory). Diagnostics are printed; `None` means it did not load.
pub(crate) fn load_inventory(
    tasks: &Catalog,
    file: Option<PathBuf>,
) -> Result<Option<Inventory>, UsageError> {
    let project = &tasks.project().root;
    let path = match file {
        Some(f) if !f.is_file() => return Err(UsageError::Missing(f)),
        Some(f) => f,
        None if project.join("inventory.yaml").is_file() => project.join("inventory.yaml"),
        None => return Ok(Some(Inventory::default())),
    };
    let mut sources = SourceMap::new();
    let mut plugins = crate::project::plugins::Resolver::new(tasks);
    match Inventory::load_with(&path, &mut sources, Some(&mut plugins)) {
        Ok(inv) => Ok(Some(inv)),
        Err(diags) => {
            for d in &diags {
                eprint!(
                    "{}",
                    d.render(&sources, crate::diagnostic::use_color(), 100)
                );
            }
            Ok(None)
        }
    }
}
