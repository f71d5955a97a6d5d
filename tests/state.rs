//! Pools shared by separate `drover run` processes through the state store
//! (`../shared/spec/state.md`), on SQLite: capacity and FIFO order across
//! processes, nothing left held, a SIGKILLed holder's lease expiring, a dry
//! run that never opens the store, bad store URLs.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::drover_in;

/// A project whose group `pool` has three targets, and plans that hold one
/// (or all) of them for a while, logging when, with the log under `flock`.
fn project(name: &str, settings: &str) -> PathBuf {
    common::temp_project(
        &format!("state-{name}"),
        Path::new("modules"),
        &[
            ("drover-project.yaml", settings),
            (
                "inventory.yaml",
                "config: { transport: local }\ngroups:\n  - name: pool\n    targets:\n      \
                 - { name: s1, uri: localhost }\n      - { name: s2, uri: localhost }\n      \
                 - { name: s3, uri: localhost }\n",
            ),
            (
                "plans/locked.plan",
                "plan locked(String $who, String $name = \"x\", Integer $limit = 1, Duration $for = 400ms) {\n    \
                 $log = \"echo \\\"$1 $(date +%s%N) $2\\\" | flock log.lock tee -a holds.log >/dev/null\";\n    \
                 run_command(\"sh -c '${log}' sh want ${who}\", \"localhost\");\n    \
                 with lock = $name, limit = $limit {\n        \
                 run_command(\"sh -c '${log}' sh got ${who}:${name}\", \"localhost\");\n        \
                 sleep($for);\n        \
                 run_command(\"sh -c '${log}' sh done ${who}:${name}\", \"localhost\");\n    \
                 }\n    return $who;\n}\n",
            ),
            (
                "plans/hold.plan",
                "plan hold(String $who, Integer $count = 1, Duration $for = 300ms) {\n    \
                 $log = \"echo \\\"$1 $(date +%s%N) $2\\\" | flock log.lock tee -a holds.log >/dev/null\";\n    \
                 run_command(\"sh -c '${log}' sh want ${who}\", \"localhost\");\n    \
                 $got = acquire(\"pool\", count => $count, timeout => 60s);\n    \
                 $names = $got.map |$t| { $t.name }.join(\",\");\n    \
                 run_command(\"sh -c '${log}' sh got ${who}:${names}\", \"localhost\");\n    \
                 sleep($for);\n    \
                 run_command(\"sh -c '${log}' sh done ${who}:${names}\", \"localhost\");\n    \
                 return $names;\n}\n",
            ),
        ],
    )
}

fn start(dir: &Path, args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_drover"))
        .current_dir(dir)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn finish(child: Child) -> (i32, String, String) {
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The log: (what, nanoseconds, who, targets).
fn log(dir: &Path) -> Vec<(String, u128, String, Vec<String>)> {
    std::fs::read_to_string(dir.join("holds.log"))
        .unwrap_or_default()
        .lines()
        .map(|l| {
            let mut parts = l.split_whitespace();
            let what = parts.next().unwrap().to_string();
            let at: u128 = parts.next().unwrap().parse().unwrap();
            let rest = parts.next().unwrap_or_default();
            let (who, targets) = rest.split_once(':').unwrap_or((rest, ""));
            let targets = targets
                .split(',')
                .filter(|t| !t.is_empty())
                .map(String::from)
                .collect();
            (what, at, who.to_string(), targets)
        })
        .collect()
}

/// Holds and requests in the SQLite store, read with Python's sqlite3.
fn store_rows(dir: &Path) -> i64 {
    let out = Command::new("python3")
        .args([
            "-c",
            "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); print(c.execute('select (select count(*) from holds)+(select count(*) from requests)').fetchone()[0])",
        ])
        .arg(dir.join(".drover/state.db"))
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

#[test]
fn five_processes_share_three_servers_and_leave_nothing_held() {
    let dir = project("five", "");
    let runs: Vec<Child> = (1..=5)
        .map(|i| {
            start(
                &dir,
                &["run", "hold", &format!("who=r{i}"), "--format", "json"],
            )
        })
        .collect();
    for r in runs {
        let (code, out, err) = finish(r);
        assert_eq!(code, 0, "{out}\n{err}");
    }
    let events = log(&dir);
    // Replay the log: at no moment more than three held, and never one
    // target by two runs.
    let mut held: Vec<(String, String)> = Vec::new();
    let mut most = 0;
    for (what, _, who, targets) in &events {
        match what.as_str() {
            "got" => {
                for t in targets {
                    assert!(
                        !held.iter().any(|(_, h)| h == t),
                        "{t} held twice: {events:?}"
                    );
                    held.push((who.clone(), t.clone()));
                }
                most = most.max(held.len());
            }
            "done" => held.retain(|(w, _)| w != who),
            _ => {}
        }
    }
    assert_eq!(most, 3, "{events:?}");
    assert_eq!(events.iter().filter(|e| e.0 == "got").count(), 5);
    assert_eq!(store_rows(&dir), 0, "holds or requests left in the store");
}

#[test]
fn a_later_request_is_never_served_before_an_earlier_one_across_processes() {
    let dir = project("fifo", "");
    // A holds all three; B (asking for three) then C (asking for one) wait.
    let a = start(&dir, &["run", "hold", "who=a", "count=3", "for=2s"]);
    wait_for_log(&dir, "got", "a");
    let b = start(&dir, &["run", "hold", "who=b", "count=3", "for=300ms"]);
    wait_for_log(&dir, "want", "b");
    std::thread::sleep(Duration::from_millis(300));
    let c = start(&dir, &["run", "hold", "who=c", "count=1", "for=10ms"]);
    for r in [a, b, c] {
        let (code, out, err) = finish(r);
        assert_eq!(code, 0, "{out}\n{err}");
    }
    let order: Vec<String> = log(&dir)
        .into_iter()
        .filter(|e| e.0 == "got")
        .map(|e| e.2)
        .collect();
    assert_eq!(order, ["a", "b", "c"]);
}

/// Wait until the log has a `what` line of run `who`.
fn wait_for_log(dir: &Path, what: &str, who: &str) {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(30) {
        if log(dir).iter().any(|e| e.0 == what && e.2 == who) {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("`{what} {who}` never logged");
}

#[test]
fn a_killed_holders_servers_are_free_after_its_lease_and_not_before() {
    let dir = project("kill", "state-lease: 2s\n");
    let a = start(&dir, &["run", "hold", "who=a", "count=3", "for=1h"]);
    wait_for_log(&dir, "got", "a");
    let b = start(&dir, &["run", "hold", "who=b", "count=1", "for=10ms"]);
    wait_for_log(&dir, "want", "b");
    std::thread::sleep(Duration::from_millis(2500));
    // Alive, A keeps its lease: B still waits.
    assert!(!log(&dir).iter().any(|e| e.0 == "got" && e.2 == "b"));
    let killed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    kill(a.id());
    // Until its lease ends, the dead run's holds still show.
    assert_eq!(pools(&dir)["held"].as_array().unwrap().len(), 3);
    let (code, out, err) = finish(b);
    assert_eq!(code, 0, "{out}\n{err}");
    let got = log(&dir)
        .into_iter()
        .find(|e| e.0 == "got" && e.2 == "b")
        .unwrap()
        .1;
    let after = Duration::from_nanos((got - killed) as u64);
    // The lease was renewed at most a third of it before the kill.
    assert!(
        after >= Duration::from_millis(1200),
        "granted {after:?} after the kill"
    );
    assert!(
        after <= Duration::from_secs(8),
        "granted {after:?} after the kill"
    );
    let _ = finish(a);
}

fn kill(pid: u32) {
    let status = Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn a_dry_run_never_opens_the_store_and_bad_stores_stop_the_run() {
    let dir = project("dry", "");
    let (code, out, err) = drover_in(&dir, &["run", "hold", "who=d", "--dry-run"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(!dir.join(".drover/state.db").exists());
    for (url, says) in [
        ("mysql://x", "is not a store URL"),
        ("sqlite:", "needs a path"),
        (
            "postgres://deploy:hunter2@127.0.0.1:1/db",
            "postgres://deploy:***@127.0.0.1:1/db",
        ),
    ] {
        let (code, _, err) = drover_in(&dir, &["run", "hold", "who=x", "--state", url]);
        assert_eq!(code, 2, "{url}: {err}");
        assert!(
            err.contains(says) && !err.contains("hunter2"),
            "{url}: {err}"
        );
    }
    // A file that is not a drover store.
    std::fs::write(
        dir.join("other.db"),
        "not a database at all, not even close",
    )
    .unwrap();
    let (code, _, err) = drover_in(
        &dir,
        &["run", "hold", "who=x", "--state", "sqlite:other.db"],
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("other.db"), "{err}");
}

/// `drover pools --format json`.
fn pools(dir: &Path) -> serde_json::Value {
    let (code, out, err) = drover_in(dir, &["pools", "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    serde_json::from_str::<serde_json::Value>(&out).unwrap()["pools"][0].clone()
}

#[test]
fn pools_shows_holds_and_waiters_and_a_forced_release_costs_the_holder_its_lease() {
    let dir = project("force", "state-lease: 1500ms\n");
    let a = start(
        &dir,
        &[
            "run", "hold", "who=a", "count=3", "for=1h", "--format", "json",
        ],
    );
    wait_for_log(&dir, "got", "a");
    let b = start(&dir, &["run", "hold", "who=b", "count=1", "for=10ms"]);
    wait_for_log(&dir, "want", "b");
    std::thread::sleep(Duration::from_millis(300));
    let p = pools(&dir);
    assert_eq!(p["pool"], "pool");
    assert_eq!(p["size"], 3);
    let held = p["held"].as_array().unwrap();
    assert_eq!(held.len(), 3, "{p}");
    assert_eq!(held[0]["plan"], "hold");
    assert_eq!(held[0]["pid"], a.id());
    assert_eq!(p["waiting"][0]["count"], 1, "{p}");
    let (code, _, err) = drover_in(&dir, &["pools", "release", "pool", "s2"]);
    assert_eq!(code, 2, "--force is required: {err}");
    let (code, _, err) = drover_in(&dir, &["pools", "release", "pool", "s2", "--force"]);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = finish(b);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        log(&dir)
            .iter()
            .any(|e| e.0 == "got" && e.2 == "b" && e.3 == ["s2"])
    );
    // The holder learns at its next renewal, and stops.
    let (code, out, _) = finish(a);
    assert_eq!(code, 1, "{out}");
    let result: serde_json::Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
    assert_eq!(result["error"]["kind"], "drover/lease-lost", "{result}");
    assert!(
        result["error"]["message"]
            .as_str()
            .unwrap()
            .contains("`s2` was released by"),
        "{result}"
    );
    // Its events: `acquire`, then `release` because of the lost lease.
    assert!(common::invalid_events(&common::event_schema(), &out).is_empty());
    let events: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let of = |t: &str| events.iter().find(|e| e["type"] == t).cloned().unwrap();
    assert_eq!(
        of("acquire")["targets"],
        serde_json::json!(["s1", "s2", "s3"])
    );
    assert_eq!(of("acquire")["scope"], "global");
    assert_eq!(of("release")["reason"], "lease-lost");
    assert_eq!(store_rows(&dir), 0);
    // What was broken, by whom, is recorded.
    let out = Command::new("python3")
        .args(["-c", "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(\"select detail from journal where what='force-release'\").fetchone()[0])"])
        .arg(dir.join(".drover/state.db"))
        .output()
        .unwrap();
    let record: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(record["target"], "s2");
    assert!(record["by"].as_str().unwrap().contains('@'));
}

/// The most runs inside a lock at once, replayed from the log.
fn most_inside(dir: &Path) -> usize {
    let (mut inside, mut most) = (0usize, 0);
    for (what, ..) in log(dir) {
        match what.as_str() {
            "got" => {
                inside += 1;
                most = most.max(inside);
            }
            "done" => inside -= 1,
            _ => {}
        }
    }
    most
}

#[test]
fn with_lock_serialises_runs_and_limit_lets_that_many_in() {
    let dir = project("lock", "");
    let runs: Vec<Child> = ["a", "b"]
        .iter()
        .map(|w| start(&dir, &["run", "locked", &format!("who={w}")]))
        .collect();
    for r in runs {
        let (code, out, err) = finish(r);
        assert_eq!(code, 0, "{out}\n{err}");
    }
    assert_eq!(most_inside(&dir), 1);
    std::fs::remove_file(dir.join("holds.log")).unwrap();
    let runs: Vec<Child> = ["c", "d", "e"]
        .iter()
        .map(|w| {
            start(
                &dir,
                &[
                    "run",
                    "locked",
                    &format!("who={w}"),
                    "name=y",
                    "limit=2",
                    "for=1s",
                ],
            )
        })
        .collect();
    // While they run, `drover locks` shows the holders of `y`.
    wait_for_log(&dir, "got", "c");
    let (code, out, err) = drover_in(&dir, &["locks", "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let locks: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(locks["locks"][0]["pool"], "y", "{locks}");
    assert_eq!(locks["locks"][0]["size"], 2, "{locks}");
    for r in runs {
        let (code, out, err) = finish(r);
        assert_eq!(code, 0, "{out}\n{err}");
    }
    assert_eq!(most_inside(&dir), 2);
    assert_eq!(store_rows(&dir), 0);
    // Holders of one name that disagree on `limit`: drover/lock-conflict.
    let a = start(
        &dir,
        &["run", "locked", "who=f", "name=z", "limit=2", "for=3s"],
    );
    wait_for_log(&dir, "got", "f");
    let (code, out, _) = drover_in(
        &dir,
        &[
            "run", "locked", "who=g", "name=z", "limit=3", "--format", "json",
        ],
    );
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("drover/lock-conflict"), "{out}");
    let _ = finish(a);
}

#[test]
fn acquire_and_release_are_events() {
    let dir = project("events", "");
    let plan = "plan ev() {\n    $a = acquire(\"pool\");\n    $b = acquire(\"pool\", count => 2, scope => \"role\");\n    release($a);\n}\n";
    std::fs::write(dir.join("plans/ev.plan"), plan).unwrap();
    let (code, out, err) = drover_in(&dir, &["run", "ev", "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    assert!(common::invalid_events(&common::event_schema(), &out).is_empty());
    let pool_events: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|e| e["type"] == "acquire" || e["type"] == "release")
        .map(|mut e| {
            e.as_object_mut()
                .unwrap()
                .retain(|k, _| k != "at_ms" && k != "waited_ms");
            e
        })
        .collect();
    assert_eq!(
        pool_events,
        [
            serde_json::json!({"type": "acquire", "pool": "pool", "targets": ["s1"], "scope": "global"}),
            serde_json::json!({"type": "acquire", "pool": "pool", "targets": ["s2", "s3"], "scope": "role"}),
            serde_json::json!({"type": "release", "pool": "pool", "targets": ["s1"], "reason": "released"}),
            serde_json::json!({"type": "release", "pool": "pool", "targets": ["s2", "s3"], "reason": "run-end"}),
        ]
    );
}
