//! The PostgreSQL state store: pools and locks shared by runs on several
//! controllers. The same tables and the same grant function as SQLite
//! ([`super::sqlite`]); each change is one transaction serialised by a
//! transaction-level advisory lock, and ends with `NOTIFY drover_state`,
//! which a listening connection turns into a wake-up of this process's
//! waiters. A connection that breaks is made again on next use, so an
//! outage shorter than the lease costs nothing.
//!
//! The synchronous client of rust-postgres runs on a thread of its own for
//! every call: it must not block (or nest in) the run's tokio runtime.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use postgres::fallible_iterator::FallibleIterator;
use postgres::{Client, NoTls, SimpleQueryMessage};

use super::sqlite::RunInfo;
use super::{Hold, Holder, PoolError, PoolManager, Request, Scope, grants, redact_url};

/// The schema this drover writes.
const SCHEMA_VERSION: i64 = 1;

/// The advisory lock every change holds (its transaction's only).
const LOCK_KEY: i64 = 0x6472_6f76_6572; // "drover"

const SCHEMA: &str = "
CREATE TABLE drover_runs (run TEXT PRIMARY KEY, plan TEXT NOT NULL, host TEXT NOT NULL,
    pid BIGINT NOT NULL, username TEXT NOT NULL, started BIGINT NOT NULL, expires BIGINT NOT NULL);
CREATE TABLE drover_holds (id BIGSERIAL PRIMARY KEY, run TEXT NOT NULL, pool TEXT NOT NULL,
    target TEXT NOT NULL, scope TEXT NOT NULL, since BIGINT NOT NULL);
CREATE TABLE drover_requests (id BIGSERIAL PRIMARY KEY, run TEXT NOT NULL, pool TEXT NOT NULL,
    members TEXT NOT NULL, scope TEXT NOT NULL, count BIGINT NOT NULL, since BIGINT NOT NULL, granted TEXT);
CREATE TABLE drover_revoked (run TEXT NOT NULL, what TEXT NOT NULL);
CREATE TABLE drover_journal (at BIGINT NOT NULL, what TEXT NOT NULL, detail TEXT NOT NULL);
";

/// The database server's clock in milliseconds: leases and request times
/// of every controller are on one clock, whatever their own clocks say.
const NOW: &str = "(extract(epoch from clock_timestamp()) * 1000)::bigint";

/// How often a call that found the store unreachable is tried again.
const RETRY: Duration = Duration::from_millis(250);

fn scope_text(s: Scope) -> &'static str {
    match s {
        Scope::Global => "global",
        Scope::Role => "role",
    }
}

fn scope_of(s: &str) -> Scope {
    if s == "role" {
        Scope::Role
    } else {
        Scope::Global
    }
}

/// What the store needs to reach the database again.
struct Link {
    url: String,
    shown: String,
    client: Mutex<Option<Client>>,
}

impl Link {
    fn error(&self, e: impl std::fmt::Display) -> String {
        // The server's messages never hold the password; the URL does.
        format!("state store {}: {e}", self.shown)
    }

    /// Run `f` with a connection (made again if it broke), on a thread of
    /// its own.
    fn with<T: Send>(
        &self,
        f: impl FnOnce(&mut Client) -> Result<T, postgres::Error> + Send,
    ) -> Result<T, String> {
        std::thread::scope(|s| {
            s.spawn(|| {
                let mut slot = self.client.lock().unwrap_or_else(|e| e.into_inner());
                if slot.as_ref().is_none_or(Client::is_closed) {
                    *slot = Some(connect(&self.url).map_err(|e| self.error(explain(&e)))?);
                }
                let client = slot.as_mut().expect("connected");
                let out = f(client);
                if client.is_closed() {
                    *slot = None;
                }
                out.map_err(|e| self.error(explain(&e)))
            })
            .join()
            .unwrap_or_else(|_| Err(self.error("the store's thread panicked")))
        })
    }
}

/// The server's own message (`password authentication failed for user
/// ...`) rather than the client's bare "db error"; else the error and its
/// causes ("error connecting to server: Connection refused").
fn explain(e: &postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return db.message().to_string();
    }
    let mut text = e.to_string();
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        let more = c.to_string();
        if !text.contains(&more) {
            text = format!("{text}: {more}");
        }
        cause = c.source();
    }
    text
}

fn connect(url: &str) -> Result<Client, postgres::Error> {
    let mut config: postgres::Config = url.parse()?;
    config.connect_timeout(Duration::from_secs(5));
    config.application_name("drover");
    config.connect(NoTls)
}

/// Pools in a PostgreSQL database.
pub struct PgPools {
    link: Arc<Link>,
    info: RunInfo,
    lease: Duration,
    lost: Arc<Mutex<Option<String>>>,
    /// This process's rows in `drover_runs` (one per holder).
    runs: Arc<Mutex<std::collections::HashSet<String>>>,
    lost_notify: Arc<tokio::sync::Notify>,
    /// Woken by `NOTIFY drover_state` from any controller.
    changed: Arc<tokio::sync::Notify>,
}

impl PgPools {
    /// Connect to `url`, create or migrate the schema (once, however many
    /// controllers start together), listen for changes.
    pub fn open(url: &str, info: RunInfo, lease: Duration) -> Result<PgPools, String> {
        let link = Arc::new(Link {
            url: url.to_string(),
            shown: redact_url(url),
            client: Mutex::new(None),
        });
        link.with(migrate)?.map_err(|why| link.error(why))?;
        let pools = PgPools {
            link,
            info,
            lease,
            lost: Arc::new(Mutex::new(None)),
            runs: Arc::default(),
            lost_notify: Arc::new(tokio::sync::Notify::new()),
            changed: Arc::new(tokio::sync::Notify::new()),
        };
        pools.listen();
        Ok(pools)
    }

    /// A connection of its own that waits for `NOTIFY drover_state` and
    /// wakes this process's waiters (they also look once a second).
    fn listen(&self) {
        let url = self.link.url.clone();
        let changed = Arc::downgrade(&self.changed);
        std::thread::spawn(move || {
            loop {
                let Ok(mut client) = connect(&url) else {
                    std::thread::sleep(Duration::from_secs(1));
                    if changed.strong_count() == 0 {
                        return;
                    }
                    continue;
                };
                if client.batch_execute("LISTEN drover_state").is_err() {
                    continue;
                }
                loop {
                    let Some(notify) = changed.upgrade() else {
                        return;
                    };
                    let got = match client
                        .notifications()
                        .timeout_iter(Duration::from_secs(1))
                        .next()
                    {
                        Ok(note) => note.is_some(),
                        Err(_) => break,
                    };
                    if got {
                        notify.notify_waiters();
                    }
                    if client.is_closed() {
                        break;
                    }
                }
            }
        });
    }

    fn key(&self, holder: Holder) -> String {
        format!("{}/{holder}", self.info.run)
    }

    /// One change: a transaction under the advisory lock, then the grants
    /// that are due, then a notice to every listening controller.
    fn change<T: Send>(
        &self,
        f: impl FnOnce(&mut postgres::Transaction) -> Result<T, postgres::Error> + Send,
    ) -> Result<T, String> {
        self.link.with(|c| {
            let mut tx = c.transaction()?;
            // Simple-protocol statements cost one round trip; a statement
            // with parameters costs two (prepare, then execute).
            tx.batch_execute(&format!("SELECT pg_advisory_xact_lock({LOCK_KEY})"))?;
            let out = f(&mut tx)?;
            step(&mut tx)?;
            tx.batch_execute("NOTIFY drover_state")?;
            tx.commit()?;
            Ok(out)
        })
    }

    /// The run's row, made by its first acquisition (renewals keep it;
    /// if it expired, the next renewal reports the lease lost).
    fn run_row(&self, holder: Holder) -> Result<String, String> {
        let key = self.key(holder);
        if self
            .runs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(&key)
        {
            return Ok(key);
        }
        let info = self.info.clone();
        let lease = self.lease.as_millis() as i64;
        let k = key.clone();
        let made =
            self.link.with(move |c| {
                c.execute(
                &format!(
                    "INSERT INTO drover_runs (run, plan, host, pid, username, started, expires) \
                     VALUES ($1, $2, $3, $4, $5, {NOW}, {NOW} + $6) ON CONFLICT (run) DO NOTHING"
                ),
                &[&k, &info.plan, &info.host, &(info.pid as i64), &info.user, &lease],
            )
            })?;
        if made > 0 {
            self.runs
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(key.clone());
        }
        Ok(key)
    }

    fn renew(&self) -> Result<Option<String>, String> {
        let prefix = format!("{}/%", self.info.run);
        let lease = self.lease.as_millis() as i64;
        let expected = self.runs.lock().unwrap_or_else(|e| e.into_inner()).len() as u64;
        self.change(move |tx| {
            let renewed = tx.execute(
                &format!("UPDATE drover_runs SET expires = {NOW} + $1 WHERE run LIKE $2"),
                &[&lease, &prefix],
            )?;
            let revoked = tx
                .query_opt(
                    "SELECT what FROM drover_revoked WHERE run LIKE $1 LIMIT 1",
                    &[&prefix],
                )?
                .map(|r| r.get::<_, String>(0));
            if renewed < expected {
                return Ok(Some("its lease expired".to_string()));
            }
            Ok(revoked)
        })
    }

    /// `call`, tried again while the store is unreachable for less than a
    /// lease (after that, the lease is gone anyway).
    async fn patiently<T>(&self, mut call: impl FnMut() -> Result<T, String>) -> Result<T, String> {
        let started = std::time::Instant::now();
        loop {
            match call() {
                Err(_) if started.elapsed() + RETRY < self.lease => tokio::time::sleep(RETRY).await,
                done => return done,
            }
        }
    }

    /// [`Self::patiently`] for the calls that cannot wait asynchronously
    /// (releases, at any moment and at the run's end); not once the lease
    /// is lost, when the store forgets this run's holds by itself.
    fn retrying<T>(&self, mut call: impl FnMut() -> Result<T, String>) -> Result<T, String> {
        let started = std::time::Instant::now();
        loop {
            match call() {
                Err(_)
                    if started.elapsed() + RETRY < self.lease
                        && self
                            .lost
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .is_none() =>
                {
                    std::thread::sleep(RETRY)
                }
                done => return done,
            }
        }
    }

    /// Keep this process's leases, on a thread of its own.
    pub fn keep_leases(&self) {
        let me = PgPools {
            link: self.link.clone(),
            info: self.info.clone(),
            lease: self.lease,
            lost: self.lost.clone(),
            runs: self.runs.clone(),
            lost_notify: self.lost_notify.clone(),
            changed: self.changed.clone(),
        };
        let weak = Arc::downgrade(&self.link);
        std::thread::spawn(move || {
            let mut last_ok = std::time::Instant::now();
            loop {
                std::thread::sleep(me.lease / 3);
                if weak.strong_count() <= 1 {
                    return;
                }
                let why = match me.renew() {
                    Ok(None) => {
                        last_ok = std::time::Instant::now();
                        continue;
                    }
                    Ok(Some(why)) => why,
                    // A brief outage costs nothing: retried until the lease ends.
                    Err(_) if last_ok.elapsed() < me.lease => continue,
                    Err(e) => format!("the store could not be reached to renew it: {e}"),
                };
                *me.lost.lock().unwrap_or_else(|e| e.into_inner()) = Some(why);
                me.lost_notify.notify_waiters();
                return;
            }
        });
    }
}

/// Create the schema if the database has none; refuse one that is not
/// drover's or is newer.
fn migrate(c: &mut Client) -> Result<Result<(), String>, postgres::Error> {
    let mut tx = c.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LOCK_KEY])?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS drover_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    )?;
    let version = tx
        .query_opt(
            "SELECT value FROM drover_meta WHERE key = 'schema_version'",
            &[],
        )?
        .map(|r| r.get::<_, String>(0));
    match version.as_deref().map(str::parse::<i64>) {
        None => {
            let others: i64 = tx
                .query_one(
                    "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema() \
                     AND table_name <> 'drover_meta'",
                    &[],
                )?
                .get(0);
            if others > 0 {
                return Ok(Err(
                    "the database has tables but is not a drover state store".into(),
                ));
            }
            tx.batch_execute(SCHEMA)?;
            tx.execute(
                "INSERT INTO drover_meta (key, value) VALUES ('schema_version', $1)",
                &[&SCHEMA_VERSION.to_string()],
            )?;
        }
        Some(Ok(v)) if v == SCHEMA_VERSION => {}
        Some(Ok(v)) if v > SCHEMA_VERSION => {
            return Ok(Err(format!(
                "schema version {v} is newer than this drover's ({SCHEMA_VERSION}): upgrade drover"
            )));
        }
        Some(_) => return Ok(Err("its schema version is not one drover knows".into())),
    }
    tx.commit()?;
    Ok(Ok(()))
}

/// Forget runs whose lease ended; grant what is due, in request order.
fn step(tx: &mut postgres::Transaction) -> Result<(), postgres::Error> {
    // Read with the simple protocol (one round trip each, rows as text):
    // this runs in every change, so its cost is the store's cost.
    tx.batch_execute(&format!(
        "DELETE FROM drover_runs WHERE expires < {NOW}; \
         DELETE FROM drover_holds WHERE run NOT IN (SELECT run FROM drover_runs); \
         DELETE FROM drover_requests WHERE run NOT IN (SELECT run FROM drover_runs); \
         DELETE FROM drover_revoked WHERE run NOT IN (SELECT run FROM drover_runs)"
    ))?;
    let rows =
        |tx: &mut postgres::Transaction, sql: &str| -> Result<Vec<Vec<String>>, postgres::Error> {
            Ok(tx
                .simple_query(sql)?
                .into_iter()
                .filter_map(|m| match m {
                    SimpleQueryMessage::Row(row) => Some(
                        (0..row.len())
                            .map(|i| row.get(i).unwrap_or_default().to_string())
                            .collect(),
                    ),
                    _ => None,
                })
                .collect())
        };
    let mut holds: Vec<Hold> = rows(tx, "SELECT target, pool, scope FROM drover_holds")?
        .into_iter()
        .map(|r| Hold {
            target: r[0].clone(),
            pool: r[1].clone(),
            scope: scope_of(&r[2]),
            holder: 0,
        })
        .collect();
    let waiting: Vec<(i64, String, Request)> = rows(
        tx,
        "SELECT id, run, pool, members, scope, count FROM drover_requests WHERE granted IS NULL ORDER BY id",
    )?
    .into_iter()
    .map(|r| {
        (
            r[0].parse().unwrap_or_default(),
            r[1].clone(),
            Request {
                holder: 0,
                pool: r[2].clone(),
                members: serde_json::from_str(&r[3]).unwrap_or_default(),
                scope: scope_of(&r[4]),
                count: r[5].parse().unwrap_or_default(),
            },
        )
    })
    .collect();
    if waiting.is_empty() {
        return Ok(());
    }
    let queue: Vec<&Request> = waiting.iter().map(|(_, _, r)| r).collect();
    for (i, targets) in grants(&mut holds, &queue) {
        let (id, run, r) = &waiting[i];
        for t in &targets {
            tx.execute(
                &format!(
                    "INSERT INTO drover_holds (run, pool, target, scope, since) VALUES ($1, $2, $3, $4, {NOW})"
                ),
                &[run, &r.pool, t, &scope_text(r.scope)],
            )?;
        }
        tx.execute(
            "UPDATE drover_requests SET granted = $1 WHERE id = $2",
            &[&serde_json::to_string(&targets).unwrap_or_default(), id],
        )?;
    }
    Ok(())
}

impl PoolManager for PgPools {
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
            let run = self.run_row(request.holder).map_err(PoolError::Store)?;
            let members = serde_json::to_string(&request.members).unwrap_or_default();
            let (pool, scope, count) = (
                request.pool.clone(),
                scope_text(request.scope),
                request.count as i64,
            );
            let id: i64 = self
                .change(move |tx| {
                    Ok(tx
                        .query_one(
                            &format!(
                                "INSERT INTO drover_requests (run, pool, members, scope, count, since) \
                                 VALUES ($1, $2, $3, $4, $5, {NOW}) RETURNING id"
                            ),
                            &[&run, &pool, &members, &scope, &count],
                        )?
                        .get(0))
                })
                .map_err(PoolError::Store)?;
            let mut withdraw = Withdraw {
                pools: self,
                id: Some(id),
            };
            let deadline = tokio::time::Instant::now() + timeout;
            loop {
                let woken = self.changed.notified();
                tokio::pin!(woken);
                woken.as_mut().enable();
                // A granted request is taken back in the same statement
                // that reads it.
                let granted: Option<String> = self
                    .patiently(|| {
                        self.link.with(move |c| {
                            Ok(c.query_opt(
                                "DELETE FROM drover_requests WHERE id = $1 AND granted IS NOT NULL RETURNING granted",
                                &[&id],
                            )?
                            .map(|r| r.get::<_, String>(0)))
                        })
                    })
                    .await
                    .map_err(PoolError::Store)?;
                if let Some(list) = granted {
                    withdraw.id = None;
                    return Ok(serde_json::from_str(&list).unwrap_or_default());
                }
                if tokio::time::Instant::now() >= deadline {
                    return Err(PoolError::Timeout {
                        pool: request.pool,
                        count: request.count,
                        waited: timeout,
                    });
                }
                // A notice from any controller, or a second (leases end).
                let _ = tokio::time::timeout_at(
                    deadline.min(tokio::time::Instant::now() + Duration::from_secs(1)),
                    woken,
                )
                .await;
                self.patiently(|| self.change(|_| Ok(())))
                    .await
                    .map_err(PoolError::Store)?;
            }
        })
    }

    fn release(&self, holder: Holder, target: &str) -> bool {
        let run = self.key(holder);
        self.retrying(|| {
            self.change(|tx| {
                tx.execute(
                    "DELETE FROM drover_holds WHERE id IN (SELECT id FROM drover_holds WHERE run = $1 AND target = $2 LIMIT 1)",
                    &[&run, &target],
                )
            })
        })
        .is_ok_and(|n| n > 0)
    }

    fn held(&self, pool: &str) -> Vec<String> {
        let pool = pool.to_string();
        self.change(move |tx| {
            Ok(tx
                .query(
                    "SELECT target FROM drover_holds WHERE pool = $1 GROUP BY target ORDER BY min(id)",
                    &[&pool],
                )?
                .iter()
                .map(|r| r.get(0))
                .collect())
        })
        .unwrap_or_default()
    }

    fn release_all(&self, holder: Holder) -> usize {
        let run = self.key(holder);
        let n = self
            .retrying(|| {
                self.change(|tx| {
                    let n = tx.execute("DELETE FROM drover_holds WHERE run = $1", &[&run])?;
                    for table in ["drover_requests", "drover_runs", "drover_revoked"] {
                        tx.execute(&format!("DELETE FROM {table} WHERE run = $1"), &[&run])?;
                    }
                    Ok(n as usize)
                })
            })
            .unwrap_or(0);
        self.runs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&run);
        n
    }

    fn snapshot(&self) -> Result<super::Snapshot, String> {
        self.change(|tx| {
            let holds = tx
                .query(
                    "SELECT h.pool, h.target, h.scope, h.run, r.plan, r.host, r.pid, r.username, h.since, r.expires \
                     FROM drover_holds h JOIN drover_runs r ON r.run = h.run ORDER BY h.id",
                    &[],
                )?
                .iter()
                .map(|r| super::HeldBy {
                    pool: r.get(0),
                    target: r.get(1),
                    scope: r.get(2),
                    run: r.get(3),
                    plan: r.get(4),
                    host: r.get(5),
                    pid: r.get::<_, i64>(6) as u32,
                    user: r.get(7),
                    since_ms: r.get(8),
                    lease_expires_ms: r.get(9),
                })
                .collect();
            let waiting = tx
                .query(
                    "SELECT q.pool, q.run, r.plan, q.count, q.since FROM drover_requests q \
                     JOIN drover_runs r ON r.run = q.run WHERE q.granted IS NULL ORDER BY q.id",
                    &[],
                )?
                .iter()
                .map(|r| super::WaitingRun {
                    pool: r.get(0),
                    run: r.get(1),
                    plan: r.get(2),
                    count: r.get::<_, i64>(3) as usize,
                    since_ms: r.get(4),
                })
                .collect();
            Ok(super::Snapshot { holds, waiting })
        })
    }

    fn force_release(&self, pool: &str, target: &str, by: &str) -> Result<bool, String> {
        let (pool, target, by) = (pool.to_string(), target.to_string(), by.to_string());
        self.change(move |tx| {
            let Some(run) = tx
                .query_opt(
                    "SELECT run FROM drover_holds WHERE pool = $1 AND target = $2 ORDER BY id LIMIT 1",
                    &[&pool, &target],
                )?
                .map(|r| r.get::<_, String>(0))
            else {
                return Ok(false);
            };
            tx.execute(
                "DELETE FROM drover_holds WHERE pool = $1 AND target = $2 AND run = $3",
                &[&pool, &target, &run],
            )?;
            let what = format!("pool `{pool}`: `{target}` was released by {by} (drover pools release --force)");
            tx.execute("INSERT INTO drover_revoked (run, what) VALUES ($1, $2)", &[&run, &what])?;
            let detail = serde_json::json!({"pool": pool, "target": target, "run": run, "by": by}).to_string();
            tx.execute(
                &format!("INSERT INTO drover_journal (at, what, detail) VALUES ({NOW}, 'force-release', $1)"),
                &[&detail],
            )?;
            Ok(true)
        })
    }

    fn lost(&self) -> BoxFuture<'_, String> {
        Box::pin(async move {
            loop {
                let notified = self.lost_notify.notified();
                tokio::pin!(notified);
                notified.as_mut().enable();
                if let Some(why) = self.lost.lock().unwrap_or_else(|e| e.into_inner()).clone() {
                    return why;
                }
                notified.await;
            }
        })
    }
}

/// Gives up a request when its `acquire` ends without taking its grant.
struct Withdraw<'a> {
    pools: &'a PgPools,
    id: Option<i64>,
}

impl Drop for Withdraw<'_> {
    fn drop(&mut self) {
        let Some(id) = self.id else {
            return;
        };
        let _ = self.pools.retrying(|| self.pools.change(|tx| {
            if let Some(row) = tx.query_opt(
                "SELECT run, granted FROM drover_requests WHERE id = $1",
                &[&id],
            )? {
                let run: String = row.get(0);
                if let Some(list) = row.get::<_, Option<String>>(1) {
                    let targets: Vec<String> = serde_json::from_str(&list).unwrap_or_default();
                    for t in targets {
                        tx.execute(
                            "DELETE FROM drover_holds WHERE id IN (SELECT id FROM drover_holds WHERE run = $1 AND target = $2 ORDER BY id DESC LIMIT 1)",
                            &[&run, &t],
                        )?;
                    }
                }
            }
            tx.execute("DELETE FROM drover_requests WHERE id = $1", &[&id])?;
            Ok(())
        }));
    }
}
