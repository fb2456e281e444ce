//! The risk engine's shell: right before each intent it stats the kill file and, with Redis,
//! reads the kill key, `njord:pnl:day` and claims the intent id (`SET NX EX`) in one round
//! trip; it journals every decision, rebuilds the duplicate window with `--resume`, and
//! reloads the caps on SIGHUP. All trading logic stays in [`RiskEngine`].

use super::{
    Caps, External, Halt, PNL_DAY_DATE_KEY, PNL_DAY_KEY, RiskEngine, RiskSettings, SharedPnl,
    utc_date,
};
use crate::audit::{
    self, Field,
    replay::{MarketView, write_external},
};
use crate::broker::guard::{KillRead, redis_kill};
use crate::bus::{BusError, RedisBus};
use crate::config::{self, Loaded, Topics};
use crate::event::{Event, Intent, Kind};
use crate::journal::{JournalReader, Journals};
use crate::kill;
use crate::num::parse_decimal;
use crate::reason::Reason;
use crate::stage::{Out, Stage, StageError};
use std::path::{Path, PathBuf};

/// Journal stem of decisions: `{journal_dir}/risk.decisions.ndjson`.
pub const DECISIONS_JOURNAL: &str = "risk.decisions";
/// Where the last loss trip (`{date} {cap}`) is remembered, so it happens once: a Redis key
/// with Redis, else a file in the journal directory.
pub const LOSS_TRIP_KEY: &str = "njord:risk:loss_trip";
pub const LOSS_TRIP_FILE: &str = "risk.loss_trip";
/// Prefix of the Redis keys that remember allowed intent ids across restarts.
pub const SEEN_KEY_PREFIX: &str = "njord:risk:intent:";

/// Redis connection for shared state (not the pub/sub bus).
pub struct SharedState {
    pub redis: RedisBus,
    pub halt_key: String,
    pub seen_ttl_s: u64,
    /// Whether the kill key was ever read here: its disappearance then fails closed.
    pub halt_key_seen: bool,
}

/// What one round trip to Redis told about an intent.
struct Read {
    halt: Option<String>,
    pnl: Option<String>,
    pnl_date: Option<String>,
    /// `Some(true)`: this call claimed the id; `Some(false)`: it was already there.
    claimed: Option<bool>,
}

impl SharedState {
    fn read(&mut self, seen_key: Option<&str>) -> Result<Read, BusError> {
        // Redis refuses `EX 0`; a zero TTL would halt every intent as unreadable.
        let (halt_key, ttl) = (self.halt_key.as_str(), self.seen_ttl_s.max(1));
        match seen_key {
            Some(k) => {
                let (halt, pnl, pnl_date, set): (
                    Option<String>,
                    Option<String>,
                    Option<String>,
                    Option<String>,
                ) = self.redis.with_conn(|c| {
                    redis::pipe()
                        .get(halt_key)
                        .get(PNL_DAY_KEY)
                        .get(PNL_DAY_DATE_KEY)
                        .cmd("SET")
                        .arg(k)
                        .arg("1")
                        .arg("NX")
                        .arg("EX")
                        .arg(ttl)
                        .query(c)
                })?;
                Ok(Read {
                    halt,
                    pnl,
                    pnl_date,
                    claimed: Some(set.is_some()),
                })
            }
            None => {
                let (halt, pnl, pnl_date): (Option<String>, Option<String>, Option<String>) =
                    self.redis.with_conn(|c| {
                        redis::pipe()
                            .get(halt_key)
                            .get(PNL_DAY_KEY)
                            .get(PNL_DAY_DATE_KEY)
                            .query(c)
                    })?;
                Ok(Read {
                    halt,
                    pnl,
                    pnl_date,
                    claimed: None,
                })
            }
        }
    }
}

/// `njord-risk` as a stage.
pub struct RiskStage {
    engine: RiskEngine,
    kill_file: PathBuf,
    shared: Option<SharedState>,
    journals: Journals,
    journal_dir: PathBuf,
    config_path: Option<PathBuf>,
    /// What the next decision's audit record rests on.
    audit: DecisionInputs,
    /// The intents the engine has not decided yet (legs of a group it holds), oldest first:
    /// the engine decides in the order intents come.
    pending: std::collections::VecDeque<PendingIntent>,
    /// `risk.trip_on_daily_loss`; the latest UTC day of the events read (a loss of an
    /// earlier day trips nothing); the last loss trip (`{date} {cap}`) this process knows of.
    trip_on_daily_loss: bool,
    latest_day: i64,
    loss_tripped: Option<String>,
}

/// An intent waiting for its decision, with what its audit record and Redis claim need.
struct PendingIntent {
    /// The event as received (or written, when it came without a line), for the audit
    /// trail; empty without one.
    line: Vec<u8>,
    ext: External,
    /// The Redis key this intent claimed, released if it is denied.
    claimed: Option<String>,
}

/// The inputs of a decision, as its audit record holds them (reused buffers; the intent's
/// line is in its [`PendingIntent`]).
#[derive(Default)]
struct DecisionInputs {
    /// The prices last written to the audit trail.
    view: MarketView,
    /// `ext`: what the shell read for the intent, canonical.
    ext: String,
    /// `prices`: those that moved since the previous decision, canonical; empty when none.
    prices: String,
}

impl RiskStage {
    /// Builds the stage from the configuration. `config_path` is re-read on SIGHUP.
    pub fn new(
        loaded: &Loaded,
        config_path: Option<PathBuf>,
        kill_file: Option<PathBuf>,
        shared: Option<SharedState>,
    ) -> Self {
        let cfg = &loaded.config;
        let caps = Caps::from(&cfg.risk);
        crate::telemetry::risk_caps(&caps);
        RiskStage {
            engine: RiskEngine::new(
                caps,
                RiskSettings {
                    venue: cfg.exchange.venue.clone(),
                    dedup_window: cfg.risk.dedup_window,
                    explain: true,
                },
            ),
            kill_file: kill_file.unwrap_or_else(|| cfg.risk.kill_switch_file.clone()),
            shared,
            // The decision journal records each decision in the audit trail too, with the
            // intent and what the decision rests on; the order a decision allows is a
            // function of them (the replay derives it again), recorded by the executor that
            // receives it.
            journals: Journals::from_config(&cfg.journal).audited(),
            journal_dir: cfg.journal.dir.clone(),
            config_path,
            audit: DecisionInputs::default(),
            pending: std::collections::VecDeque::new(),
            trip_on_daily_loss: cfg.risk.trip_on_daily_loss,
            latest_day: i64::MIN,
            loss_tripped: None,
        }
    }

    /// Whether the loss trip `mark` (`{date} {cap}`) is a new one: remembered in Redis when
    /// risk has Redis (shared by every instance), else in `{journal_dir}/risk.loss_trip`, so
    /// a restart does not trip again a switch an operator has cleared. Unknown counts as new.
    fn first_loss_trip(&mut self, mark: &str) -> bool {
        if self.loss_tripped.as_deref() == Some(mark) {
            return false;
        }
        self.loss_tripped = Some(mark.to_string());
        if let Some(shared) = self.shared.as_mut() {
            let old = shared.redis.with_conn(|c| {
                redis::cmd("SET")
                    .arg(LOSS_TRIP_KEY)
                    .arg(mark)
                    .arg("GET")
                    .query::<Option<String>>(c)
            });
            return match old {
                Ok(old) => old.as_deref() != Some(mark),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read {LOSS_TRIP_KEY}");
                    true
                }
            };
        }
        let path = self.journal_dir.join(LOSS_TRIP_FILE);
        if std::fs::read_to_string(&path).is_ok_and(|old| old.trim() == mark) {
            return false;
        }
        if let Err(e) = crate::journal::write_atomic(&path, &format!("{mark}\n")) {
            tracing::warn!(error = %e, "cannot write {}", path.display());
        }
        true
    }

    /// Trips the kill switch for the day's loss (on the UTC day of `ts_ns`, shown by
    /// `evidence`), once a day and cap: the file, the Redis key with Redis, and a record in
    /// the audit trail.
    fn trip_for_loss(&mut self, evidence: &str, ts_ns: i64) -> Result<(), StageError> {
        if !self.trip_on_daily_loss || crate::time::utc_day(ts_ns) < self.latest_day {
            return Ok(());
        }
        let cap = self.engine.caps().daily_loss_usd_cap;
        let date = utc_date(ts_ns);
        if !self.first_loss_trip(&format!("{date} {cap}")) {
            return Ok(());
        }
        let reason = format!("daily loss on {date}: {evidence} (daily_loss_usd_cap {cap})");
        let record =
            kill::TripRecord::now(format!("njord-risk {}", kill::who()), Some(reason.clone()));
        let mut failed = Vec::new();
        if let Err(e) = kill::trip_file(&self.kill_file, &record) {
            failed.push(format!("{}: {e}", self.kill_file.display()));
        }
        if let Some(shared) = self.shared.as_mut()
            && let Err(e) = kill::trip_redis(&mut shared.redis, &shared.halt_key)
        {
            failed.push(format!("redis {}: {e}", shared.halt_key));
        }
        if failed.is_empty() {
            tracing::error!("kill switch tripped: {reason}");
        } else {
            // Intents stay denied `daily_loss_usd_cap` for the day either way.
            tracing::error!(
                "{reason}: the kill switch could not be tripped everywhere: {}",
                failed.join("; ")
            );
        }
        if audit::is_open() {
            let result = if failed.is_empty() {
                "done".to_string()
            } else {
                failed.join("; ")
            };
            let fields =
                kill::audit_fields("trip", &record.by, "njord-risk", Some(&reason), &result);
            audit::record(record.ts_ns, "kill_switch", fields)?;
        }
        Ok(())
    }

    pub fn engine(&self) -> &RiskEngine {
        &self.engine
    }

    /// Re-reads the decisions journal and remembers every allowed intent id, so a restarted
    /// engine still denies duplicates. Returns how many ids were remembered.
    pub fn resume(&mut self) -> Result<usize, StageError> {
        let path = self.journal_dir.join(format!("{DECISIONS_JOURNAL}.ndjson"));
        resume_from(&mut self.engine, &path)
    }

    /// Reads the kill switch and shared state for `i`.
    fn external(&mut self, i: &Intent<'_>) -> (External, Option<String>) {
        let mut ext = External::default();
        let file = kill::file_tripped(&self.kill_file);
        let Some(shared) = self.shared.as_mut() else {
            ext.halt = file_halt(file, &self.kill_file);
            return (ext, None);
        };
        let seen_key =
            i.id.as_deref()
                .filter(|id| !id.is_empty())
                .map(|id| format!("{SEEN_KEY_PREFIX}{id}"));
        match shared.read(seen_key.as_deref()) {
            Ok(r) => {
                ext.halt = file_halt(file, &self.kill_file);
                let redis = redis_kill(r.halt.as_deref(), &mut shared.halt_key_seen);
                if ext.halt == Halt::Clear {
                    match redis {
                        KillRead::Clear => {}
                        KillRead::Tripped => ext.halt = Halt::Redis,
                        KillRead::Unreadable(error) => {
                            ext.halt = Halt::Unreadable {
                                source: "redis-key-lost",
                                error,
                            }
                        }
                    }
                }
                ext.seen_shared = r.claimed == Some(false);
                let today = utc_date(i.ts_ns);
                ext.pnl = match (r.pnl, r.pnl_date) {
                    (Some(_), Some(d)) if d != today => SharedPnl::None,
                    (Some(p), _) => match parse_decimal(&p) {
                        Ok(v) => SharedPnl::Usd(v),
                        Err(e) => SharedPnl::Unreadable(format!("{PNL_DAY_KEY}: {e}")),
                    },
                    (None, _) => SharedPnl::None,
                };
                let claimed = (r.claimed == Some(true)).then_some(seen_key).flatten();
                (ext, claimed)
            }
            Err(e) => {
                ext.halt = match file {
                    Ok(true) => Halt::File,
                    _ => Halt::Unreadable {
                        source: "redis-error",
                        error: e.to_string(),
                    },
                };
                (ext, None)
            }
        }
    }
}

fn file_halt(state: std::io::Result<bool>, path: &Path) -> Halt {
    match state {
        Ok(false) => Halt::Clear,
        Ok(true) => Halt::File,
        Err(e) => Halt::Unreadable {
            source: "file-error",
            error: format!("{}: {e}", path.display()),
        },
    }
}

impl RiskStage {
    /// Decides an intent (other events update the engine); `line`: the event as received,
    /// recorded as it is in the audit trail.
    fn decide(
        &mut self,
        ev: &Event<'_>,
        line: Option<&[u8]>,
        out: &mut Out,
    ) -> Result<(), StageError> {
        self.latest_day = self.latest_day.max(crate::time::utc_day(ev.ts_ns()));
        let Event::Intent(i) = ev else {
            if matches!(ev, Event::Position(_)) && audit::is_open() {
                audit::event(ev, line, &[])?;
            }
            self.engine.on_event(ev, &External::default(), out);
            // The day's PnL is summed over every position only when a loss may trip.
            if let Event::Position(p) = ev
                && self.trip_on_daily_loss
                && let Some(pnl) = self.engine.daily_loss_reached(p.ts_ns)
            {
                self.trip_for_loss(&format!("net realized PnL {pnl} USD"), p.ts_ns)?;
            }
            return Ok(());
        };
        let (ext, claimed) = self.external(i);
        // Only the audit record needs the line.
        let line = match line {
            _ if !audit::is_open() => Vec::new(),
            Some(l) => l.to_vec(),
            None => {
                let mut l = Vec::new();
                ev.write_line(&mut l);
                l.pop();
                l
            }
        };
        let start = out.len();
        self.engine.on_intent(i, &ext, out);
        self.pending.push_back(PendingIntent { line, ext, claimed });
        self.record_decisions(out, start)
    }

    /// Releases the claims of denied intents and journals the decisions in `out[start..]`,
    /// each with its pending intent.
    fn record_decisions(&mut self, out: &Out, start: usize) -> Result<(), StageError> {
        // A denial for the day's loss trips the switch once the decisions are recorded; one
        // for a PnL that could not be read is no loss.
        let mut loss = None;
        for decision in &out[start..] {
            let Event::Decision(d) = decision else {
                continue;
            };
            if self.trip_on_daily_loss
                && d.reason == Some(Reason::DailyLossUsdCap)
                && d.caps.get("source").and_then(|s| s.as_str()) != Some("redis-error")
            {
                let pnl = d
                    .caps
                    .get("pnl_day_usd")
                    .map_or("?".into(), |p| p.to_string());
                let source = d.caps.get("source").and_then(|s| s.as_str()).unwrap_or("?");
                let evidence = format!(
                    "PnL {pnl} USD ({source}), intent {} denied daily_loss_usd_cap",
                    d.intent_id
                );
                loss = Some((evidence, d.ts_ns));
            }
            // The engine decides each intent once, in the order they came.
            let Some(p) = self.pending.pop_front() else {
                debug_assert!(false, "a decision without a pending intent");
                tracing::error!(intent_id = %d.intent_id, "a decision without a pending intent");
                self.journals.append_event(DECISIONS_JOURNAL, decision)?;
                continue;
            };
            // A denied intent must not stay marked seen, unless it was a duplicate.
            if let (Some(key), false) = (&p.claimed, d.allowed)
                && d.reason != Some(Reason::DuplicateIntent)
                && let Some(s) = self.shared.as_mut()
                && let Err(e) = s.redis.del(key)
            {
                tracing::warn!(key, error = %e, "cannot release the id of a denied intent");
            }
            if !d.allowed {
                tracing::debug!(intent_id = %d.intent_id, reason = ?d.reason, "denied");
            }
            if audit::is_open() {
                self.journal_audited(&p, decision)?;
            } else {
                self.journals.append_event(DECISIONS_JOURNAL, decision)?;
            }
        }
        match loss {
            Some((evidence, ts_ns)) => self.trip_for_loss(&evidence, ts_ns),
            None => Ok(()),
        }
    }

    /// Journals `decision`, and records it in the audit trail with what it rests on: the
    /// intent as received, what the shell read for it and the prices that moved since the
    /// previous decision (deciding reads them and changes neither). One record per intent
    /// keeps the trail's cost down.
    fn journal_audited(
        &mut self,
        intent: &PendingIntent,
        decision: &Event<'_>,
    ) -> Result<(), StageError> {
        let a = &mut self.audit;
        a.ext.clear();
        write_external(&intent.ext, &mut a.ext);
        a.prices.clear();
        a.view.changes(self.engine.last_prices(), &mut a.prices);
        let intent = audit::line_text(&intent.line);
        let fields = [
            ("intent", Field::Text(&intent)),
            ("ext", Field::Canonical(&a.ext)),
            ("prices", Field::Canonical(&a.prices)),
        ];
        let n = if a.prices.is_empty() { 2 } else { 3 };
        self.journals
            .append_event_with(DECISIONS_JOURNAL, decision, &fields[..n])?;
        Ok(())
    }
}

/// Remembers the allowed intent ids of a decisions journal (a missing journal is empty).
pub fn resume_from(engine: &mut RiskEngine, path: &Path) -> Result<usize, StageError> {
    if !path.exists() {
        return Ok(0);
    }
    let mut reader = JournalReader::open(path)?;
    let mut n = 0;
    reader.for_each_event(
        |ev| {
            if let Event::Decision(d) = ev
                && d.allowed
                && !d.intent_id.is_empty()
            {
                engine.remember(&d.intent_id);
                n += 1;
            }
        },
        |bad| tracing::warn!("{bad}; skipped"),
    );
    Ok(n)
}

impl Stage for RiskStage {
    fn reads_kill_switch(&self) -> bool {
        true
    }

    fn inputs(&self, topics: &Topics) -> Vec<String> {
        vec![
            topics.intents.clone(),
            topics.pattern(Kind::Trade),
            topics.pattern(Kind::Bar),
            topics.positions.clone(),
        ]
    }

    fn on_event(&mut self, ev: &Event<'_>, out: &mut Out) -> Result<(), StageError> {
        self.decide(ev, None, out)
    }

    fn on_input(&mut self, ev: &Event<'_>, line: &[u8], out: &mut Out) -> Result<(), StageError> {
        self.decide(ev, Some(line), out)
    }

    fn on_reload(&mut self) -> Result<(), StageError> {
        match config::load(self.config_path.as_deref()) {
            Ok(l) => {
                let caps = Caps::from(&l.config.risk);
                tracing::info!(
                    per_order_usd_cap = %caps.per_order_usd_cap,
                    daily_loss_usd_cap = %caps.daily_loss_usd_cap,
                    orders_per_min_cap = caps.orders_per_min_cap,
                    "SIGHUP: caps reloaded"
                );
                crate::telemetry::risk_caps(&caps);
                self.engine.set_caps(caps);
                self.trip_on_daily_loss = l.config.risk.trip_on_daily_loss;
                audit::config_loaded(&l.config, "reload")?;
            }
            Err(e) => tracing::error!("SIGHUP: keeping the current caps: {e}"),
        }
        Ok(())
    }

    fn on_end(&mut self, out: &mut Out) -> Result<(), StageError> {
        let start = out.len();
        self.engine.on_end(out);
        self.record_decisions(out, start)
    }

    fn flush(&mut self) -> Result<(), StageError> {
        self.journals.flush()?;
        Ok(())
    }
}
