//! What drover reads from the OpenSSH client configuration, and SSH
//! certificates, against real sshd (`scripts/sshbed.sh`; needs root).

mod common;

use common::Bed;
use serde_json::Value;

fn command(cmd: &str, spec: &str, inventory: &std::path::Path) -> (i32, Value) {
    let (code, result, _) = common::command_run(cmd, spec, inventory);
    (code, result)
}

fn messages(r: &Value) -> String {
    r["error"]["details"]["result_set"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| {
            t["error"]["message"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn targets_named_by_host_aliases_of_an_ssh_config_run_and_the_inventory_wins() {
    let bed = Bed::start(63, 3, 3);
    let d = bed.dir.display();
    std::fs::write(bed.dir.join("never.conf"), "Host *\n  Port 1\n").unwrap();
    std::fs::write(
        bed.dir.join("more.conf"),
        "Host web-c\n  HostName 127.63.0.4\n  # wrong: the inventory's port wins\n  Port 2299\n",
    )
    .unwrap();
    std::fs::write(
        bed.dir.join("ssh_config"),
        format!(
            "# a test ssh_config\nInclude {d}/more.*\nHost web-a\n  HostName 127.63.0.2\nMatch originalhost web-b\n  HostName 127.63.0.3\nHost web-z\n  # read only for web-z\n  Include {d}/never.conf\nHost web-* !web-z\n  User drover-test\n  Port=2222\n  IdentityFile {d}/keys/id_%r-missing\n  IdentityFile \"{d}/keys/id_ed25519\"\n  UserKnownHostsFile {d}/known_hosts\n  ConnectTimeout 5\n"
        ),
    )
    .unwrap();
    let inventory = |name: &str, ssh: &str| {
        let path = bed.dir.join(name);
        std::fs::write(
            &path,
            format!(
                "config:\n  transport: ssh\n  ssh:\n{ssh}targets:\n  - web-a\n  - web-b\n  - name: web-c\n    config:\n      ssh:\n        port: 2222\n"
            ),
        )
        .unwrap();
        path
    };
    let uses = inventory("uses.yaml", &format!("    ssh-config: {d}/ssh_config\n"));
    let (code, r) = command("echo $SSH_CONNECTION | cut -d' ' -f3", "all", &uses);
    assert_eq!(code, 0, "{r}");
    let seen: Vec<String> = r["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["value"]["stdout"].as_str().unwrap().trim().to_string())
        .collect();
    assert_eq!(seen, ["127.63.0.2", "127.63.0.3", "127.63.0.4"], "{r}");

    // The inventory's user wins over the config's User.
    let nobody = inventory(
        "nobody.yaml",
        &format!("    ssh-config: {d}/ssh_config\n    user: nobody-here\n"),
    );
    let (code, r) = command("true", "web-a", &nobody);
    assert_eq!(code, 1);
    assert!(messages(&r).contains("as nobody-here"), "{r}");

    // load-config: false ignores the file: the aliases do not resolve.
    let ignored = inventory(
        "ignored.yaml",
        &format!(
            "    ssh-config: {d}/ssh_config\n    load-config: false\n    connect-timeout: 3\n"
        ),
    );
    let (code, r) = command("true", "web-a", &ignored);
    assert_eq!(code, 1);
    assert_eq!(
        r["error"]["details"]["result_set"][0]["error"]["kind"], "drover/connect-failed",
        "{r}"
    );

    // A mistake in the file: its file and line.
    std::fs::write(
        bed.dir.join("broken_config"),
        "Host web-a\n  Port seventy\n",
    )
    .unwrap();
    let broken = inventory(
        "broken.yaml",
        &format!("    ssh-config: {d}/broken_config\n"),
    );
    let (code, r) = command("true", "web-a", &broken);
    assert_eq!(code, 1);
    assert!(
        messages(&r).contains(&format!(
            "{d}/broken_config:2: port: `seventy` is not a port"
        )),
        "{r}"
    );
}

/// `ssh-keygen ARGS` in `dir`.
fn keygen(dir: &std::path::Path, args: &[&str]) {
    let out = std::process::Command::new("ssh-keygen")
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "ssh-keygen {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn user_and_host_certificates_signed_by_a_test_ca() {
    let bed = Bed::start(64, 1, 1);
    let keys = bed.dir.join("keys");
    let d = bed.dir.display();
    // A CA; a user key that sshd does not list, only trusts through the CA.
    keygen(
        &keys,
        &["-q", "-t", "ed25519", "-N", "", "-C", "test-ca", "-f", "ca"],
    );
    keygen(
        &keys,
        &[
            "-q",
            "-t",
            "ed25519",
            "-N",
            "",
            "-C",
            "certified",
            "-f",
            "id_certified",
        ],
    );
    keygen(
        &keys,
        &[
            "-q",
            "-s",
            "ca",
            "-I",
            "ok",
            "-n",
            "drover-test",
            "-V",
            "-5m:+1h",
            "id_certified.pub",
        ],
    );
    keygen(
        &keys,
        &["-q", "-t", "ed25519", "-N", "", "-C", "old", "-f", "id_old"],
    );
    keygen(
        &keys,
        &[
            "-q",
            "-s",
            "ca",
            "-I",
            "old",
            "-n",
            "drover-test",
            "-V",
            "20200101:20200102",
            "id_old.pub",
        ],
    );
    // The host key signed as a host certificate for its address.
    keygen(
        &keys,
        &[
            "-q",
            "-s",
            "ca",
            "-h",
            "-I",
            "host",
            "-n",
            "127.64.0.2",
            "-V",
            "-5m:+1h",
            "host_ed25519.pub",
        ],
    );
    let conf = bed.dir.join("sshd-0.conf");
    let mut text = std::fs::read_to_string(&conf).unwrap();
    text.push_str(&format!(
        "TrustedUserCAKeys {d}/keys/ca.pub\nHostCertificate {d}/keys/host_ed25519-cert.pub\n"
    ));
    std::fs::write(&conf, text).unwrap();
    bed.script(&["stop-target", "0"]);
    bed.script(&["start-target", "0"]);

    let ca = std::fs::read_to_string(keys.join("ca.pub")).unwrap();
    std::fs::write(
        bed.dir.join("ca_known_hosts"),
        format!("@cert-authority [127.64.0.*]:2222 {ca}"),
    )
    .unwrap();
    let with = |name: &str, key: &str, known: &str| {
        bed.inventory_with(
            name,
            &format!("    private-key: {d}/keys/{key}\n    known-hosts: {d}/{known}\n"),
        )
    };
    // The user certificate beside the key logs in; the host certificate is
    // accepted through @cert-authority alone.
    let (code, r) = command(
        "echo certified",
        "bed",
        &with("cert.yaml", "id_certified", "ca_known_hosts"),
    );
    assert_eq!(code, 0, "{r}");
    assert_eq!(r["value"][0]["value"]["stdout"], "certified\n", "{r}");
    let log = std::fs::read_to_string(bed.dir.join("sshd-0.log")).unwrap();
    assert!(log.contains("ED25519-CERT"), "a certificate login: {log}");

    // An expired certificate: refused, and said so.
    let (code, r) = command("true", "bed", &with("old.yaml", "id_old", "ca_known_hosts"));
    assert_eq!(code, 1, "{r}");
    let m = messages(&r);
    assert!(m.contains("id_old-cert.pub: expired"), "{m}");

    // A host certificate from an authority nobody trusts: refused.
    keygen(
        &keys,
        &[
            "-q", "-t", "ed25519", "-N", "", "-C", "other-ca", "-f", "other_ca",
        ],
    );
    let other = std::fs::read_to_string(keys.join("other_ca.pub")).unwrap();
    std::fs::write(
        bed.dir.join("other_known_hosts"),
        format!("@cert-authority * {other}"),
    )
    .unwrap();
    let (code, r) = command(
        "true",
        "bed",
        &with("other.yaml", "id_certified", "other_known_hosts"),
    );
    assert_eq!(code, 1, "{r}");
    assert_eq!(
        r["error"]["details"]["result_set"][0]["error"]["kind"], "drover/host-key",
        "{r}"
    );
    assert!(
        messages(&r).contains("host certificate of [127.64.0.2]:2222 is not valid"),
        "{r}"
    );
}

#[test]
fn an_ipv6_target_in_brackets() {
    let bed = Bed::start(66, 1, 1);
    let conf = bed.dir.join("sshd-0.conf");
    let mut text = std::fs::read_to_string(&conf).unwrap();
    text.push_str("ListenAddress [::1]:2266\n");
    std::fs::write(&conf, text).unwrap();
    bed.script(&["stop-target", "0"]);
    bed.script(&["start-target", "0"]);
    let key = std::fs::read_to_string(bed.dir.join("keys/host_ed25519.pub")).unwrap();
    let key: Vec<&str> = key.split_whitespace().take(2).collect();
    std::fs::write(
        bed.dir.join("v6_known_hosts"),
        format!("[::1]:2266 {}\n", key.join(" ")),
    )
    .unwrap();
    let d = bed.dir.display();
    let inv = bed.dir.join("v6.yaml");
    std::fs::write(
        &inv,
        format!(
            "config:\n  transport: ssh\n  ssh:\n    user: drover-test\n    private-key: {d}/keys/id_ed25519\n    known-hosts: {d}/v6_known_hosts\ntargets:\n  - ssh://[::1]:2266\n"
        ),
    )
    .unwrap();
    let (code, r) = command("echo $SSH_CONNECTION | cut -d' ' -f3", "all", &inv);
    assert_eq!(code, 0, "{r}");
    assert_eq!(r["value"][0]["value"]["stdout"], "::1\n", "{r}");
}
