//! `drover check` as a user runs it: exit codes, every file reported, JSON.

mod common;

use assert_cmd::Command;
use serde_json::Value;

fn drover() -> Command {
    let mut cmd = Command::cargo_bin("drover").unwrap();
    cmd.current_dir(common::root()).env("NO_COLOR", "1");
    cmd
}

fn json_check(args: &[&str]) -> (i32, Value) {
    let out = drover()
        .arg("check")
        .args(args)
        .args(["--format", "json"])
        .output()
        .unwrap();
    let code = out.status.code().unwrap();
    (
        code,
        serde_json::from_slice(&out.stdout).expect("JSON on stdout"),
    )
}

#[test]
fn the_spec_examples_pass_check() {
    // The project's copies are the spec's examples, byte for byte, when the spec is beside us.
    let spec = common::root().join("../shared/spec/examples");
    if spec.is_dir() {
        for entry in std::fs::read_dir(&spec).unwrap() {
            let path = entry.unwrap().path();
            let ours = match path.extension().and_then(|e| e.to_str()) {
                Some("plan") => common::root()
                    .join("plans/examples")
                    .join(path.file_name().unwrap()),
                Some("yaml") => common::root().join(path.file_name().unwrap()),
                _ => continue,
            };
            assert_eq!(
                std::fs::read(&path).unwrap(),
                std::fs::read(&ours).unwrap(),
                "{} differs",
                ours.display()
            );
        }
    }
    let (code, out) = json_check(&["plans/examples"]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(out["files"], 5);
    assert_eq!(out["plans"], 5);
    assert_eq!(out["errors"], 0);
    assert_eq!(out["warnings"], 0);
}

#[test]
fn default_paths_are_the_project_plan_directories() {
    drover()
        .arg("check")
        .assert()
        .code(0)
        .stderr(predicates::str::contains("7 plan(s) in 7 file(s)"));
    let empty = std::env::temp_dir().join(format!("drover-empty-{}", std::process::id()));
    std::fs::create_dir_all(&empty).unwrap();
    drover()
        .arg("check")
        .arg("--project")
        .arg(&empty)
        .assert()
        .code(2)
        .stderr(predicates::str::contains("no plans found"));
}

#[test]
fn every_error_of_every_file_is_reported() {
    let (code, out) = json_check(&["tests/diagnostics"]);
    assert_eq!(code, 1);
    let diags = out["diagnostics"].as_array().unwrap();
    let files: std::collections::BTreeSet<&str> =
        diags.iter().map(|d| d["file"].as_str().unwrap()).collect();
    // Every fixture has at least one finding (each defines `plan t`, so all
    // but the first also repeat a plan name).
    assert_eq!(files.len(), common::plans_under("tests/diagnostics").len());
    for d in diags {
        for key in ["file", "line", "column", "severity", "code", "message"] {
            assert!(!d[key].is_null(), "{key} missing in {d}");
        }
    }
    // Several errors in one file are all reported.
    let dir = tempdir();
    std::fs::write(
        dir.join("many.plan"),
        "plan a(Strng $x, Integer $x) {\n  log::info($y);\n  break;\n}\n",
    )
    .unwrap();
    let (code, out) = json_check(&[dir.to_str().unwrap()]);
    assert_eq!(code, 1);
    let codes: Vec<&str> = out["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes,
        [
            "unknown-type",
            "duplicate-parameter",
            "undefined-variable",
            "break-outside-loop"
        ]
    );
}

fn tempdir() -> std::path::PathBuf {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "drover-test-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn duplicate_plans_across_files() {
    let dir = tempdir();
    std::fs::write(dir.join("a.plan"), "plan same() {\n}\n").unwrap();
    std::fs::write(
        dir.join("b.plan"),
        "plan other() {\n}\n\nplan same() {\n}\n",
    )
    .unwrap();
    let (code, out) = json_check(&[dir.to_str().unwrap()]);
    assert_eq!(code, 1);
    let d = &out["diagnostics"][0];
    assert_eq!(d["code"], "duplicate-plan");
    assert!(d["file"].as_str().unwrap().ends_with("b.plan"));
    assert_eq!(
        (d["line"].as_u64(), d["column"].as_u64()),
        (Some(4), Some(6))
    );
    assert!(
        d["related"][0]["file"]
            .as_str()
            .unwrap()
            .ends_with("a.plan")
    );
}

#[test]
fn warnings_alone_exit_zero() {
    let (code, out) = json_check(&["tests/diagnostics/unused_variable.plan"]);
    assert_eq!(code, 0);
    assert_eq!(out["warnings"], 1);
}

#[test]
fn human_output_names_file_line_and_column() {
    drover()
        .args(["check", "tests/diagnostics/missing_semicolon.plan"])
        .assert()
        .code(1)
        .stderr(predicates::str::contains("missing_semicolon.plan:4:11"))
        .stderr(predicates::str::contains("missing `;`"))
        .stderr(predicates::str::contains("1 error(s)"));
}

#[test]
fn usage_errors_exit_two() {
    drover()
        .args(["check", "no/such/dir"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("no such file"));
    drover().args(["check", "--format", "xml"]).assert().code(2);
    drover().args(["frobnicate"]).assert().code(2);
}

/// As in Bolt, a broken plan does not stop the good ones: `drover run`
/// checks the plan it runs and the plans that one calls; `drover check` still
/// fails on the project.
#[test]
fn a_broken_plan_does_not_stop_the_good_ones() {
    let dir = tempdir();
    std::fs::create_dir_all(dir.join("plans")).unwrap();
    let write =
        |name: &str, text: &str| std::fs::write(dir.join("plans").join(name), text).unwrap();
    write("good.plan", "plan good() {\n  return 1;\n}\n");
    write("broken.plan", "plan broken() {\n  $x = ;\n}\n");
    write("bad.plan", "plan bad() {\n  return $nowhere;\n}\n");
    write(
        "caller.plan",
        "plan caller() {\n  return run_plan(\"bad\");\n}\n",
    );
    let run = |args: &[&str]| {
        let out = drover().current_dir(&dir).args(args).output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, stderr) = run(&["run", "good"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("note: 2 error(s) in plans that `good` does not run"),
        "{stderr}"
    );
    // What a plan calls is checked with it.
    let (code, stderr) = run(&["run", "caller"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("undefined-variable") && stderr.contains("bad.plan:2:10"),
        "{stderr}"
    );
    assert!(!stderr.contains("broken.plan"), "{stderr}");
    let (code, stderr) = run(&["check"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("broken.plan") && stderr.contains("bad.plan"),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// `test` blocks (spec testing.md §1) are checked by `drover check`, with the
/// test functions known inside them only, and ignored by `drover run` and
/// `drover plan show`.
#[test]
fn test_blocks_are_checked_by_check_and_ignored_by_run() {
    let dir = tempdir();
    std::fs::create_dir_all(dir.join("plans")).unwrap();
    std::fs::write(
        dir.join("plans/good.plan"),
        "plan good() {\n  return 1;\n}\n\ntest \"broken\" {\n  nope();\n}\n\ntest \"fine\" {\n  assert(true);\n}\n",
    )
    .unwrap();
    let run = |args: &[&str]| common::drover_in(&dir, args);
    let (code, out, err) = run(&["run", "good", "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("\"value\":1"), "{out}");
    let (code, out, _) = run(&["plan", "show", "--format", "json"]);
    assert_eq!(code, 0);
    assert!(!out.contains("broken") && !out.contains("fine"), "{out}");
    let (code, _, err) = run(&["check"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("unknown function `nope`"), "{err}");
    assert!(err.contains("good.plan:6:3"), "{err}");
    assert!(err.contains("checked 1 plan(s) and 2 test(s)"), "{err}");
    let (code, out, _) = run(&["check", "--format", "json"]);
    assert_eq!(code, 1);
    let summary: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(summary["tests"], 2, "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `drover run` reads plan files as `drover check` does: a file that is not
/// UTF-8 is rejected (exit 2) with the same diagnostic.
#[test]
fn run_rejects_a_file_that_is_not_utf8_as_check_does() {
    let dir = tempdir();
    std::fs::create_dir_all(dir.join("plans")).unwrap();
    std::fs::write(
        dir.join("plans/bad.plan"),
        b"plan bad() {\n  log::info(\"caf\xe9\");\n}\n",
    )
    .unwrap();
    let stderr = |args: &[&str], code: i32| {
        let out = drover().current_dir(&dir).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(code), "{args:?}");
        let text = String::from_utf8_lossy(&out.stderr).into_owned();
        // The diagnostics, without each command's own last line.
        let (diagnostics, _) = text.trim_end().rsplit_once('\n').unwrap();
        diagnostics.to_string()
    };
    let checked = stderr(&["check", "plans/bad.plan"], 1);
    let ran = stderr(&["run", "plans/bad.plan"], 2);
    assert!(
        checked.contains("invalid-utf8") && checked.contains("plans/bad.plan:2:17"),
        "{checked}"
    );
    assert_eq!(ran, checked);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn files_that_are_not_utf8_are_reported() {
    let dir = tempdir();
    std::fs::write(
        dir.join("bad.plan"),
        b"plan a() {\n  log::info(\"\xff\");\n}\n",
    )
    .unwrap();
    let (code, out) = json_check(&[dir.to_str().unwrap()]);
    assert_eq!(code, 1);
    let d = &out["diagnostics"][0];
    assert_eq!(d["code"], "invalid-utf8");
    assert_eq!(
        (d["line"].as_u64(), d["column"].as_u64()),
        (Some(2), Some(14))
    );
}

#[test]
fn plan_show_lists_plans_and_describes_parameters() {
    let out = drover().args(["plan", "show"]).output().unwrap();
    let list = String::from_utf8(out.stdout).unwrap();
    for name in [
        "examples::rolling_reboot",
        "demo::hello",
        "reboot",
        "reboot::rolling",
    ] {
        assert!(
            list.lines()
                .any(|l| l.split_whitespace().next() == Some(name)),
            "{name}:\n{list}"
        );
    }
    let out = drover()
        .args([
            "plan",
            "show",
            "examples::rolling_reboot",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        plan["parameters"][4],
        serde_json::json!({"name": "timeout", "type": "Duration", "default": "5m", "required": false})
    );
    let out = drover()
        .args(["plan", "show", "reboot::rollin"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("did you mean `reboot::rolling`?"));
}

#[test]
fn completions_are_generated_for_each_shell() {
    for (shell, marker) in [
        ("bash", "_drover()"),
        ("zsh", "#compdef drover"),
        ("fish", "complete -c drover"),
    ] {
        let out = drover().args(["completions", shell]).output().unwrap();
        let script = String::from_utf8(out.stdout).unwrap();
        assert!(script.contains(marker), "{shell}");
        assert!(
            script.contains("rerun"),
            "{shell}: the options are completed"
        );
    }
}
