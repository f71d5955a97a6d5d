//! Start-up and interpreter speed of the `drover` binary.
//!
//! Run: `cargo bench --bench run` (results go in docs/benchmarks.md).

use std::process::Command;
use std::time::{Duration, Instant};

const DROVER: &str = env!("CARGO_BIN_EXE_drover");

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// Wall time of one run of `drover args...` in `dir`, which must succeed.
fn time(dir: &std::path::Path, args: &[&str]) -> Duration {
    let start = Instant::now();
    let out = Command::new(DROVER)
        .args(args)
        .current_dir(dir)
        .output()
        .expect("drover runs");
    let took = start.elapsed();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    took
}

fn main() {
    // An empty project: `localhost` is the local transport.
    let dir = std::env::temp_dir().join(format!("drover-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();

    println!("| command | median of 30 | min |");
    println!("|---|---:|---:|");
    for args in [
        &["--version"][..],
        &["command", "run", "true", "-t", "localhost"][..],
    ] {
        let samples: Vec<Duration> = (0..30).map(|_| time(&dir, args)).collect();
        let min = *samples.iter().min().unwrap();
        println!(
            "| `drover {}` | {:.1} ms | {:.1} ms |",
            args.join(" "),
            median(samples).as_secs_f64() * 1e3,
            min.as_secs_f64() * 1e3
        );
    }

    let plan = dir.join("loop.plan");
    std::fs::write(
        &plan,
        r#"# 1,000,000 iterations of arithmetic and string work.
plan loop(Integer $n = 1000000) {
    $sum = 0;
    $chars = 0;
    foreach $i in range(1, $n) {
        $sum = $sum + $i * 2 - 1;
        $label = "node-${i}";
        $chars = $chars + $label.length;
        if $i % 250000 == 0 {
            log::debug("at $i: $sum");
        }
    }
    return [$sum, $chars];
}
"#,
    )
    .unwrap();
    let runs: Vec<Duration> = (0..5)
        .map(|_| time(&dir, &["run", "loop.plan", "--format", "json"]))
        .collect();
    println!(
        "| `drover run loop.plan` (1,000,000 iterations) | {:.0} ms | {:.0} ms |",
        median(runs.clone()).as_secs_f64() * 1e3,
        runs.iter().min().unwrap().as_secs_f64() * 1e3
    );
    let _ = std::fs::remove_dir_all(&dir);
}
