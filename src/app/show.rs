//! The `show` commands: `inventory show`, `plan show`, `task show`, `runs
//! list` and `runs show`, each with a human table and JSON.

use std::path::{Path, PathBuf};

use serde_json::json;

use super::UsageError;
use super::load::{PlanFiles, load_inventory, plan_files};
use crate::project::tasks::{Catalog, Task};
use crate::report::Format;
use crate::source::Span;
use crate::syntax::ast::Plan;

/// `drover inventory show [-t SPEC]`: the targets (all, or those `spec`
/// names) with their transport, URI and groups, or their merged data as JSON.
pub(crate) fn show_inventory(
    tasks: &Catalog,
    file: Option<PathBuf>,
    spec: Option<&str>,
    format: Format,
) -> Result<u8, UsageError> {
    let Some(inventory) = load_inventory(tasks, file)? else {
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
                        "features": t.features,
                        "config": crate::project::inventory::redacted(t),
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
pub(crate) fn show_plans(
    project: &crate::project::Project,
    name: Option<&str>,
    format: Format,
) -> Result<u8, UsageError> {
    let read = PlanFiles::read(&plan_files(project, &[], true)?)?;
    let (asts, _) = read.check(None);
    let where_ = |span: Span| {
        let file = read.sources.get(span.file);
        let (line, column) = file.line_col(span.start);
        format!("{}:{line}:{column}", file.name)
    };
    let plans: Vec<&Plan> = asts.iter().flat_map(|f| &f.plans).collect();
    let Some(name) = name else {
        let list: Vec<serde_json::Value> = plans
            .iter()
            .filter(|p| crate::project::Project::lists(&project.plans, &p.name.node))
            .map(|p| json!({"name": p.name.node, "description": plan_json(p, "")["description"], "location": where_(p.name.span)}))
            .collect();
        match format {
            Format::Json => outln!("{}", json!({ "plans": list })),
            Format::Human => print_plan_list(&list),
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
    let shown = plan_json(plan, &where_(plan.name.span));
    match format {
        Format::Json => outln!("{shown}"),
        Format::Human => print_plan(&shown),
    }
    Ok(0)
}

/// A plan's comment as Puppet strings write it: the prose (`@summary`'s
/// text first), and each `@param NAME text` (continued on indented lines).
fn puppet_strings(comment: &str) -> (String, Vec<(String, String)>) {
    let (mut summary, mut prose, mut params) =
        (Vec::new(), Vec::new(), Vec::<(String, String)>::new());
    let mut in_param = false;
    let mut in_summary = false;
    for line in comment.lines() {
        let t = line.trim();
        if let Some(rest) = t.strip_prefix("@param ") {
            let (name, text) = rest.split_once(' ').unwrap_or((rest, ""));
            params.push((
                name.trim_start_matches('$').to_string(),
                text.trim().to_string(),
            ));
            (in_param, in_summary) = (true, false);
        } else if let Some(rest) = t.strip_prefix("@summary") {
            if !rest.trim().is_empty() {
                summary.push(rest.trim().to_string());
            }
            (in_param, in_summary) = (false, true);
        } else if t.starts_with('@') {
            (in_param, in_summary) = (false, false);
        } else if in_param && line.starts_with(' ') && !t.is_empty() {
            if let Some((_, text)) = params.last_mut() {
                text.push(' ');
                text.push_str(t);
            }
        } else if in_summary && !t.is_empty() {
            summary.push(t.to_string());
        } else {
            in_param = false;
            in_summary = false;
            prose.push(line.to_string());
        }
    }
    let mut text = summary.join(" ");
    let rest = prose.join("\n").trim().to_string();
    if !rest.is_empty() {
        if !text.is_empty() {
            text.push('\n');
        }
        text.push_str(&rest);
    }
    (text, params)
}

/// What `plan show NAME` shows of a plan, as its JSON.
fn plan_json(plan: &Plan, location: &str) -> serde_json::Value {
    let (description, docs) = match &plan.description {
        Some(d) if plan.puppet => {
            let (text, params) = puppet_strings(d);
            (Some(text), params)
        }
        other => (other.clone(), Vec::new()),
    };
    let params: Vec<serde_json::Value> = plan
        .params
        .iter()
        .map(|p| {
            let mut param = json!({
                "name": p.name.node, "type": crate::value::types::type_text(&p.ty.node),
                "default": p.default.as_ref().map(crate::syntax::pretty::expr),
                "required": p.default.is_none() && p.ty.node.name.node != "Optional",
            });
            // Puppet strings' `@param` text, when the plan has it.
            if let Some((_, doc)) = docs.iter().find(|(n, _)| *n == p.name.node) {
                param["description"] = json!(doc);
            }
            param
        })
        .collect();
    json!({"name": plan.name.node, "description": description, "parameters": params, "location": location})
}

/// Text of a JSON string field, or "".
fn text<'a>(v: &'a serde_json::Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or_default()
}

/// The plans, one line each.
fn print_plan_list(list: &[serde_json::Value]) {
    let width = list
        .iter()
        .map(|p| text(p, "name").len())
        .max()
        .unwrap_or(4);
    for p in list {
        let first = text(p, "description").lines().next().unwrap_or("");
        outln!("{:width$}  {first}", text(p, "name"));
    }
    outln!("{} plan(s)", list.len());
}

/// One plan with its parameters.
fn print_plan(plan: &serde_json::Value) {
    outln!("{}  ({})", text(plan, "name"), text(plan, "location"));
    for line in text(plan, "description").lines() {
        outln!("  {line}");
    }
    let params = plan["parameters"].as_array().cloned().unwrap_or_default();
    if params.is_empty() {
        outln!("parameters: none");
        return;
    }
    outln!("parameters:");
    let width = params
        .iter()
        .map(|p| text(p, "name").len())
        .max()
        .unwrap_or(0);
    let tw = params
        .iter()
        .map(|p| text(p, "type").len())
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
            text(p, "name"),
            text(p, "type")
        );
        if let Some(doc) = p["description"].as_str() {
            outln!("  {:width$}  {doc}", "");
        }
    }
}

/// `drover task show [NAME]`: every listed task with its description, or one
/// task's parameters, implementations and metadata file.
pub(crate) fn show_tasks(
    tasks: &Catalog,
    name: Option<&str>,
    format: Format,
) -> Result<u8, UsageError> {
    let Some(name) = name else {
        let mut list = Vec::new();
        let allowed = &tasks.project().tasks;
        for n in tasks.names() {
            if !crate::project::Project::lists(allowed, &n) {
                continue;
            }
            match tasks.get(&n) {
                Ok(t) if t.private => {}
                Ok(t) => list.push(json!({"name": n, "description": t.description.clone().unwrap_or_default(), "error": null})),
                Err(e) => list.push(json!({"name": n, "description": "", "error": e})),
            }
        }
        match format {
            Format::Json => outln!("{}", json!({ "tasks": list })),
            Format::Human => print_task_list(&list),
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
    let shown = task_json(&task);
    match format {
        Format::Json => outln!("{shown}"),
        Format::Human => print_task(&shown),
    }
    Ok(0)
}

/// What `task show NAME` shows of a task, as its JSON.
fn task_json(task: &Task) -> serde_json::Value {
    let params: Option<Vec<serde_json::Value>> = task.parameters.as_ref().map(|ps| {
        ps.iter()
            .map(|(k, p)| {
                json!({
                    "name": k, "type": p.ty_text, "description": p.description,
                    "required": p.required(), "sensitive": p.sensitive,
                    // A secret's default is not shown.
                    "default": if p.sensitive { p.default.as_ref().map(|_| json!("[sensitive]")) } else { p.default.clone() },
                })
            })
            .collect()
    });
    let implementations: Vec<serde_json::Value> = task
        .implementations
        .iter()
        .map(|i| {
            json!({
                "file": i.path.display().to_string(),
                "requirements": i.requirements,
                "input_method": format!("{:?}", i.input_method).to_lowercase(),
                "files": i.files,
            })
        })
        .collect();
    json!({
        "name": task.name, "description": task.description,
        "parameters": params,
        "supports_noop": task.supports_noop, "private": task.private,
        "implementations": implementations,
        "metadata": task.metadata.as_ref().map(|m| m.display().to_string()),
    })
}

/// The tasks, one line each.
fn print_task_list(list: &[serde_json::Value]) {
    let width = list
        .iter()
        .map(|t| text(t, "name").len())
        .max()
        .unwrap_or(4);
    for t in list {
        let n = text(t, "name");
        match t["error"].as_str() {
            None => outln!("{n:width$}  {}", text(t, "description")),
            Some(e) => outln!("{n:width$}  (cannot be used: {e})"),
        }
    }
    outln!("{} task(s)", list.len());
}

/// One task: parameters, noop support, implementations, metadata file.
fn print_task(task: &serde_json::Value) {
    outln!("{}", text(task, "name"));
    if let Some(d) = task["description"].as_str() {
        outln!("  {d}");
    }
    outln!();
    match task["parameters"].as_array() {
        None => outln!("parameters: not declared (any parameter is passed as is)"),
        Some(ps) if ps.is_empty() => outln!("parameters: none"),
        Some(ps) => {
            outln!("parameters:");
            let width = ps.iter().map(|p| text(p, "name").len()).max().unwrap_or(0);
            let tw = ps.iter().map(|p| text(p, "type").len()).max().unwrap_or(0);
            for p in ps {
                let sensitive = p["sensitive"] == true;
                let mut notes = Vec::new();
                if p["required"] == true {
                    notes.push("required".to_string());
                }
                if sensitive {
                    notes.push("sensitive".into());
                }
                if !p["default"].is_null() && !sensitive {
                    notes.push(format!("default {}", p["default"]));
                }
                let notes = if notes.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", notes.join(", "))
                };
                outln!(
                    "  {:width$}  {:tw$}  {}{notes}",
                    text(p, "name"),
                    text(p, "type"),
                    text(p, "description")
                );
            }
        }
    }
    let noop = if task["supports_noop"] == true {
        "yes"
    } else {
        "no"
    };
    outln!("supports noop: {noop}");
    for i in task["implementations"].as_array().into_iter().flatten() {
        let req: Vec<&str> = i["requirements"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|r| r.as_str())
            .collect();
        let req = if req.is_empty() {
            "any target".to_string()
        } else {
            format!("targets with {}", req.join(", "))
        };
        outln!("implementation: {} ({req})", text(i, "file"));
    }
    if let Some(m) = task["metadata"].as_str() {
        outln!("metadata: {m}");
    }
}

/// `drover runs list`.
pub(crate) fn list_runs(project: &Path, format: Format) -> Result<u8, UsageError> {
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
pub(crate) fn show_run(
    project: &Path,
    id: &str,
    format: Format,
    html: Option<&Path>,
) -> Result<u8, UsageError> {
    let run = match crate::project::history::load(project, id) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(2);
        }
    };
    if let Some(path) = html {
        let events = match crate::project::history::events(project, &run.id) {
            Ok(events) => events,
            Err(e) => {
                eprintln!("error: {e}");
                return Ok(2);
            }
        };
        let mut timeline = crate::report::timeline::Timeline::from_events(&events);
        if run.status == "interrupted" {
            timeline.outcome = crate::report::timeline::RunOutcome::Interrupted;
        }
        let outputs = |target: &str| crate::project::history::output(project, &run.id, target);
        let page = crate::report::html::report(
            &timeline,
            &crate::report::html::Sources {
                root: project,
                outputs: &outputs,
            },
        );
        if let Err(e) = std::fs::write(path, page) {
            eprintln!("error: cannot write {}: {e}", path.display());
            return Ok(2);
        }
        return Ok(0);
    }
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

/// `drover runs watch [ID]`: follow a run from another terminal, a line per
/// step, result, log line and batch, until it ends (at once for a finished
/// run). Exit 0 when it succeeded, 1 when it failed or was interrupted (its
/// process died without an end).
pub(crate) fn watch_run(project: &Path, id: &str, format: Format) -> Result<u8, UsageError> {
    use std::io::{Read, Seek};
    let id = match crate::project::history::resolve(project, id) {
        Ok(id) => id,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(2);
        }
    };
    let path = project.join(".drover/runs").join(&id).join("events.jsonl");
    let (mut offset, mut partial) = (0u64, String::new());
    let mut running = 0usize;
    let mut steps: std::collections::HashMap<u64, String> = std::collections::HashMap::new();
    let clock = |e: &serde_json::Value| {
        let ms = e["at_ms"].as_u64().unwrap_or(0);
        format!(
            "[{:>2}:{:02}.{:03}]",
            ms / 60_000,
            ms / 1000 % 60,
            ms % 1000
        )
    };
    loop {
        let mut fresh = Vec::new();
        if let Ok(mut f) = std::fs::File::open(&path)
            && f.seek(std::io::SeekFrom::Start(offset)).is_ok()
        {
            let _ = f.read_to_end(&mut fresh);
        }
        offset += fresh.len() as u64;
        partial.push_str(&String::from_utf8_lossy(&fresh));
        while let Some(nl) = partial.find('\n') {
            let line: String = partial.drain(..=nl).collect();
            let Ok(e) = serde_json::from_str::<serde_json::Value>(line.trim_end()) else {
                continue;
            };
            if format == Format::Json {
                outln!("{}", line.trim_end());
            }
            let text = |k: &str| e[k].as_str().unwrap_or_default().to_string();
            let human = match e["type"].as_str().unwrap_or_default() {
                "plan_start" => Some(format!(
                    "watching run {id}: {} started {} by {}",
                    text("plan"),
                    text("started_at"),
                    text("user")
                )),
                "step_start" => {
                    let targets: Vec<&str> = e["targets"]
                        .as_array()
                        .map(|a| a.iter().filter_map(|t| t.as_str()).collect())
                        .unwrap_or_default();
                    let shown = match targets.len() {
                        0..=3 => targets.join(", "),
                        n => format!("{} and {} more", targets[..2].join(", "), n - 2),
                    };
                    let step = format!("{} {}", text("action"), text("detail"));
                    steps.insert(e["step"].as_u64().unwrap_or(0), step.clone());
                    Some(format!(
                        "{} {step} on {shown} · {}",
                        clock(&e),
                        text("location")
                    ))
                }
                "target_start" => {
                    running += 1;
                    None
                }
                "target_result" => {
                    running = running.saturating_sub(1);
                    let r = &e["result"];
                    let ok = r["ok"].as_bool().unwrap_or(false);
                    let error = if ok {
                        String::new()
                    } else {
                        format!(
                            ": {}: {}",
                            r["error"]["kind"].as_str().unwrap_or_default(),
                            r["error"]["message"].as_str().unwrap_or_default()
                        )
                    };
                    Some(format!(
                        "{}   {:6} {} {} ({}){error} · {running} running",
                        clock(&e),
                        if ok { "ok" } else { "FAILED" },
                        r["target"].as_str().unwrap_or_default(),
                        steps
                            .get(&e["step"].as_u64().unwrap_or(0))
                            .map_or(text("action"), Clone::clone),
                        crate::duration::format(e["duration_ms"].as_u64().unwrap_or(0))
                    ))
                }
                "log" | "message" => Some(format!(
                    "{} [{}] {}",
                    clock(&e),
                    e["level"].as_str().unwrap_or("message"),
                    text("message")
                )),
                "batch" => Some(format!(
                    "{} batch {} ({} iteration(s)) of the loop at {}",
                    clock(&e),
                    e["index"],
                    e["size"],
                    text("location")
                )),
                "interrupted" => {
                    if format == Format::Human {
                        outln!("run {id}: interrupted: {}", text("message"));
                    }
                    return Ok(1);
                }
                "plan_result" => {
                    let status = text("status");
                    if format == Format::Human {
                        let error = e["error"]["message"]
                            .as_str()
                            .map(|m| format!(": {m}"))
                            .unwrap_or_default();
                        outln!(
                            "run {id}: {status} in {}{error}",
                            crate::duration::format(e["duration_ms"].as_u64().unwrap_or(0))
                        );
                    }
                    return Ok(if status == "success" { 0 } else { 1 });
                }
                _ => None,
            };
            if let (Some(line), Format::Human) = (human, format) {
                outln!("{line}");
            }
        }
        if fresh.is_empty() && crate::project::history::abandoned(project, &id) {
            if format == Format::Human {
                outln!("run {id}: interrupted (its process is gone without an end)");
            }
            return Ok(1);
        }
        std::thread::sleep(std::time::Duration::from_millis(150));
    }
}
