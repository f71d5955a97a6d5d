//! Run history: every run writes `.drover/runs/<id>/` in the project, with
//! its events (JSON Lines, the same events `--format json` prints) and each
//! target's output; `drover runs list|show` read it back, and
//! `drover run --rerun failure` takes the targets that failed last time.

use std::cell::RefCell;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use serde_json::{Value, json};

/// Version of the event schema (docs/events.md).
pub(crate) const SCHEMA_VERSION: u64 = 1;

/// Runs kept unless the project says otherwise (`runs-kept`).
pub(crate) const DEFAULT_KEPT: usize = 50;

/// The record of the run in progress.
pub(crate) struct History {
    dir: PathBuf,
    id: String,
    events: RefCell<std::io::LineWriter<std::fs::File>>,
    /// Locked while the run lives: a reader that can lock it knows that the
    /// process writing an unfinished run is gone (`interrupted`).
    _alive: Option<std::fs::File>,
}

/// An exclusive `flock` on `file`, without waiting; whether it was taken.
fn try_lock(file: &std::fs::File) -> bool {
    use std::os::fd::AsRawFd;
    // SAFETY: flock on a descriptor this function borrows; no memory is shared.
    unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) == 0 }
}

fn runs_dir(project: &Path) -> PathBuf {
    project.join(".drover").join("runs")
}

impl History {
    /// Start recording a run under `project`, keeping at most `kept` runs
    /// (this one included).
    pub(crate) fn create(project: &Path, kept: usize) -> std::io::Result<History> {
        let runs = runs_dir(project);
        std::fs::create_dir_all(&runs)?;
        let mut old = ids(project);
        while old.len() >= kept.max(1) {
            let oldest = old.remove(0);
            let _ = std::fs::remove_dir_all(runs.join(oldest));
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        // Sortable: the time to the millisecond, then the process.
        let id = format!(
            "{}{:03}-{}",
            timestamp(now.as_secs()).replace([':', '-', 'Z'], ""),
            now.subsec_millis(),
            std::process::id()
        );
        let dir = runs.join(&id);
        std::fs::create_dir_all(dir.join("targets"))?;
        let alive = std::fs::File::create(dir.join("alive.lock"))
            .ok()
            .filter(try_lock);
        let file = std::fs::File::create(dir.join("events.jsonl"))?;
        Ok(History {
            dir,
            id,
            events: RefCell::new(std::io::LineWriter::new(file)),
            _alive: alive,
        })
    }

    /// The run's id.
    pub(crate) fn id(&self) -> &str {
        &self.id
    }

    /// Append an event.
    pub(crate) fn record(&self, event: &Value) {
        let _ = writeln!(self.events.borrow_mut(), "{event}");
    }

    /// Append what a target printed in one step to `targets/<name>.log`.
    pub(crate) fn output(&self, target: &str, header: &str, parts: &[(&str, &str)]) {
        let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("targets").join(log_name(target)))
        else {
            return;
        };
        let _ = writeln!(f, "== {header}");
        for (label, text) in parts {
            if !text.is_empty() {
                let _ = writeln!(f, "-- {label}");
                let _ = f.write_all(text.as_bytes());
                if !text.ends_with('\n') {
                    let _ = writeln!(f);
                }
            }
        }
    }

    /// Flush what is buffered.
    pub(crate) fn flush(&self) {
        let _ = self.events.borrow_mut().flush();
    }
}

/// The file of a target's output: its name with anything but letters,
/// digits, `.`, `-` and `_` replaced, so that no name is a path.
fn log_name(target: &str) -> String {
    let name: String = target
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || ".-_".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{name}.log")
}

/// An RFC 3339 UTC time of `secs` since the epoch.
pub(crate) fn timestamp(secs: u64) -> String {
    let days = secs / 86_400;
    let rem = secs % 86_400;
    // Howard Hinnant's civil-from-days.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3_600,
        rem / 60 % 60,
        rem % 60
    )
}

/// Recorded run ids, oldest first.
fn ids(project: &Path) -> Vec<String> {
    let mut ids: Vec<String> = std::fs::read_dir(runs_dir(project))
        .map(|entries| {
            entries
                .flatten()
                .filter(|e| e.path().join("events.jsonl").is_file())
                .filter_map(|e| e.file_name().into_string().ok())
                .collect()
        })
        .unwrap_or_default();
    ids.sort();
    ids
}

/// How one target fared in a recorded run.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct TargetRecord {
    /// Whether every action on it succeeded.
    pub ok: bool,
    /// Its last action.
    pub last_action: String,
    /// Time spent in its actions.
    pub duration_ms: u64,
    /// Its last error: kind, message, location.
    pub error: Option<(String, String, String)>,
}

/// A recorded run, read back.
#[derive(Clone, Debug)]
pub(crate) struct Run {
    /// Its id.
    pub id: String,
    /// The plan.
    pub plan: String,
    /// When it started (RFC 3339).
    pub started_at: String,
    /// `success`, `failure`, `interrupted` (Ctrl-C, or its process died),
    /// or `unfinished` (still running).
    pub status: String,
    /// How long it took.
    pub duration_ms: Option<u64>,
    /// Every target that ran an action, in order of first result.
    pub targets: IndexMap<String, TargetRecord>,
}

impl Run {
    /// Targets that failed (`failure`), succeeded (`success`), or all.
    pub(crate) fn targets_where(&self, which: &str) -> Vec<String> {
        self.targets
            .iter()
            .filter(|(_, t)| match which {
                "failure" => !t.ok,
                "success" => t.ok,
                _ => true,
            })
            .map(|(n, _)| n.clone())
            .collect()
    }

    /// As JSON for `drover runs ... --format json`.
    pub(crate) fn to_json(&self) -> Value {
        let targets: Vec<Value> = self
            .targets
            .iter()
            .map(|(n, t)| {
                json!({
                    "target": n, "ok": t.ok, "last_action": t.last_action, "duration_ms": t.duration_ms,
                    "error": t.error.as_ref().map(|(k, m, l)| json!({"kind": k, "message": m, "location": l})),
                })
            })
            .collect();
        json!({
            "id": self.id, "plan": self.plan, "started_at": self.started_at, "status": self.status,
            "duration_ms": self.duration_ms, "targets": targets,
        })
    }
}

/// The id of a recorded run: `id` itself if it is one (only the ids that
/// exist are ever used as paths), the newest for `last`.
pub(crate) fn resolve(project: &Path, id: &str) -> Result<String, String> {
    let all = ids(project);
    if id == "last" {
        Ok(all.last().cloned().ok_or("no runs recorded yet")?)
    } else if all.iter().any(|i| i == id) {
        Ok(id.to_string())
    } else {
        Err(format!("no run `{id}` in {}", runs_dir(project).display()))
    }
}

/// Every event of run `id`, as recorded (a line being written is skipped).
pub(crate) fn events(project: &Path, id: &str) -> Result<Vec<Value>, String> {
    let id = resolve(project, id)?;
    let file = std::fs::File::open(runs_dir(project).join(&id).join("events.jsonl"))
        .map_err(|e| format!("cannot read run {id}: {e}"))?;
    Ok(std::io::BufReader::new(file)
        .lines()
        .map_while(Result::ok)
        .filter_map(|l| serde_json::from_str(&l).ok())
        .collect())
}

/// What `target` printed in run `id`, if it printed anything.
pub(crate) fn output(project: &Path, id: &str, target: &str) -> Option<String> {
    let id = resolve(project, id).ok()?;
    std::fs::read_to_string(
        runs_dir(project)
            .join(id)
            .join("targets")
            .join(log_name(target)),
    )
    .ok()
}

/// Whether the process of an unfinished run `id` is gone: nothing holds its
/// lock. (A run recorded before the lock existed counts as gone too.)
pub(crate) fn abandoned(project: &Path, id: &str) -> bool {
    match std::fs::File::open(runs_dir(project).join(id).join("alive.lock")) {
        Ok(f) => try_lock(&f),
        Err(_) => true,
    }
}

/// Read run `id` (`last` is the newest).
pub(crate) fn load(project: &Path, id: &str) -> Result<Run, String> {
    read(project, resolve(project, id)?)
}

/// Read run `id`, one of [`ids`].
fn read(project: &Path, id: String) -> Result<Run, String> {
    let file = std::fs::File::open(runs_dir(project).join(&id).join("events.jsonl"))
        .map_err(|e| format!("cannot read run {id}: {e}"))?;
    let mut run = Run {
        id,
        plan: String::new(),
        started_at: String::new(),
        status: "unfinished".into(),
        duration_ms: None,
        targets: IndexMap::new(),
    };
    for line in std::io::BufReader::new(file).lines().map_while(Result::ok) {
        let Ok(event) = serde_json::from_str::<Value>(&line) else {
            continue;
        };
        match event["type"].as_str() {
            Some("plan_start") => {
                run.plan = event["plan"].as_str().unwrap_or_default().into();
                run.started_at = event["started_at"].as_str().unwrap_or_default().into();
            }
            Some("target_result") => {
                let r = &event["result"];
                let name = r["target"].as_str().unwrap_or_default().to_string();
                let entry = run.targets.entry(name).or_insert(TargetRecord {
                    ok: true,
                    last_action: String::new(),
                    duration_ms: 0,
                    error: None,
                });
                entry.last_action = event["action"].as_str().unwrap_or_default().into();
                entry.duration_ms += event["duration_ms"].as_u64().unwrap_or(0);
                if r["ok"] == json!(false) {
                    entry.ok = false;
                    let e = &r["error"];
                    let text = |k: &str| e[k].as_str().unwrap_or_default().to_string();
                    entry.error = Some((text("kind"), text("message"), text("location")));
                }
            }
            Some("plan_result") => {
                run.status = event["status"].as_str().unwrap_or_default().into();
                run.duration_ms = event["duration_ms"].as_u64();
            }
            Some("interrupted") => run.status = "interrupted".into(),
            _ => {}
        }
    }
    if run.status == "unfinished" && abandoned(project, &run.id) {
        run.status = "interrupted".into();
    }
    Ok(run)
}

/// Every recorded run, newest first.
pub(crate) fn list(project: &Path) -> Vec<Run> {
    let mut runs: Vec<Run> = ids(project)
        .into_iter()
        .filter_map(|id| read(project, id).ok())
        .collect();
    runs.reverse();
    runs
}

#[cfg(test)]
mod tests {
    #[test]
    fn timestamps_are_rfc3339_utc() {
        assert_eq!(super::timestamp(0), "1970-01-01T00:00:00Z");
        assert_eq!(super::timestamp(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(super::timestamp(1_795_359_599), "2026-11-22T14:59:59Z");
    }
}
