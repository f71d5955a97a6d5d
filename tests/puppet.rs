//! Bolt's Puppet-language plans (`plans/*.pp`): the Forge's own plans as
//! published, run by drover; and the Puppet front end against mutated input.
//! One feature per plan: `tests/conformance/pp_*.pp`; mistakes:
//! `tests/diagnostics/pp_*.pp`.

mod common;

use serde_json::Value;

/// `drover run ARGS --format json` in `dir`, which must succeed: its events.
fn run_events(dir: &std::path::Path, args: &[&str]) -> Vec<Value> {
    let mut all = vec!["run"];
    all.extend_from_slice(args);
    all.extend(["--format", "json"]);
    let (code, out, err) = common::drover_in(dir, &all);
    assert_eq!(code, 0, "{out}{err}");
    out.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// A project whose module path is the Forge modules of `tests/forge`.
fn forge_project(name: &str) -> std::path::PathBuf {
    common::temp_project(name, &common::root().join("tests/forge/modules"), &[])
}

#[test]
fn the_forge_facts_info_plan_runs_on_the_local_transport_and_returns_the_os_line() {
    let dir = forge_project("puppet-facts-info");
    let (code, out, err) = common::drover_in(
        &dir,
        &[
            "run",
            "facts::info",
            "targets=localhost",
            "--format",
            "json",
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    let result: Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
    // The OS line as the facts task reads it from /etc/os-release.
    let release = std::fs::read_to_string("/etc/os-release").unwrap();
    let field = |k: &str| {
        release
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{k}=")))
            .unwrap_or_default()
            .trim_matches('"')
            .to_string()
    };
    let line = result["value"][0].as_str().unwrap_or_default();
    assert!(
        line.starts_with(&format!(
            "localhost: {} ",
            field("NAME").split(' ').next().unwrap()
        )),
        "{result}"
    );
    assert!(line.contains(&field("VERSION_ID")), "{line}");
    // Its run is in the history as any plan's.
    let (code, out, err) = common::drover_in(&dir, &["runs", "list", "--format", "json"]);
    assert_eq!(code, 0, "{out}{err}");
    let runs: Value = serde_json::from_str(&out).unwrap();
    let run = &runs["runs"][0];
    assert_eq!(
        (&run["plan"], &run["status"], &run["targets"][0]["target"]),
        (
            &Value::from("facts::info"),
            &Value::from("success"),
            &Value::from("localhost")
        ),
        "{out}"
    );
}

#[test]
fn the_forge_facts_plan_stores_the_facts_in_the_inventory() {
    let dir = forge_project("puppet-facts");
    std::fs::create_dir_all(dir.join("plans")).unwrap();
    std::fs::write(
        dir.join("plans/after.pp"),
        "plan after(TargetSpec $targets) {\n  run_plan('facts', 'targets' => $targets)\n  return get_target($targets).facts['os']['family']\n}\n",
    )
    .unwrap();
    let (code, out, err) = common::drover_in(
        &dir,
        &["run", "after", "targets=localhost", "--format", "json"],
    );
    assert_eq!(code, 0, "{out}{err}");
    let result: Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
    assert!(
        result["value"].as_str().is_some_and(|f| !f.is_empty()),
        "{result}"
    );
}

#[test]
fn every_forge_plan_parses_and_facts_and_reboot_check_cleanly() {
    let dir = forge_project("puppet-check");
    for plan in [
        "facts/plans/init.pp",
        "facts/plans/info.pp",
        "facts/plans/external.pp",
        "reboot/plans/init.pp",
    ] {
        let path = common::root().join("tests/forge/modules").join(plan);
        let text = std::fs::read_to_string(&path).unwrap();
        let (_, parsed) = drover::puppet::parse_str(plan, &text);
        assert!(parsed.file.is_some(), "{plan}: {:?}", parsed.diagnostics);
        let (code, _, err) = common::drover_in(&dir, &["check", path.to_str().unwrap()]);
        assert_eq!(code, 0, "{plan}: {err}");
    }
}

#[test]
fn the_forge_facts_external_plan_adds_the_facts_its_scripts_print() {
    let dir = common::temp_project(
        "puppet-facts-external",
        &common::root().join("tests/forge/modules"),
        &[
            (
                "facts.d/data.sh",
                "#!/bin/sh\necho '{\"role\": \"web\", \"rack\": 4}'\n",
            ),
            (
                "facts.d/pairs.sh",
                "#!/bin/sh\nprintf 'zone=eu\\nsize=large\\n'\n",
            ),
            ("facts.d/.hidden", "#!/bin/sh\nexit 1\n"),
            (
                "plans/gather.pp",
                "plan gather(String $path) {\n  $t = run_plan('facts::external', path => $path, targets => 'localhost')\n  return $t.map |$x| { $x.facts }\n}\n",
            ),
        ],
    );
    let path = dir.join("facts.d");
    let arg = format!("path={}", path.display());
    let (code, out, err) = common::drover_in(&dir, &["run", "gather", &arg, "--format", "json"]);
    assert_eq!(code, 0, "{out}{err}");
    let result = common::plan_result(&out);
    assert_eq!(
        result["value"],
        serde_json::json!([{"role": "web", "rack": 4, "zone": "eu", "size": "large"}]),
        "{result}"
    );
}

#[test]
fn the_forge_reboot_plan_dry_run_predicts_the_disconnect_wait_the_downtime_and_the_retries() {
    let dir = forge_project("puppet-reboot");
    std::fs::write(
        dir.join("inventory.yaml"),
        "config:\n  transport: sim\n  sim:\n    latency: 1s\n    reboot_downtime: 45s\ngroups:\n  - name: web\n    targets: [web1, web2]\n",
    )
    .unwrap();
    let events = run_events(&dir, &["reboot", "targets=web", "--dry-run"]);
    let result = events.last().unwrap();
    // last_boot_time 1s, the reboot task 1s (the target goes down as it
    // ends, at 2s, for 45s), ctrl::sleep(3 + 10) to 15s; last_boot_time
    // fails at once (down), ctrl::sleep(1) to 16s, wait_until_available
    // until the target is up (47s) and a command ran (48s), last_boot_time
    // again (1s): a new boot, at 49s.
    assert_eq!(result["duration_ms"], 49_000, "{result}");
    assert_eq!(result["value"][0]["value"]["_output"], "rebooted");
    let steps: Vec<&str> = events
        .iter()
        .filter(|e| e["type"] == "step_start")
        .map(|e| {
            e["detail"]
                .as_str()
                .unwrap_or(e["action"].as_str().unwrap())
        })
        .collect();
    assert_eq!(
        steps,
        [
            "reboot::last_boot_time",
            "reboot",
            "reboot::last_boot_time",
            "",
            "reboot::last_boot_time"
        ]
    );
    let down = events
        .iter()
        .filter(|e| e["type"] == "target_result" && e["result"]["ok"] == false)
        .count();
    assert_eq!(down, 2, "both targets were down at the first check");
}

/// What the Puppet fuzz test inserts: the language's pieces.
const TOKENS: &[&str] = &[
    "$",
    "${",
    "}",
    "{",
    "(",
    ")",
    "[",
    "]",
    "|",
    "||",
    "=>",
    ",",
    "'",
    "\"",
    "@(END)",
    "END",
    "|-",
    "/",
    "*",
    "if",
    "else",
    "elsif",
    "unless",
    "case",
    "plan",
    "$x",
    "::",
    "\\",
    "\n",
    "#",
    "/*",
    "<<",
    "-",
    "!",
    "and",
    "or",
    "in",
    "=~",
    "Integer[",
    "apply",
    "@@",
    "break()",
    "return",
    ".each |$v| {",
    "0x",
    "1e",
    "\u{e9}",
];

#[test]
fn one_hundred_thousand_mutated_puppet_plans_never_panic_or_hang() {
    let mut seeds: Vec<String> = Vec::new();
    for dir in [
        "tests/forge/modules/facts/plans",
        "tests/forge/modules/reboot/plans",
    ] {
        for e in std::fs::read_dir(common::root().join(dir)).unwrap() {
            seeds.push(std::fs::read_to_string(e.unwrap().path()).unwrap());
        }
    }
    for p in common::plans_under("tests/conformance")
        .into_iter()
        .chain(common::plans_under("tests/diagnostics"))
        .filter(|p| p.extension().is_some_and(|e| e == "pp"))
    {
        seeds.push(std::fs::read_to_string(p).unwrap());
    }
    assert!(seeds.len() > 20);
    common::on_small_stack(move || {
        let seed =
            std::env::var("DROVER_FUZZ_SEED").map_or(0x9a9e, |s| s.parse().expect("a number"));
        let mut rng = fastrand::Rng::with_seed(seed);
        let (mut parsed, mut rejected) = (0, 0);
        for i in 0..100_000 {
            let pick = rng.usize(0..seeds.len());
            let input = common::mutate(&mut rng, &seeds[pick], TOKENS);
            let (sources, result) = drover::puppet::parse_str("fuzz.pp", &input);
            for d in &result.diagnostics {
                let (s, e) = (d.primary.span.start as usize, d.primary.span.end as usize);
                assert!(s <= e && e <= input.len() + 1, "{d:?}\n{input}");
                if i % 100 == 0 {
                    let _ = d.render(&sources, false, 80);
                }
            }
            if result.file.is_some() {
                parsed += 1;
            } else {
                rejected += 1;
            }
        }
        assert!(
            parsed > 5_000 && rejected > 20_000,
            "parsed {parsed}, rejected {rejected}"
        );
    });
}

/// A project whose module `ymod` (tests/puppet/ymod) holds YAML plans.
fn yaml_project(name: &str) -> std::path::PathBuf {
    let dir = common::temp_project(name, std::path::Path::new("modules"), &[]);
    let module = dir.join("modules/ymod");
    for sub in ["plans", "tasks", "files"] {
        std::fs::create_dir_all(module.join(sub)).unwrap();
        for e in std::fs::read_dir(common::root().join("tests/puppet/ymod").join(sub)).unwrap() {
            let e = e.unwrap();
            std::fs::copy(e.path(), module.join(sub).join(e.file_name())).unwrap();
        }
    }
    use std::os::unix::fs::PermissionsExt;
    for f in ["tasks/echo.sh", "files/hello.sh"] {
        std::fs::set_permissions(module.join(f), std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    dir
}

#[test]
fn a_yaml_plan_runs_every_kind_of_step_with_interpolation_and_eval() {
    let dir = yaml_project("puppet-yaml");
    let dest = dir.join("uploaded.sh");
    let dest_arg = format!("dest={}", dest.display());
    let (code, out, err) = common::drover_in(
        &dir,
        &[
            "run",
            "ymod::steps",
            "targets=localhost",
            &dest_arg,
            "--verbose",
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    // message and verbose, interpolated.
    assert!(
        err.contains("Hello world") || out.contains("Hello world"),
        "{out}{err}"
    );
    assert!(
        err.contains("Upper WORLD") || out.contains("Upper WORLD"),
        "{out}{err}"
    );
    let (code, out, err) = common::drover_in(
        &dir,
        &[
            "run",
            "ymod::steps",
            "targets=localhost",
            "who=yaml",
            &dest_arg,
            "--format",
            "json",
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    let result: Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
    assert_eq!(
        result["value"],
        serde_json::json!({
            "host": "host-yaml", "said": "from yaml", "ran": "script one yaml",
            "sub": 42, "downloaded": "true",
        })
    );
    // The upload and the download happened.
    assert!(dest.is_file());
    assert!(dir.join("downloads/dl/localhost/uploaded.sh").is_file());
    // Steps are checked like any plan: `drover check` sees them.
    let (code, _, err) = common::drover_in(&dir, &["check"]);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn a_faulty_yaml_plan_is_refused_with_the_place_of_its_mistake() {
    let dir = yaml_project("puppet-yaml-faulty");
    for (file, text, code, message) in [
        (
            "typo.yaml",
            "steps:\n  - comand: uptime\n    targets: $targets\n",
            "syntax",
            "a step needs one of",
        ),
        (
            "key.yaml",
            "steps:\n  - command: uptime\n    targest: all\n",
            "syntax",
            "no key `targest`",
        ),
        (
            "apply.yaml",
            "steps:\n  - resources:\n      - package: nginx\n    targets: all\n",
            "unsupported",
            "not supported",
        ),
        (
            "code.yaml",
            "steps:\n  - eval: $x +\n",
            "syntax",
            "in this Puppet code",
        ),
        ("top.yaml", "stepz: []\n", "syntax", "no key `stepz`"),
        ("broken.yaml", "steps: [\n", "syntax", "does not parse"),
    ] {
        let path = dir.join("modules/ymod/plans").join(file);
        std::fs::write(&path, text).unwrap();
        let (status, _, err) = common::drover_in(&dir, &["check", path.to_str().unwrap()]);
        assert_eq!(status, 1, "{file}: {err}");
        assert!(err.contains(code) && err.contains(message), "{file}: {err}");
        assert!(
            err.contains(&format!("{file}:")),
            "{file}: a location: {err}"
        );
        std::fs::remove_file(path).unwrap();
    }
}

#[test]
fn the_puppet_corpus_has_a_plan_per_feature_sixty_at_least() {
    let plans: Vec<_> = common::plans_under("tests/conformance")
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "pp"))
        .collect();
    assert!(
        plans.len() >= 60,
        "{} Puppet-language conformance plans",
        plans.len()
    );
    let faulty = common::plans_under("tests/diagnostics")
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "pp"))
        .count();
    assert!(faulty >= 6, "{faulty} faulty Puppet-language plans");
}

#[test]
fn plan_show_reads_puppet_strings_docs() {
    let dir = forge_project("puppet-show");
    let (code, out, err) = common::drover_in(&dir, &["plan", "show", "reboot", "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let plan: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        plan["description"],
        "Reboots targets and waits for them to be available again."
    );
    assert_eq!(plan["parameters"][0]["name"], "targets");
    assert_eq!(plan["parameters"][0]["description"], "Targets to reboot.");
    assert_eq!(plan["parameters"][1]["type"], "Optional[String]");
    let (_, out, _) = common::drover_in(&dir, &["plan", "show"]);
    assert!(
        out.lines().any(|l| l.starts_with("facts::info")
            && l.contains("A plan that prints basic OS information")),
        "{out}"
    );
}

#[test]
fn a_yaml_plan_per_step_kind_with_eval_and_interpolation() {
    let dir = yaml_project("puppet-yaml-kinds");
    let file = dir.join("to-fetch.txt");
    std::fs::write(&file, "content").unwrap();
    let dir_arg = format!("dir={}", dir.display());
    let file_arg = format!("file={}", file.display());
    for (plan, args, want) in [
        (
            "ymod::command",
            vec!["targets=localhost"],
            serde_json::json!("said yaml"),
        ),
        (
            "ymod::task",
            vec!["targets=localhost", "who=bolt"],
            serde_json::json!("hi BOLT"),
        ),
        (
            "ymod::script",
            vec!["targets=localhost"],
            serde_json::json!("script localhost two"),
        ),
        ("ymod::plan", vec![], serde_json::json!([4, 8])),
        (
            "ymod::upload",
            vec!["targets=localhost", &dir_arg],
            serde_json::json!(format!("{}/sent.sh", dir.display())),
        ),
        (
            "ymod::download",
            vec!["targets=localhost", &file_arg],
            serde_json::json!(true),
        ),
        ("ymod::message", vec![], serde_json::json!("done")),
        ("ymod::verbose", vec![], serde_json::json!(2)),
        (
            "ymod::eval",
            vec![],
            serde_json::json!({"webs": ["WEB1", "WEB3"], "count": 2}),
        ),
    ] {
        let mut all = vec!["run", plan, "--format", "json", "--verbose"];
        all.extend(args.iter().copied());
        let (code, out, err) = common::drover_in(&dir, &all);
        assert_eq!(code, 0, "{plan}: {out}{err}");
        let events: Vec<Value> = out
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(events.last().unwrap()["value"], want, "{plan}");
        let said = |text: &str| {
            events
                .iter()
                .any(|e| e["message"].as_str().is_some_and(|m| m.contains(text)))
        };
        match plan {
            "ymod::message" => assert!(said("There are 3 items: a+b+c"), "{out}"),
            "ymod::verbose" => assert!(said("level 20"), "{out}"),
            _ => {}
        }
    }
    assert!(dir.join("sent.sh").is_file());
    assert!(
        dir.join("downloads/fetched/localhost/to-fetch.txt")
            .is_file()
    );
}

#[test]
fn the_forge_reboot_plan_waits_for_the_new_boot_time_of_the_ssh_beds_rebooting_targets() {
    // Down for 5 s: longer than the plan's wait (3 + disconnect_wait 1 s
    // after the task, whose `shutdown` runs 3 s after it ends), so its
    // first check finds every target down and it has to wait.
    let bed = common::Bed::rebootable(32, 2, 5);
    let before: Vec<String> = (0..2).map(|i| bed.boot_time(i)).collect();
    let dir = forge_project("puppet-reboot-ssh");
    let inventory = bed.inventory_with(
        "reboot.yaml",
        &format!(
            "    private-key: {}\n    known-hosts: {}\n    run-as: root\n    sudo-password: drover-bed-password\n",
            bed.dir.join("keys/id_ed25519").display(),
            bed.dir.join("known_hosts").display()
        ),
    );
    let events = run_events(
        &dir,
        &[
            "reboot",
            "targets=bed",
            "disconnect_wait=1",
            "-i",
            inventory.to_str().unwrap(),
        ],
    );
    let result = events.last().unwrap();
    for i in 0..2 {
        assert_eq!(
            result["value"][i]["value"]["_output"], "rebooted",
            "{result}"
        );
        assert_ne!(bed.boot_time(i), before[i], "target {i} rebooted");
    }
    // What last_boot_time said, per target, in order: the old boot time,
    // then down (an error), and at last the new one.
    let checks: Vec<&Value> = events
        .iter()
        .filter(|e| e["type"] == "step_start" && e["detail"] == "reboot::last_boot_time")
        .map(|e| &e["step"])
        .collect();
    assert!(checks.len() >= 3, "before, at least once down, after");
    for (i, target) in bed.targets.iter().enumerate() {
        let said: Vec<String> = events
            .iter()
            .filter(|e| e["type"] == "target_result" && checks.contains(&&e["step"]))
            .filter(|e| e["result"]["target"] == target.as_str())
            .map(|e| match e["result"]["value"]["_output"].as_str() {
                Some(out) if e["result"]["ok"] == true => out.trim().to_string(),
                _ => "down".to_string(),
            })
            .collect();
        assert!(said[0].contains(&before[i]), "{said:?}");
        assert_eq!(said[1], "down", "{said:?}");
        assert!(said.last().unwrap().contains(&bed.boot_time(i)), "{said:?}");
    }
}

#[test]
fn puppet_logging_functions_log_their_arguments_at_their_levels() {
    let (code, out, err) = common::drover_in_tests(&[
        "run",
        "conformance/pp_messages_and_logging.pp",
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{out}{err}");
    let logged: Vec<(String, String)> = out
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|e| e["type"] == "log" || e["type"] == "message")
        .map(|e| {
            let level = e["level"].as_str().unwrap_or("message").to_string();
            (level, e["message"].as_str().unwrap().to_string())
        })
        .collect();
    let expected = [
        ("message", "a message"),
        ("verbose", "a verbose line"),
        ("info", "log info"),
        ("warn", "log warn"),
        ("info", "notice 1 [2]"),
        ("warn", "a warning"),
        ("info", "info"),
        ("debug", "debug"),
        ("error", "an error that is only logged"),
    ];
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(l, m)| (l.to_string(), m.to_string()))
        .collect();
    assert_eq!(logged, expected);
}

/// `drover check --format json` of a project holding `text` at `path`, the
/// `demo` module (its Puppet functions) on its module path: the report
/// (with errors: exit 1) and the output.
fn check_beside_demo(name: &str, path: &str, text: &str) -> (Value, String) {
    let dir = common::temp_project(name, &common::root().join("tests/modules"), &[(path, text)]);
    let (code, out, err) = common::drover_in(&dir, &["check", "--format", "json"]);
    assert_eq!(code, 1, "{out}{err}");
    (serde_json::from_str(&out).unwrap(), out)
}

#[test]
fn calls_of_a_modules_puppet_functions_are_checked_against_their_parameters() {
    let (report, out) = check_beside_demo(
        "puppet-functions-check",
        "plans/use.pp",
        "plan use() {\n  $a = demo::double()\n  $b = demo::label(['x'], ', ', 3)\n  $c = demo::double(2, 'by' => 3)\n  $d = demo::dobule(2)\n  return [$a, $b, $c, $d]\n}\n",
    );
    let found: Vec<(String, String, u64)> = report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["severity"] == "error")
        .map(|d| {
            (
                d["code"].as_str().unwrap().to_string(),
                d["message"].as_str().unwrap().to_string(),
                d["line"].as_u64().unwrap(),
            )
        })
        .collect();
    let expected = [
        (
            "wrong-arguments",
            "function `demo::double` takes 1 argument(s), 0 given",
            2,
        ),
        (
            "wrong-arguments",
            "function `demo::label` takes 1 to 2 argument(s), 3 given",
            3,
        ),
        (
            "wrong-arguments",
            "function `demo::double` takes positional arguments only",
            4,
        ),
        ("unknown-function", "unknown function `demo::dobule`", 5),
    ];
    let expected: Vec<(String, String, u64)> = expected
        .iter()
        .map(|(c, m, l)| (c.to_string(), m.to_string(), *l))
        .collect();
    assert_eq!(found, expected, "{out}");
    assert!(out.contains("did you mean `demo::double`?"), "{out}");
}

#[test]
fn a_function_beside_plans_is_refused_with_where_it_belongs() {
    let (report, out) = check_beside_demo(
        "puppet-function-misplaced",
        "plans/f.pp",
        "function f::g() { 1 }\nplan f() { return 1 }\n",
    );
    let d = &report["diagnostics"][0];
    assert_eq!(d["code"], "unsupported", "{out}");
    assert_eq!(
        (d["line"].as_u64(), d["column"].as_u64()),
        (Some(1), Some(1))
    );
    assert!(
        d["message"]
            .as_str()
            .unwrap()
            .contains("belong in a module's `functions/NAME.pp`"),
        "{out}"
    );
}
