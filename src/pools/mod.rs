//! Resource pools (spec §6, OtterScript semantics): `acquire` takes free
//! targets of a pool (an inventory group) or waits in a FIFO queue. The
//! manager is a trait, so that runs on several controllers can later share
//! pools through a database; [`MemoryPools`] serves one process.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;

pub mod postgres;
pub mod sqlite;

/// The default store: SQLite under the project root.
pub const DEFAULT_STORE: &str = "sqlite:.drover/state.db";

/// The default lease of a run's holds (`state-lease`).
pub const DEFAULT_LEASE: Duration = Duration::from_secs(30);

/// `url` with any password replaced by `***`, for messages.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (auth, host) = match rest.rsplit_once('@') {
        Some(parts) => parts,
        None => return url.to_string(),
    };
    match auth.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_string(),
    }
}

/// Open the state store `url` (`sqlite:PATH`, relative to `root`) for the
/// run `info`; errors name the store without its password.
pub fn open_store(
    url: &str,
    root: &std::path::Path,
    info: sqlite::RunInfo,
    lease: Duration,
) -> Result<Arc<dyn PoolManager>, String> {
    if let Some(path) = url.strip_prefix("sqlite:") {
        let path = path.strip_prefix("//").unwrap_or(path);
        if path.is_empty() {
            return Err("state store `sqlite:` needs a path (`sqlite:.drover/state.db`)".into());
        }
        let path = root.join(path);
        let store = sqlite::SqlitePools::open(&path, info, lease)?;
        store.keep_leases();
        return Ok(Arc::new(store));
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let store = postgres::PgPools::open(url, info, lease)?;
        store.keep_leases();
        return Ok(Arc::new(store));
    }
    Err(format!(
        "state store `{}` is not a store URL (`sqlite:PATH` or `postgres://USER@HOST/DB`)",
        redact_url(url)
    ))
}

/// Who holds a target: one run.
pub(crate) type Holder = u64;

/// How exclusive a hold is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Unavailable to every other acquisition, in any pool.
    Global,
    /// Exclusive only among acquisitions of the same pool.
    Role,
}

/// One `acquire` call.
#[derive(Clone, Debug)]
pub struct Request {
    /// The run asking.
    pub holder: Holder,
    /// The pool (group) name.
    pub pool: String,
    /// The pool's targets, in inventory order.
    pub members: Vec<String>,
    /// Exclusivity.
    pub scope: Scope,
    /// How many targets.
    pub count: usize,
}

/// Why `acquire` gave nothing.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PoolError {
    /// Nothing became free in time.
    #[error("no {count} free target(s) in pool `{pool}` within {waited:?}")]
    Timeout {
        /// The pool.
        pool: String,
        /// How many were wanted.
        count: usize,
        /// How long it waited.
        waited: Duration,
    },
    /// The state store failed (its message names it, without a password).
    #[error("{0}")]
    Store(String),
    /// The pool has fewer members than asked for.
    #[error("pool `{pool}` has {size} target(s), {count} asked for")]
    TooFew {
        /// The pool.
        pool: String,
        /// Its size.
        size: usize,
        /// How many were wanted.
        count: usize,
    },
}

/// Keeps track of who holds which targets.
pub trait PoolManager: Send + Sync {
    /// Take `count` free targets of the pool, waiting (FIFO) up to `timeout`.
    fn acquire(
        &self,
        request: Request,
        timeout: Duration,
    ) -> BoxFuture<'_, Result<Vec<String>, PoolError>>;
    /// Give a target back; false if `holder` did not hold it.
    fn release(&self, holder: Holder, target: &str) -> bool;
    /// The targets of `pool` held now, by anyone.
    fn held(&self, pool: &str) -> Vec<String>;
    /// Release everything `holder` holds (the end of a run, however it ends).
    fn release_all(&self, holder: Holder) -> usize;
    /// What a shared store holds now, for `drover pools`.
    fn snapshot(&self) -> Result<Snapshot, String> {
        Err("this store is a run's own: nothing to show".into())
    }
    /// `drover pools release POOL TARGET --force`: break a hold, recorded
    /// as done `by`; the run that held it loses its lease. False when
    /// nothing held it.
    fn force_release(&self, _pool: &str, _target: &str, _by: &str) -> Result<bool, String> {
        Err("this store is a run's own: nothing to release".into())
    }
    /// Resolves, with why, when this process's runs lost their lease on what
    /// they hold (a shared store); never for a store of one process.
    fn lost(&self) -> BoxFuture<'_, String> {
        Box::pin(std::future::pending())
    }
}

/// Pools named so are `with lock` names: each lock is a pool of `limit`
/// slots, so that locks queue, expire and show exactly as pools do.
pub const LOCK_PREFIX: &str = "lock:";

/// The request for one slot of lock `name` that admits `limit` holders.
pub fn lock_request(holder: Holder, name: &str, limit: usize) -> Request {
    Request {
        holder,
        pool: format!("{LOCK_PREFIX}{name}"),
        members: (1..=limit)
            .map(|i| format!("{LOCK_PREFIX}{name}#{i}/{limit}"))
            .collect(),
        scope: Scope::Role,
        count: 1,
    }
}

/// The `limit` a held slot of a lock was taken with.
pub fn slot_limit(slot: &str) -> Option<usize> {
    slot.rsplit_once('/')?.1.parse().ok()
}

/// A shared store's holds and waiting requests, oldest first.
#[derive(Debug, Default, serde::Serialize)]
pub struct Snapshot {
    /// Every held target.
    pub holds: Vec<HeldBy>,
    /// Every waiting request, in queue order.
    pub waiting: Vec<WaitingRun>,
}

/// Who holds a target, and until when unless renewed.
#[derive(Debug, serde::Serialize)]
pub struct HeldBy {
    /// The pool it was taken from.
    pub pool: String,
    /// The target.
    pub target: String,
    /// `global` or `role`.
    pub scope: String,
    /// The run.
    pub run: String,
    /// Its plan.
    pub plan: String,
    /// Its controller's host.
    pub host: String,
    /// Its process.
    pub pid: u32,
    /// Who started it.
    pub user: String,
    /// Since when (ms since the epoch).
    pub since_ms: i64,
    /// When its lease ends unless renewed (ms since the epoch).
    pub lease_expires_ms: i64,
}

/// A request waiting in the queue.
#[derive(Debug, serde::Serialize)]
pub struct WaitingRun {
    /// The pool.
    pub pool: String,
    /// The run.
    pub run: String,
    /// Its plan.
    pub plan: String,
    /// How many targets it wants.
    pub count: usize,
    /// Waiting since (ms since the epoch).
    pub since_ms: i64,
}

/// One held target.
#[derive(Clone, Debug)]
pub(crate) struct Hold {
    pub target: String,
    pub pool: String,
    pub scope: Scope,
    pub holder: Holder,
}

/// Whether `target` is held in a way that keeps it from `r`.
fn conflicts(holds: &[Hold], target: &str, r: &Request) -> bool {
    holds.iter().any(|h| {
        h.target == target
            && (h.scope == Scope::Global || r.scope == Scope::Global || h.pool == r.pool)
    })
}

/// The targets `r` would get now, if enough are free.
fn free_for(holds: &[Hold], r: &Request) -> Option<Vec<String>> {
    let free: Vec<String> = r
        .members
        .iter()
        .filter(|t| !conflicts(holds, t, r))
        .take(r.count)
        .cloned()
        .collect();
    (free.len() == r.count).then_some(free)
}

/// The grants due to the waiting requests `queue` (in request order), each
/// as (its index, its targets), added to `holds`. A request that cannot be
/// served blocks every later one that wants any of the same targets: nobody
/// is overtaken, and nobody holds part of what it asked for. Every store
/// (this process's, SQLite, PostgreSQL) grants with this one function.
pub(crate) fn grants(holds: &mut Vec<Hold>, queue: &[&Request]) -> Vec<(usize, Vec<String>)> {
    let mut blocked: Vec<&str> = Vec::new();
    let mut out = Vec::new();
    for (i, r) in queue.iter().enumerate() {
        let free = if r.members.iter().any(|m| blocked.contains(&m.as_str())) {
            None
        } else {
            free_for(holds, r)
        };
        match free {
            Some(targets) => {
                for t in &targets {
                    holds.push(Hold {
                        target: t.clone(),
                        pool: r.pool.clone(),
                        scope: r.scope,
                        holder: r.holder,
                    });
                }
                out.push((i, targets));
            }
            None => blocked.extend(r.members.iter().map(String::as_str)),
        }
    }
    out
}

struct Waiter {
    id: u64,
    request: Request,
    grant: tokio::sync::oneshot::Sender<Vec<String>>,
}

#[derive(Default)]
struct State {
    holds: Vec<Hold>,
    queue: VecDeque<Waiter>,
    next_id: u64,
}

impl State {
    /// Grant waiters in order ([`grants`]); a waiter that went away
    /// (timeout, cancel) gives its grant back, and the rest are tried again.
    fn grant_waiters(&mut self) {
        loop {
            let queue: Vec<&Request> = self.queue.iter().map(|w| &w.request).collect();
            let granted = grants(&mut self.holds, &queue);
            if granted.is_empty() {
                return;
            }
            let mut gone = false;
            for (i, targets) in granted.into_iter().rev() {
                let waiter = self.queue.remove(i).expect("in range");
                if let Err(targets) = waiter.grant.send(targets) {
                    self.holds.retain(|h| {
                        !(h.holder == waiter.request.holder && targets.contains(&h.target))
                    });
                    gone = true;
                }
            }
            if !gone {
                return;
            }
        }
    }
}

/// Pools of one process.
#[derive(Default, Clone)]
pub(crate) struct MemoryPools {
    state: Arc<Mutex<State>>,
}

/// Takes a waiter out of the queue when its `acquire` ends without a grant.
struct Leave {
    state: Arc<Mutex<State>>,
    id: u64,
}

impl Drop for Leave {
    fn drop(&mut self) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        s.queue.retain(|w| w.id != self.id);
        // Later waiters it was blocking may go now.
        s.grant_waiters();
    }
}

impl PoolManager for MemoryPools {
    fn acquire(
        &self,
        request: Request,
        timeout: Duration,
    ) -> BoxFuture<'_, Result<Vec<String>, PoolError>> {
        Box::pin(async move {
            if request.members.len() < request.count {
                return Err(PoolError::TooFew {
                    pool: request.pool.clone(),
                    size: request.members.len(),
                    count: request.count,
                });
            }
            let (rx, id) = {
                let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
                let (tx, rx) = tokio::sync::oneshot::channel();
                let id = s.next_id;
                s.next_id += 1;
                s.queue.push_back(Waiter {
                    id,
                    request: request.clone(),
                    grant: tx,
                });
                s.grant_waiters();
                (rx, id)
            };
            let leave = Leave {
                state: self.state.clone(),
                id,
            };
            let result = tokio::time::timeout(timeout, rx).await;
            drop(leave);
            match result {
                Ok(Ok(targets)) => Ok(targets),
                _ => Err(PoolError::Timeout {
                    pool: request.pool,
                    count: request.count,
                    waited: timeout,
                }),
            }
        })
    }

    fn release(&self, holder: Holder, target: &str) -> bool {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let before = s.holds.len();
        if let Some(i) = s
            .holds
            .iter()
            .position(|h| h.holder == holder && h.target == target)
        {
            s.holds.remove(i);
        }
        let released = s.holds.len() < before;
        s.grant_waiters();
        released
    }

    fn held(&self, pool: &str) -> Vec<String> {
        let s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let mut out: Vec<String> = Vec::new();
        for h in s.holds.iter().filter(|h| h.pool == pool) {
            if !out.contains(&h.target) {
                out.push(h.target.clone());
            }
        }
        out
    }

    fn release_all(&self, holder: Holder) -> usize {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let before = s.holds.len();
        s.holds.retain(|h| h.holder != holder);
        let n = before - s.holds.len();
        s.grant_waiters();
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(holder: Holder, count: usize) -> Request {
        Request {
            holder,
            pool: "p".into(),
            members: vec!["a".into(), "b".into()],
            scope: Scope::Global,
            count,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_later_waiter_does_not_overtake_an_earlier_one() {
        let pools = MemoryPools::default();
        assert_eq!(
            pools
                .acquire(req(1, 2), Duration::from_secs(1))
                .await
                .unwrap(),
            ["a", "b"]
        );
        let wait = Duration::from_secs(60);
        let (p1, p2) = (pools.clone(), pools.clone());
        // Holder 2 wants both; holder 3, later, wants one.
        let first = tokio::spawn(async move { p1.acquire(req(2, 2), wait).await });
        tokio::time::sleep(Duration::from_millis(10)).await;
        let second = tokio::spawn(async move { p2.acquire(req(3, 1), wait).await });
        tokio::time::sleep(Duration::from_millis(10)).await;
        // One server frees up: holder 3 could use it, but holder 2 came first.
        assert!(pools.release(1, "a"));
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert!(!second.is_finished());
        assert!(pools.release(1, "b"));
        assert_eq!(first.await.unwrap().unwrap(), ["a", "b"]);
        assert_eq!(pools.release_all(2), 2);
        assert_eq!(second.await.unwrap().unwrap(), ["a"]);
        assert!(!pools.release(1, "a"), "holder 1 no longer holds a");
    }

    #[tokio::test(start_paused = true)]
    async fn a_waiter_that_gives_up_leaves_the_queue() {
        let pools = MemoryPools::default();
        pools
            .acquire(req(1, 2), Duration::from_secs(1))
            .await
            .unwrap();
        let err = pools
            .acquire(req(2, 1), Duration::from_secs(1))
            .await
            .unwrap_err();
        assert!(matches!(err, PoolError::Timeout { .. }));
        // The timed-out waiter no longer blocks anyone.
        pools.release_all(1);
        assert_eq!(
            pools
                .acquire(req(3, 1), Duration::from_secs(1))
                .await
                .unwrap(),
            ["a"]
        );
        let too_many = pools
            .acquire(req(4, 3), Duration::from_secs(1))
            .await
            .unwrap_err();
        assert!(matches!(too_many, PoolError::TooFew { size: 2, .. }));
    }
}
