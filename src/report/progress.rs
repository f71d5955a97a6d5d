//! Progress bars on a terminal (indicatif): one per active step, with its
//! failures and the slowest targets still running, by name.

use std::cell::RefCell;

use crate::eval::Step;

/// Live progress on a terminal: a bar per active step (indicatif), with its
/// failures, what runs, and the slowest targets still running, by name.
pub(super) struct Progress {
    pub(super) multi: indicatif::MultiProgress,
    pub(super) steps: RefCell<Vec<StepBar>>,
}

pub(super) struct StepBar {
    pub(super) bar: indicatif::ProgressBar,
    action: String,
    waiting: Vec<String>,
    /// Running targets and when they started.
    running: Vec<(String, std::time::Instant)>,
    failed: usize,
    started: std::time::Instant,
}

impl StepBar {
    pub(super) fn message(&self) -> String {
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
    pub(super) fn step(&self, step: &Step<'_>) {
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

    pub(super) fn target_start(&self, action: &str, target: &str) {
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

    pub(super) fn target_result(&self, action: &str, target: &str, ok: bool) {
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

    pub(super) fn tick(&self) {
        for s in self.steps.borrow().iter() {
            s.bar.set_message(s.message());
        }
    }

    /// Print a line above the bars without garbling them.
    pub(super) fn line(&self, text: &str) {
        let _ = self.multi.println(text);
    }
}

impl Progress {
    /// Bars drawn to stderr.
    pub(super) fn new() -> Progress {
        Progress {
            multi: indicatif::MultiProgress::new(),
            steps: RefCell::new(Vec::new()),
        }
    }

    /// Steps cut short (Ctrl-C) stay on screen as they were.
    pub(super) fn abandon(&self) {
        for s in self.steps.borrow_mut().drain(..) {
            let message = format!("{} · interrupted", s.message());
            s.bar.abandon_with_message(message);
        }
    }
}
