//! The ssh transport against real OpenSSH sshd processes on loopback
//! (`scripts/sshbed.sh`; needs root, as `.ci/run` is).

mod common;

use std::path::PathBuf;
use std::process::Stdio;

use assert_cmd::Command;
use common::{Bed, drover_in_tests as drover, plan_result};
use serde_json::{Value, json};

/// `drover command run CMD -t SPEC -i INVENTORY --format json`: the plan_result.
fn command(cmd: &str, spec: &str, inventory: &std::path::Path) -> Value {
    common::command_run(cmd, spec, inventory).1
}

/// The bed's inventory with the test user's sudo password (`run-as` tests).
fn sudo_inventory(bed: &Bed) -> PathBuf {
    bed.inventory_with(
        "sudo.yaml",
        &format!(
            "    private-key: {}\n    known-hosts: {}\n    sudo-password: drover-bed-password\n",
            bed.dir.join("keys/id_ed25519").display(),
            bed.dir.join("known_hosts").display()
        ),
    )
}

/// The error of the first target of a failed plan_result.
fn first_error(result: &Value) -> &Value {
    &result["error"]["details"]["result_set"][0]["error"]
}

#[test]
fn ten_steps_on_twenty_targets_make_twenty_handshakes() {
    let bed = Bed::start(21, 20, 16);
    let payload = common::ssh_payload();
    let sum = common::sha256(&payload);
    let mode = {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(&payload).unwrap().permissions().mode() & 0o777
    };
    let (code, out, err) = drover(&[
        "run",
        "ssh/ten_steps.plan",
        "targets=bed",
        "tag=ten",
        "-i",
        bed.inventory().to_str().unwrap(),
        "--format",
        "json",
    ]);
    let mut result = plan_result(&out);
    assert_eq!(code, 0, "{result}\n{err}");
    assert_removed(result["value"]["paths"].take());
    result["value"].as_object_mut().unwrap().remove("paths");
    assert_eq!(
        result["value"],
        json!({
            "one": true, "env": [true], "echo": [true], "staged_once": [true], "last": 20,
            "script": "[it's $(id) `id` \"q\" \\ \nünï ☃ $HOME]\n[two words]\n[]\n",
            "sums": [format!("{sum}\n{mode:o}\n")],
        })
    );
    assert_eq!(
        bed.handshakes(),
        20,
        "one connection per target for the whole run"
    );
}

/// The task files of every path a task reported are gone after the run.
fn assert_removed(paths: serde_json::Value) {
    let paths = paths.as_array().expect("the task's paths").clone();
    assert!(paths.len() >= 2, "{paths:?}");
    for path in paths {
        let path = path.as_str().unwrap();
        assert!(path.starts_with('/'), "{path}");
        assert!(
            !std::path::Path::new(path).exists(),
            "{path} was left behind"
        );
    }
}

#[test]
fn an_idle_cap_below_the_fleet_reconnects_on_demand() {
    // Ten steps each over all 20 targets in turn, at most 5 operations at
    // once and 4 idle connections: every step reopens what the cap closed,
    // the cap removed the task files with the connection (so the next call
    // stages them again, at a new path), and the sshd side never sees more
    // than 4 + 5 connections.
    let bed = Bed::start(25, 20, 16);
    let payload = common::ssh_payload();
    let inv = bed.inventory_with(
        "capped.yaml",
        &format!(
            "    private-key: {0}/keys/id_ed25519\n    known-hosts: {0}/known_hosts\n    idle-connections: 4\n",
            bed.dir.display()
        ),
    );
    let ((code, out, err), peak) = bed.peak_connections(|| {
        drover(&[
            "run",
            "ssh/ten_steps.plan",
            "targets=bed",
            "tag=capped",
            "-i",
            inv.to_str().unwrap(),
            "--concurrency",
            "5",
            "--format",
            "json",
        ])
    });
    let mut result = plan_result(&out);
    assert_eq!(code, 0, "{result}\n{err}");
    assert_eq!(result["value"]["staged_once"], json!([false]), "{result}");
    assert_eq!(result["value"]["echo"], json!([true]), "{result}");
    assert_eq!(result["value"]["last"], 20);
    assert_eq!(
        result["value"]["sums"][0].as_str().unwrap().lines().next(),
        Some(common::sha256(&payload).as_str())
    );
    assert_removed(result["value"]["paths"].take());
    assert!(peak <= 4 + 5, "{peak} connections open at once");
    let logins = bed.handshakes();
    assert!(logins > 100, "{logins} logins: the cap closed and reopened");
}

#[test]
fn host_keys_unknown_changed_and_accept_new() {
    let bed = Bed::start(22, 1, 1);
    let key = bed.dir.join("keys/id_ed25519");
    let target = &bed.targets[0];
    // Unknown: an empty known_hosts.
    let empty = bed.dir.join("empty_known_hosts");
    std::fs::write(&empty, "").unwrap();
    let inv = bed.inventory_with(
        "unknown.yaml",
        &format!(
            "    private-key: {}\n    known-hosts: {}\n",
            key.display(),
            empty.display()
        ),
    );
    let r = command("true", "bed", &inv);
    let e = first_error(&r);
    assert_eq!(e["kind"], "drover/host-key", "{r}");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("is not a known host"),
        "{e}"
    );
    // Changed: known_hosts records another key for this host and port.
    let other = std::fs::read_to_string(bed.dir.join("keys/id_stranger.pub")).unwrap();
    let other: Vec<&str> = other.split(' ').take(2).collect();
    let changed = bed.dir.join("changed_known_hosts");
    std::fs::write(
        &changed,
        format!("[{target}]:2222 {} {}\n", other[0], other[1]),
    )
    .unwrap();
    let inv = bed.inventory_with(
        "changed.yaml",
        &format!(
            "    private-key: {}\n    known-hosts: {}\n",
            key.display(),
            changed.display()
        ),
    );
    let r = command("true", "bed", &inv);
    let e = first_error(&r);
    assert_eq!(e["kind"], "drover/host-key", "{r}");
    let message = e["message"].as_str().unwrap();
    let fingerprint = |file: &str| {
        let out = std::process::Command::new("ssh-keygen")
            .args(["-l", "-E", "sha256", "-f"])
            .arg(bed.dir.join(file))
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout)
            .split(' ')
            .nth(1)
            .unwrap()
            .to_string()
    };
    assert!(message.contains("CHANGED"), "{message}");
    assert!(
        message.contains(&fingerprint("keys/id_stranger.pub")),
        "{message}"
    );
    assert!(
        message.contains(&fingerprint("keys/host_ed25519.pub")),
        "{message}"
    );
    // accept-new records the key, and a strict run trusts it afterwards.
    let learned = bed.dir.join("learned_known_hosts");
    let inv = bed.inventory_with(
        "accept.yaml",
        &format!(
            "    private-key: {}\n    known-hosts: {}\n    host-key-check: accept-new\n",
            key.display(),
            learned.display()
        ),
    );
    assert_eq!(command("true", "bed", &inv)["status"], "success");
    assert!(
        std::fs::read_to_string(&learned)
            .unwrap()
            .contains(&format!("[{target}]:2222 ssh-ed25519 "))
    );
    let inv = bed.inventory_with(
        "strict.yaml",
        &format!(
            "    private-key: {}\n    known-hosts: {}\n",
            key.display(),
            learned.display()
        ),
    );
    assert_eq!(command("true", "bed", &inv)["status"], "success");
    // Hashed entries (`ssh-keygen -H`) are matched too.
    let hashed = bed.dir.join("hashed_known_hosts");
    std::fs::copy(bed.dir.join("known_hosts"), &hashed).unwrap();
    let status = std::process::Command::new("ssh-keygen")
        .args(["-q", "-H", "-f"])
        .arg(&hashed)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    assert!(std::fs::read_to_string(&hashed).unwrap().starts_with("|1|"));
    let inv = bed.inventory_with(
        "hashed.yaml",
        &format!(
            "    private-key: {}\n    known-hosts: {}\n",
            key.display(),
            hashed.display()
        ),
    );
    assert_eq!(command("true", "bed", &inv)["status"], "success");
    // Checking off: it works, and says so once.
    let inv = bed.inventory_with(
        "off.yaml",
        &format!(
            "    private-key: {}\n    known-hosts: {}\n    host-key-check: false\n",
            key.display(),
            empty.display()
        ),
    );
    let (code, _, err) = drover(&[
        "command",
        "run",
        "true",
        "-t",
        "bed",
        "-i",
        inv.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(err.matches("host-key-check is off").count(), 1, "{err}");
}

#[test]
fn every_key_type_the_agent_and_passwords() {
    let bed = Bed::start(23, 1, 1);
    let known = bed.dir.join("known_hosts");
    for (name, extra) in [
        ("id_ed25519", ""),
        ("id_ecdsa", ""),
        ("id_rsa", ""),
        ("id_encrypted", "    passphrase: bed-passphrase\n"),
    ] {
        let inv = bed.inventory_with(
            &format!("{name}.yaml"),
            &format!(
                "    private-key: {}\n    known-hosts: {}\n{extra}",
                bed.dir.join("keys").join(name).display(),
                known.display()
            ),
        );
        let r = command("id -un", "bed", &inv);
        assert_eq!(
            r["value"][0]["value"]["stdout"], "drover-test\n",
            "{name}: {r}"
        );
    }
    // The key data itself in the inventory.
    let data = std::fs::read_to_string(bed.dir.join("keys/id_ecdsa")).unwrap();
    let indented: String = data.lines().map(|l| format!("        {l}\n")).collect();
    let inv = bed.inventory_with(
        "data.yaml",
        &format!(
            "    private-key:\n      key-data: |\n{indented}    known-hosts: {}\n",
            known.display()
        ),
    );
    assert_eq!(command("true", "bed", &inv)["status"], "success");
    // An encrypted key without its passphrase says so.
    let inv = bed.inventory_with(
        "nopass.yaml",
        &format!(
            "    private-key: {}\n    known-hosts: {}\n",
            bed.dir.join("keys/id_encrypted").display(),
            known.display()
        ),
    );
    let r = command("true", "bed", &inv);
    let e = first_error(&r);
    assert_eq!(e["kind"], "drover/auth-failed", "{r}");
    assert!(
        e["message"].as_str().unwrap().contains("it is encrypted"),
        "{e}"
    );
    // A key the server does not know: the error names the target and what was tried.
    let stranger = bed.dir.join("keys/id_stranger");
    let inv = bed.inventory_with(
        "stranger.yaml",
        &format!(
            "    private-key: {}\n    known-hosts: {}\n",
            stranger.display(),
            known.display()
        ),
    );
    let r = command("true", "bed", &inv);
    let e = first_error(&r);
    assert_eq!(e["kind"], "drover/auth-failed");
    let message = e["message"].as_str().unwrap();
    assert!(message.contains(&bed.targets[0]), "{message}");
    assert!(
        message.contains(&format!("publickey ({})", stranger.display())),
        "{message}"
    );
    // Passwords: right and wrong; the password is in no output.
    let inv = bed.inventory_with(
        "password.yaml",
        &format!(
            "    private-key: {}\n    password: drover-bed-password\n    known-hosts: {}\n",
            stranger.display(),
            known.display()
        ),
    );
    let (code, out, err) = drover(&[
        "command",
        "run",
        "id -un",
        "-t",
        "bed",
        "-i",
        inv.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(!out.contains("drover-bed-password") && !err.contains("drover-bed-password"));
    let inv = bed.inventory_with(
        "wrong.yaml",
        &format!(
            "    private-key: {}\n    password: not-the-password\n    known-hosts: {}\n",
            stranger.display(),
            known.display()
        ),
    );
    let r = command("true", "bed", &inv);
    let message = first_error(&r)["message"].as_str().unwrap().to_string();
    assert!(message.ends_with(", password"), "{message}");
    assert!(!message.contains("not-the-password"), "{message}");
    // The agent holds the key: no key in the inventory.
    let agent_dir = bed.dir.join("agent");
    std::fs::create_dir_all(&agent_dir).unwrap();
    let sock = agent_dir.join("sock");
    let mut agent = std::process::Command::new("ssh-agent")
        .args(["-D", "-a"])
        .arg(&sock)
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    for _ in 0..100 {
        if sock.exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let added = std::process::Command::new("ssh-add")
        .arg(bed.dir.join("keys/id_ed25519"))
        .env("SSH_AUTH_SOCK", &sock)
        .output()
        .unwrap();
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    let inv = bed.inventory_with(
        "agent.yaml",
        &format!("    known-hosts: {}\n", known.display()),
    );
    let out = Command::cargo_bin("drover")
        .unwrap()
        .args([
            "command",
            "run",
            "id -un",
            "-t",
            "bed",
            "-i",
            inv.to_str().unwrap(),
            "--format",
            "json",
        ])
        .env("SSH_AUTH_SOCK", &sock)
        .env("HOME", &agent_dir)
        .output()
        .unwrap();
    let _ = agent.kill();
    let _ = agent.wait();
    let r = plan_result(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(r["status"], "success", "{r}");
}

#[test]
fn a_lost_connection_fails_only_its_target_and_the_next_action_reconnects() {
    let bed = Bed::start(24, 3, 1);
    let inv = bed.inventory();
    let run = common::spawn_in_tests(&[
        "run",
        "ssh/lost.plan",
        "-i",
        inv.to_str().unwrap(),
        "--format",
        "json",
    ]);
    // The plan runs `sleep 3` everywhere; kill the first target's sshd and
    // its sessions meanwhile, then bring it back.
    std::thread::sleep(std::time::Duration::from_millis(1500));
    bed.script(&["stop-target", "0"]);
    bed.script(&["start-target", "0"]);
    let out = run.wait_with_output().unwrap();
    let r = plan_result(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(
        r["status"],
        "success",
        "{r}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = &r["value"];
    assert_eq!(v["first"], json!([false, true, true]), "{r}");
    assert_eq!(v["kinds"], json!(["drover/connection-lost"]), "{r}");
    assert_eq!(v["then"], json!(true), "the next action reconnects: {r}");
}

#[test]
fn a_server_that_never_speaks_ssh_times_out_at_connect_timeout() {
    let listener = std::net::TcpListener::bind("127.25.0.2:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let held = std::thread::spawn(move || listener.accept().map(|(s, _)| s));
    let dir = std::env::temp_dir().join(format!("drover-mute-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let inv = dir.join("inventory.yaml");
    std::fs::write(
        &inv,
        format!("config:\n  ssh:\n    connect-timeout: 1\n    host-key-check: false\ntargets:\n  - ssh://nobody@127.25.0.2:{port}\n"),
    )
    .unwrap();
    let r = command("true", "all", &inv);
    let e = first_error(&r);
    assert_eq!(e["kind"], "drover/connect-failed", "{r}");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("within 1s (connect-timeout)"),
        "{e}"
    );
    drop(held);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_timeout_leaves_no_process_on_the_target() {
    let bed = Bed::start(26, 1, 1);
    let (code, result, err) = common::run_plan("ssh/timeout.plan", &[], &bed.inventory());
    assert_eq!(code, 0, "{result}{err}");
    assert_eq!(
        result["value"],
        json!([
            "drover/timeout",
            "drover/timeout",
            "the command was killed by signal 9"
        ])
    );
    assert!(
        !common::lingering("sleep 61.25"),
        "the remote command is still running"
    );
    assert!(
        !common::lingering("sleep 62.25"),
        "the command's child is still running"
    );
}

#[test]
fn wait_up_sees_a_restarted_target_only_once_it_is_back() {
    let bed = Bed::start(27, 1, 1);
    bed.script(&["stop-target", "0"]);
    let mut run = common::spawn_in_tests(&[
        "run",
        "ssh/wait.plan",
        "-i",
        bed.inventory().to_str().unwrap(),
        "--format",
        "json",
    ]);
    std::thread::sleep(std::time::Duration::from_millis(2000));
    assert!(
        run.try_wait().unwrap().is_none(),
        "wait_up finished while the target was down"
    );
    bed.script(&["start-target", "0"]);
    let out = run.wait_with_output().unwrap();
    let r = plan_result(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(r["value"], json!("drover-test\n"), "{r}");
}

#[test]
fn run_as_through_sudo_with_a_password_that_shows_nowhere() {
    let bed = Bed::start(28, 1, 1);
    let inv = sudo_inventory(&bed);
    let size = std::fs::metadata(common::root().join("tests/ssh/args.sh"))
        .unwrap()
        .len();
    for format in ["json", "human"] {
        let (code, out, err) = drover(&[
            "run",
            "ssh/run_as.plan",
            "-i",
            inv.to_str().unwrap(),
            "--format",
            format,
        ]);
        assert_eq!(code, 0, "{out}{err}");
        assert!(
            !out.contains("drover-bed-password") && !err.contains("drover-bed-password"),
            "{out}{err}"
        );
        if format == "json" {
            assert_eq!(
                plan_result(&out)["value"],
                json!({"user": "root\n", "as_login": format!("drover-test\n{size}\n"), "task_stdin": true, "task_user": "root"})
            );
        }
    }
}

#[test]
fn channels_per_target_stay_under_max_sessions() {
    let bed = Bed::start(29, 1, 1);
    let key = bed.dir.join("keys/id_ed25519");
    let known = bed.dir.join("known_hosts");
    let run = |max: usize| {
        let inv = bed.inventory_with(
            &format!("max{max}.yaml"),
            &format!(
                "    private-key: {}\n    known-hosts: {}\n    max-sessions: {max}\n",
                key.display(),
                known.display()
            ),
        );
        common::run_plan("ssh/sessions.plan", &[], &inv).1["value"].clone()
    };
    // The default (8) stays under the bed's MaxSessions 10: every command runs.
    assert_eq!(run(8), json!([true]));
    // Past it, sshd refuses channels: the limit is what keeps them all working.
    assert!(run(12).as_array().unwrap().contains(&json!(false)));
}

#[test]
fn secrets_in_the_environment_are_on_no_command_line() {
    let bed = Bed::start(31, 1, 1);
    // sshd logs each command it is asked to run, and sudo logs what it runs.
    let commands = log_sessions(&bed);
    let sudo_log = bed.dir.join("sudo.log");
    /// Removes the sudo log setting however the test ends.
    struct SudoLog(PathBuf);
    impl Drop for SudoLog {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }
    let rule = PathBuf::from("/etc/sudoers.d/drover-test-log");
    std::fs::write(
        &rule,
        format!("Defaults:drover-test logfile={}\n", sudo_log.display()),
    )
    .unwrap();
    let _rule = SudoLog(rule);
    let inv = sudo_inventory(&bed);
    let (code, result, err) = common::run_plan("ssh/secret_env.plan", &["token=open-sesame"], &inv);
    assert_eq!(code, 0, "{result}{err}");
    assert_eq!(
        result["value"],
        json!([true, true, "drover-test\n", "root\n", "0\n", "0\n"]),
        "{result}"
    );
    let asked = std::fs::read_to_string(&commands).unwrap();
    let ran = std::fs::read_to_string(&sudo_log).unwrap();
    assert!(
        asked.contains("echo $$") || asked.contains("drover_n"),
        "{asked}"
    );
    assert!(ran.contains("COMMAND="), "{ran}");
    assert!(!asked.contains("open-sesame"), "sshd ran:\n{asked}");
    assert!(!ran.contains("open-sesame"), "sudo ran:\n{ran}");
}

/// Make the bed's first sshd log each session's command (ForceCommand, then
/// the command as asked) to the file returned, separated by `---` lines.
fn log_sessions(bed: &Bed) -> PathBuf {
    let logger = bed.dir.join("log-command");
    let commands = bed.dir.join("commands.log");
    std::fs::write(
        &logger,
        format!(
            "#!/bin/sh\nprintf '%s\\n---\\n' \"$SSH_ORIGINAL_COMMAND\" >> {0}\nexec /bin/sh -c \"$SSH_ORIGINAL_COMMAND\"\n",
            commands.display()
        ),
    )
    .unwrap();
    std::fs::write(&commands, "").unwrap();
    use std::os::unix::fs::PermissionsExt;
    let mode = |path: &PathBuf, m: u32| {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(m)).unwrap()
    };
    mode(&logger, 0o755);
    // Written by the test user's sessions.
    mode(&commands, 0o666);
    let conf = bed.dir.join("sshd-0.conf");
    let mut text = std::fs::read_to_string(&conf).unwrap();
    text.push_str(&format!("ForceCommand {}\n", logger.display()));
    std::fs::write(&conf, text).unwrap();
    bed.script(&["restart", "0"]);
    commands
}

#[test]
fn a_targets_commands_uploads_tasks_and_scripts_share_one_session() {
    let bed = Bed::start(35, 1, 1);
    let commands = log_sessions(&bed);
    // 5 MB of random bytes: many windows' worth through the shell's stream.
    let big = bed.dir.join("big.bin");
    let status = std::process::Command::new("head")
        .args(["-c", "5000000", "/dev/urandom"])
        .stdout(std::fs::File::create(&big).unwrap())
        .status()
        .unwrap();
    assert!(status.success());
    let sessions = |inventory: &std::path::Path| {
        std::fs::write(&commands, "").unwrap();
        let dest = format!("/tmp/drover-one-session-{}", std::process::id());
        let (code, result, err) = common::run_plan(
            "ssh/one_session.plan",
            &[&format!("dest={dest}"), &format!("big={}", big.display())],
            inventory,
        );
        assert_eq!(code, 0, "{result}{err}");
        assert_eq!(
            result["value"],
            json!([
                "first\n",
                "hello ann",
                true,
                "700",
                "[a b]\n[c]\n",
                format!(
                    "{}\n",
                    common::sha256(&common::root().join("tests/ssh/args.sh"))
                ),
                false,
                format!("{}\n", common::sha256(&big)),
                3_000_000
            ])
        );
        let log = std::fs::read_to_string(&commands).unwrap();
        (log.matches("\n---\n").count(), log)
    };
    // The first command starts the shell; the uploads, the task's staging
    // and run, the script's, the later commands and the removal of the task
    // files at the end all go down it.
    let (on, log) = sessions(&keyed_inventory(&bed, "on.yaml", ""));
    assert_eq!(on, 1, "{log}");
    let (off, log) = sessions(&keyed_inventory(
        &bed,
        "off.yaml",
        "    persistent-shell: false\n",
    ));
    assert!(off >= 10, "{log}");
}

/// Run `ssh/input_first.plan` on `bed` (whose sessions `commands` logs),
/// check its result: how many sessions sshd started.
fn input_first(bed: &Bed, commands: &std::path::Path) -> usize {
    std::fs::write(commands, "").unwrap();
    let dest = format!("/tmp/drover-input-first-{}", std::process::id());
    let inventory = keyed_inventory(bed, "input_first.yaml", "");
    let (code, result, err) = common::run_plan(
        "ssh/input_first.plan",
        &[&format!("dest={dest}")],
        &inventory,
    );
    assert_eq!(code, 0, "{result}{err}");
    let sum = common::sha256(&common::root().join("tests/ssh/args.sh"));
    assert_eq!(
        result["value"],
        json!(["hello ann", true, format!("{sum}\n")])
    );
    let log = std::fs::read_to_string(commands).unwrap();
    log.matches("\n---\n").count()
}

#[test]
fn a_first_step_with_input_starts_the_shell_unless_the_target_cannot_keep_one() {
    // The task's staging starts the shell with its files as input.
    let bed = Bed::start(36, 1, 1);
    let commands = log_sessions(&bed);
    assert_eq!(input_first(&bed, &commands), 1);
    // Without `setsid` the shell refuses it unrun: it goes to a channel of
    // its own, as everything after it.
    let plain = Bed::with_env(37, 1, &[("SSHBED_HIDE", "setsid")]);
    let commands = log_sessions(&plain);
    let sessions = input_first(&plain, &commands);
    assert!(sessions >= 5, "{sessions}");
}

#[test]
fn a_first_call_waits_for_nothing_but_files_and_works_without_head() {
    // A script's first call stages and runs in one exec; an action staging
    // files on the target meanwhile (another bundle, then the same one)
    // waits for its files, not its end: the first waits for the last.
    let bed = Bed::start(38, 1, 1);
    let flag = format!("/tmp/drover-meet-{}", std::process::id());
    let (code, result, err) = common::run_plan(
        "ssh/meet.plan",
        &[&format!("flag={flag}")],
        &bed.inventory(),
    );
    assert_eq!(code, 0, "{result}{err}");
    assert_eq!(
        result["value"],
        json!(["met\n", "[other bundle]\n", "made\n", "/nowhere hi\n"])
    );
    // Without `head` the files cannot be cut from the stream: they are
    // staged in an exec of their own, and the task runs as it would;
    // without `tar` (the task has a helper file) they go one by one.
    for (first, hide) in [(39, "head"), (41, "tar")] {
        let bed = Bed::with_env(first, 1, &[("SSHBED_HIDE", hide)]);
        // Its results are checked.
        input_first(&bed, &log_sessions(&bed));
    }
}

#[test]
fn task_files_go_under_tmpdir_and_leave_nothing_behind() {
    let bed = Bed::start(40, 1, 1);
    let tmp = bed.dir.join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o1777)).unwrap();
    let inventory = keyed_inventory(
        &bed,
        "tmpdir.yaml",
        &format!("    tmpdir: {}/\n", tmp.display()),
    );
    let (code, result, err) = common::run_plan("ssh/where.plan", &[], &inventory);
    assert_eq!(code, 0, "{result}{err}");
    let path = result["value"].as_str().unwrap();
    let name = path.strip_prefix(&format!("{}/drover.", tmp.display()));
    assert!(name.is_some_and(|n| n.len() > 32), "{path}");
    assert_eq!(std::fs::read_dir(&tmp).unwrap().count(), 0, "left behind");
    // Bolt's default is /tmp.
    let (code, result, err) = common::run_plan("ssh/where.plan", &[], &bed.inventory());
    assert_eq!(code, 0, "{result}{err}");
    assert!(
        result["value"]
            .as_str()
            .unwrap()
            .starts_with("/tmp/drover.")
    );
    let bad = keyed_inventory(&bed, "bad.yaml", "    tmpdir: ''\n");
    let (code, result, err) = common::run_plan("ssh/where.plan", &[], &bad);
    assert_ne!(code, 0);
    assert!(
        format!("{result}{err}").contains("config.ssh.tmpdir must be a directory on the target"),
        "{result}{err}"
    );
}

/// The bed's inventory with its key and known hosts, and `extra` settings.
fn keyed_inventory(bed: &Bed, name: &str, extra: &str) -> PathBuf {
    bed.inventory_with(
        name,
        &format!(
            "    private-key: {}\n    known-hosts: {}\n{extra}",
            bed.dir.join("keys/id_ed25519").display(),
            bed.dir.join("known_hosts").display()
        ),
    )
}

/// `ssh/one_shell.plan` on the bed of `inventory`: per command, its parent
/// and the parent's name, whether it leads its own process group (a timeout
/// kills it alone), what it read from its standard input.
fn shell_parents(inventory: &std::path::Path) -> Vec<(String, String, bool, String)> {
    let (code, result, err) = common::run_plan("ssh/one_shell.plan", &[], inventory);
    assert_eq!(code, 0, "{result}{err}");
    result["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            let f: Vec<&str> = l.as_str().unwrap().split(' ').collect();
            let read = f.get(4).copied().unwrap_or("").to_string();
            (f[0].to_string(), f[1].to_string(), f[2] == f[3], read)
        })
        .collect()
}

#[test]
fn plain_commands_share_one_persistent_shell_unless_it_is_turned_off() {
    let bed = Bed::start(33, 1, 1);
    // The first command's channel becomes the shell: one shell runs them
    // all, each command leading its own process group.
    let on = shell_parents(&keyed_inventory(&bed, "on.yaml", ""));
    assert!(
        on.iter()
            .all(|c| c.0 == on[0].0 && c.1 == "sh" && c.2 && c.3.is_empty()),
        "{on:?}"
    );
    // Off: sshd starts a session for each.
    let off = shell_parents(&keyed_inventory(
        &bed,
        "off.yaml",
        "    persistent-shell: false\n",
    ));
    assert!(
        off.iter().all(|c| c.1 == "sshd" && c.2 && c.3.is_empty()),
        "{off:?}"
    );
}

#[test]
fn a_target_without_setsid_runs_every_command_on_a_channel_of_its_own() {
    let bed = Bed::with_env(34, 1, &[("SSHBED_HIDE", "setsid")]);
    let seen = shell_parents(&keyed_inventory(&bed, "plain.yaml", ""));
    assert_eq!(seen.len(), 8);
    assert!(
        seen.iter().all(|c| c.1 == "sshd" && c.2 && c.3.is_empty()),
        "{seen:?}"
    );
}
