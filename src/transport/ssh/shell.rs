//! The persistent shell: one session channel per target that runs command
//! after command, as Mitogen keeps one interpreter per host for Ansible. A
//! command then costs the target a fork of that shell instead of sshd's
//! session set-up (a process, its environment, a login shell: about 3 ms of
//! CPU per exec here, docs/benchmarks.md), and the controller no channel.
//! Commands with standard input, a file to stream or `run-as` take a
//! channel of their own, as before.
//!
//! The protocol, on the channel's standard input: a line with the command's
//! nonce (128 random bits), then the command framed as `BOOTSTRAP` reads
//! one (a line count, the lines). The shell runs it in a session of its own
//! (`setsid`: a timeout kills its whole process group, which it prints
//! first, `echo $$`, as on a channel), its standard input `/dev/null`. When
//! it ends the shell writes `NONCE STATUS` on standard output and `NONCE`
//! on standard error: the command's output is what comes before them.

use std::sync::Arc;

use russh::ChannelMsg;
use russh::client::{self, Handle};

use super::{Client, GroupLine, KillGuard, framed, keep, random_name};
use crate::transport::{ExecOutput, OutputSink, Stream};

/// What the shell runs: `BOOTSTRAP` reads it as its script. A target
/// without `setsid` ends it at once with status 97 (then every command
/// takes a channel of its own).
pub(super) const SHELL: &str = "command -v setsid >/dev/null 2>&1 || exit 97
while IFS= read -r drover_k; do
IFS= read -r drover_n || exit 0
drover_s=
while [ \"$drover_n\" -gt 0 ]; do IFS= read -r drover_l || exit 0; drover_s=\"$drover_s$drover_l
\"; drover_n=$((drover_n - 1)); done
setsid /bin/sh -c \"$drover_s\" </dev/null
drover_e=$?
printf '%s %s\\n' \"$drover_k\" \"$drover_e\"
printf '%s\\n' \"$drover_k\" >&2
done";

/// The status a target without `setsid` ends the shell with.
const NO_SETSID: u32 = 97;

/// A target's persistent shell.
pub(super) struct Shell {
    /// The connection it runs on.
    pub(super) on: Arc<Handle<Client>>,
    channel: russh::Channel<client::Msg>,
    _permit: tokio::sync::OwnedSemaphorePermit,
    /// Whether it has been sent its script (`SHELL`).
    started: bool,
    /// A command went out and its end was not read (it was cancelled or
    /// timed out): the stream is not at a command's boundary any more.
    pub(super) dirty: bool,
}

/// How a command in the shell went.
pub(super) enum Outcome {
    /// It ran to its end.
    Done(ExecOutput),
    /// The target cannot keep a shell (no `setsid`): the command did not run.
    Unavailable,
    /// The shell or its connection went away.
    Lost(String),
}

impl Shell {
    /// A shell on `channel`, which runs `BOOTSTRAP`.
    pub(super) fn new(
        on: Arc<Handle<Client>>,
        channel: russh::Channel<client::Msg>,
        permit: tokio::sync::OwnedSemaphorePermit,
    ) -> Shell {
        Shell {
            on,
            channel,
            _permit: permit,
            started: false,
            dirty: false,
        }
    }

    /// End it: the shell's `read` sees the end of its input and exits.
    pub(super) async fn close(self) {
        let _ = self.channel.eof().await;
        let _ = self.channel.close().await;
    }

    /// Run `script` (a `command_line`) to its end: its output, passed to
    /// `sink` as it arrives, and its status; its process group in `guard`.
    pub(super) async fn run(
        &mut self,
        script: &str,
        sink: Option<&OutputSink>,
        guard: &mut KillGuard<'_>,
    ) -> Outcome {
        let nonce = match random_name() {
            Ok(n) => n,
            Err(e) => return Outcome::Lost(e),
        };
        let mut input = String::new();
        if !self.started {
            input.push_str(&framed(SHELL));
        }
        input.push_str(&nonce);
        input.push('\n');
        input.push_str(&framed(script));
        self.dirty = true;
        if let Err(e) = self.channel.data(input.as_bytes()).await {
            return Outcome::Lost(format!("cannot send the command: {e}"));
        }
        let starting = !self.started;
        self.started = true;
        let mut out = ExecOutput::default();
        let mut stdout = Scan::new(format!("{nonce} "));
        let mut stderr = Scan::new(format!("{nonce}\n"));
        let mut group = GroupLine::default();
        let status = loop {
            if let (Some(line), true) = (stdout.line(), stderr.found()) {
                break String::from_utf8_lossy(line).trim().to_string();
            }
            let Some(msg) = self.channel.wait().await else {
                return Outcome::Lost("the shell's channel closed".into());
            };
            match msg {
                ChannelMsg::Data { data } => {
                    let passed = stdout.feed(group.strip(&data, &mut guard.pgid));
                    keep(&mut out.stdout, &mut out.dropped, &passed);
                    if let (Some(sink), false) = (sink, passed.is_empty()) {
                        sink(Stream::Stdout, &passed);
                    }
                }
                ChannelMsg::ExtendedData { data, ext: 1 } => {
                    let passed = stderr.feed(&data);
                    keep(&mut out.stderr, &mut out.dropped, &passed);
                    if let (Some(sink), false) = (sink, passed.is_empty()) {
                        sink(Stream::Stderr, &passed);
                    }
                }
                ChannelMsg::ExitStatus { exit_status } if starting && exit_status == NO_SETSID => {
                    return Outcome::Unavailable;
                }
                // The end of its output comes before its exit status.
                ChannelMsg::Eof => {}
                ChannelMsg::ExitStatus { .. }
                | ChannelMsg::ExitSignal { .. }
                | ChannelMsg::Close => {
                    return Outcome::Lost("the shell ended during the command".into());
                }
                _ => {}
            }
        };
        self.dirty = false;
        // A shell says 128 + N for a command that signal N ended.
        match status.parse::<i32>() {
            Ok(code) if (129..=159).contains(&code) => out.signal = Some(code - 128),
            Ok(code) => out.exit_code = Some(code),
            Err(_) => return Outcome::Lost(format!("the shell said {status:?}")),
        }
        Outcome::Done(out)
    }
}

/// One output stream of a command, up to its end marker.
struct Scan {
    marker: Vec<u8>,
    /// Bytes that may be the start of the marker, held back.
    pending: Vec<u8>,
    /// What followed the marker, once it was seen.
    after: Option<Vec<u8>>,
}

impl Scan {
    fn new(marker: String) -> Scan {
        Scan {
            marker: marker.into_bytes(),
            pending: Vec::new(),
            after: None,
        }
    }

    /// Take a chunk; the bytes now known to be the command's output.
    fn feed(&mut self, data: &[u8]) -> Vec<u8> {
        if let Some(after) = &mut self.after {
            after.extend_from_slice(data);
            return Vec::new();
        }
        self.pending.extend_from_slice(data);
        let m = self.marker.len();
        if let Some(i) = self.pending.windows(m).position(|w| w == self.marker) {
            self.after = Some(self.pending[i + m..].to_vec());
            self.pending.truncate(i);
            return std::mem::take(&mut self.pending);
        }
        let hold = (m - 1).min(self.pending.len());
        let held = self.pending.split_off(self.pending.len() - hold);
        std::mem::replace(&mut self.pending, held)
    }

    fn found(&self) -> bool {
        self.after.is_some()
    }

    /// The line after the marker, once it is whole.
    fn line(&self) -> Option<&[u8]> {
        let after = self.after.as_deref()?;
        let end = after.iter().position(|b| *b == b'\n')?;
        Some(&after[..end])
    }
}

#[cfg(test)]
mod tests {
    use super::Scan;

    #[test]
    fn output_is_what_comes_before_the_marker_however_it_is_cut() {
        let text = b"hello\nwor MARK: 0\n";
        for cut in 0..text.len() {
            for cut2 in cut..text.len() {
                let mut scan = Scan::new("MARK: ".into());
                let mut out = scan.feed(&text[..cut]);
                out.extend(scan.feed(&text[cut..cut2]));
                out.extend(scan.feed(&text[cut2..]));
                assert_eq!(out, b"hello\nwor ", "cut at {cut}, {cut2}");
                assert_eq!(scan.line(), Some(&b"0"[..]));
            }
        }
    }

    #[test]
    fn a_partial_marker_in_the_output_is_output() {
        let mut scan = Scan::new("MARK: ".into());
        let mut out = scan.feed(b"MAR");
        out.extend(scan.feed(b"X MARK"));
        assert!(!scan.found());
        out.extend(scan.feed(b": 3\n"));
        assert_eq!(out, b"MARX ");
        assert_eq!(scan.line(), Some(&b"3"[..]));
    }
}
