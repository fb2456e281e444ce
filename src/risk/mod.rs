//! The pre-trade risk engine: the pure core ([`RiskEngine`], from the core crate) and its
//! shell ([`stage`]), which reads the kill switch and shared Redis state right before each intent.

pub use njord_core::risk::*;

pub mod stage;

use crate::bus::RedisBus;
use rust_decimal::Decimal;

/// Writes the day's realized PnL (USD, net of fees) and its UTC date to `njord:pnl:day`, where
/// every risk instance reads it before each intent. The stage that books fills writes it:
/// njord-paper in paper, njord-broker live. A failure is logged: risk then falls back to the
/// positions it has seen.
pub fn publish_pnl_day(redis: &mut RedisBus, pnl_usd: Decimal, ts_ns: i64) {
    let pnl = crate::num::to_plain_string(&pnl_usd);
    let date = utc_date(ts_ns);
    let r = redis.with_conn(|c| {
        redis::cmd("MSET")
            .arg(PNL_DAY_KEY)
            .arg(&pnl)
            .arg(PNL_DAY_DATE_KEY)
            .arg(&date)
            .query::<()>(c)
    });
    if let Err(e) = r {
        tracing::warn!(error = %e, "cannot update {PNL_DAY_KEY}");
    }
}
