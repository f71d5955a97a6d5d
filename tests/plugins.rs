//! Bolt's inventory plugins (`../shared/spec/bolt.md` §3): each resolved in
//! `config`, `vars` and a target list; each error at its `_plugin` hash; a
//! secret from a plugin in no byte of output, events or history; pkcs7 with
//! OpenSSL both ways; a real Forge plugin module (terraform, in Ruby, with
//! helper modules) yielding targets a plan runs on; `prompt` on a terminal.

mod common;

use std::path::{Path, PathBuf};

use common::{drover_in, drover_in_env, plan_result, root};
use serde_json::{Value, json};

const SECRET: &str = "s3cr3t-Zebra-4711";

/// A project with the Forge modules on its module path, its own tasks
/// (`site::...`, for the `task` plugin), a terraform state file and `files`.
fn project(name: &str, files: &[(&str, &str)]) -> PathBuf {
    let mut all: Vec<(&str, &str)> = vec![
        ("bolt-project.yaml", "name: site\nmodulepath: [modules]\n"),
        (
            "tasks/targets.sh",
            "#!/bin/sh\nprintf '{\"value\": [{\"name\": \"%s\", \"uri\": \"localhost\"}]}' \"$PT_name\"\n",
        ),
        (
            "tasks/targets.json",
            r#"{"parameters": {"name": {"type": "String[1]"}}, "input_method": "environment"}"#,
        ),
        (
            "tasks/broken.sh",
            "#!/bin/sh\necho 'the vault is sealed' >&2\nexit 3\n",
        ),
        ("tasks/novalue.sh", "#!/bin/sh\necho '{\"other\": 1}'\n"),
        (
            "tf/terraform.tfstate",
            r#"{"version": 4, "resources": [{"type": "local_server", "name": "web", "instances": [
                {"index_key": 0, "attributes": {"id": "tf-web0", "address": "localhost"}},
                {"index_key": 1, "attributes": {"id": "tf-web1", "address": "127.0.0.1"}}]}]}"#,
        ),
    ];
    all.extend(files);
    let dir = common::temp_project(&format!("plugins-{name}"), Path::new("."), &all);
    std::fs::create_dir_all(dir.join("plans")).unwrap();
    // The Forge modules, as a module directory of the project's own.
    std::os::unix::fs::symlink(root().join("tests/forge/modules"), dir.join("modules")).unwrap();
    dir
}

fn drover_env(dir: &Path, args: &[&str]) -> (i32, String, String) {
    drover_in_env(
        dir,
        args,
        &[
            ("DROVER_TEST_USER", "deploy"),
            ("DROVER_TEST_JSON", r#"{"tier": 2}"#),
        ],
    )
}

/// The resolved inventory, as `inventory show --format json` lists it.
fn shown(dir: &Path) -> Vec<Value> {
    let (code, out, err) = drover_env(dir, &["inventory", "show", "--format", "json"]);
    assert_eq!(code, 0, "{out}\n{err}");
    serde_json::from_str::<Value>(&out).unwrap()["targets"]
        .as_array()
        .unwrap()
        .clone()
}

fn encrypt(dir: &Path, text: &str) -> String {
    let (code, out, err) = drover_in(dir, &["secret", "encrypt", text]);
    assert_eq!(code, 0, "{err}");
    out.trim().to_string()
}

#[test]
fn every_plugin_is_resolved_in_config_vars_and_target_lists() {
    let dir = project("all", &[("data/extra.yaml", "zone: eu-1\nracks: [a, b]\n")]);
    let (code, _, err) = drover_in(&dir, &["secret", "createkeys"]);
    assert_eq!(code, 0, "{err}");
    let enc = encrypt(&dir, SECRET);
    let inventory = format!(
        r#"config:
  transport: local
  ssh:
    user: {{ _plugin: env_var, var: DROVER_TEST_USER }}
    password:
      _plugin: pkcs7
      encrypted_value: >
        {enc}
vars:
  extra: {{ _plugin: yaml, filepath: data/extra.yaml }}
  settings: {{ _plugin: env_var, var: DROVER_TEST_JSON, json: true }}
  absent: {{ _plugin: env_var, var: DROVER_TEST_UNSET, optional: true }}
  fallback: {{ _plugin: env_var, var: DROVER_TEST_UNSET, default: [1, 2] }}
  token: {{ _plugin: pkcs7, encrypted_value: "{enc}" }}
groups:
  - name: web
    targets:
      - _plugin: terraform
        dir: tf
        resource_type: local_server.web
        target_mapping: {{ name: id, uri: address }}
      - _plugin: task
        task: site::targets
        parameters: {{ name: from-task }}
      - name: own
        uri: localhost
        features: [{{ _plugin: env_var, var: DROVER_TEST_FEATURE, default: puppet-agent }}]
"#
    );
    std::fs::write(dir.join("inventory.yaml"), inventory).unwrap();
    let targets = shown(&dir);
    let names: Vec<&str> = targets
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["tf-web0", "tf-web1", "from-task", "own"]);
    let t = &targets[3];
    assert_eq!(
        t["config"]["ssh"],
        json!({"user": "deploy", "password": "[sensitive]"})
    );
    assert_eq!(
        t["vars"],
        json!({"extra": {"zone": "eu-1", "racks": ["a", "b"]}, "settings": {"tier": 2},
               "absent": null, "fallback": [1, 2], "token": "[sensitive]"})
    );
    assert_eq!(t["features"], json!(["shell", "puppet-agent"]));
    // The secret decrypted for real: a plan can unwrap it, and a task gets it.
    std::fs::write(
        dir.join("plans/peek.plan"),
        "plan site::peek() {\n    $t = get_targets(\"own\")[0];\n    \
         return $t.vars[\"token\"].unwrap == \"s3cr3t-Zebra-4711\";\n}\n",
    )
    .unwrap();
    let (code, out, err) = drover_env(&dir, &["run", "site::peek", "--format", "json"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert_eq!(plan_result(&out)["value"], true, "{out}");
}

#[test]
fn a_forge_plugin_module_in_ruby_yields_targets_a_plan_runs_on() {
    let dir = project(
        "module",
        &[
            (
                "inventory.yaml",
                "config: { transport: local }\ngroups:\n  - name: web\n    targets:\n      \
                 - _plugin: terraform\n        dir: tf\n        resource_type: local_server.web\n        \
                 target_mapping: { name: id, uri: address, vars: { role: id } }\n",
            ),
            (
                "plans/hello.plan",
                "plan site::hello(TargetSpec $targets = \"web\") {\n    \
                 $r = run_command(\"echo hello\", $targets);\n    \
                 return $r.names.map |$n| { \"${n}=${get_target($n).vars[\"role\"]}\" };\n}\n",
            ),
        ],
    );
    let (code, out, err) = drover_in(&dir, &["run", "site::hello", "--format", "json"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert_eq!(
        plan_result(&out)["value"],
        json!(["tf-web0=tf-web0", "tf-web1=tf-web1"])
    );
}

/// The first diagnostic of `inventory show` (human), and its file:line:col.
fn inventory_error(dir: &Path, inventory: &str) -> String {
    std::fs::write(dir.join("inventory.yaml"), inventory).unwrap();
    let (code, out, err) = drover_env(dir, &["inventory", "show"]);
    assert_eq!(code, 2, "{out}\n{err}");
    err
}

#[test]
fn each_plugin_error_names_the_file_line_and_column_of_its_hash() {
    let dir = project(
        "errors",
        &[(
            "data/loop.yaml",
            "again: { _plugin: yaml, filepath: data/loop.yaml }\n",
        )],
    );
    let cases: &[(&str, &str, &str)] = &[
        (
            "vars:\n  a: 1\n  b: { _plugin: env_var, var: DROVER_TEST_UNSET }\n",
            "inventory.yaml:3:6",
            "environment variable `DROVER_TEST_UNSET` is not set",
        ),
        (
            "config:\n  ssh:\n    password:\n      _plugin: pkcs7\n      encrypted_value: ENC[PKCS7,MIIBeQYJKoZIhvcNAQcDoIIBajCCAWYCAQAxggEhMIIBHQIBAD]\n",
            "inventory.yaml:4:7",
            "the pkcs7 private key",
        ),
        (
            "targets:\n  - localhost\n  - _plugin: task\n    task: site::broken\n",
            "inventory.yaml:3:5",
            "task `site::broken` exited with 3: the vault is sealed",
        ),
        (
            "targets:\n  - _plugin: task\n    task: site::novalue\n",
            "inventory.yaml:2:5",
            "task `site::novalue` printed no `value`",
        ),
        (
            "targets:\n  - _plugin: facts\n    x: 1\n",
            "inventory.yaml:2:5",
            "module `facts`",
        ),
        (
            "vars:\n  x: { _plugin: env_vra, var: HOME }\n",
            "inventory.yaml:2:6",
            "did you mean `env_var`?",
        ),
        (
            "vars:\n  x: { _plugin: yaml, filepath: nowhere.yaml }\n",
            "inventory.yaml:2:6",
            "cannot read",
        ),
        (
            "vars:\n  x: { _plugin: yaml, filepath: data/loop.yaml }\n",
            "inventory.yaml:2:6",
            "nest more than 16 deep",
        ),
    ];
    for (inventory, at, says) in cases {
        let err = inventory_error(&dir, inventory);
        assert!(
            err.contains(at) && err.contains(says),
            "{at} {says}:\n{err}"
        );
    }
    // Missing key files, then bad ciphertext with keys that exist.
    let err = inventory_error(&dir, cases[1].0);
    assert!(err.contains("drover secret createkeys"), "{err}");
    drover_in(&dir, &["secret", "createkeys"]);
    let err = inventory_error(&dir, cases[1].0);
    assert!(
        err.contains("inventory.yaml:4:7") && err.contains("bad ciphertext"),
        "{err}"
    );
    // A module without bolt_plugin.json is not a plugin.
    let err = inventory_error(&dir, cases[4].0);
    assert!(
        err.contains("is not a plugin: it has no bolt_plugin.json"),
        "{err}"
    );
    // Two broken references: both reported.
    let err = inventory_error(
        &dir,
        "vars:\n  a: { _plugin: env_var, var: DROVER_TEST_UNSET }\n  b: { _plugin: env_var, var: DROVER_TEST_UNSET2 }\n",
    );
    assert!(
        err.contains("inventory.yaml:2:6") && err.contains("inventory.yaml:3:6"),
        "{err}"
    );
}

#[test]
fn a_secret_from_a_plugin_appears_in_no_byte_of_output_events_or_history() {
    let dir = project("secret", &[]);
    drover_in(&dir, &["secret", "createkeys"]);
    let enc = encrypt(&dir, SECRET);
    std::fs::write(
        dir.join("inventory.yaml"),
        format!(
            "targets:\n  - name: one\n    uri: localhost\n    config:\n      transport: local\n      \
             ssh: {{ password: {{ _plugin: pkcs7, encrypted_value: \"{enc}\" }} }}\n      \
             local: {{ api-key: {{ _plugin: pkcs7, encrypted_value: \"{enc}\" }} }}\n    \
             vars:\n      token: {{ _plugin: pkcs7, encrypted_value: \"{enc}\" }}\n"
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("plans/leak.plan"),
        "plan site::leak() {\n    $t = get_targets(\"one\")[0];\n    out::message(\"token: ${t.vars}\");\n    \
         $r = run_command(\"test \\\"$(printf %s \\\"$TOKEN\\\" | rev)\\\" = 1174-arbeZ-t3rc3s && echo the command has it\", $t, _env => { \"TOKEN\" => $t.vars[\"token\"] });\n    \
         $echo = run_command(\"echo got $TOKEN; echo and $TOKEN >&2; exit 3\", $t, _env => { \"TOKEN\" => $t.vars[\"token\"].unwrap }, _catch_errors => true);\n    \
         return { \"vars\" => $t.vars, \"token\" => $t.vars[\"token\"], \"out\" => $r[0].value, \"echo\" => $echo[0].value };\n}\n",
    )
    .unwrap();
    let mut seen = String::new();
    for args in [
        vec!["run", "site::leak", "--format", "json"],
        vec!["run", "site::leak", "--format", "human", "--stream"],
        vec!["inventory", "show", "--format", "json"],
        vec!["inventory", "show"],
    ] {
        let (code, out, err) = drover_in(&dir, &args);
        assert_eq!(code, 0, "{args:?}\n{out}\n{err}");
        seen.push_str(&out);
        seen.push_str(&err);
    }
    assert!(seen.contains("[sensitive]"), "{seen}");
    assert!(seen.contains("the command has it"), "{seen}");
    // A command that prints the secret it was given shows `[sensitive]`.
    assert!(
        seen.contains("got [sensitive]") && seen.contains("and [sensitive]"),
        "{seen}"
    );
    assert!(!seen.contains(SECRET), "{seen}");
    // Nor in a message about what plugins returned.
    std::fs::write(
        dir.join("bad.yaml"),
        format!("targets: {{ _plugin: pkcs7, encrypted_value: \"{enc}\" }}\n"),
    )
    .unwrap();
    let (code, out, err) = drover_in(&dir, &["inventory", "show", "-i", "bad.yaml"]);
    assert_eq!(code, 2, "{out}\n{err}");
    assert!(
        err.contains("[sensitive]") && !err.contains(SECRET),
        "{err}"
    );
    // Nor in any file of the run history.
    let mut files = Vec::new();
    walk(&dir.join(".drover"), &mut files);
    assert!(!files.is_empty());
    for f in files {
        let bytes = std::fs::read(&f).unwrap();
        assert!(
            !String::from_utf8_lossy(&bytes).contains(SECRET),
            "{} holds the secret",
            f.display()
        );
    }
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            walk(&p, out);
        } else {
            out.push(p);
        }
    }
}

#[test]
fn pkcs7_interoperates_with_openssl_both_ways() {
    let dir = project("openssl", &[]);
    let (code, _, err) = drover_in(&dir, &["secret", "createkeys"]);
    assert_eq!(code, 0, "{err}");
    let public = dir.join("keys/public_key.pkcs7.pem");
    let private = dir.join("keys/private_key.pkcs7.pem");
    let openssl = |args: &[&str], input: &[u8]| -> Vec<u8> {
        use std::io::Write;
        let mut child = std::process::Command::new("openssl")
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("openssl (scripts/test.sh installs it)");
        child.stdin.take().unwrap().write_all(input).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "openssl {args:?}");
        out.stdout
    };
    let b64 = |der: &[u8]| String::from_utf8(openssl(&["base64", "-A"], der)).unwrap();
    // OpenSSL encrypts (smime and cms, AES-256-CBC) to the project's
    // certificate; drover decrypts.
    for tool in ["smime", "cms"] {
        let text = format!("made by openssl {tool}");
        let der = openssl(
            &[
                tool,
                "-encrypt",
                "-aes-256-cbc",
                "-outform",
                "DER",
                public.to_str().unwrap(),
            ],
            text.as_bytes(),
        );
        let (code, out, err) = drover_in(
            &dir,
            &["secret", "decrypt", &format!("ENC[PKCS7,{}]", b64(&der))],
        );
        assert_eq!((code, out.trim()), (0, text.as_str()), "{err}");
    }
    // drover encrypts; `openssl smime -decrypt` reads it.
    let enc = encrypt(&dir, SECRET);
    let body = enc
        .strip_prefix("ENC[PKCS7,")
        .unwrap()
        .strip_suffix(']')
        .unwrap();
    let der = openssl(&["base64", "-d", "-A"], body.as_bytes());
    let plain = openssl(
        &[
            "smime",
            "-decrypt",
            "-inform",
            "DER",
            "-inkey",
            private.to_str().unwrap(),
        ],
        &der,
    );
    assert_eq!(String::from_utf8(plain).unwrap(), SECRET);
    // And the stored cipher is AES-256-CBC.
    let parsed = openssl(&["asn1parse", "-inform", "DER"], &der);
    assert!(String::from_utf8_lossy(&parsed).contains("aes-256-cbc"));
    // Standard input works too, and decrypt reads what encrypt printed.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_drover"))
        .current_dir(&dir)
        .args(["secret", "decrypt"])
        .stdin(
            std::fs::File::open({
                let p = dir.join("enc.txt");
                std::fs::write(&p, format!("{enc}\n")).unwrap();
                p
            })
            .unwrap(),
        )
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), SECRET);
}

#[test]
fn prompt_asks_once_per_run_unechoed_and_needs_a_terminal() {
    let dir = project(
        "prompt",
        &[
            (
                "inventory.yaml",
                "targets:\n  - name: one\n    uri: localhost\n    config: { transport: local }\n    vars:\n      \
             a: { _plugin: prompt, message: Vault password }\n      b: { _plugin: prompt, message: Vault password }\n",
            ),
            (
                "plans/same.plan",
                "plan site::same() {\n    $v = get_targets(\"one\")[0].vars;\n    return $v[\"a\"].unwrap == $v[\"b\"].unwrap && $v[\"a\"].unwrap == \"typed-1234\";\n}\n",
            ),
        ],
    );
    // No terminal (standard input is not one): an error.
    let out = std::process::Command::new("setsid")
        .arg(env!("CARGO_BIN_EXE_drover"))
        .args(["inventory", "show"])
        .current_dir(&dir)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("there is no terminal") && err.contains("inventory.yaml:6:10"),
        "{err}"
    );
    // On a terminal (tmux): asked once, the answer not echoed.
    let session = format!("drover-prompt-{}", std::process::id());
    let log = dir.join("out.json");
    let command = format!(
        "{} run site::same --format json > {} 2>&1; sleep 60",
        env!("CARGO_BIN_EXE_drover"),
        log.display()
    );
    let tmux = |args: &[&str]| {
        std::process::Command::new("tmux")
            .args(args)
            .output()
            .expect("tmux (scripts/test.sh installs it)")
    };
    let started = tmux(&[
        "new-session",
        "-d",
        "-s",
        &session,
        "-x",
        "120",
        "-y",
        "20",
        "-c",
        dir.to_str().unwrap(),
        &command,
    ]);
    assert!(
        started.status.success(),
        "{}",
        String::from_utf8_lossy(&started.stderr)
    );
    let screen = || {
        String::from_utf8_lossy(&tmux(&["capture-pane", "-p", "-t", &session]).stdout).into_owned()
    };
    let wait_for = |what: &dyn Fn(&str) -> bool| {
        for _ in 0..400 {
            let s = screen();
            if what(&s) {
                return s;
            }
            std::thread::sleep(std::time::Duration::from_millis(25));
        }
        panic!("timed out; the screen:\n{}", screen());
    };
    wait_for(&|s| s.contains("Vault password:"));
    tmux(&["send-keys", "-t", &session, "typed-1234", "Enter"]);
    let mut result = String::new();
    for _ in 0..400 {
        result = std::fs::read_to_string(&log).unwrap_or_default();
        if result.contains("plan_result") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    let seen = screen();
    tmux(&["kill-session", "-t", &session]);
    assert_eq!(plan_result(&result)["value"], true, "{result}");
    assert_eq!(seen.matches("Vault password:").count(), 1, "{seen}");
    assert!(!seen.contains("typed-1234"), "echoed:\n{seen}");
    assert!(!result.contains("typed-1234"), "{result}");
}
