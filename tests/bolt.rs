//! A Bolt user's project (`../shared/spec/bolt.md`): the Puppet Forge's own
//! modules as published (`tests/forge/modules`, see its README), task
//! metadata read as Bolt reads it, only the chosen implementation mattering,
//! `files` from helper modules laid out under `_installdir` as Bolt lays them
//! out, and Bolt's project files.

mod common;

use std::path::{Path, PathBuf};

use common::{drover_in, plan_result, root};
use serde_json::{Value, json};

/// The Forge modules, unpacked as published.
fn forge() -> PathBuf {
    root().join("tests/forge/modules")
}

/// A project of its own holding `files`; unless it has a project file, its
/// module path is the Forge modules.
fn project(name: &str, files: &[(&str, &str)]) -> PathBuf {
    common::temp_project(&format!("bolt-{name}"), &forge(), files)
}

/// The first target's result of `task run TASK ARGS -t localhost`.
fn task_result(dir: &Path, task: &str, args: &[&str]) -> Value {
    let mut all = vec!["task", "run", task];
    all.extend(args);
    all.extend(["-t", "localhost", "--format", "json"]);
    let (_, out, err) = drover_in(dir, &all);
    let result = plan_result(&out);
    assert!(
        result["value"].is_array() || result["error"].is_object(),
        "{out}\n{err}"
    );
    match &result["value"] {
        Value::Array(rs) => rs[0].clone(),
        _ => result["error"]["details"]["result_set"][0].clone(),
    }
}

#[test]
fn forge_modules_as_published_are_listed_with_their_parameters() {
    let dir = project("list", &[]);
    let (code, out, err) = drover_in(&dir, &["task", "show"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(!out.contains("cannot be used"), "{out}");
    for name in [
        "facts",
        "package",
        "reboot",
        "reboot::last_boot_time",
        "service",
    ] {
        assert!(
            out.lines()
                .any(|l| l.split_whitespace().next() == Some(name)),
            "{name} missing:\n{out}"
        );
    }
    let show = |task: &str| -> Value {
        let (code, out, err) = drover_in(&dir, &["task", "show", task, "--format", "json"]);
        assert_eq!(code, 0, "{task}: {err}");
        serde_json::from_str(&out).unwrap()
    };
    let param = |v: &Value, name: &str| -> Value {
        v["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("no parameter {name}: {v}"))
            .clone()
    };
    // `input_method: powershell`, unknown keys (`extensions`).
    let service = show("service");
    assert_eq!(
        param(&service, "action")["type"],
        "Enum[start, stop, restart, enable, disable, status]"
    );
    assert_eq!(param(&service, "force")["required"], false);
    let methods: Vec<&Value> = service["implementations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| &i["input_method"])
        .collect();
    assert_eq!(
        methods,
        [&json!("stdin"), &json!("powershell"), &json!("environment")]
    );
    // A key given twice (`input_method` in service::linux): the last wins.
    let linux = show("service::linux");
    assert_eq!(linux["private"], true);
    assert_eq!(
        linux["implementations"][0]["files"],
        json!(["service/files/common.sh"])
    );
    assert_eq!(param(&show("package"), "name")["type"], "String[1]");
    assert_eq!(
        param(&show("reboot"), "timeout")["type"],
        "Optional[Variant[Pattern[/^[0-9]*$/],Integer]]"
    );
    // facts' Ruby implementation names the helper module's file.
    assert_eq!(
        show("facts")["implementations"][0]["files"],
        json!(["ruby_task_helper/files/task_helper.rb"])
    );
}

#[test]
fn forge_tasks_run_on_the_local_transport() {
    let dir = project("run", &[]);
    let package = task_result(&dir, "package", &["action=status", "name=coreutils"]);
    assert_eq!(package["ok"], true, "{package}");
    assert_eq!(package["value"]["status"], "installed", "{package}");
    let facts = task_result(&dir, "facts", &[]);
    assert_eq!(facts["ok"], true, "{facts}");
    let family = facts["value"]["os"]["family"].as_str().unwrap_or_default();
    assert!(!family.is_empty(), "{facts}");
    let service = task_result(&dir, "service", &["action=status", "name=drover-no-such"]);
    // The shell implementation ran (and found no such service).
    assert!(service.to_string().contains("drover-no-such"), "{service}");
}

#[test]
fn puppet_types_of_forge_tasks_are_checked_with_the_caret_on_the_argument() {
    let dir = project(
        "types",
        &[(
            "plans/svc.plan",
            "plan svc(TargetSpec $targets) {\n    \
             run_task(\"service\", $targets, action => \"bounce\", name => \"sshd\");\n    \
             run_task(\"package\", $targets, action => \"status\", name => \"\");\n    \
             run_task(\"reboot\", $targets, timeout => \"soon\");\n}\n",
        )],
    );
    let (code, out, _) = drover_in(&dir, &["check", "--format", "json"]);
    assert_eq!(code, 1, "{out}");
    let report: Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    let found: Vec<(String, u64, u64)> = report["diagnostics"]
        .as_array()
        .unwrap_or_else(|| panic!("{out}"))
        .iter()
        .map(|d| {
            (
                d["message"].as_str().unwrap().to_string(),
                d["line"].as_u64().unwrap(),
                d["column"].as_u64().unwrap(),
            )
        })
        .collect();
    let at = |prefix: &str| {
        found
            .iter()
            .find(|(m, _, _)| m.starts_with(prefix))
            .map(|(_, l, c)| (*l, *c))
            .unwrap_or_else(|| panic!("{prefix}: {found:?}"))
    };
    assert_eq!(
        at(
            "parameter `action` of task `service` is Enum[start, stop, restart, enable, disable, status]"
        ),
        (2, 45)
    );
    assert_eq!(
        at("parameter `name` of task `package` is String[1]"),
        (3, 63)
    );
    assert_eq!(at("parameter `timeout` of task `reboot`"), (4, 45));
}

#[test]
fn only_the_chosen_implementation_matters() {
    // facts alone, without the helper module its Ruby implementation needs.
    let alone = project("alone", &[("bolt-project.yaml", "modulepath: [modules]\n")]);
    let copy = |module: &str| {
        let status = std::process::Command::new("cp")
            .args(["-r"])
            .arg(forge().join(module))
            .arg(alone.join("modules"))
            .status()
            .unwrap();
        assert!(status.success());
    };
    std::fs::create_dir_all(alone.join("modules")).unwrap();
    copy("facts");
    let (code, out, _) = drover_in(&alone, &["task", "show"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("facts ") && !out.contains("cannot be used"),
        "{out}"
    );
    // The shell implementation is chosen on a shell target: it runs.
    let shell = task_result(&alone, "facts", &[]);
    assert_eq!(shell["ok"], true, "{shell}");
    // On a puppet-agent target the Ruby one is: the error names the target,
    // the task and what is missing.
    std::fs::write(
        alone.join("inventory.yaml"),
        "targets:\n  - name: agent\n    uri: localhost\n    config: { transport: local }\n    features: [puppet-agent]\n",
    )
    .unwrap();
    let (code, out, _) = drover_in(
        &alone,
        &["task", "run", "facts", "-t", "agent", "--format", "json"],
    );
    assert_eq!(code, 1, "{out}");
    let error = &plan_result(&out)["error"]["details"]["result_set"][0]["error"];
    assert_eq!(error["kind"], "drover/task-files", "{error}");
    let msg = error["message"].as_str().unwrap();
    for part in [
        "task `facts` cannot run on `agent`",
        "implementation `ruby.rb` needs `ruby_task_helper/files/task_helper.rb`",
        "no module `ruby_task_helper`",
    ] {
        assert!(msg.contains(part), "{part}: {msg}");
    }
    // A PowerShell implementation chosen: refused, by name.
    std::fs::write(
        alone.join("inventory.yaml"),
        "targets:\n  - name: win\n    uri: localhost\n    config: { transport: local }\n    features: [powershell]\n",
    )
    .unwrap();
    copy("service");
    let (_, out, _) = drover_in(
        &alone,
        &[
            "task",
            "run",
            "service",
            "action=status",
            "name=x",
            "-t",
            "win",
            "--format",
            "json",
        ],
    );
    let error = &plan_result(&out)["error"]["details"]["result_set"][0]["error"];
    assert_eq!(error["kind"], "drover/task-unsupported", "{out}");
    assert!(
        error["message"].as_str().unwrap().contains("`windows.ps1`"),
        "{error}"
    );
}

#[test]
fn helper_modules_are_laid_out_under_installdir_as_bolt_lays_them_out() {
    // The Forge's terraform plugin task, in Ruby, with two helper modules
    // (`ruby_task_helper/files/...` and `ruby_plugin_helper/lib/...`) that it
    // finds by `require_relative '../../MODULE/...'`.
    let dir = project(
        "installdir",
        &[(
            "tf/terraform.tfstate",
            r#"{"version": 4, "resources": [{"type": "local_server", "name": "web", "instances": [
                {"index_key": 0, "attributes": {"id": "web0", "address": "127.0.0.1"}},
                {"index_key": 1, "attributes": {"id": "web1", "address": "127.0.0.2"}}]}]}"#,
        )],
    );
    let tf = dir.join("tf");
    let r = task_result(
        &dir,
        "terraform::resolve_reference",
        &[
            &format!("dir={}", tf.display()),
            "resource_type=local_server.web",
            r#"target_mapping={"name": "id", "uri": "address"}"#,
        ],
    );
    assert_eq!(r["ok"], true, "{r}");
    assert_eq!(
        r["value"]["value"],
        json!([{"name": "web0", "uri": "127.0.0.1"}, {"name": "web1", "uri": "127.0.0.2"}])
    );
}

#[test]
fn bolt_project_files_set_the_project() {
    let inventory =
        "targets:\n  - name: one\n    uri: localhost\n    config: { transport: local }\n";
    let plan = |name: &str| {
        format!(
            "plan {name}(TargetSpec $targets = \"one\") {{\n    return run_command(\"echo hi\", $targets).names;\n}}\n"
        )
    };
    let dir = project(
        "settings",
        &[
            (
                "bolt-project.yaml",
                &format!(
                    "name: site\nmodulepath:\n  - {}\ninventoryfile: inv/fleet.yaml\n\
                     modules:\n  - puppetlabs-service\n  - name: puppetlabs/stdlib\n  \
                     - git: https://github.com/puppetlabs/puppetlabs-yaml.git\n    ref: main\n\
                     plans: [\"site::deploy*\"]\ntasks: [\"reboot*\", facts]\n\
                     concurrency: 3\nformat: json\nstream: false\nhiera-config: hiera.yaml\n\
                     log: {{ console: {{ level: debug }} }}\n",
                    forge().display()
                ),
            ),
            ("drover-project.yaml", "concurrency: 2\nspinner: false\n"),
            ("inv/fleet.yaml", inventory),
            ("plans/deploy.plan", &plan("site::deploy")),
            ("plans/deploy_all.plan", &plan("site::deploy_all")),
            ("plans/hidden.plan", &plan("site::hidden")),
        ],
    );
    // The inventory is `inventoryfile`; the format is json; concurrency is
    // drover-project.yaml's, which wins over bolt-project.yaml's.
    let (code, out, err) = drover_in(&dir, &["run", "site::deploy"]);
    assert_eq!(code, 0, "{out}\n{err}");
    let start: Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(start["concurrency"], 2, "{start}");
    assert_eq!(plan_result(&out)["value"], json!(["one"]));
    // The command line wins over the project file.
    let (_, _, human) = drover_in(
        &dir,
        &[
            "run",
            "site::deploy",
            "--format",
            "human",
            "--concurrency",
            "5",
        ],
    );
    assert!(human.contains("plan site::deploy succeeded"), "{human}");
    let (_, out, _) = drover_in(&dir, &["run", "site::deploy", "--concurrency", "5"]);
    let start: Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(start["concurrency"], 5, "{start}");
    // One warning per file for the keys drover does not use, and one for the
    // modules that are listed but not installed (not the Forge's service).
    assert_eq!(
        err.lines()
            .filter(|l| l.starts_with("warning:"))
            .collect::<Vec<_>>(),
        [
            "warning: bolt-project.yaml: drover ignores `hiera-config`, `log`",
            "warning: drover-project.yaml: drover ignores `spinner`",
            "warning: the project lists modules that are not installed: stdlib, yaml (drover does not download modules: install them with `bolt module install`, or unpack them under modules/)",
        ],
        "{err}"
    );
    // The allow-lists limit what `plan show` and `task show` list.
    let (_, out, _) = drover_in(&dir, &["plan", "show"]);
    let listed: Value = serde_json::from_str(&out).unwrap();
    let plans: Vec<&str> = listed["plans"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(plans, ["site::deploy", "site::deploy_all"]);
    let (_, out, _) = drover_in(&dir, &["task", "show", "--format", "human"]);
    let tasks: Vec<&str> = out
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(
        tasks,
        ["facts", "reboot", "reboot::last_boot_time", "3"],
        "{out}"
    );
    // A listed-out plan still shows and runs by name.
    let (code, _, _) = drover_in(&dir, &["plan", "show", "site::hidden"]);
    assert_eq!(code, 0);
    // A format drover does not have: an error naming the key.
    std::fs::write(dir.join("drover-project.yaml"), "format: xml\n").unwrap();
    let (code, _, err) = drover_in(&dir, &["plan", "show"]);
    assert_eq!(code, 2);
    assert!(err.contains("`format: xml`"), "{err}");
}

#[test]
fn out_verbose_shows_with_verbose_and_a_dry_run_writes_no_file() {
    let dir = project(
        "verbose",
        &[(
            "plans/fetch.plan",
            "plan fetch() {\n    out::verbose(\"checking the fleet\");\n    \
             $d = download_file(\"/etc/hostname\", \"got\", \"localhost\");\n    \
             file::write(\"written.txt\", \"x\");\n    return $d[0].value[\"path\"];\n}\n",
        )],
    );
    let (code, out, err) = drover_in(&dir, &["run", "fetch"]);
    assert_eq!(code, 0, "{err}");
    assert!(!out.contains("checking the fleet"), "{out}");
    let (_, out, _) = drover_in(&dir, &["run", "fetch", "--verbose"]);
    assert!(out.contains("checking the fleet"), "{out}");
    let (_, out, _) = drover_in(&dir, &["run", "fetch", "--format", "json"]);
    assert!(
        out.contains(r#""level":"verbose","message":"checking the fleet""#),
        "{out}"
    );
    let fetched = dir.join("downloads/got/localhost/hostname");
    assert_eq!(
        std::fs::read(&fetched).unwrap(),
        std::fs::read("/etc/hostname").unwrap()
    );
    // A dry run predicts the path and writes nothing.
    std::fs::remove_dir_all(dir.join("downloads")).unwrap();
    std::fs::remove_file(dir.join("written.txt")).unwrap();
    let (code, out, err) = drover_in(&dir, &["run", "fetch", "--dry-run", "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        plan_result(&out)["value"]
            .as_str()
            .unwrap()
            .ends_with("downloads/got/localhost/hostname"),
        "{out}"
    );
    assert!(!dir.join("downloads").exists() && !dir.join("written.txt").exists());
}

#[test]
fn the_migration_guides_plan_dry_runs_with_facts_from_the_inventory() {
    // A simulated `facts` task reports the inventory's facts of the target.
    let guide = std::fs::read_to_string(root().join("docs/bolt.md")).unwrap();
    let at = guide.find("drover (`plans/deploy.plan`):").unwrap();
    let plan = guide[at..].split("```\n").nth(1).unwrap();
    let dir = project(
        "guide",
        &[
            ("bolt-project.yaml", "name: site\n"),
            ("plans/deploy.plan", plan),
            (
                "inventory.yaml",
                "targets:\n  - name: deb\n    uri: localhost\n    facts: { os: { family: Debian } }\n  \
                 - name: rh\n    uri: 127.0.0.1\n    facts: { os: { family: RedHat } }\n",
            ),
        ],
    );
    let (code, out, err) = drover_in(
        &dir,
        &[
            "run",
            "site::deploy",
            "targets=deb,rh",
            "version=1.10",
            "--dry-run",
            "--format",
            "json",
        ],
    );
    assert_eq!(code, 0, "{out}\n{err}");
    let paths = plan_result(&out)["value"].clone();
    assert_eq!(paths.as_array().unwrap().len(), 1, "{paths}");
    assert!(
        paths[0]
            .as_str()
            .unwrap()
            .ends_with("downloads/deploy/deb/myapp.log")
    );
    // `version=1.10` is the String "1.10", not the number 1.1.
    assert!(out.contains(r#""version":"1.10""#), "{out}");
    // One Debian target: one `ctrl::sleep(10)`, on virtual time.
    assert_eq!(plan_result(&out)["duration_ms"], 10_000);
}
