//! Where a project's content lives: its own `plans/` and `tasks/`, the
//! modules on its module path (Bolt's layout, so a Forge module unpacked there
//! works as is), and the bundled standard library.

pub mod history;
pub mod inventory;
pub mod tasks;

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The settings file of a project; `bolt-project.yaml` is read when it is absent.
pub(crate) const SETTINGS_FILE: &str = "drover-project.yaml";

/// A project: a root directory and the module directories it searches.
#[derive(Clone, Debug)]
pub struct Project {
    /// The project root (plans, scripts and files are relative to it).
    pub root: PathBuf,
    /// The project's own module name: its `tasks/` hold `NAME::task`.
    pub name: String,
    /// Directories that hold modules, searched in order (relative entries are
    /// under the root), then the bundled standard library.
    pub modulepath: Vec<PathBuf>,
    /// Runs kept in `.drover/runs/` (`runs-kept`).
    pub runs_kept: usize,
}

#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct Settings {
    name: Option<String>,
    modulepath: Option<Vec<String>>,
    #[serde(rename = "runs-kept")]
    runs_kept: Option<usize>,
}

/// Bolt's project file has many keys drover does not use.
#[derive(Deserialize, Default)]
#[serde(default)]
struct BoltSettings {
    name: Option<String>,
    modulepath: Option<Vec<String>>,
}

impl Project {
    /// The project at `root` with default settings: named after its
    /// directory, modules in `modules/` and `.modules/`.
    pub fn new(root: &Path) -> Project {
        let dir = root
            .canonicalize()
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_default();
        let name = dir
            .chars()
            .map(|c| match c {
                'a'..='z' | '0'..='9' => c,
                'A'..='Z' => c.to_ascii_lowercase(),
                _ => '_',
            })
            .collect();
        Project {
            root: root.to_path_buf(),
            name,
            modulepath: vec![root.join("modules"), root.join(".modules")],
            runs_kept: crate::project::history::DEFAULT_KEPT,
        }
    }

    /// Read the project at `root`: its settings file if there is one, and
    /// `modulepath` (from `--modulepath`, colon-separated) in front of the
    /// settings' module path. Errors name the file.
    pub(crate) fn load(root: &Path, modulepath: Option<&str>) -> Result<Project, String> {
        let mut project = Project::new(root);
        let own = root.join(SETTINGS_FILE);
        let bolt = root.join("bolt-project.yaml");
        let (name, dirs) = if own.is_file() {
            let s: Settings = read_yaml(&own)?;
            if let Some(kept) = s.runs_kept {
                project.runs_kept = kept.max(1);
            }
            (s.name, s.modulepath)
        } else if bolt.is_file() {
            let s: BoltSettings = read_yaml(&bolt)?;
            (s.name, s.modulepath)
        } else {
            (None, None)
        };
        if let Some(name) = name {
            project.name = name;
        }
        let under_root = |p: &str| {
            let p = PathBuf::from(p);
            if p.is_absolute() { p } else { root.join(p) }
        };
        if let Some(dirs) = dirs {
            project.modulepath = dirs.iter().map(|d| under_root(d)).collect();
        }
        let given: Vec<PathBuf> = modulepath
            .into_iter()
            .flat_map(|p| p.split(':'))
            .filter(|p| !p.is_empty())
            .map(under_root)
            .collect();
        project.modulepath.splice(0..0, given);
        Ok(project)
    }

    /// The directory of module `name`: the project itself, the first module
    /// of that name on the module path, or the bundled standard library's.
    pub(crate) fn module(&self, name: &str) -> Option<PathBuf> {
        if name == self.name && self.root.join("tasks").is_dir() {
            return Some(self.root.clone());
        }
        self.module_roots()
            .map(|dir| dir.join(name))
            .find(|dir| dir.is_dir())
    }

    /// Every module, each under the first directory that has it, in
    /// precedence order: the project, the module path, the standard library.
    pub(crate) fn modules(&self) -> Vec<(String, PathBuf)> {
        let mut found: Vec<(String, PathBuf)> = Vec::new();
        if self.root.join("tasks").is_dir() {
            found.push((self.name.clone(), self.root.clone()));
        }
        for dir in self.module_roots() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            let mut names: Vec<(String, PathBuf)> = entries
                .flatten()
                .filter(|e| e.path().is_dir())
                .filter_map(|e| Some((e.file_name().into_string().ok()?, e.path())))
                .collect();
            names.sort();
            for (name, path) in names {
                if !found.iter().any(|(n, _)| *n == name) {
                    found.push((name, path));
                }
            }
        }
        found
    }

    /// Directories of plan files: the project's `plans/`, then each module's
    /// (the standard library's too when `stdlib`).
    pub(crate) fn plan_dirs(&self, stdlib: bool) -> Vec<PathBuf> {
        let bundled = stdlib_dir();
        let mut dirs = vec![self.root.join("plans")];
        for (name, dir) in self.modules() {
            if (name != self.name || dir != self.root) && (stdlib || !dir.starts_with(&bundled)) {
                dirs.push(dir.join("plans"));
            }
        }
        dirs.retain(|d| d.is_dir());
        dirs
    }

    fn module_roots(&self) -> impl Iterator<Item = PathBuf> + '_ {
        self.modulepath
            .iter()
            .cloned()
            .chain(std::iter::once(stdlib_dir()))
    }
}

fn read_yaml<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    serde_saphyr::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// The bundled standard library: `$DROVER_STDLIB`, else `share/drover/stdlib`
/// beside an installed binary, else the source tree's `stdlib/`.
pub(crate) fn stdlib_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("DROVER_STDLIB") {
        return PathBuf::from(dir);
    }
    if let Ok(exe) = std::env::current_exe()
        && let Some(bin) = exe.parent()
    {
        let installed = bin.join("../share/drover/stdlib");
        if installed.is_dir() {
            return installed;
        }
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("stdlib")
}
