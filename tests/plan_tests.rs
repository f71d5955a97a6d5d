//! Plan tests written in the plan language (`tests/plan_tests/*.plan`, and
//! those that must fail in `tests/plan_tests_failing/`), run
//! through `drover test --format json` as a user runs them. Each test block
//! is its own test case: `cargo test --test plan_tests -- TEXT`. In
//! `*_test.plan` files every test must pass; in the others every test must
//! fail with the kind and at the line its description starts with:
//! `[KIND at LINE]`.

mod common;

use libtest_mimic::{Arguments, Failed, Trial};
use serde_json::Value;

/// `drover test FILE --format json`: the exit code and the JSON lines.
fn run(file: &str) -> (i32, Vec<Value>, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_drover"))
        .current_dir(common::root())
        .args(["test", file, "-i", "tests/plan_tests/inventory.yaml"])
        .args(["--format", "json"])
        .output()
        .unwrap();
    let lines = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{file}: {e}: {l}")))
        .collect();
    (
        out.status.code().unwrap_or(-1),
        lines,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A test of a `*_test.plan` file: it passed.
fn passed(file: &str, t: &Value) -> Result<(), Failed> {
    if t["outcome"] == "ok" {
        return Ok(());
    }
    Err(format!("{file}: {} failed: {:#}", t["description"], t["error"]).into())
}

/// A test of another file: it failed with the kind and at the line its
/// description names.
fn failed_as_described(file: &str, t: &Value) -> Result<(), Failed> {
    let description = t["description"].as_str().unwrap_or_default();
    let re = regex::Regex::new(r"^\[(\S+) at (\d+)\]").unwrap();
    let Some(want) = re.captures(description) else {
        return Err(format!("{file}: `{description}` does not start with [KIND at LINE]").into());
    };
    let kind = t["error"]["kind"].as_str().unwrap_or_default();
    let location = t["error"]["location"].as_str().unwrap_or_default();
    let line = format!("{file}:{}:", &want[2]);
    if t["outcome"] != "failed" || kind != &want[1] || !location.starts_with(&line) {
        return Err(format!(
            "expected a failure `{}` at {line}, got {} `{kind}` at {location}: {:#}",
            &want[1], t["outcome"], t["error"]
        )
        .into());
    }
    Ok(())
}

fn main() {
    let args = Arguments::from_args();
    let mut trials = Vec::new();
    let paths = common::plans_under("tests/plan_tests")
        .into_iter()
        .chain(common::plans_under("tests/plan_tests_failing"));
    for path in paths {
        let file = path
            .strip_prefix(common::root())
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let must_pass = file.ends_with("_test.plan");
        let (code, lines, stderr) = run(&file);
        let tests: Vec<Value> = lines
            .iter()
            .filter(|l| l["type"] == "test")
            .cloned()
            .collect();
        // The file as a whole: the exit code and the summary agree.
        let summary = lines.last().cloned().unwrap_or_default();
        let n = tests.len();
        let whole = file.clone();
        trials.push(Trial::test(
            format!("{file}: exit code and summary"),
            move || {
                let (want_code, passed, failed) = if must_pass { (0, n, 0) } else { (1, 0, n) };
                if n == 0
                    || code != want_code
                    || summary["passed"] != passed
                    || summary["failed"] != failed
                {
                    return Err(format!(
                        "{whole}: {n} test(s), exit {code}, summary {summary}\n{stderr}"
                    )
                    .into());
                }
                Ok(())
            },
        ));
        for t in tests {
            let name = format!("{file}: {}", t["description"].as_str().unwrap_or_default());
            let file = file.clone();
            trials.push(Trial::test(name, move || {
                if must_pass {
                    passed(&file, &t)
                } else {
                    failed_as_described(&file, &t)
                }
            }));
        }
    }
    libtest_mimic::run(&args, trials).exit();
}
