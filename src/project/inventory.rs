//! Bolt inventory v2 (spec §9): groups are roles, targets carry merged
//! `config`, `vars` and `facts`, and target specs resolve names, aliases,
//! groups, globs, comma lists and ad-hoc URIs.
//!
//! Precedence, as in Bolt: a target's own data wins over its groups'; a
//! nested group's over its parent's; among unrelated groups the one that
//! comes first in the file wins. Hashes merge deeply.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use indexmap::IndexMap;
use serde::Deserialize;
use serde_json::{Map, Value as Json};
use serde_saphyr::Spanned;

use crate::diagnostic::{Diagnostic, did_you_mean};
use crate::project::plugins::{self, Data, Resolver};
use crate::source::{FileId, SourceMap, Span};
use crate::value::{Hash, Target, TransportKind};

/// A loaded inventory.
#[derive(Debug, Default)]
pub struct Inventory {
    targets: Vec<Arc<Target>>,
    groups: IndexMap<String, Vec<usize>>,
    aliases: HashMap<String, usize>,
    /// Top-level config, for ad-hoc targets.
    top: Layer,
}

#[derive(Clone, Debug, Default)]
struct Layer {
    config: Map<String, Json>,
    vars: Map<String, Json>,
    facts: Map<String, Json>,
    features: Vec<String>,
    transport: Option<TransportKind>,
}

// ---- the YAML shape

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawGroupData {
    name: Option<Spanned<String>>,
    targets: ListOrPlugin<Spanned<RawTarget>>,
    groups: ListOrPlugin<Spanned<RawGroupData>>,
    config: Option<RawConfig>,
    vars: Option<Map<String, Json>>,
    facts: Option<Map<String, Json>>,
    #[allow(dead_code)]
    version: Option<Json>,
    features: Option<Spanned<Json>>,
}

/// A list, or (in the file as written) a plugin reference that stands for
/// one, read as empty until the plugin has returned the list.
struct ListOrPlugin<T>(Vec<T>);

impl<T> Default for ListOrPlugin<T> {
    fn default() -> Self {
        ListOrPlugin(Vec::new())
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for ListOrPlugin<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for Visit<T> {
            type Value = ListOrPlugin<T>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a list, or a `_plugin` reference")
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(ListOrPlugin(Vec::new()))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some(v) = seq.next_element()? {
                    out.push(v);
                }
                Ok(ListOrPlugin(out))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Self::Value, A::Error> {
                let mut plugin = false;
                while let Some(k) = map.next_key::<String>()? {
                    plugin |= k == "_plugin";
                    map.next_value::<serde::de::IgnoredAny>()?;
                }
                if plugin {
                    Ok(ListOrPlugin(Vec::new()))
                } else {
                    Err(serde::de::Error::custom(
                        "expected a list (or a `_plugin` reference), found a hash",
                    ))
                }
            }
        }
        d.deserialize_any(Visit(std::marker::PhantomData))
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawTarget {
    Name(String),
    Full(Box<RawTargetData>),
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawTargetData {
    uri: Option<String>,
    name: Option<String>,
    alias: Option<Aliases>,
    config: Option<RawConfig>,
    vars: Option<Map<String, Json>>,
    facts: Option<Map<String, Json>>,
    features: Option<Spanned<Json>>,
    /// A plugin reference in a target list (resolved before the targets are
    /// read, so seen here only when checking the file as written).
    #[serde(rename = "_plugin")]
    plugin: Option<Json>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Aliases {
    One(String),
    Many(Vec<String>),
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawConfig {
    /// A name, or (in the file as written) a plugin reference for one.
    transport: Option<Spanned<Json>>,
    #[serde(flatten)]
    sections: Map<String, Json>,
}

/// Deep merge: `over` wins, hashes merge key by key.
fn merge(base: &mut Map<String, Json>, over: &Map<String, Json>) {
    for (k, v) in over {
        match (base.get_mut(k), v) {
            (Some(Json::Object(b)), Json::Object(o)) => merge(b, o),
            _ => {
                base.insert(k.clone(), v.clone());
            }
        }
    }
}

/// `vars` or `facts` as plan values: what came from a secret is Sensitive.
fn to_hash(m: &Map<String, Json>) -> Hash {
    m.iter()
        .map(|(k, v)| (k.clone(), plugins::to_value(v)))
        .collect()
}

/// Secret marks in `config` removed (transports need the values), and the
/// paths where they were.
fn config_secrets(v: &mut Json, path: &mut Vec<String>, found: &mut Vec<Vec<String>>) {
    if let Some(inner) = plugins::as_secret(v) {
        *v = plugins::reveal(inner.clone());
        found.push(path.clone());
        return;
    }
    if let Json::Object(m) = v {
        for (k, v) in m.iter_mut() {
            path.push(k.clone());
            config_secrets(v, path, found);
            path.pop();
        }
    } else if let Json::Array(a) = v {
        for (i, v) in a.iter_mut().enumerate() {
            path.push(i.to_string());
            config_secrets(v, path, found);
            path.pop();
        }
    }
}

/// Resolved inventory data with secret marks kept only in `config`, `vars`
/// and `facts` (a name or URI from a secret is not kept secret).
fn secrets_in_data_only(doc: Json, target: bool) -> Json {
    let Json::Object(m) = doc else {
        return plugins::reveal(doc);
    };
    Json::Object(
        m.into_iter()
            .map(|(k, v)| {
                let v = match k.as_str() {
                    "config" => match v {
                        Json::Object(mut c) => {
                            if let Some(t) = c.get_mut("transport") {
                                *t = plugins::reveal(t.take());
                            }
                            Json::Object(c)
                        }
                        v => v,
                    },
                    "vars" | "facts" => v,
                    "targets" if !target => match v {
                        Json::Array(ts) => Json::Array(
                            ts.into_iter()
                                .map(|t| secrets_in_data_only(t, true))
                                .collect(),
                        ),
                        v => plugins::reveal(v),
                    },
                    "groups" if !target => match v {
                        Json::Array(gs) => Json::Array(
                            gs.into_iter()
                                .map(|g| secrets_in_data_only(g, false))
                                .collect(),
                        ),
                        v => plugins::reveal(v),
                    },
                    _ => plugins::reveal(v),
                };
                (k, v)
            })
            .collect(),
    )
}

/// Split `ssh://user@host:port` into its parts.
fn parse_uri(uri: &str) -> (Option<&str>, Option<&str>, &str, Option<u16>) {
    let (scheme, rest) = match uri.split_once("://") {
        Some((s, r)) => (Some(s), r),
        None => (None, uri),
    };
    let rest = rest.trim_end_matches('/');
    let (user, hostport) = match rest.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, rest),
    };
    // `[::1]:22` or `host:22`; a bare IPv6 address has no port.
    let (host, port) = if let Some(stripped) = hostport.strip_prefix('[') {
        match stripped.split_once(']') {
            Some((h, p)) => (h, p.strip_prefix(':').and_then(|p| p.parse().ok())),
            None => (stripped, None),
        }
    } else if hostport.matches(':').count() == 1 {
        let (h, p) = hostport.split_once(':').expect("one colon");
        (h, p.parse().ok())
    } else {
        (hostport, None)
    };
    (scheme, user, host, port)
}

struct Loader<'a> {
    file: FileId,
    sources: &'a SourceMap,
    errors: Vec<Diagnostic>,
    /// name -> (layers from outermost group to the target, groups, own data)
    found: IndexMap<String, Found>,
    aliases: Vec<(String, String, Span)>,
    groups: IndexMap<String, indexmap::IndexSet<String>>,
}

struct Found {
    /// Where the target first appears in the file: inventory order.
    first_seen: (u64, u64),
    uri: String,
    /// Layers in increasing precedence.
    layers: Vec<Layer>,
    groups: Vec<String>,
}

impl Loader<'_> {
    fn span(&self, loc: &serde_saphyr::Location) -> Span {
        let file = self.sources.get(self.file);
        let offset = file.offset_of(loc.line() as usize, loc.column() as usize);
        Span::new(self.file, offset, offset)
    }

    fn layer(
        &mut self,
        config: Option<RawConfig>,
        vars: Option<Map<String, Json>>,
        facts: Option<Map<String, Json>>,
        features: Option<Spanned<Json>>,
    ) -> Layer {
        let mut layer = Layer {
            vars: vars.unwrap_or_default(),
            facts: facts.unwrap_or_default(),
            ..Layer::default()
        };
        if let Some(f) = features {
            let listed = match &f.value {
                Json::Array(items) => items
                    .iter()
                    // A plugin reference, when checking the file as written.
                    .filter(|i| i.get("_plugin").is_none())
                    .map(|i| i.as_str().map(String::from))
                    .collect::<Option<Vec<String>>>(),
                Json::Object(m) if m.contains_key("_plugin") => Some(Vec::new()),
                _ => None,
            };
            match listed {
                Some(list) => layer.features = list,
                None => {
                    let span = self.span(&f.referenced);
                    self.errors.push(
                        Diagnostic::error("inventory", span, "`features` must be a list of names")
                            .with_label("not a list of names"),
                    );
                }
            }
        }
        if let Some(c) = config {
            layer.config = c.sections;
            let named = c.transport.and_then(|t| match t.value {
                Json::Object(m) if m.contains_key("_plugin") => None,
                Json::String(s) => Some(Spanned::new(s, t.referenced, t.defined)),
                other => Some(Spanned::new(other.to_string(), t.referenced, t.defined)),
            });
            if let Some(t) = named {
                match TransportKind::parse(&t.value) {
                    Some(kind) => layer.transport = Some(kind),
                    None => {
                        let span = self.span(&t.referenced);
                        self.errors.push(
                            Diagnostic::error(
                                "inventory",
                                span,
                                format!("unknown transport `{}`", t.value),
                            )
                            .with_label("not a transport")
                            .with_help(
                                match did_you_mean(&t.value, ["ssh", "local", "sim"]) {
                                    Some(s) => format!("did you mean `{s}`?"),
                                    None => "the transports are ssh, local and sim".into(),
                                },
                            ),
                        );
                    }
                }
            }
        }
        layer
    }

    /// Walk a group; `outer` holds the layers of the groups around it.
    fn group(
        &mut self,
        g: RawGroupData,
        name: Option<String>,
        outer: &[Layer],
        parents: &[String],
    ) {
        let own = self.layer(g.config, g.vars, g.facts, g.features);
        let mut layers = outer.to_vec();
        layers.push(own);
        let mut path = parents.to_vec();
        if let Some(n) = &name {
            path.push(n.clone());
            self.groups.entry(n.clone()).or_default();
        }
        for t in g.targets.0 {
            let seen = (t.referenced.line(), t.referenced.column());
            let (entry, own) = match t.value {
                RawTarget::Name(uri) => ((uri.clone(), uri), None),
                RawTarget::Full(data) if data.plugin.is_some() => continue,
                RawTarget::Full(data) => {
                    let Some(name) = data.name.clone().or_else(|| data.uri.clone()) else {
                        let span = self.span(&t.referenced);
                        self.errors.push(
                            Diagnostic::error(
                                "inventory",
                                span,
                                "a target needs a `uri` or a `name`",
                            )
                            .with_label("this target"),
                        );
                        continue;
                    };
                    let uri = data.uri.clone().unwrap_or_else(|| name.clone());
                    if let Some(a) = data.alias {
                        let span = self.span(&t.referenced);
                        let list = match a {
                            Aliases::One(s) => vec![s],
                            Aliases::Many(v) => v,
                        };
                        for alias in list {
                            self.aliases.push((alias, name.clone(), span));
                        }
                    }
                    let layer = self.layer(data.config, data.vars, data.facts, data.features);
                    ((name, uri), Some(layer))
                }
            };
            let (name, uri) = entry;
            for g in &path {
                self.groups
                    .entry(g.clone())
                    .or_default()
                    .insert(name.clone());
            }
            let found = self.found.entry(name.clone()).or_insert_with(|| Found {
                first_seen: seen,
                uri: uri.clone(),
                layers: Vec::new(),
                groups: Vec::new(),
            });
            found.first_seen = found.first_seen.min(seen);
            if uri != name {
                found.uri = uri;
            }
            // Later (less precedent) groups go underneath what is there.
            let mut chain = layers.clone();
            chain.extend(own);
            let before = std::mem::take(&mut found.layers);
            found.layers = chain;
            found.layers.extend(before);
            for g in &path {
                if !found.groups.contains(g) {
                    found.groups.push(g.clone());
                }
            }
        }
        for sub in g.groups.0 {
            let Some(n) = sub.value.name.clone() else {
                let span = self.span(&sub.referenced);
                self.errors.push(
                    Diagnostic::error("inventory", span, "a group needs a `name`")
                        .with_label("this group has none")
                        .with_help(
                            "add `name: ROLE`; the name is what plans use in get_targets(\"ROLE\")",
                        ),
                );
                continue;
            };
            let name = n.value.clone();
            if name == "all" || self.groups.contains_key(&name) {
                let span = self.span(&n.referenced);
                let why = if name == "all" {
                    "is reserved for every target"
                } else {
                    "is used twice"
                };
                self.errors.push(
                    Diagnostic::error("inventory", span, format!("group name `{name}` {why}"))
                        .with_label("here"),
                );
                continue;
            }
            self.group(sub.value, Some(name), &layers, &path);
        }
    }
}

impl Inventory {
    /// Load `path` into `sources`; errors carry file, line and column.
    /// Plugin references are not resolved: see [`Inventory::load_with`].
    pub fn load(path: &Path, sources: &mut SourceMap) -> Result<Inventory, Vec<Diagnostic>> {
        Self::load_with(path, sources, None)
    }

    /// [`Inventory::load`], resolving `_plugin` hashes with `plugins`.
    pub fn load_with(
        path: &Path,
        sources: &mut SourceMap,
        plugins: Option<&mut Resolver>,
    ) -> Result<Inventory, Vec<Diagnostic>> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => {
                let id = sources.add(path.display().to_string(), String::new());
                return Err(vec![Diagnostic::error(
                    "inventory",
                    Span::new(id, 0, 0),
                    format!("cannot read the inventory: {e}"),
                )]);
            }
        };
        let id = sources.add(path.display().to_string(), text);
        Self::parse_with(sources, id, plugins)
    }

    /// Parse the inventory in file `id` of `sources`.
    pub fn parse(sources: &SourceMap, id: FileId) -> Result<Inventory, Vec<Diagnostic>> {
        Self::parse_with(sources, id, None)
    }

    /// Parse the inventory in file `id` of `sources`, resolving plugin
    /// references with `plugins`. The file as written is checked first (its
    /// mistakes keep their lines), then its plugins are resolved (each error
    /// at its `_plugin` hash), then what they returned is read.
    pub fn parse_with(
        sources: &SourceMap,
        id: FileId,
        plugins: Option<&mut Resolver>,
    ) -> Result<Inventory, Vec<Diagnostic>> {
        let text = &sources.get(id).text;
        let as_written = Self::read(sources, id, Self::raw(sources, id)?)?;
        let Some(plugins) = plugins.filter(|_| text.contains("_plugin")) else {
            return Ok(as_written);
        };
        let data: Spanned<Data> = serde_saphyr::from_str(text).map_err(|e| {
            vec![Diagnostic::error(
                "inventory",
                Span::new(id, 0, 0),
                e.to_string(),
            )]
        })?;
        let mut failed = Vec::new();
        let resolved = plugins.resolve(&data, &mut failed);
        if !failed.is_empty() {
            let file = sources.get(id);
            return Err(failed
                .into_iter()
                .map(|e| {
                    let o = file.offset_of(e.line as usize, e.column as usize);
                    Diagnostic::error("inventory-plugin", Span::new(id, o, o), e.message)
                        .with_label("this plugin reference")
                })
                .collect());
        }
        // A message about what plugins returned may quote a value: never a secret.
        let secrets = plugins::secret_texts(&resolved);
        let scrub = |text: String| plugins::scrub(text, &secrets);
        let raw: RawGroupData = serde_json::from_value(secrets_in_data_only(resolved, false))
            .map_err(|e| {
                vec![Diagnostic::error(
                    "inventory-plugin",
                    Span::new(id, 0, 0),
                    scrub(format!(
                        "what the inventory's plugins returned is not an inventory: {e}"
                    )),
                )]
            })?;
        Self::read(sources, id, raw).map_err(|diags| {
            diags
                .into_iter()
                .map(|mut d| {
                    d.message = scrub(format!(
                        "{} (in what the inventory's plugins returned)",
                        d.message
                    ));
                    d
                })
                .collect()
        })
    }

    /// The file's YAML, as written.
    fn raw(sources: &SourceMap, id: FileId) -> Result<RawGroupData, Vec<Diagnostic>> {
        let text = &sources.get(id).text;
        if text.trim().is_empty() {
            return Ok(RawGroupData::default());
        }
        serde_saphyr::from_str(text).map_err(|e| {
            let span = match e.location() {
                Some(loc) => {
                    let o = sources
                        .get(id)
                        .offset_of(loc.line() as usize, loc.column() as usize);
                    Span::new(id, o, o)
                }
                None => Span::new(id, 0, 0),
            };
            let message = e.to_string();
            let first = message
                .lines()
                .next()
                .unwrap_or("invalid inventory")
                .to_string();
            vec![Diagnostic::error("inventory", span, first).with_label("here")]
        })
    }

    /// Groups, targets and their data from the file's shape.
    fn read(
        sources: &SourceMap,
        id: FileId,
        raw: RawGroupData,
    ) -> Result<Inventory, Vec<Diagnostic>> {
        let mut loader = Loader {
            file: id,
            sources,
            errors: Vec::new(),
            found: IndexMap::new(),
            aliases: Vec::new(),
            groups: IndexMap::new(),
        };
        // The top level is the implicit `all` group: its layer is read once and
        // is the outermost layer of every target.
        let mut raw = raw;
        let top = loader.layer(
            raw.config.take(),
            raw.vars.take(),
            raw.facts.take(),
            raw.features.take(),
        );
        loader.group(raw, None, std::slice::from_ref(&top), &[]);
        if !loader.errors.is_empty() {
            return Err(loader.errors);
        }
        let mut inv = Inventory {
            top: top.clone(),
            ..Inventory::default()
        };
        // Targets, and the members of every group, in the order of the file.
        loader.found.sort_by_key(|_, f| f.first_seen);
        for (name, found) in loader.found {
            inv.targets.push(Arc::new(build_target(
                &name,
                &found.uri,
                &found.layers,
                found.groups,
            )));
        }
        let index: HashMap<&str, usize> = inv
            .targets
            .iter()
            .enumerate()
            .map(|(i, t)| (t.name.as_str(), i))
            .collect();
        let mut errors = Vec::new();
        for (alias, target, span) in loader.aliases {
            if index.contains_key(alias.as_str()) || loader.groups.contains_key(&alias) {
                errors.push(Diagnostic::error(
                    "inventory",
                    span,
                    format!("alias `{alias}` is already a target or group name"),
                ));
            } else if let Some(&i) = index.get(target.as_str()) {
                inv.aliases.insert(alias, i);
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        for (g, members) in loader.groups {
            let mut idx: Vec<usize> = members
                .iter()
                .filter_map(|m| index.get(m.as_str()).copied())
                .collect();
            idx.sort_unstable();
            inv.groups.insert(g, idx);
        }
        Ok(inv)
    }

    /// Every target, in inventory order.
    pub(crate) fn targets(&self) -> &[Arc<Target>] {
        &self.targets
    }

    /// The targets of group `name`, in inventory order.
    pub(crate) fn group(&self, name: &str) -> Option<Vec<Arc<Target>>> {
        if name == "all" {
            return Some(self.targets.clone());
        }
        self.groups
            .get(name)
            .map(|members| members.iter().map(|&i| self.targets[i].clone()).collect())
    }

    /// Group names in inventory order.
    pub fn group_names(&self) -> impl Iterator<Item = &str> {
        self.groups.keys().map(String::as_str)
    }

    /// Resolve a target spec: names, aliases, groups (`all` too), globs
    /// (`web*`), comma lists, and ad-hoc URIs. The result has no duplicates
    /// and keeps inventory order within each part.
    pub fn resolve(&self, spec: &str) -> Result<Vec<Arc<Target>>, String> {
        let mut out: Vec<Arc<Target>> = Vec::new();
        let mut seen: std::collections::HashSet<String> = std::collections::HashSet::new();
        let mut push = |t: &Arc<Target>, out: &mut Vec<Arc<Target>>| {
            if seen.insert(t.name.clone()) {
                out.push(t.clone());
            }
        };
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            if let Some(t) = self.targets.iter().find(|t| t.name == part) {
                push(t, &mut out);
            } else if let Some(&i) = self.aliases.get(part) {
                push(&self.targets[i], &mut out);
            } else if part == "all" {
                self.targets.iter().for_each(|t| push(t, &mut out));
            } else if let Some(members) = self.groups.get(part) {
                members
                    .iter()
                    .for_each(|&i| push(&self.targets[i], &mut out));
            } else if part.contains(['*', '?']) {
                let matched: Vec<&Arc<Target>> = self
                    .targets
                    .iter()
                    .filter(|t| glob(part, &t.name))
                    .collect();
                if matched.is_empty() {
                    return Err(format!("`{part}` matches no target of the inventory"));
                }
                matched.into_iter().for_each(|t| push(t, &mut out));
            } else if part.contains("://") || part.contains(['.', ':']) || part == "localhost" {
                let t = build_target(part, part, std::slice::from_ref(&self.top), Vec::new());
                push(&Arc::new(t), &mut out);
            } else {
                let names = self
                    .targets
                    .iter()
                    .map(|t| t.name.as_str())
                    .chain(self.groups.keys().map(String::as_str))
                    .chain(self.aliases.keys().map(String::as_str));
                let hint = did_you_mean(part, names)
                    .map(|s| format!(" (did you mean `{s}`?)"))
                    .unwrap_or_default();
                return Err(format!("unknown target or group `{part}`{hint}"));
            }
        }
        Ok(out)
    }

    /// A target that is in no group, named `name`, with the inventory's
    /// top-level settings (a plan test's target, which nothing connects to).
    pub(crate) fn adhoc(&self, name: &str) -> Target {
        self.adhoc_at(name, name)
    }

    /// An ad-hoc target named `name` at `uri`.
    pub(crate) fn adhoc_at(&self, name: &str, uri: &str) -> Target {
        build_target(name, uri, std::slice::from_ref(&self.top), Vec::new())
    }
}

/// Merge layers (lowest precedence first) into a target.
fn build_target(name: &str, uri: &str, layers: &[Layer], groups: Vec<String>) -> Target {
    let mut config = Map::new();
    let mut vars = Map::new();
    let mut facts = Map::new();
    let mut transport = None;
    let mut features: Vec<String> = Vec::new();
    for l in layers {
        for f in &l.features {
            if !features.contains(f) {
                features.push(f.clone());
            }
        }
        merge(&mut config, &l.config);
        merge(&mut vars, &l.vars);
        merge(&mut facts, &l.facts);
        transport = l.transport.or(transport);
    }
    let (scheme, user, host, port) = parse_uri(uri);
    let transport = scheme
        .and_then(TransportKind::parse)
        .or(transport)
        .unwrap_or(if matches!(host, "localhost" | "127.0.0.1") {
            TransportKind::Local
        } else {
            TransportKind::Ssh
        });
    let mut secret_config = Vec::new();
    for (k, v) in config.iter_mut() {
        config_secrets(v, &mut vec![k.clone()], &mut secret_config);
    }
    // Every transport drover has runs POSIX shell commands (Bolt's `shell`).
    if !features.iter().any(|f| f == "shell") {
        features.insert(0, "shell".into());
    }
    let section = config.get(transport.as_str()).and_then(Json::as_object);
    let user = user.map(String::from).or_else(|| {
        section
            .and_then(|s| s.get("user"))
            .and_then(Json::as_str)
            .map(String::from)
    });
    let port = port.or_else(|| {
        section
            .and_then(|s| s.get("port"))
            .and_then(Json::as_u64)
            .and_then(|p| u16::try_from(p).ok())
    });
    Target {
        name: name.to_string(),
        uri: uri.to_string(),
        host: host.to_string(),
        port,
        user,
        transport,
        config,
        vars: to_hash(&vars),
        facts: to_hash(&facts),
        features,
        groups,
        secret_config,
    }
}

/// Config keys whose values are secrets.
const SECRET_KEYS: [&str; 5] = [
    "password",
    "sudo-password",
    "passphrase",
    "key-data",
    "private-key-data",
];

/// A copy of a target's `config` with secrets replaced by `[sensitive]`:
/// values of secret keys (`password`, ...) and values from secrets.
pub(crate) fn redacted(target: &Target) -> Json {
    fn walk(v: &Json, path: &mut Vec<String>, secrets: &[Vec<String>]) -> Json {
        if secrets.iter().any(|s| s == path) {
            return Json::from("[sensitive]");
        }
        match v {
            Json::Object(m) => Json::Object(
                m.iter()
                    .map(|(k, v)| {
                        let secret = SECRET_KEYS.contains(&k.as_str())
                            || (k == "private-key"
                                && v.as_str().is_some_and(|s| s.contains("PRIVATE KEY")));
                        path.push(k.clone());
                        let shown = if secret {
                            Json::from("[sensitive]")
                        } else {
                            walk(v, path, secrets)
                        };
                        path.pop();
                        (k.clone(), shown)
                    })
                    .collect(),
            ),
            Json::Array(a) => Json::Array(
                a.iter()
                    .enumerate()
                    .map(|(i, v)| {
                        path.push(i.to_string());
                        let shown = walk(v, path, secrets);
                        path.pop();
                        shown
                    })
                    .collect(),
            ),
            other => other.clone(),
        }
    }
    walk(
        &Json::Object(target.config.clone()),
        &mut Vec::new(),
        &target.secret_config,
    )
}

/// Shell-style glob with `*` and `?`.
pub(crate) fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_and_globs() {
        assert_eq!(
            parse_uri("ssh://deploy@web1:2222"),
            (Some("ssh"), Some("deploy"), "web1", Some(2222))
        );
        assert_eq!(parse_uri("[::1]:22"), (None, None, "::1", Some(22)));
        assert_eq!(parse_uri("web1"), (None, None, "web1", None));
        assert!(glob("web*", "web12") && glob("w?b1", "web1") && !glob("web*", "db1"));
        assert!(glob("*", "") && glob("*1", "web1") && !glob("web", "web1"));
    }
}
