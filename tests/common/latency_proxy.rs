//! The latency proxy of the test bed as a program, for the benchmarks:
//!
//!   latency_proxy RTT_MS FROM_PORT TO_PORT ADDRESS...
//!
//! forwards ADDRESS:FROM_PORT to ADDRESS:TO_PORT for every address, each
//! chunk held for half of RTT_MS in each direction. Prints `ready` once it
//! listens; on SIGTERM or SIGINT prints `connections=N turns=N` and exits.

#[path = "latency.rs"]
mod latency;

use std::sync::Arc;
use std::sync::atomic::Ordering;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: latency_proxy RTT_MS FROM_PORT TO_PORT ADDRESS...";
    let (Some(rtt), Some(from), Some(to)) = (
        args.first().and_then(|a| a.parse::<f64>().ok()),
        args.get(1).and_then(|a| a.parse::<u16>().ok()),
        args.get(2).and_then(|a| a.parse::<u16>().ok()),
    ) else {
        eprintln!("{usage}");
        std::process::exit(2);
    };
    if args.len() < 4 || !(0.0..=60_000.0).contains(&rtt) {
        eprintln!("{usage}");
        std::process::exit(2);
    }
    let one_way = std::time::Duration::from_secs_f64(rtt / 2000.0);
    let stats = Arc::new(latency::Stats::default());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let result = runtime.block_on(async {
        let serve = latency::serve(args[3..].to_vec(), from, to, one_way, stats.clone(), || {
            println!("ready")
        });
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            r = serve => r,
            _ = term.recv() => Ok(()),
            _ = tokio::signal::ctrl_c() => Ok(()),
        }
    });
    if let Err(e) = result {
        eprintln!("latency_proxy: {e}");
        std::process::exit(1);
    }
    println!(
        "connections={} turns={}",
        stats.connections.load(Ordering::Relaxed),
        stats.turns.load(Ordering::Relaxed)
    );
}
