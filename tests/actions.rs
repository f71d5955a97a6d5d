//! Actions on the local transport as a user runs them: timeouts stop the
//! whole process tree and keep the other targets' results.

mod common;

use assert_cmd::Command;

#[test]
fn timeout_kills_the_command_and_its_children_and_keeps_other_results() {
    // The slow target's DELAY is 3599: `sleep 3599` runs twice, once in the background.
    assert!(
        !common::running("sleep 3599"),
        "a previous run left `sleep 3599` behind"
    );
    let out = Command::cargo_bin("drover")
        .unwrap()
        .current_dir(common::root().join("tests/local"))
        .args(["run", "timeout.plan", "marker=m1", "--format", "json"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(last["status"], "success", "{stdout}");
    assert_eq!(
        last["value"]["failed"],
        serde_json::json!(["slow drover/timeout"])
    );
    assert_eq!(last["value"]["ok"], serde_json::json!(["fast done-m1"]));
    assert!(
        !common::lingering("sleep 3599"),
        "the timed-out command or its child is still running"
    );
}

#[test]
fn command_run_is_ad_hoc_run_command() {
    let out = Command::cargo_bin("drover")
        .unwrap()
        .current_dir(common::root().join("tests/local"))
        .args([
            "command",
            "run",
            "echo $DELAY",
            "-t",
            "pair",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(last["value"][0]["value"]["stdout"], "0\n");
    assert_eq!(last["value"][1]["value"]["stdout"], "3599\n");

    let out = Command::cargo_bin("drover")
        .unwrap()
        .current_dir(common::root().join("tests/local"))
        .args(["command", "run", "exit 2", "-t", "fast"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("the command exited with 2"));
}

#[test]
fn concurrency_bounds_target_operations_across_nested_loops() {
    let dir = std::env::temp_dir().join(format!("drover-track-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let out = Command::cargo_bin("drover")
        .unwrap()
        .current_dir(common::root().join("tests/local"))
        .args([
            "run",
            "nested.plan",
            &format!("dir={}", dir.display()),
            "--concurrency",
            "2",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    // No deadlock: nine operations under a limit of two, in loops nested two deep.
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let runs = std::fs::read_to_string(dir.join("runs")).unwrap();
    assert_eq!(runs.lines().count(), 9);
    let peak: u32 = std::fs::read_to_string(dir.join("max"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&peak), "{peak} operations ran at once");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn with_timeout_stops_the_command_underneath() {
    assert!(!common::running("sleep 3597"));
    let out = Command::cargo_bin("drover")
        .unwrap()
        .current_dir(common::root().join("tests/local"))
        .args(["run", "with_timeout.plan", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(last["error"]["kind"], "drover/timeout");
    assert!(
        !common::lingering("sleep 3597"),
        "the command outlived its block"
    );
}

#[test]
fn ctrl_c_stops_the_run_kills_its_processes_and_releases_pools() {
    assert!(!common::running("sleep 3596"));
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_drover"))
        .current_dir(common::root().join("tests/local"))
        .args(["run", "interrupt.plan"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait (bounded) until the long step runs on both targets.
    let mut running = false;
    for _ in 0..200 {
        let count = std::fs::read_dir("/proc")
            .unwrap()
            .flatten()
            .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
            .filter(|c| c.as_slice() == b"sleep\x003596\x00")
            .count();
        if count >= 4 {
            running = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    if !running {
        let _ = child.kill();
        panic!("the long step never started");
    }
    // SAFETY: sends SIGINT to our own child.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains("interrupted: 2 step(s) started, 1 target result(s) finished ok, 0 failed"),
        "{stderr}"
    );
    assert!(stderr.contains("1 pool target(s) released"), "{stderr}");
    assert!(
        !common::lingering("sleep 3596"),
        "an interrupted command is still running"
    );
}

#[test]
fn stream_prints_every_line_whole_and_prefixed() {
    let dir = std::env::temp_dir().join(format!("drover-stream-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut inventory =
        String::from("config:\n  transport: local\ngroups:\n  - name: many\n    targets:\n");
    for i in 0..20 {
        inventory.push_str(&format!(
            "      - {{ name: t{i}, uri: localhost, config: {{ local: {{ env-vars: {{ T: t{i} }} }} }} }}\n"
        ));
    }
    std::fs::write(dir.join("inventory.yaml"), inventory).unwrap();
    // 1,000 lines of 100 bytes per target, all targets at once, and stderr.
    let cmd = "i=0; while [ $i -lt 1000 ]; do printf '%s line %04d %s\\n' \"$T\" $i \
               xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx; \
               i=$((i+1)); done; echo \"$T done\" >&2";
    for format in ["human", "json"] {
        let out = Command::cargo_bin("drover")
            .unwrap()
            .current_dir(&dir)
            .args([
                "command", "run", cmd, "-t", "many", "--stream", "--format", format,
            ])
            .output()
            .unwrap();
        assert!(out.status.success());
        let stdout = String::from_utf8(out.stdout).unwrap();
        if format == "json" {
            let problems = common::invalid_events(&common::event_schema(), &stdout);
            assert!(
                problems.is_empty(),
                "{:?}",
                &problems[..problems.len().min(3)]
            );
        }
        let mut seen = std::collections::HashMap::<String, (u32, bool)>::new();
        for line in stdout.lines() {
            let (target, stream, text) = if format == "json" {
                let e: serde_json::Value = serde_json::from_str(line)
                    .unwrap_or_else(|e| panic!("a mixed or broken line ({e}): {line}"));
                if e["type"] != "output" {
                    continue;
                }
                (
                    e["target"].as_str().unwrap().to_string(),
                    e["stream"].as_str().unwrap().to_string(),
                    e["line"].as_str().unwrap().to_string(),
                )
            } else {
                let Some((prefix, text)) =
                    line.split_once(" | ").or_else(|| line.split_once(" ! "))
                else {
                    continue;
                };
                if !prefix.trim_start().starts_with('t') || prefix.len() != 3 {
                    continue;
                }
                let stream = if line.contains(" ! ") {
                    "stderr"
                } else {
                    "stdout"
                };
                (
                    prefix.trim_start().to_string(),
                    stream.to_string(),
                    text.to_string(),
                )
            };
            let entry = seen.entry(target.clone()).or_default();
            if stream == "stderr" {
                assert_eq!(text, format!("{target} done"));
                entry.1 = true;
                continue;
            }
            // Whole, in order, and from the target it is attributed to.
            assert_eq!(
                text,
                format!("{target} line {:04} {}", entry.0, "x".repeat(81)),
                "{format}: a line mixed with another"
            );
            entry.0 += 1;
        }
        assert_eq!(seen.len(), 20, "{format}");
        assert!(
            seen.values().all(|v| *v == (1000, true)),
            "{format}: {seen:?}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
