//! The output for people: a header with the parameters, a line per step and
//! per target result (or progress bars on a terminal), then a table of every
//! target and each failure with its source snippet, like a check diagnostic.

use std::cell::RefCell;
use std::io::Write;

use indexmap::IndexMap;

use super::progress::Progress;
use super::{Counts, Event};
use crate::diagnostic::Diagnostic;
use crate::eval::Program;
use crate::value::{ErrorValue, Value};

/// Widest a rendered snippet gets.
const WIDTH: usize = 100;

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
    /// Its last failure and the tail of that action's output.
    failure: Option<(ErrorValue, String)>,
}

/// How a plan ended, for the last lines.
pub(super) struct End<'a> {
    pub plan: &'a str,
    pub result: &'a Result<Value, Box<ErrorValue>>,
    pub duration_ms: u64,
    pub dry_run: bool,
    pub counts: Counts,
}

/// The human output of one run.
pub(super) struct Human {
    /// The run's concurrency limit.
    limit: usize,
    /// How each target fared, for the final report.
    targets: RefCell<IndexMap<String, TargetState>>,
    /// Progress bars, when stderr is a terminal.
    progress: Option<Progress>,
}

/// The last `n` lines of `text`.
fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.trim_end().lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

impl Human {
    pub(super) fn new(limit: usize, bars: bool) -> Human {
        Human {
            limit,
            targets: RefCell::default(),
            progress: bars.then(Progress::new),
        }
    }

    pub(super) fn bars(&self) -> Option<indicatif::MultiProgress> {
        self.progress.as_ref().map(|p| p.multi.clone())
    }

    pub(super) fn tick(&self) -> bool {
        match &self.progress {
            Some(p) => {
                p.tick();
                true
            }
            None => false,
        }
    }

    pub(super) fn expect_targets<'a>(&self, names: impl IntoIterator<Item = &'a str>) {
        let mut shown = self.targets.borrow_mut();
        for name in names {
            shown.entry(name.to_string()).or_default();
        }
    }

    pub(super) fn plan_start(
        &self,
        plan: &str,
        parameters: &serde_json::Map<String, serde_json::Value>,
        targets: usize,
    ) {
        let shown: Vec<String> = parameters.iter().map(|(k, v)| format!("{k}={v}")).collect();
        eprintln!(
            "running plan {plan}{}{} ({targets} target(s) in the inventory)",
            if shown.is_empty() { "" } else { " with " },
            shown.join(" "),
        );
    }

    /// Lines above the bars, or on stderr.
    fn line(&self, text: &str) {
        match &self.progress {
            Some(p) => p.line(text),
            None => eprintln!("{text}"),
        }
    }

    pub(super) fn event(&self, event: &Event, counts: Counts, at_ms: u64) {
        let clock = crate::duration::clock(at_ms);
        match event {
            Event::Log {
                level,
                message,
                location,
            } => self.line(&format!("[{level}] {message}  ({location})")),
            Event::Message { text } => outln!("{text}"),
            Event::Step(step) => {
                {
                    let mut all = self.targets.borrow_mut();
                    for t in step.targets {
                        let state = all.entry(t.to_string()).or_default();
                        state.waiting += 1;
                        state.last_step = format!("{} at {}", step.action, step.location);
                    }
                }
                if let Some(p) = &self.progress {
                    return p.step(step);
                }
                // What runs once this step's targets have their permits.
                let running = counts.running;
                let after = running + step.targets.len().min(self.limit.saturating_sub(running));
                let names = match step.targets {
                    [] => "no targets".to_string(),
                    [one] => one.to_string(),
                    [a, b] => format!("{a}, {b}"),
                    [a, b, rest @ ..] => format!("{a}, {b} and {} more", rest.len()),
                };
                let detail = if step.detail.is_empty() {
                    String::new()
                } else {
                    format!(" {}", step.detail)
                };
                eprintln!(
                    "[{clock:>9}] {}{detail} on {names} · {after} running · {}",
                    step.action, step.location
                );
            }
            Event::TargetStart { action, target } => {
                if let Some(state) = self.targets.borrow_mut().get_mut(*target) {
                    state.waiting = state.waiting.saturating_sub(1);
                    state.running += 1;
                }
                if let Some(p) = &self.progress {
                    p.target_start(action, target);
                }
            }
            Event::TargetResult(r) => {
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
                        state.failure = Some((e.clone(), output.join("\n")));
                    }
                }
                if let Some(p) = &self.progress {
                    return p.target_result(&r.action, &r.target.name, r.ok());
                }
                match &r.error {
                    None => eprintln!(
                        "[{clock:>9}]   ok      {} {} ({})",
                        r.target.name,
                        r.action,
                        crate::duration::format(r.duration_ms)
                    ),
                    Some(e) => eprintln!(
                        "[{clock:>9}]   failed  {} {}: {} ({})",
                        r.target.name, r.action, e.message, e.kind
                    ),
                }
            }
        }
    }

    pub(super) fn finish(&self) {
        if let Some(p) = &self.progress {
            p.abandon();
        }
    }

    pub(super) fn interrupted(&self, report: &str) {
        eprint!("{}", self.table());
        eprintln!("{report}");
    }

    /// The table, the failures, the plan's value and the last line.
    pub(super) fn plan_result(&self, program: &Program, end: &End) {
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "{}", self.table());
        let summary = summary(end.counts);
        let plan = end.plan;
        match end.result {
            Ok(v) => {
                if !matches!(v, Value::Undef) {
                    outln!(
                        "{}",
                        serde_json::to_string_pretty(&v.to_json()).unwrap_or_default()
                    );
                }
                let _ = writeln!(
                    err,
                    "plan {plan} succeeded {} {}: {summary}",
                    if end.dry_run {
                        "(dry run), predicted duration"
                    } else {
                        "in"
                    },
                    crate::duration::format(end.duration_ms),
                );
            }
            Err(e) => {
                let _ = write!(err, "{}", snippet(program, e.cause()));
                let _ = writeln!(
                    err,
                    "plan {plan} failed: {} ({})\n  at {}\n{summary}",
                    e.message, e.kind, e.location,
                );
            }
        }
    }

    /// The per-target table and every target's failure, for people.
    fn table(&self) -> String {
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
            let time = if t.finished > 0 {
                crate::duration::format(t.duration_ms)
            } else {
                "-".into()
            };
            out.push_str(&format!(
                "{name:width$}  {status:13}  {time:>9}  {}\n",
                t.last_step
            ));
        }
        for (name, t) in targets.iter() {
            let Some((e, output)) = &t.failure else {
                continue;
            };
            out.push_str(&format!(
                "\nfailed on {name}: {} ({})\n  at {}\n",
                e.message, e.kind, e.location
            ));
            for line in output.lines() {
                out.push_str(&format!("  | {line}\n"));
            }
        }
        out.push('\n');
        out
    }
}

/// The run's counts in a line.
fn summary(c: Counts) -> String {
    format!(
        "{} step(s), {} target result(s), {} failed, at most {} target operation(s) at once",
        c.steps, c.results, c.failed, c.peak
    )
}

/// The error as a check diagnostic: its kind, message and target, with the
/// source line and a caret at the call that raised it. Empty for an error
/// with no place in the plans (a task's own failure raised outside them).
fn snippet(program: &Program, e: &ErrorValue) -> String {
    let Some(span) = e.span else {
        return String::new();
    };
    if !program.sources.contains(span.file) {
        return String::new();
    }
    let label = match &e.target {
        Some(t) => format!("failed on {t}"),
        None => "raised here".to_string(),
    };
    let d = Diagnostic::runtime(&e.kind, span, &e.message).with_label(label);
    d.render(&program.sources, crate::diagnostic::use_color(), WIDTH)
}
