//! `--stream`: targets' output lines as they arrive.

use std::io::Write;

use serde_json::json;

use crate::transport::Stream;

/// `--stream`: one target's output in one action, printed line by line as
/// it arrives, each line whole (one write under the stdout lock) and prefixed
/// with the target's name; the last partial line when the action ends.
pub(crate) struct LineSink {
    target: String,
    width: usize,
    json: bool,
    /// The progress bars, when on a terminal: lines go above them.
    bars: Option<indicatif::MultiProgress>,
    /// Partial lines of stdout and stderr.
    partial: std::sync::Mutex<[Vec<u8>; 2]>,
}

impl LineSink {
    /// The sink of `target`'s output, its name padded to `width`; JSON
    /// `output` events when `json`.
    pub(crate) fn new(
        target: &str,
        width: usize,
        json: bool,
        bars: Option<indicatif::MultiProgress>,
    ) -> LineSink {
        LineSink {
            target: target.to_string(),
            width,
            json,
            bars,
            partial: Default::default(),
        }
    }
}

/// A line longer than this is printed in pieces, so memory stays bounded.
const LONGEST_LINE: usize = 64 * 1024;

impl LineSink {
    /// Take output bytes of one stream; print the lines they complete.
    pub(crate) fn push(&self, stream: Stream, data: &[u8]) {
        let i = usize::from(stream == Stream::Stderr);
        let mut partial = self.partial.lock().unwrap_or_else(|e| e.into_inner());
        let buf = &mut partial[i];
        buf.extend_from_slice(data);
        while let Some(end) = buf.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = buf.drain(..=end).collect();
            self.print(i, &line[..end]);
        }
        if buf.len() > LONGEST_LINE {
            let line = std::mem::take(buf);
            self.print(i, &line);
        }
    }

    fn print(&self, stream: usize, line: &[u8]) {
        let text = String::from_utf8_lossy(line);
        let text = text.strip_suffix('\r').unwrap_or(&text);
        // A line may hold a secret the target was given.
        let text = crate::value::mask(text);
        let out = if self.json {
            let stream = ["stdout", "stderr"][stream];
            format!(
                "{}\n",
                json!({"type": "output", "target": self.target, "stream": stream, "line": text})
            )
        } else {
            let mark = ["|", "!"][stream];
            format!("{:>w$} {mark} {text}\n", self.target, w = self.width)
        };
        match &self.bars {
            Some(bars) => {
                let _ = bars.println(out.trim_end_matches('\n'));
            }
            None => {
                let _ = std::io::stdout().lock().write_all(out.as_bytes());
            }
        }
    }
}

impl Drop for LineSink {
    fn drop(&mut self) {
        let partial = std::mem::take(&mut *self.partial.lock().unwrap_or_else(|e| e.into_inner()));
        for (i, rest) in partial.iter().enumerate() {
            if !rest.is_empty() {
                self.print(i, rest);
            }
        }
    }
}
