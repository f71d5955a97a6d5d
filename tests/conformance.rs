//! The conformance suite: every `tests/conformance/*.plan` carries its
//! expected outcome in a header (`tests/common/expect.rs`) and runs through
//! `drover run --format json` as a user would run it. Each plan is its own
//! test case, named by its file: `cargo test --test conformance -- NAME`.

mod common;

use assert_cmd::Command;
use common::expect::{self, Outcome};
use libtest_mimic::{Arguments, Failed, Trial};
use serde_json::Value;

/// Run one conformance plan and compare it with its header.
fn conformance(name: &str, schema: &Value) -> Result<(), Failed> {
    let path = common::root().join("tests/conformance").join(name);
    let text = std::fs::read_to_string(&path).map_err(|e| e.to_string())?;
    let header = expect::parse(&text).map_err(|e| format!("{name}: {e}"))?;
    let out = Command::cargo_bin("drover")
        .unwrap()
        .current_dir(common::root().join("tests"))
        .args(["run", &format!("conformance/{name}"), "--format", "json"])
        .args(&header.args)
        .output()
        .map_err(|e| e.to_string())?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let code = out.status.code();
    let mut problems = Vec::new();
    // Every event is as docs/events.md documents it.
    for problem in common::invalid_events(schema, &stdout) {
        problems.push(format!("event schema: {problem}"));
    }
    if let Some(secret) = &header.secret
        && (stdout.contains(secret.as_str()) || stderr.contains(secret.as_str()))
    {
        problems.push("the secret appears in the output".to_string());
    }
    let result = stdout
        .lines()
        .last()
        .and_then(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|r| r["type"] == "plan_result");
    let location = |r: &Value| {
        r["error"]["location"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    let here = |at: &str| format!("conformance/{name}:{at}");
    let problem = match (&header.outcome, &result) {
        (Outcome::Rejected { code: want, at }, _) => {
            (code != Some(2) || !stderr.contains(&here(at)) || !stderr.contains(want.as_str()))
                .then(|| {
                    format!(
                        "expected `{want}` at {} and exit 2, got {code:?}\n{stderr}",
                        here(at)
                    )
                })
        }
        (_, None) => Some(format!(
            "no plan_result (exit {code:?})\n{stdout}\n{stderr}"
        )),
        (Outcome::Success(want), Some(r)) => {
            if r["status"] != "success" || code != Some(0) {
                Some(format!("expected success, got {r} (exit {code:?})"))
            } else {
                (&r["value"] != want).then(|| format!("value {} != expected {want}", r["value"]))
            }
        }
        (Outcome::Failure { kind, at }, Some(r)) => {
            if r["status"] != "failure" || code != Some(1) {
                Some(format!("expected failure, got {r} (exit {code:?})"))
            } else if r["error"]["kind"] != kind.as_str() {
                Some(format!("kind {} != expected {kind}", r["error"]["kind"]))
            } else {
                (!location(r).ends_with(&here(at)))
                    .then(|| format!("location {} != expected {at}", location(r)))
            }
        }
        (Outcome::Diagnostic { .. }, _) => Some("a diagnostic header in a conformance plan".into()),
    };
    problems.extend(problem);
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n").into())
    }
}

fn main() {
    let args = Arguments::from_args();
    let plans = common::plans_under("tests/conformance");
    let schema = std::sync::Arc::new(common::event_schema());
    let mut trials: Vec<Trial> = plans
        .iter()
        .map(|path| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let schema = schema.clone();
            Trial::test(name.trim_end_matches(".plan").to_string(), move || {
                conformance(&name, &schema)
            })
        })
        .collect();
    let count = plans.len();
    trials.push(Trial::test("the_suite_is_large", move || {
        if count >= 60 {
            Ok(())
        } else {
            Err(format!("only {count} conformance plans").into())
        }
    }));
    libtest_mimic::run(&args, trials).exit();
}
