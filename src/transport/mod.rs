//! How actions reach targets. The interpreter knows only these traits; the
//! transports are [`local`] (processes on this machine), [`ssh`] and [`sim`].
//!
//! Cancellation is by dropping: when the future of [`Connection::exec`] is
//! dropped (a `with timeout`, `_timeout`, Ctrl-C, a failed sibling), the
//! transport stops the command, and the local transport kills its whole
//! process group.

pub mod connections;
pub mod local;
pub mod sim;
pub mod ssh;
pub mod staging;

use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use crate::value::Target;

/// A boxed future that may cross threads.
pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Output kept per stream; the rest is counted and dropped, so a chatty
/// command cannot exhaust memory.
pub const OUTPUT_CAP: usize = 8 * 1024 * 1024;

/// The soft limit of open files, raised to the hard limit the first time
/// (once per process): every SSH connection is a socket, and the default
/// soft limit of 1024 is far below what a fleet of thousands needs.
pub fn open_files_limit() -> u64 {
    static LIMIT: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *LIMIT.get_or_init(|| {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit and setrlimit only read and write `lim`.
        unsafe {
            if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
                return 1024;
            }
            if lim.rlim_cur < lim.rlim_max {
                let raised = libc::rlimit {
                    rlim_cur: lim.rlim_max,
                    rlim_max: lim.rlim_max,
                };
                if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                    lim.rlim_cur = lim.rlim_max;
                }
            }
        }
        lim.rlim_cur
    })
}

/// Why a transport operation failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub(crate) enum TransportError {
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
pub(crate) type OutputSink = Arc<dyn Fn(Stream, &[u8]) + Send + Sync>;

/// A command to run on a target.
#[derive(Clone, Default)]
pub(crate) struct Exec {
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

impl Exec {
    /// A program with arguments, run without a shell.
    pub(crate) fn program<S: AsRef<str>>(name: &str, args: impl IntoIterator<Item = S>) -> Exec {
        Exec {
            command: Command::Program(
                name.into(),
                args.into_iter().map(|a| a.as_ref().to_string()).collect(),
            ),
            ..Exec::default()
        }
    }
}

/// Output bytes as text, invalid UTF-8 replaced.
pub(crate) fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
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
pub(crate) enum Command {
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
pub(crate) struct ExecOutput {
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
pub(crate) trait Connection: Send + Sync {
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
    /// Put `files` (local file, path under `DIR/sub`) on the target, the
    /// first one executable, and return DIR: `dir`, or when `None` a new
    /// private directory (mode 0700, an unpredictable name). Transports
    /// where an exec costs a round trip do it in one.
    fn stage<'a>(
        &'a self,
        dir: Option<&'a str>,
        sub: &'a str,
        files: &'a [(std::path::PathBuf, String)],
    ) -> BoxFuture<'a, Result<String, TransportError>> {
        Box::pin(staging::step_by_step(self, dir, sub, files))
    }
    /// `stage`, then run the exec that `then` makes of `DIR/sub`: in one
    /// exec where an exec costs a round trip (a task's first call on a
    /// target is then one round trip, not two). `staged` gets DIR once the
    /// files are in place (always before an `Ok`), which may be long before
    /// the command ends, so that other actions may use them meanwhile.
    fn stage_and_exec<'a>(
        &'a self,
        dir: Option<&'a str>,
        sub: &'a str,
        files: &'a [(std::path::PathBuf, String)],
        then: Box<dyn FnOnce(&str) -> Exec + Send + 'a>,
        staged: tokio::sync::oneshot::Sender<String>,
    ) -> BoxFuture<'a, Result<ExecOutput, TransportError>> {
        Box::pin(async move {
            let dir = self.stage(dir, sub, files).await?;
            let _ = staged.send(dir.clone());
            self.exec(then(&format!("{dir}/{sub}"))).await
        })
    }
    /// Take over removing `dir`, the run's directory of task files on the
    /// target: before the connection closes, at the idle cap (which changes
    /// the epoch) or at the end of the run. False: the caller removes it.
    fn adopt_temp_dir(&self, _dir: &str) -> bool {
        false
    }
    /// Keep the connection, and the task files on it, from being closed by
    /// the idle cap while the guard lives (from staging a task to its end).
    fn hold(&self) -> Box<dyn Send + '_> {
        Box::new(())
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
pub(crate) trait Transport: Send + Sync {
    /// Open a connection to `target`.
    fn connect<'a>(
        &'a self,
        target: &'a Target,
    ) -> BoxFuture<'a, Result<Arc<dyn Connection>, TransportError>>;
}
