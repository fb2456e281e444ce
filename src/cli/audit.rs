//! `njord-audit`: verify, anchor, replay, trace and report on the audit trail.

use super::CommonArgs;
use crate::app::{self, Error};
use crate::audit::{self, ChainReport, replay, report};
use clap::{Parser, Subcommand, ValueEnum};
use std::fmt::Write as _;
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "njord-audit",
    version,
    about = "Verify, anchor, replay, trace and report on Njord's hash-chained audit trail",
    after_help = "The trail is one hash chain per writing process, audit.{writer}.ndjson in \
audit.dir (docs/audit.md). A PATH is a directory, a file or a chain's stem; the default is \
audit.dir from the config.\n\nverify exits 0 when every chain is intact, 1 when one is broken \
(the first broken record is printed with file:line and what is wrong), 2 on a usage error.\n\n\
Examples:\n  \
    njord-audit keygen --out /etc/njord/audit.key\n  \
    njord-audit verify var/log/njord/audit --anchor /srv/anchors\n  \
    njord-audit anchor >> /srv/anchors/heads.ndjson   # from cron\n  \
    njord-audit replay var/log/njord/audit\n  \
    njord-audit trace s1-42\n  \
    njord-audit report --from 2026-01-01 --to 2026-01-02 --format html > day.html\n  \
    njord-audit correct --chain ops --seq 17 --text 'fill price was 10.51, see ticket 88'"
)]
pub struct Cli {
    #[command(flatten)]
    pub common: CommonArgs,
    #[command(subcommand)]
    pub cmd: Cmd,
}

#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Check every chain: hashes, links within and across files, checkpoint signatures,
    /// anchors; exit 0 intact, 1 broken, 2 usage
    Verify {
        #[arg(value_name = "PATH")]
        paths: Vec<PathBuf>,
        /// Ed25519 public key (hex) every checkpoint must be signed with (default:
        /// audit.public_key)
        #[arg(long, value_name = "HEX")]
        public_key: Option<String>,
        /// Heads kept outside the trail: a file or directory of anchors, or a redis:// URL
        /// (keys audit.anchor_redis_prefix*); default: audit.anchor_dir when set
        #[arg(long, value_name = "SOURCE")]
        anchor: Vec<String>,
    },
    /// Print each intact chain's head as one JSON line, for cron to keep elsewhere
    Anchor {
        #[arg(value_name = "PATH")]
        paths: Vec<PathBuf>,
    },
    /// Re-run the risk core over the njord-risk chain and compare every decision byte for
    /// byte; exit 1 on any difference
    Replay {
        #[arg(value_name = "PATH")]
        paths: Vec<PathBuf>,
    },
    /// The life of one order (intent, decision, order, acks, updates, fills) with the time
    /// between steps
    Trace {
        /// An intent id or a client order id
        #[arg(value_name = "ID")]
        id: String,
        #[arg(value_name = "PATH")]
        paths: Vec<PathBuf>,
    },
    /// Blotter, fills with fees, PnL per strategy, trading-state changes, denials by reason
    /// and reconciliation breaks of a period
    Report {
        /// Start (date, RFC 3339 or ns; inclusive)
        #[arg(long, value_name = "TIME", value_parser = crate::time::parse_time)]
        from: i64,
        /// End (exclusive)
        #[arg(long, value_name = "TIME", value_parser = crate::time::parse_time)]
        to: i64,
        #[arg(long, value_enum, default_value = "json")]
        format: Format,
        #[arg(value_name = "PATH")]
        paths: Vec<PathBuf>,
    },
    /// Write a new Ed25519 key (mode 0600) and print its public key for audit.public_key
    Keygen {
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Append a correction: a record that names the seq it corrects (nothing is rewritten)
    Correct {
        /// The chain corrected (njord-risk, njord-paper, …)
        #[arg(long, value_name = "WRITER")]
        chain: String,
        #[arg(long, value_name = "SEQ")]
        seq: u64,
        /// What was wrong and what is right
        #[arg(long, value_name = "TEXT")]
        text: String,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    Csv,
    Json,
    Html,
}

/// Runs one `njord-audit` command.
pub fn run(cli: Cli) -> Result<(), Error> {
    let loaded = app::start(&cli.common)?;
    let cfg = &loaded.config.audit;
    let or_default = |paths: Vec<PathBuf>| {
        if paths.is_empty() {
            vec![cfg.dir.clone()]
        } else {
            paths
        }
    };
    match cli.cmd {
        Cmd::Verify {
            paths,
            public_key,
            mut anchor,
        } => {
            let public_key = public_key.or_else(|| cfg.public_key.clone());
            if anchor.is_empty()
                && let Some(d) = &cfg.anchor_dir
            {
                anchor.push(d.display().to_string());
            }
            let anchors = audit::anchors_from(&anchor, cfg.anchor_redis_prefix.as_deref())
                .map_err(Error::Usage)?;
            let reports = audit::verify_paths(
                &or_default(paths),
                public_key.as_deref(),
                cfg.checkpoint_records,
                &anchors,
            )
            .map_err(Error::Usage)?;
            let mut out = String::new();
            for r in &reports {
                out.push_str(&describe(r, public_key.is_some()));
            }
            app::print_out(&out)?;
            app::exit_status(u8::from(reports.iter().any(|r| r.problem.is_some())))
        }
        Cmd::Anchor { paths } => {
            let reports =
                audit::verify_paths(&or_default(paths), None, 0, &[]).map_err(Error::Usage)?;
            let mut out = String::new();
            for r in &reports {
                if r.problem.is_some() {
                    return Err(Error::Failed(format!(
                        "not anchoring a broken chain:\n{}",
                        describe(r, false)
                    )));
                }
                if let Some(h) = &r.head {
                    let a = audit::Anchor {
                        chain: r.chain.clone(),
                        seq: h.seq,
                        hash: h.hash.clone(),
                        ts_ns: crate::stage::wall_clock_ns(),
                    };
                    out.push_str(&serde_json::to_string(&a).unwrap_or_default());
                    out.push('\n');
                }
            }
            app::print_out(&out)
        }
        Cmd::Replay { paths } => {
            let paths = or_default(paths);
            let reports = audit::verify_paths(
                &paths,
                cfg.public_key.as_deref(),
                cfg.checkpoint_records,
                &[],
            )
            .map_err(Error::Usage)?;
            if let Some(r) = reports.iter().find(|r| r.problem.is_some()) {
                return Err(Error::Failed(format!(
                    "not replaying a broken chain:\n{}",
                    describe(r, false)
                )));
            }
            let chains = report::chains(&paths).map_err(Error::Failed)?;
            let mut out = String::new();
            let mut differ = false;
            for (chain, recs) in chains.iter().filter(|(c, _)| c == "njord-risk") {
                let r = replay::replay(recs).map_err(|e| Error::Failed(format!("{chain}: {e}")))?;
                let _ = writeln!(
                    out,
                    "{chain}: {} intents re-decided, {} decisions identical, {} differences",
                    r.intents,
                    r.identical,
                    r.differences.len()
                );
                for (seq, what, audited, replayed) in &r.differences {
                    differ = true;
                    let _ = writeln!(
                        out,
                        "  record {seq}: {what}\n    audited:  {audited}\n    replayed: {replayed}"
                    );
                }
            }
            if out.is_empty() {
                return Err(Error::Usage(
                    "no njord-risk chain to replay under the given paths".into(),
                ));
            }
            app::print_out(&out)?;
            app::exit_status(u8::from(differ))
        }
        Cmd::Trace { id, paths } => {
            let chains = report::chains(&or_default(paths)).map_err(Error::Failed)?;
            let steps = report::trace(&chains, &id);
            if steps.is_empty() {
                return Err(Error::Failed(format!("no audited event names {id}")));
            }
            let mut out = String::new();
            let mut prev = steps[0].ts_ns;
            for s in &steps {
                let _ = writeln!(
                    out,
                    "{}  +{:>10.6}s  {}#{}  {:<12} {}",
                    crate::time::format_rfc3339(s.ts_ns),
                    s.ts_ns.saturating_sub(prev) as f64 / 1e9,
                    s.chain,
                    s.seq,
                    s.kind,
                    s.event
                );
                prev = s.ts_ns;
            }
            app::print_out(&out)
        }
        Cmd::Report {
            from,
            to,
            format,
            paths,
        } => {
            if from >= to {
                return Err(Error::Usage("--from must be before --to".into()));
            }
            let chains = report::chains(&or_default(paths)).map_err(Error::Failed)?;
            let r = report::report(&chains, from, to);
            let text = match format {
                Format::Json => {
                    let mut t = serde_json::to_string_pretty(&r).unwrap_or_default();
                    t.push('\n');
                    t
                }
                Format::Csv => report::to_csv(&r),
                Format::Html => report::to_html(&r),
            };
            app::print_out(&text)
        }
        Cmd::Keygen { out } => {
            let public = audit::generate(&out).map_err(Error::Failed)?;
            app::print_out(&format!(
                "wrote {} (mode 600); put this in audit.public_key:\n{public}\n",
                out.display()
            ))
        }
        Cmd::Correct { chain, seq, text } => {
            app::audit_start(&chain, &loaded)?;
            let fields = audit::fields(serde_json::json!({
                "corrects": seq,
                "text": text,
                "by": crate::kill::who(),
            }));
            audit::record(crate::stage::wall_clock_ns(), "correction", fields)
                .map_err(|e| Error::Failed(e.to_string()))?;
            app::audit_stop(&Ok(()))
        }
    }
}

/// One chain's verdict, as `verify` prints it.
fn describe(r: &ChainReport, keyed: bool) -> String {
    let mut out = String::new();
    let head = r
        .head
        .as_ref()
        .map(|h| format!("{} {}", h.seq, &h.hash[..h.hash.len().min(16)]))
        .unwrap_or_default();
    let sigs = if keyed {
        format!(
            "{} signed and checked, {} records after the last",
            r.signed, r.unsigned_tail
        )
    } else {
        "signatures not checked: no public key".to_string()
    };
    let _ = write!(
        out,
        "{}: {} records in {} files, {} checkpoints ({sigs}), {} anchors, head {head}",
        r.chain, r.records, r.files, r.checkpoints, r.anchored
    );
    match &r.problem {
        None => out.push_str(": intact\n"),
        Some(p) => {
            let _ = write!(out, ": BROKEN\n  {}: {}: {}\n", p.at, p.kind, p.detail);
        }
    }
    if let Some(t) = &r.torn {
        let _ = writeln!(
            out,
            "  {t}: torn last line (a crash mid-write, not tampering); the writer moves it aside on restart"
        );
    }
    out
}
