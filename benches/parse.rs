//! Parse + check throughput on generated plans of 5,000 to 50,000 lines.
//!
//! Run: `cargo bench --bench parse` (results go in docs/benchmarks.md).

use std::time::{Duration, Instant};

use drover::source::SourceMap;

/// A plan of about `lines` lines mixing every common statement form.
fn generate(lines: usize) -> String {
    let mut s = String::from(
        "# Generated for the parse benchmark.\nplan bench::big(TargetSpec $targets, Integer $batch = 2, Duration $timeout = 5m) {\n    $nodes = get_targets($targets);\n",
    );
    let mut i = 0;
    let mut count = s.lines().count();
    while count < lines {
        let chunk = format!(
            r#"    $r{i} = run_task("service", $nodes, action => "restart", name => "httpd-{i}", _timeout => 30s, _catch_errors => true);
    foreach $node in $r{i}.error_set.targets serial $batch max_failures 10% {{
        log::warn("${{node.name}} failed in step {i}: ${{r{i}.count}} results, timeout $timeout");
        with retry = 2, delay = 5s {{
            run_command("systemctl restart httpd && curl -fsS http://localhost/health", $node);
        }}
    }}
    $names{i} = $r{i}.ok_set.names.map |$n| {{ "${{n}}-ok" }}.filter |$n| {{ $n != "skip" }}.join(", ");
    if $names{i}.length > 100 * {i} + 7 && !($batch == 0) {{ out::message($names{i}); }} else {{ log::debug("short: $names{i}"); }}
"#
        );
        count += chunk.lines().count();
        s.push_str(&chunk);
        i += 1;
    }
    s.push_str("    return $nodes.length;\n}\n");
    s
}

/// A Puppet-language plan (`.pp`) of about `lines` lines, in the style of
/// the Forge's `reboot` plan: lambdas, `if` values, interpolation, hashes.
fn generate_puppet(lines: usize) -> String {
    let mut s = String::from(
        "# Generated for the parse benchmark.\nplan bench::big(TargetSpec $targets, Integer[1] $batch = 2, Optional[String] $note = undef) {\n  $nodes = get_targets($targets)\n",
    );
    let mut i = 0;
    let mut count = s.lines().count();
    while count < lines {
        let chunk = format!(
            r#"  $r{i} = run_task('service', $nodes, 'action' => 'restart', 'name' => "httpd-{i}", '_catch_errors' => true)
  $failed{i} = $r{i}.filter |$res| {{
    if !$res.ok() {{ true }} else {{ $res.value()['status'] != 'running' }}
  }}
  $plural{i} = if $failed{i}.size() > 1 {{ 's' }}
  out::message("Step {i}: ${{$failed{i}.size()}} target${{plural{i}}} failed (batch ${{batch}})")
  $summary{i} = $r{i}.reduce({{ 'ok' => [], 'bad' => [] }}) |$memo, $res| {{
    ({{ 'ok' => $memo['ok'] + $res.target().name(), 'bad' => $memo['bad'] }})
  }}
"#
        );
        count += chunk.lines().count();
        s.push_str(&chunk);
        i += 1;
    }
    s.push_str("  return $nodes\n}\n");
    s
}

fn measure(text: &str) -> Duration {
    measure_as("big.plan", text)
}

fn measure_as(name: &str, text: &str) -> Duration {
    let mut best = Duration::MAX;
    for _ in 0..5 {
        let mut sources = SourceMap::new();
        sources.add(name, text);
        let start = Instant::now();
        let (files, diags) = drover::check::check_sources(&sources);
        let took = start.elapsed();
        assert_eq!(files.len(), 1);
        assert!(diags.iter().all(|d| !d.is_error()), "{:?}", diags.first());
        best = best.min(took);
    }
    best
}

fn main() {
    println!("| lines | bytes | best of 5 | MB/s | time vs 5,000 lines |");
    println!("|---:|---:|---:|---:|---:|");
    let mut base = None;
    // `cargo bench --bench parse -- 5000` measures one size (e.g. under callgrind).
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let sizes = if sizes.is_empty() {
        vec![5_000, 10_000, 20_000, 50_000]
    } else {
        sizes
    };
    for lines in sizes {
        let text = generate(lines);
        let took = measure(&text);
        let mbps = text.len() as f64 / took.as_secs_f64() / 1e6;
        let base = *base.get_or_insert(took);
        println!(
            "| {lines} | {} | {:.1} ms | {mbps:.1} | {:.2}x |",
            text.len(),
            took.as_secs_f64() * 1e3,
            took.as_secs_f64() / base.as_secs_f64()
        );
    }
    // The Puppet front end (`.pp`), 50,000 lines.
    let text = generate_puppet(50_000);
    let took = measure_as("big.pp", &text);
    println!(
        "\nPuppet language (.pp), 50,000 lines, {} bytes: {:.1} ms, {:.1} MB/s",
        text.len(),
        took.as_secs_f64() * 1e3,
        text.len() as f64 / took.as_secs_f64() / 1e6
    );
}
