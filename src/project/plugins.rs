//! Bolt's inventory plugins: a hash with the key `_plugin`, anywhere in the
//! inventory, is replaced by what its plugin returns, once, when the
//! inventory is loaded. The plugins: `env_var`, `prompt`, `pkcs7`, `yaml`,
//! `task`, and any module whose `bolt_plugin.json` marks it a plugin (its
//! `resolve_reference` task). Errors name where the `_plugin` hash is.
//!
//! Values from `prompt` and `pkcs7` are secrets: they travel through the
//! resolved data wrapped by [`secret`], and the inventory makes them
//! `Sensitive` (or, in `config`, plain values it never shows).

use std::collections::HashMap;
use std::path::Path;

use serde::Deserialize;
use serde_json::{Map, Value as Json};
use serde_saphyr::{Location, Spanned};

use crate::project::tasks::{Catalog, InputMethod};

/// The plugins drover has besides module plugins, for did-you-mean.
pub const BUILT_IN: [&str; 5] = ["env_var", "prompt", "pkcs7", "yaml", "task"];

/// How long a plugin task may run before it is stopped.
const TASK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(300);

/// The key of the one-key object that marks a secret in resolved data: no
/// YAML or JSON key a user writes starts with a NUL.
const SECRET: &str = "\u{0}sensitive";

/// `value`, marked secret.
pub fn secret(value: Json) -> Json {
    let mut m = Map::new();
    m.insert(SECRET.into(), value);
    Json::Object(m)
}

/// The value inside a secret mark.
pub fn as_secret(value: &Json) -> Option<&Json> {
    match value {
        Json::Object(m) if m.len() == 1 => m.get(SECRET),
        _ => None,
    }
}

/// `value` with every secret mark removed (where data cannot stay secret).
pub fn reveal(value: Json) -> Json {
    match value {
        Json::Object(m) => {
            if m.len() == 1 && m.contains_key(SECRET) {
                return reveal(m.into_iter().next().map(|(_, v)| v).unwrap_or_default());
            }
            Json::Object(m.into_iter().map(|(k, v)| (k, reveal(v))).collect())
        }
        Json::Array(a) => Json::Array(a.into_iter().map(reveal).collect()),
        other => other,
    }
}

/// Resolved data as a plan value: what came from a secret is Sensitive.
pub fn to_value(v: &Json) -> crate::value::Value {
    use crate::value::Value;
    if let Some(inner) = as_secret(v) {
        return Value::Sensitive(crate::value::Secret::new(Value::from_json(&reveal(
            inner.clone(),
        ))));
    }
    match v {
        Json::Object(m) if has_secrets(v) => {
            Value::hash(m.iter().map(|(k, v)| (k.clone(), to_value(v))).collect())
        }
        Json::Array(a) if has_secrets(v) => Value::array(a.iter().map(to_value).collect()),
        v => Value::from_json(v),
    }
}

/// The texts of every secret in `value` (for scrubbing messages).
pub fn secret_texts(value: &Json) -> Vec<String> {
    fn walk(v: &Json, out: &mut Vec<String>) {
        if let Some(inner) = as_secret(v) {
            match inner {
                Json::String(s) if !s.is_empty() => out.push(s.clone()),
                Json::String(_) => {}
                other => out.push(other.to_string()),
            }
            return;
        }
        match v {
            Json::Object(m) => m.values().for_each(|v| walk(v, out)),
            Json::Array(a) => a.iter().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(value, &mut out);
    // Longest first, so that a secret inside another is not left half shown.
    out.sort_by_key(|s| std::cmp::Reverse(s.len()));
    out
}

/// `text` with every one of `secrets` replaced by `[sensitive]`.
pub fn scrub(mut text: String, secrets: &[String]) -> String {
    for s in secrets {
        if text.contains(s.as_str()) {
            text = text.replace(s.as_str(), "[sensitive]");
        }
    }
    text
}

/// Whether `value` holds a secret mark anywhere.
pub fn has_secrets(value: &Json) -> bool {
    match value {
        Json::Object(m) => m.contains_key(SECRET) || m.values().any(has_secrets),
        Json::Array(a) => a.iter().any(has_secrets),
        _ => false,
    }
}

/// Whether `value` holds a `_plugin` hash anywhere.
pub fn has_references(value: &Json) -> bool {
    match value {
        Json::Object(m) => m.contains_key("_plugin") || m.values().any(has_references),
        Json::Array(a) => a.iter().any(has_references),
        _ => false,
    }
}

/// YAML data as written, each value with where it is, so that a plugin's
/// error can name the line and column of its `_plugin` hash.
#[derive(Debug)]
pub enum Data {
    /// `~`, `null`.
    Null,
    /// `true`, `false`.
    Bool(bool),
    /// A negative integer.
    Int(i64),
    /// A non-negative integer.
    Uint(u64),
    /// A float.
    Float(f64),
    /// A string.
    Str(String),
    /// A sequence.
    Seq(Vec<Spanned<Data>>),
    /// A mapping, in order.
    Map(Vec<(String, Spanned<Data>)>),
}

impl<'de> Deserialize<'de> for Data {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Data;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("YAML data")
            }
            fn visit_unit<E>(self) -> Result<Data, E> {
                Ok(Data::Null)
            }
            fn visit_none<E>(self) -> Result<Data, E> {
                Ok(Data::Null)
            }
            fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Data, D::Error> {
                Data::deserialize(d)
            }
            fn visit_bool<E>(self, b: bool) -> Result<Data, E> {
                Ok(Data::Bool(b))
            }
            fn visit_i64<E>(self, n: i64) -> Result<Data, E> {
                Ok(if n < 0 {
                    Data::Int(n)
                } else {
                    Data::Uint(n as u64)
                })
            }
            fn visit_u64<E>(self, n: u64) -> Result<Data, E> {
                Ok(Data::Uint(n))
            }
            fn visit_f64<E>(self, n: f64) -> Result<Data, E> {
                Ok(Data::Float(n))
            }
            fn visit_str<E>(self, s: &str) -> Result<Data, E> {
                Ok(Data::Str(s.to_string()))
            }
            fn visit_string<E>(self, s: String) -> Result<Data, E> {
                Ok(Data::Str(s))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Data, A::Error> {
                let mut out = Vec::new();
                while let Some(v) = seq.next_element()? {
                    out.push(v);
                }
                Ok(Data::Seq(out))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Data, A::Error> {
                let mut out: Vec<(String, Spanned<Data>)> = Vec::new();
                while let Some(k) = map.next_key::<String>()? {
                    let v = map.next_value()?;
                    // A key given twice: the last wins, as in the inventory.
                    out.retain(|(seen, _)| *seen != k);
                    out.push((k, v));
                }
                Ok(Data::Map(out))
            }
        }
        d.deserialize_any(Visit)
    }
}

/// A plugin's error, at its `_plugin` hash.
#[derive(Debug)]
pub struct PluginError {
    /// Where the hash is (line and column from 1; 0 when unknown).
    pub line: u64,
    /// Its column.
    pub column: u64,
    /// What went wrong, naming the plugin.
    pub message: String,
}

/// Resolves plugin references for one run: each prompt is asked once.
pub struct Resolver<'a> {
    tasks: &'a Catalog,
    prompts: HashMap<String, String>,
    /// How many plugin calls are under way, one inside the other.
    depth: usize,
}

/// Plugin calls inside one another (a YAML file whose data refers to a
/// plugin whose data ...): more is a loop.
const MAX_DEPTH: usize = 16;

impl<'a> Resolver<'a> {
    /// Plugins of the project of `tasks` (its root, keys and modules).
    pub fn new(tasks: &'a Catalog) -> Self {
        Resolver {
            tasks,
            prompts: HashMap::new(),
            depth: 0,
        }
    }

    /// `data` as JSON with every `_plugin` hash replaced by what its plugin
    /// returns; a plugin in a sequence that returns a list is spliced in
    /// (a target list entry that yields several targets). Every error is
    /// collected, each at its hash.
    pub fn resolve(&mut self, data: &Spanned<Data>, errors: &mut Vec<PluginError>) -> Json {
        match &data.value {
            Data::Null => Json::Null,
            Data::Bool(b) => Json::Bool(*b),
            Data::Int(n) => Json::from(*n),
            Data::Uint(n) => Json::from(*n),
            Data::Float(f) => serde_json::Number::from_f64(*f).map_or(Json::Null, Json::Number),
            Data::Str(s) => Json::String(s.clone()),
            Data::Seq(items) => {
                let mut out = Vec::new();
                for item in items {
                    let is_ref = matches!(&item.value, Data::Map(m) if m.iter().any(|(k, _)| k == "_plugin"));
                    match self.resolve(item, errors) {
                        Json::Array(list) if is_ref => out.extend(list),
                        v => out.push(v),
                    }
                }
                Json::Array(out)
            }
            Data::Map(entries) => {
                let mut map = Map::new();
                for (k, v) in entries {
                    map.insert(k.clone(), self.resolve(v, errors));
                }
                if !map.contains_key("_plugin") {
                    return Json::Object(map);
                }
                match self.call(map) {
                    Ok(v) => v,
                    Err(message) => {
                        errors.push(at(&data.referenced, message));
                        Json::Null
                    }
                }
            }
        }
    }

    /// Plugin references in data that has no positions (a plan's data, what
    /// a plugin returned): the first error, without a line.
    pub fn resolve_json(&mut self, value: Json) -> Result<Json, String> {
        match value {
            Json::Array(items) => {
                let mut out = Vec::new();
                for item in items {
                    let is_ref = item.get("_plugin").is_some();
                    match self.resolve_json(item)? {
                        Json::Array(list) if is_ref => out.extend(list),
                        v => out.push(v),
                    }
                }
                Ok(Json::Array(out))
            }
            Json::Object(m) => {
                let mut map = Map::new();
                for (k, v) in m {
                    map.insert(k, self.resolve_json(v)?);
                }
                if map.contains_key("_plugin") {
                    self.call(map)
                } else {
                    Ok(Json::Object(map))
                }
            }
            other => Ok(other),
        }
    }

    /// Run the plugin of one `_plugin` hash (its parameters resolved).
    fn call(&mut self, mut params: Map<String, Json>) -> Result<Json, String> {
        let name = match params.remove("_plugin") {
            Some(Json::String(s)) => s,
            Some(other) => return Err(format!("`_plugin` must name a plugin, not {other}")),
            None => unreachable!("called on a `_plugin` hash"),
        };
        // Bolt's cache settings: drover resolves once per run anyway.
        params.remove("_cache");
        if self.depth >= MAX_DEPTH {
            return Err(format!(
                "plugin `{name}`: plugin references nest more than {MAX_DEPTH} deep (does a file refer to itself?)"
            ));
        }
        self.depth += 1;
        let value = self.call_plugin(&name, params);
        self.depth -= 1;
        value
    }

    fn call_plugin(&mut self, name: &str, params: Map<String, Json>) -> Result<Json, String> {
        let got = match name {
            "env_var" => env_var(&params),
            "prompt" => self.prompt(&params),
            "pkcs7" => self.pkcs7(&params),
            "yaml" => self.yaml(&params),
            "task" => self.task(&params),
            module => self.module(module, params),
        };
        let value = got.map_err(|why| format!("plugin `{name}`: {why}"))?;
        // What a plugin returns may refer to plugins too (a YAML file's data).
        if has_references(&value) {
            return self
                .resolve_json(value)
                .map_err(|why| format!("plugin `{name}`'s data: {why}"));
        }
        Ok(value)
    }

    fn prompt(&mut self, params: &Map<String, Json>) -> Result<Json, String> {
        let message = string(params, "message")?;
        if let Some(answer) = self.prompts.get(message) {
            return Ok(secret(Json::String(answer.clone())));
        }
        let answer = ask(message, false)?;
        self.prompts.insert(message.to_string(), answer.clone());
        Ok(secret(Json::String(answer)))
    }

    fn pkcs7(&self, params: &Map<String, Json>) -> Result<Json, String> {
        let value = string(params, "encrypted_value")?;
        let keys = crate::project::pkcs7::Keys::of(self.tasks.project());
        Ok(secret(Json::String(keys.decrypt(value)?)))
    }

    fn yaml(&self, params: &Map<String, Json>) -> Result<Json, String> {
        let path = self.tasks.project().under_root(string(params, "filepath")?);
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        serde_saphyr::from_str::<Json>(&text).map_err(|e| {
            let first = e.to_string();
            format!(
                "{}: {}",
                path.display(),
                first.lines().next().unwrap_or("invalid YAML")
            )
        })
    }

    fn task(&self, params: &Map<String, Json>) -> Result<Json, String> {
        let task = string(params, "task")?;
        let parameters = match params.get("parameters") {
            None | Some(Json::Null) => Map::new(),
            Some(Json::Object(m)) => m.clone(),
            Some(other) => return Err(format!("`parameters` must be a hash, not {other}")),
        };
        let result = run_local_task(self.tasks, task, parameters)?;
        result
            .get("value")
            .cloned()
            .ok_or_else(|| format!("task `{task}` printed no `value` (its result: {result})"))
    }

    /// A module plugin: its `resolve_reference` task with the hash's other
    /// keys and `_boltdir`.
    fn module(&self, module: &str, mut params: Map<String, Json>) -> Result<Json, String> {
        let project = self.tasks.project();
        let Some(dir) = project.module(module) else {
            let names: Vec<String> = project.modules().into_iter().map(|(n, _)| n).collect();
            let hint = crate::diagnostic::did_you_mean(
                module,
                BUILT_IN
                    .iter()
                    .copied()
                    .chain(names.iter().map(String::as_str)),
            )
            .map(|h| format!(" (did you mean `{h}`?)"))
            .unwrap_or_default();
            return Err(format!(
                "no such plugin: not one of {} and no module `{module}` on the module path{hint}",
                BUILT_IN.join(", ")
            ));
        };
        if !dir.join("bolt_plugin.json").is_file() {
            return Err(format!(
                "module `{module}` ({}) is not a plugin: it has no bolt_plugin.json",
                dir.display()
            ));
        }
        let root = project.root.canonicalize().unwrap_or(project.root.clone());
        params.insert("_boltdir".into(), Json::String(root.display().to_string()));
        let task = format!("{module}::resolve_reference");
        let result = run_local_task(self.tasks, &task, params)?;
        result
            .get("value")
            .cloned()
            .ok_or_else(|| format!("task `{task}` printed no `value` (its result: {result})"))
    }
}

fn at(loc: &Location, message: String) -> PluginError {
    PluginError {
        line: loc.line(),
        column: loc.column(),
        message,
    }
}

fn string<'m>(params: &'m Map<String, Json>, key: &str) -> Result<&'m str, String> {
    match params.get(key) {
        Some(Json::String(s)) => Ok(s),
        Some(other) => Err(format!("`{key}` must be a string, not {other}")),
        None => Err(format!("needs `{key}`")),
    }
}

fn flag(params: &Map<String, Json>, key: &str) -> Result<bool, String> {
    match params.get(key) {
        None | Some(Json::Null) => Ok(false),
        Some(Json::Bool(b)) => Ok(*b),
        Some(other) => Err(format!("`{key}` must be true or false, not {other}")),
    }
}

fn env_var(params: &Map<String, Json>) -> Result<Json, String> {
    let var = string(params, "var")?;
    let json = flag(params, "json")?;
    match std::env::var(var) {
        Ok(v) if json => serde_json::from_str(&v)
            .map_err(|e| format!("environment variable `{var}` is not JSON: {e}")),
        Ok(v) => Ok(Json::String(v)),
        Err(std::env::VarError::NotUnicode(_)) => {
            Err(format!("environment variable `{var}` is not UTF-8"))
        }
        Err(std::env::VarError::NotPresent) => match params.get("default") {
            Some(d) => Ok(d.clone()),
            None if flag(params, "optional")? => Ok(Json::Null),
            None => Err(format!(
                "environment variable `{var}` is not set (give it a `default`, or `optional: true`)"
            )),
        },
    }
}

/// Ask on the terminal that is standard input, as Bolt does (with echo off
/// unless `echo`); when standard input is not a terminal, an error.
pub fn ask(message: &str, echo: bool) -> Result<String, String> {
    use std::io::{BufRead, IsTerminal, Write};
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return Err(format!(
            "cannot ask \"{message}\": there is no terminal (standard input is not one)"
        ));
    }
    let fd = 0;
    // SAFETY: `termios` is plain data that tcgetattr fills in; fd 0 is open.
    let mut saved: libc::termios = unsafe { std::mem::zeroed() };
    // SAFETY: as above; the pointer is to a live local.
    if unsafe { libc::tcgetattr(fd, &mut saved) } != 0 {
        return Err(format!("cannot ask \"{message}\": there is no terminal"));
    }
    let mut quiet = saved;
    if !echo {
        quiet.c_lflag &= !libc::ECHO;
        quiet.c_lflag |= libc::ECHONL;
    }
    // SAFETY: fd 0 is open and `quiet` a valid termios.
    unsafe { libc::tcsetattr(fd, libc::TCSANOW, &quiet) };
    // The question goes to the terminal even when output is redirected.
    let mut out: Box<dyn Write> = match std::fs::OpenOptions::new().write(true).open("/dev/tty") {
        Ok(tty) => Box::new(tty),
        Err(_) => Box::new(std::io::stderr()),
    };
    let _ = write!(out, "{message}: ");
    let _ = out.flush();
    let mut line = String::new();
    let read = stdin.lock().read_line(&mut line);
    // SAFETY: restores what tcgetattr read.
    unsafe { libc::tcsetattr(fd, libc::TCSANOW, &saved) };
    read.map_err(|e| format!("cannot read the answer: {e}"))?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

/// Run task `name` on the controller, as Bolt runs plugin tasks: its files
/// laid out in a private directory as on a target, its parameters checked
/// against its metadata. Returns the task's JSON result; a failure (`_error`,
/// a non-zero exit, output that is not a JSON object, the timeout) is an
/// error with what the task said.
pub fn run_local_task(
    tasks: &Catalog,
    name: &str,
    params: Map<String, Json>,
) -> Result<Json, String> {
    let task = tasks.get(name)?;
    let given: indexmap::IndexMap<String, (crate::value::Value, crate::source::Span)> = params
        .iter()
        .filter(|(k, _)| !k.starts_with('_'))
        .map(|(k, v)| {
            let v = crate::value::Value::from_json(&reveal(v.clone()));
            (k.clone(), (v, crate::source::Span::default()))
        })
        .collect();
    let bound = task.bind(given, false).map_err(|(why, _)| why)?;
    let implementation = task.implementation_for(&["shell".to_string()])?;
    if implementation.input_method == InputMethod::Powershell {
        return Err(format!(
            "task `{name}`'s implementation `{}` takes PowerShell arguments",
            implementation.name
        ));
    }
    let bundle = implementation.bundle(tasks.project(), &task.module)?;
    let dir = private_dir()?;
    let staged = (|| {
        for (local, remote) in &bundle.files {
            let to = dir.join(remote);
            if let Some(parent) = to.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::copy(local, &to)?;
        }
        Ok::<_, std::io::Error>(())
    })();
    let result = staged
        .map_err(|e| format!("cannot stage task `{name}`: {e}"))
        .and_then(|()| {
            let mut input: Map<String, Json> = bound
                .iter()
                .map(|(k, v)| (k.clone(), reveal_value(v)))
                .collect();
            for (k, v) in &params {
                if k.starts_with('_') {
                    input.insert(k.clone(), reveal(v.clone()));
                }
            }
            input.insert("_task".into(), Json::String(name.to_string()));
            if !implementation.files.is_empty() {
                input.insert(
                    "_installdir".into(),
                    Json::String(dir.display().to_string()),
                );
            }
            let exe = dir.join(&bundle.files[0].1);
            execute(name, &exe, implementation.input_method, &input)
        });
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn reveal_value(v: &crate::value::Value) -> Json {
    match v {
        crate::value::Value::Sensitive(s) => s.reveal().to_json(),
        v => v.to_json(),
    }
}

/// A new directory only its owner can enter.
fn private_dir() -> Result<std::path::PathBuf, String> {
    use std::os::unix::fs::DirBuilderExt;
    static COUNT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("drover-plugin-{}-{n}", std::process::id()));
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(&dir)
        .map_err(|e| format!("cannot make {}: {e}", dir.display()))?;
    Ok(dir)
}

fn execute(
    name: &str,
    exe: &Path,
    method: InputMethod,
    input: &Map<String, Json>,
) -> Result<Json, String> {
    use std::io::{Read, Write};
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(exe, std::fs::Permissions::from_mode(0o700));
    let mut cmd = std::process::Command::new(exe);
    cmd.stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    if method != InputMethod::Stdin {
        for (k, v) in input {
            let text = match v {
                Json::String(s) => s.clone(),
                other => other.to_string(),
            };
            cmd.env(format!("PT_{k}"), text);
        }
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot start task `{name}`: {e}"))?;
    let stdin = child.stdin.take();
    let body = if method != InputMethod::Environment {
        serde_json::to_vec(input).unwrap_or_default()
    } else {
        Vec::new()
    };
    // Write and read on threads, so that a task that does not read its
    // input or fills its pipes cannot stall the controller.
    let writer = std::thread::spawn(move || {
        if let Some(mut s) = stdin {
            let _ = s.write_all(&body);
        }
    });
    let mut out_pipe = child.stdout.take();
    let mut err_pipe = child.stderr.take();
    let out = std::thread::spawn(move || {
        let mut b = Vec::new();
        if let Some(p) = out_pipe.as_mut() {
            let _ = p.read_to_end(&mut b);
        }
        b
    });
    let err = std::thread::spawn(move || {
        let mut b = Vec::new();
        if let Some(p) = err_pipe.as_mut() {
            let _ = p.read_to_end(&mut b);
        }
        b
    });
    let deadline = std::time::Instant::now() + TASK_TIMEOUT;
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break Some(s),
            Ok(None) if std::time::Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Ok(None) => std::thread::sleep(std::time::Duration::from_millis(5)),
            Err(e) => return Err(format!("task `{name}`: {e}")),
        }
    };
    let _ = writer.join();
    let stdout = String::from_utf8_lossy(&out.join().unwrap_or_default()).into_owned();
    let stderr = String::from_utf8_lossy(&err.join().unwrap_or_default()).into_owned();
    let Some(status) = status else {
        return Err(format!(
            "task `{name}` did not finish in {} s",
            TASK_TIMEOUT.as_secs()
        ));
    };
    let parsed = serde_json::from_str::<Json>(stdout.trim()).ok();
    if let Some(e) = parsed.as_ref().and_then(|v| v.get("_error")) {
        let msg = e.get("msg").and_then(Json::as_str).unwrap_or("failed");
        return Err(format!("task `{name}` failed: {msg}"));
    }
    if !status.success() {
        let said = if stderr.trim().is_empty() {
            stdout.trim()
        } else {
            stderr.trim()
        };
        return Err(format!(
            "task `{name}` exited with {}: {}",
            status.code().map_or("a signal".into(), |c| c.to_string()),
            said.lines().last().unwrap_or_default()
        ));
    }
    match parsed {
        Some(v @ Json::Object(_)) => Ok(v),
        _ => Err(format!(
            "task `{name}` printed no JSON object: {}",
            stdout.trim().lines().next().unwrap_or("(nothing)")
        )),
    }
}
