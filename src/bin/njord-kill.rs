//! `njord-kill`: trip, clear or inspect the kill switch. See `njord-kill --help`.

use clap::Parser;
use njord::bus::{Reconnect, RedisBus};
use njord::cli::kill::{Cli, Cmd};
use njord::kill::{self, SourceState, TripRecord};
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let loaded = match njord::app::start(&cli.common) {
        Ok(l) => l,
        Err(code) => return code,
    };
    let risk = &loaded.config.risk;
    let file = cli
        .file
        .clone()
        .unwrap_or_else(|| risk.kill_switch_file.clone());
    let redis_url = cli
        .redis
        .clone()
        .or_else(|| loaded.config.redis.url.clone());
    let key = risk.kill_switch_key.as_str();
    let redis = redis_url.as_deref().map(|u| {
        (
            u,
            RedisBus::connect(u, Reconnect::from_config(&loaded.config.redis)),
        )
    });

    match cli.cmd {
        Cmd::Trip { reason } => {
            let now = njord::stage::wall_clock_ns();
            let record = TripRecord {
                tripped_at: njord::time::format_rfc3339(now),
                ts_ns: now,
                by: who(),
                reason,
            };
            let mut failed = false;
            if let Err(e) = kill::trip_file(&file, &record) {
                eprintln!("error: cannot write kill file {}: {e}", file.display());
                failed = true;
            } else {
                println!("file {}: tripped", file.display());
            }
            if let Some((url, bus)) = redis {
                match bus.and_then(|mut b| kill::trip_redis(&mut b, key)) {
                    Ok(()) => println!("redis {url} {key}: tripped"),
                    Err(e) => {
                        eprintln!("error: cannot set {key}: {e}");
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
        Cmd::Clear => {
            let mut failed = false;
            match kill::clear_file(&file) {
                Ok(()) => println!("file {}: clear", file.display()),
                Err(e) => {
                    eprintln!("error: cannot remove kill file {}: {e}", file.display());
                    failed = true;
                }
            }
            if let Some((url, bus)) = redis {
                match bus.and_then(|mut b| kill::clear_redis(&mut b, key)) {
                    Ok(()) => println!("redis {url} {key}: clear"),
                    Err(e) => {
                        eprintln!("error: cannot clear {key}: {e}");
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
        Cmd::Status => {
            let mut states = vec![(format!("file {}", file.display()), kill::file_state(&file))];
            if let Some((url, bus)) = redis {
                let state = match bus.and_then(|mut b| kill::redis_tripped(&mut b, key)) {
                    Ok(true) => SourceState::Tripped,
                    Ok(false) => SourceState::Clear,
                    Err(e) => SourceState::Unreadable(e.to_string()),
                };
                states.push((format!("redis {url} {key}"), state));
            }
            let mut code = 0u8;
            for (name, state) in states {
                match state {
                    SourceState::Clear => println!("{name}: clear"),
                    SourceState::Tripped => {
                        println!("{name}: tripped");
                        code = code.max(1);
                    }
                    SourceState::Unreadable(e) => {
                        println!("{name}: unreadable ({e})");
                        code = 2;
                    }
                }
            }
            ExitCode::from(code)
        }
    }
}

/// `user@host` for the kill file, from the environment; never fails.
fn who() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "unknown".into());
    let host = std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "localhost".into());
    format!("{user}@{host} (pid {})", std::process::id())
}
