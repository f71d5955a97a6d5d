//! A thousand SSH targets (63 sshd processes, 16 addresses each) from one
//! controller whose soft open-files limit is the default 1024, with at most
//! 200 idle connections: everything succeeds, and the sshd side never sees
//! more than 200 + concurrency connections at once. Needs root.
//!
//! (A ten-step plan over all 1000 targets with the cap of 200 reconnects
//! about 800 targets per step: ~8,000 handshakes, minutes in a debug build;
//! not here until the handshakes are cheaper, see docs/ssh.md.)

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use common::{Bed, plan_result};

/// `bed.inventory_with`, with a connect timeout for a loaded machine: a
/// hundred handshakes at once in a debug build, on two cores.
fn inventory(bed: &Bed, name: &str, ssh: &str) -> std::path::PathBuf {
    let path = bed.inventory_with(name, ssh);
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        text.replace("connect-timeout: 5", "connect-timeout: 30"),
    )
    .unwrap();
    path
}

/// Established connections to the bed's sshd processes right now.
fn connections(first: u8) -> usize {
    let out = std::process::Command::new("ss")
        .args(["-Htn", "state", "established", "( sport = :2222 )"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains(&format!(" 127.{first}.")))
        .count()
}

/// `drover ARGS` under `ulimit -Sn 1024` (and `-Hn` too when `hard`),
/// while a thread samples the open connections: (exit, stdout, stderr, peak).
fn run_limited(first: u8, hard: bool, args: &[&str]) -> (i32, String, String, usize) {
    let done = Arc::new(AtomicBool::new(false));
    let peak = Arc::new(AtomicUsize::new(0));
    let sampler = {
        let (done, peak) = (done.clone(), peak.clone());
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                peak.fetch_max(connections(first), Ordering::Relaxed);
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
        })
    };
    let limit = if hard {
        "ulimit -Sn 1024; ulimit -Hn 1024"
    } else {
        "ulimit -Sn 1024"
    };
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{limit}; exec \"$0\" \"$@\""))
        .arg(env!("CARGO_BIN_EXE_drover"))
        .args(args)
        .current_dir(common::root().join("tests"))
        .output()
        .unwrap();
    done.store(true, Ordering::Relaxed);
    sampler.join().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        peak.load(Ordering::Relaxed),
    )
}

#[test]
fn a_thousand_targets_within_the_open_files_limit_and_the_idle_cap() {
    let bed = Bed::start(65, 1000, 16);
    let capped = inventory(
        &bed,
        "capped.yaml",
        &format!(
            "    private-key: {0}/keys/id_ed25519\n    known-hosts: {0}/known_hosts\n    idle-connections: 200\n",
            bed.dir.display()
        ),
    );
    let inv = capped.to_str().unwrap();
    let concurrency = 100;
    let (code, out, err, peak) = run_limited(
        65,
        false,
        &[
            "command", "run", "true", "-t", "bed", "-i", inv, "--format", "json",
        ],
    );
    let r = plan_result(&out);
    assert_eq!(code, 0, "{err}");
    assert_eq!(r["value"].as_array().unwrap().len(), 1000);
    assert!(peak <= 200 + concurrency, "{peak} connections open at once");
    assert!(peak > 0, "the sampler saw the connections");

    // The hard limit 1024 too, and no cap given: drover says so and keeps
    // at most half the limit open.
    let uncapped = inventory(
        &bed,
        "uncapped.yaml",
        &format!(
            "    private-key: {0}/keys/id_ed25519\n    known-hosts: {0}/known_hosts\n",
            bed.dir.display()
        ),
    );
    let (code, out, err, peak) = run_limited(
        65,
        true,
        &[
            "command",
            "run",
            "true",
            "-t",
            "bed",
            "-i",
            uncapped.to_str().unwrap(),
            "--format",
            "json",
        ],
    );
    assert_eq!(code, 0, "{err}\n{out}");
    assert!(err.contains("the open-files limit is 1024"), "{err}");
    assert!(peak <= 512 + concurrency, "{peak} connections open at once");
}
