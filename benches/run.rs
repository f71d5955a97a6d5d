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

    // A dry run of the spec's rolling reboot over 10,000 simulated servers in
    // batches of 100 (the plan is the project's own copy).
    let mut inventory = String::from(
        "config:\n  transport: sim\n  sim:\n    latency: 300ms\n    reboot_downtime: 45s\ngroups:\n  - name: web\n    targets:\n",
    );
    for i in 0..10_000 {
        inventory.push_str(&format!("      - web{i}\n"));
    }
    inventory.push_str("  - name: lb\n    targets: [lb01]\n");
    std::fs::write(dir.join("inventory.yaml"), inventory).unwrap();
    std::fs::create_dir_all(dir.join("plans/examples")).unwrap();
    let plan = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/plans/examples/rolling_reboot.plan"
    );
    std::fs::copy(plan, dir.join("plans/examples/rolling_reboot.plan")).unwrap();
    let args = [
        "run",
        "examples::rolling_reboot",
        "batch=100",
        "--dry-run",
        "--format",
        "json",
    ];
    let runs: Vec<Duration> = (0..5).map(|_| time(&dir, &args)).collect();
    // SAFETY: getrusage only fills the struct it is given.
    let peak_kib = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage);
        usage.ru_maxrss
    };
    println!(
        "| `drover run examples::rolling_reboot batch=100 --dry-run`, 10,000 sim targets (5 runs) | {:.0} ms | {:.0} ms |",
        median(runs.clone()).as_secs_f64() * 1e3,
        runs.iter().min().unwrap().as_secs_f64() * 1e3
    );
    println!(
        "peak memory of any run above: {:.1} MB",
        peak_kib as f64 / 1024.0
    );

    // The interpreter's own cost per target: a parallel loop over the same
    // 10,000 targets with zero latency, minus a plan that only loads them.
    let zero = std::fs::read_to_string(dir.join("inventory.yaml"))
        .unwrap()
        .replace("latency: 300ms", "latency: 0ms");
    std::fs::write(dir.join("inventory.yaml"), zero).unwrap();
    std::fs::write(
        dir.join("par.plan"),
        "plan par() {\n    foreach $t in get_targets(\"web\") parallel {\n        run_command(\"true\", $t);\n    }\n}\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("noop.plan"),
        "plan noop() {\n    return get_targets(\"web\").length;\n}\n",
    )
    .unwrap();
    let dry = |plan: &str| {
        median(
            (0..9)
                .map(|_| time(&dir, &["run", plan, "--dry-run", "--format", "json"]))
                .collect(),
        )
    };
    let (par, noop) = (dry("par.plan"), dry("noop.plan"));
    println!(
        "per target of `foreach ... parallel` over 10,000 zero-latency sim targets: {:.1} µs (loop {:.0} ms, loading {:.0} ms)",
        par.saturating_sub(noop).as_secs_f64() * 1e6 / 10_000.0,
        par.as_secs_f64() * 1e3,
        noop.as_secs_f64() * 1e3
    );
    let _ = std::fs::remove_dir_all(&dir);
}
