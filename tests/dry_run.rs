//! `drover run --dry-run`: every example of the spec runs on virtual time
//! against its inventory, with a predicted duration, and nothing is touched.

mod common;

use assert_cmd::Command;
use serde_json::Value;

fn dry_run(dir: &std::path::Path, args: &[&str]) -> (i32, Value, String) {
    let out = Command::cargo_bin("drover")
        .unwrap()
        .current_dir(dir)
        .arg("run")
        .args(args)
        .args(["--dry-run", "--format", "json"])
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let last = serde_json::from_str(stdout.lines().last().expect("a plan_result")).unwrap();
    (out.status.code().unwrap(), last, stdout)
}

#[test]
fn every_spec_example_dry_runs_against_its_inventory() {
    let root = common::root();
    for (plan, params) in [
        ("examples::bootstrap_fleet", vec!["api_key=not-a-secret"]),
        ("examples::build_pool", vec![]),
        ("examples::run_everywhere", vec!["targets=web"]),
        ("examples::storage_migration", vec![]),
        ("examples::rolling_reboot", vec![]),
    ] {
        let mut args = vec![plan];
        args.extend(params);
        let (code, result, _) = dry_run(&root, &args);
        assert_eq!(
            (code, &result["status"]),
            (0, &Value::from("success")),
            "{plan}: {result}"
        );
    }
}

#[test]
fn rolling_reboot_prediction_matches_a_hand_computation() {
    let (_, result, events) = dry_run(&common::root(), &["examples::rolling_reboot"]);
    // inventory.yaml: every action takes 300 ms; a reboot keeps the target down 45 s.
    // Per server (batch 1): haproxy::disable, read boot id, reboot task: 3 x 0.3 s.
    // wait_up polls every 2 s (the default): refused at +0 s ... +44 s, up at +46 s,
    // and its no-op command takes 0.3 s: 46.3 s. Then boot id, service, enable: 0.9 s.
    let per_server = 900 + 46_300 + 900;
    assert_eq!(result["duration_ms"], 6 * per_server);
    assert_eq!(
        result["value"],
        serde_json::json!(["web1", "web2", "web3", "web4", "web5", "web6"])
    );
    // The timeline: the second server's first step starts when the first is done.
    let starts: Vec<u64> = events
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|e| {
            e["type"] == "step_start"
                && e["action"] == "run_task"
                && e["targets"] == serde_json::json!(["lb01"])
        })
        .map(|e| e["at_ms"].as_u64().unwrap())
        .collect();
    assert_eq!(&starts[..3], [0, per_server - 300, per_server]);
}

#[test]
fn a_dry_run_connects_to_nothing_and_starts_nothing() {
    let dir = std::env::temp_dir().join(format!("drover-dry-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // An SSH target that points at a listener we watch, and the local machine.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    std::fs::write(
        dir.join("inventory.yaml"),
        format!("groups:\n  - name: fleet\n    targets: [\"ssh://nobody@127.0.0.1:{port}\", localhost]\n"),
    )
    .unwrap();
    let trace = dir.join("trace");
    std::fs::write(
        dir.join("touch.plan"),
        format!(
            "plan touch() {{\n    run_command(\"touch {}\", \"fleet\");\n    wait_up(\"fleet\");\n    return run_task(\"service\", \"fleet\", action => \"restart\", name => \"nginx\").count;\n}}\n",
            trace.display()
        ),
    )
    .unwrap();
    let (code, result, _) = dry_run(&dir, &["touch.plan"]);
    assert_eq!((code, &result["value"]), (0, &Value::from(2)), "{result}");
    assert!(!trace.exists(), "a command ran");
    assert!(
        listener.accept().is_err(),
        "something connected to the SSH target"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_timeline_shows_how_many_target_operations_run_at_once() {
    let (code, result, events) = dry_run(&common::root(), &["examples::storage_migration"]);
    assert_eq!(code, 0, "{result}");
    // Both clusters list their VMs at once; then cluster-a (4 hosts) moves 2
    // VMs at a time and cluster-b (2 hosts) 1: at most 3 operations at once.
    let (mut running, mut peak, mut at_peak) = (0, 0, Vec::new());
    for e in events
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
    {
        match e["type"].as_str() {
            Some("target_start") => {
                running += 1;
                if running > peak {
                    (peak, at_peak) = (running, vec![e["at_ms"].as_u64().unwrap()]);
                }
            }
            Some("target_result") => running -= 1,
            _ => {}
        }
    }
    assert_eq!((peak, at_peak, running), (3, vec![300], 0));
    // The human timeline says the same, step by step and in the summary.
    let out = Command::cargo_bin("drover")
        .unwrap()
        .current_dir(common::root())
        .args(["run", "examples::storage_migration", "--dry-run"])
        .output()
        .unwrap();
    let timeline = String::from_utf8(out.stderr).unwrap();
    assert!(
        timeline.contains("[ 0:00.300] run_task vm::move_storage on esx-b1 · 3 running ·"),
        "{timeline}"
    );
    assert!(
        timeline.contains("predicted duration 900ms: 7 step(s), 7 target result(s), 0 failed, at most 3 target operation(s) at once"),
        "{timeline}"
    );
}
