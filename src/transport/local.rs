//! The `local` transport: commands run as processes of this machine, each in
//! its own process group so that a cancelled command leaves nothing behind.

use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};

use super::{
    BoxFuture, Command, Connection, Exec, ExecOutput, OUTPUT_CAP, OutputSink, Stream, Transport,
    TransportError,
};
use crate::value::Target;

/// Runs commands as processes of this machine.
pub(crate) struct Local;

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
