//! Tasks: the Forge-style test module through `drover task run`, choosing an
//! implementation, `task show`, `drover check` on task calls, output limits,
//! secrets, staging once per run, and the standard library for real.

mod common;

use common::{drover_in_tests as drover, plan_result};
use serde_json::{Value, json};

/// The value of the first target's result of a successful `task run`.
fn task_value(args: &[&str]) -> Value {
    let mut all = vec!["task", "run"];
    all.extend(args);
    all.extend(["-t", "localhost", "--format", "json"]);
    let (code, out, err) = drover(&all);
    let result = plan_result(&out);
    assert_eq!(code, 0, "{result}\n{err}");
    result["value"][0]["value"].clone()
}

#[test]
fn a_forge_style_module_runs_through_task_run() {
    let v = task_value(&[
        "forgemod",
        "name=ann",
        "mode=shout",
        "times=2",
        "suffix=!",
        "token=open-sesame",
    ]);
    assert_eq!(
        v,
        json!({"greeting": "HELLO ANN! HELLO ANN!", "implementation": "shell",
               "stdin_has_task": true, "token_ok": true, "installdir_private": "700"})
    );
    // Parameters are checked before anything runs: exit 2, the type named.
    let (code, _, err) = drover(&[
        "task",
        "run",
        "forgemod",
        "-t",
        "localhost",
        "name=ann",
        "mode=whisper",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("parameter `mode` of task `forgemod` is Enum[greet, shout]"),
        "{err}"
    );
    let (code, _, err) = drover(&["task", "run", "forgemod", "-t", "localhost", "name=ann"]);
    assert_eq!(code, 2);
    assert!(err.contains("needs `mode` (Enum[greet, shout])"), "{err}");
}

#[test]
fn the_first_implementation_the_features_allow_runs() {
    let tasks = common::test_tasks();
    let task = tasks.get("forgemod").unwrap();
    let pick = |features: &[&str]| {
        let features: Vec<String> = features.iter().map(|f| f.to_string()).collect();
        task.implementation_for(&features)
            .map(|i| i.path.file_name().unwrap().to_string_lossy().into_owned())
    };
    assert_eq!(pick(&["shell"]).unwrap(), "init.sh");
    assert_eq!(pick(&["shell", "powershell"]).unwrap(), "init.ps1");
    let err = tasks
        .get("forgemod::agent_only")
        .unwrap()
        .implementation_for(&["shell".into()])
        .unwrap_err();
    assert!(err.contains("implementations need [puppet-agent]"), "{err}");
    // Through a run: the target's features come from the inventory.
    let (code, out, _) = drover(&[
        "task",
        "run",
        "forgemod::agent_only",
        "-t",
        "localhost",
        "--format",
        "json",
    ]);
    assert_eq!(code, 1);
    let error = &plan_result(&out)["error"]["details"]["result_set"][0]["error"];
    assert_eq!(error["kind"], "drover/task-unsupported");
}

#[test]
fn task_show_lists_tasks_and_describes_parameters() {
    let (code, out, _) = drover(&["task", "show"]);
    assert_eq!(code, 0);
    for name in [
        "demo::greet",
        "forgemod",
        "service",
        "haproxy::drain",
        "http::check",
    ] {
        assert!(
            out.lines().any(|l| l.starts_with(name)),
            "{name} missing:\n{out}"
        );
    }
    // Private tasks run but are not listed.
    assert!(!out.contains("outputs::hidden"), "{out}");
    assert_eq!(task_value(&["outputs::hidden"]), json!({"hidden": true}));
    let (_, out, _) = drover(&["task", "show", "forgemod"]);
    assert!(out.contains("mode    Enum[greet, shout]"), "{out}");
    assert!(out.contains("times   Integer[1, 3]"), "{out}");
    assert!(out.contains("(default 1)"), "{out}");
    let (_, out, _) = drover(&["task", "show", "forgemod", "--format", "json"]);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        v["parameters"][0],
        json!({"name": "name", "type": "Pattern[/^[a-z]+$/]",
        "description": "Who to greet", "required": true, "sensitive": false, "default": null})
    );
    assert_eq!(v["parameters"][4]["sensitive"], true);
    assert_eq!(
        v["implementations"][1]["files"],
        json!(["forgemod/files/helper.sh"])
    );
    let (code, _, err) = drover(&["task", "show", "forgemod::gret"]);
    assert_eq!(code, 2);
    assert!(err.contains("unknown task `forgemod::gret`"), "{err}");
}

#[test]
fn check_rejects_bad_task_calls_with_the_declared_type() {
    let (code, _, err) = drover(&[
        "check",
        "diagnostics/task_wrong_type.plan",
        "diagnostics/task_missing_parameter.plan",
        "diagnostics/task_unknown_parameter.plan",
    ]);
    assert_eq!(code, 1);
    for wanted in [
        "parameter `times` of task `forgemod` is Integer[1, 3]: got 7",
        "`run_task` of `forgemod` is missing `mode` (Enum[greet, shout])",
        "task `forgemod` has no parameter `mod` (did you mean `mode`?)",
        "task_wrong_type.plan:4:74",
    ] {
        assert!(err.contains(wanted), "{wanted}\n{err}");
    }
}

#[test]
fn output_is_capped_and_a_task_that_lingers_is_stopped_by_its_timeout() {
    let v = task_value(&["outputs", "kind=flood"]);
    // 50 MiB of output: the first 8 MiB are kept, the rest counted.
    let kept = v["_output"].as_str().unwrap().len();
    assert_eq!(kept, drover::transport::OUTPUT_CAP);
    assert_eq!(
        v["_output_dropped_bytes"],
        52_428_800 - drover::transport::OUTPUT_CAP as u64
    );
    // A task that closes its output and sleeps: its timeout ends it, and
    // its process too.
    let plan = common::root().join("tests/local/linger.plan");
    let (code, out, err) = drover(&[
        "run",
        plan.to_str().unwrap(),
        "-i",
        "local/inventory.yaml",
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert_eq!(plan_result(&out)["value"], json!("drover/timeout"));
    assert!(
        !common::lingering("sleep 60"),
        "the task's process was left running"
    );
}

#[test]
fn a_sensitive_parameter_never_shows() {
    let secret = "open-sesame-4242";
    for format in ["human", "json"] {
        let (_, out, err) = drover(&[
            "task",
            "run",
            "forgemod",
            "-t",
            "localhost",
            "name=ann",
            "mode=greet",
            &format!("token={secret}"),
            "--format",
            format,
        ]);
        assert!(
            !out.contains(secret) && !err.contains(secret),
            "{out}\n{err}"
        );
        // Of the wrong type: the message does not show the value either.
        let (code, out, err) = drover(&[
            "task",
            "run",
            "forgemod",
            "-t",
            "localhost",
            "name=ann",
            "mode=greet",
            "--params",
            &format!("{{\"token\": [\"{secret}\"]}}"),
            "--format",
            format,
        ]);
        assert_eq!(code, 2);
        assert!(
            !out.contains(secret) && !err.contains(secret),
            "{out}\n{err}"
        );
        assert!(
            err.contains("parameter `token` of task `forgemod`"),
            "{err}"
        );
    }
    // A task's `_sensitive` output is redacted in every event.
    let (_, out, err) = drover(&[
        "task",
        "run",
        "outputs",
        "kind=secret",
        "-t",
        "localhost",
        "--format",
        "json",
    ]);
    assert!(out.contains("[sensitive]"), "{out}");
    assert!(
        !out.contains("hunter2") && !err.contains("hunter2"),
        "{out}\n{err}"
    );
}

#[test]
fn a_task_is_staged_once_per_target_per_run_in_a_private_directory_removed_at_the_end() {
    let plan = common::root().join("tests/local/staging.plan");
    let (code, out, err) = drover(&[
        "run",
        plan.to_str().unwrap(),
        "-i",
        "local/inventory.yaml",
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{out}\n{err}");
    let v = &plan_result(&out)["value"];
    // Three calls, one upload: the same file, not changed since (ctime in ns).
    let stamps = v["stamps"].as_array().unwrap();
    assert_eq!(stamps.len(), 3);
    assert!(stamps.iter().all(|s| s == &stamps[0]), "{stamps:?}");
    let path = v["path"].as_str().unwrap();
    // <run dir>/<content hash>/outputs/tasks/init.sh, the run dir made by mktemp.
    let run_dir = std::path::Path::new(path).ancestors().nth(4).unwrap();
    assert_eq!(v["mode"], "700");
    assert!(!run_dir.exists(), "{} was left behind", run_dir.display());
}

#[test]
fn stdlib_service_and_package_report_status_for_real() {
    let v = task_value(&["package", "action=status", "name=coreutils"]);
    assert_eq!(v["status"], "installed");
    assert!(!v["version"].as_str().unwrap().is_empty(), "{v}");
    let v = task_value(&["package", "action=status", "name=drover-no-such-package"]);
    assert_eq!(
        (&v["status"], &v["version"]),
        (&json!("absent"), &json!(""))
    );
    // A service this machine has an init script or unit for.
    let service = ["procps", "ssh", "cron", "dbus"]
        .into_iter()
        .find(|s| std::path::Path::new("/etc/init.d").join(s).exists())
        .expect("a service with an init script");
    let v = task_value(&["service", "action=status", &format!("name={service}")]);
    assert!(
        ["running", "stopped"].contains(&v["status"].as_str().unwrap()),
        "{v}"
    );
    // `_noop`: the task says what it would do and does nothing.
    let before = v["status"].clone();
    let v = task_value(&[
        "service",
        "action=stop",
        &format!("name={service}"),
        "--noop",
    ]);
    assert_eq!((&v["noop"], &v["status"]), (&json!(true), &before), "{v}");
    let (code, _, err) = drover(&[
        "task",
        "run",
        "http::check",
        "url=http://x/",
        "--noop",
        "-t",
        "localhost",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("does not support `_noop`"), "{err}");
    let (code, out, _) = drover(&[
        "task",
        "run",
        "service",
        "action=status",
        "name=drover-no-such-service",
        "-t",
        "localhost",
        "--format",
        "json",
    ]);
    assert_eq!(code, 1);
    let error = &plan_result(&out)["error"]["details"]["result_set"][0]["error"];
    assert_eq!(error["kind"], "drover.service/unknown", "{error}");
}

/// An HTTP server on loopback answering `status` with `body`; a request for
/// `/slow` is answered after 3 s. A thread per connection.
fn http_server(status: u16, body: &'static str) -> u16 {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                let n = stream.read(&mut buf).unwrap_or(0);
                if buf[..n].starts_with(b"GET /slow") {
                    std::thread::sleep(std::time::Duration::from_secs(3));
                }
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            });
        }
    });
    port
}

#[test]
fn stdlib_http_check_against_a_local_server() {
    let ok = http_server(200, "all systems go");
    let url = format!("url=http://127.0.0.1:{ok}/health");
    let v = task_value(&["http::check", &url, "body_match=systems? go"]);
    assert_eq!(
        v,
        json!({"url": format!("http://127.0.0.1:{ok}/health"), "status": 200, "matched": true, "attempts": 1})
    );
    let failing = http_server(503, "down");
    let (code, out, _) = drover(&[
        "task",
        "run",
        "http::check",
        &format!("url=http://127.0.0.1:{failing}/"),
        "retries=2",
        "delay=0",
        "-t",
        "localhost",
        "--format",
        "json",
    ]);
    assert_eq!(code, 1);
    let error = &plan_result(&out)["error"]["details"]["result_set"][0]["error"];
    assert_eq!(error["kind"], "drover.http/check-failed");
    assert_eq!(error["details"]["attempts"], 3);
    assert_eq!(error["details"]["status"], 503);
    let (code, _, err) = drover(&[
        "task",
        "run",
        "http::check",
        "url=ftp://x",
        "-t",
        "localhost",
    ]);
    assert_eq!(code, 2, "{err}");
}

/// A dry run of a stdlib plan on `tests/sim/inventory.yaml`:
/// (plan_result, every event).
fn simulate(args: &[&str]) -> (Value, Vec<Value>) {
    let mut all = vec!["run"];
    all.extend(args);
    all.extend(["-i", "sim/inventory.yaml", "--dry-run", "--format", "json"]);
    let (_, out, _) = drover(&all);
    let events = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (plan_result(&out), events)
}

#[test]
fn the_stdlib_reboot_plan_waits_for_a_new_boot_id() {
    // Every action takes 100 ms; a reboot keeps a machine down 9 s. Per
    // target: boot id 0.1 s, reboot task 0.1 s, wait_up polls every 2 s:
    // refused at +0 ... +8 s, up at +10 s and its no-op takes 0.1 s; boot id
    // again 0.1 s. Both targets at once: 10.4 s.
    let (r, _) = simulate(&["reboot", "targets=web"]);
    assert_eq!(
        (&r["status"], &r["duration_ms"]),
        (&json!("success"), &json!(10_400)),
        "{r}"
    );
    // A machine whose boot id never changes: 10 s / 2 s = 5 rounds of
    // wait_up 0.1 s + boot id 0.1 s + sleep 2 s after 0.2 s: fails at 11.2 s.
    let (r, _) = simulate(&["reboot", "targets=stuck", "reconnect_timeout=10s"]);
    assert_eq!(r["duration_ms"], 11_200, "{r}");
    let failed = &r["error"]["details"]["failed"][0]["error"];
    assert_eq!(failed["kind"], "drover/no-reboot", "{r}");
    assert_eq!(failed["details"]["boot_id"], "s1-boot-1");
}

#[test]
fn the_stdlib_rolling_reboot_is_predicted_step_by_step() {
    // Per server: drain 0.1 s, disable 0.1 s, the reboot plan 10.4 s,
    // health check 0.1 s, enable 0.1 s; two servers one after the other: 21.6 s.
    // What the plan does in which order, and on failures, is tested in the
    // plan language: tests/plan_tests/reboot_rolling_test.plan.
    let (r, events) = simulate(&[
        "reboot::rolling",
        "targets=web",
        "lb=lb1",
        "backend=app",
        "health_url=http://{host}:8080/health",
    ]);
    assert_eq!(
        (&r["status"], &r["duration_ms"]),
        (&json!("success"), &json!(21_600)),
        "{r}"
    );
    let steps: Vec<String> = events
        .iter()
        .filter(|e| e["type"] == "step_start" && e["targets"] == json!(["lb1"]))
        .map(|e| e["detail"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        steps,
        [
            "haproxy::drain",
            "haproxy::disable",
            "http::check",
            "haproxy::enable",
        ]
        .repeat(2)
    );
}

/// `haproxy::*` on `server` of backend `app`: the task's value, or its error.
fn haproxy(task: &str, socket: &std::path::Path, server: &str, extra: &[&str]) -> Value {
    let mut args = vec![
        "task".to_string(),
        "run".into(),
        format!("haproxy::{task}"),
        "backend=app".into(),
        format!("server={server}"),
        format!("socket={}", socket.display()),
        "-t".into(),
        "localhost".into(),
        "--format".into(),
        "json".into(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (_, out, _) = drover(&args);
    let result = &plan_result(&out);
    match result["status"].as_str() {
        Some("success") => result["value"][0]["value"].clone(),
        _ => result["error"]["details"]["result_set"][0]["error"].clone(),
    }
}

#[test]
fn stdlib_haproxy_tasks_against_a_real_haproxy() {
    let (one, two) = (http_server(200, "ok"), http_server(200, "ok"));
    // `dead`: nothing listens on its port.
    let dead = common::free_port();
    let proxy = common::HaProxy::start(&[("web1", one), ("web2", two), ("dead", dead)]);
    let socket = proxy.socket();
    let status = |server: &str| haproxy("status", &socket, server, &[]);
    // Health checks every 200 ms; wait for the first.
    let mut up = Value::Null;
    for _ in 0..50 {
        up = status("web1");
        if up["status"] == "UP" {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(
        up,
        json!({"backend": "app", "server": "web1", "status": "UP", "sessions": 0})
    );
    assert_eq!(haproxy("disable", &socket, "web2", &[])["status"], "MAINT");
    assert_eq!(status("web2")["status"], "MAINT");
    // A 3 s request through HAProxy lands on web1 (web2 is out): draining
    // web1 waits for it to end.
    let port = proxy.port;
    let request = std::thread::spawn(move || {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        write!(
            s,
            "GET /slow HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut answer = String::new();
        let _ = s.read_to_string(&mut answer);
        answer
    });
    for _ in 0..50 {
        if status("web1")["sessions"] == 1 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(status("web1")["sessions"], 1);
    let drained = haproxy("drain", &socket, "web1", &["timeout=20"]);
    assert_eq!(
        (&drained["status"], &drained["sessions"]),
        (&json!("DRAIN"), &json!(0)),
        "{drained}"
    );
    assert!(drained["waited_s"].as_u64().unwrap() >= 1, "{drained}");
    assert!(
        request.join().unwrap().starts_with("HTTP/1.1 200"),
        "the drained request finished"
    );
    // Back in rotation: `enable` returns once health checks say UP.
    for server in ["web1", "web2"] {
        assert_eq!(
            haproxy("enable", &socket, server, &[])["status"],
            "UP",
            "{server}"
        );
    }
    // A server whose checks fail is not UP in time: back in maintenance.
    let not_up = haproxy("enable", &socket, "dead", &["wait=1"]);
    assert_eq!(not_up["kind"], "drover.haproxy/not-up", "{not_up}");
    assert_eq!(status("dead")["status"], "MAINT");
    // A drain that cannot finish in time, an unknown server, no socket.
    let slow = std::thread::spawn(move || {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        write!(
            s,
            "GET /slow HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let _ = s.read_to_end(&mut Vec::new());
    });
    std::thread::sleep(std::time::Duration::from_millis(300));
    let server = if status("web1")["sessions"] == 1 {
        "web1"
    } else {
        "web2"
    };
    let timed_out = haproxy("drain", &socket, server, &["timeout=1"]);
    assert_eq!(
        timed_out["kind"], "drover.haproxy/drain-timeout",
        "{timed_out}"
    );
    assert_eq!(timed_out["details"]["sessions"], 1);
    slow.join().unwrap();
    assert_eq!(
        haproxy("status", &socket, "web9", &[])["kind"],
        "drover.haproxy/unknown-server"
    );
    let none = std::path::Path::new("/nonexistent/admin.sock");
    assert_eq!(
        haproxy("status", none, "web1", &[])["kind"],
        "drover.haproxy/no-socket"
    );
}

/// A task that exits without reading its input: writing the rest of the
/// input fails with a broken pipe, which must not kill drover (it did when
/// SIGPIPE had its default action).
#[test]
fn a_task_that_ignores_its_input_does_not_kill_the_run() {
    let blob = format!("blob={}", "x".repeat(100_000));
    for _ in 0..3 {
        assert_eq!(task_value(&["outputs::deaf", &blob]), json!({"deaf": true}));
    }
}
