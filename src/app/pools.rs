//! `drover pools [POOL]`, `drover locks [NAME]` and `drover pools release
//! POOL TARGET --force`: what the state store holds, and an operator
//! breaking a hold.

use std::path::PathBuf;

use serde_json::json;

use super::UsageError;
use super::load::load_inventory;
use crate::pools::PoolManager;
use crate::project::tasks::Catalog;
use crate::report::Format;

/// Open the store as `drover run` would, for a command that is not a run.
fn store(tasks: &Catalog, state: Option<&str>) -> Result<std::sync::Arc<dyn PoolManager>, u8> {
    super::run::open_state(tasks, state, "drover pools").map_err(|message| {
        eprintln!("error: {message}");
        2
    })
}

/// Time of day of a timestamp (ms since the epoch), UTC.
fn clock(ms: i64) -> String {
    let stamp = crate::project::history::timestamp((ms / 1000).max(0) as u64);
    stamp.split('T').nth(1).unwrap_or(&stamp).to_string()
}

/// Every pool (inventory group) with its size, held targets and waiters;
/// or, with `locks`, every lock that is held or waited for.
pub(crate) fn show(
    tasks: &Catalog,
    inventory: Option<PathBuf>,
    pool: Option<&str>,
    state: Option<&str>,
    format: Format,
    locks: bool,
) -> Result<u8, UsageError> {
    let inv = if locks {
        crate::project::inventory::Inventory::default()
    } else {
        match load_inventory(tasks, inventory)? {
            Some(inv) => inv,
            None => return Ok(2),
        }
    };
    let store = match store(tasks, state) {
        Ok(s) => s,
        Err(code) => return Ok(code),
    };
    let snap = match store.snapshot() {
        Ok(s) => s,
        Err(message) => {
            eprintln!("error: {message}");
            return Ok(2);
        }
    };
    let pools = match listing(&inv, snap, locks, pool) {
        Ok(pools) => pools,
        Err(message) => {
            eprintln!("error: {message}");
            return Ok(2);
        }
    };
    let key = if locks { "locks" } else { "pools" };
    match format {
        Format::Json => outln!("{}", json!({ key: pools })),
        Format::Human => {
            for p in &pools {
                outln!(
                    "{}  {} target(s), {} held, {} waiting",
                    p["pool"].as_str().unwrap_or_default(),
                    p["size"],
                    p["held"].as_array().map_or(0, Vec::len),
                    p["waiting"].as_array().map_or(0, Vec::len)
                );
                let field = |v: &serde_json::Value, k: &str| match &v[k] {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                for h in p["held"].as_array().into_iter().flatten() {
                    outln!(
                        "  held     {}  by run {} ({}, {}@{} pid {}) since {}, lease until {}",
                        field(h, "target"),
                        field(h, "run"),
                        field(h, "plan"),
                        field(h, "user"),
                        field(h, "host"),
                        field(h, "pid"),
                        clock(h["since_ms"].as_i64().unwrap_or(0)),
                        clock(h["lease_expires_ms"].as_i64().unwrap_or(0))
                    );
                }
                for w in p["waiting"].as_array().into_iter().flatten() {
                    outln!(
                        "  waiting  {} target(s)  run {} ({}) since {}",
                        field(w, "count"),
                        field(w, "run"),
                        field(w, "plan"),
                        clock(w["since_ms"].as_i64().unwrap_or(0))
                    );
                }
            }
        }
    }
    Ok(0)
}

/// Every pool (inventory group) with its size, held targets and waiters, as
/// JSON; or, with `locks`, every lock that is held or waited for; only
/// `pool` when given (an error names a pool that does not exist).
pub(crate) fn listing(
    inv: &crate::project::inventory::Inventory,
    mut snap: crate::pools::Snapshot,
    locks: bool,
    pool: Option<&str>,
) -> Result<Vec<serde_json::Value>, String> {
    // Locks are pools of slots named `lock:NAME`: shown by name, apart.
    let lock = |p: &str| p.strip_prefix(crate::pools::LOCK_PREFIX).map(String::from);
    snap.holds.retain(|h| lock(&h.pool).is_some() == locks);
    snap.waiting.retain(|w| lock(&w.pool).is_some() == locks);
    if locks {
        for h in &mut snap.holds {
            h.pool = lock(&h.pool).unwrap_or_default();
        }
        for w in &mut snap.waiting {
            w.pool = lock(&w.pool).unwrap_or_default();
        }
    }
    let mut names: Vec<String> = inv.group_names().map(String::from).collect();
    for p in snap
        .holds
        .iter()
        .map(|h| &h.pool)
        .chain(snap.waiting.iter().map(|w| &w.pool))
    {
        if !names.contains(p) {
            names.push(p.clone());
        }
    }
    if let Some(p) = pool {
        if !names.iter().any(|n| n == p) {
            let hint = crate::diagnostic::did_you_mean(p, names.iter().map(String::as_str))
                .map(|s| format!(" (did you mean `{s}`?)"))
                .unwrap_or_default();
            let what = if locks {
                "lock held or waited for"
            } else {
                "pool in the inventory"
            };
            return Err(format!("no {what} `{p}`{hint}"));
        }
        names.retain(|n| n == p);
    }
    Ok(names
        .iter()
        .map(|n| {
            let size = if locks {
                snap.holds
                    .iter()
                    .filter(|h| &h.pool == n)
                    .find_map(|h| crate::pools::slot_limit(&h.target))
                    .unwrap_or(1)
            } else {
                inv.group(n).map_or(0, |g| g.len())
            };
            let held: Vec<_> = snap.holds.iter().filter(|h| &h.pool == n).collect();
            let waiting: Vec<_> = snap.waiting.iter().filter(|w| &w.pool == n).collect();
            json!({"pool": n, "size": size, "held": held, "waiting": waiting})
        })
        .collect())
}

/// Break a hold: the target is free for the next waiter, and the run that
/// held it fails with `drover/lease-lost` at its next renewal.
pub(crate) fn release(
    tasks: &Catalog,
    pool: &str,
    target: &str,
    force: bool,
    state: Option<&str>,
) -> Result<u8, UsageError> {
    if !force {
        eprintln!(
            "error: releasing another run's hold needs --force (that run fails with drover/lease-lost)"
        );
        return Ok(2);
    }
    let store = match store(tasks, state) {
        Ok(s) => s,
        Err(code) => return Ok(code),
    };
    let me = crate::pools::sqlite::RunInfo::here("", "");
    let by = format!("{}@{}", me.user, me.host);
    match store.force_release(pool, target, &by) {
        Ok(true) => {
            eprintln!("released `{target}` of pool `{pool}` (recorded as done by {by})");
            Ok(0)
        }
        Ok(false) => {
            eprintln!("error: no run holds `{target}` of pool `{pool}`");
            Ok(1)
        }
        Err(message) => {
            eprintln!("error: {message}");
            Ok(2)
        }
    }
}
