//! Fleets behind bastions, against real sshd: the targets live in a network
//! namespace of their own (`scripts/sshbed.sh start-behind`), reachable only
//! through a bastion; every target behind one bastion shares one connection
//! to it. Needs root (namespaces, sshd), as `.ci/run` is.

mod common;

use common::{Bed, drover_json as run, plan_result};
use serde_json::json;

#[test]
fn twenty_targets_behind_one_bastion_make_one_login_on_it_and_chains_one_on_each() {
    let bed = Bed::behind(60, 20);
    // Not reachable directly: only through the bastion.
    let direct = bed.inventory_with(
        "direct.yaml",
        &format!(
            "    private-key: {0}/keys/id_ed25519\n    known-hosts: {0}/known_hosts\n",
            bed.dir.display()
        ),
    );
    let (code, r, _) = common::command_run("true", "bed", &direct);
    assert_eq!(code, 1, "{r}");
    assert_eq!(
        r["error"]["details"]["result_set"][0]["error"]["kind"], "drover/connect-failed",
        "{r}"
    );

    common::ssh_payload();
    let inventory = bed.inventory();
    let (code, r, err) = run(&[
        "run",
        "ssh/ten_steps.plan",
        "targets=bed",
        "tag=behind",
        "-i",
        inventory.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{r}\n{err}");
    assert_eq!(r["value"]["last"], 20, "{r}");
    assert_eq!(r["value"]["one"], true, "{r}");
    assert_eq!(
        bed.logins("bastion-0"),
        1,
        "one bastion connection for the whole fleet"
    );
    assert_eq!(bed.handshakes(), 20, "one connection per target");

    // A chain: through bastion-0 to bastion-1 (which only it can reach), then on.
    let chain = bed.inventory_with(
        "chain.yaml",
        &format!(
            "    proxyjump: 127.60.254.1:2222,drover-test@127.60.254.2:2222\n    private-key: {0}/keys/id_ed25519\n    known-hosts: {0}/known_hosts\n",
            bed.dir.display()
        ),
    );
    let (code, r, err) = run(&[
        "run",
        "ssh/ten_steps.plan",
        "targets=bed",
        "tag=chain",
        "-i",
        chain.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{r}\n{err}");
    assert_eq!(bed.logins("bastion-0"), 2);
    assert_eq!(bed.logins("bastion-1"), 1);
    assert_eq!(bed.handshakes(), 40);

    // Two bastion connections, targets spread over them.
    let two = bed.inventory_with(
        "two.yaml",
        &format!(
            "    proxyjump: 127.60.254.1:2222\n    bastion-connections: 2\n    private-key: {0}/keys/id_ed25519\n    known-hosts: {0}/known_hosts\n",
            bed.dir.display()
        ),
    );
    let (code, r, err) = common::command_run("true", "bed", &two);
    assert_eq!(code, 0, "{r}\n{err}");
    assert_eq!(bed.logins("bastion-0"), 4);
}

#[test]
fn an_unknown_bastion_host_key_is_refused_with_its_fingerprint() {
    let bed = Bed::behind(61, 2);
    let known = std::fs::read_to_string(bed.dir.join("known_hosts")).unwrap();
    let targets_only: String = known
        .lines()
        .filter(|l| !l.contains(".254."))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(bed.dir.join("targets_only"), targets_only).unwrap();
    let inv = bed.inventory_with(
        "unknown.yaml",
        &format!(
            "    proxyjump: 127.61.254.1:2222\n    private-key: {0}/keys/id_ed25519\n    known-hosts: {0}/targets_only\n",
            bed.dir.display()
        ),
    );
    let (code, r, _) = common::command_run("true", "bed", &inv);
    assert_eq!(code, 1, "{r}");
    let error = &r["error"]["details"]["result_set"][0]["error"];
    assert_eq!(error["kind"], "drover/host-key", "{r}");
    let fingerprint = std::process::Command::new("ssh-keygen")
        .args(["-lf"])
        .arg(bed.dir.join("keys/bastion_ed25519.pub"))
        .output()
        .unwrap();
    let fingerprint = String::from_utf8_lossy(&fingerprint.stdout)
        .split(' ')
        .nth(1)
        .unwrap()
        .to_string();
    let message = error["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("jump host 127.61.254.1:2222") && message.contains(&fingerprint),
        "{message} should name the bastion and {fingerprint}"
    );
    assert_eq!(bed.logins("bastion-0"), 0);
}

#[test]
fn a_restarted_bastion_fails_the_actions_in_flight_and_later_steps_reconnect() {
    let bed = Bed::behind(62, 4);
    let inv = bed.inventory();
    let child = common::spawn_in_tests(&[
        "run",
        "ssh/in_flight.plan",
        "-i",
        inv.to_str().unwrap(),
        "--format",
        "json",
    ]);
    std::thread::sleep(std::time::Duration::from_millis(1500));
    bed.script(&["restart", "bastion-0"]);
    let out = child.wait_with_output().unwrap();
    let r = plan_result(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(
        r["status"],
        "success",
        "{r}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        r["value"],
        json!({"ok": 0, "kinds": ["drover/connection-lost"], "then": 4}),
        "{r}"
    );
    assert_eq!(
        bed.logins("bastion-0"),
        2,
        "one connection, then one more after the restart"
    );
}
