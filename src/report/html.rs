//! A run drawn: the timeline as SVG (a row per target, a bar per step
//! result, waits apart from work, batch boundaries, the operations in flight
//! against the concurrency limit, details on hover) and the self-contained
//! HTML report around it (header, table, failures with their source,
//! output). Nothing here loads anything at view time: styles are inline,
//! hover details are SVG `<title>`s.

use std::path::Path;

use maud::{DOCTYPE, Markup, PreEscaped, html};

use super::timeline::{Bar, BarOutcome, Row, RunOutcome, Timeline};

/// Left column of target names.
const LABEL_W: f64 = 180.0;
/// The time axis.
const PLOT_W: f64 = 1000.0;
/// One target's row, and its bars.
const ROW_H: f64 = 18.0;
const BAR_H: f64 = 12.0;
/// The curve of operations in flight.
const CURVE_H: f64 = 70.0;
/// Each target's output in the report is cut to its end.
const OUTPUT_CAP: usize = 64 * 1024;
/// Failures shown in full; the table lists every target.
const FAILURES_SHOWN: usize = 100;

const STYLE: &str = r#"
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.4em; margin: 0 0 .3em; } h2 { font-size: 1.15em; margin: 1.4em 0 .4em; }
dl.head { display: grid; grid-template-columns: max-content auto; gap: .1em 1em; margin: 0; }
dl.head dt { color: #666; } dl.head dd { margin: 0; }
.badge { padding: 0 .5em; border-radius: .6em; color: #fff; font-weight: 600; }
.badge.success { background: #2e8540; } .badge.failure { background: #c62828; }
.badge.interrupted { background: #d9822b; } .badge.running { background: #1565c0; }
table { border-collapse: collapse; } td, th { padding: .15em .7em; text-align: left; border-bottom: 1px solid #eee; }
th { background: #f6f6f6; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
.scroll { max-height: 75vh; overflow: auto; border: 1px solid #ddd; }
.axis { position: sticky; top: 0; background: #fff; z-index: 1; }
svg text { font: 11px system-ui, sans-serif; fill: #333; }
svg .tick { stroke: #ddd; } svg .batch { stroke: #555; stroke-dasharray: 4 3; }
svg .bar { stroke: #fff; stroke-width: 1; } svg .bar.ok { fill: #3a9a4a; } svg .bar.failed { fill: #d32f2f; } svg .bar.stopped { fill: #f0a030; }
svg .bar.never-started { fill: none; stroke: #999; stroke-dasharray: 2 2; }
svg .bar.wait { fill: url(#hatch); } svg .wait.pool, svg .wait.plan { fill: url(#hatch-grey); }
svg .curve { fill: none; stroke: #1565c0; stroke-width: 1.5; } svg .limit { stroke: #c62828; stroke-dasharray: 6 3; }
.legend span { display: inline-block; margin-right: 1.2em; } .legend i { display: inline-block; width: 1.4em; height: .8em; margin-right: .3em; vertical-align: middle; }
pre { background: #f7f7f7; padding: .5em; overflow: auto; max-height: 30em; }
.failure h3 { font-size: 1em; margin: 1em 0 .2em; } .muted { color: #777; }
"#;

/// `1m30s`, `300ms`.
fn dur(ms: u64) -> String {
    crate::duration::format(ms)
}

/// The time axis's scale: x of a time.
struct Scale {
    duration: u64,
}

impl Scale {
    fn x(&self, ms: u64) -> f64 {
        LABEL_W + ms as f64 * PLOT_W / self.duration.max(1) as f64
    }

    /// Tick spacing: the first that gives at most ten ticks.
    fn tick(&self) -> u64 {
        const STEPS: &[u64] = &[
            10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000, 15_000, 30_000, 60_000,
            120_000, 300_000, 600_000, 900_000, 1_800_000, 3_600_000, 7_200_000, 21_600_000,
            43_200_000, 86_400_000,
        ];
        // Beyond a day per tick (a record with absurd times), a tenth.
        STEPS
            .iter()
            .copied()
            .find(|s| self.duration / s <= 10)
            .unwrap_or((self.duration / 10).max(1))
    }
}

fn patterns() -> Markup {
    html! {
        defs {
            pattern #hatch width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)" {
                rect width="6" height="6" fill="#9cc3ea" {}
                line x1="0" y1="0" x2="0" y2="6" stroke="#1565c0" stroke-width="2" {}
            }
            pattern #hatch-grey width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)" {
                rect width="6" height="6" fill="#ddd" {}
                line x1="0" y1="0" x2="0" y2="6" stroke="#888" stroke-width="2" {}
            }
        }
    }
}

/// The time axis with its ticks and the batches' labels.
fn axis(t: &Timeline, s: &Scale) -> Markup {
    let width = LABEL_W + PLOT_W + 20.0;
    let tick = s.tick();
    let ticks: Vec<u64> = (0..=s.duration / tick).map(|i| i * tick).collect();
    html! {
        svg.axis-svg xmlns="http://www.w3.org/2000/svg" width=(width) height="34" {
            text x="4" y="14" { "target" }
            @for at in &ticks {
                line.tick x1=(s.x(*at)) x2=(s.x(*at)) y1="18" y2="34" {}
                text x=(s.x(*at) + 2.0) y="14" { (dur(*at)) }
            }
            @for b in &t.batches {
                text.batch-label x=(s.x(b.at_ms) + 2.0) y="30" { "batch " (b.index) }
            }
        }
    }
}

/// A bar's hover text: target, step, location, duration, error, output.
fn hover(t: &Timeline, target: &str, bar: &Bar) -> String {
    let step = t.step(bar.step);
    let mut text = format!(
        "{target} · {} {}",
        step.map_or("", |s| s.action.as_str()),
        step.map_or("", |s| s.detail.as_str())
    );
    if let Some(s) = step {
        text.push_str(&format!("\n{}", s.location));
    }
    match bar.outcome {
        BarOutcome::NeverStarted => text.push_str("\nnever started"),
        BarOutcome::Stopped => text.push_str(&format!(
            "\nstarted at {}, stopped (did not finish)",
            dur(bar.start_ms)
        )),
        _ => text.push_str(&format!(
            "\n{} at {}, took {}",
            bar.outcome.as_str(),
            dur(bar.start_ms),
            dur(bar.end_ms - bar.start_ms)
        )),
    }
    if let Some(e) = &bar.error {
        text.push_str(&format!("\n{e}"));
    }
    if !bar.output_tail.is_empty() {
        text.push_str(&format!("\n---\n{}", bar.output_tail));
    }
    text
}

/// One row per target, a bar per step result, waits hatched, the batch
/// boundaries across every row. A plan row on top holds the plan's sleeps.
fn rows(t: &Timeline, s: &Scale) -> Markup {
    let plan_row = !t.plan_waits.is_empty();
    let first = if plan_row { 1.0 } else { 0.0 };
    let height = (t.rows.len() as f64 + first) * ROW_H + 4.0;
    let width = LABEL_W + PLOT_W + 20.0;
    let pad = (ROW_H - BAR_H) / 2.0;
    html! {
        svg.rows-svg xmlns="http://www.w3.org/2000/svg" width=(width) height=(height) {
            (patterns())
            @if plan_row {
                g.plan-row transform="translate(0,0)" {
                    text x="4" y=(ROW_H - 5.0) { "(plan)" }
                    @for w in &t.plan_waits {
                        rect.wait.plan x=(s.x(w.start_ms)) y=(pad) width=(bar_width(s, w.start_ms, w.end_ms)) height=(BAR_H) {
                            title { (w.label) }
                        }
                    }
                }
            }
            @for (i, row) in t.rows.iter().enumerate() {
                g.row data-target=(row.target) transform=(format!("translate(0,{})", (i as f64 + first) * ROW_H)) {
                    text x="4" y=(ROW_H - 5.0) { (label(&row.target)) title { (row.target) } }
                    @for w in &row.waits {
                        rect.wait.pool x=(s.x(w.start_ms)) y=(pad) width=(bar_width(s, w.start_ms, w.end_ms)) height=(BAR_H) {
                            title { (row.target) " · " (w.label) ", waited " (dur(w.end_ms - w.start_ms)) }
                        }
                    }
                    @for bar in &row.bars {
                        @let wait = t.step(bar.step).is_some_and(|s| s.is_wait()) && bar.outcome == BarOutcome::Ok;
                        rect class=(format!("bar {}{}", bar.outcome.as_str(), if wait { " wait" } else { "" }))
                            data-step=(bar.step) data-target=(row.target)
                            data-start-ms=(bar.start_ms) data-end-ms=(bar.end_ms) data-outcome=(bar.outcome.as_str())
                            x=(s.x(bar.start_ms)) y=(pad) width=(bar_width(s, bar.start_ms, bar.end_ms)) height=(BAR_H) {
                            title { (hover(t, &row.target, bar)) }
                        }
                    }
                }
            }
            @for b in &t.batches {
                line.batch data-index=(b.index) data-at-ms=(b.at_ms) x1=(s.x(b.at_ms)) x2=(s.x(b.at_ms)) y1="0" y2=(height) {
                    title { "batch " (b.index) " (" (b.size) " iteration(s)) at " (dur(b.at_ms)) ", " (b.location) }
                }
            }
        }
    }
}

/// A bar's width: at least 2 px, so that an instant still shows.
fn bar_width(s: &Scale, start: u64, end: u64) -> f64 {
    (s.x(end) - s.x(start)).max(2.0)
}

/// A target name cut to fit its column.
fn label(name: &str) -> String {
    if name.chars().count() <= 26 {
        name.to_string()
    } else {
        format!("{}…", name.chars().take(25).collect::<String>())
    }
}

/// Operations in flight over time, against the run's concurrency limit
/// (drawn when it is within twice the peak; otherwise the chart would be a
/// flat line at its bottom, and the limit is named instead).
fn in_flight(t: &Timeline, s: &Scale) -> Markup {
    let width = LABEL_W + PLOT_W + 20.0;
    let peak = t.peak().max(1);
    let limit_shown = t.concurrency > 0 && t.concurrency <= peak * 2;
    let top = if limit_shown {
        t.concurrency.max(peak)
    } else {
        peak
    } as f64;
    let y = |n: u64| 6.0 + (CURVE_H - 12.0) * (1.0 - n as f64 / top);
    let mut points = String::new();
    let mut last = 0;
    for (at, n) in &t.in_flight {
        points.push_str(&format!(
            "{:.1},{:.1} {:.1},{:.1} ",
            s.x(*at),
            y(last),
            s.x(*at),
            y(*n)
        ));
        last = *n;
    }
    points.push_str(&format!("{:.1},{:.1}", s.x(s.duration), y(last)));
    html! {
        svg.in-flight xmlns="http://www.w3.org/2000/svg" width=(width) height=(CURVE_H) data-peak=(t.peak()) data-limit=(t.concurrency) {
            text x="4" y="14" { "in flight" }
            text x="4" y="28" { "peak " (t.peak()) ", limit " (t.concurrency) }
            @if !limit_shown {
                text x="4" y="42" { "(limit above the chart)" }
            }
            line.tick x1=(LABEL_W) x2=(LABEL_W + PLOT_W) y1=(y(0)) y2=(y(0)) {}
            @if limit_shown {
                line.limit x1=(LABEL_W) x2=(LABEL_W + PLOT_W) y1=(y(t.concurrency)) y2=(y(t.concurrency)) {
                    title { "concurrency limit: " (t.concurrency) }
                }
            }
            polyline.curve points=(points) {
                title { "operations in flight; peak " (t.peak()) }
            }
        }
    }
}

/// The timeline: axis, rows and the in-flight curve, with a legend.
pub fn timeline(t: &Timeline) -> Markup {
    let s = Scale {
        duration: t.duration_ms,
    };
    html! {
        div.legend {
            span { i style="background:#3a9a4a" {} "ok" }
            span { i style="background:#d32f2f" {} "failed" }
            span { i style="background:#f0a030" {} "stopped" }
            span { i style="border:1px dashed #999" {} "never started" }
            span { i style="background:repeating-linear-gradient(45deg,#9cc3ea 0 3px,#1565c0 3px 5px)" {} "waiting (wait_up)" }
            span { i style="background:repeating-linear-gradient(45deg,#ddd 0 3px,#888 3px 5px)" {} "waiting (pool, sleep)" }
            span { i style="border-top:2px dashed #555;height:0" {} "batch boundary" }
        }
        div.scroll {
            div.axis { (axis(t, &s)) }
            (rows(t, &s))
        }
        (in_flight(t, &s))
    }
}

/// Where the report's pieces come from besides the events.
pub struct Sources<'a> {
    /// Plan files' locations are relative to this.
    pub root: &'a Path,
    /// Each target's whole output, when it was recorded (`.drover/runs/ID/targets/`).
    pub outputs: &'a dyn Fn(&str) -> Option<String>,
}

/// `file:line:column` as lines of its source around it, with a caret.
pub fn snippet(root: &Path, location: &str) -> Option<String> {
    let mut parts = location.rsplitn(3, ':');
    let col: usize = parts.next()?.parse().ok()?;
    let line: usize = parts.next()?.parse().ok()?;
    let file = parts.next()?;
    let path = Path::new(file);
    // Only plan sources: a location comes from a record on disk, which is
    // not a reason to show any file it names.
    if !path
        .extension()
        .is_some_and(|e| e == "plan" || e == "pp" || e == "yaml")
    {
        return None;
    }
    let text = std::fs::read_to_string(if path.is_absolute() {
        path.to_path_buf()
    } else {
        root.join(path)
    })
    .ok()?;
    let lines: Vec<&str> = text.lines().collect();
    let from = line.saturating_sub(2).max(1);
    let to = (line + 1).min(lines.len());
    let mut out = format!("{location}\n");
    for n in from..=to {
        out.push_str(&format!("{n:>5} │ {}\n", lines.get(n - 1)?));
        if n == line {
            out.push_str(&format!("      │ {}^\n", " ".repeat(col.saturating_sub(1))));
        }
    }
    Some(out)
}

/// A whole page: the style inline, then `body`.
pub fn page(title: &str, outcome: &str, body: Markup) -> String {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "drover: " (title) }
                style { (PreEscaped(STYLE)) }
            }
            body data-outcome=(outcome) { (body) }
        }
    }
    .into_string()
}

/// The title of a run's page.
pub fn title(t: &Timeline) -> String {
    format!(
        "{} — {}",
        t.plan,
        t.run_id
            .as_deref()
            .unwrap_or(if t.dry_run { "dry run" } else { "run" })
    )
}

/// The self-contained HTML report of a run.
pub fn report(t: &Timeline, sources: &Sources) -> String {
    page(
        &title(t),
        t.outcome.as_str(),
        html! {
            (live(t))
            (failures(t, sources))
            (outputs(t, sources, None))
            (log(t))
        },
    )
}

/// What changes while a run goes on: its header, timeline and table.
pub fn live(t: &Timeline) -> Markup {
    html! {
        (header(t))
        h2 { "Timeline" }
        (timeline(t))
        h2 { "Targets" }
        (table(t))
    }
}

/// Each failure with its source and the end of its output.
pub fn failures(t: &Timeline, sources: &Sources) -> Markup {
    let failures: Vec<(&str, &Bar)> = t
        .rows
        .iter()
        .flat_map(|r| r.bars.iter().map(move |b| (r.target.as_str(), b)))
        .filter(|(_, b)| b.outcome == BarOutcome::Failed)
        .collect();
    html! {
        h2 { "Failures" }
        @if failures.is_empty() && t.error.is_none() {
            p.muted { "None." }
        }
        @if let Some(e) = &t.error {
            div.failure.run-error {
                h3 { "The run: " (e["kind"].as_str().unwrap_or("")) }
                p { (e["message"].as_str().unwrap_or("")) }
                @if let Some(s) = e["location"].as_str().and_then(|l| snippet(sources.root, l)) {
                    pre { (s) }
                }
            }
        }
        @for (target, bar) in failures.iter().take(FAILURES_SHOWN) {
            @let step = t.step(bar.step);
            div.failure {
                h3 { (target) " · " (step.map_or("", |s| s.action.as_str())) " " (step.map_or("", |s| s.detail.as_str())) }
                p { (bar.error.as_deref().unwrap_or("")) }
                @if let Some(s) = step.and_then(|s| snippet(sources.root, &s.location)) {
                    pre { (s) }
                }
                @if !bar.output_tail.is_empty() {
                    pre.output-tail { (bar.output_tail) }
                }
            }
        }
        @if failures.len() > FAILURES_SHOWN {
            p.muted { "and " (failures.len() - FAILURES_SHOWN) " more failures (see the table)" }
        }
    }
}

/// Each target's output: inline, or (`link`) a link to its own page.
pub fn outputs(t: &Timeline, sources: &Sources, link: Option<&dyn Fn(&str) -> String>) -> Markup {
    html! {
        h2 { "Output" }
        @for row in &t.rows {
            @if let Some(link) = link {
                p.target-output data-target=(row.target) { a href=(link(&row.target)) { (row.target) } }
            } @else {
                @let output = (sources.outputs)(&row.target).unwrap_or_else(|| outputs_of(row));
                details.target-output data-target=(row.target) {
                    summary { (row.target) }
                    @if output.is_empty() {
                        p.muted { "No output." }
                    } @else {
                        pre { (cut(&output)) }
                    }
                }
            }
        }
    }
}

/// The run's log lines and messages.
pub fn log(t: &Timeline) -> Markup {
    html! {
        @if !t.logs.is_empty() {
            h2 { "Log" }
            pre.log {
                @for (at, level, text, location) in &t.logs {
                    (format!("{:>9} {level:<7} {text}  ({location})\n", dur(*at)))
                }
            }
        }
    }
}

fn header(t: &Timeline) -> Markup {
    let duration = if t.dry_run {
        format!("{} (predicted on virtual time)", dur(t.duration_ms))
    } else if t.outcome == RunOutcome::Running {
        format!("{} so far", dur(t.duration_ms))
    } else {
        dur(t.duration_ms)
    };
    html! {
        header {
            h1 { "drover · " (t.plan) @if t.dry_run { " (dry run)" } }
            dl.head {
                dt { "outcome" } dd { span class=(format!("badge outcome {}", t.outcome.as_str())) { (t.outcome.as_str()) } }
                @if let Some(id) = &t.run_id { dt { "run" } dd { code { (id) } } }
                @if let Some(u) = &t.user { dt { "who" } dd { (u) } }
                @if let Some(at) = &t.started_at { dt { "when" } dd { (at) } }
                dt { "duration" } dd.duration data-ms=(t.duration_ms) { (duration) }
                dt { "targets" } dd { (t.rows.len()) " · " (t.steps.len()) " steps · " (t.results()) " results" }
                dt { "concurrency" } dd { "peak " (t.peak()) " of " (t.concurrency) }
                @if let Some(m) = &t.interrupted { dt { "interrupted" } dd { (m) } }
                dt { "parameters" }
                dd {
                    @if t.parameters.is_empty() { span.muted { "none" } }
                    @for (k, v) in &t.parameters {
                        code { (k) "=" (match v { serde_json::Value::String(s) => s.clone(), other => other.to_string() }) } " "
                    }
                }
            }
        }
    }
}

fn table(t: &Timeline) -> Markup {
    html! {
        table.targets {
            thead { tr { th { "target" } th { "status" } th { "ok" } th { "failed" } th { "busy" } th { "last error" } } }
            tbody {
                @for row in &t.rows {
                    @let (ok, failed) = row.counts();
                    @let busy: u64 = row.bars.iter().map(|b| b.end_ms - b.start_ms).sum();
                    tr data-target=(row.target) data-status=(row.status().as_str()) {
                        td { (row.target) }
                        td { (row.status().as_str()) }
                        td.num { (ok) }
                        td.num { (failed) }
                        td.num { (dur(busy)) }
                        td { (row.bars.iter().rev().find_map(|b| b.error.as_deref()).unwrap_or("")) }
                    }
                }
            }
        }
    }
}

/// A target's output from its results, when nothing else recorded it.
fn outputs_of(row: &Row) -> String {
    row.bars
        .iter()
        .filter(|b| !b.output_tail.is_empty())
        .map(|b| b.output_tail.clone())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The end of a long output.
pub fn cut(s: &str) -> String {
    if s.len() <= OUTPUT_CAP {
        return s.to_string();
    }
    let mut start = s.len() - OUTPUT_CAP;
    while !s.is_char_boundary(start) {
        start += 1;
    }
    format!("[… {} bytes before]\n{}", start, &s[start..])
}
