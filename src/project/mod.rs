//! Where a project's content lives: its own `plans/` and `tasks/`, the
//! modules on its module path (Bolt's layout, so a Forge module unpacked there
//! works as is), and the bundled standard library.

pub mod history;
pub mod inventory;
pub mod pkcs7;
pub mod plugins;
pub mod tasks;

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// drover's project file; where it and Bolt's (`bolt-project.yaml`) both
/// set a key, drover's wins.
pub(crate) const SETTINGS_FILE: &str = "drover-project.yaml";

/// Bolt's project file.
pub(crate) const BOLT_SETTINGS_FILE: &str = "bolt-project.yaml";

/// A project: a root directory, the module directories it searches, and the
/// settings of its project files.
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
    /// The inventory file (`inventoryfile`), when not `inventory.yaml`.
    pub inventoryfile: Option<PathBuf>,
    /// `plans`: the plans `plan show` lists (names or globs).
    pub plans: Option<Vec<String>>,
    /// `tasks`: the tasks `task show` lists (names or globs).
    pub tasks: Option<Vec<String>>,
    /// `tests`: where `drover test` looks by default (instead of `tests/`).
    pub tests: Option<Vec<PathBuf>>,
    /// `concurrency`, when `--concurrency` is not given.
    pub concurrency: Option<usize>,
    /// `format` (`human`, `json`; Bolt's `rainbow` is `human`), when
    /// `--format` is not given.
    pub format: Option<String>,
    /// `stream`: as if `--stream` were given.
    pub stream: bool,
    /// `plugins: pkcs7:` settings.
    pub pkcs7: Pkcs7Settings,
    /// `state`: the state store's URL (pools and locks).
    pub state: Option<String>,
    /// `state-lease`: how long a run's holds outlive its last renewal.
    pub state_lease: Option<std::time::Duration>,
    /// What reading the project files found to say: unknown keys, modules
    /// listed but not installed. Printed once per command.
    pub warnings: Vec<String>,
}

/// Where the pkcs7 plugin's keys are, as Bolt has them.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, rename_all = "kebab-case")]
pub struct Pkcs7Settings {
    /// The RSA private key (PEM).
    pub private_key: PathBuf,
    /// Its self-signed certificate (PEM).
    pub public_key: PathBuf,
    /// The key size `secret createkeys` makes.
    pub keysize: u32,
}

impl Default for Pkcs7Settings {
    fn default() -> Self {
        Pkcs7Settings {
            private_key: PathBuf::from("keys/private_key.pkcs7.pem"),
            public_key: PathBuf::from("keys/public_key.pkcs7.pem"),
            keysize: 2048,
        }
    }
}

/// The keys of a project file drover reads; any other is ignored with a
/// warning. Bolt's and drover's files have the same keys (`runs-kept` is
/// drover's own).
#[derive(Deserialize, Default)]
#[serde(default)]
struct Settings {
    name: Option<String>,
    modulepath: Option<Vec<String>>,
    inventoryfile: Option<String>,
    modules: Option<Vec<ModuleSpec>>,
    plans: Option<Vec<String>>,
    tasks: Option<Vec<String>>,
    tests: Option<Vec<String>>,
    concurrency: Option<usize>,
    format: Option<String>,
    stream: Option<bool>,
    plugins: Option<Plugins>,
    #[serde(rename = "runs-kept")]
    runs_kept: Option<usize>,
    state: Option<String>,
    #[serde(rename = "state-lease")]
    state_lease: Option<String>,
    #[serde(flatten)]
    unknown: std::collections::BTreeMap<String, serde::de::IgnoredAny>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Plugins {
    pkcs7: Option<Pkcs7Keys>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "kebab-case")]
struct Pkcs7Keys {
    private_key: Option<String>,
    public_key: Option<String>,
    keysize: Option<u32>,
}

/// An entry of Bolt's `modules` list: `puppetlabs-stdlib`,
/// `{name: puppetlabs/stdlib, ...}` or `{git: URL, ref: ..., name: ...}`.
#[derive(Deserialize)]
#[serde(untagged)]
enum ModuleSpec {
    Name(String),
    Entry {
        name: Option<String>,
        git: Option<String>,
    },
}

impl ModuleSpec {
    /// The module's directory name: what follows the author (`stdlib`),
    /// or a git repository's name without its author prefix.
    fn module_name(&self) -> Option<String> {
        let full = match self {
            ModuleSpec::Name(n) | ModuleSpec::Entry { name: Some(n), .. } => n.clone(),
            ModuleSpec::Entry { git: Some(url), .. } => {
                let last = url.trim_end_matches('/').rsplit(['/', ':']).next()?;
                last.trim_end_matches(".git").to_string()
            }
            ModuleSpec::Entry { .. } => return None,
        };
        let name = full.rsplit(['/', '-']).next()?;
        (!name.is_empty()).then(|| name.to_string())
    }
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
            inventoryfile: None,
            plans: None,
            tasks: None,
            tests: None,
            concurrency: None,
            format: None,
            stream: false,
            pkcs7: Pkcs7Settings::default(),
            state: None,
            state_lease: None,
            warnings: Vec::new(),
        }
    }

    /// Read the project at `root`: `bolt-project.yaml`, then
    /// `drover-project.yaml` over it, and `modulepath` (from `--modulepath`,
    /// colon-separated) in front of the settings' module path. Errors name
    /// the file.
    pub(crate) fn load(root: &Path, modulepath: Option<&str>) -> Result<Project, String> {
        let mut project = Project::new(root);
        let mut modules = Vec::new();
        for file in [BOLT_SETTINGS_FILE, SETTINGS_FILE] {
            let path = root.join(file);
            if path.is_file() {
                let s: Settings = read_yaml(&path)?;
                if let Some(m) = &s.modules {
                    modules = m.iter().filter_map(ModuleSpec::module_name).collect();
                }
                project.apply(s, file);
            }
        }
        let given: Vec<PathBuf> = modulepath
            .into_iter()
            .flat_map(|p| p.split(':'))
            .filter(|p| !p.is_empty())
            .map(|p| project.under_root(p))
            .collect();
        project.modulepath.splice(0..0, given);
        let missing: Vec<String> = modules
            .into_iter()
            .filter(|m| {
                project
                    .module(m)
                    .is_none_or(|d| d.starts_with(stdlib_dir()))
            })
            .collect();
        if !missing.is_empty() {
            project.warnings.push(format!(
                "the project lists modules that are not installed: {} (drover does not download modules: install them with `bolt module install`, or unpack them under modules/)",
                missing.join(", ")
            ));
        }
        Ok(project)
    }

    /// The settings of one project file over what is already set.
    fn apply(&mut self, s: Settings, file: &str) {
        if let Some(name) = s.name {
            self.name = name;
        }
        if let Some(dirs) = s.modulepath {
            self.modulepath = dirs.iter().map(|d| self.under_root(d)).collect();
        }
        if let Some(f) = s.inventoryfile {
            self.inventoryfile = Some(self.under_root(&f));
        }
        if let Some(kept) = s.runs_kept {
            self.runs_kept = kept.max(1);
        }
        self.state = s.state.or(self.state.take());
        if let Some(lease) = s.state_lease {
            match crate::duration::parse(&lease) {
                Ok(ms) if ms >= 300 => {
                    self.state_lease = Some(std::time::Duration::from_millis(ms));
                }
                _ => self.warnings.push(format!(
                    "{file}: `state-lease: {lease}` is not a duration of at least 300ms (such as `30s`); the default is used"
                )),
            }
        }
        self.plans = s.plans.or(self.plans.take());
        self.tasks = s.tasks.or(self.tasks.take());
        if let Some(dirs) = s.tests {
            self.tests = Some(dirs.iter().map(|d| self.under_root(d)).collect());
        }
        self.concurrency = s.concurrency.map(|c| c.max(1)).or(self.concurrency);
        self.format = s.format.or(self.format.take());
        self.stream = s.stream.unwrap_or(self.stream);
        if let Some(keys) = s.plugins.and_then(|p| p.pkcs7) {
            if let Some(k) = keys.private_key {
                self.pkcs7.private_key = PathBuf::from(k);
            }
            if let Some(k) = keys.public_key {
                self.pkcs7.public_key = PathBuf::from(k);
            }
            if let Some(k) = keys.keysize {
                self.pkcs7.keysize = k;
            }
        }
        if !s.unknown.is_empty() {
            let keys: Vec<String> = s.unknown.keys().map(|k| format!("`{k}`")).collect();
            self.warnings
                .push(format!("{file}: drover ignores {}", keys.join(", ")));
        }
    }

    /// `p` as the project sees it: absolute, or under the root.
    pub(crate) fn under_root(&self, p: &str) -> PathBuf {
        let p = PathBuf::from(p);
        if p.is_absolute() {
            p
        } else {
            self.root.join(p)
        }
    }

    /// Whether `name` is listed by `plan show` (`plans`) or `task show`
    /// (`tasks`): with no list, everything is.
    pub(crate) fn lists(allow: &Option<Vec<String>>, name: &str) -> bool {
        allow
            .as_ref()
            .is_none_or(|globs| globs.iter().any(|g| inventory::glob(g, name)))
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

    /// Directories of plan files: the project's `plans/` and `functions/`
    /// (Puppet-language functions), then each module's (the standard
    /// library's too when `stdlib`).
    pub(crate) fn plan_dirs(&self, stdlib: bool) -> Vec<PathBuf> {
        let bundled = stdlib_dir();
        let mut dirs = vec![self.root.join("plans"), self.root.join("functions")];
        for (name, dir) in self.modules() {
            if (name != self.name || dir != self.root) && (stdlib || !dir.starts_with(&bundled)) {
                dirs.push(dir.join("plans"));
                dirs.push(dir.join("functions"));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allow_lists_match_names_and_globs() {
        let list = Some(vec!["site::*".to_string(), "facts".into(), "*::x*y".into()]);
        for (name, listed) in [
            ("site::deploy", true),
            ("site", false),
            ("facts", true),
            ("facts::bash", false),
            ("a::xzzy", true),
            ("a::xzz", false),
        ] {
            assert_eq!(Project::lists(&list, name), listed, "{name}");
        }
        assert!(Project::lists(&None, "anything"));
    }

    #[test]
    fn bolt_module_entries_name_their_directory() {
        let name = |yaml: &str| {
            serde_saphyr::from_str::<ModuleSpec>(yaml)
                .unwrap()
                .module_name()
        };
        assert_eq!(name("puppetlabs-stdlib").as_deref(), Some("stdlib"));
        assert_eq!(name("{name: puppetlabs/apache}").as_deref(), Some("apache"));
        assert_eq!(
            name("{git: 'git@github.com:puppetlabs/puppetlabs-yaml.git', ref: main}").as_deref(),
            Some("yaml")
        );
        assert_eq!(name("{ref: main}"), None);
    }
}
