//! The rolling reboot end to end on real parts (`scripts/webbed.sh`; needs
//! root, as `.ci/run` is): HAProxy in front of four web backends, each with
//! its own sshd and HTTP server on loopback, and a load generator counting
//! failed requests through HAProxy while drover reboots the backends.

mod common;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

/// One bed at a time: the load generators and reboots of several beds on
/// two cores would measure the machine rather than the rollout.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// The web test bed, stopped on drop.
struct WebBed {
    dir: PathBuf,
    n: usize,
    frontend: SocketAddr,
}

impl WebBed {
    fn start(first: u8, n: usize) -> WebBed {
        let dir = std::env::temp_dir().join(format!("drover-web-{}-{first}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let bed = WebBed {
            frontend: format!("127.{first}.0.1:8080").parse().unwrap(),
            dir,
            n,
        };
        bed.script(&["start", &n.to_string(), &first.to_string()]);
        bed
    }

    /// `scripts/webbed.sh VERB DIR ARGS...`; its stdout.
    fn script(&self, args: &[&str]) -> String {
        let out = std::process::Command::new(common::root().join("scripts/webbed.sh"))
            .arg(args[0])
            .arg(&self.dir)
            .args(&args[1..])
            .output()
            .expect("bash");
        assert!(
            out.status.success(),
            "webbed.sh {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Every boot id backend `i` (from 1) had, in order.
    fn boots(&self, i: usize) -> Vec<String> {
        std::fs::read_to_string(self.dir.join(format!("web{i}/boots")))
            .unwrap()
            .lines()
            .map(String::from)
            .collect()
    }

    /// One command to HAProxy's runtime API; its answer.
    fn api(&self, command: &str) -> String {
        let mut s = std::os::unix::net::UnixStream::connect(self.dir.join("haproxy/admin.sock"))
            .expect("HAProxy's admin socket");
        s.write_all(format!("{command}\n").as_bytes()).unwrap();
        let mut answer = String::new();
        s.read_to_string(&mut answer).unwrap();
        answer
    }

    /// Each server of backend `app`: its status (`show stat`: UP, DOWN,
    /// MAINT, ...) and whether it is enabled (`show servers state`: no
    /// administrative flag set).
    fn servers(&self) -> BTreeMap<String, (String, bool)> {
        let stat = self.api("show stat");
        let state = self.api("show servers state app");
        let header: Vec<&str> = state
            .lines()
            .find(|l| l.starts_with("# be_id"))
            .expect("show servers state's header")
            .trim_start_matches("# ")
            .split(' ')
            .collect();
        let column = |name: &str| header.iter().position(|h| *h == name).unwrap();
        let (name_at, admin_at) = (column("srv_name"), column("srv_admin_state"));
        let admin: BTreeMap<String, bool> = state
            .lines()
            .filter(|l| !l.starts_with('#') && l.split(' ').count() > admin_at)
            .map(|l| {
                let f: Vec<&str> = l.split(' ').collect();
                (f[name_at].to_string(), f[admin_at] == "0")
            })
            .collect();
        stat.lines()
            .map(|l| l.split(',').collect::<Vec<_>>())
            .filter(|f| f.len() > 17 && f[0] == "app" && f[1] != "BACKEND" && f[1] != "FRONTEND")
            .map(|f| (f[1].to_string(), (f[17].to_string(), admin[f[1]])))
            .collect()
    }

    /// `drover ARGS -i INVENTORY` with this bed as the
    /// project: (exit code, stdout, stderr).
    fn drover(&self, args: &[&str]) -> (i32, String, String) {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_drover"))
            .current_dir(&self.dir)
            .args(args)
            .arg("-i")
            .arg(self.dir.join("inventory.yaml"))
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// `run reboot::rolling` over every backend, batch 1, then `extra`.
    fn rolling_args(&self, extra: &[&str]) -> Vec<String> {
        let socket = format!("socket={}", self.dir.join("haproxy/admin.sock").display());
        let mut args: Vec<String> = [
            "run",
            "reboot::rolling",
            "targets=web",
            "lb=lb",
            "backend=app",
            &socket,
            "health_url=http://{host}:8080/health",
        ]
        .map(String::from)
        .into();
        args.extend(extra.iter().map(|s| s.to_string()));
        args
    }

    /// Run that with human output: (the plan_result and every event, from
    /// the run's record in .drover/runs, and what people see on stderr).
    fn rolling(&self, extra: &[&str]) -> (Value, String, String) {
        let args = self.rolling_args(extra);
        let (_, _, err) = self.drover(&args.iter().map(String::as_str).collect::<Vec<_>>());
        let runs = self.dir.join(".drover/runs");
        let run = std::fs::read_dir(&runs)
            .unwrap_or_else(|e| panic!("{}: {e}: {err}", runs.display()))
            .flatten()
            .map(|e| e.path())
            .find(|p| p.is_dir())
            .expect("the run's record");
        let events = std::fs::read_to_string(run.join("events.jsonl")).unwrap();
        (common::plan_result(&events), events, err)
    }

    fn all_up_and_enabled(&self) -> BTreeMap<String, (String, bool)> {
        (1..=self.n)
            .map(|i| (format!("web{i}"), ("UP".to_string(), true)))
            .collect()
    }
}

impl Drop for WebBed {
    fn drop(&mut self) {
        let _ = std::process::Command::new(common::root().join("scripts/webbed.sh"))
            .arg("stop")
            .arg(&self.dir)
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// What the load generator saw.
#[derive(Debug, Default)]
struct Tally {
    ok: usize,
    failed: usize,
    /// The first failures, as the client saw them.
    errors: Vec<String>,
    /// Answers per backend (their bodies start with the backend's name).
    by_backend: BTreeMap<String, usize>,
}

/// A steady stream of HTTP requests through HAProxy, each on a new
/// connection, from a few client threads.
struct Load {
    stop: Arc<AtomicBool>,
    sent: Arc<AtomicUsize>,
    workers: Vec<std::thread::JoinHandle<Tally>>,
}

impl Load {
    fn start(to: SocketAddr) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let sent = Arc::new(AtomicUsize::new(0));
        let workers = (0..4)
            .map(|_| {
                let (stop, sent) = (stop.clone(), sent.clone());
                std::thread::spawn(move || {
                    let mut tally = Tally::default();
                    while !stop.load(Ordering::Relaxed) {
                        match request(to) {
                            Ok(body) => {
                                tally.ok += 1;
                                let backend = body.split(' ').next().unwrap_or("").to_string();
                                *tally.by_backend.entry(backend).or_default() += 1;
                            }
                            Err(e) => {
                                tally.failed += 1;
                                if tally.errors.len() < 5 {
                                    tally.errors.push(e);
                                }
                            }
                        }
                        sent.fetch_add(1, Ordering::Relaxed);
                        std::thread::sleep(Duration::from_millis(10));
                    }
                    tally
                })
            })
            .collect();
        Load {
            stop,
            sent,
            workers,
        }
    }

    /// Go on until at least `at_least` requests were sent, then stop.
    fn finish(self, at_least: usize) -> Tally {
        while self.sent.load(Ordering::Relaxed) < at_least {
            std::thread::sleep(Duration::from_millis(50));
        }
        self.stop.store(true, Ordering::Relaxed);
        let mut all = Tally::default();
        for w in self.workers {
            let t = w.join().unwrap();
            all.ok += t.ok;
            all.failed += t.failed;
            all.errors.extend(t.errors);
            for (b, n) in t.by_backend {
                *all.by_backend.entry(b).or_default() += n;
            }
        }
        all
    }
}

/// One `GET /`: the body of a 200 answer, or what went wrong.
fn request(to: SocketAddr) -> Result<String, String> {
    let mut s =
        TcpStream::connect_timeout(&to, Duration::from_secs(5)).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(b"GET / HTTP/1.1\r\nHost: www\r\nConnection: close\r\n\r\n")
        .map_err(|e| e.to_string())?;
    let mut answer = String::new();
    s.read_to_string(&mut answer).map_err(|e| e.to_string())?;
    let status = answer.lines().next().unwrap_or("").to_string();
    match answer.split_once("\r\n\r\n") {
        Some((_, body)) if status.starts_with("HTTP/1.1 200 ") && !body.is_empty() => {
            Ok(body.trim().to_string())
        }
        _ => Err(format!("answer {status:?}")),
    }
}

/// The error at the bottom of loop and run failures: the first failed
/// iteration's, the first failed target's.
fn root_cause(error: &Value) -> &Value {
    let details = &error["details"];
    if let Some(inner) = details["failed"].get(0) {
        return root_cause(&inner["error"]);
    }
    if let Some(failed) = details["result_set"]
        .as_array()
        .and_then(|rs| rs.iter().find(|r| r["ok"] == false))
    {
        return root_cause(&failed["error"]);
    }
    error
}

#[test]
fn a_rolling_reboot_behind_haproxy_drops_no_request() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let bed = WebBed::start(50, 4);
    let before: Vec<Vec<String>> = (1..=4).map(|i| bed.boots(i)).collect();
    let load = Load::start(bed.frontend);
    let (result, _, _) = bed.rolling(&["reconnect_timeout=60s"]);
    let tally = load.finish(2000);
    eprintln!("load during the rollout: {tally:?}");
    assert_eq!(result["status"], "success", "{result}");
    assert_eq!(result["value"], json!(["web1", "web2", "web3", "web4"]));
    assert_eq!(tally.failed, 0, "{tally:?}");
    assert!(tally.ok >= 2000, "{tally:?}");
    for i in 1..=4 {
        // Exactly one reboot each: one new boot id after the first.
        let boots = bed.boots(i);
        assert_eq!(boots.len(), 2, "web{i}: {boots:?}");
        assert_eq!(boots[0], before[i - 1][0]);
        // And it served traffic.
        assert!(tally.by_backend[&format!("web{i}")] > 0, "{tally:?}");
    }
    assert_eq!(bed.servers(), bed.all_up_and_enabled());
}

#[test]
fn rebooting_every_backend_at_once_drops_requests() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let bed = WebBed::start(51, 4);
    let load = Load::start(bed.frontend);
    // The stdlib `reboot` plan on every backend at once, without draining.
    let (code, out, err) = bed.drover(&[
        "run",
        "reboot",
        "targets=web",
        "reconnect_timeout=60s",
        "--format",
        "json",
    ]);
    let tally = load.finish(0);
    assert_eq!(code, 0, "{out}{err}");
    for i in 1..=4 {
        assert_eq!(bed.boots(i).len(), 2, "web{i} rebooted once");
    }
    // While every backend is down HAProxy has nowhere to send a request.
    assert!(tally.failed > 0, "{tally:?}");
}

#[test]
fn a_backend_that_never_comes_back_stops_the_rollout_out_of_rotation() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let bed = WebBed::start(52, 4);
    bed.script(&["break", "1"]);
    let load = Load::start(bed.frontend);
    let (result, out, report) = bed.rolling(&["reconnect_timeout=6s"]);
    let tally = load.finish(0);
    // Stopped after wait_up's timeout, before any other backend was touched.
    assert_eq!(result["status"], "failure", "{result}");
    let error = &result["error"];
    assert_eq!(error["kind"], "drover/loop-failure", "{error}");
    assert_eq!(error["details"]["never_started"], 3, "{error}");
    let cause = root_cause(error);
    assert_eq!(cause["kind"], "drover/timeout", "{error}");
    assert_eq!(cause["target"], "web1", "{error}");
    assert!(
        cause["location"]
            .as_str()
            .unwrap()
            .ends_with("reboot/plans/init.plan:32:13"),
        "{error}"
    );
    // The state of every server, in the error and in the log.
    assert_eq!(
        error["details"]["servers"],
        json!({"web1": "MAINT", "web2": "UP", "web3": "UP", "web4": "UP"})
    );
    assert!(
        out.contains(r#""message":"web1 is MAINT in HAProxy""#),
        "{out}"
    );
    // The report names every server, and where web1 failed.
    for row in [
        r"web1 +failed .* wait_up at .*reboot/plans/init.plan:32:13",
        r"web2 +never started",
        r"web4 +never started",
        r"failed on web1: web1 was not up within 6s: .* \(drover/timeout\)",
        r"web1 is MAINT in HAProxy",
        r"web2 is UP in HAProxy",
    ] {
        assert!(
            regex::Regex::new(row).unwrap().is_match(&report),
            "{row}: {report}"
        );
    }
    let mut expected = bed.all_up_and_enabled();
    expected.insert("web1".into(), ("MAINT".into(), false));
    assert_eq!(bed.servers(), expected);
    assert_eq!(bed.boots(1).len(), 1, "web1 is still down");
    for i in 2..=4 {
        assert_eq!(bed.boots(i).len(), 1, "web{i} was not rebooted");
    }
    // Out of rotation before it went down: nothing was lost meanwhile.
    assert_eq!(tally.failed, 0, "{tally:?}");
}

#[test]
fn with_max_failures_the_rollout_goes_on_past_a_dead_backend() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let bed = WebBed::start(54, 4);
    bed.script(&["break", "2"]);
    let load = Load::start(bed.frontend);
    let (result, events, _) = bed.rolling(&["reconnect_timeout=6s", "max_failures=1"]);
    let tally = load.finish(0);
    // One failure is tolerated: a warning, and the others are rebooted.
    assert_eq!(result["status"], "success", "{result}");
    let warnings: Vec<Value> = events
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|e| e["type"] == "log" && e["level"] == "warn")
        .collect();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0]["message"]
            .as_str()
            .unwrap()
            .starts_with("web2 failed (tolerated): web2 was not up within 6s"),
        "{warnings:?}"
    );
    let mut expected = bed.all_up_and_enabled();
    expected.insert("web2".into(), ("MAINT".into(), false));
    assert_eq!(bed.servers(), expected);
    for (i, boots) in [(1, 2), (2, 1), (3, 2), (4, 2)] {
        assert_eq!(bed.boots(i).len(), boots, "web{i}");
    }
    assert_eq!(tally.failed, 0, "{tally:?}");
}

#[test]
fn a_dry_run_of_the_rollout_touches_nothing() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let bed = WebBed::start(53, 4);
    let servers = bed.servers();
    let handshakes = || {
        let out = std::process::Command::new(common::root().join("scripts/sshbed.sh"))
            .arg("handshakes")
            .arg(bed.dir.join("ssh"))
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let sessions = handshakes();
    let args = bed.rolling_args(&["--dry-run"]);
    let (code, out, err) = bed.drover(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(code, 0, "{out}{err}");
    let shown = format!("{out}{err}");
    // The timeline, on the inventory's `sim` hints: per backend drain,
    // disable, boot id, reboot (down 3 s), wait_up polls at +0, +2 s, +4 s,
    // boot id, health check, enable.
    for line in [
        "run_task haproxy::drain on lb",
        "run_task haproxy::disable on lb",
        "run_command touch",
        "wait_up on web4",
        "run_task haproxy::enable on lb",
    ] {
        assert!(shown.contains(line), "{line}: {shown}");
    }
    assert!(
        shown.contains("plan reboot::rolling succeeded (dry run), predicted duration 17s600ms"),
        "{shown}"
    );
    assert_eq!(bed.servers(), servers);
    for i in 1..=4 {
        assert_eq!(bed.boots(i).len(), 1, "web{i} was not rebooted");
    }
    assert_eq!(handshakes(), sessions, "the dry run connected to nothing");
    assert!(!bed.dir.join(".drover").exists(), "nor recorded anything");
}
