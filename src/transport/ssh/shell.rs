//! The persistent shell: one session channel per target that runs command
//! after command, as Mitogen keeps one interpreter per host for Ansible. A
//! command then costs the target a fork of that shell instead of sshd's
//! session set-up (a process, its environment, a login shell: about 3 ms of
//! CPU per exec here, docs/benchmarks.md), and the controller no channel.
//!
//! A target's first command starts it: its channel runs `first`'s script,
//! which runs that command (with its input, which follows on the stream)
//! and then goes on reading commands. A target without `setsid` or `head`
//! runs a first command without input plainly and refuses one with input;
//! either way the channel ends, and from then on every command takes a
//! channel of its own. Later commands go down that channel; commands under
//! `run-as`, and commands while another runs, take channels of their own.
//!
//! The protocol, on the channel's standard input: a line with the command's
//! nonce (128 random bits) and the length of its input (`-`: none), then
//! the command framed as `BOOTSTRAP` reads one (a line count, the lines),
//! then the input. The shell runs the command in a session of its own
//! (`setsid`: a timeout kills its whole process group, which it prints
//! first, `echo $$`, as on a channel) with the script in its environment,
//! never on a command line (it may set secrets); its standard input is
//! exactly its input (`head -c`; what it leaves unread is drained) or
//! `/dev/null`. When it ends the shell writes `NONCE STATUS` on standard
//! output and `NONCE` on standard error: the command's output is what
//! comes before them.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicU32;

use russh::ChannelMsg;
use russh::client::{self, Handle};

use super::{BOOTSTRAP, Client, GroupLine, framed, keep, quote, random_name};
use crate::transport::{ExecOutput, OutputSink, Stream};

/// Whether the target can keep a shell.
const CAN: &str = "command -v setsid >/dev/null 2>&1 && command -v head >/dev/null 2>&1";

/// Run the command in `$drover_s` with `$drover_i` bytes of input (`-`:
/// none), then write the markers.
const RUN: &str = "if [ \"$drover_i\" = - ]; then
drover_s=$drover_s setsid /bin/sh -c 'drover_x=$drover_s; unset drover_s; eval \"$drover_x\"' </dev/null
else
head -c \"$drover_i\" | { drover_s=$drover_s setsid /bin/sh -c 'drover_x=$drover_s; unset drover_s; eval \"$drover_x\"'; drover_e=$?; cat >/dev/null; exit $drover_e; }
fi
drover_e=$?
printf '%s %s\\n' \"$drover_k\" \"$drover_e\"
printf '%s\\n' \"$drover_k\" >&2";

/// Read and run commands until the input ends.
const LOOP: &str = "while IFS=' ' read -r drover_k drover_i; do
IFS= read -r drover_n || exit 0
drover_s=
while [ \"$drover_n\" -gt 0 ]; do IFS= read -r drover_l || exit 0; drover_s=\"$drover_s$drover_l
\"; drover_n=$((drover_n - 1)); done";

/// The script that starts a shell with `script` as its first command,
/// with `input` bytes of input (which follow it on the stream). Without
/// `setsid` or `head` it runs a command without input as a channel would;
/// one with input it refuses (`NONCE -`: its input cannot be cut from the
/// stream), and it ends.
fn first(nonce: &str, script: &str, input: Option<u64>) -> String {
    let (length, plainly) = match input {
        None => (
            "-".to_string(),
            "drover_x=$drover_s; unset drover_s drover_k drover_i; eval \"$drover_x\" </dev/null",
        ),
        Some(n) => (
            n.to_string(),
            // No process group (`-`) for the line a command starts with.
            "echo -; printf '%s -\\n' \"$drover_k\"; printf '%s\\n' \"$drover_k\" >&2",
        ),
    };
    format!(
        "drover_k={nonce}\ndrover_i={length}\ndrover_s={}\nif {CAN}; then\n{RUN}\n{LOOP}\n{RUN}\ndone\n\
         else\n{plainly}\nfi",
        quote(script)
    )
}

/// A command's input in the shell's stream.
pub(super) struct Input<'a> {
    pub(super) bytes: &'a [u8],
    /// A local file streamed after `bytes`.
    pub(super) file: Option<&'a Path>,
}

/// A target's persistent shell.
pub(super) struct Shell {
    /// The connection it runs on.
    pub(super) on: Arc<Handle<Client>>,
    read: russh::ChannelReadHalf,
    write: russh::ChannelWriteHalf<client::Msg>,
    _permit: tokio::sync::OwnedSemaphorePermit,
    /// Not started yet: its channel runs `BOOTSTRAP` (a warm one), or
    /// nothing yet.
    fresh: Option<bool>,
    /// A command went out and its end was not read (it was cancelled or
    /// timed out): the stream is not at a command's boundary any more.
    pub(super) dirty: bool,
}

/// How a command in the shell went.
pub(super) enum Outcome {
    /// It ran to its end.
    Done(ExecOutput),
    /// The target cannot keep a shell (no `setsid` or `head`): the command
    /// ran on the channel as any other would.
    Ran(ExecOutput),
    /// The target cannot keep a shell, and the command did not run: it has
    /// input, which only a shell can take off the stream.
    Refused,
    /// The shell or its connection went away, or its input could not be
    /// sent.
    Lost(String),
}

impl Shell {
    /// A shell to start on `channel` (running `BOOTSTRAP` if `warm`, else
    /// nothing yet).
    pub(super) fn new(
        on: Arc<Handle<Client>>,
        channel: russh::Channel<client::Msg>,
        warm: bool,
        permit: tokio::sync::OwnedSemaphorePermit,
    ) -> Shell {
        let (read, write) = channel.split();
        Shell {
            on,
            read,
            write,
            _permit: permit,
            fresh: Some(warm),
            dirty: false,
        }
    }

    /// End it: the shell's `read` sees the end of its input and exits.
    pub(super) async fn close(self) {
        let _ = self.write.eof().await;
        let _ = self.write.close().await;
    }

    /// Run `script` (a `shell_script`; `private` if it sets the
    /// environment) to its end: its output, passed to `sink` as it
    /// arrives, and its status; its process group into `pgid`. A fresh
    /// shell starts with it. The input goes out as the output comes back
    /// (a command may write before it reads).
    pub(super) async fn run(
        &mut self,
        script: &str,
        private: bool,
        input: Option<Input<'_>>,
        sink: Option<&OutputSink>,
        pgid: &AtomicU32,
    ) -> Outcome {
        let nonce = match random_name() {
            Ok(n) => n,
            Err(e) => return Outcome::Lost(e),
        };
        self.dirty = true;
        let fresh = self.fresh.take();
        let send = send(&self.write, fresh, &nonce, script, private, input);
        let collect = collect(&mut self.read, fresh.is_some(), &nonce, sink, pgid);
        tokio::pin!(send, collect);
        let mut sent = false;
        let outcome = loop {
            tokio::select! {
                done = &mut send, if !sent => match done {
                    Ok(()) => sent = true,
                    Err(e) => break Outcome::Lost(e),
                },
                // Its end marker comes only once all its input was read.
                outcome = &mut collect => break outcome,
            }
        };
        if !matches!(outcome, Outcome::Lost(_)) {
            self.dirty = false;
        }
        outcome
    }
}

/// Send the command (starting the shell with it if it is `fresh`) and its
/// input.
async fn send(
    write: &russh::ChannelWriteHalf<client::Msg>,
    fresh: Option<bool>,
    nonce: &str,
    script: &str,
    private: bool,
    input: Option<Input<'_>>,
) -> Result<(), String> {
    let cannot = |e: russh::Error| format!("cannot send the command: {e}");
    let file = match input.as_ref().and_then(|i| i.file) {
        None => None,
        Some(path) => {
            let unreadable = |e: std::io::Error| format!("cannot read {}: {e}", path.display());
            let f = tokio::fs::File::open(path).await.map_err(unreadable)?;
            let len = f.metadata().await.map_err(unreadable)?.len();
            Some((f, len, path))
        }
    };
    // The length of the input: the shell gives the command exactly that.
    let len = input
        .as_ref()
        .map(|i| i.bytes.len() as u64 + file.as_ref().map_or(0, |f| f.1));
    let mut head = Vec::new();
    match fresh {
        // A script that sets the environment goes on standard input
        // (`BOOTSTRAP`), never as sshd's command.
        Some(warm) if warm || private => {
            if !warm {
                write.exec(true, BOOTSTRAP).await.map_err(cannot)?;
            }
            head.extend_from_slice(framed(&first(nonce, script, len)).as_bytes());
        }
        Some(_) => {
            let start = first(nonce, script, len);
            write.exec(true, start).await.map_err(cannot)?;
        }
        None => {
            let len = len.map_or("-".to_string(), |l| l.to_string());
            head.extend_from_slice(format!("{nonce} {len}\n{}", framed(script)).as_bytes());
        }
    }
    head.extend_from_slice(input.as_ref().map_or(&[][..], |i| i.bytes));
    if !head.is_empty() {
        write.data(&head[..]).await.map_err(cannot)?;
    }
    match file {
        // Exactly the length announced: a file that shrinks as it is read
        // fails the command (and the shell is closed).
        Some((f, len, path)) => super::send_file(write, f, path, Some(len)).await,
        None => Ok(()),
    }
}

/// Read a command's output up to its markers; a `fresh` shell's channel
/// that ends before them ran the command plainly.
async fn collect(
    read: &mut russh::ChannelReadHalf,
    fresh: bool,
    nonce: &str,
    sink: Option<&OutputSink>,
    pgid: &AtomicU32,
) -> Outcome {
    let mut out = ExecOutput::default();
    let mut stdout = Scan::new(format!("{nonce} "));
    let mut stderr = Scan::new(format!("{nonce}\n"));
    let mut group = GroupLine::default();
    let mut ended = false;
    let pass = |out: &mut ExecOutput, stream: Stream, data: &[u8]| {
        let buf = match stream {
            Stream::Stdout => &mut out.stdout,
            Stream::Stderr => &mut out.stderr,
        };
        keep(buf, &mut out.dropped, data);
        if let (Some(sink), false) = (sink, data.is_empty()) {
            sink(stream, data);
        }
    };
    let status = loop {
        if let (Some(line), true) = (stdout.line(), stderr.found()) {
            break String::from_utf8_lossy(line).trim().to_string();
        }
        let Some(msg) = read.wait().await else {
            if !ended {
                return Outcome::Lost("the shell's channel closed".into());
            }
            // It ran without a shell: all it wrote is output.
            pass(&mut out, Stream::Stdout, &stdout.rest());
            pass(&mut out, Stream::Stderr, &stderr.rest());
            return Outcome::Ran(out);
        };
        match msg {
            ChannelMsg::Data { data } => {
                let passed = stdout.feed(group.strip(&data, pgid));
                pass(&mut out, Stream::Stdout, &passed);
            }
            ChannelMsg::ExtendedData { data, ext: 1 } => {
                let passed = stderr.feed(&data);
                pass(&mut out, Stream::Stderr, &passed);
            }
            // A fresh one that ends before its markers ran the command
            // plainly (no `setsid`): its status is the command's.
            ChannelMsg::ExitStatus { exit_status } if fresh && !stderr.found() => {
                out.exit_code = Some(exit_status as i32);
                ended = true;
            }
            ChannelMsg::ExitSignal { signal_name, .. } if fresh && !stderr.found() => {
                out.signal = Some(super::signal_number(&signal_name));
                ended = true;
            }
            // The end of its output comes before its exit status.
            ChannelMsg::Eof => {}
            ChannelMsg::Close if ended => {}
            ChannelMsg::ExitStatus { .. } | ChannelMsg::ExitSignal { .. } | ChannelMsg::Close => {
                return Outcome::Lost("the shell ended during the command".into());
            }
            _ => {}
        }
    };
    if fresh && status == "-" {
        return Outcome::Refused;
    }
    // A shell says 128 + N for a command that signal N ended.
    match status.parse::<i32>() {
        Ok(code) if (129..=159).contains(&code) => out.signal = Some(code - 128),
        Ok(code) => out.exit_code = Some(code),
        Err(_) => return Outcome::Lost(format!("the shell said {status:?}")),
    }
    Outcome::Done(out)
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

    /// What is held back, when no marker is coming.
    fn rest(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.pending)
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
