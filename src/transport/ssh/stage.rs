//! Task and script files over SSH: staged in one exec, and on a target's
//! first call in the same exec as the command that needs them.
//!
//! One exec makes the run's private directory (mode 0700, 128 random bits
//! in its name under `tmpdir`, chosen here so that the command can name it
//! before it exists), receives the files on standard input (one file as it
//! is, several as a tar stream) and makes the first executable. Run with the
//! command (`stage_and_exec`), the files are cut from standard input
//! (`head -c`) when the command has input of its own, which follows them on
//! the stream; otherwise they are read to its end. A line with a
//! random marker says that the files are in place before the command
//! starts: the marker is taken out of the output, and reported at once so
//! that other actions may use the files while the command runs.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

use super::{SshConnection, quote, random_name, words};
use crate::transport::{Command, Exec, ExecOutput, OutputSink, Stream, TransportError};

/// A staging script's exit status when the target lacks `head` (it cannot
/// cut the files from the stream), after making the directories.
const NO_HEAD: i32 = 97;
/// … when it lacks `tar` (several files come as a tar stream).
const NO_TAR: i32 = 99;

/// Where staging puts the files: DIR/sub.
enum Dir<'a> {
    /// The run's directory on the target, made before.
    Existing(&'a str),
    /// A new one, with the name to give it.
    New(String),
}

impl Dir<'_> {
    fn path(&self) -> &str {
        match self {
            Dir::Existing(dir) => dir,
            Dir::New(dir) => dir,
        }
    }
}

/// A staging script and what goes on its standard input.
struct Script {
    text: String,
    stdin: Vec<u8>,
    /// A local file streamed after `stdin`.
    file: Option<PathBuf>,
}

impl SshConnection {
    /// `dir`, or a new directory's name under `tmpdir`.
    fn dir<'a>(&self, dir: Option<&'a str>) -> Result<Dir<'a>, TransportError> {
        Ok(match dir {
            Some(dir) => Dir::Existing(dir),
            None => Dir::New(format!(
                "{}/drover.{}",
                self.link.settings.tmpdir,
                random_name().map_err(TransportError::Io)?
            )),
        })
    }

    /// The directory this connection made before (the target was
    /// reconnected after a loss), which a new one replaces: removed in the
    /// same exec.
    fn take_old(&self, to: &Dir) -> Option<String> {
        match to {
            Dir::Existing(_) => None,
            Dir::New(_) => self
                .link
                .temp_dir
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .take(),
        }
    }

    /// Put back the directory `take_old` took: staging failed, so it is
    /// left for the end of the run.
    fn put_back(&self, old: Option<String>) {
        if old.is_some() {
            *self.link.temp_dir.lock().unwrap_or_else(|e| e.into_inner()) = old;
        }
    }

    /// Stage `files` in `to`/`sub` in one exec (a target without `tar` gets
    /// several files one by one); the directory.
    async fn stage_in(
        &self,
        to: Dir<'_>,
        sub: &str,
        files: &[(PathBuf, String)],
    ) -> Result<String, TransportError> {
        let dir = to.path().to_string();
        let old = self.take_old(&to);
        let script = script(&to, old.as_deref(), sub, files, false)?;
        let exec = Exec {
            command: Command::Shell(script.text),
            stdin: (!script.stdin.is_empty()).then_some(script.stdin),
            ..Exec::default()
        };
        let run_as = self.link.settings.run_as.clone();
        let out = match self
            .run(exec, script.file.as_deref(), run_as.as_deref())
            .await
        {
            Ok(out) => out,
            Err(e) => {
                self.put_back(old);
                return Err(e);
            }
        };
        match out.exit_code {
            Some(0) => Ok(dir),
            Some(NO_TAR) => {
                crate::transport::staging::step_by_step(self, Some(&dir), sub, files).await
            }
            _ => {
                self.put_back(old);
                Err(not_staged(&out))
            }
        }
    }

    /// `Connection::stage`.
    pub(super) async fn stage_files(
        &self,
        dir: Option<&str>,
        sub: &str,
        files: &[(PathBuf, String)],
    ) -> Result<String, TransportError> {
        if files.is_empty() {
            return crate::transport::staging::step_by_step(self, dir, sub, files).await;
        }
        self.stage_in(self.dir(dir)?, sub, files).await
    }

    /// `Connection::stage_and_exec`: one exec, unless the command runs as
    /// another user than staging does, or sets environment variables other
    /// than a task's parameters (`_env` may set `PATH` or
    /// `TAR_OPTIONS`, which staging must not see), or there is nothing to
    /// stage.
    pub(super) async fn stage_and_run(
        &self,
        dir: Option<&str>,
        sub: &str,
        files: &[(PathBuf, String)],
        then: Box<dyn FnOnce(&str) -> Exec + Send + '_>,
        staged: oneshot::Sender<String>,
    ) -> Result<ExecOutput, TransportError> {
        use crate::transport::Connection;
        if files.is_empty() {
            let dir = self.stage_files(dir, sub, files).await?;
            let _ = staged.send(dir.clone());
            return self.exec(then(&format!("{dir}/{sub}"))).await;
        }
        let to = self.dir(dir)?;
        let path = to.path().to_string();
        let exec = then(&format!("{path}/{sub}"));
        let run_as = self.link.settings.run_as.clone();
        let foreign_env = exec.env.iter().any(|(name, _)| !name.starts_with("PT_"));
        if foreign_env || (exec.run_as.is_some() && exec.run_as != run_as) {
            let dir = self.stage_in(to, sub, files).await?;
            let _ = staged.send(dir);
            return self.exec(exec).await;
        }
        let old = self.take_old(&to);
        // Without input of its own the command finds the end of the stream
        // after the files: nothing to cut (one program less).
        let cut = exec.stdin.as_ref().is_some_and(|i| !i.is_empty());
        let script = script(&to, old.as_deref(), sub, files, cut)?;
        let mark = format!("{}\n", random_name().map_err(TransportError::Io)?);
        let run = match &exec.command {
            Command::Program(program, args) => format!("exec {}", words(program, args)),
            Command::Shell(line) => format!("exec /bin/sh -c {}", quote(line)),
        };
        let mut stdin = script.stdin;
        stdin.extend_from_slice(exec.stdin.as_deref().unwrap_or_default());
        let line = Arc::new(StagedLine::new(
            &mark,
            staged,
            path.clone(),
            exec.on_output.clone(),
        ));
        let sink = line.clone();
        let both = Exec {
            command: Command::Shell(format!(
                "{} && printf %s {} && {run}",
                script.text,
                quote(&mark)
            )),
            env: exec.env.clone(),
            stdin: Some(stdin),
            timeout: exec.timeout,
            on_output: Some(Arc::new(move |stream, data| sink.feed(stream, data))),
            run_as: None,
        };
        let out = self
            .run(both, script.file.as_deref(), run_as.as_deref())
            .await;
        let reported = line.reported();
        let mut out = match out {
            Ok(out) => out,
            Err(e) => {
                if !reported {
                    self.put_back(old);
                }
                return Err(e);
            }
        };
        if let Some(rest) = out.stdout.strip_prefix(mark.as_bytes()) {
            out.stdout = rest.to_vec();
            // The sink saw the same output and reported it; if not, now.
            if let Some((tell, dir)) = line.take_report() {
                let _ = tell.send(dir);
            }
            return Ok(out);
        }
        match out.exit_code {
            // The directory is made, nothing else ran: the files go as
            // `stage` puts them, then the command.
            Some(NO_HEAD | NO_TAR) => {
                let staged = line.take_report();
                self.stage_in(Dir::Existing(&path), sub, files).await?;
                if let Some((tell, dir)) = staged {
                    let _ = tell.send(dir);
                }
                self.exec(exec).await
            }
            _ => {
                self.put_back(old);
                Err(not_staged(&out))
            }
        }
    }
}

fn not_staged(out: &ExecOutput) -> TransportError {
    let said = String::from_utf8_lossy(&out.stderr).trim().to_string();
    let why = match (said.is_empty(), out.exit_code) {
        (false, _) => said,
        (true, Some(code)) => format!("the staging command exited with {code}"),
        (true, None) => "the staging command was killed".into(),
    };
    TransportError::Io(format!("cannot put the task files on the target: {why}"))
}

/// The script that puts `files` in `to`/`sub`, the first one executable,
/// making `to` if it is new (and removing `old`). `cut`: the files are cut
/// from standard input (`head -c`), which goes on after them; else a single
/// file is read to its end. Few programs, as each costs a target about a
/// millisecond: one `mkdir` (mode 0700 for a new directory: everything in
/// it is private, whatever the umask), then `cat` or `head` and `chmod` for
/// one file, or `tar` alone for several (their modes, the first's 0700, are
/// in the stream).
fn script(
    to: &Dir,
    old: Option<&str>,
    sub: &str,
    files: &[(PathBuf, String)],
    cut: bool,
) -> Result<Script, TransportError> {
    let Some((first, executable)) = files.first() else {
        return Err(TransportError::Io("no files to stage".into()));
    };
    let mut text = String::new();
    if let Some(old) = old {
        text.push_str(&format!("rm -rf {}; ", quote(old)));
    }
    let dir = quote(to.path());
    let base = format!("{dir}/{}", quote(sub));
    // `tar` makes the directories its files go in; one file needs them.
    let below = match files.len() {
        1 => ancestors(executable),
        _ => Vec::new(),
    };
    match to {
        Dir::New(_) => text.push_str(&format!("mkdir -m 700 {dir} {base}")),
        Dir::Existing(_) => text.push_str(&format!("mkdir -p {base}")),
    }
    for d in &below {
        text.push_str(&format!(" {base}/{}", quote(d)));
    }
    if cut {
        text.push_str(&format!(
            " && {{ command -v head >/dev/null || exit {NO_HEAD}; }}"
        ));
    }
    let head = |len: usize| match cut {
        true => format!("head -c {len}"),
        false => "cat".into(),
    };
    let target = format!("{base}/{}", quote(executable));
    if files.len() == 1 {
        let (stdin, file) = match cut {
            true => (read(first)?, None),
            false => (Vec::new(), Some(first.clone())),
        };
        text.push_str(&format!(
            " && {} > {target} && chmod u+x {target}",
            head(stdin.len())
        ));
        return Ok(Script { text, stdin, file });
    }
    let tar = tar_of(files).map_err(TransportError::Io)?;
    let pipe = match cut {
        true => format!("{} | ", head(tar.len())),
        false => String::new(),
    };
    text.push_str(&format!(
        " && {{ command -v tar >/dev/null || exit {NO_TAR}; }} && {pipe}tar -x -f - -C {base}"
    ));
    Ok(Script {
        text,
        stdin: tar,
        file: None,
    })
}

/// The directories a file at `path` is in, outermost first: `a/b/c` is in
/// `a` and `a/b`.
fn ancestors(path: &str) -> Vec<String> {
    let mut dirs = Vec::new();
    let mut at = 0;
    while let Some(i) = path[at..].find('/') {
        dirs.push(path[..at + i].to_string());
        at += i + 1;
    }
    dirs
}

fn read(path: &Path) -> Result<Vec<u8>, TransportError> {
    std::fs::read(path)
        .map_err(|e| TransportError::Io(format!("cannot read {}: {e}", path.display())))
}

/// `files` as a tar stream, each under its path, with its mode; the first,
/// the executable, mode 0700 (no `chmod` after it).
fn tar_of(files: &[(PathBuf, String)]) -> Result<Vec<u8>, String> {
    let mut tar = tar::Builder::new(Vec::new());
    for (i, (local, remote)) in files.iter().enumerate() {
        let cannot = |e: std::io::Error| format!("cannot read {}: {e}", local.display());
        let mut file = std::fs::File::open(local).map_err(cannot)?;
        let mut header = tar::Header::new_gnu();
        header.set_metadata_in_mode(
            &file.metadata().map_err(cannot)?,
            tar::HeaderMode::Deterministic,
        );
        if i == 0 {
            header.set_mode(0o700);
        }
        tar.append_data(&mut header, remote, &mut file)
            .map_err(cannot)?;
    }
    tar.into_inner().map_err(|e| e.to_string())
}

/// Passes a staged command's output on, less the marker line that starts
/// its standard output, which it reports (the files are in place).
struct StagedLine {
    mark: Vec<u8>,
    state: Mutex<Held>,
    inner: Option<OutputSink>,
}

struct Held {
    /// Standard output that may be the start of the marker.
    bytes: Vec<u8>,
    /// The marker was seen, or cannot come any more.
    done: bool,
    /// Whom to tell, and what: the directory.
    report: Option<(oneshot::Sender<String>, String)>,
}

impl StagedLine {
    /// Takes `mark` out, and tells `tell` `dir` when it comes.
    fn new(
        mark: &str,
        tell: oneshot::Sender<String>,
        dir: String,
        inner: Option<OutputSink>,
    ) -> StagedLine {
        StagedLine {
            mark: mark.as_bytes().to_vec(),
            state: Mutex::new(Held {
                bytes: Vec::new(),
                done: false,
                report: Some((tell, dir)),
            }),
            inner,
        }
    }

    fn feed(&self, stream: Stream, data: &[u8]) {
        let pass = |data: &[u8]| {
            if let (Some(inner), false) = (&self.inner, data.is_empty()) {
                inner(stream, data);
            }
        };
        if stream == Stream::Stderr {
            return pass(data);
        }
        let mut held = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if held.done {
            drop(held);
            return pass(data);
        }
        held.bytes.extend_from_slice(data);
        let m = self.mark.len();
        if held.bytes.len() < m && self.mark.starts_with(&held.bytes) {
            return;
        }
        held.done = true;
        let bytes = std::mem::take(&mut held.bytes);
        let rest = match bytes.strip_prefix(&self.mark[..]) {
            Some(rest) => {
                if let Some((tell, dir)) = held.report.take() {
                    let _ = tell.send(dir);
                }
                rest
            }
            None => &bytes[..],
        };
        drop(held);
        pass(rest);
    }

    /// Whether the files were reported in place.
    fn reported(&self) -> bool {
        let held = self.state.lock().unwrap_or_else(|e| e.into_inner());
        held.done && held.report.is_none()
    }

    fn take_report(&self) -> Option<(oneshot::Sender<String>, String)> {
        self.state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .report
            .take()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_marker_is_taken_out_of_the_output_however_it_is_cut() {
        let text = b"MARK\n{\"a\": 1}\n";
        for cut in 0..text.len() {
            let seen = Arc::new(Mutex::new(Vec::new()));
            let into = seen.clone();
            let (tx, mut rx) = oneshot::channel();
            let inner: OutputSink =
                Arc::new(move |_, data: &[u8]| into.lock().unwrap().extend_from_slice(data));
            let line = StagedLine::new("MARK\n", tx, "/tmp/d".into(), Some(inner));
            line.feed(Stream::Stdout, &text[..cut]);
            line.feed(Stream::Stdout, &text[cut..]);
            assert_eq!(&seen.lock().unwrap()[..], b"{\"a\": 1}\n", "cut at {cut}");
            assert!(line.reported());
            assert_eq!(rx.try_recv().unwrap(), "/tmp/d");
        }
    }

    #[test]
    fn output_without_the_marker_is_output() {
        let (tx, mut rx) = oneshot::channel();
        let line = StagedLine::new("MARK\n", tx, "/tmp/d".into(), None);
        line.feed(Stream::Stdout, b"MA");
        line.feed(Stream::Stdout, b"RX\n");
        assert!(!line.reported());
        assert!(rx.try_recv().is_err());
    }

    #[test]
    fn a_new_directory_is_made_private_and_files_are_cut_from_the_stream() {
        let dir = std::env::temp_dir().join(format!("drover-stage-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let task = dir.join("task.sh");
        std::fs::write(&task, "#!/bin/sh\n").unwrap();
        let helper = dir.join("lib.sh");
        std::fs::write(&helper, "f() { :; }\n").unwrap();
        let one = vec![(task.clone(), "t/x/task.sh".to_string())];
        let to = Dir::New("/tmp/x'y/drover.1".into());
        let s = script(&to, Some("/tmp/old"), "sub", &one, true).unwrap();
        assert_eq!(
            s.text,
            "rm -rf '/tmp/old'; mkdir -m 700 '/tmp/x'\\''y/drover.1' '/tmp/x'\\''y/drover.1'/'sub' \
             '/tmp/x'\\''y/drover.1'/'sub'/'t' '/tmp/x'\\''y/drover.1'/'sub'/'t/x' && \
             { command -v head >/dev/null || exit 97; } && \
             head -c 10 > '/tmp/x'\\''y/drover.1'/'sub'/'t/x/task.sh' && \
             chmod u+x '/tmp/x'\\''y/drover.1'/'sub'/'t/x/task.sh'"
        );
        assert_eq!(s.stdin, b"#!/bin/sh\n");
        let plain = script(&Dir::Existing("/d"), None, "sub", &one, false).unwrap();
        assert!(
            plain
                .text
                .starts_with("mkdir -p '/d'/'sub' '/d'/'sub'/'t' '/d'/'sub'/'t/x' && cat > "),
            "{}",
            plain.text
        );
        assert!(plain.stdin.is_empty() && plain.file.is_some());
        // Several files: one tar stream, the executable's mode in it.
        let two = vec![
            (task, "t/x/task.sh".to_string()),
            (helper, "f/lib.sh".to_string()),
        ];
        let s = script(&Dir::Existing("/d"), None, "sub", &two, true).unwrap();
        assert!(
            s.text.ends_with(&format!(
                "&& head -c {} | tar -x -f - -C '/d'/'sub'",
                s.stdin.len()
            )),
            "{}",
            s.text
        );
        let mut archive = tar::Archive::new(&s.stdin[..]);
        let modes: Vec<(String, u32)> = archive
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (
                    e.path().unwrap().display().to_string(),
                    e.header().mode().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            modes,
            [("t/x/task.sh".into(), 0o700), ("f/lib.sh".into(), 0o644)]
        );
        assert_eq!(ancestors("a/b/c"), ["a", "a/b"]);
        assert!(ancestors("c").is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
