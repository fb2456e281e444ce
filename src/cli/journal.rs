//! `njord-journal`: compress, verify, print, import and download journals.

use super::CommonArgs;
use crate::app::{self, Error};
use crate::bars::Timeframe;
use crate::download;
use crate::event::Event;
use crate::import::{self, Columns, ImportError, TsUnit};
use crate::journal::{self, JournalReader, Journals, Skipped};
use clap::{Parser, Subcommand};
use std::io::{BufWriter, Write};
use std::path::Path;
use std::path::PathBuf;
use std::time::Duration;
use std::time::SystemTime;

#[derive(Debug, Parser)]
#[command(
    name = "njord-journal",
    version,
    about = "Compress, verify, validate, print, export, import and download Njord journals",
    after_help = "Journals rotate by UTC day and size to {stem}.{YYYYMMDD}[.{n}].ndjson and are \
gzipped when closed; the open file is always {stem}.ndjson. A FILE argument may be a file, a \
directory (every journal in it) or a stem (every file of one rotated series).\n\nExamples:\n  \
    njord-journal compress --older-than 24h\n  \
    njord-journal verify var/log/njord/md.trades.ATOMUSDT.20260101.ndjson.gz\n  \
    njord-journal validate var/log/njord/md.trades.ATOMUSDT var/log/njord/ohlcv.1m.ATOMUSDT\n  \
    njord-journal cat var/log/njord/md.trades.ATOMUSDT | njord-bars --emit-only\n  \
    njord-journal export var/log/njord --out data\n  \
    njord-journal export var/log/njord/md.trades.ATOMUSDT --out atom.parquet --float64\n  \
    njord-journal import binance-trades ATOMUSDT-trades-2026-01-01.csv --symbol ATOM/USDT > atom.ndjson\n  \
    njord-journal import binance-trades ATOMUSDT-trades-2026-01-02.csv --symbol ATOM/USDT --journal\n  \
    njord-journal import binance-klines BTCUSDT-1m-2026-01-01.csv --symbol BTC/USDT --journal\n  \
    njord-journal import freqtrade BTC_USDT-5m.json --symbol BTC/USDT --timeframe 5m > btc.ndjson\n  \
    njord-journal import csv prices.csv --columns ts=date,open=o,high=h,low=l,close=c,volume=v --timeframe 1h --symbol BTC/USDT\n  \
    njord-journal download binance-klines --symbol ATOM/USDT --interval 1m --from 2024-01-01 --to 2024-01-02 --rest-url http://127.0.0.1:8081"
)]
pub struct Cli {
    #[command(flatten)]
    pub common: CommonArgs,
    #[command(subcommand)]
    pub cmd: Cmd,
}

#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Gzip closed journals (rotated files, and open files whose writer has exited); a file a
    /// writer holds open is never touched
    Compress {
        /// Only files last modified longer ago than this (90s, 30m, 24h, 7d)
        #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
        older_than: Option<Duration>,
        /// Journal files or directories (default: journal.dir from the config)
        #[arg(value_name = "PATH")]
        paths: Vec<PathBuf>,
    },
    /// Check every line of journals (JSON events, torn lines, gzip integrity); exit 1 on any
    /// problem
    Verify {
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
    },
    /// Check what valid lines can still get wrong about the market: trade ids that skip,
    /// repeat or go back, time going back, crossed books, bars that disagree with the trades
    /// inside them, fills outside the range traded within 60 s; each as `file:line: reason`,
    /// exit 1 if any
    Validate {
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
    },
    /// Print journals line by line, each rotated series in order, gzip decompressed
    Cat {
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
    },
    /// Export journals to Parquet (zstd) or Arrow IPC for pandas, polars and DuckDB: exact
    /// decimal128 money, timestamp[ns, UTC] times, rows in event-time order; every reader of
    /// journals (cat, verify, validate, njord-replay, njord-backtest) reads the files back as
    /// the NDJSON lines they came from
    Export(Export),
    /// Convert downloaded history into Njord events (stdout, or a journal with --journal)
    #[command(subcommand)]
    Import(Import),
    /// Download history from the venue's REST API into a journal, within its request weight;
    /// run again to resume after the journal's last event
    #[command(subcommand)]
    Download(Download),
}

/// What `export` writes and where.
#[derive(Debug, clap::Args)]
pub struct Export {
    /// Journals to export (files, directories or stems; Parquet and Arrow files too)
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Output: a directory (Hive partitions kind=/symbol=/date=), one file (every kind, with a
    /// `kind` column), or `-` for an Arrow IPC stream on stdout
    #[arg(long, short, value_name = "PATH")]
    pub out: PathBuf,
    /// File format (a file's extension, .parquet or .arrow, decides it when given)
    #[arg(long, value_enum, default_value = "parquet")]
    pub format: crate::research::export::Format,
    /// Write one file even when --out has no extension
    #[arg(long)]
    pub single_file: bool,
    /// Add a float64 companion `<col>_f64` after every decimal column, for fast pandas work
    #[arg(long)]
    pub float64: bool,
    /// Only events of this kind (trade, fill, equity, …)
    #[arg(long, value_name = "KIND", value_parser = parse_record_kind)]
    pub kind: Option<crate::research::schema::RecordKind>,
}

fn parse_record_kind(s: &str) -> Result<crate::research::schema::RecordKind, String> {
    crate::research::schema::RecordKind::parse(s).ok_or_else(|| format!("unknown kind `{s}`"))
}

#[derive(Debug, Subcommand)]
pub enum Download {
    /// Klines (`/api/v3/klines`) to `bar` events in {journal.dir}/ohlcv.{tf}.{SYMBOL}
    BinanceKlines {
        #[command(flatten)]
        range: Range,
        /// The bars' timeframe
        #[arg(long, value_name = "TF", value_parser = Timeframe::parse)]
        interval: Timeframe,
    },
    /// Aggregate trades (`/api/v3/aggTrades`) to `trade` events in
    /// {journal.dir}/md.trades.{SYMBOL}
    BinanceAggtrades {
        #[command(flatten)]
        range: Range,
        /// Venue written in the events
        #[arg(long, value_name = "NAME", default_value = "binance")]
        venue: String,
    },
}

/// What and where a download fetches.
#[derive(Debug, clap::Args)]
pub struct Range {
    /// Symbol, as BASE/QUOTE
    #[arg(long, value_name = "SYMBOL")]
    pub symbol: String,
    /// Start (inclusive): 2026-01-01 (UTC midnight), an RFC 3339 time or ns
    #[arg(long, value_name = "WHEN", value_parser = crate::time::parse_time)]
    pub from: i64,
    /// End (exclusive), as --from
    #[arg(long, value_name = "WHEN", value_parser = crate::time::parse_time)]
    pub to: i64,
    /// REST base URL (default: exchange.rest_url from the config)
    #[arg(long, value_name = "URL")]
    pub rest_url: Option<String>,
    /// Request weight per minute to stay under (default: 90% of the venue's limit)
    #[arg(long, value_name = "N")]
    pub max_weight: Option<u32>,
}

#[derive(Debug, Subcommand)]
pub enum Import {
    /// Binance public trade dumps (id, price, qty, quote_qty, time, is_buyer_maker[,
    /// is_best_match]; ms or µs times) to `trade` events
    BinanceTrades {
        #[command(flatten)]
        dest: Dest,
        #[command(flatten)]
        market: Market,
    },
    /// Binance public aggTrades dumps (agg_trade_id, price, quantity, first_trade_id,
    /// last_trade_id, transact_time, is_buyer_maker[, is_best_match]) to `trade` events
    BinanceAggtrades {
        #[command(flatten)]
        dest: Dest,
        #[command(flatten)]
        market: Market,
    },
    /// Binance public kline dumps (open_time, open, high, low, close, volume, close_time,
    /// quote_volume, count, taker_buy_base, taker_buy_quote, ignore; ms or µs) to `bar` events
    BinanceKlines {
        #[command(flatten)]
        dest: Dest,
        /// Symbol written in the events, as BASE/QUOTE
        #[arg(long, value_name = "SYMBOL")]
        symbol: String,
        /// The bars' timeframe (default: inferred from close_time - open_time + 1)
        #[arg(long, value_name = "TF", value_parser = Timeframe::parse)]
        interval: Option<Timeframe>,
    },
    /// freqtrade candle JSON ([[ts_ms, open, high, low, close, volume], …], plain or .gz) to
    /// `bar` events
    Freqtrade {
        #[command(flatten)]
        dest: Dest,
        /// Symbol written in the events, as BASE/QUOTE
        #[arg(long, value_name = "SYMBOL")]
        symbol: String,
        /// The candles' timeframe (freqtrade keeps it in the file name, not the file)
        #[arg(long, value_name = "TF", value_parser = Timeframe::parse)]
        timeframe: Timeframe,
    },
    /// Any CSV with a header row, through a column mapping, to `trade` or `bar` events
    /// (bars when the mapping has `open`)
    Csv {
        #[command(flatten)]
        dest: Dest,
        /// FIELD=COLUMN pairs. Trades: ts, price, qty, side or buyer_maker, [id], [symbol].
        /// Bars: ts (open time), open, high, low, close, volume, [trades], [symbol]
        #[arg(long, value_name = "MAP", value_parser = Columns::parse)]
        columns: Columns,
        /// Unit of numeric times (dates such as 2024-01-02 03:04:05 are read as UTC)
        #[arg(long, value_name = "UNIT", value_enum, default_value_t = TsUnit::Auto)]
        ts_unit: TsUnit,
        /// The bars' timeframe (required for bars)
        #[arg(long, value_name = "TF", value_parser = Timeframe::parse)]
        timeframe: Option<Timeframe>,
        /// Symbol written in the events, as BASE/QUOTE (unless a column gives it)
        #[arg(long, value_name = "SYMBOL", default_value = "")]
        symbol: String,
        /// Venue written in trade events
        #[arg(long, value_name = "NAME", default_value = "binance")]
        venue: String,
    },
    /// NDJSON trades or bars without `kind` (e.g. {"symbol","price","qty","side","ts_ns",
    /// "trade_id"}; a line with ts_open_ns is a bar) to canonical events
    Ndjson {
        #[command(flatten)]
        dest: Dest,
    },
}

/// The file an import reads and where its events go.
#[derive(Debug, clap::Args)]
pub struct Dest {
    /// The file (plain or gzipped)
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Append to the journals {journal.dir}/md.trades.{SYMBOL} (trades) or
    /// ohlcv.{tf}.{SYMBOL} (bars), rotated by UTC day and gzipped, instead of stdout
    #[arg(long)]
    pub journal: bool,
}

/// The symbol and venue written in imported trades.
#[derive(Debug, clap::Args)]
pub struct Market {
    /// Symbol written in the events, as BASE/QUOTE
    #[arg(long, value_name = "SYMBOL")]
    pub symbol: String,
    /// Venue written in the events
    #[arg(long, value_name = "NAME", default_value = "binance")]
    pub venue: String,
}

/// Parses `90s`, `30m`, `24h`, `7d` (or plain seconds).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let (num, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let n: u64 = num
        .parse()
        .map_err(|_| format!("invalid duration `{s}` (use 90s, 30m, 24h, 7d)"))?;
    let secs = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        _ => return Err(format!("invalid duration `{s}` (use 90s, 30m, 24h, 7d)")),
    };
    Ok(Duration::from_secs(n.saturating_mul(secs)))
}

/// Compresses, verifies, prints or imports journals.
pub fn run(cli: Cli) -> Result<(), Error> {
    let loaded = app::start(&cli.common)?;
    match cli.cmd {
        Cmd::Compress { older_than, paths } => {
            let paths = if paths.is_empty() {
                let dir = loaded.config.journal.dir.clone();
                if !dir.exists() {
                    tracing::info!("{}: no journals yet; nothing to compress", dir.display());
                    return Ok(());
                }
                vec![dir]
            } else {
                paths
            };
            compress(&paths, older_than.unwrap_or_default())
        }
        Cmd::Verify { files } => verify(&files),
        Cmd::Validate { files } => validate(&files),
        Cmd::Cat { files } => cat(&files),
        Cmd::Export(e) => export(e),
        Cmd::Import(imp) => import(imp, &loaded.config.journal),
        Cmd::Download(d) => download(d, &loaded.config),
    }
}

fn series(paths: &[PathBuf]) -> Result<Vec<journal::Series>, Error> {
    journal::resolve(paths).map_err(Error::usage)
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

fn compress(paths: &[PathBuf], older_than: Duration) -> Result<(), Error> {
    let files = candidates(paths).map_err(Error::Usage)?;
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
            Ok(Ok(c)) => app::print_out(&format!(
                "{} -> {} ({} lines)\n",
                c.src.display(),
                c.dst.display(),
                c.lines
            ))?,
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
    app::exit_status(u8::from(failed))
}

fn verify(paths: &[PathBuf]) -> Result<(), Error> {
    let all = series(paths)?;
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
        app::print_out(&format!(
            "{verdict} {}: {good} events, {bad} problems\n",
            f.display()
        ))?;
    }
    app::exit_status(u8::from(problems > 0))
}

/// Writes the events of the inputs as Parquet or Arrow (`njord-journal export`).
fn export(e: Export) -> Result<(), Error> {
    use crate::research::export::{self as ex, Format, Target};
    let ext = e.out.extension().and_then(|x| x.to_str());
    let (format, target) = if e.out.as_os_str() == "-" {
        (Format::Arrow, Target::Stdout)
    } else {
        match ext {
            Some("parquet") => (Format::Parquet, Target::File(e.out.clone())),
            Some("arrow" | "feather" | "ipc") => (Format::Arrow, Target::File(e.out.clone())),
            _ if e.single_file => (e.format, Target::File(e.out.clone())),
            _ => (e.format, Target::Hive(e.out.clone())),
        }
    };
    if e.out.as_os_str() == "-" && e.format == Format::Parquet && e.single_file {
        return Err(Error::usage(
            "--out -: stdout takes an Arrow IPC stream, not Parquet (which needs a seekable file)",
        ));
    }
    let all = series(&e.files)?;
    let mut bad = 0u64;
    let opts = ex::Options {
        format,
        target,
        float64: e.float64,
        only: e.kind,
    };
    let summary = ex::export(&all, &opts, &mut |err| {
        bad += 1;
        eprintln!("{err}");
    })
    .map_err(Error::failed)?;
    tracing::info!(
        rows = summary.rows,
        files = summary.files.len(),
        "exported {} rows to {}",
        summary.rows,
        e.out.display()
    );
    if bad > 0 {
        return Err(Error::failed(format!(
            "{bad} bad lines left out (listed above); every valid line was exported"
        )));
    }
    Ok(())
}

/// Reads every file of `paths` twice at most (the trades again when bars or fills are to be
/// checked against them) and prints each problem as `file:line: reason`.
fn validate(paths: &[PathBuf]) -> Result<(), Error> {
    use crate::tape_check::{Loc, TapeCheck};
    let files: Vec<PathBuf> = series(paths)?.into_iter().flat_map(|s| s.files).collect();
    let mut check = TapeCheck::new();
    let mut bad_lines = 0u64;
    let mut events = 0u64;
    let mut each = |pass: &mut dyn FnMut(Loc, &Event<'_>), report: bool| -> Result<(), Error> {
        for (i, f) in files.iter().enumerate() {
            let mut r = JournalReader::open(f).map_err(Error::failed)?;
            let mut decoder = crate::event::Decoder::default();
            while let Some(line) = r.next_line() {
                let line = line.map_err(Error::failed)?;
                match decoder.line(line.text.as_bytes()) {
                    None => {}
                    Some(Ok((_, ev))) => pass(
                        Loc {
                            file: i,
                            line: line.lineno,
                        },
                        &ev,
                    ),
                    Some(Err(reason)) if report => {
                        eprintln!("{}:{}: {reason}", f.display(), line.lineno);
                        bad_lines += 1;
                    }
                    Some(Err(_)) => {}
                }
            }
        }
        Ok(())
    };
    each(
        &mut |at, ev| {
            events += 1;
            check.first(at, ev)
        },
        true,
    )?;
    if check.needs_trades() {
        each(&mut |_, ev| check.second(ev), false)?;
    }
    let problems = check.finish();
    let mut out = String::new();
    for p in &problems {
        out.push_str(&format!(
            "{}:{}: {}\n",
            files[p.at.file].display(),
            p.at.line,
            p.reason
        ));
    }
    app::print_out(&out)?;
    let total = problems.len() as u64 + bad_lines;
    eprintln!(
        "{events} events in {} files: {} problems, {bad_lines} bad lines",
        files.len(),
        problems.len()
    );
    app::exit_status(u8::from(total > 0))
}

fn cat(paths: &[PathBuf]) -> Result<(), Error> {
    let all = series(paths)?;
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
                Ok(l)
                    if !l.terminated
                        && matches!(crate::event::judge_line(l.text.as_bytes()), Some(Err(_))) =>
                {
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
    app::exit_status(u8::from(failed))
}

/// A reader that went away (`| head`) ends the command quietly.
fn closed_or_failed(e: std::io::Error) -> Result<(), Error> {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        Ok(())
    } else {
        Err(Error::Failed(format!("writing stdout: {e}")))
    }
}

/// Where imported events go: stdout, or the journal of each event's stem.
enum Sink {
    Stdout(BufWriter<std::io::StdoutLock<'static>>, Vec<u8>),
    Journal(Journals),
}

impl Sink {
    fn emit(&mut self, ev: &Event<'_>) -> std::io::Result<()> {
        match self {
            Sink::Stdout(out, buf) => {
                buf.clear();
                ev.write_line(buf);
                out.write_all(buf)
            }
            Sink::Journal(j) => {
                let stem = crate::import::journal_stem(ev)
                    .ok_or_else(|| std::io::Error::other("only trades and bars are journaled"))?;
                j.append_event(&stem, ev).map_err(std::io::Error::other)
            }
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Sink::Stdout(out, _) => out.flush(),
            Sink::Journal(j) => j.flush().map_err(std::io::Error::other),
        }
    }
}

/// Opens the user's file (called a file, not a journal, in errors).
fn open_file(path: &Path) -> Result<std::fs::File, Error> {
    std::fs::File::open(path).map_err(|e| Error::usage(format!("{}: {e}", path.display())))
}

fn import(cmd: Import, journal_cfg: &crate::config::Journal) -> Result<(), Error> {
    let dest = match &cmd {
        Import::BinanceTrades { dest, .. }
        | Import::BinanceAggtrades { dest, .. }
        | Import::BinanceKlines { dest, .. }
        | Import::Freqtrade { dest, .. }
        | Import::Csv { dest, .. }
        | Import::Ndjson { dest } => dest,
    };
    let file = open_file(&dest.file)?;
    let name = dest.file.display().to_string();
    let mut sink = if dest.journal {
        Sink::Journal(Journals::from_config(journal_cfg))
    } else {
        Sink::Stdout(
            BufWriter::with_capacity(256 * 1024, std::io::stdout().lock()),
            Vec::with_capacity(256),
        )
    };
    let on_bad = |e: String| eprintln!("{e}; skipped");
    let emit = |ev: &Event<'_>| sink.emit(ev);
    let lines = |f| {
        JournalReader::sniff(name.clone(), f).map_err(|e| Error::failed(format!("{name}: {e}")))
    };
    let result = match cmd {
        Import::BinanceTrades { market, .. } => {
            let mut f = import::Trades::new(&market.symbol, &market.venue);
            import::import_lines(&mut lines(file)?, &mut f, emit, on_bad)
        }
        Import::BinanceAggtrades { market, .. } => {
            let mut f = import::AggTrades::new(&market.symbol, &market.venue);
            import::import_lines(&mut lines(file)?, &mut f, emit, on_bad)
        }
        Import::BinanceKlines {
            symbol, interval, ..
        } => {
            let mut f = import::Klines::new(&symbol, interval);
            import::import_lines(&mut lines(file)?, &mut f, emit, on_bad)
        }
        Import::Csv {
            columns,
            ts_unit,
            timeframe,
            symbol,
            venue,
            ..
        } => {
            let mut f = import::GenericCsv::new(columns, ts_unit, timeframe, &symbol, &venue)
                .map_err(Error::Usage)?;
            import::import_lines(&mut lines(file)?, &mut f, emit, on_bad)
        }
        Import::Ndjson { .. } => {
            import::import_lines(&mut lines(file)?, &mut import::Ndjson, emit, on_bad)
        }
        Import::Freqtrade {
            symbol, timeframe, ..
        } => {
            let mut text = String::new();
            journal::decompressed(file)
                .and_then(|mut r| std::io::Read::read_to_string(&mut r, &mut text))
                .map_err(|e| Error::failed(format!("{name}: {e}")))?;
            import::freqtrade_candles(&name, &text, &symbol, timeframe, emit, on_bad)
        }
    };
    let stats = result.and_then(|s| sink.flush().map(|_| s).map_err(ImportError::from));
    match stats {
        Ok(s) => {
            tracing::info!(
                events = s.events,
                bad = s.bad,
                "imported {} events",
                s.events
            );
            if s.bad > 0 {
                eprintln!("{name}: {} bad rows skipped", s.bad);
            } else if s.events == 0 {
                eprintln!("{name}: no rows to import");
            }
            app::exit_status(u8::from(s.bad > 0))
        }
        Err(ImportError::WrongFormat(msg)) => Err(Error::Failed(msg)),
        Err(ImportError::Io(e)) => closed_or_failed(e),
    }
}

fn download(cmd: Download, config: &crate::config::Config) -> Result<(), Error> {
    let (range, what, venue) = match cmd {
        Download::BinanceKlines { range, interval } => {
            (range, download::What::Klines(interval), String::new())
        }
        Download::BinanceAggtrades { range, venue } => (range, download::What::AggTrades, venue),
    };
    if range.to <= range.from {
        return Err(Error::Usage("--to must be after --from".into()));
    }
    if !range.symbol.contains('/') {
        return Err(Error::Usage(format!(
            "--symbol `{}` must be written BASE/QUOTE, e.g. BTC/USDT",
            range.symbol
        )));
    }
    let raw = range
        .rest_url
        .unwrap_or_else(|| config.exchange.rest_url.clone());
    let rest_url = url::Url::parse(&raw)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.has_host())
        .ok_or_else(|| Error::Usage(format!("--rest-url `{raw}` is not an http(s) URL")))?;
    let req = download::Request {
        what,
        symbol: range.symbol,
        venue,
        from_ns: range.from,
        to_ns: range.to,
        rest_url,
        max_weight: range.max_weight,
        journal: config.journal.clone(),
        timeout: Duration::from_secs(30),
    };
    let out = download::run(req)?;
    let resumed = out
        .resumed_after_ns
        .map(|t| format!(", resumed after {}", crate::time::format_rfc3339(t)))
        .unwrap_or_default();
    eprintln!(
        "{}: {} events written in {} requests{resumed}",
        out.stem, out.events, out.requests
    );
    Ok(())
}
