//! How actions reach targets. The interpreter knows only these traits; the
//! `local` transport (processes on this machine) is here, ssh and sim come
//! in their own modules.
//!
//! Cancellation is by dropping: when the future of [`Connection::exec`] is
//! dropped (a `with timeout`, `_timeout`, Ctrl-C, a failed sibling), the
//! transport stops the command, and the local transport kills its whole
//! process group.

use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};

use crate::inventory::Target;

/// A boxed future that may cross threads.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Output kept per stream; the rest is counted and dropped, so a chatty
/// command cannot exhaust memory.
pub const OUTPUT_CAP: usize = 8 * 1024 * 1024;

/// Why a transport operation failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TransportError {
    /// No connection could be made.
    #[error("cannot connect to {target}: {reason}")]
    Connect {
        /// The target.
        target: String,
        /// Why.
        reason: String,
    },
    /// The command did not finish in time; it was stopped.
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    /// Starting or talking to the command failed.
    #[error("{0}")]
    Io(String),
    /// This transport cannot do this yet.
    #[error("{0}")]
    Unsupported(String),
}

/// A command to run on a target.
#[derive(Clone, Debug, Default)]
pub struct Exec {
    /// A shell command line (`sh -c`), or a program and its arguments.
    pub command: Command,
    /// Environment variables to set.
    pub env: Vec<(String, String)>,
    /// Bytes for standard input (closed after them).
    pub stdin: Option<Vec<u8>>,
    /// Stop the command after this long.
    pub timeout: Option<Duration>,
}

/// What to run.
#[derive(Clone, Debug)]
pub enum Command {
    /// A line for `sh -c`.
    Shell(String),
    /// A program and its arguments, with no shell in between.
    Program(String, Vec<String>),
}

impl Default for Command {
    fn default() -> Self {
        Command::Shell(String::new())
    }
}

/// How a command ended.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ExecOutput {
    /// Standard output (at most [`OUTPUT_CAP`] bytes).
    pub stdout: Vec<u8>,
    /// Standard error (at most [`OUTPUT_CAP`] bytes).
    pub stderr: Vec<u8>,
    /// Bytes of output dropped past the cap.
    pub dropped: u64,
    /// Exit status, if it exited.
    pub exit_code: Option<i32>,
    /// The signal that ended it, if one did.
    pub signal: Option<i32>,
}

/// One open connection to a target, shared by every action on it.
pub trait Connection: Send + Sync {
    /// Run a command to its end.
    fn exec(&self, exec: Exec) -> BoxFuture<'_, Result<ExecOutput, TransportError>>;
    /// Copy a local file to `destination` on the target, keeping its mode.
    fn upload<'a>(
        &'a self,
        source: &'a Path,
        destination: &'a str,
    ) -> BoxFuture<'a, Result<(), TransportError>>;
}

/// A way of reaching targets.
pub trait Transport: Send + Sync {
    /// Open a connection to `target`.
    fn connect<'a>(
        &'a self,
        target: &'a Target,
    ) -> BoxFuture<'a, Result<Arc<dyn Connection>, TransportError>>;
}

/// Runs commands as processes of this machine.
pub struct Local;

impl Transport for Local {
    fn connect<'a>(
        &'a self,
        target: &'a Target,
    ) -> BoxFuture<'a, Result<Arc<dyn Connection>, TransportError>> {
        // Bolt's `config.local.env-vars`: set for every command on the target.
        let env = target
            .transport_config()
            .and_then(|c| c.get("env-vars"))
            .and_then(|v| v.as_object())
            .map(|vars| {
                vars.iter()
                    .map(|(k, v)| {
                        (
                            k.clone(),
                            v.as_str().map_or_else(|| v.to_string(), String::from),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        Box::pin(async move { Ok(Arc::new(LocalConnection { env }) as Arc<dyn Connection>) })
    }
}

struct LocalConnection {
    env: Vec<(String, String)>,
}

/// Kills a process group when dropped, unless disarmed: a cancelled or
/// timed-out command leaves no process behind, children included.
struct GroupGuard(Option<i32>);

impl GroupGuard {
    fn kill(&mut self) {
        if let Some(pgid) = self.0.take() {
            // SAFETY: killpg only sends a signal; the group is ours.
            unsafe {
                libc::killpg(pgid, libc::SIGKILL);
            }
        }
    }
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        self.kill();
    }
}

async fn read_capped(mut r: impl AsyncRead + Unpin) -> (Vec<u8>, u64) {
    let mut kept = Vec::new();
    let mut dropped = 0u64;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match r.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let room = OUTPUT_CAP.saturating_sub(kept.len()).min(n);
                kept.extend_from_slice(&buf[..room]);
                dropped += (n - room) as u64;
            }
        }
    }
    (kept, dropped)
}

impl Connection for LocalConnection {
    fn exec(&self, exec: Exec) -> BoxFuture<'_, Result<ExecOutput, TransportError>> {
        Box::pin(async move {
            let mut cmd = match &exec.command {
                Command::Shell(line) => {
                    let mut c = tokio::process::Command::new("/bin/sh");
                    c.arg("-c").arg(line);
                    c
                }
                Command::Program(p, args) => {
                    let mut c = tokio::process::Command::new(p);
                    c.args(args);
                    c
                }
            };
            cmd.envs(self.env.iter().chain(&exec.env).map(|(k, v)| (k, v)))
                .stdin(if exec.stdin.is_some() {
                    Stdio::piped()
                } else {
                    Stdio::null()
                })
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                // Its own process group, so that a stop reaches its children too.
                .process_group(0);
            let mut child = cmd
                .spawn()
                .map_err(|e| TransportError::Io(format!("cannot start the command: {e}")))?;
            let mut guard = GroupGuard(child.id().map(|id| id as i32));
            if let (Some(input), Some(mut stdin)) = (exec.stdin, child.stdin.take()) {
                // A command that does not read its input must not block us.
                tokio::spawn(async move {
                    let _ = stdin.write_all(&input).await;
                });
            }
            let stdout = child.stdout.take().expect("piped");
            let stderr = child.stderr.take().expect("piped");
            let run = async {
                let ((out, d1), (err, d2), status) =
                    tokio::join!(read_capped(stdout), read_capped(stderr), child.wait());
                (out, err, d1 + d2, status)
            };
            let (stdout, stderr, dropped, status) = match exec.timeout {
                Some(limit) => match tokio::time::timeout(limit, run).await {
                    Ok(r) => r,
                    Err(_) => {
                        guard.kill();
                        return Err(TransportError::Timeout(limit));
                    }
                },
                None => run.await,
            };
            let status = status.map_err(|e| TransportError::Io(e.to_string()))?;
            // Finished on its own: whatever it started in the background stays.
            guard.0 = None;
            use std::os::unix::process::ExitStatusExt;
            Ok(ExecOutput {
                stdout,
                stderr,
                dropped,
                exit_code: status.code(),
                signal: status.signal(),
            })
        })
    }

    fn upload<'a>(
        &'a self,
        source: &'a Path,
        destination: &'a str,
    ) -> BoxFuture<'a, Result<(), TransportError>> {
        Box::pin(async move {
            tokio::fs::copy(source, destination)
                .await
                .map(|_| ())
                .map_err(|e| {
                    TransportError::Io(format!(
                        "cannot copy {} to {destination}: {e}",
                        source.display()
                    ))
                })
        })
    }
}
