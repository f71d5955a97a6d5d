//! Round trips per step over SSH at a real network's latency: the test bed
//! behind the latency proxy (tests/common/latency.rs) at 50 ms RTT, against
//! the same bed behind the proxy at 0 ms (the steps' own run time).

mod common;

use std::time::Duration;

use common::{Bed, plan_result};
use serde_json::Value;

const RTT: Duration = Duration::from_millis(50);

/// One test at a time: timings on two cores are only comparable alone.
static ALONE: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Each step's `target_result` durations (ms), in the order of the steps.
fn step_durations(stdout: &str) -> Vec<(String, Vec<u64>)> {
    let mut steps: Vec<(String, Vec<u64>)> = Vec::new();
    for line in stdout.lines() {
        let Ok(event) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        match event["type"].as_str() {
            Some("step_start") => {
                steps.push((event["action"].as_str().unwrap().to_string(), vec![]))
            }
            Some("target_result") => {
                let step = steps.last_mut().expect("a step before its results");
                step.1.push(event["duration_ms"].as_u64().unwrap());
            }
            _ => {}
        }
    }
    steps
}

fn median(mut v: Vec<u64>) -> f64 {
    v.sort();
    v[v.len() / 2] as f64
}

/// Run tests/ssh/round_trips.plan on `bed`: each step's median duration,
/// and the end of the run (ms from the last result to `plan_result`: the
/// removal of every target's task files and the disconnects).
fn run(bed: &Bed, tag: &str) -> (Vec<(String, f64)>, f64) {
    let (code, out, err) = common::drover_in_tests(&[
        "run",
        "ssh/round_trips.plan",
        "targets=bed",
        &format!("tag={tag}"),
        "-i",
        bed.inventory().to_str().unwrap(),
        "--format",
        "json",
    ]);
    let result = plan_result(&out);
    assert_eq!(code, 0, "{result}\n{err}");
    assert_eq!(result["value"], true, "{result}");
    let last_result = out
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|e| e["type"] == "target_result")
        .map(|e| e["at_ms"].as_u64().unwrap())
        .max()
        .unwrap();
    let end = result["duration_ms"]
        .as_u64()
        .unwrap()
        .saturating_sub(last_result);
    let steps = step_durations(&out)
        .into_iter()
        .map(|(action, durations)| {
            assert_eq!(durations.len(), bed.targets.len(), "{action}");
            (action, median(durations))
        })
        .collect();
    (steps, end as f64)
}

#[test]
fn each_step_costs_its_round_trips_and_no_more_at_50_ms() {
    let _alone = ALONE.lock().unwrap_or_else(|e| e.into_inner());
    // Each bed twice, each step's better median kept: a round trip is a
    // floor that noise (two cores shared by ten sshd) only adds to.
    let best = |bed: &Bed, tag: &str| {
        let (mut steps, mut end) = run(bed, tag);
        let (again, again_end) = run(bed, tag);
        for ((_, ms), (_, other)) in steps.iter_mut().zip(again) {
            *ms = ms.min(other);
        }
        end = end.min(again_end);
        (steps, end)
    };
    let (base, base_end) = best(&Bed::start_at(70, 10, 16, Some(Duration::ZERO)), "base");
    let (slow, slow_end) = best(&Bed::start_at(71, 10, 16, Some(RTT)), "slow");
    assert_eq!(base.len(), slow.len());
    let rtt = RTT.as_millis() as f64;
    // The round trips each step may cost beyond its own run time: the
    // first command connects; everything else is one exec in the
    // target's shell, a task's and a script's first call too (staging
    // and the run go out together: 1.3 leaves room for their staging
    // work, a few programs, which two loaded cores delay more than a
    // command's and still tells one exec from two).
    let allowed = [
        ("run_command", None),
        ("run_command", Some(1.0)),
        ("run_command", Some(1.0)),
        ("run_command", Some(1.0)),
        ("run_command", Some(1.0)),
        ("run_task", Some(1.3)),
        ("run_task", Some(1.0)),
        ("run_task", Some(1.0)),
        ("run_script", Some(1.3)),
        ("run_script", Some(1.0)),
        ("upload_file", Some(1.0)),
        ("upload_file", Some(1.0)),
        ("run_command", Some(1.0)),
    ];
    assert_eq!(slow.len(), allowed.len(), "{slow:?}");
    let mut report = String::new();
    for (i, ((action, at_50), (_, at_0))) in slow.iter().zip(&base).enumerate() {
        let trips = (at_50 - at_0) / rtt;
        report.push_str(&format!(
            "step {i} {action}: {at_0} ms at 0, {at_50} ms at 50 ms RTT: {trips:.2} round trips\n"
        ));
    }
    report.push_str(&format!(
        "end of the run: {base_end} ms at 0, {slow_end} ms at 50 ms RTT\n"
    ));
    eprint!("{report}");
    // Every target's task files are removed at once, one exec each: about
    // one round trip for all ten (ten one after another would be ten).
    assert!(
        slow_end - base_end <= 2.2 * rtt,
        "the end of the run costs more than 2 round trips:\n{report}"
    );
    for (i, ((action, at_50), (_, at_0))) in slow.iter().zip(&base).enumerate() {
        assert_eq!(action, allowed[i].0, "{report}");
        if let Some(trips) = allowed[i].1 {
            assert!(
                at_50 - at_0 <= (trips + 0.2) * rtt,
                "step {i} ({action}) costs more than {trips} round trips:\n{report}"
            );
        }
    }
}

#[test]
fn connecting_costs_what_the_protocol_and_russh_need() {
    let _alone = ALONE.lock().unwrap_or_else(|e| e.into_inner());
    // One target, one command at 50 ms RTT: the proxy counts the server
    // answering after the client spoke. Key exchange (KEXINIT, then ECDH),
    // the ssh-userauth service, russh's public-key probe and the signed
    // request: 5; then the command's channel and its exec: 2 (the warm
    // channels for next execs go out in the same flights). TCP's own
    // handshake with the proxy is on loopback, not delayed: one more RTT
    // on a real network.
    let bed = Bed::start_at(72, 1, 16, Some(RTT));
    let (code, result, err) = common::command_run("true", "bed", &bed.inventory());
    assert_eq!(code, 0, "{result}\n{err}");
    let proxy = bed.proxy.as_ref().unwrap();
    let turns = proxy.stats.turns.load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(
        proxy
            .stats
            .connections
            .load(std::sync::atomic::Ordering::Relaxed),
        1
    );
    assert_eq!(turns, 7, "round trips to connect and run one command");
}
