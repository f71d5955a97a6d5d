//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use drover::diagnostic::Diagnostic;
use drover::source::SourceMap;

pub mod expect;
pub mod latency;
pub mod postgres;

/// The crate's root directory.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every `.plan` file under `dir` (relative to the crate root), sorted.
pub fn plans_under(dir: &str) -> Vec<PathBuf> {
    drover::app::load::plan_files(
        &drover::project::Project::new(&root()),
        &[root().join(dir)],
        false,
    )
    .expect("fixture directory")
}

/// Parse and check one file on its own; its name in diagnostics is its file name.
pub fn diagnose(path: &Path) -> (SourceMap, Vec<Diagnostic>) {
    let text = std::fs::read_to_string(path).expect("readable fixture");
    let mut sources = SourceMap::new();
    sources.add(path.file_name().unwrap().to_string_lossy(), text);
    let (_, diags) = drover::check::check_sources_with(&sources, Some(&test_tasks()));
    (sources, diags)
}

/// The tasks of the test project `tests/` (its `modules/`, then the
/// standard library), with paths relative to the crate root.
pub fn test_tasks() -> drover::project::tasks::Catalog {
    drover::project::tasks::Catalog::new(drover::project::Project::new(Path::new("tests")))
}

/// Whether a process whose command line is `marker` still runs after a
/// grace period (processes take a moment to die).
pub fn lingering(marker: &str) -> bool {
    for _ in 0..100 {
        if !running(marker) {
            return false;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    true
}

/// Whether any process's command line is `marker` (read from /proc).
pub fn running(marker: &str) -> bool {
    let wanted: Vec<u8> = marker.replace(' ', "\0").into_bytes();
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .any(|cmd| cmd.strip_suffix(b"\0").unwrap_or(&cmd) == wanted.as_slice())
}

/// Run `f` on a thread with the default 2 MiB test stack, so that stack
/// safety is tested under the tightest stack a caller is likely to have.
pub fn on_small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(2 * 1024 * 1024)
        .spawn(f)
        .unwrap()
        .join()
        .unwrap()
}

/// Log lines with the virtual time (ms) they were written at.
pub struct Clock {
    start: tokio::time::Instant,
    lines: std::cell::RefCell<Vec<(u64, String)>>,
}

impl drover::eval::Events for Clock {
    fn log(&self, level: &str, message: &str, _location: &str) {
        let line = match level {
            "info" => message.to_string(),
            _ => format!("{level}: {message}"),
        };
        self.lines
            .borrow_mut()
            .push((self.start.elapsed().as_millis() as u64, line));
    }
    fn message(&self, _text: &str, _location: &str) {}
}

/// What a plan run on virtual time did.
pub struct Outcome {
    /// The plan's result.
    pub result: Result<drover::value::Value, Box<drover::value::ErrorValue>>,
    /// Virtual time the run took.
    pub elapsed: std::time::Duration,
    /// Log lines (`info` without a prefix) with their virtual time in ms.
    pub lines: Vec<(u64, String)>,
    /// Pool targets still held after the run ended, across every group.
    pub held_after: Vec<String>,
}

/// Run plan `t` of `source` on tokio's paused clock, with an inventory given
/// as YAML, optionally as a dry run.
pub fn run_virtual(source: &str, inventory: Option<&str>, dry_run: bool) -> Outcome {
    use drover::eval::{Interpreter, Program};
    use drover::project::inventory::Inventory;
    let mut sources = SourceMap::new();
    sources.add("t.plan", source);
    let (files, diags) = drover::check::check_sources(&sources);
    assert!(diags.iter().all(|d| !d.is_error()), "{diags:?}");
    let program = Program { sources, files };
    let inventory = match inventory {
        Some(yaml) => {
            let mut inv_sources = SourceMap::new();
            let id = inv_sources.add("inventory.yaml", yaml);
            Inventory::parse(&inv_sources, id).expect("a valid inventory")
        }
        None => Inventory::default(),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .unwrap();
    runtime.block_on(async {
        let clock = Clock {
            start: tokio::time::Instant::now(),
            lines: Default::default(),
        };
        let interpreter = Interpreter::new(&program, &inventory, &clock).with_dry_run(dry_run);
        let result = interpreter.run("t", Default::default()).await;
        let held_after = inventory
            .group_names()
            .flat_map(|g| interpreter.pools.held(g))
            .collect();
        Outcome {
            result,
            elapsed: clock.start.elapsed(),
            lines: clock.lines.take(),
            held_after,
        }
    })
}

/// A real HAProxy on loopback for the tests: an HTTP frontend, one backend
/// `app` with health-checked servers, and an admin socket. Stopped on drop.
pub struct HaProxy {
    child: std::process::Child,
    dir: PathBuf,
    /// The frontend's port on 127.0.0.1.
    pub port: u16,
}

impl HaProxy {
    /// Start HAProxy with `servers` as `(name, port on 127.0.0.1)` in backend `app`.
    pub fn start(servers: &[(&str, u16)]) -> HaProxy {
        let dir = std::env::temp_dir().join(format!(
            "drover-haproxy-{}-{}",
            std::process::id(),
            fastrand::u32(..)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let port = free_port();
        let mut cfg = format!(
            "global\n    stats socket {}/admin.sock mode 600 level admin\n\
             defaults\n    mode http\n    timeout connect 1s\n    timeout client 30s\n    timeout server 30s\n\
             frontend web\n    bind 127.0.0.1:{port}\n    default_backend app\n\
             backend app\n    balance roundrobin\n    option httpchk GET /health\n",
            dir.display()
        );
        for (name, p) in servers {
            cfg.push_str(&format!(
                "    server {name} 127.0.0.1:{p} check inter 200ms fall 2 rise 1\n"
            ));
        }
        std::fs::write(dir.join("haproxy.cfg"), cfg).unwrap();
        // Debian puts it in /usr/sbin, which is not on every user's PATH.
        let program = if std::path::Path::new("/usr/sbin/haproxy").exists() {
            "/usr/sbin/haproxy"
        } else {
            "haproxy"
        };
        let child = std::process::Command::new(program)
            .args(["-db", "-f"])
            .arg(dir.join("haproxy.cfg"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("haproxy is installed (.ci/run installs it)");
        let proxy = HaProxy { child, dir, port };
        for _ in 0..200 {
            if proxy.socket().exists() {
                return proxy;
            }
            std::thread::sleep(std::time::Duration::from_millis(25));
        }
        panic!("haproxy did not start");
    }

    /// The admin socket.
    pub fn socket(&self) -> PathBuf {
        self.dir.join("admin.sock")
    }
}

impl Drop for HaProxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `tests/ssh/payload.bin`, the 3 MB file that `ssh/ten_steps.plan`
/// uploads (made here: it is not committed).
pub fn ssh_payload() -> PathBuf {
    let payload = root().join("tests/ssh/payload.bin");
    let bytes: Vec<u8> = (0..3_000_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    if std::fs::read(&payload).ok().as_ref() != Some(&bytes) {
        std::fs::write(&payload, &bytes).unwrap();
    }
    payload
}

/// The SHA-256 of `path` in hex, by `sha256sum` (as the targets compute it).
pub fn sha256(path: &Path) -> String {
    let out = std::process::Command::new("sha256sum")
        .arg(path)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split(' ')
        .next()
        .unwrap()
        .to_string()
}

/// The SSH test bed (`scripts/sshbed.sh`): real sshd processes on
/// 127.FIRST.0.2, 127.FIRST.0.3, ...; stopped on drop. Each test picks its
/// own FIRST so that tests running at once never share an address.
pub struct Bed {
    /// Its directory: inventory.yaml, known_hosts, keys/, sshd logs.
    pub dir: PathBuf,
    /// The target names (their addresses), in order.
    pub targets: Vec<String>,
    /// The latency proxy in front of the targets (`DROVER_BED_RTT_MS`).
    pub proxy: Option<Proxy>,
}

/// The round-trip time the SSH test bed runs at: `DROVER_BED_RTT_MS` (a
/// latency proxy in front of every target's sshd), or none.
pub fn bed_rtt() -> Option<Duration> {
    let ms: f64 = std::env::var("DROVER_BED_RTT_MS").ok()?.parse().ok()?;
    Some(Duration::from_secs_f64(ms / 1000.0))
}

/// A latency proxy on its own thread and runtime, stopped on drop.
pub struct Proxy {
    /// Its round-trip time.
    pub rtt: Duration,
    /// What it saw.
    pub stats: Arc<latency::Stats>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Proxy {
    /// Forward `ADDRESS:from` to `ADDRESS:to` for each address at `rtt`;
    /// returns once it listens.
    pub fn start(addresses: &[String], from: u16, to: u16, rtt: Duration) -> Proxy {
        let stats = Arc::new(latency::Stats::default());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (ready, listening) = std::sync::mpsc::channel();
        let addresses = addresses.to_vec();
        let seen = stats.clone();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let failed = ready.clone();
                let serve = latency::serve(addresses, from, to, rtt / 2, seen, move || {
                    let _ = ready.send(Ok(()));
                });
                tokio::select! {
                    r = serve => if let Err(e) = r { let _ = failed.send(Err(e.to_string())); },
                    _ = stopped => {}
                }
            });
            runtime.shutdown_background();
        });
        listening
            .recv()
            .expect("the proxy thread")
            .expect("the latency proxy listens");
        Proxy {
            rtt,
            stats,
            stop: Some(stop),
            thread: Some(thread),
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Bed {
    /// The bed's directory (emptied) and its `n` target addresses, before
    /// the script starts anything.
    fn at(first: u8, n: usize) -> Bed {
        let dir = std::env::temp_dir().join(format!("drover-bed-{}-{first}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        Bed {
            targets: (0..n)
                .map(|i| format!("127.{first}.{}.{}", (i + 2) / 256, (i + 2) % 256))
                .collect(),
            dir,
            proxy: None,
        }
    }

    /// `n` targets, at most `per_process` per sshd; behind the latency
    /// proxy when `DROVER_BED_RTT_MS` is set (sshd on port 2223 then).
    pub fn start(first: u8, n: usize, per_process: usize) -> Bed {
        Bed::start_at(first, n, per_process, bed_rtt())
    }

    /// `n` targets, at most `per_process` per sshd, behind a latency proxy
    /// at `rtt` when given.
    pub fn start_at(first: u8, n: usize, per_process: usize, rtt: Option<Duration>) -> Bed {
        let bed = Bed::at(first, n);
        let targets = bed.targets.clone();
        let args = [n, per_process, first as usize].map(|a| a.to_string());
        bed.launch("start", &args, rtt, "SSHBED_SSHD_PORT", &targets)
    }

    /// `n` targets that reboot (`SSHBED_REBOOTABLE`: one sshd each, a fake
    /// `last` and `shutdown` in their own mount namespace), down for
    /// `downtime_s` seconds per reboot; never behind the latency proxy.
    pub fn rebootable(first: u8, n: usize, downtime_s: u32) -> Bed {
        let downtime = downtime_s.to_string();
        Bed::with_env(
            first,
            n,
            &[
                ("SSHBED_REBOOTABLE", "1"),
                ("SSHBED_REBOOT_DOWNTIME", downtime.as_str()),
            ],
        )
    }

    /// `n` targets, one sshd each, started with the script's `env`
    /// (`SSHBED_REBOOTABLE`, `SSHBED_HIDE`); never behind the proxy.
    pub fn with_env(first: u8, n: usize, env: &[(&str, &str)]) -> Bed {
        let bed = Bed::at(first, n);
        let out = std::process::Command::new(root().join("scripts/sshbed.sh"))
            .arg("start")
            .arg(&bed.dir)
            .args([n.to_string(), "1".into(), first.to_string()])
            .envs(env.iter().copied())
            .output()
            .expect("bash");
        assert!(
            out.status.success(),
            "sshbed.sh start {env:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        bed
    }

    /// The boot time target `i` of a rebootable bed reports now.
    pub fn boot_time(&self, i: usize) -> String {
        std::fs::read_to_string(self.dir.join(format!("boot-sshd-{i}/boot-time")))
            .unwrap()
            .trim()
            .to_string()
    }

    /// `n` targets in a network namespace of their own, reachable only
    /// through the bastions `bastion-0` (127.FIRST.254.1, bridged out) and
    /// `bastion-1` (127.FIRST.254.2, only from inside); the inventory jumps
    /// through bastion-0. Behind the latency proxy when `DROVER_BED_RTT_MS`
    /// is set (the bridge on port 2223 then): every byte to the targets
    /// crosses it.
    pub fn behind(first: u8, n: usize) -> Bed {
        let bastion = format!("127.{first}.254.1");
        let args = [n.to_string(), first.to_string()];
        Bed::at(first, n).launch(
            "start-behind",
            &args,
            bed_rtt(),
            "SSHBED_BRIDGE_PORT",
            &[bastion],
        )
    }

    /// `scripts/sshbed.sh VERB DIR ARGS...` for a new bed. With `rtt`,
    /// `port_env` moves what listens on port 2222 to 2223, and the latency
    /// proxy takes port 2222 of the `proxied` addresses.
    fn launch(
        mut self,
        verb: &str,
        args: &[String],
        rtt: Option<Duration>,
        port_env: &str,
        proxied: &[String],
    ) -> Bed {
        let mut cmd = std::process::Command::new(root().join("scripts/sshbed.sh"));
        cmd.arg(verb).arg(&self.dir).args(args);
        if rtt.is_some() {
            cmd.env(port_env, "2223");
        }
        let out = cmd.output().expect("bash");
        assert!(
            out.status.success(),
            "sshbed.sh {verb}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        if let Some(rtt) = rtt {
            self.proxy = Some(Proxy::start(proxied, 2222, 2223, rtt));
        }
        self
    }

    /// Logins accepted so far by the sshd `name` (`bastion-0`, `sshd-0`).
    pub fn logins(&self, name: &str) -> usize {
        self.script(&["logins", name]).trim().parse().unwrap()
    }

    /// Run `scripts/sshbed.sh VERB DIR ARGS...`; its stdout.
    pub fn script(&self, args: &[&str]) -> String {
        let mut cmd = std::process::Command::new(root().join("scripts/sshbed.sh"));
        cmd.arg(args[0]).arg(&self.dir).args(&args[1..]);
        let out = cmd.output().expect("bash");
        assert!(
            out.status.success(),
            "sshbed.sh {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// SSH sessions sshd accepted so far.
    pub fn handshakes(&self) -> usize {
        self.script(&["handshakes"]).trim().parse().unwrap()
    }

    /// The inventory file.
    pub fn inventory(&self) -> PathBuf {
        self.dir.join("inventory.yaml")
    }

    /// Write an inventory for this bed's targets with `ssh` settings
    /// (YAML lines under `config.ssh`, indented by four spaces).
    pub fn inventory_with(&self, name: &str, ssh: &str) -> PathBuf {
        let mut yaml = format!(
            "config:\n  transport: ssh\n  ssh:\n    user: drover-test\n    port: 2222\n    connect-timeout: 5\n{ssh}groups:\n  - name: bed\n    targets:\n"
        );
        for t in &self.targets {
            yaml.push_str(&format!("      - {t}\n"));
        }
        let path = self.dir.join(name);
        std::fs::write(&path, yaml).unwrap();
        path
    }
}

impl Bed {
    /// Established connections to this bed's sshd processes right now
    /// (from the kernel's socket table, the sshd side).
    pub fn connections(&self) -> usize {
        let out = std::process::Command::new("ss")
            .args(["-Htn", "state", "established", "( sport = :2222 )"])
            .output()
            .unwrap();
        let first = self.targets[0].split('.').nth(1).unwrap_or("0").to_string();
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| l.contains(&format!(" 127.{first}.")))
            .count()
    }

    /// `f()`, while a thread samples `connections` every 100 ms: its
    /// value and the most connections seen open at once.
    pub fn peak_connections<T>(&self, f: impl FnOnce() -> T) -> (T, usize) {
        let done = std::sync::atomic::AtomicBool::new(false);
        let peak = std::sync::atomic::AtomicUsize::new(0);
        let value = std::thread::scope(|s| {
            s.spawn(|| {
                while !done.load(std::sync::atomic::Ordering::Relaxed) {
                    peak.fetch_max(self.connections(), std::sync::atomic::Ordering::Relaxed);
                    std::thread::sleep(std::time::Duration::from_millis(100));
                }
            });
            let value = f();
            done.store(true, std::sync::atomic::Ordering::Relaxed);
            value
        });
        (value, peak.into_inner())
    }
}

impl Drop for Bed {
    fn drop(&mut self) {
        let _ = std::process::Command::new(root().join("scripts/sshbed.sh"))
            .arg("stop")
            .arg(&self.dir)
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The event schema of docs/events.md (its JSON block).
pub fn event_schema() -> serde_json::Value {
    let doc = std::fs::read_to_string(root().join("docs/events.md")).unwrap();
    let start = doc.find("```json\n").expect("a json block") + 8;
    let end = start + doc[start..].find("```").unwrap();
    serde_json::from_str(&doc[start..end]).expect("the schema is JSON")
}

/// Check every line of `stdout` against the event schema; the problems found.
pub fn invalid_events(schema: &serde_json::Value, stdout: &str) -> Vec<String> {
    let mut problems = Vec::new();
    for line in stdout.lines() {
        let event: serde_json::Value = match serde_json::from_str(line) {
            Ok(e) => e,
            Err(e) => {
                problems.push(format!("not JSON ({e}): {line}"));
                continue;
            }
        };
        let kind = event["type"].as_str().unwrap_or_default();
        match schema["events"].get(kind) {
            None => problems.push(format!("undocumented event type `{kind}`: {line}")),
            Some(s) => check(schema, s, &event, kind, &mut problems),
        }
    }
    problems
}

/// A JSON Schema subset: $ref (to `definitions`), anyOf, type, enum,
/// required, properties, additionalProperties: false, items.
fn check(
    root: &serde_json::Value,
    schema: &serde_json::Value,
    value: &serde_json::Value,
    path: &str,
    problems: &mut Vec<String>,
) {
    use serde_json::Value as J;
    if let Some(name) = schema["$ref"].as_str() {
        return check(root, &root["definitions"][name], value, path, problems);
    }
    if let Some(options) = schema["anyOf"].as_array() {
        let fits = options.iter().any(|o| {
            let mut p = Vec::new();
            check(root, o, value, path, &mut p);
            p.is_empty()
        });
        if !fits {
            problems.push(format!("{path}: fits none of anyOf: {value}"));
        }
        return;
    }
    let type_of = |v: &J| match v {
        J::Null => "null",
        J::Bool(_) => "boolean",
        J::Number(n) if n.is_i64() || n.is_u64() => "integer",
        J::Number(_) => "number",
        J::String(_) => "string",
        J::Array(_) => "array",
        J::Object(_) => "object",
    };
    let types: Vec<&str> = match &schema["type"] {
        J::String(t) => vec![t.as_str()],
        J::Array(ts) => ts.iter().filter_map(J::as_str).collect(),
        _ => Vec::new(),
    };
    if !types.is_empty()
        && !types
            .iter()
            .any(|t| *t == type_of(value) || (*t == "number" && type_of(value) == "integer"))
    {
        problems.push(format!("{path}: expected {types:?}, got {value}"));
        return;
    }
    if let Some(allowed) = schema["enum"].as_array()
        && !allowed.contains(value)
    {
        problems.push(format!("{path}: {value} is not one of {allowed:?}"));
    }
    if let J::Object(fields) = value {
        for r in schema["required"].as_array().into_iter().flatten() {
            if !fields.contains_key(r.as_str().unwrap_or_default()) {
                problems.push(format!("{path}: missing `{r}`"));
            }
        }
        let props = &schema["properties"];
        for (k, v) in fields {
            match props.get(k) {
                Some(s) => check(root, s, v, &format!("{path}.{k}"), problems),
                None if schema["additionalProperties"] == J::Bool(false) => {
                    problems.push(format!("{path}: undocumented field `{k}`"))
                }
                None => {}
            }
        }
    }
    if let (J::Array(items), Some(s)) = (value, schema.get("items")) {
        for (i, v) in items.iter().enumerate() {
            check(root, s, v, &format!("{path}[{i}]"), problems);
        }
    }
}

/// `drover ARGS` run in the test project `tests/`: (exit code, stdout, stderr).
pub fn drover_in_tests(args: &[&str]) -> (i32, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_drover"))
        .current_dir(root().join("tests"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `drover ARGS` in `tests/`, where ARGS end in `--format json`: (exit code,
/// the run's `plan_result`, stderr).
pub fn drover_json(args: &[&str]) -> (i32, serde_json::Value, String) {
    let (code, out, err) = drover_in_tests(args);
    assert!(!out.is_empty(), "no output: {err}");
    (code, plan_result(&out), err)
}

/// `drover command run CMD -t SPEC -i INVENTORY --format json` in `tests/`.
pub fn command_run(cmd: &str, spec: &str, inventory: &Path) -> (i32, serde_json::Value, String) {
    drover_json(&[
        "command",
        "run",
        cmd,
        "-t",
        spec,
        "-i",
        inventory.to_str().unwrap(),
        "--format",
        "json",
    ])
}

/// `drover run PLAN PARAMS -i INVENTORY --format json` in `tests/`: (exit
/// code, the run's `plan_result`, stderr).
pub fn run_plan(plan: &str, params: &[&str], inventory: &Path) -> (i32, serde_json::Value, String) {
    let mut args = vec!["run", plan];
    args.extend_from_slice(params);
    args.extend(["-i", inventory.to_str().unwrap(), "--format", "json"]);
    drover_json(&args)
}

/// `drover ARGS` started in the test project `tests/`, its output piped.
pub fn spawn_in_tests(args: &[&str]) -> std::process::Child {
    std::process::Command::new(env!("CARGO_BIN_EXE_drover"))
        .current_dir(root().join("tests"))
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

/// The `plan_result` line that ends a `--format json` run.
pub fn plan_result(stdout: &str) -> serde_json::Value {
    serde_json::from_str(stdout.lines().last().expect("a plan_result")).unwrap()
}

/// A project of its own in a temporary directory (history is per project)
/// whose group `four` has local targets a, b, c, d; `b` and `d` have
/// `FAIL=1` in their environment.
pub fn four_target_project(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("drover-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("plans")).unwrap();
    let mut inventory =
        String::from("config:\n  transport: local\ngroups:\n  - name: four\n    targets:\n");
    for (t, fail) in [("a", 0), ("b", 1), ("c", 0), ("d", 1)] {
        inventory.push_str(&format!(
            "      - {{ name: {t}, uri: localhost, config: {{ local: {{ env-vars: {{ FAIL: \"{fail}\" }} }} }} }}\n"
        ));
    }
    std::fs::write(dir.join("inventory.yaml"), inventory).unwrap();
    dir
}

/// A project of its own in a temporary directory holding `files`; unless
/// they include a project file, its module path is `modules`.
pub fn temp_project(name: &str, modules: &Path, files: &[(&str, &str)]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("drover-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    if !files.iter().any(|(f, _)| f.ends_with("-project.yaml")) {
        let settings = format!("modulepath:\n  - {}\n", modules.display());
        std::fs::write(dir.join("bolt-project.yaml"), settings).unwrap();
    }
    for (path, text) in files {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    dir
}

/// `drover ARGS` in `dir`: (exit code, stdout, stderr).
pub fn drover_in(dir: &Path, args: &[&str]) -> (i32, String, String) {
    drover_in_env(dir, args, &[])
}

/// `drover ARGS` in `dir` with environment variables `env` set.
pub fn drover_in_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_drover"))
        .current_dir(dir)
        .args(args)
        .envs(env.iter().copied())
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `seed` changed one to four times (cut, insert one of `tokens`, copy a
/// stretch, replace a char, truncate, swap): input for the parsers' fuzz tests.
pub fn mutate(rng: &mut fastrand::Rng, seed: &str, tokens: &[&str]) -> String {
    let mut chars: Vec<char> = seed.chars().collect();
    for _ in 0..rng.usize(1..=4) {
        let len = chars.len();
        let at = rng.usize(0..=len);
        match rng.u8(0..6) {
            0 if len > 0 => {
                let end = (at + rng.usize(1..20)).min(len);
                chars.drain(at.min(end)..end);
            }
            1 => {
                let token = tokens[rng.usize(0..tokens.len())];
                chars.splice(at..at, token.chars());
            }
            2 if len > 0 => {
                let start = rng.usize(0..len);
                let end = (start + rng.usize(1..40)).min(len);
                let copy: Vec<char> = chars[start..end].to_vec();
                chars.splice(at..at, copy);
            }
            3 if at < len => chars[at] = char::from_u32(rng.u32(0..0x250)).unwrap_or('x'),
            4 => chars.truncate(at),
            _ if at < len => {
                let other = rng.usize(0..len);
                chars.swap(at, other);
            }
            _ => {}
        }
    }
    chars.into_iter().collect()
}
