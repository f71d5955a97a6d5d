//! The SQLite state store (`.drover/state.db` by default): pools shared by
//! every run on one machine. Each change is one short `BEGIN IMMEDIATE`
//! transaction; waiting requests sit in a table in request order, and
//! whichever process changes the store grants what is due ([`grants`]).
//! Every run has a lease it renews; a run that dies stops renewing, and
//! after one lease period its holds and requests are gone.
//!
//! Waiting costs no busy loop: a waiter reads `PRAGMA data_version` (which
//! changes when another connection commits) every few milliseconds and works
//! only when it changed, or once a second to see leases expire.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::{Hold, Holder, PoolError, PoolManager, Request, Scope, grants};

/// The schema this drover writes; a store with a newer one is refused.
const SCHEMA_VERSION: i64 = 1;

const SCHEMA: &str = "
CREATE TABLE runs (
    run TEXT PRIMARY KEY,
    plan TEXT NOT NULL,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    user TEXT NOT NULL,
    started INTEGER NOT NULL,
    expires INTEGER NOT NULL
);
CREATE TABLE holds (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run TEXT NOT NULL,
    pool TEXT NOT NULL,
    target TEXT NOT NULL,
    scope TEXT NOT NULL,
    since INTEGER NOT NULL
);
CREATE TABLE requests (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run TEXT NOT NULL,
    pool TEXT NOT NULL,
    members TEXT NOT NULL,
    scope TEXT NOT NULL,
    count INTEGER NOT NULL,
    since INTEGER NOT NULL,
    granted TEXT
);
CREATE TABLE revoked (
    run TEXT NOT NULL,
    what TEXT NOT NULL
);
CREATE TABLE journal (
    at INTEGER NOT NULL,
    what TEXT NOT NULL,
    detail TEXT NOT NULL
);
";

/// Who a run is, as `drover pools` shows it.
#[derive(Clone, Debug)]
pub struct RunInfo {
    /// The run's id (its history id).
    pub run: String,
    /// The plan it runs.
    pub plan: String,
    /// The controller's host name.
    pub host: String,
    /// The controller's process.
    pub pid: u32,
    /// Who started it.
    pub user: String,
}

impl RunInfo {
    /// This process running `plan` as run `run`.
    pub fn here(run: &str, plan: &str) -> RunInfo {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_string())
            .unwrap_or_else(|_| "localhost".into());
        RunInfo {
            run: run.to_string(),
            plan: plan.to_string(),
            host,
            pid: std::process::id(),
            user: std::env::var("USER")
                .or_else(|_| std::env::var("LOGNAME"))
                // SAFETY: getuid has no preconditions and cannot fail.
                .unwrap_or_else(|_| format!("uid {}", unsafe { libc::getuid() })),
        }
    }
}

/// Pools in a SQLite file.
pub struct SqlitePools {
    db: Arc<Mutex<Connection>>,
    path: PathBuf,
    info: RunInfo,
    lease: Duration,
    /// Why the lease was lost, once it is.
    lost: Arc<Mutex<Option<String>>>,
    /// How many run rows this process has made (and not ended).
    runs: Arc<Mutex<usize>>,
    lost_notify: Arc<tokio::sync::Notify>,
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

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

impl SqlitePools {
    /// Open (and create, or migrate) the store at `path` for run `info`,
    /// whose lease lasts `lease`. Errors name the file.
    pub fn open(path: &Path, info: RunInfo, lease: Duration) -> Result<SqlitePools, String> {
        let db = open_db(path)?;
        let pools = SqlitePools {
            db: Arc::new(Mutex::new(db)),
            path: path.to_path_buf(),
            info,
            lease,
            lost: Arc::new(Mutex::new(None)),
            runs: Arc::new(Mutex::new(0)),
            lost_notify: Arc::new(tokio::sync::Notify::new()),
        };
        Ok(pools)
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.db.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn key(&self, holder: Holder) -> String {
        format!("{}/{holder}", self.info.run)
    }

    fn error(&self, e: rusqlite::Error) -> String {
        format!("state store {}: {e}", self.path.display())
    }

    /// Run `f` in one `BEGIN IMMEDIATE` transaction, then grant what is due.
    fn change<T>(
        &self,
        f: impl FnOnce(&rusqlite::Transaction) -> rusqlite::Result<T>,
    ) -> Result<T, String> {
        let mut db = self.conn();
        let tx = db
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| self.error(e))?;
        let out = f(&tx).map_err(|e| self.error(e))?;
        step(&tx).map_err(|e| self.error(e))?;
        tx.commit().map_err(|e| self.error(e))?;
        Ok(out)
    }

    /// The run's key in the store for `holder` (its runs row made if new).
    fn run_row(&self, holder: Holder) -> Result<String, String> {
        let key = self.key(holder);
        let now = now_ms();
        let made = self
            .conn()
            .execute(
                "INSERT OR IGNORE INTO runs (run, plan, host, pid, user, started, expires) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    key,
                    self.info.plan,
                    self.info.host,
                    self.info.pid,
                    self.info.user,
                    now,
                    now + self.lease.as_millis() as i64
                ],
            )
            .map_err(|e| self.error(e))?;
        *self.runs.lock().unwrap_or_else(|e| e.into_inner()) += made;
        Ok(key)
    }

    /// Renew every lease of this process's runs; check nothing was taken
    /// from them (`pools release --force`). Called every third of a lease.
    fn renew(&self) -> Result<Option<String>, String> {
        let prefix = format!("{}/%", self.info.run);
        self.change(|tx| {
            let now = now_ms();
            let renewed = tx.execute(
                "UPDATE runs SET expires = ?1 WHERE run LIKE ?2",
                params![now + self.lease.as_millis() as i64, prefix],
            )?;

            let revoked: Option<String> = tx
                .query_row(
                    "SELECT what FROM revoked WHERE run LIKE ?1 LIMIT 1",
                    params![prefix],
                    |r| r.get(0),
                )
                .optional()?;
            // A run row this process made is gone: its lease ran out.
            if renewed < *self.runs.lock().unwrap_or_else(|e| e.into_inner()) {
                return Ok(Some("its lease expired".to_string()));
            }
            Ok(revoked)
        })
    }

    /// Keep the leases of this process's runs, on a thread of its own, until
    /// the store is dropped. A lease not renewed in time is lost.
    pub fn keep_leases(&self) {
        let me = SqlitePools {
            db: self.db.clone(),
            path: self.path.clone(),
            info: self.info.clone(),
            lease: self.lease,
            lost: self.lost.clone(),
            runs: self.runs.clone(),
            lost_notify: self.lost_notify.clone(),
        };
        let weak = Arc::downgrade(&self.db);
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
                    Err(e) if last_ok.elapsed() < me.lease => {
                        let _ = e;
                        continue;
                    }
                    Err(e) => format!("the store could not be reached to renew it: {e}"),
                };
                *me.lost.lock().unwrap_or_else(|e| e.into_inner()) = Some(why);
                me.lost_notify.notify_waiters();
                return;
            }
        });
    }

    fn data_version(&self) -> i64 {
        self.conn()
            .query_row("PRAGMA data_version", [], |r| r.get(0))
            .unwrap_or(0)
    }
}

/// Open the file, create or migrate its schema (once, however many
/// processes start together: switching a new file to WAL can find it busy
/// without waiting, so a busy open is tried again for up to ten seconds).
fn open_db(path: &Path) -> Result<Connection, String> {
    let started = std::time::Instant::now();
    loop {
        match try_open(path) {
            Err((message, true)) if started.elapsed() < Duration::from_secs(10) => {
                let _ = message;
                std::thread::sleep(Duration::from_millis(20));
            }
            Err((message, _)) => return Err(message),
            Ok(db) => return Ok(db),
        }
    }
}

/// [`open_db`] once; an error says whether the file was only busy.
fn try_open(path: &Path) -> Result<Connection, (String, bool)> {
    let busy = |e: &rusqlite::Error| {
        matches!(
            e.sqlite_error_code(),
            Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
        )
    };
    open_once(path).map_err(|(e, message)| (message, e.as_ref().is_some_and(busy)))
}

fn open_once(path: &Path) -> Result<Connection, (Option<rusqlite::Error>, String)> {
    let named = |e: &dyn std::fmt::Display| format!("state store {}: {e}", path.display());
    let sql = |e: rusqlite::Error| {
        let message = named(&e);
        (Some(e), message)
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| (None, named(&e)))?;
    }
    let mut db = Connection::open(path).map_err(sql)?;
    db.busy_timeout(Duration::from_secs(10)).map_err(sql)?;
    db.pragma_update(None, "journal_mode", "WAL").map_err(sql)?;
    db.pragma_update(None, "synchronous", "NORMAL")
        .map_err(sql)?;
    let tx = db
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(sql)?;
    tx.execute(
        "CREATE TABLE IF NOT EXISTS drover_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        [],
    )
    .map_err(sql)?;
    let version: Option<String> = tx
        .query_row(
            "SELECT value FROM drover_meta WHERE key = 'schema_version'",
            [],
            |r| r.get(0),
        )
        .optional()
        .map_err(sql)?;
    let refuse = |why: String| (None, named(&why));
    match version.as_deref().map(str::parse::<i64>) {
        None => {
            let other: i64 = tx
                .query_row(
                    "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name != 'drover_meta'",
                    [],
                    |r| r.get(0),
                )
                .map_err(sql)?;
            if other > 0 {
                return Err(refuse(
                    "the database has tables but is not a drover state store".into(),
                ));
            }
            tx.execute_batch(SCHEMA).map_err(sql)?;
            tx.execute(
                "INSERT INTO drover_meta (key, value) VALUES ('schema_version', ?1)",
                params![SCHEMA_VERSION.to_string()],
            )
            .map_err(sql)?;
        }
        Some(Ok(v)) if v == SCHEMA_VERSION => {}
        Some(Ok(v)) if v > SCHEMA_VERSION => {
            return Err(refuse(format!(
                "schema version {v} is newer than this drover's ({SCHEMA_VERSION}): upgrade drover"
            )));
        }
        Some(_) => return Err(refuse("its schema version is not one drover knows".into())),
    }
    tx.commit().map_err(sql)?;
    Ok(db)
}

/// Forget runs whose lease ended (and all they held or waited for); then
/// grant the waiting requests what is due, in request order.
fn step(tx: &rusqlite::Transaction) -> rusqlite::Result<()> {
    let now = now_ms();
    tx.execute("DELETE FROM runs WHERE expires < ?1", params![now])?;
    tx.execute(
        "DELETE FROM holds WHERE run NOT IN (SELECT run FROM runs)",
        [],
    )?;
    tx.execute(
        "DELETE FROM requests WHERE run NOT IN (SELECT run FROM runs)",
        [],
    )?;
    tx.execute(
        "DELETE FROM revoked WHERE run NOT IN (SELECT run FROM runs)",
        [],
    )?;
    let mut holds: Vec<Hold> = tx
        .prepare("SELECT target, pool, scope FROM holds")?
        .query_map([], |r| {
            Ok(Hold {
                target: r.get(0)?,
                pool: r.get(1)?,
                scope: scope_of(&r.get::<_, String>(2)?),
                holder: 0,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    let waiting: Vec<(i64, String, Request)> = tx
        .prepare(
            "SELECT id, run, pool, members, scope, count FROM requests WHERE granted IS NULL ORDER BY id",
        )?
        .query_map([], |r| {
            let members: String = r.get(3)?;
            Ok((
                r.get(0)?,
                r.get(1)?,
                Request {
                    holder: 0,
                    pool: r.get(2)?,
                    members: serde_json::from_str(&members).unwrap_or_default(),
                    scope: scope_of(&r.get::<_, String>(4)?),
                    count: r.get::<_, i64>(5)? as usize,
                },
            ))
        })?
        .collect::<rusqlite::Result<_>>()?;
    let queue: Vec<&Request> = waiting.iter().map(|(_, _, r)| r).collect();
    for (i, targets) in grants(&mut holds, &queue) {
        let (id, run, r) = &waiting[i];
        for t in &targets {
            tx.execute(
                "INSERT INTO holds (run, pool, target, scope, since) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![run, r.pool, t, scope_text(r.scope), now],
            )?;
        }
        tx.execute(
            "UPDATE requests SET granted = ?1 WHERE id = ?2",
            params![serde_json::to_string(&targets).unwrap_or_default(), id],
        )?;
    }
    Ok(())
}

/// Gives up a request when its `acquire` ends without taking its grant.
struct Withdraw<'a> {
    pools: &'a SqlitePools,
    id: Option<i64>,
}

impl Drop for Withdraw<'_> {
    fn drop(&mut self) {
        if let Some(id) = self.id {
            // Granted meanwhile: the grant is given back with the request.
            let _ = self.pools.change(|tx| {
                let granted: Option<Option<String>> = tx
                    .query_row("SELECT granted FROM requests WHERE id = ?1", params![id], |r| {
                        r.get(0)
                    })
                    .optional()?;
                if let Some(Some(list)) = granted {
                    let targets: Vec<String> = serde_json::from_str(&list).unwrap_or_default();
                    let run: String =
                        tx.query_row("SELECT run FROM requests WHERE id = ?1", params![id], |r| {
                            r.get(0)
                        })?;
                    for t in targets {
                        tx.execute(
                            "DELETE FROM holds WHERE id IN (SELECT id FROM holds WHERE run = ?1 AND target = ?2 ORDER BY id DESC LIMIT 1)",
                            params![run, t],
                        )?;
                    }
                }
                tx.execute("DELETE FROM requests WHERE id = ?1", params![id])?;
                Ok(())
            });
        }
    }
}

impl PoolManager for SqlitePools {
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
            let store = |e: String| PoolError::Store(e);
            let run = self.run_row(request.holder).map_err(store)?;
            let members = serde_json::to_string(&request.members).unwrap_or_default();
            let id = self
                .change(|tx| {
                    tx.execute(
                        "INSERT INTO requests (run, pool, members, scope, count, since) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                        params![run, request.pool, members, scope_text(request.scope), request.count as i64, now_ms()],
                    )?;
                    Ok(tx.last_insert_rowid())
                })
                .map_err(store)?;
            let mut withdraw = Withdraw {
                pools: self,
                id: Some(id),
            };
            let deadline = tokio::time::Instant::now() + timeout;
            let mut seen = self.data_version();
            let mut last_step = tokio::time::Instant::now();
            loop {
                let granted: Option<String> = self
                    .conn()
                    .query_row(
                        "SELECT granted FROM requests WHERE id = ?1",
                        params![id],
                        |r| r.get(0),
                    )
                    .optional()
                    .map_err(|e| store(self.error(e)))?
                    .flatten();
                if let Some(list) = granted {
                    withdraw.id = None;
                    self.change(|tx| tx.execute("DELETE FROM requests WHERE id = ?1", params![id]))
                        .map_err(store)?;
                    return Ok(serde_json::from_str(&list).unwrap_or_default());
                }
                if tokio::time::Instant::now() >= deadline {
                    return Err(PoolError::Timeout {
                        pool: request.pool,
                        count: request.count,
                        waited: timeout,
                    });
                }
                // Wait for another process's commit, or a second (leases).
                loop {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    let now = self.data_version();
                    if now != seen
                        || last_step.elapsed() >= Duration::from_secs(1)
                        || tokio::time::Instant::now() >= deadline
                    {
                        break;
                    }
                }
                last_step = tokio::time::Instant::now();
                self.change(|_| Ok(())).map_err(store)?;
                seen = self.data_version();
            }
        })
    }

    fn release(&self, holder: Holder, target: &str) -> bool {
        let run = self.key(holder);
        self.change(|tx| {
            tx.execute(
                "DELETE FROM holds WHERE id IN (SELECT id FROM holds WHERE run = ?1 AND target = ?2 LIMIT 1)",
                params![run, target],
            )
        })
        .is_ok_and(|n| n > 0)
    }

    fn held(&self, pool: &str) -> Vec<String> {
        let _ = self.change(|_| Ok(()));
        let db = self.conn();
        let Ok(mut q) = db.prepare("SELECT DISTINCT target FROM holds WHERE pool = ?1 ORDER BY id")
        else {
            return Vec::new();
        };
        q.query_map(params![pool], |r| r.get(0))
            .map(|rows| rows.flatten().collect())
            .unwrap_or_default()
    }

    fn release_all(&self, holder: Holder) -> usize {
        let run = self.key(holder);
        self.change(|tx| {
            let n = tx.execute("DELETE FROM holds WHERE run = ?1", params![run])?;
            tx.execute("DELETE FROM requests WHERE run = ?1", params![run])?;
            tx.execute("DELETE FROM runs WHERE run = ?1", params![run])?;
            tx.execute("DELETE FROM revoked WHERE run = ?1", params![run])?;
            Ok(n)
        })
        .inspect(|_| {
            let mut runs = self.runs.lock().unwrap_or_else(|e| e.into_inner());
            *runs = runs.saturating_sub(1);
        })
        .unwrap_or(0)
    }

    fn snapshot(&self) -> Result<super::Snapshot, String> {
        self.change(|_| Ok(()))?;
        let db = self.conn();
        let holds = db
            .prepare(
                "SELECT h.pool, h.target, h.scope, h.run, r.plan, r.host, r.pid, r.user, h.since, r.expires \
                 FROM holds h JOIN runs r ON r.run = h.run ORDER BY h.id",
            )
            .and_then(|mut q| {
                q.query_map([], |r| {
                    Ok(super::HeldBy {
                        pool: r.get(0)?,
                        target: r.get(1)?,
                        scope: r.get(2)?,
                        run: r.get(3)?,
                        plan: r.get(4)?,
                        host: r.get(5)?,
                        pid: r.get(6)?,
                        user: r.get(7)?,
                        since_ms: r.get(8)?,
                        lease_expires_ms: r.get(9)?,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()
            })
            .map_err(|e| self.error(e))?;
        let waiting = db
            .prepare(
                "SELECT q.pool, q.run, r.plan, q.count, q.since FROM requests q JOIN runs r ON r.run = q.run \
                 WHERE q.granted IS NULL ORDER BY q.id",
            )
            .and_then(|mut q| {
                q.query_map([], |r| {
                    Ok(super::WaitingRun {
                        pool: r.get(0)?,
                        run: r.get(1)?,
                        plan: r.get(2)?,
                        count: r.get::<_, i64>(3)? as usize,
                        since_ms: r.get(4)?,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()
            })
            .map_err(|e| self.error(e))?;
        Ok(super::Snapshot { holds, waiting })
    }

    fn force_release(&self, pool: &str, target: &str, by: &str) -> Result<bool, String> {
        self.change(|tx| {
            let run: Option<String> = tx
                .query_row(
                    "SELECT run FROM holds WHERE pool = ?1 AND target = ?2 ORDER BY id LIMIT 1",
                    params![pool, target],
                    |r| r.get(0),
                )
                .optional()?;
            let Some(run) = run else {
                return Ok(false);
            };
            tx.execute(
                "DELETE FROM holds WHERE pool = ?1 AND target = ?2 AND run = ?3",
                params![pool, target, run],
            )?;
            let what = format!(
                "pool `{pool}`: `{target}` was released by {by} (drover pools release --force)"
            );
            tx.execute(
                "INSERT INTO revoked (run, what) VALUES (?1, ?2)",
                params![run, what],
            )?;
            tx.execute(
                "INSERT INTO journal (at, what, detail) VALUES (?1, 'force-release', ?2)",
                params![
                    now_ms(),
                    serde_json::json!({"pool": pool, "target": target, "run": run, "by": by})
                        .to_string()
                ],
            )?;
            Ok(true)
        })
    }

    fn lost(&self) -> BoxFuture<'_, String> {
        Box::pin(async move {
            loop {
                let notified = self.lost_notify.notified();
                tokio::pin!(notified);
                // Registered before the check, so no notice is missed.
                notified.as_mut().enable();
                if let Some(why) = self.lost.lock().unwrap_or_else(|e| e.into_inner()).clone() {
                    return why;
                }
                notified.await;
            }
        })
    }
}
