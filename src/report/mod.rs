//! Reporting a run: the interpreter's events become one stream of JSON
//! events (docs/events.md), fanned out to the run's history
//! (`.drover/runs/`), to stdout with `--format json`, and to the human
//! output ([`human`]: lines, progress bars, the final table and failures
//! with their source snippets). `--stream` output lines are [`stream`]'s.

pub(crate) mod html;
mod human;
mod progress;
pub mod stream;
pub(crate) mod timeline;

use std::cell::{Cell, RefCell};
use std::io::Write;

use serde_json::json;

use crate::eval::{Events, Program, Step};
use crate::project::history::History;
use crate::value::{ActionResult, ErrorValue, Value};

/// Output formats, of runs and of every other command.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Format {
    /// For people: source snippets with carets.
    Human,
    /// For editors and CI.
    Json,
}

/// One event of the run, as the interpreter reported it.
pub(crate) enum Event<'a> {
    Log {
        level: &'a str,
        message: &'a str,
        location: &'a str,
    },
    Message {
        text: &'a str,
    },
    Step(&'a Step<'a>),
    TargetStart {
        action: &'a str,
        target: &'a str,
    },
    TargetResult(&'a ActionResult),
}

/// Step, target result and failed target result counts, and target
/// operations running now and at most.
#[derive(Clone, Copy, Default)]
pub(crate) struct Counts {
    pub steps: usize,
    pub results: usize,
    pub failed: usize,
    pub running: usize,
    pub peak: usize,
}

/// Receives the interpreter's events and reports them.
pub(crate) struct Reporter {
    format: Format,
    /// JSON lines go here: buffered in a dry run, where thousands of events
    /// arrive at once, line by line otherwise so that they show as they happen.
    json: RefCell<Box<dyn Write>>,
    /// When the run started, on the run's clock (virtual in a dry run).
    start: Cell<Option<tokio::time::Instant>>,
    counts: Cell<Counts>,
    /// The run's record in `.drover/runs/` (not for dry runs).
    history: Option<History>,
    /// Lines, bars and the final report, with `--format human`.
    human: Option<human::Human>,
    /// Show `out::verbose` lines to people (they are always in the events).
    verbose: bool,
    /// Every event, kept for the run's HTML report (`--report`).
    kept: Option<RefCell<Vec<serde_json::Value>>>,
}

impl Reporter {
    /// A reporter in `format`; bars when `bars` (a terminal, not a dry run).
    pub(crate) fn new(
        format: Format,
        dry_run: bool,
        bars: bool,
        concurrency: usize,
        history: Option<History>,
    ) -> Reporter {
        Reporter {
            format,
            json: RefCell::new(if dry_run {
                Box::new(std::io::BufWriter::new(std::io::stdout()))
            } else {
                Box::new(std::io::stdout())
            }),
            start: Cell::new(None),
            counts: Cell::new(Counts::default()),
            history,
            human: (format == Format::Human).then(|| human::Human::new(concurrency, bars)),
            verbose: false,
            kept: None,
        }
    }

    /// Keep every event, for [`Reporter::html`].
    pub(crate) fn keeping_events(mut self) -> Reporter {
        self.kept = Some(RefCell::default());
        self
    }

    /// The HTML report of the events so far (kept with
    /// [`Reporter::keeping_events`]); plan locations are relative to `root`.
    pub(crate) fn html(&self, root: &std::path::Path) -> String {
        let events = self
            .kept
            .as_ref()
            .map(|k| k.borrow().clone())
            .unwrap_or_default();
        let project = root.to_path_buf();
        let run_id = self.run_id().map(String::from);
        let outputs = move |target: &str| {
            run_id
                .as_deref()
                .and_then(|id| crate::project::history::output(&project, id, target))
        };
        html::report(
            &timeline::Timeline::from_events(&events),
            &html::Sources {
                root,
                outputs: &outputs,
            },
        )
    }

    /// Show `out::verbose` lines (`--verbose`).
    pub(crate) fn with_verbose(mut self, verbose: bool) -> Reporter {
        self.verbose = verbose;
        self
    }

    /// The run's id in the history, if it is recorded.
    pub(crate) fn run_id(&self) -> Option<&str> {
        self.history.as_ref().map(History::id)
    }

    /// Start the run's clock (on the runtime that runs the plan).
    pub(crate) fn start_clock(&self) {
        self.start.set(Some(tokio::time::Instant::now()));
    }

    /// Milliseconds since the run started, on the run's clock.
    pub(crate) fn elapsed_ms(&self) -> u64 {
        self.start
            .get()
            .map_or(0, |s| s.elapsed().as_millis() as u64)
    }

    /// The progress bars, when they are drawn: `--stream` prints above them.
    pub(crate) fn bars(&self) -> Option<indicatif::MultiProgress> {
        self.human.as_ref().and_then(human::Human::bars)
    }

    /// Redraw what changes with time alone (elapsed times on the bars);
    /// `false` when nothing does.
    pub(crate) fn tick(&self) -> bool {
        self.human.as_ref().is_some_and(human::Human::tick)
    }

    /// List these targets in the final report even if the plan never
    /// reaches them.
    pub(crate) fn expect_targets<'a>(&self, names: impl IntoIterator<Item = &'a str>) {
        if let Some(h) = &self.human {
            h.expect_targets(names);
        }
    }

    /// One event of the stream: recorded, printed as JSON, shown to people.
    fn emit(&self, event: Option<&Event>, json: serde_json::Value) {
        // A string built from a revealed secret (`"${p.unwrap}"`) is masked
        // in every event, wherever it is.
        let json = if crate::value::any_secrets() {
            crate::value::masked_json(json)
        } else {
            json
        };
        if let Some(h) = &self.history {
            h.record(&json);
        }
        if let Some(kept) = &self.kept {
            kept.borrow_mut().push(json.clone());
        }
        if self.format == Format::Json {
            let _ = writeln!(self.json.borrow_mut(), "{json}");
        }
        if let (Some(h), Some(e)) = (&self.human, event) {
            h.event(e, self.counts.get(), self.elapsed_ms());
        }
    }

    /// `plan_start`: the plan, its shown parameters, the inventory's size.
    pub(crate) fn plan_start(
        &self,
        plan: &str,
        parameters: &serde_json::Map<String, serde_json::Value>,
        targets: usize,
        concurrency: usize,
        dry_run: bool,
    ) {
        let started_at = crate::project::history::timestamp(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default()
                .as_secs(),
        );
        self.emit(
            None,
            json!({
                "type": "plan_start", "schema_version": crate::project::history::SCHEMA_VERSION,
                "run_id": self.run_id(), "plan": plan,
                "parameters": parameters, "targets": targets, "concurrency": concurrency,
                "dry_run": dry_run, "started_at": started_at, "user": user(),
            }),
        );
        if let Some(h) = &self.human {
            h.plan_start(plan, parameters, targets);
        }
    }

    /// `plan_result`, then the final report for people.
    pub(crate) fn plan_result(
        &self,
        program: &Program,
        plan: &str,
        result: &Result<Value, Box<ErrorValue>>,
        duration_ms: u64,
        dry_run: bool,
    ) {
        self.emit(None, match result {
            Ok(v) => {
                json!({"type": "plan_result", "plan": plan, "status": "success", "value": v.to_json(), "error": null, "duration_ms": duration_ms})
            }
            Err(e) => {
                json!({"type": "plan_result", "plan": plan, "status": "failure", "value": null, "error": e.to_json(), "duration_ms": duration_ms})
            }
        });
        self.finish();
        if let Some(h) = &self.human {
            let result = &match result {
                Ok(v) => Ok(crate::value::masked(v.clone())),
                Err(e) => Err(Box::new(crate::value::masked_error(e))),
            };
            let end = human::End {
                plan,
                result,
                duration_ms,
                dry_run,
                counts: self.counts.get(),
            };
            h.plan_result(program, &end);
        }
    }

    /// `interrupted` (Ctrl-C), then the report for people.
    pub(crate) fn interrupted(&self, released: usize) {
        let c = self.counts.get();
        let report = format!(
            "interrupted: {} step(s) started, {} target result(s) finished ok, {} failed, \
             the rest stopped or never started; {released} pool target(s) released",
            c.steps,
            c.results - c.failed,
            c.failed
        );
        self.emit(
            None,
            json!({"type": "interrupted", "message": report, "at_ms": self.elapsed_ms()}),
        );
        self.finish();
        if let Some(h) = &self.human {
            h.interrupted(&report);
        }
    }

    /// Flush the JSON output and the run's record.
    pub(crate) fn finish(&self) {
        if let Some(h) = &self.human {
            h.finish();
        }
        let _ = self.json.borrow_mut().flush();
        if let Some(h) = &self.history {
            h.flush();
        }
    }

    fn count(&self, f: impl FnOnce(&mut Counts)) {
        let mut c = self.counts.get();
        f(&mut c);
        self.counts.set(c);
    }

    /// A target's output in the history, beside the events.
    fn record_output(&self, r: &ActionResult) {
        let Some(h) = &self.history else { return };
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
}

/// Who runs drover: the login name, else the user id.
fn user() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        // SAFETY: getuid has no preconditions and cannot fail.
        .unwrap_or_else(|_| format!("uid {}", unsafe { libc::getuid() }))
}

impl Events for Reporter {
    fn log(&self, level: &str, message: &str, location: &str) {
        let message = &*crate::value::mask(message);
        let json = json!({"type": "log", "level": level, "message": message, "location": location, "at_ms": self.elapsed_ms()});
        if level == "verbose" {
            // `out::verbose`: a line of output with `--verbose`, as in Bolt.
            let shown = self.verbose.then_some(Event::Message { text: message });
            return self.emit(shown.as_ref(), json);
        }
        let event = Event::Log {
            level,
            message,
            location,
        };
        self.emit(Some(&event), json);
    }

    fn acquired(&self, pool: &str, targets: &[String], scope: &str, waited_ms: u64) {
        let json = json!({"type": "acquire", "pool": pool, "targets": targets, "scope": scope, "waited_ms": waited_ms, "at_ms": self.elapsed_ms()});
        self.emit(None, json);
    }

    fn released(&self, pool: &str, targets: &[String], reason: &str) {
        let json = json!({"type": "release", "pool": pool, "targets": targets, "reason": reason, "at_ms": self.elapsed_ms()});
        self.emit(None, json);
    }

    fn message(&self, text: &str, location: &str) {
        let text = &*crate::value::mask(text);
        let json = json!({"type": "message", "message": text, "location": location, "at_ms": self.elapsed_ms()});
        self.emit(Some(&Event::Message { text }), json);
    }

    fn step(&self, step: &Step<'_>) {
        self.count(|c| c.steps += 1);
        let json = json!({"type": "step_start", "step": step.id, "action": step.action, "detail": step.detail, "location": step.location, "targets": step.targets, "at_ms": self.elapsed_ms()});
        self.emit(Some(&Event::Step(step)), json);
    }

    fn target_start(&self, step: u64, action: &str, target: &str) {
        self.count(|c| {
            c.running += 1;
            c.peak = c.peak.max(c.running);
        });
        let json = json!({"type": "target_start", "step": step, "action": action, "target": target, "at_ms": self.elapsed_ms()});
        self.emit(Some(&Event::TargetStart { action, target }), json);
    }

    fn target_result(&self, step: u64, r: &ActionResult) {
        self.count(|c| {
            c.results += 1;
            c.failed += usize::from(!r.ok());
            c.running = c.running.saturating_sub(1);
        });
        let json = json!({"type": "target_result", "step": step, "action": r.action, "result": r.to_json(), "duration_ms": r.duration_ms, "at_ms": self.elapsed_ms()});
        self.emit(Some(&Event::TargetResult(r)), json);
        self.record_output(r);
    }

    fn batch(&self, location: &str, index: usize, size: usize) {
        let json = json!({"type": "batch", "location": location, "index": index, "size": size, "at_ms": self.elapsed_ms()});
        self.emit(None, json);
    }

    fn sleep(&self, duration_ms: u64, location: &str) {
        let json = json!({"type": "sleep", "duration_ms": duration_ms, "location": location, "at_ms": self.elapsed_ms()});
        self.emit(None, json);
    }
}
