//! The conformance suite: every `tests/conformance/*.plan` carries its
//! expected `plan_result` in a header, and runs through
//! `drover run --format json` as a user would run it.
//!
//! Header lines: `# expect: success <JSON value>` or
//! `# expect: failure <error kind> at <line>:<column>`, and optionally
//! `# secret: <text>`, which must appear in no byte of the output, and
//! `# args: ...`, more command-line arguments (paths relative to `tests/`).

mod common;

use assert_cmd::Command;
use serde_json::Value;

struct Expect {
    success: bool,
    value: Option<Value>,
    kind: String,
    at: String,
    secret: Option<String>,
    args: Vec<String>,
    /// `# expect: rejected CODE at L:C`: `drover check` stops it (exit 2).
    rejected: Option<String>,
}

fn header(text: &str, name: &str) -> Expect {
    let mut expect = Expect {
        success: false,
        value: None,
        kind: String::new(),
        at: String::new(),
        secret: None,
        args: Vec::new(),
        rejected: None,
    };
    for line in text.lines().take_while(|l| l.starts_with('#')) {
        if let Some(rest) = line.strip_prefix("# expect: success ") {
            expect.success = true;
            expect.value = Some(
                serde_json::from_str(rest)
                    .unwrap_or_else(|e| panic!("{name}: bad JSON in header: {e}")),
            );
        } else if let Some(rest) = line.strip_prefix("# expect: failure ") {
            let (kind, at) = rest
                .split_once(" at ")
                .unwrap_or_else(|| panic!("{name}: `failure KIND at L:C`"));
            expect.kind = kind.to_string();
            expect.at = at.to_string();
        } else if let Some(rest) = line.strip_prefix("# expect: rejected ") {
            let (code, at) = rest
                .split_once(" at ")
                .unwrap_or_else(|| panic!("{name}: `rejected CODE at L:C`"));
            expect.kind = code.to_string();
            expect.at = at.to_string();
            expect.rejected = Some(code.to_string());
        } else if let Some(args) = line.strip_prefix("# args: ") {
            expect.args = args.split_whitespace().map(String::from).collect();
        } else if let Some(secret) = line.strip_prefix("# secret: ") {
            expect.secret = Some(secret.to_string());
        }
    }
    assert!(
        expect.success || !expect.kind.is_empty(),
        "{name}: no `# expect:` header"
    );
    expect
}

#[test]
fn conformance_suite() {
    let dir = common::root().join("tests");
    let plans = common::plans_under("tests/conformance");
    assert!(plans.len() >= 60, "only {} conformance plans", plans.len());
    let mut failures = Vec::new();
    let schema = common::event_schema();
    for path in &plans {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let text = std::fs::read_to_string(path).unwrap();
        let expect = header(&text, &name);
        let out = Command::cargo_bin("drover")
            .unwrap()
            .current_dir(&dir)
            .args(["run", &format!("conformance/{name}"), "--format", "json"])
            .args(&expect.args)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        // Every event is as docs/events.md documents it.
        for problem in common::invalid_events(&schema, &stdout) {
            failures.push(format!("{name}: event schema: {problem}"));
        }
        if let Some(code) = &expect.rejected {
            let place = format!("conformance/{name}:{}", expect.at);
            if out.status.code() != Some(2)
                || !stderr.contains(&place)
                || !stderr.contains(code.as_str())
            {
                failures.push(format!(
                    "{name}: expected `{code}` at {place} and exit 2, got {:?}\n{stderr}",
                    out.status.code()
                ));
            }
            continue;
        }
        let Some(result) = stdout
            .lines()
            .last()
            .and_then(|l| serde_json::from_str::<Value>(l).ok())
        else {
            failures.push(format!(
                "{name}: no plan_result (exit {:?})\n{stdout}\n{stderr}",
                out.status.code()
            ));
            continue;
        };
        let problem = if result["type"] != "plan_result" {
            Some(format!("last line is not a plan_result: {result}"))
        } else if expect.success {
            let code = out.status.code();
            if result["status"] != "success" || code != Some(0) {
                Some(format!("expected success, got {result} (exit {code:?})"))
            } else if Some(&result["value"]) != expect.value.as_ref() {
                Some(format!(
                    "value {} != expected {}",
                    result["value"],
                    expect.value.as_ref().unwrap()
                ))
            } else {
                None
            }
        } else {
            let location = result["error"]["location"].as_str().unwrap_or_default();
            if result["status"] != "failure" || out.status.code() != Some(1) {
                Some(format!("expected failure, got {result}"))
            } else if result["error"]["kind"] != expect.kind.as_str() {
                Some(format!(
                    "kind {} != expected {}",
                    result["error"]["kind"], expect.kind
                ))
            } else if !location.ends_with(&format!("conformance/{name}:{}", expect.at)) {
                Some(format!("location {location} != expected {}", expect.at))
            } else {
                None
            }
        };
        if let Some(p) = problem {
            failures.push(format!("{name}: {p}"));
        }
        if let Some(secret) = &expect.secret
            && (stdout.contains(secret.as_str()) || stderr.contains(secret.as_str()))
        {
            failures.push(format!("{name}: the secret appears in the output"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} conformance plans failed:\n{}",
        failures.len(),
        plans.len(),
        failures.join("\n")
    );
}
