//! A TCP proxy that holds every chunk for a fixed one-way delay in each
//! direction, keeping order: the SSH test bed at a real network's round-trip
//! time (the kernel's netem qdisc is not available on these machines).
//!
//! Used in-process by the tests (`Bed` with `DROVER_BED_RTT_MS`) and as the
//! `latency_proxy` example by the benchmarks. Chunks are forwarded as they
//! were read, so throughput is not limited, only delayed.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the proxy saw, over all its connections.
#[derive(Default)]
pub struct Stats {
    /// Connections accepted.
    pub connections: AtomicU64,
    /// Round trips: the server answering after the client spoke.
    pub turns: AtomicU64,
}

/// Forward `ADDR:from` to `ADDR:to` for every address, each chunk held for
/// `one_way`; runs until the future is dropped.
pub async fn serve(
    addresses: Vec<String>,
    from: u16,
    to: u16,
    one_way: Duration,
    stats: Arc<Stats>,
    ready: impl FnOnce(),
) -> std::io::Result<()> {
    let mut listeners = Vec::new();
    for address in &addresses {
        let listen: SocketAddr = format!("{address}:{from}")
            .parse()
            .map_err(|e| std::io::Error::other(format!("{address}: {e}")))?;
        let target: SocketAddr = format!("{address}:{to}")
            .parse()
            .map_err(|e| std::io::Error::other(format!("{address}: {e}")))?;
        listeners.push((TcpListener::bind(listen).await?, target));
    }
    ready();
    let accepts = listeners.into_iter().map(|(listener, target)| {
        let stats = stats.clone();
        async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    continue;
                };
                stats.connections.fetch_add(1, Ordering::Relaxed);
                tokio::spawn(relay(client, target, one_way, stats.clone()));
            }
        }
    });
    futures::future::join_all(accepts).await;
    Ok(())
}

/// One client connection to `target`, both ways.
async fn relay(client: TcpStream, target: SocketAddr, one_way: Duration, stats: Arc<Stats>) {
    let Ok(server) = TcpStream::connect(target).await else {
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    // Who sent the last chunk: a server chunk after a client one is a turn.
    let last_up = Arc::new(AtomicBool::new(false));
    let up = pipe(client_read, server_write, one_way, {
        let last_up = last_up.clone();
        move || last_up.store(true, Ordering::Relaxed)
    });
    let down = pipe(server_read, client_write, one_way, {
        let stats = stats.clone();
        move || {
            if last_up.swap(false, Ordering::Relaxed) {
                stats.turns.fetch_add(1, Ordering::Relaxed);
            }
        }
    });
    tokio::join!(up, down);
}

/// Copy `from` to `to`, each chunk written `delay` after it was read; the
/// reader never waits for the writer, so the delay does not add up.
async fn pipe(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    delay: Duration,
    mut saw: impl FnMut(),
) {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(tokio::time::Instant, Vec<u8>)>();
    let read = async move {
        let mut buf = vec![0u8; 64 * 1024];
        while let Ok(n) = from.read(&mut buf).await {
            if n == 0 {
                break;
            }
            saw();
            if tx
                .send((tokio::time::Instant::now() + delay, buf[..n].to_vec()))
                .is_err()
            {
                break;
            }
        }
    };
    let write = async move {
        while let Some((at, chunk)) = rx.recv().await {
            tokio::time::sleep_until(at).await;
            if to.write_all(&chunk).await.is_err() {
                break;
            }
        }
        let _ = to.shutdown().await;
    };
    tokio::join!(read, write);
}
