//! A thousand SSH targets (63 sshd processes, 16 addresses each) from one
//! controller whose soft open-files limit is the default 1024, with at most
//! 200 idle connections: one command and a ten-step plan succeed on every
//! target, and the sshd side never sees more than 200 + concurrency
//! connections at once. Needs root.
//!
//! The ten steps run a hundred targets at a time, as a plan for a large
//! fleet does. Ten steps each over all 1000 targets in turn would reconnect
//! about 800 targets per step with this cap (~8,000 logins, minutes in a
//! debug build); tests/ssh.rs runs that shape on 20 targets with a cap of 4.

mod common;

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

/// `drover ARGS` under `ulimit -Sn 1024` (and `-Hn` too when `hard`),
/// while the bed's open connections are sampled: (exit, stdout, stderr,
/// peak).
fn run_limited(bed: &Bed, hard: bool, args: &[&str]) -> (i32, String, String, usize) {
    let limit = if hard {
        "ulimit -Sn 1024; ulimit -Hn 1024"
    } else {
        "ulimit -Sn 1024"
    };
    let (out, peak) = bed.peak_connections(|| {
        std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("{limit}; exec \"$0\" \"$@\""))
            .arg(env!("CARGO_BIN_EXE_drover"))
            .args(args)
            .current_dir(common::root().join("tests"))
            .output()
            .unwrap()
    });
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        peak,
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
        &bed,
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
    let logins = bed.handshakes();
    assert_eq!(logins, 1000, "one login per target");

    // Ten steps on each target, a hundred targets at a time: every target
    // runs all ten; idle connections beyond the cap close as targets finish.
    let (code, out, err, peak) = run_limited(
        &bed,
        false,
        &[
            "run",
            "ssh/rolling_ten.plan",
            "targets=bed",
            "tag=fleet",
            "-i",
            inv,
            "--format",
            "json",
        ],
    );
    let r = plan_result(&out);
    assert_eq!(code, 0, "{err}\n{r}");
    assert_eq!(
        r["value"],
        serde_json::json!([[
            "one\n",
            true,
            "[it's $(id) `id` \"q\" \\ \nünï ☃ $HOME]\n[two words]\n[]\n",
            format!(
                "{}\n",
                common::sha256(&common::root().join("tests/ssh/args.sh"))
            ),
            true,
            true
        ]]),
        "every target ran every step"
    );
    assert!(peak <= 200 + concurrency, "{peak} connections open at once");
    assert_eq!(
        bed.handshakes() - logins,
        1000,
        "each target connected once for its ten steps"
    );

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
        &bed,
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
