//! `drover run`: find the plan, load and check the project's plans, turn
//! command-line parameters into values, run, and report (spec §8).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use indexmap::IndexMap;
use serde_json::json;

use super::UsageError;
use super::load::{PlanFiles, load_inventory, plan_files};
use crate::check::{CallGraph, reachable};
use crate::diagnostic::Diagnostic;
use crate::eval::{BAD_PARAMETERS, Interpreter, Program, StreamSinks};
use crate::project::history::History;
use crate::project::inventory::Inventory;
use crate::project::tasks::Catalog;
use crate::report::stream::LineSink;
use crate::report::{Format, Reporter};
use crate::source::{FileId, SourceMap, Span};
use crate::syntax::ast::File;
use crate::transport::{OutputSink, Stream};
use crate::value::{ErrorValue, Value};

/// What `drover run` was asked to do.
pub(crate) struct RunOptions {
    /// The project: its root, plans and tasks.
    pub tasks: Arc<Catalog>,
    /// Plan name or `.plan` path.
    pub plan: String,
    /// `key=value` parameters.
    pub params: Vec<String>,
    /// `--params` JSON object.
    pub params_json: Option<String>,
    /// `--plan NAME` for a file with several plans.
    pub plan_name: Option<String>,
    /// Output format.
    pub format: Format,
    /// `-i FILE`.
    pub inventory: Option<PathBuf>,
    /// `--concurrency N`.
    pub concurrency: usize,
    /// `--dry-run`.
    pub dry_run: bool,
    /// `--rerun failure|success|all`: the targets of the plan's last run.
    pub rerun: Option<String>,
    /// `--stream`: every target's output lines as they come.
    pub stream: bool,
    /// `--verbose`: show `out::verbose` lines.
    pub verbose: bool,
    /// `--state URL`: the state store.
    pub state: Option<String>,
    /// `--report FILE`: the run's HTML report, written at its end.
    pub report: Option<PathBuf>,
}

/// Run a plan; the exit code is 0 success, 1 plan failure, 2 bad usage.
pub(crate) fn run(opts: &RunOptions) -> Result<u8, UsageError> {
    let (program, name) = match load(opts) {
        Ok(loaded) => loaded,
        Err(Loaded::Usage(e)) => return Err(e),
        Err(Loaded::Diagnostics(sources, diags)) => {
            let color = crate::diagnostic::use_color();
            for d in &diags {
                eprint!("{}", d.render(&sources, color, 100));
            }
            eprintln!(
                "the plan does not check: {} error(s)",
                diags.iter().filter(|d| d.is_error()).count()
            );
            return Ok(2);
        }
    };
    let mut args = match parameters(&opts.params, opts.params_json.as_deref()) {
        Ok(args) => args,
        Err(message) => {
            eprintln!("error: {message}");
            return Ok(2);
        }
    };
    if let Some(plan) = program.plan(&name) {
        as_written(&opts.params, &mut args, |key| {
            plan.params
                .iter()
                .find(|p| p.name.node == key)
                .map(|p| &p.ty.node)
        });
    }
    if let Some(which) = &opts.rerun {
        match rerun_targets(opts, &program, &name, which) {
            Ok(targets) => {
                args.insert("targets".into(), Value::str(targets.join(",")));
            }
            Err(message) => {
                eprintln!("error: {message}");
                return Ok(2);
            }
        }
    }
    execute(
        &opts.tasks,
        &program,
        &name,
        args,
        Settings {
            state: Some(opts.state.clone()),
            inventory: opts.inventory.clone(),
            format: opts.format,
            concurrency: opts.concurrency,
            dry_run: opts.dry_run,
            stream: opts.stream,
            verbose: opts.verbose,
            report: opts.report.clone(),
        },
    )
}

/// Bolt's `--rerun`: the targets that failed (or succeeded, or all) in the
/// newest recorded run of the same plan, given as its `targets` parameter.
fn rerun_targets(
    opts: &RunOptions,
    program: &Program,
    name: &str,
    which: &str,
) -> Result<Vec<String>, String> {
    let plan = program.plan(name).ok_or(format!("no plan `{name}`"))?;
    if !plan.params.iter().any(|p| p.name.node == "targets") {
        return Err(format!(
            "--rerun gives the plan its `targets` parameter, and plan `{name}` has none"
        ));
    }
    let project = &opts.tasks.project().root;
    let last = crate::project::history::list(project)
        .into_iter()
        .find(|r| r.plan == name)
        .ok_or(format!(
            "no recorded run of `{name}` in .drover/runs to rerun"
        ))?;
    let targets = last.targets_where(which);
    if targets.is_empty() {
        return Err(format!(
            "run {} of `{name}` has no {which} targets: nothing to rerun",
            last.id
        ));
    }
    if opts.format == Format::Human {
        eprintln!(
            "rerunning on the {} {which} target(s) of run {}",
            targets.len(),
            last.id
        );
    }
    Ok(targets)
}

/// How to run: the options of `drover run` past the plan and its parameters.
struct Settings {
    /// Plan runs share pools through the state store (`--state`, ...);
    /// `None`: this run's pools are its own (task and command runs).
    state: Option<Option<String>>,
    inventory: Option<PathBuf>,
    format: Format,
    concurrency: usize,
    dry_run: bool,
    stream: bool,
    verbose: bool,
    /// Write the run's HTML report here at its end.
    report: Option<PathBuf>,
}

/// Parameters as `plan_start` shows them: converted to their declared types,
/// so that a `Sensitive` one is `"[sensitive]"` even when given as text.
fn shown_parameters(
    program: &Program,
    name: &str,
    args: &IndexMap<String, Value>,
) -> serde_json::Map<String, serde_json::Value> {
    let declared = |k: &str| {
        program
            .plan(name)
            .and_then(|p| p.params.iter().find(|p| p.name.node == k))
            .map(|p| &p.ty.node)
    };
    args.iter()
        .map(|(k, v)| {
            let shown = match declared(k) {
                Some(ty) if crate::value::types::type_text(ty).contains("Sensitive") => {
                    json!("[sensitive]")
                }
                Some(ty) => crate::value::types::coerce(v.clone(), ty)
                    .map(|v| v.to_json())
                    .unwrap_or_else(|_| v.to_json()),
                None => v.to_json(),
            };
            (k.clone(), shown)
        })
        .collect()
}

/// Run plan `name` of `program` and report it; returns the exit code. The
/// steps: the inventory, the reporter, the interpreter, the run on its
/// runtime (Ctrl-C stops it), the report.
fn execute(
    tasks: &Arc<Catalog>,
    program: &Program,
    name: &str,
    args: IndexMap<String, Value>,
    settings: Settings,
) -> Result<u8, UsageError> {
    let project = &tasks.project().root;
    let Some(inventory) = load_inventory(tasks, settings.inventory.clone())? else {
        return Ok(2);
    };
    // The state store, before anything starts; a dry run never opens it.
    let pools = match (&settings.state, settings.dry_run) {
        (Some(given), false) => match open_state(tasks, given.as_deref(), name) {
            Ok(p) => Some(p),
            Err(message) => {
                eprintln!("error: {message}");
                return Ok(2);
            }
        },
        _ => None,
    };
    if !settings.dry_run {
        note_open_files(&inventory);
    }
    let reporter = reporter(tasks, &settings);
    let parameters = shown_parameters(program, name, &args);
    reporter.plan_start(
        name,
        &parameters,
        inventory.targets().len(),
        settings.concurrency,
        settings.dry_run,
    );
    // The report names every target the plan was given, even those it
    // never reached (a loop that stopped early).
    if let Some(Value::Str(spec)) = args.get("targets") {
        let given = inventory.resolve(spec).unwrap_or_default();
        reporter.expect_targets(given.iter().map(|t| t.name.as_str()));
    }
    let mut interpreter = Interpreter::new(program, &inventory, &reporter);
    if let Some(pools) = pools {
        interpreter = interpreter.with_pools(pools);
    }
    let interpreter = interpreter
        .with_tasks(tasks.clone())
        .with_concurrency(settings.concurrency)
        .with_dry_run(settings.dry_run)
        .with_stream(stream_sinks(&settings, &inventory, &reporter));
    // A dry run is on a paused clock: simulated waits cost nothing, and the
    // elapsed virtual time is the predicted duration.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(settings.dry_run)
        .build()
        .map_err(|source| UsageError::Io {
            path: project.to_path_buf(),
            source,
        })?;
    let outcome = runtime.block_on(run_until_interrupted(&interpreter, &reporter, name, args));
    // The report is written however the run ends.
    let write_report = |reporter: &Reporter| {
        let Some(path) = &settings.report else {
            return true;
        };
        match std::fs::write(path, reporter.html(project)) {
            Ok(()) => true,
            Err(e) => {
                eprintln!("error: cannot write the report {}: {e}", path.display());
                false
            }
        }
    };
    let (result, duration_ms) = match outcome {
        Ok(done) => done,
        Err(released) => {
            reporter.interrupted(released);
            write_report(&reporter);
            return Ok(130);
        }
    };
    if let Err(e) = &result
        && e.kind == BAD_PARAMETERS
        && e.location.is_empty()
    {
        reporter.finish();
        eprintln!("error: {}", e.message);
        return Ok(2);
    }
    reporter.plan_result(program, name, &result, duration_ms, settings.dry_run);
    if !write_report(&reporter) {
        return Ok(2);
    }
    Ok(if result.is_ok() { 0 } else { 1 })
}

/// The run's reporter; every real run is recorded, a dry run touches
/// nothing, not even the history.
fn reporter(tasks: &Catalog, settings: &Settings) -> Reporter {
    let history = if settings.dry_run {
        None
    } else {
        match History::create(&tasks.project().root, tasks.project().runs_kept) {
            Ok(h) => Some(h),
            Err(e) => {
                eprintln!("warning: this run is not recorded in .drover/runs: {e}");
                None
            }
        }
    };
    // Bars only for people at a terminal; a dry run is over at once.
    let bars = settings.format == Format::Human
        && !settings.dry_run
        && std::io::IsTerminal::is_terminal(&std::io::stderr());
    let reporter = Reporter::new(
        settings.format,
        settings.dry_run,
        bars,
        settings.concurrency,
        history,
    )
    .with_verbose(settings.verbose);
    match settings.report {
        Some(_) => reporter.keeping_events(),
        None => reporter,
    }
}

/// With `--stream`, a line sink per target and action.
fn stream_sinks(
    settings: &Settings,
    inventory: &Inventory,
    reporter: &Reporter,
) -> Option<StreamSinks> {
    if !settings.stream || settings.dry_run {
        return None;
    }
    let width = inventory
        .targets()
        .iter()
        .map(|t| t.name.chars().count())
        .max()
        .unwrap_or(0);
    let json = settings.format == Format::Json;
    let bars = reporter.bars();
    Some(Arc::new(move |target: &str| {
        let sink = Arc::new(LineSink::new(target, width, json, bars.clone()));
        Arc::new(move |s: Stream, data: &[u8]| sink.push(s, data)) as OutputSink
    }))
}

/// The state store of a plan run: `--state`, else `DROVER_STATE`, else the
/// project's `state:`, else SQLite in `.drover/state.db`.
pub(crate) fn open_state(
    tasks: &Catalog,
    given: Option<&str>,
    plan: &str,
) -> Result<Arc<dyn crate::pools::PoolManager>, String> {
    let project = tasks.project();
    let url = given
        .map(String::from)
        .or_else(|| std::env::var("DROVER_STATE").ok().filter(|s| !s.is_empty()))
        .or_else(|| project.state.clone())
        .unwrap_or_else(|| crate::pools::DEFAULT_STORE.to_string());
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    let info =
        crate::pools::sqlite::RunInfo::here(&format!("{millis}-{}", std::process::id()), plan);
    let lease = project.state_lease.unwrap_or(crate::pools::DEFAULT_LEASE);
    crate::pools::open_store(&url, &project.root, info, lease)
}

/// Run the plan, redrawing the bars as time passes; on Ctrl-C, stop
/// everything in flight and give back the pool targets (their count is the
/// error).
async fn run_until_interrupted(
    interpreter: &Interpreter<'_>,
    reporter: &Reporter,
    name: &str,
    args: IndexMap<String, Value>,
) -> Result<(Result<Value, Box<ErrorValue>>, u64), usize> {
    reporter.start_clock();
    // Elapsed times and the slowest targets change between events.
    let ticker = async {
        loop {
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            if !reporter.tick() {
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        result = interpreter.run(name, args) => Ok((result, reporter.elapsed_ms())),
        why = interpreter.pools.lost() => {
            // Another run may hold our targets now: stop as on Ctrl-C.
            interpreter.release_pools_for("lease-lost");
            interpreter.connections.close(&interpreter.concurrency).await;
            let e = ErrorValue::new(
                "drover/lease-lost",
                format!("this run lost its hold on its pool targets and locks: {why}"),
            );
            Ok((Err(Box::new(e)), reporter.elapsed_ms()))
        }
        _ = ticker => unreachable!("the ticker never ends"),
        _ = tokio::signal::ctrl_c() => {
            // Dropping the run stopped everything in flight (the local
            // transport kills whole process groups); a second Ctrl-C
            // exits at once.
            tokio::spawn(async {
                let _ = tokio::signal::ctrl_c().await;
                std::process::exit(130);
            });
            let released = interpreter.release_pools();
            interpreter.connections.close(&interpreter.concurrency).await;
            Err(released)
        }
    }
}

/// `drover command run`: one `run_command` step, reported like a plan.
pub(crate) fn command(
    tasks: &Arc<Catalog>,
    command: &str,
    targets: &str,
    inventory: Option<PathBuf>,
    timeout: Option<&str>,
    format: Format,
    stream: bool,
) -> Result<u8, UsageError> {
    let timeout = match timeout.map(crate::duration::parse) {
        None => String::new(),
        Some(Ok(ms)) => format!(", _timeout => {}", crate::duration::format(ms)),
        Some(Err(help)) => {
            eprintln!("error: --timeout: {help}");
            return Ok(2);
        }
    };
    // The command is a plan of one step, so it is reported like any plan.
    let text = format!(
        "plan command(String $command, TargetSpec $targets) {{\n    return run_command($command, $targets{timeout});\n}}\n"
    );
    let mut sources = SourceMap::new();
    sources.add("<command>", text);
    let (files, diags) = crate::check::check_sources(&sources);
    debug_assert!(diags.is_empty(), "{diags:?}");
    let program = Program { sources, files };
    let mut args = IndexMap::new();
    args.insert("command".to_string(), Value::str(command));
    args.insert("targets".to_string(), Value::str(targets));
    execute(
        tasks,
        &program,
        "command",
        args,
        Settings {
            state: None,
            inventory,
            format,
            concurrency: tasks
                .project()
                .concurrency
                .unwrap_or(crate::eval::DEFAULT_CONCURRENCY),
            dry_run: false,
            stream,
            verbose: false,
            report: None,
        },
    )
}

/// What `drover task run` was asked to do.
pub(crate) struct TaskRunOptions {
    /// The task's name.
    pub task: String,
    /// `-t SPEC`.
    pub targets: String,
    /// `key=value` parameters.
    pub params: Vec<String>,
    /// `--params` JSON object.
    pub params_json: Option<String>,
    /// `-i FILE`.
    pub inventory: Option<PathBuf>,
    /// `--noop`.
    pub noop: bool,
    /// `--stream`.
    pub stream: bool,
    /// Output format.
    pub format: Format,
}

/// `drover task run`: one `run_task` step, reported like a plan. Parameters
/// are checked against the task's metadata before anything connects.
pub(crate) fn task(tasks: &Arc<Catalog>, opts: &TaskRunOptions) -> Result<u8, UsageError> {
    let usage = |message: String| {
        eprintln!("error: {message}");
        Ok(2)
    };
    let task = match tasks.get(&opts.task) {
        Ok(t) => t,
        Err(message) => return usage(message),
    };
    let mut args = match parameters(&opts.params, opts.params_json.as_deref()) {
        Ok(a) => a,
        Err(message) => return usage(message),
    };
    as_written(&opts.params, &mut args, |key| {
        task.parameters.as_ref()?.get(key).map(|p| &p.ty)
    });
    if let Some(bad) = args.keys().find(|k| {
        !k.starts_with(|c: char| c.is_ascii_lowercase())
            || !k
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    }) {
        return usage(format!(
            "`{bad}` is not a task parameter name (lower-case letters, digits and `_`)"
        ));
    }
    let given = args
        .iter()
        .map(|(k, v)| (k.clone(), (v.clone(), crate::source::Span::default())))
        .collect();
    // The checked values: secrets are Sensitive from here on (the plan_start
    // event shows its parameters).
    let args = match task.bind(given, opts.noop) {
        Ok(bound) => bound,
        Err((message, _)) => return usage(message),
    };
    // The task is a plan of one step; parameters travel as plan arguments.
    let declared: String = (0..args.len()).map(|i| format!(", Any $p{i}")).collect();
    let passed: String = args
        .keys()
        .enumerate()
        .map(|(i, k)| format!(", {k} => $p{i}"))
        .collect();
    let noop = if opts.noop { ", _noop => true" } else { "" };
    let text = format!(
        "plan task(String $task, TargetSpec $targets{declared}) {{\n    return run_task($task, $targets{passed}{noop});\n}}\n"
    );
    let mut sources = SourceMap::new();
    sources.add("<task>", text);
    let (files, diags) = crate::check::check_sources(&sources);
    debug_assert!(diags.is_empty(), "{diags:?}");
    let program = Program { sources, files };
    let mut plan_args = IndexMap::new();
    plan_args.insert("task".to_string(), Value::str(&opts.task));
    plan_args.insert("targets".to_string(), Value::str(&opts.targets));
    for (i, (_, v)) in args.into_iter().enumerate() {
        plan_args.insert(format!("p{i}"), v);
    }
    execute(
        tasks,
        &program,
        "task",
        plan_args,
        Settings {
            state: None,
            inventory: opts.inventory.clone(),
            format: opts.format,
            concurrency: tasks
                .project()
                .concurrency
                .unwrap_or(crate::eval::DEFAULT_CONCURRENCY),
            dry_run: false,
            stream: opts.stream,
            verbose: false,
            report: None,
        },
    )
}

enum Loaded {
    Usage(UsageError),
    Diagnostics(SourceMap, Vec<Diagnostic>),
}

/// Parse and check the project's plans (and the given file), and pick the plan.
fn load(opts: &RunOptions) -> Result<(Program, String), Loaded> {
    let as_path = Path::new(&opts.plan);
    let is_file = opts.plan.ends_with(".plan") || as_path.is_file();
    let mut files = plan_files(opts.tasks.project(), &[], true).unwrap_or_default();
    let given = if is_file {
        if !as_path.is_file() {
            return Err(Loaded::Usage(UsageError::Missing(as_path.to_path_buf())));
        }
        let canonical = as_path.canonicalize().ok();
        files.retain(|f| f.canonicalize().ok() != canonical);
        files.insert(0, as_path.to_path_buf());
        Some(as_path)
    } else {
        None
    };
    let read = PlanFiles::read(&files).map_err(Loaded::Usage)?;
    let (asts, diags, calls) = read.check_calls(Some(&opts.tasks));
    let sources = read.sources;
    // A given file that does not parse has no plan to pick: report it.
    if given.is_some() && asts.first().is_none_or(|f| f.id != FileId(0)) {
        return Err(Loaded::Diagnostics(sources, diags));
    }
    let name = match (given, &opts.plan_name) {
        (_, Some(n)) => n.clone(),
        (Some(path), None) => {
            // The plan whose last name segment is the file's stem, or the only one.
            let stem = path
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or_default();
            let plans = &asts[0].plans;
            let found = plans
                .iter()
                .find(|p| p.name.node.rsplit("::").next() == Some(stem));
            match (found, plans.as_slice()) {
                (Some(p), _) | (None, [p]) => p.name.node.clone(),
                _ => {
                    return Err(Loaded::Usage(UsageError::Ambiguous(
                        path.to_path_buf(),
                        plans.iter().map(|p| p.name.node.clone()).collect(),
                    )));
                }
            }
        }
        (None, None) => opts.plan.clone(),
    };
    let diags = needed(&asts, diags, &calls, &name);
    if diags.iter().any(Diagnostic::is_error) {
        return Err(Loaded::Diagnostics(sources, diags));
    }
    Ok((
        Program {
            sources,
            files: asts,
        },
        name,
    ))
}

/// The diagnostics of the plans that running `name` may run (Bolt runs a
/// good plan beside a broken one); all of them when that set is unknown: the
/// plan is not among those that parsed, or some plan it runs names a plan
/// only at run time. Errors elsewhere are counted in a note.
fn needed(asts: &[File], diags: Vec<Diagnostic>, calls: &CallGraph, name: &str) -> Vec<Diagnostic> {
    let plans = || asts.iter().flat_map(|f| &f.plans);
    if !plans().any(|p| p.name.node == name) {
        return diags;
    }
    let Some(runs) = reachable(calls, name) else {
        return diags;
    };
    // Any plan may call any Puppet function: theirs count too.
    let functions = asts.iter().flat_map(|f| &f.functions);
    let used: Vec<Span> = plans()
        .filter(|p| runs.contains(&p.name.node))
        .chain(functions)
        .map(|p| p.span)
        .collect();
    let needed = |d: &Diagnostic| {
        let at = d.primary.span;
        // A file that is not UTF-8 is refused as a whole.
        used.iter().any(|s| {
            s.file == at.file
                && (d.code == "invalid-utf8" || (s.start <= at.start && at.start <= s.end))
        })
    };
    let (kept, others): (Vec<Diagnostic>, Vec<Diagnostic>) = diags.into_iter().partition(needed);
    let errors = others.iter().filter(|d| d.is_error()).count();
    if errors > 0 {
        eprintln!(
            "note: {errors} error(s) in plans that `{name}` does not run; `drover check` lists them"
        );
    }
    kept
}

/// `key=value` arguments and `--params` as values; later ones win.
/// `key=value` that parses as JSON but fits the declared type only as the
/// text it was written as (`version=1.10` for a String) is that text.
fn as_written<'t>(
    params: &[String],
    args: &mut IndexMap<String, Value>,
    declared: impl Fn(&str) -> Option<&'t crate::syntax::ast::Type>,
) {
    for p in params {
        if let Some((key, raw)) = p.split_once('=')
            && let Some(ty) = declared(key)
            && let Some(v) = args.get_mut(key)
            && crate::value::types::coerce(v.clone(), ty).is_err()
            && crate::value::types::coerce(Value::str(raw), ty).is_ok()
        {
            *v = Value::str(raw);
        }
    }
}

fn parameters(params: &[String], json: Option<&str>) -> Result<IndexMap<String, Value>, String> {
    let mut args = IndexMap::new();
    if let Some(json) = json {
        match serde_json::from_str::<serde_json::Value>(json) {
            Ok(serde_json::Value::Object(map)) => {
                args.extend(map.iter().map(|(k, v)| (k.clone(), Value::from_json(v))));
            }
            Ok(_) => return Err("--params takes a JSON object".into()),
            Err(e) => return Err(format!("--params is not valid JSON: {e}")),
        }
    }
    for p in params {
        let Some((key, raw)) = p.split_once('=') else {
            return Err(format!("parameter `{p}` is not `key=value`"));
        };
        let value = match serde_json::from_str::<serde_json::Value>(raw) {
            Ok(j) => Value::from_json(&j),
            Err(_) => Value::str(raw),
        };
        args.insert(key.to_string(), value);
    }
    Ok(args)
}

/// Raise the open-files limit for SSH, and say so when even the hard limit
/// is below one connection per target: idle ones will then be closed and
/// opened again (`idle-connections`, docs/ssh.md).
fn note_open_files(inventory: &crate::project::inventory::Inventory) {
    let ssh = inventory
        .targets()
        .iter()
        .filter(|t| t.transport == crate::value::TransportKind::Ssh)
        .count() as u64;
    if ssh == 0 {
        return;
    }
    let limit = crate::transport::open_files_limit();
    if ssh > limit / 2 {
        eprintln!(
            "note: the open-files limit is {limit} (raised to the hard limit), too low to keep \
             one SSH connection per target open for {ssh} targets: at most {} idle connections \
             stay open (raise `ulimit -Hn`, or set config.ssh.idle-connections)",
            limit / 2
        );
    }
}
