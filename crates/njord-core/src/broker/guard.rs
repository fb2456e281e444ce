//! Live-money guards (DESIGN §9), pure: the caller reads the environment, the kill switch
//! and prices; these functions only decide. Every denial carries a stable reason code (§8)
//! and the numbers behind it.

use crate::config::Env;
use crate::event::Map;
use crate::reason::Reason;
use rust_decimal::Decimal;
use serde_json::Value;

/// Built-in ceiling on live notional per order, in USD; config can only lower it.
pub const LIVE_CAP_USD: Decimal = Decimal::from_parts(10, 0, 0, false, 0);

/// Whether real orders may be sent: `app.env == live` and `NJORD_ENABLE_LIVE` is exactly `1`.
pub fn live_enabled(env: Env, enable_live_var: Option<&str>) -> bool {
    env == Env::Live && enable_live_var == Some("1")
}

/// What one kill-switch source says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KillRead {
    Clear,
    Tripped,
    /// The state could not be read: counts as tripped (fail closed).
    Unreadable(String),
}

/// A refusal to send an order.
#[derive(Debug, Clone, PartialEq)]
pub struct Denial {
    pub reason: Reason,
    pub caps: Map,
}

fn caps(pairs: &[(&str, Value)]) -> Map {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

fn dec(d: Decimal) -> Value {
    serde_json::to_value(crate::num::Dec(d)).unwrap_or(Value::Null)
}

/// The kill-switch verdict from the file and, when one is configured, Redis.
pub fn kill_switch(file: &KillRead, redis: Option<&KillRead>) -> Result<(), Denial> {
    let mut found = Vec::new();
    for (name, read) in [("file", Some(file)), ("redis", redis)] {
        match read {
            Some(KillRead::Tripped) => found.push((name, Value::String("tripped".into()))),
            Some(KillRead::Unreadable(e)) => {
                found.push((name, Value::String(format!("unreadable: {e}"))))
            }
            Some(KillRead::Clear) | None => {}
        }
    }
    if found.is_empty() {
        Ok(())
    } else {
        Err(Denial {
            reason: Reason::Halted,
            caps: caps(&found),
        })
    }
}

/// The effective live cap: the configured one, never above [`LIVE_CAP_USD`] nor below 0.
pub fn effective_cap(configured: Decimal) -> Decimal {
    configured.clamp(Decimal::ZERO, LIVE_CAP_USD)
}

/// Checks `qty × ref price` against the cap; returns the notional when allowed. The ref
/// price is the market's (last trade or ticker), else the limit price; with both, the higher,
/// since a limit order can execute at its limit.
pub fn notional_cap(
    qty: Decimal,
    market: Option<Decimal>,
    limit: Option<Decimal>,
    configured_cap: Decimal,
) -> Result<Decimal, Denial> {
    let cap = effective_cap(configured_cap);
    let positive = |p: Option<Decimal>| p.filter(|p| *p > Decimal::ZERO);
    let price = match (positive(market), positive(limit)) {
        (Some(m), Some(l)) => m.max(l),
        (Some(p), None) | (None, Some(p)) => p,
        (None, None) => {
            return Err(Denial {
                reason: Reason::NoRefPrice,
                caps: caps(&[("qty", dec(qty)), ("max_notional_usd", dec(cap))]),
            });
        }
    };
    let notional = qty * price;
    if notional > cap {
        return Err(Denial {
            reason: Reason::LiveMicroCap,
            caps: caps(&[
                ("qty", dec(qty)),
                ("ref_price", dec(price)),
                ("notional_usd", dec(notional)),
                ("max_notional_usd", dec(cap)),
            ]),
        });
    }
    Ok(notional)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn live_needs_both_flags() {
        let table = [
            (Env::Dev, None, false),
            (Env::Live, None, false),
            (Env::Dev, Some("1"), false),
            (Env::Paper, Some("1"), false),
            (Env::Live, Some("true"), false),
            (Env::Live, Some("0"), false),
            (Env::Live, Some("1"), true),
        ];
        for (env, var, want) in table {
            assert_eq!(live_enabled(env, var), want, "{env:?} {var:?}");
        }
    }

    #[test]
    fn kill_switch_fails_closed() {
        use KillRead::*;
        assert!(kill_switch(&Clear, None).is_ok());
        assert!(kill_switch(&Clear, Some(&Clear)).is_ok());
        for (f, r) in [
            (Tripped, None),
            (Clear, Some(Tripped)),
            (Unreadable("EACCES".into()), Some(Clear)),
            (Clear, Some(Unreadable("connection refused".into()))),
        ] {
            let e = kill_switch(&f, r.as_ref()).unwrap_err();
            assert_eq!(e.reason, Reason::Halted);
        }
    }

    #[test]
    fn cap_is_ten_at_most_and_needs_a_price() {
        assert_eq!(effective_cap(d("250")), d("10"));
        assert_eq!(effective_cap(d("5")), d("5"));
        assert_eq!(effective_cap(d("-1")), d("0"));
        assert_eq!(
            notional_cap(d("1"), Some(d("9.99")), None, d("10")),
            Ok(d("9.99"))
        );
        assert_eq!(
            notional_cap(d("1"), Some(d("10")), None, d("10")),
            Ok(d("10"))
        );
        let e = notional_cap(d("1.01"), Some(d("10")), None, d("100")).unwrap_err();
        assert_eq!(e.reason, Reason::LiveMicroCap);
        assert_eq!(e.caps["notional_usd"].to_string(), "10.1");
        assert_eq!(e.caps["max_notional_usd"].to_string(), "10");
        // No market price: the limit price; neither: denied, never skipped.
        assert!(notional_cap(d("2"), None, Some(d("4")), d("10")).is_ok());
        assert_eq!(
            notional_cap(d("3"), None, Some(d("4")), d("10"))
                .unwrap_err()
                .reason,
            Reason::LiveMicroCap
        );
        assert_eq!(
            notional_cap(d("1"), None, None, d("10"))
                .unwrap_err()
                .reason,
            Reason::NoRefPrice
        );
        // A buy limit above the market is measured at its limit.
        assert_eq!(
            notional_cap(d("1"), Some(d("5")), Some(d("11")), d("10"))
                .unwrap_err()
                .reason,
            Reason::LiveMicroCap
        );
    }
}
