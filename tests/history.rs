//! Run history: `.drover/runs/<id>/`, `drover runs list|show`, `--rerun`.

mod common;

use assert_cmd::Command;
use serde_json::{Value, json};

/// A project of its own (history is per project), with four local targets
/// of which `b` and `d` fail.
fn project(name: &str, settings: &str) -> std::path::PathBuf {
    let dir = common::four_target_project(&format!("history-{name}"));
    std::fs::write(
        dir.join("plans/flaky.plan"),
        "plan flaky(TargetSpec $targets = \"four\") {\n    return run_command('echo \"out of $FAIL\"; test \"$FAIL\" = 0', $targets).names;\n}\n",
    )
    .unwrap();
    if !settings.is_empty() {
        std::fs::write(dir.join("drover-project.yaml"), settings).unwrap();
    }
    dir
}

fn drover(dir: &std::path::Path, args: &[&str]) -> (i32, String) {
    let out = Command::cargo_bin("drover")
        .unwrap()
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// The targets that started an action in a run's JSON events.
fn started(events: &str) -> Vec<String> {
    events
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|e| e["type"] == "target_start")
        .map(|e| e["target"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn rerun_failure_runs_exactly_the_targets_that_failed() {
    let dir = project("rerun", "");
    let (code, out) = drover(&dir, &["run", "flaky", "--format", "json"]);
    assert_eq!(code, 1);
    assert_eq!(started(&out), ["a", "b", "c", "d"]);
    let (_, out) = drover(&dir, &["runs", "list", "--format", "json"]);
    let runs: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(runs["runs"].as_array().unwrap().len(), 1);
    let run = &runs["runs"][0];
    assert_eq!(
        (&run["plan"], &run["status"]),
        (&json!("flaky"), &json!("failure"))
    );
    let failed: Vec<&Value> = run["targets"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["ok"] == false)
        .collect();
    assert_eq!(failed.len(), 2);
    assert_eq!(failed[0]["error"]["location"], "./plans/flaky.plan:2:12");
    // The rerun: only b and d, given as the plan's `targets`.
    let (code, out) = drover(
        &dir,
        &["run", "flaky", "--rerun", "failure", "--format", "json"],
    );
    assert_eq!(code, 1);
    assert_eq!(started(&out), ["b", "d"]);
    // Each target's output is kept.
    let (_, out) = drover(&dir, &["runs", "show", "--format", "json"]);
    let last: Value = serde_json::from_str(&out).unwrap();
    let logs = dir
        .join(".drover/runs")
        .join(last["id"].as_str().unwrap())
        .join("targets");
    let first_id = runs["runs"][0]["id"].as_str().unwrap();
    let first_b = std::fs::read_to_string(
        dir.join(".drover/runs")
            .join(first_id)
            .join("targets/b.log"),
    )
    .unwrap();
    assert!(first_b.contains("out of 1"), "{first_b}");
    let mut names: Vec<String> = std::fs::read_dir(&logs)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["b.log", "d.log"], "the rerun's targets");
    // The recorded events (of a human-format run too) follow docs/events.md.
    let schema = common::event_schema();
    for entry in std::fs::read_dir(dir.join(".drover/runs")).unwrap() {
        let events = std::fs::read_to_string(entry.unwrap().path().join("events.jsonl")).unwrap();
        assert!(events.starts_with("{\"type\":\"plan_start\""), "{events}");
        assert_eq!(
            common::invalid_events(&schema, &events),
            Vec::<String>::new()
        );
    }
    // The rerun had no successes: nothing to run again.
    let (code, out) = drover(
        &dir,
        &["run", "flaky", "--rerun", "success", "--format", "json"],
    );
    assert_eq!((code, started(&out)), (2, Vec::<String>::new()));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn old_runs_are_pruned_and_dry_runs_are_not_recorded() {
    let dir = project("prune", "runs-kept: 2\n");
    for _ in 0..3 {
        drover(&dir, &["run", "flaky"]);
    }
    drover(&dir, &["run", "flaky", "--dry-run"]);
    let (_, out) = drover(&dir, &["runs", "list", "--format", "json"]);
    let runs: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(runs["runs"].as_array().unwrap().len(), 2);
    assert_eq!(
        std::fs::read_dir(dir.join(".drover/runs")).unwrap().count(),
        2
    );
    let (code, _) = drover(&dir, &["runs", "show", "nope"]);
    assert_eq!(code, 2);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_schema_check_catches_what_is_not_documented() {
    let schema = common::event_schema();
    let bad = [
        r#"{"type":"log","level":"loud","message":"m","location":"x","at_ms":0}"#,
        r#"{"type":"message","message":"m","location":"x"}"#,
        r#"{"type":"target_start","action":"a","target":"t","at_ms":0,"extra":1}"#,
        r#"{"type":"plan_result","plan":"p","status":"failure","value":null,"error":{"kind":"k"},"duration_ms":1}"#,
        r#"{"type":"teleport"}"#,
    ];
    for line in bad {
        assert!(!common::invalid_events(&schema, line).is_empty(), "{line}");
    }
    let good = r#"{"type":"plan_result","plan":"p","status":"failure","value":null,"error":{"kind":"k","message":"m","details":{},"location":"f:1:2"},"duration_ms":1}"#;
    assert_eq!(common::invalid_events(&schema, good), Vec::<String>::new());
}

#[test]
fn a_sensitive_plan_parameter_is_redacted_in_events_and_history() {
    let root = common::root();
    let (code, out) = drover(
        &root,
        &[
            "run",
            "examples::bootstrap_fleet",
            "api_key=TOPSECRET-4711",
            "targets=web",
            "--format",
            "json",
        ],
    );
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains("TOPSECRET-4711"), "{out}");
    let start: Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(start["parameters"]["api_key"], "[sensitive]");
    let run = root
        .join(".drover/runs")
        .join(start["run_id"].as_str().unwrap());
    let recorded = std::fs::read_to_string(run.join("events.jsonl")).unwrap();
    assert!(!recorded.contains("TOPSECRET-4711"));
    let _ = std::fs::remove_dir_all(run);
}

#[test]
fn a_sensitive_plan_parameter_is_in_no_html_report() {
    let root = common::root();
    let dir = std::env::temp_dir().join(format!("drover-history-html-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (report, shown) = (dir.join("report.html"), dir.join("shown.html"));
    for dry_run in [true, false] {
        let mut args = vec![
            "run",
            "examples::bootstrap_fleet",
            "api_key=TOPSECRET-4711",
            "targets=web",
            "--format",
            "json",
            "--report",
            report.to_str().unwrap(),
        ];
        if dry_run {
            args.push("--dry-run");
        }
        let (code, out) = drover(&root, &args);
        assert_eq!(code, 0, "{out}");
        let page = std::fs::read_to_string(&report).unwrap();
        assert!(page.contains("api_key=[sensitive]"), "{page}");
        assert!(!page.contains("TOPSECRET-4711"));
        if !dry_run {
            let start: Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
            let id = start["run_id"].as_str().unwrap();
            let (code, _) = drover(
                &root,
                &["runs", "show", id, "--html", shown.to_str().unwrap()],
            );
            assert_eq!(code, 0);
            let page = std::fs::read_to_string(&shown).unwrap();
            assert!(page.contains("api_key=[sensitive]"), "{page}");
            assert!(!page.contains("TOPSECRET-4711"));
            let _ = std::fs::remove_dir_all(root.join(".drover/runs").join(id));
        }
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_run_whose_process_was_killed_is_interrupted_not_unfinished() {
    let dir = project("killed", "");
    std::fs::write(
        dir.join("plans/slow.plan"),
        "plan slow() {\n    run_command('echo started', 'four');\n    run_command('sleep 30', 'four');\n}\n",
    )
    .unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_drover"))
        .current_dir(&dir)
        .args(["run", "slow", "--format", "json"])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait until the second step runs.
    let runs = dir.join(".drover/runs");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let events = loop {
        let events = std::fs::read_dir(&runs)
            .ok()
            .and_then(|mut d| d.next())
            .and_then(|e| std::fs::read_to_string(e.ok()?.path().join("events.jsonl")).ok())
            .unwrap_or_default();
        if events.contains("sleep 30") && events.matches("target_start").count() == 8 {
            break events;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the run did not start: {events}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert!(!events.contains("plan_result"));
    let status = |dir: &std::path::Path| {
        let (_, out) = drover(dir, &["runs", "list", "--format", "json"]);
        let runs: Value = serde_json::from_str(&out).unwrap();
        runs["runs"][0]["status"].as_str().unwrap().to_string()
    };
    assert_eq!(status(&dir), "unfinished", "a live run is unfinished");
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(status(&dir), "interrupted", "its process is gone");
    let (_, out) = drover(&dir, &["runs", "list"]);
    assert!(out.contains("interrupted"), "{out}");
    // Its report: interrupted, the four sleeps stopped mid-way.
    let page = dir.join("killed.html");
    let (code, _) = drover(
        &dir,
        &["runs", "show", "last", "--html", page.to_str().unwrap()],
    );
    assert_eq!(code, 0);
    let page = std::fs::read_to_string(page).unwrap();
    assert!(page.contains("data-outcome=\"interrupted\""), "{page}");
    assert_eq!(
        page.matches("data-outcome=\"stopped\"").count(),
        4,
        "{page}"
    );
    assert_eq!(page.matches("data-outcome=\"ok\"").count(), 4, "{page}");
}
