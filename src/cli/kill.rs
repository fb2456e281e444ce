//! `njord-kill`: trip, clear and inspect the kill switch.

use super::CommonArgs;
use crate::app::{self, Error};
use crate::audit;
use crate::broker::guard::KillRead;
use crate::bus::RedisBus;
use crate::config::Loaded;
use crate::kill::{self, TripRecord};
use clap::{Parser, Subcommand};
use std::path::{Path, PathBuf};

#[derive(Debug, Parser)]
#[command(
    name = "njord-kill",
    version,
    about = "Trip, clear or inspect the trading kill switch (file and Redis key)",
    after_help = "Once `njord-kill trip` returns, every later intent is denied `halted` and the live \
broker sends nothing.\n\nExamples:\n  \
    njord-kill trip --reason 'runaway strategy'\n  \
    njord-kill status --redis redis://127.0.0.1:6379/0 || echo 'trading is halted'\n  \
    njord-kill clear\n  \
    njord-kill clear --portfolio   # and lift the portfolio's drawdown latches\n\n\
status exits 0 when trading is allowed, 1 when tripped, 2 when a source cannot be read."
)]
pub struct Cli {
    #[command(flatten)]
    pub common: CommonArgs,
    /// Kill file (default: risk.kill_switch_file from the config)
    #[arg(long, value_name = "PATH", global = true)]
    pub file: Option<PathBuf>,
    /// Also act on the Redis key risk.kill_switch_key at this URL (default: redis.url when set)
    #[arg(long, value_name = "URL", value_parser = crate::config::parse_redis_url, global = true)]
    pub redis: Option<String>,
    /// Where the request came from, for the audit trail (njord-ctl names the control API
    /// token or the Telegram chat)
    #[arg(long, value_name = "TEXT", default_value = "cli", global = true)]
    pub source: String,
    #[command(subcommand)]
    pub cmd: Cmd,
}

#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Halt trading: write the kill file (who, when, why) and set the Redis key to "1"
    Trip {
        /// Why trading is halted; kept in the kill file
        #[arg(long, value_name = "TEXT")]
        reason: Option<String>,
    },
    /// Allow trading again: remove the kill file and set the Redis key to "0"
    Clear {
        /// Also lift the drawdown latches of this portfolio (njord-portfolio clear)
        #[arg(long, value_name = "FILE", num_args = 0..=1, default_missing_value = crate::portfolio::DEFAULT_PATH)]
        portfolio: Option<PathBuf>,
    },
    /// Print one line per source; exit 0 allowed, 1 tripped, 2 unreadable
    Status,
}

/// Trips, clears or reports the kill switch in the file and, when configured, in Redis.
/// `status` exits 0 when clear, 1 when tripped, 2 when a source cannot be read.
pub fn run(cli: Cli) -> Result<(), Error> {
    let loaded = app::start(&cli.common)?;
    let risk = &loaded.config.risk;
    let file = absolute_kill_file(
        &cli.file
            .clone()
            .unwrap_or_else(|| risk.kill_switch_file.clone()),
    );
    let redis_url = cli
        .redis
        .clone()
        .or_else(|| loaded.config.redis.url.clone());
    let key = risk.kill_switch_key.as_str();
    let redis = redis_url.as_deref().map(|u| (u, app::connect(u, &loaded)));

    match cli.cmd {
        Cmd::Trip { reason } => {
            let record = TripRecord::now(kill::who(), reason.clone());
            let tripped = change(Change::Trip(record), &file, redis, key);
            audit_change(&loaded, &cli.source, "trip", reason.as_deref(), &tripped);
            tripped
        }
        Cmd::Clear { portfolio } => {
            // The kill switch first: a bad portfolio file must not keep it tripped.
            let mut cleared = change(Change::Clear, &file, redis, key);
            if let Some(path) = portfolio {
                let name = portfolio_name(&path)?;
                let files = crate::portfolio::stage::ControlFiles::new(&file, &name);
                cleared = cleared.and_then(|_| super::portfolio::clear(&files));
            }
            audit_change(&loaded, &cli.source, "clear", None, &cleared);
            cleared
        }
        Cmd::Status => {
            let mut states = vec![(format!("file {}", file.display()), kill::file_state(&file))];
            if let Some((url, bus)) = redis {
                let state = match bus {
                    Ok(mut b) => kill::redis_state(&mut b, key, &mut false),
                    Err(e) => KillRead::Unreadable(e.to_string()),
                };
                states.push((format!("redis {url} {key}"), state));
            }
            let mut code = 0u8;
            for (name, state) in states {
                match state {
                    KillRead::Clear => app::print_out(&format!("{name}: clear\n"))?,
                    KillRead::Tripped => {
                        app::print_out(&format!("{name}: tripped\n"))?;
                        code = code.max(1);
                    }
                    KillRead::Unreadable(e) => {
                        app::print_out(&format!("{name}: unreadable ({e})\n"))?;
                        code = 2;
                    }
                }
            }
            app::exit_status(code)
        }
    }
}

enum Change {
    Trip(TripRecord),
    Clear,
}

/// Applies a trip or a clear to the file and, when configured, to Redis; each source reports
/// on its own line, and the exit status is 1 when any of them failed.
fn change(
    change: Change,
    file: &Path,
    redis: Option<(&str, Result<RedisBus, Error>)>,
    key: &str,
) -> Result<(), Error> {
    let (word, file_result, file_verb, key_verb) = match &change {
        Change::Trip(record) => ("tripped", kill::trip_file(file, record), "write", "set"),
        Change::Clear => ("clear", kill::clear_file(file), "remove", "clear"),
    };
    let (mut done, mut not_done) = (Vec::new(), Vec::new());
    match file_result {
        Ok(()) => {
            app::print_out(&format!("file {}: {word}\n", file.display()))?;
            done.push(format!("file {}", file.display()));
        }
        Err(e) => {
            eprintln!(
                "error: cannot {file_verb} kill file {}: {e}",
                file.display()
            );
            not_done.push(format!("file {}", file.display()));
        }
    }
    if let Some((url, bus)) = redis {
        let set = bus.and_then(|mut b| {
            match change {
                Change::Trip(_) => kill::trip_redis(&mut b, key),
                Change::Clear => kill::clear_redis(&mut b, key),
            }
            .map_err(Error::failed)
        });
        match set {
            Ok(()) => {
                app::print_out(&format!("redis {url} {key}: {word}\n"))?;
                done.push(format!("redis {url} {key}"));
            }
            Err(e) => {
                eprintln!("error: cannot {key_verb} {key} at {url}: {e}");
                not_done.push(format!("redis {url} {key}"));
            }
        }
    }
    if not_done.is_empty() {
        return Ok(());
    }
    let list = |v: &[String]| {
        if v.is_empty() {
            "nothing".to_string()
        } else {
            v.join(", ")
        }
    };
    let consequence = match change {
        Change::Trip(_) => "trading is halted wherever a tripped source is read",
        // An unreadable source reads as tripped, so a partial clear leaves trading halted.
        Change::Clear => "trading stays halted until every source is clear; run it again",
    };
    eprintln!(
        "njord-kill: {word}: {}; NOT {word}: {}; {consequence}",
        list(&done),
        list(&not_done)
    );
    app::exit_status(1)
}

/// The kill file as an absolute path. A relative one is resolved against the current
/// directory, as the daemons resolve it against theirs: a warning says which file this is, for
/// a daemon started elsewhere reads another one.
fn absolute_kill_file(path: &Path) -> PathBuf {
    if path.is_absolute() {
        return path.to_path_buf();
    }
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    eprintln!(
        "warning: kill file `{}` is a relative path: this is {}; a daemon started in another \
         directory reads another file (set risk.kill_switch_file, or --file, to an absolute path)",
        path.display(),
        abs.display()
    );
    abs
}

/// The portfolio's name: from its file, or `main` (the default) when the default file is
/// absent.
fn portfolio_name(path: &Path) -> Result<String, Error> {
    if !path.exists() && path == Path::new(crate::portfolio::DEFAULT_PATH) {
        return Ok("main".into());
    }
    crate::portfolio::load(path)
        .map(|e| e.config().name.clone())
        .map_err(Error::Usage)
}

/// Records a trip or clear in the `njord-kill` audit chain, after the change: the switch
/// never waits on the trail, and a trail that cannot be written is reported, not fatal.
fn audit_change(
    loaded: &Loaded,
    source: &str,
    action: &str,
    reason: Option<&str>,
    outcome: &Result<(), Error>,
) {
    let result = match outcome {
        Ok(()) => "done".to_string(),
        Err(e) => e.to_string(),
    };
    let fields = kill::audit_fields(action, &kill::who(), source, reason, &result);
    let written = app::audit_start("njord-kill", loaded).and_then(|_| {
        audit::record(crate::stage::wall_clock_ns(), "kill_switch", fields)
            .map_err(|e| Error::Failed(e.to_string()))
    });
    if let Err(e) = written.and_then(|_| app::audit_stop(&Ok(()))) {
        tracing::error!("the kill switch was changed, but not recorded in the audit trail: {e}");
    }
}
