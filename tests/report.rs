//! The human output when stdout is not a terminal: snapshots of a passing
//! run, a run with two failing targets, a `fail()`, a type error (each
//! failure with its source snippet), and a run interrupted by Ctrl-C
//! (times and durations masked; one target at a time, so the order is fixed).

mod common;

use assert_cmd::Command;

fn project(name: &str) -> std::path::PathBuf {
    let dir = common::four_target_project(&format!("report-{name}"));
    std::fs::write(
        dir.join("plans/report.plan"),
        "plan report(TargetSpec $targets = \"four\", Boolean $fail = false, Sensitive[String] $token = \"t\") {\n\
         \x20   log::info(\"starting\");\n\
         \x20   $cmd = 'echo fine';\n\
         \x20   if $fail { $cmd = 'echo \"checking $FAIL\"; echo \"disk full\" >&2; test \"$FAIL\" = 0'; }\n\
         \x20   return run_command($cmd, $targets).names;\n}\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("plans/raise.plan"),
        "plan raise(String $how = \"fail\") {\n\
         \x20   $size = 3;\n\
         \x20   if $how == \"fail\" {\n\
         \x20       fail(\"disk full on the primary\", kind => \"site/disk-full\");\n\
         \x20   }\n\
         \x20   $half = $size / \"two\";\n\
         \x20   return $half;\n}\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("plans/slow.plan"),
        "plan slow(TargetSpec $targets = \"four\") {\n    run_command(\"echo started; sleep 30\", $targets);\n}\n",
    )
    .unwrap();
    dir
}

/// Times (`[ 0:00.013]`) and durations (`12ms`, `1s5ms`) vary from run to
/// run; so does the padding of the right-aligned time column, masked with them.
fn masked(text: &str) -> String {
    let clock = regex::Regex::new(r"\[\s*\d+:\d\d\.\d{3}\]").unwrap();
    let column = regex::Regex::new(r" +\b(\d+(ms|s|m|h))+\b").unwrap();
    let duration = regex::Regex::new(r"\b(\d+(ms|s|m|h))+\b").unwrap();
    let text = clock.replace_all(text, "[ T ]");
    let text = column.replace_all(&text, " D");
    duration.replace_all(&text, "D").into_owned()
}

fn run(dir: &std::path::Path, args: &[&str]) -> String {
    let out = Command::cargo_bin("drover")
        .unwrap()
        .current_dir(dir)
        .args(["run"])
        .args(args)
        .args(["--concurrency", "1"])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains('\u{1b}') && !stdout.contains('\u{1b}'),
        "escape codes"
    );
    masked(&format!(
        "exit {:?}\n--- stdout\n{stdout}--- stderr\n{stderr}",
        out.status.code()
    ))
}

#[test]
fn a_passing_run() {
    let dir = project("pass");
    insta::assert_snapshot!(run(&dir, &["report", "token=hunter2"]));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_run_with_two_failing_targets() {
    let dir = project("fail");
    insta::assert_snapshot!(run(&dir, &["report", "fail=true"]));
    let _ = std::fs::remove_dir_all(&dir);
}

/// A plan's own failure, like a check diagnostic: the snippet and a caret
/// at the `fail` call.
#[test]
fn a_plan_that_calls_fail() {
    let dir = project("raise");
    insta::assert_snapshot!(run(&dir, &["raise"]));
    let _ = std::fs::remove_dir_all(&dir);
}

/// A type error at run time, with the snippet at the operator.
#[test]
fn a_plan_with_a_type_error() {
    let dir = project("type-error");
    insta::assert_snapshot!(run(&dir, &["raise", "how=types"]));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_run_interrupted_by_ctrl_c() {
    let dir = project("interrupt");
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_drover"))
        .current_dir(&dir)
        .args(["run", "slow", "--concurrency", "1"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the first target runs, then Ctrl-C.
    let started = dir.join(".drover/runs");
    for _ in 0..100 {
        if std::fs::read_dir(&started)
            .into_iter()
            .flatten()
            .flatten()
            .any(|e| {
                std::fs::read_to_string(e.path().join("events.jsonl"))
                    .is_ok_and(|t| t.contains("target_start"))
            })
        {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    // SAFETY: kill(2) with a pid of our own child and a valid signal.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    let text = masked(&format!(
        "exit {:?}\n--- stdout\n{}--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    ));
    insta::assert_snapshot!(text);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The screen of tmux session `name`.
fn screen(name: &str) -> String {
    let out = std::process::Command::new("tmux")
        .args(["capture-pane", "-p", "-t", name])
        .output()
        .expect("tmux is installed (scripts/test.sh installs it)");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn progress_bars_on_a_terminal() {
    let dir = project("tty");
    std::fs::write(
        dir.join("inventory.yaml"),
        "config:\n  transport: local\ngroups:\n  - name: three\n    targets:\n\
         \x20     - { name: quick, uri: localhost, config: { local: { env-vars: { SLEEP: \"0.1\" } } } }\n\
         \x20     - { name: brisk, uri: localhost, config: { local: { env-vars: { SLEEP: \"0.3\" } } } }\n\
         \x20     - { name: laggard, uri: localhost, config: { local: { env-vars: { SLEEP: \"5\" } } } }\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("plans/tty.plan"),
        "plan tty() {\n    run_command('sleep $SLEEP; echo done', \"three\");\n}\n",
    )
    .unwrap();
    let name = format!("drover-tty-{}", std::process::id());
    let command = format!(
        "cd {} && {} run tty; echo EXITED; sleep 60",
        dir.display(),
        env!("CARGO_BIN_EXE_drover")
    );
    let started = std::process::Command::new("tmux")
        .args([
            "new-session",
            "-d",
            "-s",
            &name,
            "-x",
            "160",
            "-y",
            "30",
            &command,
        ])
        .status()
        .expect("tmux");
    assert!(started.success());
    // During the long step: the bar, 2 of 3 done, the slow target named.
    for _ in 0..60 {
        std::thread::sleep(std::time::Duration::from_millis(100));
        if screen(&name).contains("2/3") {
            break;
        }
    }
    std::thread::sleep(std::time::Duration::from_millis(1200));
    let during = screen(&name);
    let mut after = String::new();
    for _ in 0..150 {
        std::thread::sleep(std::time::Duration::from_millis(100));
        after = screen(&name);
        if after.contains("EXITED") {
            break;
        }
    }
    let _ = std::process::Command::new("tmux")
        .args(["kill-session", "-t", &name])
        .status();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        during.contains("run_command sleep $SLEEP; echo done (./plans/tty.plan:2:5) [="),
        "{during}"
    );
    assert!(during.contains("2/3"), "{during}");
    assert!(during.contains("1 running · slowest: laggard"), "{during}");
    assert!(after.contains("3/3"), "{after}");
    assert!(
        after
            .lines()
            .any(|l| l.starts_with("laggard") && l.contains(" ok ")),
        "{after}"
    );
    assert!(after.contains("plan tty succeeded"), "{after}");
}
