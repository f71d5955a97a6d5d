//! The state store's speed: acquire + release round trips per second in one
//! process, and the hand-over latency between two processes (a release in
//! one to the grant in the other), median and p99.
//!
//! Run: `cargo bench --bench state` (results go in docs/benchmarks.md), for
//! SQLite and for PostgreSQL: a throwaway cluster it starts like the tests do
//! (`initdb`, `pg_ctl`, on loopback TCP with a password), or the database
//! `DROVER_BENCH_POSTGRES=postgres://...` names. The bench runs itself a
//! second time as the other process (`DROVER_BENCH_PEER=URL`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use drover::pools::sqlite::RunInfo;
use drover::pools::{PoolManager, Request, Scope, open_store};

#[allow(dead_code)]
#[path = "../tests/common/postgres.rs"]
mod postgres;

/// For the cluster helper (tests/common has the same).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

const HANDOVERS: usize = 250;

fn now_ns() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

fn request(holder: u64) -> Request {
    Request {
        holder,
        pool: "bench".into(),
        members: vec!["t".into()],
        scope: Scope::Global,
        count: 1,
    }
}

/// Take and give back the one target `n` times; each (grant, release) time.
fn ping_pong(url: &str, name: &str, n: usize) -> Vec<(u128, u128)> {
    let store = open(url, name);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut out = Vec::new();
        for _ in 0..n {
            store
                .acquire(request(1), Duration::from_secs(60))
                .await
                .unwrap();
            let granted = now_ns();
            // Hold it a moment, so the other process is surely waiting.
            tokio::time::sleep(Duration::from_millis(2)).await;
            let released = now_ns();
            assert!(store.release(1, "t"));
            out.push((granted, released));
        }
        store.release_all(1);
        out
    })
}

fn open(url: &str, name: &str) -> Arc<dyn PoolManager> {
    open_store(
        url,
        &std::env::temp_dir(),
        RunInfo::here(name, "bench"),
        Duration::from_secs(30),
    )
    .unwrap()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn main() {
    if let Ok(url) = std::env::var("DROVER_BENCH_PEER") {
        for (g, r) in ping_pong(&url, "peer", HANDOVERS) {
            println!("{g} {r}");
        }
        return;
    }
    let dir = std::env::temp_dir().join(format!("drover-bench-state-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let alone = format!("sqlite:{}", dir.join("alone.db").display());
    let pair = format!("sqlite:{}", dir.join("pair.db").display());
    bench("SQLite", &alone, &pair);

    let cluster;
    let url = match std::env::var("DROVER_BENCH_POSTGRES") {
        Ok(url) => url,
        Err(_) => {
            cluster = postgres::Postgres::start("bench");
            cluster.url()
        }
    };
    bench("PostgreSQL", &url, &url);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Round trips on `alone`, then hand-overs between two processes on `pair`.
fn bench(label: &str, alone: &str, pair: &str) {
    // One process: acquire + release with nobody else.
    let store = open(alone, "alone");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let rounds = 2000;
    let started = Instant::now();
    rt.block_on(async {
        for _ in 0..rounds {
            store
                .acquire(request(1), Duration::from_secs(1))
                .await
                .unwrap();
            store.release(1, "t");
        }
    });
    let per_second = rounds as f64 / started.elapsed().as_secs_f64();
    store.release_all(1);
    drop(store);
    println!(
        "{label}: {per_second:.0} acquire+release round trips per second (one process, {rounds} rounds)"
    );

    // Two processes taking turns with one target.
    drop(open(pair, "init"));
    let peer = std::process::Command::new(std::env::current_exe().unwrap())
        .env("DROVER_BENCH_PEER", pair)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mine = ping_pong(pair, "me", HANDOVERS);
    let out = peer.wait_with_output().unwrap();
    assert!(out.status.success());
    let theirs: Vec<(u128, u128)> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let (g, r) = l.split_once(' ').unwrap();
            (g.parse().unwrap(), r.parse().unwrap())
        })
        .collect();
    // Every grant after another process's release: the hand-over.
    let mut all: Vec<(u128, u128, bool)> = mine
        .iter()
        .map(|&(g, r)| (g, r, true))
        .chain(theirs.iter().map(|&(g, r)| (g, r, false)))
        .collect();
    all.sort();
    let mut handovers: Vec<Duration> = all
        .windows(2)
        .filter(|w| w[0].2 != w[1].2)
        .map(|w| Duration::from_nanos(w[1].0.saturating_sub(w[0].1) as u64))
        .collect();
    handovers.sort();
    println!(
        "{label}: hand-over between processes over {} hand-overs: median {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        handovers.len(),
        percentile(&handovers, 0.5).as_secs_f64() * 1e3,
        percentile(&handovers, 0.99).as_secs_f64() * 1e3,
        handovers.last().unwrap().as_secs_f64() * 1e3,
    );
}
