//! A run as a story in time, read back from its events (docs/events.md): a
//! row per target with a bar per step result, the waits, the batches of
//! `serial` loops and the operations in flight. [`super::html`] draws it;
//! the same model serves a finished run, a dry run's prediction and a run
//! still in progress.

use std::collections::HashMap;

use serde_json::Value as Json;

/// How a run ended, or that it has not.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunOutcome {
    /// `plan_result` success.
    Success,
    /// `plan_result` failure.
    Failure,
    /// Ctrl-C, or its process died before the end.
    Interrupted,
    /// No end yet.
    Running,
}

impl RunOutcome {
    /// As shown and used as a CSS class.
    pub fn as_str(self) -> &'static str {
        match self {
            RunOutcome::Success => "success",
            RunOutcome::Failure => "failure",
            RunOutcome::Interrupted => "interrupted",
            RunOutcome::Running => "running",
        }
    }
}

/// How one step went on one target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BarOutcome {
    /// It finished and succeeded.
    Ok,
    /// It finished and failed.
    Failed,
    /// It started and never finished: the run was stopped (or is running).
    Stopped,
    /// The step named the target but never started on it.
    NeverStarted,
}

impl BarOutcome {
    /// As shown and used as a CSS class.
    pub fn as_str(self) -> &'static str {
        match self {
            BarOutcome::Ok => "ok",
            BarOutcome::Failed => "failed",
            BarOutcome::Stopped => "stopped",
            BarOutcome::NeverStarted => "never-started",
        }
    }
}

/// One step as it started.
#[derive(Clone, Debug, Default)]
pub struct Step {
    /// Its number in the run, from 1.
    pub id: u64,
    /// `run_task`, `run_command`, `wait_up`, ...
    pub action: String,
    /// The task, command, script or file.
    pub detail: String,
    /// `file:line:column` of the call.
    pub location: String,
    /// When it started.
    pub at_ms: u64,
    /// The targets it names.
    pub targets: Vec<String>,
}

impl Step {
    /// A step that waits rather than works: drawn apart.
    pub fn is_wait(&self) -> bool {
        matches!(self.action.as_str(), "wait_up" | "wait_until_available")
    }
}

/// One step on one target.
#[derive(Clone, Debug)]
pub struct Bar {
    /// The step ([`Timeline::steps`] by id).
    pub step: u64,
    /// Start, and end (for a bar that never ended: the run's end so far).
    pub start_ms: u64,
    pub end_ms: u64,
    pub outcome: BarOutcome,
    /// The error's kind and message, for a failure.
    pub error: Option<String>,
    /// The last lines the target printed in this step.
    pub output_tail: String,
}

/// A wait that is not a step: `acquire` waiting for pool targets.
#[derive(Clone, Debug)]
pub struct Wait {
    /// `acquire POOL` or `sleep 5s`.
    pub label: String,
    pub start_ms: u64,
    pub end_ms: u64,
}

/// One target's row.
#[derive(Clone, Debug, Default)]
pub struct Row {
    pub target: String,
    pub bars: Vec<Bar>,
    pub waits: Vec<Wait>,
}

impl Row {
    /// Results that finished ok, and failed.
    pub fn counts(&self) -> (usize, usize) {
        let ok = self
            .bars
            .iter()
            .filter(|b| b.outcome == BarOutcome::Ok)
            .count();
        let failed = self
            .bars
            .iter()
            .filter(|b| b.outcome == BarOutcome::Failed)
            .count();
        (ok, failed)
    }

    /// How the target fared: its last result's outcome.
    pub fn status(&self) -> BarOutcome {
        if self.bars.iter().any(|b| b.outcome == BarOutcome::Failed) {
            return BarOutcome::Failed;
        }
        self.bars
            .iter()
            .rev()
            .find(|b| b.outcome != BarOutcome::NeverStarted)
            .map_or(BarOutcome::NeverStarted, |b| b.outcome)
    }
}

/// A batch of a `serial` loop.
#[derive(Clone, Debug)]
pub struct Batch {
    pub location: String,
    pub index: u64,
    pub size: u64,
    pub at_ms: u64,
}

/// A run read back from its events.
#[derive(Clone, Debug)]
pub struct Timeline {
    pub plan: String,
    pub run_id: Option<String>,
    pub user: Option<String>,
    pub started_at: Option<String>,
    /// As recorded: Sensitive values are already `[sensitive]`.
    pub parameters: serde_json::Map<String, Json>,
    pub dry_run: bool,
    /// The run-wide bound on operations at once.
    pub concurrency: u64,
    pub outcome: RunOutcome,
    /// The run's duration, or how far it got.
    pub duration_ms: u64,
    /// The run's error (`plan_result`), as recorded.
    pub error: Option<Json>,
    /// The interrupted event's message.
    pub interrupted: Option<String>,
    pub steps: Vec<Step>,
    /// Targets in the order they first appear.
    pub rows: Vec<Row>,
    pub batches: Vec<Batch>,
    /// Waits of the plan itself (`sleep`).
    pub plan_waits: Vec<Wait>,
    /// Operations running after each change: (at_ms, count).
    pub in_flight: Vec<(u64, u64)>,
    /// Log lines and messages: (at_ms, level, text, location).
    pub logs: Vec<(u64, String, String, String)>,
}

fn num(v: &Json) -> u64 {
    v.as_u64().unwrap_or(0)
}

fn text(v: &Json) -> String {
    v.as_str().unwrap_or_default().to_string()
}

/// The last `lines` lines of `s`, at most `chars` characters.
pub fn tail(s: &str, lines: usize, chars: usize) -> String {
    let kept: Vec<&str> = s.trim_end().lines().rev().take(lines).collect();
    let mut out: String = kept.into_iter().rev().collect::<Vec<_>>().join("\n");
    if out.chars().count() > chars {
        let skip = out.chars().count() - chars;
        out = format!("…{}", out.chars().skip(skip).collect::<String>());
    }
    out
}

impl Timeline {
    /// The timeline of `events` (one run's, in order). Unknown or malformed
    /// events are skipped: a run still being written ends mid-line.
    pub fn from_events(events: &[Json]) -> Timeline {
        let mut t = Timeline {
            plan: String::new(),
            run_id: None,
            user: None,
            started_at: None,
            parameters: serde_json::Map::new(),
            dry_run: false,
            concurrency: 0,
            outcome: RunOutcome::Running,
            duration_ms: 0,
            error: None,
            interrupted: None,
            steps: Vec::new(),
            rows: Vec::new(),
            batches: Vec::new(),
            plan_waits: Vec::new(),
            in_flight: vec![(0, 0)],
            logs: Vec::new(),
        };
        let mut row_of: HashMap<String, usize> = HashMap::new();
        // Bars started and not yet finished: (step, target) -> (row, bar).
        let mut open: HashMap<(u64, String), (usize, usize)> = HashMap::new();
        let mut running = 0u64;
        let mut last_ms = 0;
        let mut row = |t: &mut Timeline, name: &str| -> usize {
            *row_of.entry(name.to_string()).or_insert_with(|| {
                t.rows.push(Row {
                    target: name.to_string(),
                    ..Row::default()
                });
                t.rows.len() - 1
            })
        };
        for e in events {
            let at = num(&e["at_ms"]);
            last_ms = last_ms.max(at);
            match e["type"].as_str().unwrap_or_default() {
                "plan_start" => {
                    t.plan = text(&e["plan"]);
                    t.run_id = e["run_id"].as_str().map(String::from);
                    t.user = e["user"].as_str().map(String::from);
                    t.started_at = e["started_at"].as_str().map(String::from);
                    t.parameters = e["parameters"].as_object().cloned().unwrap_or_default();
                    t.dry_run = e["dry_run"].as_bool().unwrap_or(false);
                    t.concurrency = num(&e["concurrency"]);
                }
                "step_start" => {
                    let step = Step {
                        id: num(&e["step"]),
                        action: text(&e["action"]),
                        detail: text(&e["detail"]),
                        location: text(&e["location"]),
                        at_ms: at,
                        targets: e["targets"]
                            .as_array()
                            .map(|a| a.iter().map(text).collect())
                            .unwrap_or_default(),
                    };
                    for target in &step.targets {
                        row(&mut t, target);
                    }
                    t.steps.push(step);
                }
                "target_start" => {
                    let target = text(&e["target"]);
                    let r = row(&mut t, &target);
                    let bars = &mut t.rows[r].bars;
                    bars.push(Bar {
                        step: num(&e["step"]),
                        start_ms: at,
                        end_ms: at,
                        outcome: BarOutcome::Stopped,
                        error: None,
                        output_tail: String::new(),
                    });
                    open.insert((num(&e["step"]), target), (r, bars.len() - 1));
                    running += 1;
                    t.in_flight.push((at, running));
                }
                "target_result" => {
                    let result = &e["result"];
                    let target = text(&result["target"]);
                    let key = (num(&e["step"]), target.clone());
                    let Some((r, b)) = open.remove(&key) else {
                        continue;
                    };
                    running = running.saturating_sub(1);
                    t.in_flight.push((at, running));
                    let bar = &mut t.rows[r].bars[b];
                    bar.end_ms = at.max(bar.start_ms);
                    let ok = result["ok"].as_bool().unwrap_or(false);
                    bar.outcome = if ok {
                        BarOutcome::Ok
                    } else {
                        BarOutcome::Failed
                    };
                    if !ok {
                        let err = &result["error"];
                        bar.error =
                            Some(format!("{}: {}", text(&err["kind"]), text(&err["message"])));
                    }
                    let value = &result["value"];
                    let printed: Vec<String> = ["stdout", "stderr", "_output", "_stderr"]
                        .iter()
                        .filter_map(|k| value[*k].as_str())
                        .filter(|s| !s.trim().is_empty())
                        .map(String::from)
                        .collect();
                    bar.output_tail = tail(&printed.join("\n"), 5, 400);
                }
                "acquire" => {
                    let waited = num(&e["waited_ms"]);
                    if waited > 0 {
                        let label = format!("acquire {}", text(&e["pool"]));
                        for target in e["targets"].as_array().into_iter().flatten() {
                            let r = row(&mut t, &text(target));
                            t.rows[r].waits.push(Wait {
                                label: label.clone(),
                                start_ms: at.saturating_sub(waited),
                                end_ms: at,
                            });
                        }
                    }
                }
                "sleep" => {
                    let d = num(&e["duration_ms"]);
                    t.plan_waits.push(Wait {
                        label: format!(
                            "sleep {} ({})",
                            crate::duration::format(d),
                            text(&e["location"])
                        ),
                        start_ms: at,
                        end_ms: at.saturating_add(d),
                    });
                }
                "batch" => t.batches.push(Batch {
                    location: text(&e["location"]),
                    index: num(&e["index"]),
                    size: num(&e["size"]),
                    at_ms: at,
                }),
                "log" | "message" => t.logs.push((
                    at,
                    e["level"].as_str().unwrap_or("message").to_string(),
                    text(&e["message"]),
                    text(&e["location"]),
                )),
                "interrupted" => {
                    t.outcome = RunOutcome::Interrupted;
                    t.interrupted = Some(text(&e["message"]));
                }
                "plan_result" => {
                    t.outcome = if e["status"] == "success" {
                        RunOutcome::Success
                    } else {
                        RunOutcome::Failure
                    };
                    t.duration_ms = num(&e["duration_ms"]);
                    t.error = Some(e["error"].clone()).filter(|e| !e.is_null());
                }
                _ => {}
            }
        }
        if t.outcome != RunOutcome::Success && t.outcome != RunOutcome::Failure {
            t.duration_ms = last_ms;
        }
        t.duration_ms = t.duration_ms.max(last_ms);
        // Bars that never ended reach the end of what is known.
        for (r, b) in open.into_values() {
            t.rows[r].bars[b].end_ms = t.duration_ms;
        }
        // Targets a step named but never started on.
        for step in &t.steps {
            for target in &step.targets {
                let r = row_of[target];
                if !t.rows[r].bars.iter().any(|b| b.step == step.id) {
                    t.rows[r].bars.push(Bar {
                        step: step.id,
                        start_ms: step.at_ms,
                        end_ms: step.at_ms,
                        outcome: BarOutcome::NeverStarted,
                        error: None,
                        output_tail: String::new(),
                    });
                }
            }
        }
        t
    }

    /// The step with this id.
    pub fn step(&self, id: u64) -> Option<&Step> {
        self.steps.iter().find(|s| s.id == id)
    }

    /// The most operations in flight at once.
    pub fn peak(&self) -> u64 {
        self.in_flight.iter().map(|(_, n)| *n).max().unwrap_or(0)
    }

    /// Every step result (finished or not), over all rows.
    pub fn results(&self) -> usize {
        self.rows
            .iter()
            .flat_map(|r| &r.bars)
            .filter(|b| b.outcome != BarOutcome::NeverStarted)
            .count()
    }
}
