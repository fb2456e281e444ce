//! `njord-stress`: stress scenarios for the trading stack. A scenario file names a tape (one
//! `njord-sim gen` makes, or a file) and what happens to it (`transforms`, see
//! [`njord::stress`]); `njord-stress tape` writes that tape, for `njord-sim serve`, a
//! backtest or a pipeline.

use crate::cli::{GenArgs, Generator};
use clap::{Args, Parser, Subcommand};
use njord::app::Error;
use njord::cli::CommonArgs;
use njord::event::{Event, Trade};
use njord::stress::Transform;
use serde::Deserialize;
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Debug, Parser)]
#[command(
    name = "njord-stress",
    version,
    about = "Stress scenarios: a tape and what happens to it (price shocks, gaps, wider spreads, thinner liquidity, missing ticks)",
    after_help = "A scenario file (YAML):\n\n  \
name: flash_crash\n  \
tape:\n    \
gen: [--symbol, ATOM/USDT, --count, '3600', --model, gbm, --interval, 1s, --seed, '7']\n    \
# or: file: tape.ndjson (relative to the scenario file)\n  \
transforms:\n    \
- {transform: shock, at: 10m, change: -0.3, over: 1m, hold: 2m, recover: 5m}\n    \
- {transform: spread, at: 10m, for: 8m, bps: 40}\n    \
- {transform: liquidity, at: 10m, for: 8m, factor: 0.2}\n    \
- {transform: gap, at: 40m, change: 0.05}\n    \
- {transform: missing, at: 50m, for: 30s}\n\n\
Times are offsets from the tape's first trade. Example:\n  \
njord-stress tape scenarios/flash_crash.yaml > /tmp/crash.ndjson"
)]
pub struct Cli {
    #[command(flatten)]
    pub common: CommonArgs,
    #[command(subcommand)]
    pub cmd: Cmd,
}

#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Write a scenario's tape (its trades after its transforms) to stdout or --output
    Tape(TapeArgs),
}

#[derive(Debug, Args)]
pub struct TapeArgs {
    /// The scenario file
    pub scenario: PathBuf,
    /// Write here instead of stdout
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// A scenario file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub name: String,
    #[serde(default)]
    pub about: String,
    pub tape: TapeSource,
    #[serde(default)]
    pub transforms: Vec<Transform>,
}

/// Where a scenario's trades come from.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum TapeSource {
    /// The arguments of `njord-sim gen`.
    Gen(Vec<String>),
    /// A trade tape (NDJSON), relative to the scenario file.
    File(PathBuf),
}

/// `njord-sim gen`'s arguments alone.
#[derive(Debug, Parser)]
#[command(name = "gen", no_binary_name = true)]
struct GenOnly {
    #[command(flatten)]
    gen_args: GenArgs,
}

pub fn load(path: &Path) -> Result<Scenario, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read scenario {}: {e}", path.display()))?;
    serde_saphyr::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// The scenario's trades after its transforms, as tape lines.
pub fn tape(scenario: &Scenario, origin: &Path) -> Result<Vec<u8>, String> {
    let at = |e: String| format!("{} (scenario {}): {e}", origin.display(), scenario.name);
    let source = match &scenario.tape {
        TapeSource::Gen(args) => {
            let g = GenOnly::try_parse_from(args)
                .map_err(|e| at(format!("tape.gen: {}", e.render())))?;
            let mut out = Vec::new();
            Generator::new(&g.gen_args)
                .and_then(|generator| {
                    generator
                        .write(&mut out)
                        .map_err(|e| Error::Failed(e.to_string()))
                })
                .map_err(|e| at(format!("tape.gen: {e}")))?;
            out
        }
        TapeSource::File(file) => {
            let path = origin.parent().unwrap_or(Path::new(".")).join(file);
            std::fs::read(&path).map_err(|e| at(format!("tape.file {}: {e}", path.display())))?
        }
    };
    let text =
        std::str::from_utf8(&source).map_err(|e| at(format!("the tape is not UTF-8: {e}")))?;
    let mut trades: Vec<Trade<'static>> = Vec::new();
    for (n, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        match njord::event::decode(line).map(Event::into_owned) {
            Ok(Event::Trade(t)) => trades.push(t),
            Ok(other) => {
                return Err(at(format!(
                    "tape line {}: a {} event; a scenario's tape holds trades",
                    n + 1,
                    other.kind().as_str()
                )));
            }
            Err(e) => return Err(at(format!("tape line {}: {e}", n + 1))),
        }
    }
    let trades = njord::stress::apply(trades, &scenario.transforms).map_err(at)?;
    let mut out = Vec::with_capacity(source.len());
    for t in trades {
        Event::Trade(t).write_line(&mut out);
    }
    Ok(out)
}

pub fn run(cli: Cli) -> Result<(), Error> {
    njord::app::start(&cli.common)?;
    match cli.cmd {
        Cmd::Tape(a) => {
            let scenario = load(&a.scenario).map_err(Error::Usage)?;
            let bytes = tape(&scenario, &a.scenario).map_err(Error::Usage)?;
            let written = match &a.output {
                Some(path) => std::fs::write(path, &bytes),
                None => std::io::stdout().lock().write_all(&bytes),
            };
            match written {
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                    Err(Error::Failed(format!("cannot write the tape: {e}")))
                }
                _ => Ok(()),
            }
        }
    }
}
