//! `njord-stress`: stress scenarios for the trading stack. A scenario file names a tape (one
//! `njord-sim gen` makes, or a file) and what happens to it (`transforms`, see
//! [`njord::stress`]); `njord-stress tape` writes that tape, for `njord-sim serve`, a
//! backtest or a pipeline. `njord-stress run` plays it through the real stack against
//! njord-sim with timed venue faults and judges the outcome from the venue's side (see
//! docs/stress.md).

mod assert;
mod drive;
mod evidence;
mod http;
mod report;
mod run;
mod schema;
mod stack;

pub use schema::{Assertion, Scenario, TapeSource};

use crate::cli::{GenArgs, Generator};
use clap::{Args, Parser, Subcommand};
use njord::app::Error;
use njord::cli::CommonArgs;
use njord::event::{Event, Trade};
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Debug, Parser)]
#[command(
    name = "njord-stress",
    version,
    about = "Stress scenarios: a tape and what happens to it (price shocks, gaps, wider spreads, thinner liquidity, missing ticks), written out (tape) or run through the real stack against njord-sim with timed venue faults, judged from the venue's side (run)",
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
njord-stress tape scenarios/flash_crash.yaml > /tmp/crash.ndjson\n\n\
`run` adds venue:, stack:, drive:, intents:, events: and assertions: to the file and runs it \
through the real stack against njord-sim (docs/stress.md). Example:\n  \
njord-stress run scenarios/latency_spike.yaml --out var/stress"
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
    /// Run scenarios end to end: njord-sim, then the stack under njord-ctl, the tape stepped
    /// with timed faults, the assertions judged from the venue's side; a report.json and a
    /// report.html each. Exit 0 all passed, 1 an assertion failed, 2 a bad file or a stack
    /// that did not come up
    Run(RunArgs),
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Scenario files
    #[arg(required = true)]
    pub scenarios: Vec<PathBuf>,
    /// Where each scenario's directory (OUT/NAME, replaced if it exists) goes
    #[arg(long, value_name = "DIR", default_value = "var/stress")]
    pub out: PathBuf,
    /// Keep the state, journals, logs and the venue journal of passed scenarios too (a
    /// failed one always keeps them)
    #[arg(long)]
    pub keep: bool,
}

#[derive(Debug, Args)]
pub struct TapeArgs {
    /// The scenario file
    pub scenario: PathBuf,
    /// Write here instead of stdout
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
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
        Cmd::Run(a) => run::run_all(&a),
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
