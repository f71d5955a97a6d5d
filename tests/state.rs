//! Pools shared by separate `drover run` processes through the state store
//! (`../shared/spec/state.md`), each scenario on SQLite and on a throwaway
//! PostgreSQL cluster (`sqlite::NAME`, `postgres::NAME`): capacity and FIFO
//! order across processes, nothing left held, a SIGKILLed holder's lease
//! expiring, forced releases, `with lock` across runs, events, a dry run
//! that never touches the store, bad stores; on PostgreSQL also two
//! controllers (project directories) on one database and outages.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::postgres::Postgres;

/// A project and the store its runs share.
struct Bed {
    dir: PathBuf,
    /// `None`: the default, `.drover/state.db` in the project.
    pg: Option<std::sync::Arc<Postgres>>,
}

impl Bed {
    fn new(name: &str, settings: &str, postgres: bool) -> Bed {
        let kind = if postgres { "pg" } else { "sqlite" };
        let pg = postgres.then(|| std::sync::Arc::new(Postgres::start(&format!("{kind}-{name}"))));
        Bed {
            dir: project(&format!("{kind}-{name}"), settings),
            pg,
        }
    }

    /// Another project directory (another controller) on the same store.
    fn beside(&self, name: &str, settings: &str) -> Bed {
        Bed {
            dir: project(name, settings),
            pg: self.pg.clone(),
        }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_drover"));
        c.current_dir(&self.dir).args(args).stdin(Stdio::null());
        if let Some(pg) = &self.pg {
            c.env("DROVER_STATE", pg.url());
        }
        c
    }

    fn start(&self, args: &[&str]) -> Child {
        self.command(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    fn drover(&self, args: &[&str]) -> (i32, String, String) {
        finish(self.start(args))
    }

    /// One number or text from the store, with SQL for its tables (SQLite
    /// `holds` is PostgreSQL `drover_holds`).
    fn query(&self, sql: &str) -> String {
        match &self.pg {
            Some(pg) => {
                let sql = regex::Regex::new(r"\b(holds|requests|journal|runs)\b")
                    .unwrap()
                    .replace_all(sql, "drover_$1");
                pg.query("drover", &sql)
            }
            None => {
                let out = Command::new("python3")
                    .args([
                        "-c",
                        "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone()[0])",
                    ])
                    .arg(self.dir.join(".drover/state.db"))
                    .arg(sql)
                    .output()
                    .unwrap();
                String::from_utf8_lossy(&out.stdout).trim().to_string()
            }
        }
    }

    /// Holds and requests left in the store.
    fn rows(&self) -> i64 {
        self.query("select (select count(*) from holds)+(select count(*) from requests)")
            .parse()
            .unwrap()
    }

    /// `drover pools --format json`, its first pool.
    fn pools(&self) -> serde_json::Value {
        let (code, out, err) = self.drover(&["pools", "--format", "json"]);
        assert_eq!(code, 0, "{err}");
        serde_json::from_str::<serde_json::Value>(&out).unwrap()["pools"][0].clone()
    }

    /// Wait until the log has a `what` line of run `who`.
    fn wait_for_log(&self, what: &str, who: &str) {
        wait_for_log(&self.dir, what, who);
    }
}

impl Drop for Bed {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Each scenario as `sqlite::NAME` and `postgres::NAME`.
macro_rules! on_both_stores {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[test]
            fn $name() {
                super::$name(false)
            })*
        }
        mod postgres {
            $(#[test]
            fn $name() {
                super::$name(true)
            })*
        }
    };
}

on_both_stores!(
    five_processes_share_three_servers_and_leave_nothing_held,
    a_later_request_is_never_served_before_an_earlier_one_across_processes,
    a_killed_holders_servers_are_free_after_its_lease_and_not_before,
    a_dry_run_never_touches_the_store,
    pools_shows_holds_and_waiters_and_a_forced_release_costs_the_holder_its_lease,
    with_lock_serialises_runs_and_limit_lets_that_many_in,
    acquire_and_release_are_events,
);

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

fn finish(child: Child) -> (i32, String, String) {
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// One line of a log: (what, nanoseconds, who, targets).
type Entry = (String, u128, String, Vec<String>);

/// The logs of `dirs`, merged in time order.
fn logs(dirs: &[&Path]) -> Vec<Entry> {
    let mut all: Vec<Entry> = dirs.iter().flat_map(|d| log(d)).collect();
    all.sort_by_key(|e| e.1);
    all
}

fn log(dir: &Path) -> Vec<Entry> {
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

fn now_ns() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

fn kill(pid: u32) {
    let status = Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Replay a log of `hold` runs: no target held twice, and the most held at
/// once.
fn most_held(events: &[Entry]) -> usize {
    let mut held: Vec<(String, String)> = Vec::new();
    let mut most = 0;
    for (what, _, who, targets) in events {
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
    most
}

/// The most runs inside a lock at once, replayed from a log.
fn most_inside(events: &[Entry]) -> usize {
    let (mut inside, mut most) = (0usize, 0);
    for (what, ..) in events {
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

fn five_processes_share_three_servers_and_leave_nothing_held(postgres: bool) {
    let bed = Bed::new("five", "", postgres);
    let runs: Vec<Child> = (1..=5)
        .map(|i| bed.start(&["run", "hold", &format!("who=r{i}"), "--format", "json"]))
        .collect();
    for r in runs {
        let (code, out, err) = finish(r);
        assert_eq!(code, 0, "{out}\n{err}");
    }
    let events = log(&bed.dir);
    assert_eq!(most_held(&events), 3, "{events:?}");
    assert_eq!(events.iter().filter(|e| e.0 == "got").count(), 5);
    assert_eq!(bed.rows(), 0, "holds or requests left in the store");
}

fn a_later_request_is_never_served_before_an_earlier_one_across_processes(postgres: bool) {
    let bed = Bed::new("fifo", "", postgres);
    // A holds all three; B (asking for three) then C (asking for one) wait.
    let a = bed.start(&["run", "hold", "who=a", "count=3", "for=2s"]);
    bed.wait_for_log("got", "a");
    let b = bed.start(&["run", "hold", "who=b", "count=3", "for=300ms"]);
    bed.wait_for_log("want", "b");
    std::thread::sleep(Duration::from_millis(300));
    let c = bed.start(&["run", "hold", "who=c", "count=1", "for=10ms"]);
    for r in [a, b, c] {
        let (code, out, err) = finish(r);
        assert_eq!(code, 0, "{out}\n{err}");
    }
    let order: Vec<String> = log(&bed.dir)
        .into_iter()
        .filter(|e| e.0 == "got")
        .map(|e| e.2)
        .collect();
    assert_eq!(order, ["a", "b", "c"]);
}

fn a_killed_holders_servers_are_free_after_its_lease_and_not_before(postgres: bool) {
    let bed = Bed::new("kill", "state-lease: 2s\n", postgres);
    let a = bed.start(&["run", "hold", "who=a", "count=3", "for=1h"]);
    bed.wait_for_log("got", "a");
    let b = bed.start(&["run", "hold", "who=b", "count=1", "for=10ms"]);
    bed.wait_for_log("want", "b");
    std::thread::sleep(Duration::from_millis(2500));
    // Alive, A keeps its lease: B still waits.
    assert!(!log(&bed.dir).iter().any(|e| e.0 == "got" && e.2 == "b"));
    let killed = now_ns();
    kill(a.id());
    // Until its lease ends, the dead run's holds still show.
    assert_eq!(bed.pools()["held"].as_array().unwrap().len(), 3);
    let (code, out, err) = finish(b);
    assert_eq!(code, 0, "{out}\n{err}");
    let got = log(&bed.dir)
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

fn a_dry_run_never_touches_the_store(postgres: bool) {
    let bed = Bed::new("dry", "", postgres);
    let (code, out, err) = bed.drover(&["run", "hold", "who=d", "--dry-run"]);
    assert_eq!(code, 0, "{out}\n{err}");
    match &bed.pg {
        Some(pg) => assert_eq!(
            pg.query(
                "drover",
                "select count(*) from information_schema.tables where table_schema = 'public'"
            ),
            "0"
        ),
        None => assert!(!bed.dir.join(".drover/state.db").exists()),
    }
    // A store in use: a dry run changes nothing in it either.
    let (code, _, err) = bed.drover(&["run", "hold", "who=real", "for=10ms"]);
    assert_eq!(code, 0, "{err}");
    let before = bed.query("select count(*) from journal");
    let a = bed.start(&["run", "hold", "who=a", "count=3", "for=1h"]);
    bed.wait_for_log("got", "a");
    let held = bed.pools();
    let (code, out, err) = bed.drover(&["run", "hold", "who=d", "count=3", "--dry-run"]);
    assert_eq!(
        code, 0,
        "a dry run does not wait for the real holds: {out}\n{err}"
    );
    assert_eq!(bed.pools(), held);
    assert_eq!(bed.query("select count(*) from requests"), "0");
    assert_eq!(bed.query("select count(*) from journal"), before);
    kill(a.id());
    let _ = finish(a);
}

#[test]
fn bad_store_urls_and_files_stop_the_run_before_it_starts() {
    let bed = Bed::new("bad", "", false);
    for (url, says) in [
        ("mysql://x", "is not a store URL"),
        ("sqlite:", "needs a path"),
        (
            "postgres://deploy:hunter2@127.0.0.1:1/db",
            "postgres://deploy:***@127.0.0.1:1/db",
        ),
    ] {
        let (code, _, err) = bed.drover(&["run", "hold", "who=x", "--state", url]);
        assert_eq!(code, 2, "{url}: {err}");
        assert!(
            err.contains(says) && !err.contains("hunter2"),
            "{url}: {err}"
        );
    }
    // A file that is not a drover store.
    std::fs::write(
        bed.dir.join("other.db"),
        "not a database at all, not even close",
    )
    .unwrap();
    let (code, _, err) = bed.drover(&["run", "hold", "who=x", "--state", "sqlite:other.db"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("other.db"), "{err}");
}

#[test]
fn postgres_wrong_passwords_and_foreign_databases_are_refused_without_the_password() {
    let bed = Bed::new("refused", "", true);
    let pg = bed.pg.as_ref().unwrap();
    let wrong = pg
        .url()
        .replace(common::postgres::PASSWORD, "not-the-password");
    pg.query("postgres", "CREATE DATABASE other");
    pg.query("other", "CREATE TABLE invoices (id integer)");
    let foreign = pg.url().replace("/drover", "/other");
    let missing = pg.url().replace("/drover", "/nowhere");
    for (url, says) in [
        (wrong.as_str(), "password authentication failed"),
        (foreign.as_str(), "is not a drover state store"),
        (missing.as_str(), "\"nowhere\" does not exist"),
    ] {
        for args in [&["run", "hold", "who=x"][..], &["pools"][..]] {
            let mut c = bed.command(args);
            c.env("DROVER_STATE", url);
            let out = c.output().unwrap();
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{url}: {err}");
            assert!(err.contains(says), "{url}: {err}");
            assert!(err.contains("postgres://postgres:***@127.0.0.1"), "{err}");
            assert!(
                !err.contains(common::postgres::PASSWORD) && !err.contains("not-the-password"),
                "{err}"
            );
        }
    }
    // The foreign database is left as it was.
    assert_eq!(
        pg.query(
            "other",
            "select string_agg(table_name, ',') from information_schema.tables where table_schema = 'public'"
        ),
        "invoices"
    );
}

fn pools_shows_holds_and_waiters_and_a_forced_release_costs_the_holder_its_lease(postgres: bool) {
    let bed = Bed::new("force", "state-lease: 1500ms\n", postgres);
    let a = bed.start(&[
        "run", "hold", "who=a", "count=3", "for=1h", "--format", "json",
    ]);
    bed.wait_for_log("got", "a");
    let b = bed.start(&["run", "hold", "who=b", "count=1", "for=10ms"]);
    bed.wait_for_log("want", "b");
    std::thread::sleep(Duration::from_millis(300));
    let p = bed.pools();
    assert_eq!(p["pool"], "pool");
    assert_eq!(p["size"], 3);
    let held = p["held"].as_array().unwrap();
    assert_eq!(held.len(), 3, "{p}");
    assert_eq!(held[0]["plan"], "hold");
    assert_eq!(held[0]["pid"], a.id());
    assert_eq!(p["waiting"][0]["count"], 1, "{p}");
    let (code, _, err) = bed.drover(&["pools", "release", "pool", "s2"]);
    assert_eq!(code, 2, "--force is required: {err}");
    let (code, _, err) = bed.drover(&["pools", "release", "pool", "s2", "--force"]);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = finish(b);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        log(&bed.dir)
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
    assert_eq!(bed.rows(), 0);
    // What was broken, by whom, is recorded.
    let record: serde_json::Value =
        serde_json::from_str(&bed.query("select detail from journal where what = 'force-release'"))
            .unwrap();
    assert_eq!(record["target"], "s2");
    assert!(record["by"].as_str().unwrap().contains('@'));
}

fn with_lock_serialises_runs_and_limit_lets_that_many_in(postgres: bool) {
    let bed = Bed::new("lock", "", postgres);
    let runs: Vec<Child> = ["a", "b"]
        .iter()
        .map(|w| bed.start(&["run", "locked", &format!("who={w}")]))
        .collect();
    for r in runs {
        let (code, out, err) = finish(r);
        assert_eq!(code, 0, "{out}\n{err}");
    }
    assert_eq!(most_inside(&log(&bed.dir)), 1);
    std::fs::remove_file(bed.dir.join("holds.log")).unwrap();
    let runs: Vec<Child> = ["c", "d", "e"]
        .iter()
        .map(|w| {
            bed.start(&[
                "run",
                "locked",
                &format!("who={w}"),
                "name=y",
                "limit=2",
                "for=1s",
            ])
        })
        .collect();
    // While they run, `drover locks` shows the holders of `y`.
    bed.wait_for_log("got", "c");
    let (code, out, err) = bed.drover(&["locks", "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let locks: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(locks["locks"][0]["pool"], "y", "{locks}");
    assert_eq!(locks["locks"][0]["size"], 2, "{locks}");
    for r in runs {
        let (code, out, err) = finish(r);
        assert_eq!(code, 0, "{out}\n{err}");
    }
    assert_eq!(most_inside(&log(&bed.dir)), 2);
    assert_eq!(bed.rows(), 0);
    // Holders of one name that disagree on `limit`: drover/lock-conflict.
    let a = bed.start(&["run", "locked", "who=f", "name=z", "limit=2", "for=3s"]);
    bed.wait_for_log("got", "f");
    let (code, out, _) = bed.drover(&[
        "run", "locked", "who=g", "name=z", "limit=3", "--format", "json",
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("drover/lock-conflict"), "{out}");
    let _ = finish(a);
}

fn acquire_and_release_are_events(postgres: bool) {
    let bed = Bed::new("events", "", postgres);
    let plan = "plan ev() {\n    $a = acquire(\"pool\");\n    $b = acquire(\"pool\", count => 2, scope => \"role\");\n    release($a);\n}\n";
    std::fs::write(bed.dir.join("plans/ev.plan"), plan).unwrap();
    let (code, out, err) = bed.drover(&["run", "ev", "--format", "json"]);
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

#[test]
fn two_controllers_on_one_postgres_database_share_holds_and_locks() {
    let one = Bed::new("two", "", true);
    let other = one.beside("pg-two-other", "");
    let dirs = [one.dir.as_path(), other.dir.as_path()];
    // The other controller sees this one's holds, and waits for them.
    let a = one.start(&["run", "hold", "who=a", "count=3", "for=1500ms"]);
    one.wait_for_log("got", "a");
    let p = other.pools();
    assert_eq!(p["held"].as_array().unwrap().len(), 3, "{p}");
    assert_eq!(p["held"][0]["pid"], a.id(), "{p}");
    let (code, out, err) = other.drover(&["run", "hold", "who=b", "count=1", "for=10ms"]);
    assert_eq!(code, 0, "{out}\n{err}");
    let (code, out, err) = finish(a);
    assert_eq!(code, 0, "{out}\n{err}");
    let events = logs(&dirs);
    assert_eq!(most_held(&events), 3, "{events:?}");
    let at = |what: &str, who: &str| events.iter().find(|e| e.0 == what && e.2 == who).unwrap().1;
    assert!(at("got", "b") > at("done", "a"), "{events:?}");
    // `with lock = "x"` serialises runs of both controllers.
    for d in dirs {
        std::fs::remove_file(d.join("holds.log")).unwrap();
    }
    let runs = [
        one.start(&["run", "locked", "who=c"]),
        other.start(&["run", "locked", "who=d"]),
        one.start(&["run", "locked", "who=e"]),
    ];
    for r in runs {
        let (code, out, err) = finish(r);
        assert_eq!(code, 0, "{out}\n{err}");
    }
    assert_eq!(most_inside(&logs(&dirs)), 1, "{:?}", logs(&dirs));
    // `limit = 2`: exactly two of three in at once.
    for d in dirs {
        std::fs::remove_file(d.join("holds.log")).unwrap();
    }
    let y = |bed: &Bed, who: &str| {
        bed.start(&[
            "run",
            "locked",
            &format!("who={who}"),
            "name=y",
            "limit=2",
            "for=1s",
        ])
    };
    let runs = [y(&one, "f"), y(&other, "g"), y(&other, "h")];
    for r in runs {
        let (code, out, err) = finish(r);
        assert_eq!(code, 0, "{out}\n{err}");
    }
    assert_eq!(most_inside(&logs(&dirs)), 2, "{:?}", logs(&dirs));
    assert_eq!(one.rows(), 0);
}

#[test]
fn postgres_outages_shorter_than_the_lease_are_survived_and_longer_ones_cost_it() {
    let bed = Bed::new("outage", "state-lease: 4s\n", true);
    let pg = bed.pg.as_ref().unwrap();
    // Down for about a second while the run holds a server and another
    // waits for it: both carry on.
    let a = bed.start(&["run", "hold", "who=a", "count=3", "for=4s"]);
    bed.wait_for_log("got", "a");
    let b = bed.start(&["run", "hold", "who=b", "count=1", "for=10ms"]);
    bed.wait_for_log("want", "b");
    std::thread::sleep(Duration::from_millis(500));
    pg.ctl("stop");
    std::thread::sleep(Duration::from_secs(1));
    pg.ctl("start");
    for r in [a, b] {
        let (code, out, err) = finish(r);
        assert_eq!(code, 0, "{out}\n{err}");
    }
    assert_eq!(bed.rows(), 0);
    // Down for good: the holder stops with drover/lease-lost within a lease.
    let a = bed.start(&["run", "hold", "who=c", "for=1h", "--format", "json"]);
    bed.wait_for_log("got", "c");
    let stopped = Instant::now();
    pg.ctl("stop");
    let (code, out, _) = finish(a);
    let took = stopped.elapsed();
    assert_eq!(code, 1, "{out}");
    let result = common::plan_result(&out);
    assert_eq!(result["error"]["kind"], "drover/lease-lost", "{result}");
    assert!(
        result["error"]["message"]
            .as_str()
            .unwrap()
            .contains("could not be reached"),
        "{result}"
    );
    assert!(!out.contains(common::postgres::PASSWORD));
    assert!(
        took <= Duration::from_secs(6),
        "stopped {took:?} after the outage"
    );
    pg.ctl("start");
}
