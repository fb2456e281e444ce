//! Progress of a long job on stderr: a bar with its ETA for people (only when stderr is a
//! terminal), or one JSON line per update for machines (`--progress ndjson`):
//!
//! ```text
//! {"done":3,"elapsed_s":1.204,"eta_s":2.007,"progress":"sweep","total":8,"unit":"trials"}
//! ```
//!
//! `total` and `eta_s` are `null` when unknown; the last line has `"finished":true`. Lines are
//! at least 200 ms apart, except the first and the last.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// `--progress`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ProgressMode {
    /// A bar with its ETA when stderr is a terminal, nothing otherwise
    Auto,
    /// One JSON line per update on stderr, for scripts and schedulers
    Ndjson,
    /// Nothing
    None,
}

/// One job's progress.
pub struct Progress {
    bar: Option<indicatif::ProgressBar>,
    lines: Option<Lines>,
}

struct Lines {
    job: &'static str,
    unit: &'static str,
    total: Option<u64>,
    done: AtomicU64,
    start: Instant,
    /// When the last line was written.
    last: Mutex<Option<Instant>>,
}

const EVERY: Duration = Duration::from_millis(200);

impl Progress {
    /// A job `job` counting `unit`s up to `total`; `template` styles the bar.
    pub fn new(
        mode: ProgressMode,
        quiet: bool,
        job: &'static str,
        unit: &'static str,
        total: Option<u64>,
        template: &str,
    ) -> Self {
        let bar = (mode == ProgressMode::Auto && !quiet && std::io::stderr().is_terminal())
            .then(|| super::progress_bar(total.unwrap_or(0), template));
        let lines = (mode == ProgressMode::Ndjson).then(|| Lines {
            job,
            unit,
            total,
            done: AtomicU64::new(0),
            start: Instant::now(),
            last: Mutex::new(None),
        });
        Progress { bar, lines }
    }

    /// `n` more done.
    pub fn inc(&self, n: u64) {
        if let Some(pb) = &self.bar {
            pb.inc(n);
        }
        if let Some(l) = &self.lines {
            l.done.fetch_add(n, Ordering::Relaxed);
            l.write(false);
        }
    }

    /// `done` so far, with a note for the bar.
    pub fn set(&self, done: u64, message: impl FnOnce() -> String) {
        if let Some(pb) = &self.bar {
            pb.set_position(done);
            pb.set_message(message());
        }
        if let Some(l) = &self.lines {
            l.done.store(done, Ordering::Relaxed);
            l.write(false);
        }
    }

    /// The job is over: the bar goes, the last line is written.
    pub fn finish(&self) {
        if let Some(pb) = &self.bar {
            pb.finish_and_clear();
        }
        if let Some(l) = &self.lines {
            l.write(true);
        }
    }
}

impl Lines {
    fn write(&self, finished: bool) {
        let now = Instant::now();
        let Ok(mut last) = self.last.lock() else {
            return;
        };
        if !finished && last.is_some_and(|t| now.duration_since(t) < EVERY) {
            return;
        }
        *last = Some(now);
        let done = self.done.load(Ordering::Relaxed);
        let elapsed = now.duration_since(self.start).as_secs_f64();
        let eta = match self.total {
            Some(total) if done > 0 && done <= total => {
                Some(elapsed / done as f64 * (total - done) as f64)
            }
            _ => None,
        };
        let round = |x: f64| (x * 1000.0).round() / 1000.0;
        let mut line = serde_json::json!({
            "progress": self.job,
            "unit": self.unit,
            "done": done,
            "total": self.total,
            "elapsed_s": round(elapsed),
            "eta_s": eta.map(round),
        });
        if finished {
            line["finished"] = true.into();
        }
        eprintln!("{line}");
    }
}
