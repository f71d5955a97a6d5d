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
    /// The target's host key is unknown or changed.
    #[error("host key of {target} refused: {reason}")]
    HostKey {
        /// The target.
        target: String,
        /// Why, with the fingerprints.
        reason: String,
    },
    /// No authentication method worked.
    #[error("cannot log in to {target}: {reason}")]
    Auth {
        /// The target.
        target: String,
        /// The methods tried.
        reason: String,
    },
    /// The connection went away while the action ran (a reboot, the network).
    #[error("connection to {target} lost: {reason}")]
    ConnectionLost {
        /// The target.
        target: String,
        /// What was going on.
        reason: String,
    },
}

/// Which output stream a chunk came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

/// Receives output as it arrives (for `--stream`), chunk by chunk.
pub type OutputSink = Arc<dyn Fn(Stream, &[u8]) + Send + Sync>;

/// A command to run on a target.
#[derive(Clone, Default)]
pub struct Exec {
    /// A shell command line (`sh -c`), or a program and its arguments.
    pub command: Command,
    /// Environment variables to set.
    pub env: Vec<(String, String)>,
    /// Bytes for standard input (closed after them).
    pub stdin: Option<Vec<u8>>,
    /// Stop the command after this long.
    pub timeout: Option<Duration>,
    /// Called with every chunk of output as it arrives.
    pub on_output: Option<OutputSink>,
    /// Run as this user (through sudo), overriding the target's `run-as`.
    pub run_as: Option<String>,
}

impl std::fmt::Debug for Exec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The environment may hold secrets: show only its names.
        let env: Vec<&str> = self.env.iter().map(|(k, _)| k.as_str()).collect();
        f.debug_struct("Exec")
            .field("command", &self.command)
            .field("env", &env)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
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
    /// Close the connection at the end of the run.
    fn close(&self) -> BoxFuture<'_, ()> {
        Box::pin(async {})
    }
    /// Which connection this is: changes when the transport reconnected, so
    /// that files put on the target before may be gone.
    fn epoch(&self) -> u64 {
        0
    }
    /// Run task `name` without its files, for transports that simulate tasks.
    fn task<'a>(
        &'a self,
        _name: &'a str,
    ) -> Option<BoxFuture<'a, Result<ExecOutput, TransportError>>> {
        None
    }
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

async fn read_capped(
    mut r: impl AsyncRead + Unpin,
    stream: Stream,
    sink: Option<&OutputSink>,
) -> (Vec<u8>, u64) {
    let mut kept = Vec::new();
    let mut dropped = 0u64;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match r.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if let Some(sink) = sink {
                    sink(stream, &buf[..n]);
                }
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
            if exec.run_as.is_some() {
                return Err(TransportError::Unsupported(
                    "`_run_as` needs the ssh transport; the local transport runs as you".into(),
                ));
            }
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
                let ((out, d1), (err, d2), status) = tokio::join!(
                    read_capped(stdout, Stream::Stdout, exec.on_output.as_ref()),
                    read_capped(stderr, Stream::Stderr, exec.on_output.as_ref()),
                    child.wait()
                );
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    fn local() -> LocalConnection {
        LocalConnection {
            env: vec![("FROM_CONFIG".into(), "yes".into())],
        }
    }

    #[tokio::test]
    async fn output_streams_as_it_arrives_and_is_also_kept() {
        let chunks: Arc<Mutex<Vec<(Stream, String)>>> = Arc::default();
        let seen = chunks.clone();
        let exec = Exec {
            command: Command::Shell(
                "printf one; sleep 0.2; printf two >&2; printf \"$FROM_CONFIG $X\"".into(),
            ),
            env: vec![("X".into(), "x".into())],
            on_output: Some(Arc::new(move |s, b| {
                seen.lock()
                    .unwrap()
                    .push((s, String::from_utf8_lossy(b).into()))
            })),
            ..Exec::default()
        };
        let out = local().exec(exec).await.unwrap();
        assert_eq!(
            (out.stdout.as_slice(), out.stderr.as_slice(), out.exit_code),
            (&b"oneyes x"[..], &b"two"[..], Some(0))
        );
        let chunks = chunks.lock().unwrap();
        // The first chunk arrived before the command wrote the rest.
        assert_eq!(chunks.first(), Some(&(Stream::Stdout, "one".to_string())));
        assert!(chunks.contains(&(Stream::Stderr, "two".to_string())));
    }

    #[tokio::test]
    async fn stdin_exit_status_and_signal() {
        let exec = Exec {
            command: Command::Program(
                "/bin/sh".into(),
                vec!["-c".into(), "read line; echo \"got $line\"; exit 3".into()],
            ),
            stdin: Some(b"hello\n".to_vec()),
            ..Exec::default()
        };
        let out = local().exec(exec).await.unwrap();
        assert_eq!(
            (out.stdout.as_slice(), out.exit_code),
            (&b"got hello\n"[..], Some(3))
        );
        let killed = local()
            .exec(Exec {
                command: Command::Shell("kill -9 $$".into()),
                ..Exec::default()
            })
            .await
            .unwrap();
        assert_eq!((killed.exit_code, killed.signal), (None, Some(9)));
    }

    #[tokio::test]
    async fn output_past_the_cap_is_counted_not_kept() {
        let exec = Exec {
            command: Command::Shell(format!("head -c {} /dev/zero", OUTPUT_CAP + 1000)),
            ..Exec::default()
        };
        let out = local().exec(exec).await.unwrap();
        assert_eq!((out.stdout.len(), out.dropped), (OUTPUT_CAP, 1000));
    }
}
