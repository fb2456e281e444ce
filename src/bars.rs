//! The `njord-bars` shell around the pure [`BarAggregator`] (re-exported from the core crate):
//! journals, late-trade reports and the stage hooks.

pub use njord_core::bars::*;

use crate::event::{Bar, Event, Kind};
use crate::journal::Journals;
use crate::stage::{Out, Stage, StageError};

/// Late trades reported on stderr per symbol before the rest are only counted.
const LATE_REPORTS: u64 = 10;

/// The `njord-bars` shell: feeds trades to the aggregator, journals and emits its bars.
///
/// As a daemon it closes bars by event time: once the watermark (the latest trade time seen)
/// has passed a bucket's end plus the grace. The wall clock only stands in for event time
/// while nothing arrives: the watermark is advanced by how long the stream has been quiet,
/// so a quiet market still gets its bars, while a stream whose trades come less than the
/// grace apart (a replay at any speed) has its bars closed by its own times alone. On stdio,
/// bars close as before: on a later trade of the symbol, and at the end of input.
pub struct BarsStage {
    agg: BarAggregator,
    journals: Option<Journals>,
    grace_ns: i64,
    daemon: bool,
    /// The watermark at the last tick, and the wall time it was first seen at.
    quiet: Option<(i64, i64)>,
    bars: Vec<Bar<'static>>,
}

impl BarsStage {
    /// `journals: None` disables journaling (tests, `--no-journal`). `daemon`: on a bus, where
    /// bars close by the watermark plus `grace_ns`.
    pub fn new(
        agg: BarAggregator,
        journals: Option<Journals>,
        grace_ns: i64,
        daemon: bool,
    ) -> Self {
        BarsStage {
            agg,
            journals,
            grace_ns,
            daemon,
            quiet: None,
            bars: Vec::new(),
        }
    }

    fn emit(&mut self, out: &mut Out) -> Result<(), StageError> {
        for b in self.bars.drain(..) {
            let stem = journal_stem(&b);
            let ev = Event::Bar(b);
            if let Some(j) = &mut self.journals {
                j.append_event(&stem, &ev)?;
            }
            out.push(ev);
        }
        Ok(())
    }
}

impl Stage for BarsStage {
    fn inputs(&self, topics: &crate::config::Topics) -> Vec<String> {
        vec![topics.pattern(Kind::Trade)]
    }

    fn on_event(&mut self, ev: &Event<'_>, out: &mut Out) -> Result<(), StageError> {
        let Event::Trade(t) = ev else { return Ok(()) };
        match self.agg.on_trade(t, &mut self.bars) {
            Outcome::Accepted => {}
            Outcome::Late { open_ns } => {
                let n = self
                    .agg
                    .late_counts()
                    .find(|(s, _)| *s == t.symbol)
                    .map_or(0, |(_, n)| n);
                if n <= LATE_REPORTS {
                    tracing::warn!(
                        symbol = %t.symbol,
                        trade_id = %t.trade_id,
                        ts_ns = t.ts_ns,
                        "late trade {} of {} at {} (bars from {} on are open or closed): counted, not merged{}",
                        t.trade_id,
                        t.symbol,
                        crate::time::format_rfc3339(t.ts_ns),
                        crate::time::format_rfc3339(open_ns),
                        if n == LATE_REPORTS { "; further late trades are only counted" } else { "" }
                    );
                }
            }
            Outcome::TooManySymbols if self.agg.refused_symbols() == 1 => tracing::warn!(
                symbol = %t.symbol,
                "trade {} of {} refused: {} symbols are aggregated already (bars.max_symbols); \
                 further refusals are only counted",
                t.trade_id,
                t.symbol,
                self.agg.max_symbols()
            ),
            Outcome::TooManySymbols => {}
            Outcome::Overflow => tracing::warn!(
                symbol = %t.symbol,
                trade_id = %t.trade_id,
                "trade {} of {}: volume would overflow the decimal range; refused",
                t.trade_id,
                t.symbol
            ),
        }
        if self.daemon
            && let Some(w) = self.agg.watermark()
        {
            self.agg.close_due(w, self.grace_ns, &mut self.bars);
        }
        self.emit(out)
    }

    /// A quiet stream: the watermark advanced by the wall time since it last moved (measured
    /// from the first tick that saw it, so never more than the real quiet time).
    fn on_tick(&mut self, now_ns: i64, out: &mut Out) -> Result<(), StageError> {
        let Some(w) = self.agg.watermark() else {
            return Ok(());
        };
        let since = match self.quiet {
            Some((seen, since)) if seen == w => since,
            _ => now_ns,
        };
        self.quiet = Some((w, since));
        let quiet_for = now_ns.saturating_sub(since).max(0);
        self.agg
            .close_due(w.saturating_add(quiet_for), self.grace_ns, &mut self.bars);
        self.emit(out)
    }

    fn on_end(&mut self, out: &mut Out) -> Result<(), StageError> {
        self.agg.finish(&mut self.bars);
        self.emit(out)?;
        for (symbol, n) in self.agg.late_counts() {
            if n > 0 {
                tracing::warn!(
                    symbol,
                    late = n,
                    "{symbol}: {n} late trades counted, not merged"
                );
            }
        }
        let refused = self.agg.refused_symbols();
        if refused > 0 {
            tracing::warn!(
                refused,
                "{refused} trades refused: their symbol was beyond bars.max_symbols ({})",
                self.agg.max_symbols()
            );
        }
        let gaps = self.agg.unfilled_gaps();
        if gaps > 0 {
            tracing::warn!(
                gaps,
                "{gaps} gaps longer than {MAX_GAP_BARS} buckets were left unfilled"
            );
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), StageError> {
        match &mut self.journals {
            Some(j) => Ok(j.flush()?),
            None => Ok(()),
        }
    }
}
