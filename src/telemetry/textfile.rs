//! `--metrics-file PATH`: the metrics of a stdio run, rewritten periodically in the Prometheus
//! text format for node_exporter's textfile collector. Each write goes to a temporary file in
//! the same directory and is renamed over PATH, so a reader never sees half a file.

use super::Format;
use crossbeam_channel::{RecvTimeoutError, Sender, bounded};
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;
use std::time::Duration;

/// The writer thread; [`Textfile::finish`] writes the final figures.
pub struct Textfile {
    path: PathBuf,
    stop: Sender<()>,
    thread: JoinHandle<()>,
}

/// Writes the metrics to `path` through a temporary file beside it.
fn write(path: &Path) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".{}.tmp", std::process::id()));
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, super::encode(Format::Prometheus))?;
    std::fs::rename(&tmp, path)
}

impl Textfile {
    /// Writes `path` now (so a bad path fails the start, not later) and then every `interval`.
    pub fn start(path: &Path, interval: Duration) -> Result<Textfile, String> {
        write(path).map_err(|e| format!("--metrics-file {}: {e}", path.display()))?;
        let (stop, stopped) = bounded::<()>(1);
        let p = path.to_path_buf();
        let thread = std::thread::Builder::new()
            .name("metrics-file".into())
            .spawn(move || {
                let mut warned = false;
                while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(interval) {
                    if let Err(e) = write(&p)
                        && !std::mem::replace(&mut warned, true)
                    {
                        tracing::warn!("--metrics-file {}: {e}; retrying", p.display());
                    }
                }
            })
            .map_err(|e| format!("metrics-file thread: {e}"))?;
        Ok(Textfile {
            path: path.to_path_buf(),
            stop,
            thread,
        })
    }

    /// Stops the periodic writes and writes the final figures.
    pub fn finish(self) -> Result<(), String> {
        let _ = self.stop.send(());
        let _ = self.thread.join();
        write(&self.path).map_err(|e| format!("--metrics-file {}: {e}", self.path.display()))
    }
}
