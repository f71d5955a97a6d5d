//! `drover test` (`../shared/spec/testing.md`): find the `test` blocks, check
//! them with every plan they may run, run each on a paused clock of its own
//! with its own stubs, inventory copy and pools, and report: human lines or
//! JSON, a JUnit file, coverage. Stubs and assertions are `eval::testing`.

use std::cell::RefCell;
use std::collections::HashSet;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use serde_json::json;

use super::UsageError;
use super::load::{PlanFiles, load_inventory, plan_files};
use crate::diagnostic::Diagnostic;
use crate::eval::testing::{Coverage, TestState};
use crate::eval::{Events, Interpreter, Program};
use crate::project::inventory::Inventory;
use crate::project::tasks::Catalog;
use crate::report::Format;
use crate::source::Span;
use crate::syntax::ast::Test;
use crate::value::{ErrorValue, Value};

/// What `drover test` was asked to do.
pub(crate) struct TestOptions {
    /// Test files or directories (default: the project's plan directories
    /// and its `tests/*_test.plan`).
    pub paths: Vec<PathBuf>,
    /// `--filter TEXT`: only tests whose description contains it.
    pub filter: Option<String>,
    /// `-i FILE`.
    pub inventory: Option<PathBuf>,
    /// `--format`.
    pub format: Format,
    /// `--junit FILE`.
    pub junit: Option<PathBuf>,
    /// `--coverage`.
    pub coverage: bool,
}

/// How one test went.
struct Outcome<'a> {
    test: &'a Test,
    /// `file:line` of `test`.
    location: String,
    failure: Option<Box<ErrorValue>>,
    /// The captured `log::*` and `out::message` lines.
    output: Vec<String>,
    virtual_ms: u64,
    wall: std::time::Duration,
}

/// Run the tests: exit 0 when all passed, 1 when any failed, 2 when a test
/// file does not check or on bad usage.
pub(crate) fn run(tasks: &Arc<Catalog>, opts: &TestOptions) -> Result<u8, UsageError> {
    let project = tasks.project();
    let test_files = test_files(project, &opts.paths)?;
    // Every plan a test may run: the project's, its modules' and the
    // standard library's, with the test files.
    let mut files = plan_files(project, &[], true).unwrap_or_default();
    let known: HashSet<PathBuf> = files.iter().filter_map(|f| f.canonicalize().ok()).collect();
    files.extend(
        test_files
            .iter()
            .filter(|f| f.canonicalize().is_ok_and(|c| !known.contains(&c)))
            .cloned(),
    );
    let read = PlanFiles::read(&files)?;
    let (asts, diags) = read.check(Some(tasks));
    let sources = read.sources;
    // The test files and the project's own plans must check; the bundled
    // library's are `drover check`'s business.
    let mut own: HashSet<String> = test_files.iter().map(|f| f.display().to_string()).collect();
    own.extend(
        plan_files(project, &[], false)
            .unwrap_or_default()
            .iter()
            .map(|f| f.display().to_string()),
    );
    let blocking: Vec<&Diagnostic> = diags
        .iter()
        .filter(|d| d.is_error() && own.contains(&sources.get(d.primary.span.file).name))
        .collect();
    if !blocking.is_empty() {
        let color = crate::diagnostic::use_color();
        for d in &blocking {
            eprint!("{}", d.render(&sources, color, 100));
        }
        eprintln!(
            "the tests do not check: {} error(s); no test ran",
            blocking.len()
        );
        return Ok(2);
    }
    let Some(inventory) = load_inventory(tasks, opts.inventory.clone())? else {
        return Ok(2);
    };
    let program = Program {
        sources,
        files: asts,
    };
    let test_names: HashSet<String> = test_files.iter().map(|f| f.display().to_string()).collect();
    let all: Vec<&Test> = program
        .files
        .iter()
        .filter(|f| test_names.contains(&program.sources.get(f.id).name))
        .flat_map(|f| &f.tests)
        .collect();
    let chosen: Vec<&Test> = all
        .iter()
        .copied()
        .filter(|t| {
            opts.filter
                .as_deref()
                .is_none_or(|text| t.description.node.contains(text))
        })
        .collect();
    let filtered_out = all.len() - chosen.len();
    let mut coverage = Coverage::default();
    let mut outcomes = Vec::with_capacity(chosen.len());
    for test in chosen {
        let (outcome, covered) = run_one(&program, &inventory, tasks, test, opts.coverage);
        coverage.merge(covered);
        print_outcome(&program, &outcome, opts.format);
        outcomes.push(outcome);
    }
    let failed = outcomes.iter().filter(|o| o.failure.is_some()).count();
    let passed = outcomes.len() - failed;
    if let Some(path) = &opts.junit {
        let xml = junit(&program, &outcomes);
        if let Err(e) = std::fs::write(path, xml) {
            eprintln!("error: cannot write {}: {e}", path.display());
            return Ok(2);
        }
    }
    if opts.coverage {
        print_coverage(&program, &coverage, opts.format);
    }
    let filtered = match filtered_out {
        0 => String::new(),
        n => format!(", {n} filtered out"),
    };
    match opts.format {
        Format::Json => outln!(
            "{}",
            json!({"type": "summary", "passed": passed, "failed": failed, "filtered_out": filtered_out})
        ),
        Format::Human => outln!("{passed} passed, {failed} failed{filtered}"),
    }
    Ok(if failed > 0 { 1 } else { 0 })
}

/// The files to take tests from: those given (a directory: every `.plan`
/// file under it), else the project's plan directories and every `.plan`
/// file under `tests/` (or the project's `tests` setting).
fn test_files(
    project: &crate::project::Project,
    paths: &[PathBuf],
) -> Result<Vec<PathBuf>, UsageError> {
    if !paths.is_empty() {
        return plan_files(project, paths, false);
    }
    let mut files = match plan_files(project, &[], false) {
        Ok(files) => files,
        Err(UsageError::NoPlans(_)) => Vec::new(),
        Err(e) => return Err(e),
    };
    let dirs = project
        .tests
        .clone()
        .unwrap_or_else(|| vec![project.root.join("tests")]);
    for dir in dirs.into_iter().filter(|d| d.exists()) {
        files.extend(
            plan_files(project, &[dir], false)?
                .into_iter()
                .filter(|f| f.extension().is_some_and(|e| e == "plan")),
        );
    }
    Ok(files)
}

/// Where a test's plans log: kept, shown only if the test fails.
#[derive(Default)]
struct Capture {
    lines: RefCell<Vec<String>>,
}

impl Events for Capture {
    fn log(&self, level: &str, message: &str, location: &str) {
        let line = format!("{} {location}: {message}", level.to_uppercase());
        self.lines
            .borrow_mut()
            .push(crate::value::mask(&line).into_owned());
    }

    fn message(&self, text: &str, _location: &str) {
        self.lines
            .borrow_mut()
            .push(crate::value::mask(text).into_owned());
    }
}

/// Run one test in isolation: its own runtime and paused clock, stubs,
/// inventory changes and pools.
fn run_one<'a>(
    program: &Program,
    inventory: &Inventory,
    tasks: &Arc<Catalog>,
    test: &'a Test,
    coverage: bool,
) -> (Outcome<'a>, Coverage) {
    let wall = Instant::now();
    let capture = Capture::default();
    let state = TestState::new(coverage);
    let failure = match tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
    {
        Ok(rt) => {
            let it = Interpreter::new(program, inventory, &capture)
                .with_tasks(tasks.clone())
                .with_test(state.clone());
            rt.block_on(it.run_test(&test.body)).err()
        }
        Err(e) => Some(Box::new(ErrorValue::new(
            "drover/internal",
            format!("cannot start the test's runtime: {e}"),
        ))),
    };
    let file = program.sources.get(test.span.file);
    let (line, _) = file.line_col(test.span.start);
    let outcome = Outcome {
        test,
        location: format!("{}:{line}", file.name),
        failure,
        output: capture.lines.into_inner(),
        virtual_ms: state.elapsed_ms(),
        wall: wall.elapsed(),
    };
    (outcome, state.take_coverage())
}

fn print_outcome(program: &Program, o: &Outcome, format: Format) {
    let description = &o.test.description.node;
    if format == Format::Json {
        let error = o.failure.as_ref().map(|e| {
            let mut j = e.to_json();
            if let Some(obj) = j.as_object_mut() {
                obj.insert("location".into(), json!(e.location));
            }
            j
        });
        let output: &[String] = if o.failure.is_some() { &o.output } else { &[] };
        outln!(
            "{}",
            json!({
                "type": "test",
                "description": description,
                "location": o.location,
                "outcome": if o.failure.is_some() { "failed" } else { "ok" },
                "virtual_ms": o.virtual_ms,
                "error": error,
                "output": output,
            })
        );
        return;
    }
    let Some(e) = &o.failure else {
        outln!("ok      {description} ({})", o.location);
        return;
    };
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "FAILED  {description} ({})", o.location);
    let _ = write!(out, "{}", failure_text(program, e));
    if !o.output.is_empty() {
        let _ = writeln!(out, "  captured output:");
        for line in &o.output {
            let _ = writeln!(out, "    {line}");
        }
    }
    let _ = writeln!(out);
}

/// A failure as a diagnostic with its snippet, then the values it compared
/// or the errors it wraps.
fn failure_text(program: &Program, e: &ErrorValue) -> String {
    let mut text = match e.span {
        // Wide: a message that names a command and a location reads (and
        // greps) better on one line.
        Some(span) => Diagnostic::runtime(&e.kind, span, e.message.clone()).render(
            &program.sources,
            crate::diagnostic::use_color(),
            400,
        ),
        None => format!("  {}: {}\n", e.kind, e.message),
    };
    if let Some(Value::Str(diff)) = e.details.get("difference") {
        for key in ["actual", "expected"] {
            if let Some(v) = e.details.get(key) {
                text.push_str(&format!("  {key:>8}: {}\n", v.to_json()));
            }
        }
        // Two scalars are their own difference.
        let compound = ["actual", "expected"]
            .iter()
            .any(|k| matches!(e.details.get(*k), Some(Value::Array(_) | Value::Hash(_))));
        if compound {
            text.push_str("  difference (- actual, + expected):\n");
            for line in diff.lines() {
                text.push_str(&format!("    {line}\n"));
            }
        }
    }
    // A loop or action failure: the errors under it.
    if let Some(Value::Array(failed)) = e.details.get("failed") {
        for f in failed.iter() {
            if let Value::Hash(h) = f
                && let Some(Value::Error(inner)) = h.get("error")
            {
                text.push_str(&format!(
                    "  iteration {} failed: {}: {}{}\n",
                    h.get("index").map(Value::to_display).unwrap_or_default(),
                    inner.kind,
                    inner.message,
                    at(&inner.location)
                ));
            }
        }
    }
    let mut cause = e;
    while let Some(Value::Error(inner)) = cause.details.get("error") {
        text.push_str(&format!(
            "  caused by {}: {}{}\n",
            inner.kind,
            inner.message,
            at(&inner.location)
        ));
        cause = inner;
    }
    if let Some(Value::ResultSet(results)) = cause.details.get("result_set") {
        for r in results.iter() {
            if let Some(err) = &r.error {
                text.push_str(&format!(
                    "  on {}: {}: {}\n",
                    r.target.name, err.kind, err.message
                ));
            }
        }
    }
    text
}

fn at(location: &str) -> String {
    if location.is_empty() {
        String::new()
    } else {
        format!(" (at {location})")
    }
}

/// The statements of every plan the tests ran that no test executed.
fn print_coverage(program: &Program, coverage: &Coverage, format: Format) {
    let mut plans: Vec<_> = program
        .files
        .iter()
        .flat_map(|f| &f.plans)
        .filter(|p| coverage.plans.contains(&p.name.node))
        .collect();
    plans.sort_by(|a, b| a.name.node.cmp(&b.name.node));
    let (mut total, mut executed) = (0, 0);
    let mut rows = Vec::new();
    for plan in plans {
        let mut spans: Vec<Span> = Vec::new();
        plan.body.each_stmt(&mut |s| spans.push(s.span));
        let file = program.sources.get(plan.span.file);
        let missed: Vec<String> = spans
            .iter()
            .filter(|s| !coverage.executed.contains(&(s.file, s.start)))
            .map(|s| format!("{}:{}", file.name, file.line_col(s.start).0))
            .collect();
        total += spans.len();
        executed += spans.len() - missed.len();
        rows.push((plan, file.name.clone(), spans.len(), missed));
    }
    let share = if total == 0 {
        100.0
    } else {
        executed as f64 * 100.0 / total as f64
    };
    if format == Format::Json {
        let plans: Vec<_> = rows
            .iter()
            .map(|(p, file, n, missed)| {
                json!({"plan": p.name.node, "file": file, "statements": n,
                       "executed": n - missed.len(), "not_executed": missed})
            })
            .collect();
        outln!(
            "{}",
            json!({"type": "coverage", "plans": plans, "statements": total,
                   "executed": executed, "share": (share * 10.0).round() / 10.0})
        );
        return;
    }
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "coverage:");
    for (plan, file, n, missed) in &rows {
        let _ = writeln!(
            out,
            "  {} ({file}): {} of {n} statements executed",
            plan.name.node,
            n - missed.len()
        );
        for m in missed {
            let _ = writeln!(out, "    not executed: {m}");
        }
    }
    let _ = writeln!(
        out,
        "  {share:.1}% of statements executed ({executed} of {total})"
    );
}

/// A JUnit XML report: a `testsuite` per file, a `testcase` per test, a
/// `failure` (message, kind, location and details) for each failed one.
fn junit(program: &Program, outcomes: &[Outcome]) -> String {
    let mut files: Vec<(&str, Vec<&Outcome>)> = Vec::new();
    for o in outcomes {
        let file = program.sources.get(o.test.span.file).name.as_str();
        match files.iter_mut().find(|(f, _)| *f == file) {
            Some((_, list)) => list.push(o),
            None => files.push((file, vec![o])),
        }
    }
    let secs = |d: std::time::Duration| format!("{:.6}", d.as_secs_f64());
    let failed = |list: &[&Outcome]| list.iter().filter(|o| o.failure.is_some()).count();
    let total: std::time::Duration = outcomes.iter().map(|o| o.wall).sum();
    let all: Vec<&Outcome> = outcomes.iter().collect();
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    x.push_str(&format!(
        "<testsuites name=\"drover test\" tests=\"{}\" failures=\"{}\" errors=\"0\" time=\"{}\">\n",
        outcomes.len(),
        failed(&all),
        secs(total)
    ));
    for (file, list) in &files {
        let time: std::time::Duration = list.iter().map(|o| o.wall).sum();
        x.push_str(&format!(
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"0\" time=\"{}\">\n",
            xml(file),
            list.len(),
            failed(list),
            secs(time)
        ));
        for o in list {
            let line = o.location.rsplit(':').next().unwrap_or("0");
            x.push_str(&format!(
                "    <testcase name=\"{}\" classname=\"{}\" file=\"{}\" line=\"{line}\" time=\"{}\"",
                xml(&o.test.description.node),
                xml(file),
                xml(file),
                secs(o.wall)
            ));
            match &o.failure {
                None => x.push_str("/>\n"),
                Some(e) => {
                    x.push_str(">\n");
                    let mut body = format!("{}: {}\nat {}\n", e.kind, e.message, e.location);
                    if let Some(Value::Str(diff)) = e.details.get("difference") {
                        body.push_str(diff);
                    }
                    x.push_str(&format!(
                        "      <failure message=\"{}\" type=\"{}\">{}</failure>\n",
                        xml(&e.message),
                        xml(&e.kind),
                        xml(&body)
                    ));
                    if !o.output.is_empty() {
                        x.push_str(&format!(
                            "      <system-out>{}</system-out>\n",
                            xml(&(o.output.join("\n") + "\n"))
                        ));
                    }
                    x.push_str("    </testcase>\n");
                }
            }
        }
        x.push_str("  </testsuite>\n");
    }
    x.push_str("</testsuites>\n");
    x
}

/// Text as XML character data or an attribute value: escaped, and without
/// the control characters XML 1.0 cannot hold.
fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' | '\t' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}
