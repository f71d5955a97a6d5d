//! Resource pools on virtual time: capacity, FIFO order, release at the end
//! of a run however it ends, scopes, and acquire timeouts.

use std::cell::RefCell;
use std::time::Duration;

use drover::eval::{Events, Interpreter, Program};
use drover::inventory::Inventory;
use drover::source::SourceMap;
use drover::value::{ErrorValue, Value};

const INVENTORY: &str =
    "groups:\n  - name: build\n    targets: [b1, b2, b3]\n  - name: test\n    targets: [b1]\n";

struct Clock {
    start: tokio::time::Instant,
    lines: RefCell<Vec<(u64, String)>>,
}

impl Events for Clock {
    fn log(&self, level: &str, message: &str, _location: &str) {
        self.lines.borrow_mut().push((
            self.start.elapsed().as_millis() as u64,
            format!("{level}: {message}"),
        ));
    }
    fn message(&self, _text: &str, _location: &str) {}
}

struct Outcome {
    result: Result<Value, Box<ErrorValue>>,
    elapsed: Duration,
    lines: Vec<(u64, String)>,
    held_after: Vec<String>,
}

fn run(source: &str) -> Outcome {
    let mut sources = SourceMap::new();
    sources.add("t.plan", source);
    let (files, diags) = drover::check_sources(&sources);
    assert!(diags.iter().all(|d| !d.is_error()), "{diags:?}");
    let program = Program { sources, files };
    let mut inv_sources = SourceMap::new();
    let id = inv_sources.add("inventory.yaml", INVENTORY);
    let inventory = Inventory::parse(&inv_sources, id).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .unwrap();
    runtime.block_on(async {
        let clock = Clock {
            start: tokio::time::Instant::now(),
            lines: RefCell::default(),
        };
        let interpreter = Interpreter::new(&program, &inventory, &clock);
        let result = interpreter.run("t", Default::default()).await;
        let mut held_after = interpreter.pools.held("build");
        held_after.extend(interpreter.pools.held("test"));
        Outcome {
            result,
            elapsed: clock.start.elapsed(),
            lines: clock.lines.take(),
            held_after,
        }
    })
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
            (10, "info: got 1 b1 1"),
            (20, "info: got 2 b2 2"),
            (30, "info: got 3 b3 3"),
            (1010, "info: got 4 b1 3"),
            (1020, "info: got 5 b2 3"),
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
    assert_eq!(o.lines, [(0, "info: branch holds b3".to_string())]);
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
