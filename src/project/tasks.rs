//! Bolt tasks: finding them on the module path, reading their metadata
//! (`tasks/NAME.json`), Puppet types of their parameters, choosing an
//! implementation for a target, and checking parameters before a run.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use indexmap::IndexMap;
use serde::Deserialize;

use crate::project::Project;
use crate::source::{Span, Spanned};
use crate::syntax::ast::{Type, TypeArg};
use crate::value::Value;

/// A task as its metadata describes it.
#[derive(Debug)]
pub struct Task {
    /// `module::task` (`module` alone for `module::init`).
    pub name: String,
    /// The module it belongs to.
    pub module: String,
    /// The metadata file, if it has one.
    pub metadata: Option<PathBuf>,
    /// `description`.
    pub description: Option<String>,
    /// Declared parameters; `None` when the metadata declares none, and then
    /// any parameter is passed as is (Bolt's rule).
    pub parameters: Option<IndexMap<String, Param>>,
    /// Executables, in the metadata's order; the first whose requirements the
    /// target's features meet runs.
    pub implementations: Vec<Implementation>,
    /// `supports_noop`.
    pub supports_noop: bool,
    /// `private`: runnable, but not listed.
    pub private: bool,
}

/// A declared task parameter.
#[derive(Debug)]
pub struct Param {
    /// The Puppet type (`Optional[String[1]]`), parsed.
    pub ty: Type,
    /// The type as written in the metadata.
    pub ty_text: String,
    /// `description`.
    pub description: Option<String>,
    /// `sensitive`: the value is a secret.
    pub sensitive: bool,
    /// `default`, used when the plan does not pass it.
    pub default: Option<serde_json::Value>,
}

impl Param {
    /// A type error without repeating the declared type, which the message
    /// around it names.
    pub(crate) fn mismatch(&self, why: String) -> String {
        match why.strip_prefix(&format!("expected {}, ", self.ty_text)) {
            Some(rest) => rest.to_string(),
            None => why,
        }
    }

    /// Whether a plan must pass it.
    pub(crate) fn required(&self) -> bool {
        self.default.is_none() && !matches!(self.ty.name.node.as_str(), "Optional" | "Any")
    }
}

/// One executable of a task. Its problems (a missing executable, a `files`
/// entry that names no module) are kept, not raised: only the implementation
/// chosen for a target matters (Bolt's rule), so they surface when it is.
#[derive(Debug)]
pub struct Implementation {
    /// The executable's name in the module's `tasks/` (`linux.sh`).
    pub name: String,
    /// The local executable.
    pub path: PathBuf,
    /// Features the target must have (`shell`, `puppet-agent`, ...).
    pub requirements: Vec<String>,
    /// How parameters reach it.
    pub input_method: InputMethod,
    /// Other files it needs, as the metadata writes them
    /// (`ruby_task_helper/files/task_helper.rb`, `mymod/files/lib/`): the
    /// task's own `files` and then the implementation's.
    pub files: Vec<String>,
    /// Everything uploaded and a hash of its content, computed on first use.
    bundle: OnceLock<Result<Bundle, String>>,
}

/// What an implementation uploads: its executable and its files.
#[derive(Debug)]
pub(crate) struct Bundle {
    /// `(local file, path under the bundle's directory)`; the executable first.
    pub files: Vec<(PathBuf, String)>,
    /// A hash of every path and every byte: the same content is uploaded once
    /// per target per run.
    pub hash: u64,
}

impl Implementation {
    /// Where the executable goes under the bundle's directory.
    pub(crate) fn executable(&self, module: &str) -> String {
        let file = self
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        format!("{module}/tasks/{file}")
    }

    /// Resolve its files on the module path, read what it uploads (once)
    /// and hash it; or what is missing.
    pub(crate) fn bundle(&self, project: &Project, module: &str) -> Result<&Bundle, String> {
        self.bundle
            .get_or_init(|| {
                use std::hash::Hasher;
                if !self.path.is_file() {
                    return Err(format!(
                        "implementation `{}` is not a file in {}",
                        self.name,
                        self.path.parent().unwrap_or(&self.path).display()
                    ));
                }
                let mut files = vec![(self.path.clone(), self.executable(module))];
                for entry in &self.files {
                    files.extend(resolve_files(project, entry).map_err(|why| {
                        format!("implementation `{}` needs `{entry}`: {why}", self.name)
                    })?);
                }
                let mut h = std::collections::hash_map::DefaultHasher::new();
                for (local, remote) in &files {
                    let bytes = std::fs::read(local)
                        .map_err(|e| format!("cannot read {}: {e}", local.display()))?;
                    h.write(remote.as_bytes());
                    h.write_usize(bytes.len());
                    h.write(&bytes);
                }
                Ok(Bundle {
                    files,
                    hash: h.finish(),
                })
            })
            .as_ref()
            .map_err(Clone::clone)
    }
}

/// Bolt's `input_method`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InputMethod {
    /// `PT_name` environment variables.
    Environment,
    /// One JSON object on standard input.
    Stdin,
    /// Both (the default for shell tasks).
    Both,
    /// Named arguments of a PowerShell script: read, but refused when chosen,
    /// since drover's transports run no PowerShell.
    Powershell,
}

impl Task {
    /// The first implementation the target's `features` allow.
    pub fn implementation_for(&self, features: &[String]) -> Result<&Implementation, String> {
        self.implementations
            .iter()
            .find(|i| i.requirements.iter().all(|r| features.contains(r)))
            .ok_or_else(|| {
                let needs: Vec<String> = self
                    .implementations
                    .iter()
                    .map(|i| format!("[{}]", i.requirements.join(", ")))
                    .collect();
                format!(
                    "no implementation of task `{}` fits the target's features [{}] (implementations need {})",
                    self.name,
                    features.join(", "),
                    needs.join(" or ")
                )
            })
    }

    /// Check and convert the parameters a plan passes: unknown ones, missing
    /// required ones and values of the wrong type are errors (with the
    /// parameter's span when there is one); defaults fill the rest.
    pub(crate) fn bind(
        &self,
        given: IndexMap<String, (Value, Span)>,
        noop: bool,
    ) -> Result<IndexMap<String, Value>, (String, Option<Span>)> {
        if noop && !self.supports_noop {
            return Err((
                format!("task `{}` does not support `_noop`", self.name),
                None,
            ));
        }
        let Some(params) = &self.parameters else {
            return Ok(given.into_iter().map(|(k, (v, _))| (k, v)).collect());
        };
        let mut out = IndexMap::new();
        for (k, (v, span)) in given {
            let Some(p) = params.get(&k) else {
                return Err((self.unknown_parameter(&k), Some(span)));
            };
            // A Sensitive value fits the type of what it hides, and stays secret.
            let (v, secret) = match v {
                Value::Sensitive(s) if p.ty.name.node != "Sensitive" => (s.reveal().clone(), true),
                v => (v, false),
            };
            let v = crate::value::types::coerce(v, &p.ty).map_err(|why| {
                let why = if secret || p.sensitive {
                    "a value of another type".into()
                } else {
                    p.mismatch(why)
                };
                (
                    format!(
                        "parameter `{k}` of task `{}` is {}: {why}",
                        self.name, p.ty_text
                    ),
                    Some(span),
                )
            })?;
            let v = match v {
                Value::Sensitive(_) => v,
                v if secret || p.sensitive => Value::Sensitive(crate::value::Secret::new(v)),
                v => v,
            };
            out.insert(k, v);
        }
        let missing = self.missing(out.keys().map(String::as_str));
        if !missing.is_empty() {
            return Err((
                format!("task `{}` needs {}", self.name, missing.join(", ")),
                None,
            ));
        }
        for (k, p) in params {
            if !out.contains_key(k)
                && let Some(d) = &p.default
            {
                out.insert(k.clone(), Value::from_json(d));
            }
        }
        Ok(out)
    }

    /// "task `x` has no parameter `y`", with a suggestion.
    pub(crate) fn unknown_parameter(&self, name: &str) -> String {
        let known = self.parameters.iter().flat_map(|p| p.keys());
        let hint = crate::diagnostic::did_you_mean(name, known.map(String::as_str))
            .map(|h| format!(" (did you mean `{h}`?)"))
            .unwrap_or_default();
        format!("task `{}` has no parameter `{name}`{hint}", self.name)
    }

    /// Required parameters not among `given`, as "`name` (Type)".
    pub(crate) fn missing<'a>(&self, given: impl Iterator<Item = &'a str> + Clone) -> Vec<String> {
        self.parameters
            .iter()
            .flatten()
            .filter(|(k, p)| p.required() && !given.clone().any(|g| g == k.as_str()))
            .map(|(k, p)| format!("`{k}` ({})", p.ty_text))
            .collect()
    }
}

/// Finds tasks by name on a project's module path and keeps what it read.
pub struct Catalog {
    project: Project,
    found: Mutex<HashMap<String, Result<Arc<Task>, String>>>,
}

impl Catalog {
    /// Tasks of `project`.
    pub fn new(project: Project) -> Self {
        Catalog {
            project,
            found: Mutex::new(HashMap::new()),
        }
    }

    /// The project it searches.
    pub(crate) fn project(&self) -> &Project {
        &self.project
    }

    /// Task `name`, or why there is none (not found, with a suggestion, or
    /// bad metadata, with the file, line and column).
    pub fn get(&self, name: &str) -> Result<Arc<Task>, String> {
        let mut found = self.found.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(t) = found.get(name) {
            return t.clone();
        }
        let t = self.load(name).map(Arc::new);
        found.insert(name.to_string(), t.clone());
        t
    }

    /// Every task name, in module order.
    pub(crate) fn names(&self) -> Vec<String> {
        let mut names = Vec::new();
        for (module, dir) in self.project.modules() {
            let Ok(entries) = std::fs::read_dir(dir.join("tasks")) else {
                continue;
            };
            let mut stems: Vec<String> = entries
                .flatten()
                .filter(|e| e.path().is_file())
                .filter_map(|e| {
                    let p = e.path();
                    Some(p.file_stem()?.to_str()?.to_string())
                })
                .filter(|s| valid_segment(s))
                .collect();
            stems.sort();
            stems.dedup();
            for s in stems {
                names.push(if s == "init" {
                    module.clone()
                } else {
                    format!("{module}::{s}")
                });
            }
        }
        names
    }

    /// Find task `name` and read its metadata. The steps: the module's
    /// `tasks/` directory, the executables and metadata there, the declared
    /// parameters, the implementations.
    fn load(&self, name: &str) -> Result<Task, String> {
        let (module, task) = name.split_once("::").unwrap_or((name, "init"));
        if !valid_segment(module) || !valid_segment(task) {
            return Err(format!(
                "`{name}` is not a task name (`module::task`, lower-case letters, digits and `_`)"
            ));
        }
        let not_found = || {
            let names = self.names();
            let hint = crate::diagnostic::did_you_mean(name, names.iter().map(String::as_str))
                .map(|h| format!(" (did you mean `{h}`?)"))
                .unwrap_or_default();
            format!("unknown task `{name}`{hint}")
        };
        let dir = self
            .project
            .module(module)
            .ok_or_else(not_found)?
            .join("tasks");
        let metadata = dir.join(format!("{task}.json"));
        let executables = executables(&dir, task).ok_or_else(not_found)?;
        let raw = if metadata.is_file() {
            read_metadata(&metadata)?
        } else if executables.is_empty() {
            return Err(not_found());
        } else {
            RawMetadata::default()
        };
        let at = |what: String| format!("{}: {what}", metadata.display());
        let parameters = match raw.parameters {
            Some(raw_params) => Some(parameters(raw_params).map_err(at)?),
            None => None,
        };
        let implementations = Catalog::implementations(
            &dir,
            task,
            &executables,
            &raw.files,
            raw.implementations,
            raw.input_method,
        )
        .map_err(at)?;
        Ok(Task {
            name: name.to_string(),
            module: module.to_string(),
            metadata: metadata.is_file().then_some(metadata),
            description: raw.description,
            parameters,
            implementations,
            supports_noop: raw.supports_noop,
            private: raw.private,
        })
    }

    /// The implementations: those the metadata lists, or the one executable
    /// beside it. What each needs is resolved when it is chosen.
    fn implementations(
        dir: &Path,
        task: &str,
        executables: &[PathBuf],
        shared: &[String],
        listed: Vec<RawImplementation>,
        input_method: Option<InputMethod>,
    ) -> Result<Vec<Implementation>, String> {
        let task_input = input_method.unwrap_or(InputMethod::Both);
        let implementation = |name: String, requirements, input_method, own: Vec<String>| {
            let mut files = shared.to_vec();
            files.extend(own);
            Implementation {
                path: dir.join(&name),
                name,
                requirements,
                input_method,
                files,
                bundle: OnceLock::new(),
            }
        };
        if listed.is_empty() {
            return match executables {
                [] => Err(format!("no executable `{task}.*` beside the metadata")),
                [one] => {
                    let name = one
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    Ok(vec![implementation(
                        name,
                        Vec::new(),
                        task_input,
                        Vec::new(),
                    )])
                }
                several => {
                    let names: Vec<String> = several
                        .iter()
                        .filter_map(|p| p.file_name()?.to_str().map(String::from))
                        .collect();
                    Err(format!(
                        "several executables ({}): the metadata must list `implementations`",
                        names.join(", ")
                    ))
                }
            };
        }
        Ok(listed
            .into_iter()
            .map(|i| {
                implementation(
                    i.name,
                    i.requirements,
                    i.input_method.unwrap_or(task_input),
                    i.files,
                )
            })
            .collect())
    }
}

/// The local files of one `files` entry (`module/files/x`, `module/lib/x`,
/// `module/tasks/x`, or a directory ending in `/`), each with its path under
/// `_installdir`, which is the entry's own path (Bolt's layout).
fn resolve_files(project: &Project, entry: &str) -> Result<Vec<(PathBuf, String)>, String> {
    let (module, rest) = entry
        .split_once('/')
        .ok_or("must be `module/files/...`, `module/lib/...` or `module/tasks/...`")?;
    if !["files/", "lib/", "tasks/"]
        .iter()
        .any(|p| rest.starts_with(p))
        || rest.split('/').any(|s| s == "..")
    {
        return Err("must be under a module's `files/`, `lib/` or `tasks/` directory".into());
    }
    let dir = project
        .module(module)
        .ok_or_else(|| format!("no module `{module}` on the module path"))?;
    let local = dir.join(rest);
    if let Some(sub) = rest.strip_suffix('/') {
        let mut out = Vec::new();
        walk(&local, &format!("{module}/{sub}"), &mut out)
            .map_err(|e| format!("cannot read {}: {e}", local.display()))?;
        Ok(out)
    } else if local.is_file() {
        Ok(vec![(local, entry.to_string())])
    } else {
        Err(format!("{} is not a file", local.display()))
    }
}

fn walk(dir: &Path, remote: &str, out: &mut Vec<(PathBuf, String)>) -> std::io::Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    entries.sort();
    for p in entries {
        let name = p.file_name().unwrap_or_default().to_string_lossy();
        let r = format!("{remote}/{name}");
        if p.is_dir() {
            walk(&p, &r, out)?;
        } else {
            out.push((p, r));
        }
    }
    Ok(())
}

fn valid_segment(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

fn valid_parameter(s: &str) -> bool {
    valid_segment(s)
}

/// Structs read as Bolt reads task metadata (Ruby's JSON parser): unknown
/// keys are ignored and a key given twice takes its last value. serde's
/// derive refuses duplicate keys, so these read their object key by key;
/// every other mistake keeps serde_json's line and column.
macro_rules! lenient {
    (@key $field:ident) => { stringify!($field) };
    (@key $field:ident $key:literal) => { $key };
    (struct $name:ident { $($field:ident $(= $key:literal)?: $ty:ty),* $(,)? }) => {
        #[derive(Debug, Default)]
        struct $name {
            $($field: $ty),*
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct Fields;
                impl<'de> serde::de::Visitor<'de> for Fields {
                    type Value = $name;
                    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                        f.write_str("an object")
                    }
                    fn visit_map<A: serde::de::MapAccess<'de>>(
                        self,
                        mut map: A,
                    ) -> Result<$name, A::Error> {
                        let mut out = $name::default();
                        while let Some(key) = map.next_key::<String>()? {
                            match key.as_str() {
                                $(lenient!(@key $field $($key)?) => out.$field = map.next_value()?,)*
                                _ => {
                                    map.next_value::<serde::de::IgnoredAny>()?;
                                }
                            }
                        }
                        Ok(out)
                    }
                }
                d.deserialize_map(Fields)
            }
        }
    };
}

lenient!(
    struct RawMetadata {
        description: Option<String>,
        parameters: Option<IndexMap<String, RawParam>>,
        input_method: Option<InputMethod>,
        implementations: Vec<RawImplementation>,
        files: Vec<String>,
        supports_noop: bool,
        private: bool,
    }
);

lenient!(struct RawParam {
    ty = "type": Option<String>,
    description: Option<String>,
    sensitive: bool,
    default: Option<serde_json::Value>,
});

lenient!(
    struct RawImplementation {
        name: String,
        requirements: Vec<String>,
        input_method: Option<InputMethod>,
        files: Vec<String>,
    }
);

/// Types drover knows, with the number of type arguments they take.
const TYPES: &[&str] = &[
    "Any",
    "Array",
    "Boolean",
    "Data",
    "Enum",
    "Float",
    "Hash",
    "Integer",
    "NotUndef",
    "Numeric",
    "Optional",
    "Pattern",
    "Scalar",
    "Sensitive",
    "String",
    "Tuple",
    "Undef",
    "Variant",
];

/// Parse a Puppet type as task metadata writes it: `Optional[String[1]]`,
/// `Enum[start, "stop"]`, `Pattern[/^web\d+$/]`, `Integer[1, default]`.
pub(crate) fn parse_type(text: &str) -> Result<Type, String> {
    let mut p = TypeParser { s: text, at: 0 };
    let ty = p.ty()?;
    p.skip();
    if p.at < text.len() {
        return Err(format!("unexpected `{}`", &text[p.at..]));
    }
    Ok(ty)
}

struct TypeParser<'a> {
    s: &'a str,
    at: usize,
}

impl TypeParser<'_> {
    fn skip(&mut self) {
        while self.rest().starts_with(char::is_whitespace) {
            self.at += 1;
        }
    }

    fn rest(&self) -> &str {
        &self.s[self.at..]
    }

    fn eat(&mut self, c: char) -> bool {
        self.skip();
        if self.rest().starts_with(c) {
            self.at += c.len_utf8();
            true
        } else {
            false
        }
    }

    fn word(&mut self) -> Option<String> {
        self.skip();
        let len = self
            .rest()
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
            .unwrap_or(self.rest().len());
        if len == 0 {
            return None;
        }
        let w = self.rest()[..len].to_string();
        self.at += len;
        Some(w)
    }

    fn ty(&mut self) -> Result<Type, String> {
        let name = self.word().ok_or("expected a type name")?;
        if !TYPES.contains(&name.as_str()) {
            let hint = crate::diagnostic::did_you_mean(&name, TYPES.iter().copied())
                .map(|h| format!(" (did you mean `{h}`?)"))
                .unwrap_or_default();
            return Err(format!("unknown type `{name}`{hint}"));
        }
        let mut args = Vec::new();
        if self.eat('[') {
            loop {
                args.push(spanned(self.arg(&name)?));
                if self.eat(']') {
                    break;
                }
                if !self.eat(',') {
                    return Err(format!("expected `,` or `]` in `{name}[...]`"));
                }
                if self.eat(']') {
                    break;
                }
            }
        }
        Ok(Type {
            name: spanned(name),
            args,
        })
    }

    fn arg(&mut self, of: &str) -> Result<TypeArg, String> {
        self.skip();
        let rest = self.rest();
        if let Some(body) = rest.strip_prefix('/') {
            let end = body
                .char_indices()
                .scan(false, |escaped, (i, c)| {
                    let stop = c == '/' && !*escaped;
                    *escaped = c == '\\' && !*escaped;
                    Some((i, stop))
                })
                .find(|(_, stop)| *stop)
                .map(|(i, _)| i)
                .ok_or("unterminated regular expression")?;
            let re = body[..end].replace("\\/", "/");
            regex::Regex::new(&re).map_err(|e| format!("bad regular expression: {e}"))?;
            self.at += end + 2;
            return Ok(TypeArg::Regex(re));
        }
        if let Some(q) = rest.chars().next().filter(|c| *c == '"' || *c == '\'') {
            let body = &rest[1..];
            let end = body.find(q).ok_or("unterminated string")?;
            let s = body[..end].to_string();
            self.at += end + 2;
            return Ok(TypeArg::Str(s));
        }
        if rest.starts_with(|c: char| c.is_ascii_digit() || c == '-') {
            let len = 1 + rest[1..]
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(rest.len() - 1);
            let n = rest[..len]
                .parse()
                .map_err(|_| format!("bad number `{}`", &rest[..len]))?;
            self.at += len;
            return Ok(TypeArg::Int(n));
        }
        if rest.starts_with(|c: char| c.is_ascii_uppercase()) && of != "Enum" {
            return Ok(TypeArg::Type(self.ty()?));
        }
        match self.word() {
            Some(w) => Ok(TypeArg::Word(w)),
            None => Err(format!("unexpected `{}` in `{of}[...]`", self.rest())),
        }
    }
}

fn spanned<T>(node: T) -> Spanned<T> {
    Spanned::new(node, Span::default())
}

/// The executables of `task` in `dir` (any extension but `.json` and
/// `.md`), sorted; `None` when `dir` cannot be read.
fn executables(dir: &Path, task: &str) -> Option<Vec<PathBuf>> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.is_file()
                && p.file_stem().and_then(|s| s.to_str()) == Some(task)
                && p.extension().is_none_or(|e| e != "json" && e != "md")
        })
        .collect();
    found.sort();
    Some(found)
}

/// A task's metadata file, with the line and column of a JSON mistake.
fn read_metadata(path: &Path) -> Result<RawMetadata, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    serde_json::from_str::<RawMetadata>(&text).map_err(|e| {
        format!(
            "{}:{}:{}: invalid task metadata: {e}",
            path.display(),
            e.line(),
            e.column()
        )
    })
}

/// The declared parameters: valid names, types that parse, defaults that fit.
fn parameters(raw: IndexMap<String, RawParam>) -> Result<IndexMap<String, Param>, String> {
    let mut params = IndexMap::new();
    for (k, p) in raw {
        if !valid_parameter(&k) {
            return Err(format!("`{k}` is not a valid parameter name"));
        }
        let ty_text = p.ty.unwrap_or_else(|| "Any".into());
        let ty =
            parse_type(&ty_text).map_err(|e| format!("parameter `{k}`: type `{ty_text}`: {e}"))?;
        if let Some(d) = &p.default
            && let Err(why) = crate::value::types::coerce(Value::from_json(d), &ty)
        {
            return Err(format!("parameter `{k}`: default does not fit: {why}"));
        }
        params.insert(
            k,
            Param {
                sensitive: p.sensitive || ty.name.node == "Sensitive",
                ty,
                ty_text,
                description: p.description,
                default: p.default,
            },
        );
    }
    Ok(params)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_is_read_as_bolt_reads_it() {
        let read = |text: &str| serde_json::from_str::<RawMetadata>(text);
        // Unknown keys are ignored, and a key given twice takes its last value.
        let m = read(
            r#"{"extensions": {"x": [1]}, "puppet_task_version": 1, "input_method": "stdin",
                "implementations": [{"name": "a.sh", "input_method": "stdin", "files": [],
                "input_method": "powershell", "other": null}], "input_method": "both"}"#,
        )
        .unwrap();
        assert_eq!(m.input_method, Some(InputMethod::Both));
        assert_eq!(
            m.implementations[0].input_method,
            Some(InputMethod::Powershell)
        );
        // Other mistakes keep their line and column.
        let e = read("{\n  \"input_method\": \"telepathy\"}").unwrap_err();
        assert_eq!((e.line(), e.column()), (2, 29), "{e}");
        assert!(e.to_string().contains("unknown variant `telepathy`"), "{e}");
        let e = read("{\"parameters\": {\"a\": {\"sensitive\": \"yes\"}}}").unwrap_err();
        assert!(e.to_string().contains("expected a boolean"), "{e}");
    }

    #[test]
    fn puppet_types_parse_and_check_values() {
        let fits = |ty: &str, v: serde_json::Value| {
            crate::value::types::coerce(Value::from_json(&v), &parse_type(ty).unwrap()).is_ok()
        };
        assert!(fits("String[1]", "x".into()));
        assert!(!fits("String[1]", "".into()));
        assert!(fits("Integer[1, 10]", 10.into()));
        assert!(!fits("Integer[1, 10]", 11.into()));
        assert!(fits("Integer[default, 10]", (-5).into()));
        assert!(fits("Enum[start, 'stop']", "stop".into()));
        assert!(!fits("Enum[start, stop]", "restart".into()));
        assert!(fits("Pattern[/^web\\d+$/]", "web12".into()));
        assert!(!fits("Pattern[/^web\\d+$/, /^db/]", "lb1".into()));
        assert!(fits("Optional[Pattern[/a\\/b/]]", "a/b".into()));
        assert!(fits("Optional[String]", serde_json::Value::Null));
        assert!(fits("Variant[Integer, Enum[all]]", "all".into()));
        assert!(fits("Array[String, 1, 2]", serde_json::json!(["a"])));
        assert!(!fits("Array[String, 1, 2]", serde_json::json!([])));
        assert!(fits("Hash[String, Integer]", serde_json::json!({"a": 1})));
        assert!(fits("Data", serde_json::json!({"a": [1, null]})));
        assert!(!fits("NotUndef", serde_json::Value::Null));
        assert!(fits("Tuple[String, Integer]", serde_json::json!(["a", 1])));
        assert!(!fits(
            "Tuple[String, Integer]",
            serde_json::json!(["a", "b"])
        ));
        for bad in [
            "Strin",
            "String[",
            "Pattern[/(/]",
            "Integer[1 2]",
            "String]",
        ] {
            assert!(parse_type(bad).is_err(), "{bad}");
        }
        assert!(
            parse_type("Strng")
                .unwrap_err()
                .contains("did you mean `String`")
        );
    }
}
