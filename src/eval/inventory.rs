//! The run's inventory: the one loaded, and what the plan changed in it
//! (Bolt's `set_var`, `add_facts`, `set_feature`, `set_config`,
//! `add_to_group`, `remove_from_group`). A target value is a name into it:
//! `$t.vars` after `set_var($t, ...)` sees the new variable, as in Bolt.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use indexmap::IndexMap;
use serde_json::Value as Json;

use crate::project::inventory::Inventory;
use crate::value::{Target, TransportKind, Value};

/// The loaded inventory and the run's changes to it.
pub struct RunInventory<'p> {
    loaded: &'p Inventory,
    changes: RefCell<Changes>,
    /// A name the inventory does not know is an ad-hoc target (plan tests:
    /// their targets need not exist anywhere).
    pub(crate) adhoc: bool,
}

#[derive(Default)]
struct Changes {
    /// Targets as changed, by name.
    targets: HashMap<String, Arc<Target>>,
    /// Targets added to a group, in the order added.
    added: IndexMap<String, Vec<String>>,
    /// Targets taken out of a group.
    removed: HashMap<String, HashSet<String>>,
}

impl<'p> RunInventory<'p> {
    /// `loaded`, unchanged so far.
    pub fn new(loaded: &'p Inventory) -> Self {
        RunInventory {
            loaded,
            changes: RefCell::new(Changes::default()),
            adhoc: false,
        }
    }

    /// The target as the run has it now.
    pub(crate) fn current(&self, t: &Arc<Target>) -> Arc<Target> {
        self.changes
            .borrow()
            .targets
            .get(&t.name)
            .cloned()
            .unwrap_or_else(|| t.clone())
    }

    /// Resolve a target spec as the inventory does, with the run's changes:
    /// a group part has the targets added to it and not those removed.
    pub(crate) fn resolve(&self, spec: &str) -> Result<Vec<Arc<Target>>, String> {
        let changes = self.changes.borrow();
        let mut out: Vec<Arc<Target>> = Vec::new();
        let mut seen = HashSet::new();
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let added = changes.added.get(part);
            let found = match self.loaded.resolve(part) {
                Ok(found) => found,
                Err(_) if added.is_some() => Vec::new(),
                Err(_) if self.adhoc && !part.contains(['*', '?']) => {
                    vec![Arc::new(self.loaded.adhoc(part))]
                }
                Err(e) => return Err(e),
            };
            let removed = changes.removed.get(part);
            let extra = added
                .into_iter()
                .flatten()
                .filter_map(|n| changes.targets.get(n).cloned());
            for t in found.into_iter().chain(extra) {
                if removed.is_some_and(|r| r.contains(&t.name)) {
                    continue;
                }
                if seen.insert(t.name.clone()) {
                    out.push(changes.targets.get(&t.name).cloned().unwrap_or(t));
                }
            }
        }
        Ok(out)
    }

    /// The targets of group `name`, with the run's changes.
    pub(crate) fn group(&self, name: &str) -> Option<Vec<Arc<Target>>> {
        let known =
            self.loaded.group(name).is_some() || self.changes.borrow().added.contains_key(name);
        known.then(|| self.resolve(name).unwrap_or_default())
    }

    /// Group names in inventory order.
    pub(crate) fn group_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.loaded.group_names().map(String::from).collect();
        for g in self.changes.borrow().added.keys() {
            if !names.contains(g) {
                names.push(g.clone());
            }
        }
        names
    }

    /// Change target `t` with `f`; the changed target.
    pub(crate) fn change(&self, t: &Arc<Target>, f: impl FnOnce(&mut Target)) -> Arc<Target> {
        let mut changed = (*self.current(t)).clone();
        f(&mut changed);
        let changed = Arc::new(changed);
        self.changes
            .borrow_mut()
            .targets
            .insert(changed.name.clone(), changed.clone());
        changed
    }

    /// `add_to_group`: `t` is a member of `group` from now on (an existing
    /// group, or `all`'s new member when it is `all`).
    pub(crate) fn add_to_group(&self, t: &Arc<Target>, group: &str) -> Result<(), String> {
        if group != "all" && self.group(group).is_none() {
            let names = self.group_names();
            let hint = crate::diagnostic::did_you_mean(group, names.iter().map(String::as_str))
                .map(|s| format!(" (did you mean `{s}`?)"))
                .unwrap_or_default();
            return Err(format!("no group `{group}` in the inventory{hint}"));
        }
        let t = self.change(t, |t| {
            if !t.groups.iter().any(|g| g == group) {
                t.groups.push(group.to_string());
            }
        });
        let mut changes = self.changes.borrow_mut();
        if let Some(r) = changes.removed.get_mut(group) {
            r.remove(&t.name);
        }
        let list = changes.added.entry(group.to_string()).or_default();
        if !list.contains(&t.name) {
            list.push(t.name.clone());
        }
        Ok(())
    }

    /// Bolt's `Target.new`: the target `name` (an inventory's, or a new one at
    /// `uri`), changed by `f`, a member of `all` from now on.
    pub(crate) fn new_target(
        &self,
        name: &str,
        uri: &str,
        f: impl FnOnce(&mut Target),
    ) -> Arc<Target> {
        let t = match self.resolve(name) {
            Ok(found) if found.len() == 1 && found[0].name == name => found[0].clone(),
            _ => Arc::new(self.loaded.adhoc_at(name, uri)),
        };
        let t = self.change(&t, f);
        // `all` exists always: adding to it cannot fail.
        let _ = self.add_to_group(&t, "all");
        self.current(&t)
    }

    /// `remove_from_group`.
    pub(crate) fn remove_from_group(&self, t: &Arc<Target>, group: &str) {
        let t = self.change(t, |t| t.groups.retain(|g| g != group));
        let mut changes = self.changes.borrow_mut();
        if let Some(list) = changes.added.get_mut(group) {
            list.retain(|n| *n != t.name);
        }
        changes
            .removed
            .entry(group.to_string())
            .or_default()
            .insert(t.name.clone());
    }
}

/// `set_config`: the value at `path` of the target's config; `transport`,
/// and the user and port of its transport's section, follow.
pub(crate) fn set_config(t: &mut Target, path: &[String], value: &Value) {
    let json = value.to_json();
    if path == ["transport"] {
        if let Some(kind) = json.as_str().and_then(TransportKind::parse) {
            t.transport = kind;
        }
        return;
    }
    let mut at = &mut t.config;
    for key in &path[..path.len() - 1] {
        let slot = at
            .entry(key.clone())
            .or_insert_with(|| Json::Object(Default::default()));
        if !slot.is_object() {
            *slot = Json::Object(Default::default());
        }
        at = slot.as_object_mut().expect("made an object");
    }
    at.insert(path[path.len() - 1].clone(), json.clone());
    if path.len() == 2 && path[0] == t.transport.as_str() {
        match path[1].as_str() {
            "user" => t.user = json.as_str().map(String::from),
            "port" => t.port = json.as_u64().and_then(|p| u16::try_from(p).ok()),
            _ => {}
        }
    }
}
