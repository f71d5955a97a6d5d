//! `drover serve` and `drover runs watch` against real runs: the dashboard
//! in headless Chromium (driven through the DevTools protocol) following a
//! run live, the token, path traversal, secrets in no byte served, and
//! `runs watch` under tmux.

mod common;

use std::io::{BufRead, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// A project with local targets `a`..`d` (see common) and `plan`.
fn project(name: &str, plan: &str) -> PathBuf {
    let dir = common::four_target_project(&format!("serve-{name}"));
    std::fs::write(dir.join("plans/live.plan"), plan).unwrap();
    dir
}

/// A plan whose second step waits until the file `go` exists in `dir`.
fn gated(dir: &Path) -> String {
    format!(
        "plan live() {{\n    run_command('echo first', 'a');\n    run_command('while [ ! -f {go} ]; do sleep 0.05; done; echo second', 'a');\n    run_command('echo third', 'a');\n}}\n",
        go = dir.join("go").display()
    )
}

/// Writes the gate file when dropped: a failing test leaves no command
/// waiting for it.
struct Gate(PathBuf);

impl Drop for Gate {
    fn drop(&mut self) {
        let _ = std::fs::write(&self.0, "");
    }
}

/// Kills a child process when dropped, so that a failing test leaves none.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn drover(dir: &Path, args: &[&str]) -> Killed {
    Killed(
        Command::new(env!("CARGO_BIN_EXE_drover"))
            .current_dir(dir)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    )
}

/// `drover serve ARGS` in `dir`: the process and the address it listens on.
fn serve(dir: &Path, args: &[&str]) -> (Killed, String) {
    let mut all = vec!["serve"];
    all.extend_from_slice(args);
    let mut child = drover(dir, &all);
    let mut line = String::new();
    std::io::BufReader::new(child.0.stderr.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let start = line.find("http://").expect(&line) + 7;
    let addr = line[start..start + line[start..].find('/').unwrap()].to_string();
    (child, addr)
}

/// The one run of `dir`'s history, once `ready` holds for its events.
fn run_when(dir: &Path, ready: impl Fn(&str) -> bool) -> (String, String) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(Ok(entry)) = std::fs::read_dir(dir.join(".drover/runs"))
            .ok()
            .and_then(|mut d| d.next())
        {
            let events =
                std::fs::read_to_string(entry.path().join("events.jsonl")).unwrap_or_default();
            if ready(&events) {
                return (entry.file_name().into_string().unwrap(), events);
            }
        }
        assert!(Instant::now() < deadline, "the run did not get there");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A plain HTTP/1.1 GET: (status, headers, body); chunked bodies decoded.
/// The body ends at its length, at its last chunk, or when the server
/// closes the connection.
fn get(addr: &str, path: &str, headers: &[&str]) -> (u16, String, String) {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for h in headers {
        request.push_str(&format!("{h}\r\n"));
    }
    request.push_str("\r\n");
    s.write_all(request.as_bytes()).unwrap();
    let mut raw = Vec::new();
    let mut buf = [0; 8192];
    let complete = |raw: &[u8]| {
        let text = String::from_utf8_lossy(raw);
        let Some((head, body)) = text.split_once("\r\n\r\n") else {
            return false;
        };
        let head = head.to_ascii_lowercase();
        if let Some(n) = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|n| n.trim().parse::<usize>().ok())
        {
            return body.len() >= n;
        }
        head.contains("transfer-encoding: chunked") && body.ends_with("0\r\n\r\n")
    };
    while !complete(&raw) {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
            Err(e) => panic!("GET {path}: {e}"),
        }
    }
    let raw = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        let mut out = String::new();
        let mut rest = body;
        while let Some((size, tail)) = rest.split_once("\r\n") {
            let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
            if n == 0 {
                break;
            }
            out.push_str(&tail[..n]);
            rest = &tail[n + 2..];
        }
        out
    } else {
        body.to_string()
    };
    (status, head.to_string(), body)
}

/// Headless Chromium on `url`, and a DevTools connection to its page.
struct Browser {
    _child: Killed,
    profile: PathBuf,
    ws: tungstenite::WebSocket<tungstenite::stream::MaybeTlsStream<std::net::TcpStream>>,
    next: u64,
}

impl Browser {
    fn open(url: &str) -> Browser {
        let profile =
            std::env::temp_dir().join(format!("drover-serve-chromium-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&profile);
        let child = Killed(
            Command::new("chromium")
                .args(["--headless", "--no-sandbox", "--disable-gpu"])
                .arg("--remote-debugging-port=0")
                .arg(format!("--user-data-dir={}", profile.display()))
                .arg(url)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("chromium is installed (scripts/test.sh installs it)"),
        );
        let deadline = Instant::now() + Duration::from_secs(30);
        let port = loop {
            if let Ok(text) = std::fs::read_to_string(profile.join("DevToolsActivePort"))
                && let Some(port) = text.lines().next().filter(|p| !p.is_empty())
            {
                break port.to_string();
            }
            assert!(Instant::now() < deadline, "chromium did not start");
            std::thread::sleep(Duration::from_millis(50));
        };
        let page = loop {
            let (_, _, body) = get(&format!("127.0.0.1:{port}"), "/json/list", &[]);
            let list: Value = serde_json::from_str(&body).unwrap_or(json!([]));
            if let Some(p) = list.as_array().into_iter().flatten().find(|p| {
                p["type"] == "page" && p["url"].as_str().is_some_and(|u| u.starts_with(url))
            }) {
                break p["webSocketDebuggerUrl"].as_str().unwrap().to_string();
            }
            assert!(Instant::now() < deadline, "no page in chromium: {body}");
            std::thread::sleep(Duration::from_millis(50));
        };
        let (ws, _) = tungstenite::connect(page).unwrap();
        Browser {
            _child: child,
            profile,
            ws,
            next: 0,
        }
    }

    /// The value of a JavaScript expression in the page.
    fn eval(&mut self, expression: &str) -> Value {
        self.next += 1;
        let id = self.next;
        let call = json!({"id": id, "method": "Runtime.evaluate",
                          "params": {"expression": expression, "returnByValue": true}});
        self.ws
            .send(tungstenite::Message::Text(call.to_string().into()))
            .unwrap();
        loop {
            if let tungstenite::Message::Text(t) = self.ws.read().unwrap() {
                let v: Value = serde_json::from_str(&t).unwrap();
                if v["id"] == id {
                    return v["result"]["result"]["value"].clone();
                }
            }
        }
    }

    /// A DevTools command; its result.
    fn call(&mut self, method: &str, params: Value) -> Value {
        self.next += 1;
        let id = self.next;
        let call = json!({"id": id, "method": method, "params": params});
        self.ws
            .send(tungstenite::Message::Text(call.to_string().into()))
            .unwrap();
        loop {
            if let tungstenite::Message::Text(t) = self.ws.read().unwrap() {
                let v: Value = serde_json::from_str(&t).unwrap();
                if v["id"] == id {
                    return v["result"].clone();
                }
            }
        }
    }

    /// With `DROVER_SCREENSHOTS=1`, the page as docs/images/NAME.png (the
    /// screenshots of docs/dashboard.md).
    fn screenshot_for_docs(&mut self, name: &str) {
        if std::env::var_os("DROVER_SCREENSHOTS").is_none() {
            return;
        }
        self.call(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": 1300, "height": 900, "deviceScaleFactor": 1, "mobile": false}),
        );
        let shot = self.call("Page.captureScreenshot", json!({"format": "png"}));
        let png = base64(shot["data"].as_str().unwrap());
        let path = common::root()
            .join("docs/images")
            .join(format!("{name}.png"));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, png).unwrap();
    }

    /// Wait until `expression` is true in the page; when it became so.
    fn until(&mut self, expression: &str, within: Duration) -> Instant {
        let deadline = Instant::now() + within;
        loop {
            if self.eval(expression) == json!(true) {
                return Instant::now();
            }
            assert!(Instant::now() < deadline, "never true: {expression}");
            std::thread::sleep(Duration::from_millis(25));
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// Standard base64, decoded (the DevTools protocol's screenshots).
fn base64(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        _ => 63,
    };
    let clean: Vec<u8> = text
        .bytes()
        .filter(|c| *c != b'=' && !c.is_ascii_whitespace())
        .collect();
    let mut out = Vec::with_capacity(clean.len() * 3 / 4);
    for chunk in clean.chunks(4) {
        let n = chunk.iter().enumerate().fold(0u32, |acc, (i, c)| {
            acc | u32::from(value(*c)) << (18 - 6 * i)
        });
        let bytes = n.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    out
}

const OK_BARS: &str = "document.querySelectorAll('rect.bar[data-outcome=\"ok\"]').length";

#[test]
fn a_run_in_progress_updates_in_the_browser_without_a_reload() {
    let dir = project("live", "");
    std::fs::write(dir.join("plans/live.plan"), gated(&dir)).unwrap();
    let _gate = Gate(dir.join("go"));
    let _run = drover(&dir, &["run", "live"]);
    let (id, _) = run_when(&dir, |e| e.matches("target_start").count() == 2);
    let (_server, addr) = serve(&dir, &["--listen", "127.0.0.1:0"]);
    let mut browser = Browser::open(&format!("http://{addr}/runs/{id}"));
    browser.until(&format!("{OK_BARS} === 1"), Duration::from_secs(20));
    // A marker that a reload would wipe out.
    browser.eval("window.droverMarker = 42");
    assert_eq!(browser.eval("document.body.dataset.outcome"), "running");
    std::fs::write(dir.join("go"), "").unwrap();
    // The moment the second result is recorded, then the moment the page shows it.
    let (_, _) = run_when(&dir, |e| e.matches("target_result").count() >= 2);
    let recorded = Instant::now();
    let shown = browser.until(&format!("{OK_BARS} >= 2"), Duration::from_secs(10));
    let lag = shown.saturating_duration_since(recorded);
    assert!(
        lag < Duration::from_secs(2),
        "the page showed the result {lag:?} after its event"
    );
    // The end of the run, on the same page.
    browser.until(
        "document.body.dataset.outcome === 'success' && document.querySelector('.badge.outcome').textContent === 'success'",
        Duration::from_secs(20),
    );
    assert_eq!(browser.eval(OK_BARS), 3);
    assert_eq!(
        browser.eval("window.droverMarker"),
        42,
        "the page was reloaded"
    );
    browser.screenshot_for_docs("dashboard-run");
    browser.eval("location.href = '/'");
    browser.until(
        "document.querySelectorAll('tr.run').length === 1",
        Duration::from_secs(10),
    );
    browser.screenshot_for_docs("dashboard-runs");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_non_loopback_address_needs_a_token_and_every_request_carries_it() {
    let dir = project(
        "token",
        "plan live() {\n    run_command('echo hi', 'a');\n}\n",
    );
    let out = Command::new(env!("CARGO_BIN_EXE_drover"))
        .current_dir(&dir)
        .args(["serve", "--listen", "0.0.0.0:0"])
        .env_remove("DROVER_TOKEN")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("not a loopback address") && err.contains("token"),
        "{err}"
    );

    let (_server, addr) = serve(&dir, &["--listen", "0.0.0.0:0", "--token", "s3cret-t0ken"]);
    let port = addr.rsplit(':').next().unwrap();
    let local = format!("127.0.0.1:{port}");
    assert_eq!(get(&local, "/", &[]).0, 401);
    assert_eq!(get(&local, "/", &["Authorization: Bearer wrong"]).0, 401);
    assert_eq!(get(&local, "/?token=wrong", &[]).0, 401);
    assert_eq!(get(&local, "/pools", &[]).0, 401);
    assert_eq!(
        get(&local, "/", &["Authorization: Bearer s3cret-t0ken"]).0,
        200
    );
    let (status, head, _) = get(&local, "/?token=s3cret-t0ken", &[]);
    assert_eq!(status, 200);
    assert!(head.contains("drover_token=s3cret-t0ken"), "{head}");
    assert_eq!(
        get(&local, "/", &["Cookie: drover_token=s3cret-t0ken"]).0,
        200
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn path_traversal_in_run_ids_and_target_names_gets_404() {
    let dir = project(
        "traversal",
        "plan live() {\n    run_command('echo hi', 'four');\n}\n",
    );
    let out = Command::new(env!("CARGO_BIN_EXE_drover"))
        .current_dir(&dir)
        .args(["run", "live"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let (id, _) = run_when(&dir, |e| e.contains("plan_result"));
    std::fs::write(dir.join("secret.txt"), "root:do-not-serve").unwrap();
    let (_server, addr) = serve(&dir, &["--listen", "127.0.0.1:0"]);
    assert_eq!(get(&addr, &format!("/runs/{id}/targets/a"), &[]).0, 200);
    for path in [
        "/runs/..%2F..%2Fsecret.txt".to_string(),
        "/runs/%2e%2e".to_string(),
        "/runs/%2E%2E%2F%2E%2E%2F".to_string(),
        "/runs/../../secret.txt".to_string(),
        "/runs/last".to_string(),
        format!("/runs/{id}%2F..%2F..%2F..%2Fsecret.txt"),
        format!("/runs/{id}/targets/..%2F..%2F..%2F..%2Fsecret.txt"),
        format!("/runs/{id}/targets/..%2Fevents.jsonl"),
        format!("/runs/{id}/targets/%2e%2e"),
        format!("/runs/{id}/targets/..%252F..%252Fsecret.txt"),
        format!("/runs/{id}/targets/e"),
        "/secret.txt".to_string(),
        "/runs/x/report.html".to_string(),
    ] {
        let (status, _, body) = get(&addr, &path, &[]);
        assert_eq!(status, 404, "{path}: {body}");
        assert!(!body.contains("do-not-serve"), "{path}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn no_page_report_or_event_stream_holds_a_secret() {
    let plan = "plan live(Sensitive[String] $password) {\n    log::info(\"logging in with $password\");\n    run_command(\"echo ${password.unwrap}; echo done\", 'four');\n    fail(\"could not log in with ${password.unwrap}\");\n}\n";
    let dir = project("secrets", plan);
    let out = Command::new(env!("CARGO_BIN_EXE_drover"))
        .current_dir(&dir)
        .args(["run", "live", "password=hunter2-XYZZY"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    for text in [&out.stdout, &out.stderr] {
        assert!(!String::from_utf8_lossy(text).contains("hunter2"));
    }
    let (id, _) = run_when(&dir, |e| e.contains("plan_result"));
    let recorded =
        std::fs::read_to_string(dir.join(".drover/runs").join(&id).join("events.jsonl")).unwrap();
    assert!(!recorded.contains("hunter2"), "{recorded}");
    let (_server, addr) = serve(&dir, &["--listen", "127.0.0.1:0"]);
    let mut paths = vec![
        "/".to_string(),
        "/?plan=live&status=failure".to_string(),
        "/pools".to_string(),
        format!("/runs/{id}"),
        format!("/runs/{id}/fragment?part=live"),
        format!("/runs/{id}/fragment?part=rest"),
        format!("/runs/{id}/events"),
        format!("/runs/{id}/report.html"),
    ];
    paths.extend(["a", "b", "c", "d"].map(|t| format!("/runs/{id}/targets/{t}")));
    let mut seen = 0;
    for path in &paths {
        let (status, head, body) = get(&addr, path, &[]);
        assert_eq!(status, 200, "{path}");
        assert!(
            !head.contains("hunter2") && !body.contains("hunter2"),
            "{path}: {body}"
        );
        seen += body.len();
    }
    // The pages do show what happened, with the secret masked.
    let (_, _, events) = get(&addr, &format!("/runs/{id}/events"), &[]);
    assert!(events.contains("event: end\ndata: failure"), "{events}");
    let (_, _, log) = get(&addr, &format!("/runs/{id}/targets/a"), &[]);
    assert!(log.contains("[sensitive]") && log.contains("done"), "{log}");
    assert!(seen > 10_000);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The screen of tmux session `name`.
fn screen(name: &str) -> String {
    let out = Command::new("tmux")
        .args(["capture-pane", "-p", "-t", name])
        .output()
        .expect("tmux is installed (scripts/test.sh installs it)");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn wait_screen(name: &str, text: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let s = screen(name);
        if s.contains(text) {
            return s;
        }
        assert!(Instant::now() < deadline, "`{text}` never showed:\n{s}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn runs_watch_follows_a_live_run_under_tmux_and_exits_with_it() {
    let dir = project("watch", "");
    std::fs::write(dir.join("plans/live.plan"), gated(&dir)).unwrap();
    let _gate = Gate(dir.join("go"));
    let _run = drover(&dir, &["run", "live"]);
    let (id, _) = run_when(&dir, |e| e.matches("target_start").count() == 2);
    let name = format!("drover-watch-{}", std::process::id());
    let command = format!(
        "cd {} && {} runs watch; echo WATCH-EXITED $?; sleep 60",
        dir.display(),
        env!("CARGO_BIN_EXE_drover")
    );
    let started = Command::new("tmux")
        .args([
            "new-session",
            "-d",
            "-s",
            &name,
            "-x",
            "200",
            "-y",
            "40",
            &command,
        ])
        .status()
        .unwrap();
    assert!(started.success());
    let during = wait_screen(&name, "while [ ! -f");
    assert!(
        during.contains(&format!("watching run {id}: live")),
        "{during}"
    );
    assert!(
        during.contains("ok     a run_command echo first"),
        "{during}"
    );
    assert!(!during.contains("WATCH-EXITED"), "{during}");
    std::fs::write(dir.join("go"), "").unwrap();
    let after = wait_screen(&name, "WATCH-EXITED");
    let _ = Command::new("tmux")
        .args(["kill-session", "-t", &name])
        .status();
    assert!(after.contains("ok     a run_command echo third"), "{after}");
    assert!(after.contains(&format!("run {id}: success")), "{after}");
    assert!(after.contains("WATCH-EXITED 0"), "{after}");
    let _ = std::fs::remove_dir_all(&dir);
}
