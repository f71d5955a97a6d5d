//! `drover test` as a user runs it (testing.md §1 and §4): which files it
//! reads, `--filter`, `-i`, `--format json`, `--junit`, `--coverage`, exit
//! codes, how a failure is shown and what stays hidden. The stubs and
//! assertions themselves are tested in the plan language: tests/plan_tests.

mod common;

use std::path::PathBuf;

use common::drover_in;

const PLAN: &str = r#"
# Restart a role's web servers one at a time.
plan web::restart(String $role = "web", Boolean $check = true) {
    $nodes = get_targets($role);
    log::info("restarting ${nodes.length} server(s)");
    foreach $n in $nodes {
        run_task("service", $n, action => "restart", name => "nginx");
    }
    if $check {
        run_command("curl -fsS localhost/health", $nodes);
    } else {
        log::warn("not checking");
        return "unchecked";
    }
    return "checked";
}
"#;

const TESTS: &str = r#"
test "restarts every server, then checks them" {
    stub_task("service", value => {});
    stub_command("curl -fsS localhost/health", stdout => "ok");
    assert_eq(run_plan("web::restart"), "checked");
    assert_eq(calls("run_task").length, get_targets("web").length);
}

test "a broken expectation fails" {
    stub_task("service", value => {});
    stub_command("curl -fsS localhost/health");
    assert_eq(run_plan("web::restart"), "nothing");
}
"#;

/// A project with `plans/web/restart.plan`, `tests/restart_test.plan` and
/// an inventory of one web server; and a broken `fixtures/fixture.plan`,
/// which `drover test` does not read (it is in neither place it looks).
fn project(name: &str, tests: &str) -> PathBuf {
    common::temp_project(
        &format!("test-command-{name}"),
        &common::root().join("modules"),
        &[
            ("plans/web/restart.plan", PLAN),
            ("tests/restart_test.plan", tests),
            ("fixtures/fixture.plan", "plan broken( {\n"),
            (
                "inventory.yaml",
                "groups:\n  - name: web\n    targets: [web1]\n",
            ),
            (
                "three.yaml",
                "groups:\n  - name: web\n    targets: [a1, a2, a3]\n",
            ),
        ],
    )
}

fn last_line(out: &str) -> &str {
    out.lines().last().unwrap_or_default()
}

#[test]
fn the_project_s_tests_run_by_default_and_the_last_line_counts_them() {
    let dir = project("default", TESTS);
    let (code, out, err) = drover_in(&dir, &["test"]);
    assert_eq!(code, 1, "{out}{err}");
    assert_eq!(last_line(&out), "1 passed, 1 failed", "{out}");
    assert!(
        out.contains(
            "ok      restarts every server, then checks them (./tests/restart_test.plan:2)"
        ),
        "{out}"
    );
    assert!(
        out.contains("FAILED  a broken expectation fails (./tests/restart_test.plan:9)"),
        "{out}"
    );
}

#[test]
fn all_passing_exits_0_and_filter_counts_what_it_left_out() {
    let dir = project("filter", TESTS);
    let (code, out, err) = drover_in(&dir, &["test", "--filter", "every server"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(last_line(&out), "1 passed, 0 failed, 1 filtered out");
    assert!(!out.contains("broken expectation"), "{out}");
}

#[test]
fn dash_i_gives_the_tests_another_inventory() {
    let tests = r#"
test "three web servers" {
    assert_eq(get_targets("web").map |$t| { $t.name }, ["a1", "a2", "a3"]);
}
"#;
    let dir = project("inventory", tests);
    let (code, out, _) = drover_in(&dir, &["test"]);
    assert_eq!(code, 1, "the project's inventory has one web server: {out}");
    let (code, out, err) = drover_in(&dir, &["test", "-i", "three.yaml"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(last_line(&out), "1 passed, 0 failed");
}

#[test]
fn a_failure_shows_the_assertion_its_snippet_the_difference_and_the_captured_log() {
    let tests = r#"
test "nested hashes differ" {
    log::info("captured from the failing test");
    assert_eq({ a => { b => 1, c => [1, 2] }, d => 1, same => true },
              { a => { b => 2, c => [1, 2] }, e => 1, same => true });
}

test "a passing test's log is not shown" {
    log::info("captured from the passing test");
    stub_task("service", value => {});
    stub_command("curl -fsS localhost/health");
    run_plan("web::restart");
}
"#;
    let dir = project("difference", tests);
    let (code, out, err) = drover_in(&dir, &["test"]);
    assert_eq!(code, 1, "{out}{err}");
    // The assertion, where it is, and the keys that differ.
    assert!(
        out.contains("assert_eq failed: the values differ at `a.b`, `d (only in actual)`, `e (only in expected)`"),
        "{out}"
    );
    assert!(out.contains("./tests/restart_test.plan:4:5"), "{out}");
    assert!(
        out.contains("4 │ ╭─▶     assert_eq({ a => { b => 1"),
        "{out}"
    );
    // The line-by-line difference of the JSON forms.
    assert!(out.contains("-    \"b\": 1,"), "{out}");
    assert!(out.contains("+    \"b\": 2,"), "{out}");
    assert!(
        !out.contains("-  \"same\""),
        "equal keys are context: {out}"
    );
    assert!(out.contains("captured from the failing test"), "{out}");
    assert!(!out.contains("captured from the passing test"), "{out}");
    // The plan under test logs too: only for failed tests.
    assert!(!out.contains("restarting 1 server(s)"), "{out}");
}

#[test]
fn the_plan_under_test_s_log_is_shown_when_its_test_fails() {
    let dir = project("plan-log", TESTS);
    let (_, out, _) = drover_in(&dir, &["test"]);
    let failed = out.split("FAILED").nth(1).expect("a failed test");
    assert!(
        failed.contains("INFO ./plans/web/restart.plan:5:5: restarting 1 server(s)"),
        "{out}"
    );
    assert_eq!(out.matches("restarting 1 server(s)").count(), 1, "{out}");
}

#[test]
fn an_unstubbed_action_names_the_action_its_command_the_target_and_the_location() {
    let tests = r#"
test "the health check is not stubbed" {
    stub_task("service", value => {});
    run_plan("web::restart");
}
"#;
    let dir = project("unstubbed", tests);
    let (code, out, _) = drover_in(&dir, &["test"]);
    assert_eq!(code, 1);
    assert!(
        out.contains("no stub answers run_command `curl -fsS localhost/health` on web1 (at ./plans/web/restart.plan:10:9)"),
        "{out}"
    );
    assert!(out.contains("drover/unstubbed"), "{out}");
}

#[test]
fn a_test_file_that_does_not_check_exits_2_before_any_test_runs() {
    let tests = r#"
test "fine" {
    assert(true);
}

test "misspelt" {
    stub_taks("service", value => {});
}
"#;
    let dir = project("broken", tests);
    let (code, out, err) = drover_in(&dir, &["test"]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(out.is_empty(), "no test ran: {out}");
    assert!(err.contains("./tests/restart_test.plan:7:5"), "{err}");
    assert!(err.contains("did you mean `stub_task`?"), "{err}");
    // Bad usage too.
    let (code, _, err) = drover_in(&dir, &["test", "tests/nowhere_test.plan"]);
    assert_eq!(code, 2);
    assert!(err.contains("no such file"), "{err}");
}

#[test]
fn format_json_prints_one_object_per_test_and_a_summary() {
    let dir = project("json", TESTS);
    let (code, out, _) = drover_in(&dir, &["test", "--format", "json"]);
    assert_eq!(code, 1);
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert_eq!(lines[0]["type"], "test");
    assert_eq!(lines[0]["outcome"], "ok");
    assert_eq!(lines[0]["location"], "./tests/restart_test.plan:2");
    assert_eq!(lines[0]["error"], serde_json::Value::Null);
    assert_eq!(lines[1]["outcome"], "failed");
    assert_eq!(lines[1]["error"]["kind"], "drover/assertion-failed");
    assert_eq!(
        lines[1]["error"]["location"],
        "./tests/restart_test.plan:12:5"
    );
    assert_eq!(
        lines[2],
        serde_json::json!({"type": "summary", "passed": 1, "failed": 1, "filtered_out": 0})
    );
}

#[test]
fn junit_writes_a_report_that_a_junit_reader_reads_with_one_testcase_per_test() {
    let tests = format!(
        "{TESTS}\ntest \"xml <special> & \\\"quoted\\\" characters\" {{\n    assert(false, \"<&>\");\n}}\n"
    );
    let dir = project("junit", &tests);
    let report = dir.join("report.xml");
    let (code, _, err) = drover_in(&dir, &["test", "--junit", report.to_str().unwrap()]);
    assert_eq!(code, 1, "{err}");
    let xml = std::fs::read(&report).unwrap();
    let parsed = quick_junit::Report::deserialize(&xml[..])
        .unwrap_or_else(|e| panic!("not a JUnit report: {e}\n{}", String::from_utf8_lossy(&xml)));
    assert_eq!(parsed.tests, 3);
    assert_eq!(parsed.failures, 2);
    assert_eq!(parsed.test_suites.len(), 1);
    let suite = &parsed.test_suites[0];
    assert_eq!(suite.name.as_str(), "./tests/restart_test.plan");
    let cases: Vec<(&str, bool)> = suite
        .test_cases
        .iter()
        .map(|c| {
            (
                c.name.as_str(),
                matches!(c.status, quick_junit::TestCaseStatus::Success { .. }),
            )
        })
        .collect();
    assert_eq!(
        cases,
        [
            ("restarts every server, then checks them", true),
            ("a broken expectation fails", false),
            ("xml <special> & \"quoted\" characters", false),
        ]
    );
    match &suite.test_cases[1].status {
        quick_junit::TestCaseStatus::NonSuccess {
            message,
            ty,
            description,
            ..
        } => {
            assert!(message.as_ref().unwrap().contains("the values differ"));
            assert_eq!(ty.as_ref().unwrap().as_str(), "drover/assertion-failed");
            assert!(
                description
                    .as_ref()
                    .unwrap()
                    .contains("./tests/restart_test.plan:12:5")
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn coverage_lists_exactly_the_statements_no_test_executed() {
    let tests = r#"
test "checked" {
    stub_task("service", value => {});
    stub_command("curl -fsS localhost/health");
    run_plan("web::restart");
}
"#;
    let dir = project("coverage", tests);
    let (code, out, err) = drover_in(&dir, &["test", "--coverage"]);
    assert_eq!(code, 0, "{out}{err}");
    // The untested `else` branch: its two statements, nothing else.
    let missed: Vec<&str> = out
        .lines()
        .filter_map(|l| l.trim().strip_prefix("not executed: "))
        .collect();
    assert_eq!(
        missed,
        ["./plans/web/restart.plan:12", "./plans/web/restart.plan:13"],
        "{out}"
    );
    assert!(
        out.contains("web::restart (./plans/web/restart.plan): 7 of 9 statements executed"),
        "{out}"
    );
    assert!(
        out.contains("77.8% of statements executed (7 of 9)"),
        "{out}"
    );
    assert_eq!(last_line(&out), "1 passed, 0 failed");
    // With the other branch tested as well, nothing is missed.
    let both = format!(
        "{tests}\ntest \"unchecked\" {{\n    stub_task(\"service\", value => {{}});\n    assert_eq(run_plan(\"web::restart\", check => false), \"unchecked\");\n}}\n"
    );
    let dir = project("coverage-both", &both);
    let (code, out, _) = drover_in(&dir, &["test", "--coverage"]);
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains("not executed"), "{out}");
    assert!(
        out.contains("100.0% of statements executed (9 of 9)"),
        "{out}"
    );
}

#[test]
fn sensitive_values_stay_hidden_in_failures_and_captured_output() {
    let plan = r#"
plan web::login(Sensitive[String] $password) {
    log::info("logging in with $password");
    return $password;
}
"#;
    let tests = r#"
test "a secret in a failed assertion" {
    $p = "hun" + "ter2";
    assert_eq(run_plan("web::login", password => $p), "something else");
}
"#;
    let dir = project("sensitive", tests);
    std::fs::write(dir.join("plans/web/login.plan"), plan).unwrap();
    let report = dir.join("report.xml");
    for format in ["human", "json"] {
        let (code, out, err) = drover_in(
            &dir,
            &[
                "test",
                "--format",
                format,
                "--junit",
                report.to_str().unwrap(),
            ],
        );
        assert_eq!(code, 1, "{out}{err}");
        assert!(out.contains("logging in with"), "{out}");
        for text in [&out, &err, &std::fs::read_to_string(&report).unwrap()] {
            assert!(!text.contains("hunter2"), "{text}");
        }
    }
}

#[test]
fn tests_in_drover_syntax_run_puppet_language_plans() {
    let plan = "# Greets, in the Puppet language.\nplan site::greet(String $who, TargetSpec $targets = 'web') {\n  $r = run_command(\"echo hello ${who}\", $targets)\n  $lines = $r.map |$x| { $x.stdout.strip }\n  return if $lines.size > 0 { $lines.join(',') } else { 'nobody' }\n}\n";
    let tests = r#"
test "the Puppet plan's command is stubbed and its value returned" {
    stub_command("/^echo hello /", stdout => "hello bolt\n");
    assert_eq(run_plan("site::greet", who => "bolt"), "hello bolt");
    assert_eq(calls("run_command")[0]["name"], "echo hello bolt");
}
"#;
    let dir = project("puppet-plan", tests);
    std::fs::create_dir_all(dir.join("plans/site")).unwrap();
    std::fs::write(dir.join("plans/site/greet.pp"), plan).unwrap();
    let (code, out, err) = drover_in(&dir, &["test", "tests/restart_test.plan"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(last_line(&out), "1 passed, 0 failed");
}

#[test]
fn every_plan_file_under_tests_is_read_unless_the_project_says_where_its_tests_are() {
    let other = "test \"in a file not named _test\" {\n    assert(true);\n}\n";
    let dir = project("tests-setting", TESTS);
    std::fs::write(dir.join("tests/other.plan"), other).unwrap();
    let (code, out, _) = drover_in(&dir, &["test"]);
    assert_eq!(code, 1, "{out}");
    assert_eq!(last_line(&out), "2 passed, 1 failed", "{out}");
    // A broken plan file under tests/ is a test file that does not check.
    std::fs::write(
        dir.join("tests/broken.plan"),
        "test \"x\" {\n    stub_taks(\"y\");\n}\n",
    )
    .unwrap();
    let (code, _, err) = drover_in(&dir, &["test"]);
    assert_eq!(code, 2, "{err}");
    // The project's `tests` setting says where to look instead.
    std::fs::create_dir_all(dir.join("tests/unit")).unwrap();
    std::fs::write(dir.join("tests/unit/only.plan"), other).unwrap();
    std::fs::write(dir.join("drover-project.yaml"), "tests:\n  - tests/unit\n").unwrap();
    let (code, out, err) = drover_in(&dir, &["test"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(last_line(&out), "1 passed, 0 failed", "{out}");
}
