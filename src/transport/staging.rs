//! Task files on targets: staged once per target per run, removed at its end.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;

use super::{Connection, Exec, ExecOutput, TransportError, lossy};
use crate::project::tasks::Bundle;
use crate::value::Target;

/// Task and script files on the targets: one private directory per target
/// per run (mode 0700, an unpredictable name) holding each bundle once, by
/// content hash, removed when the run ends (or, over SSH, when the idle cap
/// closes the connection). The transport puts the files there, over SSH in
/// the same exec as the first command that needs them
/// (`Connection::stage_and_exec`).
#[derive(Default)]
pub struct Staging {
    targets: std::cell::RefCell<HashMap<String, Rc<tokio::sync::Mutex<Staged>>>>,
    /// `run_script`'s scripts, read and hashed once per run.
    scripts: std::cell::RefCell<HashMap<PathBuf, Rc<Bundle>>>,
}

#[derive(Default)]
struct Staged {
    /// The connection the directory was made on: a new connection (after a
    /// reboot) may find it gone.
    conn: Option<(Arc<dyn Connection>, u64)>,
    dir: String,
    /// The connection removes `dir` itself (`adopt_temp_dir`).
    adopted: bool,
    bundles: HashSet<u64>,
}

impl Staging {
    /// The script at `path` as a bundle of one file (named as it is), read
    /// the first time this run asks.
    pub(crate) fn script(&self, path: &Path) -> Result<Rc<Bundle>, TransportError> {
        if let Some(bundle) = self.scripts.borrow().get(path) {
            return Ok(bundle.clone());
        }
        use std::hash::Hasher;
        let bytes = std::fs::read(path)
            .map_err(|e| TransportError::Io(format!("cannot read {}: {e}", path.display())))?;
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("script")
            .to_string();
        let mut h = std::collections::hash_map::DefaultHasher::new();
        h.write(name.as_bytes());
        h.write(&bytes);
        let bundle = Rc::new(Bundle {
            files: vec![(path.to_path_buf(), name)],
            hash: h.finish(),
        });
        self.scripts
            .borrow_mut()
            .insert(path.to_path_buf(), bundle.clone());
        Ok(bundle)
    }

    /// Run the exec that `then` makes of the bundle's directory on `target`,
    /// staging the bundle first if this run has not (in the same exec where
    /// the transport can: `Connection::stage_and_exec`). Other actions on
    /// the target wait for the files to be in place, not for the command.
    pub(crate) async fn run(
        &self,
        target: &Target,
        conn: &Arc<dyn Connection>,
        bundle: &Bundle,
        then: impl FnOnce(&str) -> Exec + Send + 'static,
    ) -> Result<ExecOutput, TransportError> {
        let slot = self
            .targets
            .borrow_mut()
            .entry(target.name.clone())
            .or_default()
            .clone();
        let staged = slot.lock().await;
        let current = staged
            .conn
            .as_ref()
            .is_some_and(|(c, epoch)| Arc::ptr_eq(c, conn) && *epoch == conn.epoch());
        if !current && staged.conn.is_some() && !staged.adopted {
            // Reconnected: the old directory may be gone; start afresh. (A
            // connection that adopted it removes it itself: when the idle
            // cap closed it, or as it stages the new one.)
            let _ = conn.exec(Exec::program("rm", ["-rf", &staged.dir])).await;
        }
        let sub = format!("{:016x}", bundle.hash);
        if current && staged.bundles.contains(&bundle.hash) {
            let dir = format!("{}/{sub}", staged.dir);
            drop(staged);
            return conn.exec(then(&dir)).await;
        }
        let existing = current.then(|| staged.dir.clone());
        let (tx, mut rx) = tokio::sync::oneshot::channel();
        let run = conn.stage_and_exec(existing.as_deref(), &sub, &bundle.files, Box::new(then), tx);
        tokio::pin!(run);
        // Held until the files are in place.
        let mut lock = Some(staged);
        let record = |lock: &mut Option<tokio::sync::MutexGuard<'_, Staged>>, dir: String| {
            let Some(mut staged) = lock.take() else {
                return;
            };
            if !current {
                *staged = Staged {
                    conn: Some((conn.clone(), conn.epoch())),
                    adopted: conn.adopt_temp_dir(&dir),
                    dir,
                    bundles: HashSet::new(),
                };
            }
            staged.bundles.insert(bundle.hash);
        };
        loop {
            tokio::select! {
                out = &mut run => {
                    let out = out?;
                    // `staged` came before the end; not yet seen here.
                    if lock.is_some() && let Ok(dir) = rx.try_recv() {
                        record(&mut lock, dir);
                    }
                    return Ok(out);
                }
                Ok(dir) = &mut rx, if lock.is_some() => record(&mut lock, dir),
            }
        }
    }

    /// Remove every target's directory that its connection has not adopted
    /// (end of the run), each removal within a permit of `concurrency`.
    pub(crate) async fn clean(&self, concurrency: &tokio::sync::Semaphore) {
        let all: Vec<_> = self.targets.borrow_mut().drain().map(|(_, s)| s).collect();
        let removals = all.into_iter().map(|slot| async move {
            let _permit = concurrency.acquire().await;
            let staged = slot.lock().await;
            if let Some((conn, _)) = &staged.conn
                && !staged.adopted
            {
                let _ = conn.exec(Exec::program("rm", ["-rf", &staged.dir])).await;
            }
        });
        futures::future::join_all(removals).await;
    }
}

fn expect_ok(out: ExecOutput, what: &str) -> Result<(), TransportError> {
    if out.exit_code == Some(0) {
        return Ok(());
    }
    Err(TransportError::Io(format!(
        "{what} failed: {}",
        lossy(&out.stderr).trim()
    )))
}

/// `Connection::stage` an exec at a time, for transports where an exec is
/// cheap: `mktemp -d` (mode 0700, an unpredictable name) unless `dir` is
/// given, `mkdir -p`, an upload per file, `chmod u+x` of the first.
pub(crate) async fn step_by_step<C: Connection + ?Sized>(
    conn: &C,
    dir: Option<&str>,
    sub: &str,
    files: &[(std::path::PathBuf, String)],
) -> Result<String, TransportError> {
    let dir = match dir {
        Some(dir) => dir.to_string(),
        None => {
            let made = conn.exec(Exec::program("mktemp", ["-d"])).await?;
            let dir = lossy(&made.stdout).trim().to_string();
            if made.exit_code != Some(0) || dir.is_empty() {
                return Err(TransportError::Io(format!(
                    "cannot make a temporary directory: {}",
                    lossy(&made.stderr).trim()
                )));
            }
            dir
        }
    };
    let base = format!("{dir}/{sub}");
    let mut mkdir = vec!["-p".to_string(), "--".into(), base.clone()];
    mkdir.extend(parents(&base, files));
    expect_ok(conn.exec(Exec::program("mkdir", &mkdir)).await?, "mkdir")?;
    for (local, remote) in files {
        conn.upload(local, &format!("{base}/{remote}")).await?;
    }
    if let Some((_, executable)) = files.first() {
        let executable = format!("{base}/{executable}");
        expect_ok(
            conn.exec(Exec::program("chmod", ["u+x", executable.as_str()]))
                .await?,
            "chmod",
        )?;
    }
    Ok(dir)
}

/// The directories under `base` that `files` go in, each once.
pub(crate) fn parents(base: &str, files: &[(std::path::PathBuf, String)]) -> Vec<String> {
    let mut dirs: Vec<String> = files
        .iter()
        .filter_map(|(_, r)| Some(format!("{base}/{}", r.rsplit_once('/')?.0)))
        .collect();
    dirs.sort();
    dirs.dedup();
    dirs
}
