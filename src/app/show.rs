//! The `show` commands: `inventory show`, `plan show`, `task show`, `runs
//! list` and `runs show`, each with a human table and JSON.

use std::path::{Path, PathBuf};

use serde_json::json;

use super::UsageError;
use super::load::{PlanFiles, load_inventory, plan_files};
use crate::report::Format;
use crate::source::Span;

pub fn show_inventory(
    project: &Path,
    file: Option<PathBuf>,
    spec: Option<&str>,
    format: Format,
) -> Result<u8, UsageError> {
    let Some(inventory) = load_inventory(project, file)? else {
        return Ok(2);
    };
    let targets = match spec {
        Some(spec) => match inventory.resolve(spec) {
            Ok(t) => t,
            Err(message) => {
                eprintln!("error: {message}");
                return Ok(2);
            }
        },
        None => inventory.targets().to_vec(),
    };
    match format {
        Format::Json => {
            let list: Vec<serde_json::Value> = targets
                .iter()
                .map(|t| {
                    json!({
                        "name": t.name, "uri": t.uri, "host": t.host, "port": t.port, "user": t.user,
                        "transport": t.transport.as_str(), "groups": t.groups,
                        "vars": crate::value::Value::hash(t.vars.clone()).to_json(),
                        "facts": crate::value::Value::hash(t.facts.clone()).to_json(),
                        "config": crate::project::inventory::redacted(&t.config),
                    })
                })
                .collect();
            outln!("{}", json!({ "targets": list, "count": targets.len() }));
        }
        Format::Human => {
            let width = targets
                .iter()
                .map(|t| t.name.len())
                .max()
                .unwrap_or(4)
                .max(4);
            outln!("{:width$}  {:9}  {:30}  groups", "name", "transport", "uri");
            for t in &targets {
                outln!(
                    "{:width$}  {:9}  {:30}  {}",
                    t.name,
                    t.transport.as_str(),
                    t.uri,
                    t.groups.join(", ")
                );
            }
            outln!("{} target(s)", targets.len());
        }
    }
    Ok(0)
}

/// `drover plan show [NAME]`: every plan (name, first line of its
/// description, file), or one plan's parameters.
pub fn show_plans(
    project: &crate::project::Project,
    name: Option<&str>,
    format: Format,
) -> Result<u8, UsageError> {
    let read = PlanFiles::read(&plan_files(project, &[], true)?)?;
    let (asts, _) = read.check(None);
    let sources = &read.sources;
    let where_ = |span: Span| {
        let file = sources.get(span.file);
        let (line, column) = file.line_col(span.start);
        format!("{}:{line}:{column}", file.name)
    };
    let plans: Vec<&crate::syntax::ast::Plan> = asts.iter().flat_map(|f| &f.plans).collect();
    let Some(name) = name else {
        match format {
            Format::Json => {
                let list: Vec<serde_json::Value> = plans
                    .iter()
                    .map(|p| json!({"name": p.name.node, "description": p.description, "location": where_(p.name.span)}))
                    .collect();
                outln!("{}", json!({ "plans": list }));
            }
            Format::Human => {
                let width = plans.iter().map(|p| p.name.node.len()).max().unwrap_or(4);
                for p in &plans {
                    let first = p
                        .description
                        .as_deref()
                        .and_then(|d| d.lines().next())
                        .unwrap_or("");
                    outln!("{:width$}  {first}", p.name.node);
                }
                outln!("{} plan(s)", plans.len());
            }
        }
        return Ok(0);
    };
    let Some(plan) = plans.iter().find(|p| p.name.node == name) else {
        let hint =
            crate::diagnostic::did_you_mean(name, plans.iter().map(|p| p.name.node.as_str()))
                .map(|h| format!(" (did you mean `{h}`?)"))
                .unwrap_or_default();
        eprintln!("error: unknown plan `{name}`{hint}");
        return Ok(2);
    };
    let params: Vec<serde_json::Value> = plan
        .params
        .iter()
        .map(|p| {
            json!({
                "name": p.name.node, "type": crate::value::types::type_text(&p.ty.node),
                "default": p.default.as_ref().map(crate::syntax::pretty::expr),
                "required": p.default.is_none() && p.ty.node.name.node != "Optional",
            })
        })
        .collect();
    match format {
        Format::Json => outln!(
            "{}",
            json!({"name": plan.name.node, "description": plan.description, "parameters": params, "location": where_(plan.name.span)})
        ),
        Format::Human => {
            outln!("{}  ({})", plan.name.node, where_(plan.name.span));
            if let Some(d) = &plan.description {
                for line in d.lines() {
                    outln!("  {line}");
                }
            }
            if params.is_empty() {
                outln!("parameters: none");
            } else {
                outln!("parameters:");
                let width = plan
                    .params
                    .iter()
                    .map(|p| p.name.node.len())
                    .max()
                    .unwrap_or(0);
                let tw = params
                    .iter()
                    .map(|p| p["type"].as_str().unwrap_or_default().len())
                    .max()
                    .unwrap_or(0);
                for p in &params {
                    let note = match (&p["default"], p["required"].as_bool()) {
                        (serde_json::Value::String(d), _) => format!("default {d}"),
                        (_, Some(true)) => "required".to_string(),
                        _ => String::new(),
                    };
                    outln!(
                        "  {:width$}  {:tw$}  {note}",
                        p["name"].as_str().unwrap_or_default(),
                        p["type"].as_str().unwrap_or_default()
                    );
                }
            }
        }
    }
    Ok(0)
}

/// `drover task show [NAME]`: every listed task with its description, or one
/// task's parameters, implementations and metadata file.
pub fn show_tasks(
    tasks: &crate::project::tasks::Catalog,
    name: Option<&str>,
    format: Format,
) -> Result<u8, UsageError> {
    let Some(name) = name else {
        let mut list = Vec::new();
        for n in tasks.names() {
            match tasks.get(&n) {
                Ok(t) if t.private => {}
                Ok(t) => list.push((n, t.description.clone().unwrap_or_default(), None)),
                Err(e) => list.push((n, String::new(), Some(e))),
            }
        }
        match format {
            Format::Json => {
                let items: Vec<serde_json::Value> = list
                    .iter()
                    .map(|(n, d, e)| json!({"name": n, "description": d, "error": e}))
                    .collect();
                outln!("{}", json!({ "tasks": items }));
            }
            Format::Human => {
                let width = list.iter().map(|(n, ..)| n.len()).max().unwrap_or(4);
                for (n, d, e) in &list {
                    match e {
                        None => outln!("{n:width$}  {d}"),
                        Some(e) => outln!("{n:width$}  (cannot be used: {e})"),
                    }
                }
                outln!("{} task(s)", list.len());
            }
        }
        return Ok(0);
    };
    let task = match tasks.get(name) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(2);
        }
    };
    let params: Vec<serde_json::Value> = task
        .parameters
        .iter()
        .flatten()
        .map(|(k, p)| {
            json!({
                "name": k, "type": p.ty_text, "description": p.description,
                "required": p.required(), "sensitive": p.sensitive,
                // A secret's default is not shown.
                "default": if p.sensitive { p.default.as_ref().map(|_| json!("[sensitive]")) } else { p.default.clone() },
            })
        })
        .collect();
    let implementations: Vec<serde_json::Value> = task
        .implementations
        .iter()
        .map(|i| {
            json!({
                "file": i.path.display().to_string(),
                "requirements": i.requirements,
                "input_method": format!("{:?}", i.input_method).to_lowercase(),
                "files": i.files.iter().map(|(_, r)| r.as_str()).collect::<Vec<_>>(),
            })
        })
        .collect();
    let metadata = task.metadata.as_ref().map(|m| m.display().to_string());
    match format {
        Format::Json => outln!(
            "{}",
            json!({
                "name": task.name, "description": task.description,
                "parameters": task.parameters.as_ref().map(|_| params.clone()),
                "supports_noop": task.supports_noop, "private": task.private,
                "implementations": implementations, "metadata": metadata,
            })
        ),
        Format::Human => {
            outln!("{}", task.name);
            if let Some(d) = &task.description {
                outln!("  {d}");
            }
            outln!();
            match &task.parameters {
                None => outln!("parameters: not declared (any parameter is passed as is)"),
                Some(ps) if ps.is_empty() => outln!("parameters: none"),
                Some(ps) => {
                    outln!("parameters:");
                    let width = ps.keys().map(String::len).max().unwrap_or(0);
                    let tw = ps.values().map(|p| p.ty_text.len()).max().unwrap_or(0);
                    for (k, p) in ps {
                        let mut notes = Vec::new();
                        if p.required() {
                            notes.push("required".to_string());
                        }
                        if p.sensitive {
                            notes.push("sensitive".into());
                        }
                        if let Some(d) = &p.default
                            && !p.sensitive
                        {
                            notes.push(format!("default {d}"));
                        }
                        let notes = if notes.is_empty() {
                            String::new()
                        } else {
                            format!(" ({})", notes.join(", "))
                        };
                        outln!(
                            "  {k:width$}  {:tw$}  {}{notes}",
                            p.ty_text,
                            p.description.as_deref().unwrap_or("")
                        );
                    }
                }
            }
            outln!(
                "supports noop: {}",
                if task.supports_noop { "yes" } else { "no" }
            );
            for i in &task.implementations {
                let req = if i.requirements.is_empty() {
                    "any target".to_string()
                } else {
                    format!("targets with {}", i.requirements.join(", "))
                };
                outln!("implementation: {} ({req})", i.path.display());
            }
            if let Some(m) = metadata {
                outln!("metadata: {m}");
            }
        }
    }
    Ok(0)
}

/// `drover runs list`.
pub fn list_runs(project: &Path, format: Format) -> Result<u8, UsageError> {
    let runs = crate::project::history::list(project);
    match format {
        Format::Json => {
            let list: Vec<serde_json::Value> = runs.iter().map(|r| r.to_json()).collect();
            outln!("{}", json!({ "runs": list }));
        }
        Format::Human => {
            outln!(
                "{:24}  {:11}  {:>9}  {:>7}  plan",
                "id",
                "status",
                "duration",
                "failed"
            );
            for r in &runs {
                let failed = r.targets_where("failure").len();
                outln!(
                    "{:24}  {:11}  {:>9}  {:>7}  {}",
                    r.id,
                    r.status,
                    r.duration_ms
                        .map(crate::duration::format)
                        .unwrap_or_default(),
                    format!("{failed}/{}", r.targets.len()),
                    r.plan
                );
            }
            outln!("{} run(s)", runs.len());
        }
    }
    Ok(0)
}

/// `drover runs show [ID]`.
pub fn show_run(project: &Path, id: &str, format: Format) -> Result<u8, UsageError> {
    let run = match crate::project::history::load(project, id) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(2);
        }
    };
    match format {
        Format::Json => outln!("{}", run.to_json()),
        Format::Human => {
            outln!(
                "run {} of {}: {}{}, started {}",
                run.id,
                run.plan,
                run.status,
                run.duration_ms
                    .map(|d| format!(" in {}", crate::duration::format(d)))
                    .unwrap_or_default(),
                run.started_at
            );
            let width = run
                .targets
                .keys()
                .map(String::len)
                .max()
                .unwrap_or(6)
                .max(6);
            outln!(
                "{:width$}  {:6}  {:>9}  last step",
                "target",
                "status",
                "time"
            );
            for (name, t) in &run.targets {
                outln!(
                    "{name:width$}  {:6}  {:>9}  {}",
                    if t.ok { "ok" } else { "failed" },
                    crate::duration::format(t.duration_ms),
                    t.last_action
                );
            }
            for (name, t) in &run.targets {
                if let Some((kind, message, location)) = &t.error {
                    outln!("\n{name}: {message} ({kind})\n  at {location}");
                }
            }
            outln!(
                "\noutput of each target: {}",
                project
                    .join(".drover/runs")
                    .join(&run.id)
                    .join("targets")
                    .display()
            );
        }
    }
    Ok(0)
}
