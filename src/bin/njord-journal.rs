//! `njord-journal`: compress, verify, print and import journals. See `njord-journal --help`.

use clap::Parser;
use njord::cli::journal::{Cli, Cmd, Import};
use njord::journal::{self, JournalReader, Journals, Skipped};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let loaded = match njord::app::start(&cli.common) {
        Ok(l) => l,
        Err(code) => return code,
    };
    match cli.cmd {
        Cmd::Compress { older_than, paths } => {
            let paths = if paths.is_empty() {
                let dir = loaded.config.journal.dir.clone();
                if !dir.exists() {
                    tracing::info!("{}: no journals yet; nothing to compress", dir.display());
                    return ExitCode::SUCCESS;
                }
                vec![dir]
            } else {
                paths
            };
            compress(&paths, older_than.unwrap_or_default())
        }
        Cmd::Verify { files } => verify(&files),
        Cmd::Cat { files } => cat(&files),
        Cmd::Import(Import::BinanceTrades {
            file,
            symbol,
            venue,
            journal,
        }) => {
            let journals = journal.then(|| Journals::from_config(&loaded.config.journal));
            import(&file, &symbol, &venue, journals)
        }
    }
}

fn series(paths: &[PathBuf]) -> Result<Vec<journal::Series>, ExitCode> {
    journal::resolve(paths).map_err(|e| {
        eprintln!("error: {e}");
        ExitCode::from(njord::app::EXIT_USAGE)
    })
}

/// Journal files under `paths` that are not compressed yet.
fn candidates(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            for s in journal::list_dir(p).map_err(|e| e.to_string())? {
                out.extend(s.files.into_iter().filter(|f| !is_gz(f)));
            }
        } else if p.is_file() {
            out.push(p.clone());
        } else {
            return Err(format!("{}: no such file or directory", p.display()));
        }
    }
    Ok(out)
}

fn is_gz(p: &Path) -> bool {
    p.extension().is_some_and(|e| e == "gz")
}

fn compress(paths: &[PathBuf], older_than: Duration) -> ExitCode {
    let files = match candidates(paths) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(njord::app::EXIT_USAGE);
        }
    };
    let now = SystemTime::now();
    let mut failed = false;
    for f in files {
        let old_enough = std::fs::metadata(&f)
            .and_then(|m| m.modified())
            .map(|m| now.duration_since(m).unwrap_or_default() >= older_than)
            .unwrap_or(false);
        if !old_enough {
            continue;
        }
        match journal::compress_closed(&f) {
            Ok(Ok(c)) => println!(
                "{} -> {} ({} lines)",
                c.src.display(),
                c.dst.display(),
                c.lines
            ),
            Ok(Err(Skipped::InUse)) => {
                tracing::info!("{}: open by a writer; left alone", f.display())
            }
            Ok(Err(Skipped::Empty | Skipped::Gone)) => {}
            Err(e) => {
                eprintln!("error: {e}");
                failed = true;
            }
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn verify(paths: &[PathBuf]) -> ExitCode {
    let all = match series(paths) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let mut problems = 0u64;
    for f in all.iter().flat_map(|s| &s.files) {
        let mut r = match JournalReader::open(f) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("{e}");
                problems += 1;
                continue;
            }
        };
        let (mut good, mut bad) = (0u64, 0u64);
        r.for_each_event(
            |_| good += 1,
            |e| {
                eprintln!("{e}");
                bad += 1;
            },
        );
        problems += bad;
        let verdict = if bad == 0 { "ok" } else { "BAD" };
        println!("{verdict} {}: {good} events, {bad} problems", f.display());
    }
    if problems == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn cat(paths: &[PathBuf]) -> ExitCode {
    let all = match series(paths) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let mut out = BufWriter::with_capacity(256 * 1024, std::io::stdout().lock());
    let mut failed = false;
    for f in all.iter().flat_map(|s| &s.files) {
        let mut r = match JournalReader::open(f) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("error: {e}");
                failed = true;
                continue;
            }
        };
        while let Some(line) = r.next_line() {
            let written = match line {
                Ok(l) if !l.terminated && njord::event::decode(l.text).is_err() => {
                    eprintln!(
                        "{}:{}: torn last line (no newline at end of file), skipped",
                        f.display(),
                        l.lineno
                    );
                    continue;
                }
                Ok(l) => out
                    .write_all(l.text.as_bytes())
                    .and_then(|_| out.write_all(b"\n")),
                Err(e) => {
                    eprintln!("error: {e}");
                    failed = true;
                    continue;
                }
            };
            if let Err(e) = written {
                return closed_or_failed(e);
            }
        }
    }
    if let Err(e) = out.flush() {
        return closed_or_failed(e);
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// A reader that went away (`| head`) ends the command quietly.
fn closed_or_failed(e: std::io::Error) -> ExitCode {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        ExitCode::SUCCESS
    } else {
        eprintln!("error: writing stdout: {e}");
        ExitCode::FAILURE
    }
}

fn import(file: &Path, symbol: &str, venue: &str, journals: Option<Journals>) -> ExitCode {
    let mut r = match JournalReader::open(file) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(njord::app::EXIT_USAGE);
        }
    };
    let on_bad = |e: String| eprintln!("{e}; skipped");
    let stats = match journals {
        Some(mut j) => {
            let stem = format!("md.trades.{}", njord::event::compact_symbol(symbol));
            njord::import::binance_trades(
                &mut r,
                symbol,
                venue,
                |ev| j.append_event(&stem, ev).map_err(std::io::Error::other),
                on_bad,
            )
            .and_then(|s| j.flush().map(|_| s).map_err(std::io::Error::other))
        }
        None => {
            let mut out = BufWriter::with_capacity(256 * 1024, std::io::stdout().lock());
            let mut buf = Vec::with_capacity(256);
            njord::import::binance_trades(
                &mut r,
                symbol,
                venue,
                |ev| {
                    buf.clear();
                    ev.write_line(&mut buf);
                    out.write_all(&buf)
                },
                on_bad,
            )
            .and_then(|s| out.flush().map(|_| s))
        }
    };
    match stats {
        Ok(s) => {
            tracing::info!(
                events = s.events,
                bad = s.bad,
                "imported {} trades",
                s.events
            );
            if s.bad > 0 {
                eprintln!("{} bad rows skipped", s.bad);
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(e) => closed_or_failed(e),
    }
}
