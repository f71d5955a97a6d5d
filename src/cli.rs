//! The `drover` command line.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use serde_json::json;

use crate::diagnostic::{self, Diagnostic};
use crate::source::{SourceMap, Span};

/// Orchestrate fleets of servers with declarative plans.
#[derive(Parser, Debug)]
#[command(name = "drover", version, about)]
pub struct Cli {
    /// Project root (default: the current directory).
    #[arg(long, global = true, value_name = "DIR")]
    pub project: Option<PathBuf>,
    /// Directories of modules searched before the project's module path
    /// (colon-separated, relative to the project).
    #[arg(long, global = true, value_name = "DIRS")]
    pub modulepath: Option<String>,
    #[command(subcommand)]
    command: Verb,
}

#[derive(Subcommand, Debug)]
enum Verb {
    /// Run a shell command on targets, without a plan.
    Command {
        #[command(subcommand)]
        command: CommandCommand,
    },
    /// Show the inventory's targets.
    Inventory {
        #[command(subcommand)]
        command: InventoryCommand,
    },
    /// Run a plan: `drover run NAME key=value ...`.
    Run {
        /// A plan name (`web::reboot`) or a path to a `.plan` file.
        plan: String,
        /// Parameters as `key=value`; a value that parses as JSON is JSON.
        params: Vec<String>,
        /// Parameters as one JSON object.
        #[arg(long = "params", value_name = "JSON")]
        params_json: Option<String>,
        /// Which plan of the file to run (default: the one named like the file).
        #[arg(long = "plan", value_name = "NAME")]
        plan_name: Option<String>,
        /// The inventory file (default: inventory.yaml in the project).
        #[arg(short = 'i', long = "inventory", value_name = "FILE")]
        inventory: Option<PathBuf>,
        /// At most this many target operations at once, in the whole run.
        #[arg(long, value_name = "N", default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..))]
        concurrency: u64,
        /// Simulate every action on virtual time: nothing is connected or started.
        #[arg(long)]
        dry_run: bool,
        /// Print every target's output lines as they arrive, prefixed with its name.
        #[arg(long)]
        stream: bool,
        /// Run again on the targets that failed (or succeeded, or all) in the
        /// plan's last recorded run; they become its `targets` parameter.
        #[arg(long, value_name = "WHICH", value_parser = ["failure", "success", "all"])]
        rerun: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
    /// List the plans, or show one plan's parameters.
    Plan {
        #[command(subcommand)]
        command: PlanCommand,
    },
    /// Print a shell completion script: `drover completions bash > ...`.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Recorded runs (`.drover/runs/`).
    Runs {
        #[command(subcommand)]
        command: RunsCommand,
    },
    /// Run or describe tasks.
    Task {
        #[command(subcommand)]
        command: TaskCommand,
    },
    /// Parse and check plans without running anything.
    Check {
        /// Plan files or directories (default: the project's `plans/` and `modules/*/plans/`).
        paths: Vec<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
}

#[derive(Subcommand, Debug)]
enum CommandCommand {
    /// `drover command run 'CMD' -t SPEC`, like Bolt's.
    Run {
        /// The shell command line.
        command: String,
        /// The targets (names, groups, globs, comma lists, URIs).
        #[arg(short = 't', long = "targets", value_name = "SPEC")]
        targets: String,
        /// The inventory file (default: inventory.yaml in the project).
        #[arg(short = 'i', long = "inventory", value_name = "FILE")]
        inventory: Option<PathBuf>,
        /// Stop the command after this long (e.g. `30s`).
        #[arg(long, value_name = "DURATION")]
        timeout: Option<String>,
        /// Print every target's output lines as they arrive, prefixed with its name.
        #[arg(long)]
        stream: bool,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
}

#[derive(Subcommand, Debug)]
enum PlanCommand {
    /// Every plan of the project, its modules and the standard library, or one plan.
    Show {
        /// The plan to describe (default: list them all).
        plan: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
}

#[derive(Subcommand, Debug)]
enum RunsCommand {
    /// Every recorded run, newest first.
    List {
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
    /// One run: how each target fared, and every failure.
    Show {
        /// The run's id (default: the last run).
        #[arg(default_value = "last")]
        id: String,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
}

#[derive(Subcommand, Debug)]
enum TaskCommand {
    /// `drover task run NAME -t SPEC key=value ...`, like Bolt's.
    Run {
        /// The task (`module::task`, or `module` for `module::init`).
        task: String,
        /// Parameters as `key=value`; a value that parses as JSON is JSON.
        params: Vec<String>,
        /// The targets (names, groups, globs, comma lists, URIs).
        #[arg(short = 't', long = "targets", value_name = "SPEC")]
        targets: String,
        /// Parameters as one JSON object.
        #[arg(long = "params", value_name = "JSON")]
        params_json: Option<String>,
        /// The inventory file (default: inventory.yaml in the project).
        #[arg(short = 'i', long = "inventory", value_name = "FILE")]
        inventory: Option<PathBuf>,
        /// Ask the task to change nothing (tasks with `supports_noop`).
        #[arg(long)]
        noop: bool,
        /// Print every target's output lines as they arrive, prefixed with its name.
        #[arg(long)]
        stream: bool,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
    /// List the tasks, or show one task's parameters.
    Show {
        /// The task to describe (default: list them all).
        task: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
}

#[derive(Subcommand, Debug)]
enum InventoryCommand {
    /// List targets with their transport, URI and groups.
    Show {
        /// Only the targets of this spec (names, groups, globs, comma lists).
        #[arg(short = 't', long = "targets", value_name = "SPEC")]
        targets: Option<String>,
        /// The inventory file (default: inventory.yaml in the project).
        #[arg(short = 'i', long = "inventory", value_name = "FILE")]
        inventory: Option<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
}

/// Output formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// For people: source snippets with carets.
    Human,
    /// For editors and CI.
    Json,
}

/// Errors that are about how drover was called, not about plans (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum UsageError {
    /// A path given on the command line does not exist.
    #[error("no such file or directory: {0}")]
    Missing(PathBuf),
    /// Nothing to check.
    #[error("no plans found: {0} has no `plans/` directory (give paths to check)")]
    NoPlans(PathBuf),
    /// A file defines several plans and none is named like the file.
    #[error("{path} defines several plans ({plans}); choose one with --plan", path = .0.display(), plans = .1.join(", "))]
    Ambiguous(PathBuf, Vec<String>),
    /// A directory could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// Parse the arguments and run; returns the process exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let root = cli.project.clone().unwrap_or_else(|| PathBuf::from("."));
    let project = match crate::project::Project::load(&root, cli.modulepath.as_deref()) {
        Ok(p) => p,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(2);
        }
    };
    let tasks = std::sync::Arc::new(crate::project::tasks::Catalog::new(project));
    let project = root;
    let result = match cli.command {
        Verb::Check { paths, format } => run_check(&tasks, &paths, format),
        Verb::Command {
            command:
                CommandCommand::Run {
                    command,
                    targets,
                    inventory,
                    timeout,
                    stream,
                    format,
                },
        } => crate::app::run::command(
            &tasks,
            &command,
            &targets,
            inventory,
            timeout.as_deref(),
            format,
            stream,
        ),
        Verb::Task {
            command:
                TaskCommand::Run {
                    task,
                    params,
                    targets,
                    params_json,
                    inventory,
                    noop,
                    stream,
                    format,
                },
        } => crate::app::run::task(
            &tasks,
            &crate::app::run::TaskRunOptions {
                task,
                targets,
                params,
                params_json,
                inventory,
                noop,
                stream,
                format,
            },
        ),
        Verb::Task {
            command: TaskCommand::Show { task, format },
        } => show_tasks(&tasks, task.as_deref(), format),
        Verb::Plan {
            command: PlanCommand::Show { plan, format },
        } => show_plans(tasks.project(), plan.as_deref(), format),
        Verb::Completions { shell } => {
            use clap::CommandFactory;
            clap_complete::generate(shell, &mut Cli::command(), "drover", &mut std::io::stdout());
            Ok(0)
        }
        Verb::Runs { command } => match command {
            RunsCommand::List { format } => list_runs(&project, format),
            RunsCommand::Show { id, format } => show_run(&project, &id, format),
        },
        Verb::Inventory {
            command:
                InventoryCommand::Show {
                    targets,
                    inventory,
                    format,
                },
        } => show_inventory(&project, inventory, targets.as_deref(), format),
        Verb::Run {
            plan,
            params,
            params_json,
            plan_name,
            inventory,
            concurrency,
            dry_run,
            rerun,
            stream,
            format,
        } => crate::app::run::run(&crate::app::run::RunOptions {
            rerun,
            stream,
            concurrency: concurrency as usize,
            dry_run,
            tasks: tasks.clone(),
            plan,
            params,
            params_json,
            plan_name,
            format,
            inventory,
        }),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

/// Whether to colour output on stderr.
pub fn color() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Load the inventory: `-i FILE`, else `inventory.yaml` in the project, else
/// an empty one. Diagnostics are printed; `None` means it did not load.
pub fn load_inventory(
    project: &Path,
    file: Option<PathBuf>,
) -> Result<Option<crate::project::inventory::Inventory>, UsageError> {
    let path = match file {
        Some(f) if !f.is_file() => return Err(UsageError::Missing(f)),
        Some(f) => f,
        None if project.join("inventory.yaml").is_file() => project.join("inventory.yaml"),
        None => return Ok(Some(crate::project::inventory::Inventory::default())),
    };
    let mut sources = SourceMap::new();
    match crate::project::inventory::Inventory::load(&path, &mut sources) {
        Ok(inv) => Ok(Some(inv)),
        Err(diags) => {
            for d in &diags {
                eprint!("{}", d.render(&sources, color(), 100));
            }
            Ok(None)
        }
    }
}

fn show_inventory(
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
            println!("{}", json!({ "targets": list, "count": targets.len() }));
        }
        Format::Human => {
            let width = targets
                .iter()
                .map(|t| t.name.len())
                .max()
                .unwrap_or(4)
                .max(4);
            println!("{:width$}  {:9}  {:30}  groups", "name", "transport", "uri");
            for t in &targets {
                println!(
                    "{:width$}  {:9}  {:30}  {}",
                    t.name,
                    t.transport.as_str(),
                    t.uri,
                    t.groups.join(", ")
                );
            }
            println!("{} target(s)", targets.len());
        }
    }
    Ok(0)
}

/// `drover plan show [NAME]`: every plan (name, first line of its
/// description, file), or one plan's parameters.
fn show_plans(
    project: &crate::project::Project,
    name: Option<&str>,
    format: Format,
) -> Result<u8, UsageError> {
    let sources = read_sources(&plan_files(project, &[], true)?)?;
    let (asts, _) = crate::check::check_sources(&sources);
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
                println!("{}", json!({ "plans": list }));
            }
            Format::Human => {
                let width = plans.iter().map(|p| p.name.node.len()).max().unwrap_or(4);
                for p in &plans {
                    let first = p
                        .description
                        .as_deref()
                        .and_then(|d| d.lines().next())
                        .unwrap_or("");
                    println!("{:width$}  {first}", p.name.node);
                }
                println!("{} plan(s)", plans.len());
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
        Format::Json => println!(
            "{}",
            json!({"name": plan.name.node, "description": plan.description, "parameters": params, "location": where_(plan.name.span)})
        ),
        Format::Human => {
            println!("{}  ({})", plan.name.node, where_(plan.name.span));
            if let Some(d) = &plan.description {
                for line in d.lines() {
                    println!("  {line}");
                }
            }
            if params.is_empty() {
                println!("parameters: none");
            } else {
                println!("parameters:");
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
                    println!(
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

/// `drover runs list`.
fn list_runs(project: &Path, format: Format) -> Result<u8, UsageError> {
    let runs = crate::project::history::list(project);
    match format {
        Format::Json => {
            let list: Vec<serde_json::Value> = runs.iter().map(|r| r.to_json()).collect();
            println!("{}", json!({ "runs": list }));
        }
        Format::Human => {
            println!(
                "{:24}  {:11}  {:>9}  {:>7}  plan",
                "id", "status", "duration", "failed"
            );
            for r in &runs {
                let failed = r.targets_where("failure").len();
                println!(
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
            println!("{} run(s)", runs.len());
        }
    }
    Ok(0)
}

/// `drover runs show [ID]`.
fn show_run(project: &Path, id: &str, format: Format) -> Result<u8, UsageError> {
    let run = match crate::project::history::load(project, id) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(2);
        }
    };
    match format {
        Format::Json => println!("{}", run.to_json()),
        Format::Human => {
            println!(
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
            println!(
                "{:width$}  {:6}  {:>9}  last step",
                "target", "status", "time"
            );
            for (name, t) in &run.targets {
                println!(
                    "{name:width$}  {:6}  {:>9}  {}",
                    if t.ok { "ok" } else { "failed" },
                    crate::duration::format(t.duration_ms),
                    t.last_action
                );
            }
            for (name, t) in &run.targets {
                if let Some((kind, message, location)) = &t.error {
                    println!("\n{name}: {message} ({kind})\n  at {location}");
                }
            }
            println!(
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

/// `drover task show [NAME]`: every listed task with its description, or one
/// task's parameters, implementations and metadata file.
fn show_tasks(
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
                println!("{}", json!({ "tasks": items }));
            }
            Format::Human => {
                let width = list.iter().map(|(n, ..)| n.len()).max().unwrap_or(4);
                for (n, d, e) in &list {
                    match e {
                        None => println!("{n:width$}  {d}"),
                        Some(e) => println!("{n:width$}  (cannot be used: {e})"),
                    }
                }
                println!("{} task(s)", list.len());
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
        Format::Json => println!(
            "{}",
            json!({
                "name": task.name, "description": task.description,
                "parameters": task.parameters.as_ref().map(|_| params.clone()),
                "supports_noop": task.supports_noop, "private": task.private,
                "implementations": implementations, "metadata": metadata,
            })
        ),
        Format::Human => {
            println!("{}", task.name);
            if let Some(d) = &task.description {
                println!("  {d}");
            }
            println!();
            match &task.parameters {
                None => println!("parameters: not declared (any parameter is passed as is)"),
                Some(ps) if ps.is_empty() => println!("parameters: none"),
                Some(ps) => {
                    println!("parameters:");
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
                        println!(
                            "  {k:width$}  {:tw$}  {}{notes}",
                            p.ty_text,
                            p.description.as_deref().unwrap_or("")
                        );
                    }
                }
            }
            println!(
                "supports noop: {}",
                if task.supports_noop { "yes" } else { "no" }
            );
            for i in &task.implementations {
                let req = if i.requirements.is_empty() {
                    "any target".to_string()
                } else {
                    format!("targets with {}", i.requirements.join(", "))
                };
                println!("implementation: {} ({req})", i.path.display());
            }
            if let Some(m) = metadata {
                println!("metadata: {m}");
            }
        }
    }
    Ok(0)
}

/// `drover check`: exit 0 clean (warnings allowed), 1 with errors.
fn run_check(
    tasks: &crate::project::tasks::Catalog,
    paths: &[PathBuf],
    format: Format,
) -> Result<u8, UsageError> {
    let files = plan_files(tasks.project(), paths, false)?;
    let mut sources = SourceMap::new();
    let mut encoding_errors = Vec::new();
    for path in &files {
        let bytes = std::fs::read(path).map_err(|source| UsageError::Io {
            path: path.clone(),
            source,
        })?;
        let name = path.display().to_string();
        // A file that is not UTF-8 is reported, and checked as decoded lossily.
        let id = sources.add(name, String::from_utf8_lossy(&bytes).into_owned());
        if let Err(e) = std::str::from_utf8(&bytes) {
            let at = e.valid_up_to();
            encoding_errors.push(
                Diagnostic::error(
                    "invalid-utf8",
                    Span::new(id, at, at + 1),
                    "plan files must be UTF-8",
                )
                .with_label("invalid byte here"),
            );
        }
    }
    let (asts, mut diags) = crate::check::check_sources_with(&sources, Some(tasks));
    diags.extend(encoding_errors);
    diagnostic::sort(&mut diags);
    let errors = diags.iter().filter(|d| d.is_error()).count();
    let warnings = diags.len() - errors;
    let plans: usize = asts.iter().map(|f| f.plans.len()).sum();
    match format {
        Format::Json => {
            let out = json!({
                "files": files.len(),
                "plans": plans,
                "errors": errors,
                "warnings": warnings,
                "diagnostics": diags.iter().map(|d| d.to_json(&sources)).collect::<Vec<_>>(),
            });
            println!("{out}");
        }
        Format::Human => {
            let color = color();
            let mut err = std::io::stderr().lock();
            for d in &diags {
                let _ = write!(err, "{}", d.render(&sources, color, 100));
            }
            let _ = writeln!(
                err,
                "checked {plans} plan(s) in {} file(s): {errors} error(s), {warnings} warning(s)",
                files.len()
            );
        }
    }
    Ok(if errors > 0 { 1 } else { 0 })
}

/// Plan files read into a source map (decoded lossily: `drover check`
/// reports files that are not UTF-8).
pub fn read_sources(files: &[PathBuf]) -> Result<SourceMap, UsageError> {
    let mut sources = SourceMap::new();
    for path in files {
        let text = std::fs::read(path).map_err(|source| UsageError::Io {
            path: path.clone(),
            source,
        })?;
        sources.add(
            path.display().to_string(),
            String::from_utf8_lossy(&text).into_owned(),
        );
    }
    Ok(sources)
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
        } else if path.extension().is_some_and(|e| e == "plan") {
            out.push(path);
        }
    }
    Ok(())
}
