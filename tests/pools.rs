//! Resource pools on virtual time: capacity, FIFO order, release at the end
//! of a run however it ends, scopes, and acquire timeouts.

mod common;

use std::time::Duration;

use common::Outcome;

const INVENTORY: &str =
    "groups:\n  - name: build\n    targets: [b1, b2, b3]\n  - name: test\n    targets: [b1]\n";

fn run(source: &str) -> Outcome {
    common::run_virtual(source, Some(INVENTORY), false)
}

#[test]
fn five_acquirers_share_three_servers_in_fifo_order() {
    let o = run(r#"plan t() {
        $fs = [1, 2, 3, 4, 5].map |$i| {
            $f = async {
                sleep(10ms * $i);
                $b = acquire("build");
                log::info("got $i ${b.name} ${acquired('build').length}");
                sleep(1s);
                release($b);
                return $b.name;
            };
            $f
        };
        return $fs.map |$f| { await $f };
    }"#);
    assert_eq!(
        o.result.unwrap().to_json(),
        serde_json::json!(["b1", "b2", "b3", "b1", "b2"])
    );
    let got: Vec<(u64, &str)> = o.lines.iter().map(|(t, l)| (*t, l.as_str())).collect();
    // Never more than three held; the fourth and fifth wait, in the order they came.
    assert_eq!(
        got,
        [
            (10, "got 1 b1 1"),
            (20, "got 2 b2 2"),
            (30, "got 3 b3 3"),
            (1010, "got 4 b1 3"),
            (1020, "got 5 b2 3"),
        ]
    );
    assert_eq!(o.elapsed, Duration::from_millis(2020));
    assert!(o.held_after.is_empty());
}

#[test]
fn everything_is_released_when_the_run_fails() {
    let o = run(r#"plan t() {
        $a = acquire("build", count => 2);
        async { $c = acquire("build"); log::info("branch holds ${c.name}"); fail("branch failed"); }
        sleep(1s);
        fail("the plan failed while holding ${a.length} servers");
    }"#);
    assert_eq!(
        o.result.expect_err("failure").message,
        "the plan failed while holding 2 servers"
    );
    assert_eq!(o.lines, [(0, "branch holds b3".to_string())]);
    assert!(o.held_after.is_empty(), "still held: {:?}", o.held_after);
}

#[test]
fn role_scope_lets_two_pools_hold_one_server() {
    let o = run(r#"plan t() {
        $a = acquire("build", scope => "role");
        $b = acquire("test", scope => "role");
        return [$a.name, $b.name, acquired("test").length];
    }"#);
    assert_eq!(
        o.result.unwrap().to_json(),
        serde_json::json!(["b1", "b1", 1])
    );
    // Globally held, b1 is unavailable to the other pool: the acquire times out.
    let o = run(r#"plan t() {
        $a = acquire("build");
        $b = acquire("test", timeout => 1s);
    }"#);
    let e = o.result.expect_err("timeout");
    assert_eq!(e.kind, "drover/acquire-timeout");
    assert_eq!(o.elapsed, Duration::from_secs(1));
}

#[test]
fn releasing_what_is_not_held_is_a_warning() {
    let o = run(r#"plan t() { release(get_target("b2")); return acquired("build").length; }"#);
    assert_eq!(o.result.unwrap().to_json(), 0);
    assert_eq!(
        o.lines,
        [(
            0,
            "warn: released `b2`, which this run does not hold".to_string()
        )]
    );
}

#[test]
fn with_lock_limit_admits_that_many_at_once() {
    for (limit, expected) in [(1, [0, 1000, 2000]), (2, [0, 0, 1000])] {
        let o = run(&format!(
            r#"plan t() {{
            $fs = [1, 2, 3].map |$i| {{
                $f = async {{
                    sleep(1ms * $i);
                    with lock = "slots", limit = {limit} {{
                        log::info("in $i");
                        sleep(1s);
                    }}
                }};
                $f
            }};
            $fs.each |$f| {{ await $f; }};
        }}"#
        ));
        o.result.unwrap();
        let at: Vec<u64> = o.lines.iter().map(|(t, _)| *t / 1000 * 1000).collect();
        assert_eq!(at, expected, "limit {limit}: {:?}", o.lines);
    }
}
