//! `drover run`: find the plan, load and check the project's plans, turn
//! command-line parameters into values, run, and report (spec §8).

use std::cell::RefCell;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use indexmap::IndexMap;
use serde_json::json;

use crate::cli::{Format, UsageError, plan_files};
use crate::diagnostic::Diagnostic;
use crate::eval::{BAD_PARAMETERS, Events, Interpreter, Program, Step};
use crate::project::tasks::Catalog;
use crate::source::SourceMap;
use crate::value::Value;

/// What `drover run` was asked to do.
pub struct RunOptions {
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
}

/// Prints logs and messages as the run goes: JSON Lines or plain lines.
struct Printer {
    format: Format,
    /// JSON lines go here: buffered in a dry run, where thousands of events
    /// arrive at once, line by line otherwise so that they show as they happen.
    json: RefCell<Box<dyn Write>>,
    /// When the run started, on the run's clock (virtual in a dry run).
    start: std::cell::Cell<Option<tokio::time::Instant>>,
    /// Steps, target results and failed target results so far, for the summary.
    counts: std::cell::Cell<(usize, usize, usize)>,
    /// Target operations running now, and the most that ever ran at once.
    running: std::cell::Cell<(usize, usize)>,
    /// The run's concurrency limit.
    limit: usize,
    /// The run's record in `.drover/runs/` (not for dry runs).
    history: Option<crate::project::history::History>,
    /// How each target fared, for the final report.
    targets: RefCell<IndexMap<String, TargetState>>,
    /// Progress bars, when stderr is a terminal.
    progress: Option<Progress>,
}

/// Live progress on a terminal: a bar per active step (indicatif), with its
/// failures, what runs, and the slowest targets still running, by name.
struct Progress {
    multi: indicatif::MultiProgress,
    steps: RefCell<Vec<StepBar>>,
}

struct StepBar {
    bar: indicatif::ProgressBar,
    action: String,
    waiting: Vec<String>,
    /// Running targets and when they started.
    running: Vec<(String, std::time::Instant)>,
    failed: usize,
    started: std::time::Instant,
}

impl StepBar {
    fn message(&self) -> String {
        let mut running: Vec<&(String, std::time::Instant)> = self.running.iter().collect();
        running.sort_by_key(|(_, t)| *t);
        let slowest: Vec<String> = running
            .iter()
            .take(3)
            .map(|(n, t)| format!("{n} {}s", t.elapsed().as_secs()))
            .collect();
        let mut parts = vec![format!("{}s", self.started.elapsed().as_secs())];
        if self.failed > 0 {
            parts.push(format!("{} failed", self.failed));
        }
        if !self.running.is_empty() {
            parts.push(format!("{} running", self.running.len()));
            parts.push(format!("slowest: {}", slowest.join(", ")));
        }
        parts.join(" · ")
    }
}

impl Progress {
    fn step(&self, step: &Step<'_>) {
        let style =
            indicatif::ProgressStyle::with_template("{prefix} [{bar:24}] {pos}/{len} {msg}")
                .expect("a valid template")
                .progress_chars("=> ");
        let detail: String = step.detail.chars().take(40).collect();
        let bar = self.multi.add(
            indicatif::ProgressBar::new(step.targets.len() as u64)
                .with_style(style)
                .with_prefix(format!("{} {detail} ({})", step.action, step.location)),
        );
        let s = StepBar {
            bar,
            action: step.action.to_string(),
            waiting: step.targets.iter().map(|t| t.to_string()).collect(),
            running: Vec::new(),
            failed: 0,
            started: std::time::Instant::now(),
        };
        s.bar.set_message(s.message());
        self.steps.borrow_mut().push(s);
    }

    fn target_start(&self, action: &str, target: &str) {
        let mut steps = self.steps.borrow_mut();
        if let Some(s) = steps
            .iter_mut()
            .find(|s| s.action == action && s.waiting.iter().any(|t| t == target))
        {
            s.waiting.retain(|t| t != target);
            s.running
                .push((target.to_string(), std::time::Instant::now()));
            s.bar.set_message(s.message());
        }
    }

    fn target_result(&self, action: &str, target: &str, ok: bool) {
        let mut steps = self.steps.borrow_mut();
        let Some(i) = steps
            .iter()
            .position(|s| s.action == action && s.running.iter().any(|(t, _)| t == target))
        else {
            return;
        };
        let s = &mut steps[i];
        s.running.retain(|(t, _)| t != target);
        s.failed += usize::from(!ok);
        s.bar.inc(1);
        s.bar.set_message(s.message());
        if s.waiting.is_empty() && s.running.is_empty() {
            let s = steps.remove(i);
            let failed = if s.failed > 0 {
                format!(" · {} failed", s.failed)
            } else {
                String::new()
            };
            s.bar
                .finish_with_message(format!("{}s{failed}", s.started.elapsed().as_secs()));
        }
    }

    fn tick(&self) {
        for s in self.steps.borrow().iter() {
            s.bar.set_message(s.message());
        }
    }

    /// Print a line above the bars without garbling them.
    fn line(&self, text: &str) {
        let _ = self.multi.println(text);
    }
}

/// One target in the final report.
#[derive(Default)]
struct TargetState {
    /// Actions waiting for a permit, and running.
    waiting: usize,
    running: usize,
    failed: bool,
    finished: usize,
    duration_ms: u64,
    last_step: String,
    /// Kind, message, location and the tail of the output of its last failure.
    failure: Option<(String, String, String, String)>,
}

/// The last `n` lines of `text`.
fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.trim_end().lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

impl Printer {
    /// Flush the JSON output and the run's record.
    fn finish(&self) {
        if let Some(p) = &self.progress {
            // Steps cut short (Ctrl-C) stay on screen as they were.
            for s in p.steps.borrow_mut().drain(..) {
                let message = format!("{} · interrupted", s.message());
                s.bar.abandon_with_message(message);
            }
        }
        let _ = self.json.borrow_mut().flush();
        if let Some(h) = &self.history {
            h.flush();
        }
    }

    /// An event: recorded in the run's history, printed with `--format json`.
    fn emit(&self, event: serde_json::Value) {
        if let Some(h) = &self.history {
            h.record(&event);
        }
        if self.format == Format::Json {
            let _ = writeln!(self.json.borrow_mut(), "{event}");
        }
    }

    fn elapsed_ms(&self) -> u64 {
        self.start
            .get()
            .map_or(0, |s| s.elapsed().as_millis() as u64)
    }

    /// The per-target table and every failure, for people.
    fn report(&self) -> String {
        let targets = self.targets.borrow();
        if targets.is_empty() {
            return String::new();
        }
        let width = targets
            .keys()
            .map(|k| k.chars().count())
            .max()
            .unwrap_or(0)
            .max(6);
        let mut out = format!(
            "\n{:width$}  {:13}  {:>9}  last step\n",
            "target", "status", "time"
        );
        for (name, t) in targets.iter() {
            let status = if t.running > 0 {
                "stopped"
            } else if t.failed {
                "failed"
            } else if t.finished > 0 {
                "ok"
            } else {
                "never started"
            };
            out.push_str(&format!(
                "{name:width$}  {status:13}  {:>9}  {}\n",
                if t.finished > 0 {
                    crate::duration::format(t.duration_ms)
                } else {
                    "-".into()
                },
                t.last_step
            ));
        }
        for (name, t) in targets.iter() {
            if let Some((kind, message, location, output)) = &t.failure {
                out.push_str(&format!(
                    "\nfailed on {name}: {message} ({kind})\n  at {location}\n"
                ));
                for line in output.lines() {
                    out.push_str(&format!("  | {line}\n"));
                }
            }
        }
        out.push('\n');
        out
    }

    fn summary(&self) -> String {
        let (steps, results, failed) = self.counts.get();
        let peak = self.running.get().1;
        format!(
            "{steps} step(s), {results} target result(s), {failed} failed, \
             at most {peak} target operation(s) at once"
        )
    }
}

impl Events for Printer {
    fn log(&self, level: &str, message: &str, location: &str) {
        self.emit(json!({"type": "log", "level": level, "message": message, "location": location, "at_ms": self.elapsed_ms()}));
        if self.format == Format::Human {
            match &self.progress {
                Some(p) => p.line(&format!("[{level}] {message}  ({location})")),
                None => eprintln!("[{level}] {message}  ({location})"),
            }
        }
    }

    fn message(&self, text: &str, location: &str) {
        self.emit(json!({"type": "message", "message": text, "location": location, "at_ms": self.elapsed_ms()}));
        if self.format == Format::Human {
            println!("{text}");
        }
    }

    fn step(&self, step: &Step<'_>) {
        let (steps, results, failed) = self.counts.get();
        self.counts.set((steps + 1, results, failed));
        let Step {
            action,
            detail,
            location,
            targets,
        } = *step;
        self.emit(json!({"type": "step_start", "action": action, "detail": detail, "location": location, "targets": targets, "at_ms": self.elapsed_ms()}));
        {
            let mut all = self.targets.borrow_mut();
            for t in targets {
                let state = all.entry(t.to_string()).or_default();
                state.waiting += 1;
                state.last_step = format!("{action} at {location}");
            }
        }
        if let Some(p) = &self.progress {
            p.step(step);
            return;
        }
        match self.format {
            Format::Json => {}
            Format::Human => {
                // What runs once this step's targets have their permits.
                let running = self.running.get().0;
                let after = running + targets.len().min(self.limit.saturating_sub(running));
                let names = match targets {
                    [] => "no targets".to_string(),
                    [one] => one.to_string(),
                    [a, b] => format!("{a}, {b}"),
                    [a, b, rest @ ..] => format!("{a}, {b} and {} more", rest.len()),
                };
                let detail = if detail.is_empty() {
                    String::new()
                } else {
                    format!(" {detail}")
                };
                eprintln!(
                    "[{:>9}] {action}{detail} on {names} · {after} running · {location}",
                    crate::duration::clock(self.elapsed_ms()),
                )
            }
        }
    }

    fn target_start(&self, action: &str, target: &str) {
        let (running, peak) = self.running.get();
        self.running.set((running + 1, peak.max(running + 1)));
        self.emit(json!({"type": "target_start", "action": action, "target": target, "at_ms": self.elapsed_ms()}));
        if let Some(state) = self.targets.borrow_mut().get_mut(target) {
            state.waiting = state.waiting.saturating_sub(1);
            state.running += 1;
        }
        if let Some(p) = &self.progress {
            p.target_start(action, target);
        }
    }

    fn target_result(&self, r: &crate::value::ActionResult) {
        let (steps, results, failed) = self.counts.get();
        self.counts
            .set((steps, results + 1, failed + usize::from(!r.ok())));
        let (running, peak) = self.running.get();
        self.running.set((running.saturating_sub(1), peak));
        self.emit(json!({"type": "target_result", "action": r.action, "result": r.to_json(), "duration_ms": r.duration_ms, "at_ms": self.elapsed_ms()}));
        if let Some(state) = self.targets.borrow_mut().get_mut(&r.target.name) {
            state.running = state.running.saturating_sub(1);
            state.finished += 1;
            state.duration_ms += r.duration_ms;
            if let Some(e) = &r.error {
                state.failed = true;
                let output: Vec<String> = ["stdout", "stderr", "_output", "_stderr"]
                    .iter()
                    .filter_map(|k| match r.value.get(*k) {
                        Some(Value::Str(s)) if !s.trim().is_empty() => Some(tail(s, 5)),
                        _ => None,
                    })
                    .collect();
                state.failure = Some((
                    e.kind.clone(),
                    e.message.clone(),
                    e.location.clone(),
                    output.join("\n"),
                ));
            }
        }
        if let Some(h) = &self.history {
            let text = |k: &str| match r.value.get(k) {
                Some(Value::Str(s)) => s.to_string(),
                _ => String::new(),
            };
            let location = r.error.as_ref().map(|e| e.location.as_str()).unwrap_or("");
            h.output(
                &r.target.name,
                &format!("{} at {} ms {location}", r.action, self.elapsed_ms()),
                &[
                    ("stdout", &text("stdout")),
                    ("stderr", &text("stderr")),
                    ("output", &text("_output")),
                    ("stderr", &text("_stderr")),
                ],
            );
        }
        if let Some(p) = &self.progress {
            p.target_result(&r.action, &r.target.name, r.ok());
            return;
        }
        match self.format {
            Format::Json => {}
            Format::Human => match &r.error {
                None => eprintln!(
                    "[{:>9}]   ok      {} {} ({})",
                    crate::duration::clock(self.elapsed_ms()),
                    r.target.name,
                    r.action,
                    crate::duration::format(r.duration_ms)
                ),
                Some(e) => eprintln!(
                    "[{:>9}]   failed  {} {}: {} ({})",
                    crate::duration::clock(self.elapsed_ms()),
                    r.target.name,
                    r.action,
                    e.message,
                    e.kind
                ),
            },
        }
    }
}

/// Run a plan; the exit code is 0 success, 1 plan failure, 2 bad usage.
pub fn run(opts: &RunOptions) -> Result<u8, UsageError> {
    let (program, name) = match load(opts) {
        Ok(loaded) => loaded,
        Err(Loaded::Usage(e)) => return Err(e),
        Err(Loaded::Diagnostics(sources, diags)) => {
            let color = crate::cli::color();
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
            inventory: opts.inventory.clone(),
            format: opts.format,
            concurrency: opts.concurrency,
            dry_run: opts.dry_run,
            stream: opts.stream,
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
    inventory: Option<PathBuf>,
    format: Format,
    concurrency: usize,
    dry_run: bool,
    stream: bool,
}

/// `--stream`: one target's output in one action, printed line by line as
/// it arrives, each line whole (one write under the stdout lock) and prefixed
/// with the target's name; the last partial line when the action ends.
struct LineSink {
    target: String,
    width: usize,
    json: bool,
    /// The progress bars, when on a terminal: lines go above them.
    bars: Option<indicatif::MultiProgress>,
    /// Partial lines of stdout and stderr.
    partial: std::sync::Mutex<[Vec<u8>; 2]>,
}

/// A line longer than this is printed in pieces, so memory stays bounded.
const LONGEST_LINE: usize = 64 * 1024;

impl LineSink {
    fn push(&self, stream: crate::transport::Stream, data: &[u8]) {
        let i = usize::from(stream == crate::transport::Stream::Stderr);
        let mut partial = self.partial.lock().unwrap_or_else(|e| e.into_inner());
        let buf = &mut partial[i];
        buf.extend_from_slice(data);
        while let Some(end) = buf.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = buf.drain(..=end).collect();
            self.print(i, &line[..end]);
        }
        if buf.len() > LONGEST_LINE {
            let line = std::mem::take(buf);
            self.print(i, &line);
        }
    }

    fn print(&self, stream: usize, line: &[u8]) {
        let text = String::from_utf8_lossy(line);
        let text = text.strip_suffix('\r').unwrap_or(&text);
        let out = if self.json {
            let stream = ["stdout", "stderr"][stream];
            format!(
                "{}\n",
                json!({"type": "output", "target": self.target, "stream": stream, "line": text})
            )
        } else {
            let mark = ["|", "!"][stream];
            format!("{:>w$} {mark} {text}\n", self.target, w = self.width)
        };
        match &self.bars {
            Some(bars) => {
                let _ = bars.println(out.trim_end_matches('\n'));
            }
            None => {
                let _ = std::io::stdout().lock().write_all(out.as_bytes());
            }
        }
    }
}

impl Drop for LineSink {
    fn drop(&mut self) {
        let partial = std::mem::take(&mut *self.partial.lock().unwrap_or_else(|e| e.into_inner()));
        for (i, rest) in partial.iter().enumerate() {
            if !rest.is_empty() {
                self.print(i, rest);
            }
        }
    }
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

/// Run plan `name` of `program` and report it; returns the exit code.
fn execute(
    tasks: &Arc<Catalog>,
    program: &Program,
    name: &str,
    args: IndexMap<String, Value>,
    settings: Settings,
) -> Result<u8, UsageError> {
    let Settings {
        inventory,
        format,
        concurrency,
        dry_run,
        stream,
    } = settings;
    let started = Instant::now();
    let project = &tasks.project().root;
    let Some(inventory) = crate::cli::load_inventory(project, inventory)? else {
        return Ok(2);
    };
    // Every real run is recorded; a dry run touches nothing, not even this.
    let history = if dry_run {
        None
    } else {
        match crate::project::history::History::create(project, tasks.project().runs_kept) {
            Ok(h) => Some(h),
            Err(e) => {
                eprintln!("warning: this run is not recorded in .drover/runs: {e}");
                None
            }
        }
    };
    let printer = Printer {
        format,
        counts: Default::default(),
        running: Default::default(),
        limit: concurrency,
        history,
        targets: Default::default(),
        // Bars only for people at a terminal; a dry run is over at once.
        progress: (format == Format::Human
            && !dry_run
            && std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .then(|| Progress {
            multi: indicatif::MultiProgress::new(),
            steps: RefCell::new(Vec::new()),
        }),
        start: Default::default(),
        json: RefCell::new(if dry_run {
            Box::new(std::io::BufWriter::new(std::io::stdout()))
        } else {
            Box::new(std::io::stdout())
        }),
    };
    let parameters = shown_parameters(program, name, &args);
    let started_at = crate::project::history::timestamp(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs(),
    );
    printer.emit(json!({
        "type": "plan_start", "schema_version": crate::project::history::SCHEMA_VERSION,
        "run_id": printer.history.as_ref().map(|h| h.id()), "plan": name,
        "parameters": parameters, "targets": inventory.targets().len(), "concurrency": concurrency,
        "dry_run": dry_run, "started_at": started_at,
    }));
    if format == Format::Human {
        let shown: Vec<String> = parameters.iter().map(|(k, v)| format!("{k}={v}")).collect();
        eprintln!(
            "running plan {name}{}{} ({} target(s) in the inventory)",
            if shown.is_empty() { "" } else { " with " },
            shown.join(" "),
            inventory.targets().len()
        );
    }
    // The report names every target the plan was given, even those it
    // never reached (a loop that stopped early).
    let given = match args.get("targets") {
        Some(Value::Str(spec)) => inventory.resolve(spec).unwrap_or_default(),
        _ => Vec::new(),
    };
    {
        let mut shown = printer.targets.borrow_mut();
        for t in given {
            shown.entry(t.name.clone()).or_default();
        }
    }
    let interpreter = Interpreter::new(program, &inventory, &printer)
        .with_tasks(tasks.clone())
        .with_concurrency(concurrency);
    let interpreter = interpreter.with_dry_run(dry_run);
    let width = inventory
        .targets()
        .iter()
        .map(|t| t.name.chars().count())
        .max()
        .unwrap_or(0);
    let json_lines = format == Format::Json;
    let bars = printer.progress.as_ref().map(|p| p.multi.clone());
    let sinks: Option<crate::eval::StreamSinks> = (stream && !dry_run).then(|| {
        Arc::new(move |target: &str| {
            let sink = Arc::new(LineSink {
                target: target.to_string(),
                width,
                json: json_lines,
                bars: bars.clone(),
                partial: Default::default(),
            });
            Arc::new(move |s: crate::transport::Stream, data: &[u8]| sink.push(s, data))
                as crate::transport::OutputSink
        }) as crate::eval::StreamSinks
    });
    let interpreter = interpreter.with_stream(sinks);
    // A dry run is on a paused clock: simulated waits cost nothing, and the
    // elapsed virtual time is the predicted duration.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(dry_run)
        .build()
        .map_err(|source| UsageError::Io {
            path: project.to_path_buf(),
            source,
        })?;
    let outcome = runtime.block_on(async {
        printer.start.set(Some(tokio::time::Instant::now()));
        // Elapsed times and the slowest targets change between events.
        let ticker = async {
            if printer.progress.is_none() {
                std::future::pending::<()>().await;
            }
            loop {
                tokio::time::sleep(std::time::Duration::from_millis(500)).await;
                if let Some(p) = &printer.progress {
                    p.tick();
                }
            }
        };
        tokio::select! {
            result = interpreter.run(name, args) => Ok((result, printer.elapsed_ms())),
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
                interpreter.connections.close().await;
                Err(released)
            }
        }
    });
    let _ = printer.json.borrow_mut().flush();
    let (result, duration_ms) = match outcome {
        Ok(done) => done,
        Err(released) => {
            let (steps, results, failed) = printer.counts.get();
            let report = format!(
                "interrupted: {steps} step(s) started, {} target result(s) finished ok, {failed} failed, \
                 the rest stopped or never started; {released} pool target(s) released",
                results - failed
            );
            printer.emit(
                json!({"type": "interrupted", "message": report, "at_ms": printer.elapsed_ms()}),
            );
            printer.finish();
            if format == Format::Human {
                eprint!("{}", printer.report());
                eprintln!("{report}");
            }
            return Ok(130);
        }
    };
    let _ = started;
    if let Err(e) = &result
        && e.kind == BAD_PARAMETERS
        && e.location.is_empty()
    {
        eprintln!("error: {}", e.message);
        return Ok(2);
    }
    let ok = result.is_ok();
    printer.emit(match &result {
        Ok(v) => {
            json!({"type": "plan_result", "plan": name, "status": "success", "value": v.to_json(), "error": null, "duration_ms": duration_ms})
        }
        Err(e) => {
            json!({"type": "plan_result", "plan": name, "status": "failure", "value": null, "error": e.to_json(), "duration_ms": duration_ms})
        }
    });
    match format {
        Format::Json => {}
        Format::Human => {
            let mut err = std::io::stderr().lock();
            printer.finish();
            let _ = write!(err, "{}", printer.report());
            match &result {
                Ok(v) => {
                    if !matches!(v, Value::Undef) {
                        println!(
                            "{}",
                            serde_json::to_string_pretty(&v.to_json()).unwrap_or_default()
                        );
                    }
                    let _ = writeln!(
                        err,
                        "plan {name} succeeded {} {}: {}",
                        if dry_run {
                            "(dry run), predicted duration"
                        } else {
                            "in"
                        },
                        crate::duration::format(duration_ms),
                        printer.summary()
                    );
                }
                Err(e) => {
                    let _ = writeln!(
                        err,
                        "plan {name} failed: {} ({})\n  at {}\n{}",
                        e.message,
                        e.kind,
                        e.location,
                        printer.summary()
                    );
                }
            }
        }
    }
    printer.finish();
    Ok(if ok { 0 } else { 1 })
}

/// `drover command run`: one `run_command` step, reported like a plan.
pub fn command(
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
            inventory,
            format,
            concurrency: crate::eval::DEFAULT_CONCURRENCY,
            dry_run: false,
            stream,
        },
    )
}

/// What `drover task run` was asked to do.
pub struct TaskRunOptions {
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
pub fn task(tasks: &Arc<Catalog>, opts: &TaskRunOptions) -> Result<u8, UsageError> {
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
    // `key=value` that parses as JSON but fits the declared type only as the
    // text it was written as (`version=1.10` for a String) is that text.
    for p in &opts.params {
        if let Some((key, raw)) = p.split_once('=')
            && let Some(declared) = task.parameters.as_ref().and_then(|ps| ps.get(key))
            && let Some(v) = args.get_mut(key)
            && crate::value::types::coerce(v.clone(), &declared.ty).is_err()
            && crate::value::types::coerce(Value::str(raw), &declared.ty).is_ok()
        {
            *v = Value::str(raw);
        }
    }
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
            inventory: opts.inventory.clone(),
            format: opts.format,
            concurrency: crate::eval::DEFAULT_CONCURRENCY,
            dry_run: false,
            stream: opts.stream,
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
    let sources = crate::cli::read_sources(&files).map_err(Loaded::Usage)?;
    let (asts, diags) = crate::check::check_sources_with(&sources, Some(&opts.tasks));
    if diags.iter().any(Diagnostic::is_error) {
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
    Ok((
        Program {
            sources,
            files: asts,
        },
        name,
    ))
}

/// `key=value` arguments and `--params` as values; later ones win.
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
