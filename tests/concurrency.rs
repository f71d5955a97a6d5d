//! Concurrent loops and `parallelize` on tokio's paused clock: timing is
//! virtual, so it is asserted exactly.

mod common;

use std::time::Duration;

use common::Outcome;

fn run(source: &str) -> Outcome {
    common::run_virtual(source, None, false)
}

fn starts(o: &Outcome) -> Vec<u64> {
    o.lines
        .iter()
        .filter(|(_, l)| l.starts_with("start"))
        .map(|(t, _)| *t)
        .collect()
}

#[test]
fn serial_batches_wait_for_the_whole_batch() {
    // 6 elements, batches of 2, two 1 s steps per iteration: 3 batches of 2 s.
    let o = run(
        "plan t() { foreach $i in range(1, 6) serial 2 { log::info(\"start $i\"); sleep(1s); sleep(1s); } }",
    );
    assert!(o.result.is_ok());
    assert_eq!(o.elapsed, Duration::from_secs(6));
    assert_eq!(starts(&o), [0, 0, 2000, 2000, 4000, 4000]);
}

#[test]
fn parallel_is_a_sliding_window() {
    // Durations 3, 1, 1, 2 s with a window of 2: the third starts at 1 s, the
    // fourth at 2 s, all done at 4 s (batches would take 5 s).
    let src = |mode: &str| {
        format!(
            "plan t() {{ foreach $d in [3, 1, 1, 2] {mode} {{ log::info(\"start $d\"); sleep(1s * $d); }} }}"
        )
    };
    let o = run(&src("parallel 2"));
    assert_eq!(o.elapsed, Duration::from_secs(4));
    assert_eq!(starts(&o), [0, 0, 1000, 2000]);
    let o = run(&src("serial 2"));
    assert_eq!(o.elapsed, Duration::from_secs(5));
    let o = run(&src("parallel"));
    assert_eq!(o.elapsed, Duration::from_secs(3));
}

#[test]
fn serial_percent_rounds_up() {
    // 25% of 10 is 3: batches of 3, 3, 3, 1.
    let o = run(
        "plan t() { foreach $i in range(1, 10) serial 25% { log::info(\"start $i\"); sleep(1s); } }",
    );
    assert_eq!(
        starts(&o),
        [0, 0, 0, 1000, 1000, 1000, 2000, 2000, 2000, 3000]
    );
    assert_eq!(o.elapsed, Duration::from_secs(4));
}

#[test]
fn max_failures_continues_past_one_failure_and_stops_after_two() {
    let src = |fails: &str| {
        format!(
            "plan t() {{ foreach $i in range(1, 10) serial 1 max_failures 1 {{ log::info(\"start $i\"); sleep(1s); if $i in {fails} {{ fail(\"no $i\"); }} }} }}"
        )
    };
    // One failure: tolerated, every element runs.
    let o = run(&src("[3]"));
    assert!(o.result.is_ok());
    assert_eq!(starts(&o).len(), 10);
    assert!(
        o.lines
            .iter()
            .any(|(_, l)| l.contains("3 failed (tolerated): no 3"))
    );
    // Two failures: the loop stops after the second; four never start.
    let o = run(&src("[3, 6, 8]"));
    assert_eq!(starts(&o).len(), 6);
    let e = o.result.expect_err("a loop failure");
    assert_eq!(e.kind, "drover/loop-failure");
    let failed = e.details["failed"].to_json();
    assert_eq!(failed[0]["element"], 3);
    assert_eq!(failed[1]["element"], 6);
    assert_eq!(failed[1]["error"]["message"], "no 6");
    assert_eq!(e.details["never_started"].to_json(), 4);
}

#[test]
fn iterations_in_flight_finish_when_the_loop_fails() {
    // All three start together; the first fails at once, the others still finish.
    let o = run(
        "plan t() { foreach $d in [0, 2, 3] parallel { if $d == 0 { fail(\"zero\"); } sleep(1s * $d); log::info(\"done $d\"); } }",
    );
    assert_eq!(o.result.expect_err("failure").kind, "drover/loop-failure");
    assert_eq!(o.elapsed, Duration::from_secs(3));
    assert_eq!(
        o.lines
            .iter()
            .filter(|(_, l)| l.starts_with("done"))
            .count(),
        2
    );
}

#[test]
fn parallelize_keeps_input_order_and_reports_failed_indices() {
    let o = run(
        "plan t() { $base = 10; return parallelize([3, 1, 2], max => 2) |$d| { sleep(1s * $d); $base + $d }; }",
    );
    assert_eq!(o.result.unwrap().to_json(), serde_json::json!([13, 11, 12]));
    assert_eq!(o.elapsed, Duration::from_secs(3));
    let o = run(
        "plan t() { return parallelize([1, 2, 3, 4]) |$d| { sleep(1s * $d); if $d % 2 == 0 { fail(\"even\"); } $d }; }",
    );
    let e = o.result.expect_err("a parallel failure");
    assert_eq!(e.kind, "drover/parallel-failure");
    assert_eq!(e.details["failed"].to_json(), serde_json::json!([1, 3]));
    // The others finished first: the slowest element takes 4 s.
    assert_eq!(o.elapsed, Duration::from_secs(4));
}

#[test]
fn concurrent_bodies_see_a_snapshot_of_outer_variables() {
    let o = run(
        "plan t() { $prefix = \"n\"; $out = parallelize([1, 2]) |$i| { $local = \"${prefix}${i}\"; $local }; foreach $x in $out parallel { log::info(\"start $x\"); } return $out; }",
    );
    assert_eq!(o.result.unwrap().to_json(), serde_json::json!(["n1", "n2"]));
    assert_eq!(o.lines.len(), 2);
}

#[test]
fn async_branches_run_beside_the_code_that_follows() {
    // The branch sleeps 2 s while the body sleeps 1 s: awaiting ends at 2 s.
    let o = run(
        "plan t() { $x = 40; $f = async { sleep(2s); return $x + 2; }; sleep(1s); $v = await $f; return $v; }",
    );
    assert_eq!(o.result.unwrap().to_json(), 42);
    assert_eq!(o.elapsed, Duration::from_secs(2));
    // Two statement branches and `await;`: 3 s, not 6 s.
    let o = run(
        "plan t() { async { sleep(3s); log::info(\"a\"); } async { sleep(3s); log::info(\"b\"); } await; log::info(\"after\"); }",
    );
    assert!(o.result.is_ok());
    assert_eq!(o.elapsed, Duration::from_secs(3));
    assert_eq!(
        o.lines.last().map(|(t, l)| (*t, l.as_str())),
        Some((3000, "after"))
    );
}

#[test]
fn a_plan_waits_for_its_branches_and_fails_with_an_unawaited_failure() {
    let o = run("plan t() { async { sleep(5s); log::info(\"branch done\"); } return 1; }");
    assert_eq!(o.result.unwrap().to_json(), 1);
    assert_eq!(o.elapsed, Duration::from_secs(5));
    assert!(
        o.lines
            .iter()
            .any(|(t, l)| *t == 5000 && l == "branch done")
    );
    let o = run(
        "plan t() { async { sleep(1s); fail(\"in the background\", kind => \"site/bg\"); } return 1; }",
    );
    assert_eq!(o.result.expect_err("the branch failed").kind, "site/bg");
}

#[test]
fn await_raises_the_branch_error_where_it_is_awaited() {
    let o = run(
        "plan t() { $f = async { fail(\"boom\", kind => \"site/x\"); }; try { await $f; } catch $e { return \"caught ${e.kind}\"; } }",
    );
    assert_eq!(o.result.unwrap().to_json(), "caught site/x");
    let o = run("plan t() { $n = 3; return await $n; }");
    assert_eq!(
        o.result.expect_err("not a future").kind,
        "drover/type-error"
    );
}

#[test]
fn branches_started_in_loops_belong_to_the_plan() {
    let o = run(
        "plan t() { $fs = [1, 2, 3].map |$i| { $f = async { sleep(1s * $i); return $i * 10; }; $f }; return $fs.map |$f| { await $f }; }",
    );
    assert_eq!(o.result.unwrap().to_json(), serde_json::json!([10, 20, 30]));
    assert_eq!(o.elapsed, Duration::from_secs(3));
}

/// Run `source` as a dry run against six simulated targets whose every action
/// takes `latency`.
fn dry_run(source: &str, latency: &str) -> Outcome {
    let yaml = format!(
        "config:\n  transport: sim\n  sim:\n    latency: {latency}\ngroups:\n  - name: web\n    targets: [w1, w2, w3, w4, w5, w6]\n"
    );
    common::run_virtual(source, Some(&yaml), true)
}

#[test]
fn serial_two_over_six_sim_targets_with_two_one_second_actions_takes_six_seconds() {
    let o = dry_run(
        "plan t() { foreach $n in get_targets(\"web\") serial 2 { run_command(\"uptime\", $n); run_task(\"service\", $n, action => \"restart\", name => \"nginx\"); } }",
        "1s",
    );
    assert!(o.result.is_ok(), "{:?}", o.result);
    assert_eq!(o.elapsed, Duration::from_secs(6));
    // The same loop `parallel 2` is a window, `parallel` all at once.
    let o = dry_run(
        "plan t() { foreach $n in get_targets(\"web\") parallel { run_command(\"uptime\", $n); run_command(\"uptime\", $n); } }",
        "1s",
    );
    assert_eq!(o.elapsed, Duration::from_secs(2));
    // A run-wide fan-out of one action over all six takes one latency.
    let o = dry_run(
        "plan t() { return run_command(\"uptime\", \"web\").count; }",
        "1s",
    );
    assert_eq!(
        (o.result.unwrap().to_json(), o.elapsed),
        (serde_json::json!(6), Duration::from_secs(1))
    );
}
