//! Live-money guards (DESIGN §9), pure: the caller reads the environment, the kill switch
//! and prices; these functions only decide. Every denial carries a stable reason code (§8)
//! and the numbers behind it.

use crate::config::Env;
use crate::event::{Map, Side};
use crate::num::to_json;
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

/// The one value of the Redis kill key that means "trading allowed"; `njord-kill clear` sets
/// it. Any other value trips (fail closed): `"1"`, `"true"`, `"1 "`, `"0 "` all halt.
pub const REDIS_CLEAR: &str = "0";

/// Reads the Redis kill key's value. An absent key is clear only while this process has never
/// seen the key: once seen, its disappearance (a Redis restarted without persistence, a
/// `DEL`) is unreadable, so a trip set only in Redis survives the restart of Redis. `seen`
/// is the caller's memory of that.
pub fn redis_kill(value: Option<&str>, seen: &mut bool) -> KillRead {
    match value {
        Some(REDIS_CLEAR) => {
            *seen = true;
            KillRead::Clear
        }
        Some(_) => {
            *seen = true;
            KillRead::Tripped
        }
        None if *seen => KillRead::Unreadable(
            "the kill key vanished (Redis restarted without persistence?); \
             `njord-kill clear` sets it clear again"
                .into(),
        ),
        None => KillRead::Clear,
    }
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

/// The venue's own top of book (bookTicker): what the live broker prices orders against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quote {
    pub bid: Decimal,
    pub ask: Decimal,
}

impl Quote {
    /// Both sides positive and not crossed; anything else is no price at all.
    pub fn is_sane(&self) -> bool {
        self.bid > Decimal::ZERO && self.ask >= self.bid
    }

    fn mid(&self) -> Decimal {
        (self.bid + self.ask) / Decimal::TWO
    }
}

/// How the live broker judges a reference price (`broker.*` in the configuration).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PriceRules {
    /// The oldest an input trade may be, against the broker's clock.
    pub max_age_ns: i64,
    /// The most the input reference may differ from the venue's mid, in basis points.
    pub max_deviation_bps: Decimal,
    /// Allowance over the touch for the price an order may execute at, in basis points.
    pub slippage_bps: Decimal,
}

fn bps(b: Decimal) -> Decimal {
    b / Decimal::from(10_000)
}

/// `Some(reason)` when a reference price cannot be trusted: not positive, or older than
/// `max_age_ns` at `now_ns` (a price from the future counts as fresh).
pub fn stale_reference(price: Decimal, ts_ns: i64, now_ns: i64, max_age_ns: i64) -> Option<Denial> {
    let age = now_ns.saturating_sub(ts_ns);
    if price > Decimal::ZERO && age <= max_age_ns {
        return None;
    }
    Some(Denial {
        reason: Reason::RefPriceStale,
        caps: caps(&[
            ("ref_price", to_json(price)),
            ("ref_age_ms", Value::from(age / 1_000_000)),
            ("max_ref_age_ms", Value::from(max_age_ns / 1_000_000)),
        ]),
    })
}

/// Checks the reference prices of a live order and returns the venue quote to price it at.
/// `input` is the last trade on the broker's input (price, event time), when there is one;
/// `venue` is the venue's top of book, or why it could not be had. Fails closed: without a
/// sane venue quote nothing is sent (`no_ref_price`); a bad or old input trade is
/// `ref_price_stale`; one that disagrees with the venue beyond the band is
/// `ref_price_deviation`.
pub fn check_reference(
    input: Option<(Decimal, i64)>,
    venue: Result<Quote, String>,
    now_ns: i64,
    rules: &PriceRules,
) -> Result<Quote, Denial> {
    let quote = match venue {
        Ok(q) if q.is_sane() => q,
        Ok(q) => {
            return Err(Denial {
                reason: Reason::NoRefPrice,
                caps: caps(&[
                    ("venue_bid", to_json(q.bid)),
                    ("venue_ask", to_json(q.ask)),
                    ("error", Value::from("the venue's book has no sane top")),
                ]),
            });
        }
        Err(e) => {
            return Err(Denial {
                reason: Reason::NoRefPrice,
                caps: caps(&[("error", Value::from(e))]),
            });
        }
    };
    let Some((price, ts_ns)) = input else {
        return Ok(quote);
    };
    if let Some(d) = stale_reference(price, ts_ns, now_ns, rules.max_age_ns) {
        return Err(d);
    }
    let mid = quote.mid();
    let deviation = ((price - mid).abs() / mid * Decimal::from(10_000)).round_dp(2);
    if deviation > rules.max_deviation_bps {
        return Err(Denial {
            reason: Reason::RefPriceDeviation,
            caps: caps(&[
                ("ref_price", to_json(price)),
                ("venue_bid", to_json(quote.bid)),
                ("venue_ask", to_json(quote.ask)),
                ("deviation_bps", to_json(deviation)),
                ("max_deviation_bps", to_json(rules.max_deviation_bps)),
            ]),
        });
    }
    Ok(quote)
}

/// The worst price an order may execute at, for the notional cap: a buy at the ask plus the
/// slippage allowance, or at its limit when it has one (it cannot pay more); a sell at the
/// bid plus the allowance (a sale's proceeds are its notional), and a limit sell's price is
/// only a floor: it can execute above it, at the market.
pub fn worst_price(
    side: Side,
    limit: Option<Decimal>,
    quote: &Quote,
    slippage_bps: Decimal,
) -> Decimal {
    let up = Decimal::ONE + bps(slippage_bps);
    match (side, limit) {
        (Side::Buy, Some(l)) => l,
        (Side::Buy, None) => quote.ask * up,
        (Side::Sell, Some(l)) => l.max(quote.bid * up),
        (Side::Sell, None) => quote.bid * up,
    }
}

/// The limit price of a market intent sent as a limit IOC order: the touch moved by the
/// slippage allowance against us, so the order can never execute beyond what the cap was
/// checked at.
pub fn ioc_limit(side: Side, quote: &Quote, slippage_bps: Decimal) -> Decimal {
    match side {
        Side::Buy => quote.ask * (Decimal::ONE + bps(slippage_bps)),
        Side::Sell => quote.bid * (Decimal::ONE - bps(slippage_bps)),
    }
}

/// Checks `qty × price` (the order's [`worst_price`]) against the cap; returns the notional.
pub fn notional_cap(
    qty: Decimal,
    price: Decimal,
    configured_cap: Decimal,
) -> Result<Decimal, Denial> {
    let cap = effective_cap(configured_cap);
    let notional = qty * price;
    if notional > cap {
        return Err(Denial {
            reason: Reason::LiveMicroCap,
            caps: caps(&[
                ("qty", to_json(qty)),
                ("ref_price", to_json(price)),
                ("notional_usd", to_json(notional)),
                ("max_notional_usd", to_json(cap)),
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
    fn only_the_clear_value_clears_the_redis_key() {
        let mut seen = false;
        assert_eq!(redis_kill(None, &mut seen), KillRead::Clear);
        assert!(!seen);
        for v in ["1", "true", "1 ", " 0", "0 ", "", "yes"] {
            assert_eq!(redis_kill(Some(v), &mut seen), KillRead::Tripped, "{v:?}");
        }
        assert_eq!(redis_kill(Some("0"), &mut seen), KillRead::Clear);
        // Seen once, then gone: a restarted Redis lost the state; fail closed.
        assert!(matches!(
            redis_kill(None, &mut seen),
            KillRead::Unreadable(_)
        ));
    }

    #[test]
    fn cap_is_ten_at_most() {
        assert_eq!(effective_cap(d("250")), d("10"));
        assert_eq!(effective_cap(d("5")), d("5"));
        assert_eq!(effective_cap(d("-1")), d("0"));
        assert_eq!(notional_cap(d("1"), d("9.99"), d("10")), Ok(d("9.99")));
        assert_eq!(notional_cap(d("1"), d("10"), d("10")), Ok(d("10")));
        let e = notional_cap(d("1.01"), d("10"), d("100")).unwrap_err();
        assert_eq!(e.reason, Reason::LiveMicroCap);
        assert_eq!(e.caps["notional_usd"].to_string(), "10.1");
        assert_eq!(e.caps["max_notional_usd"].to_string(), "10");
    }

    const RULES: PriceRules = PriceRules {
        max_age_ns: 5_000_000_000,
        max_deviation_bps: Decimal::from_parts(100, 0, 0, false, 0),
        slippage_bps: Decimal::from_parts(50, 0, 0, false, 0),
    };

    fn q(bid: &str, ask: &str) -> Quote {
        Quote {
            bid: d(bid),
            ask: d(ask),
        }
    }

    #[test]
    fn a_bad_or_old_reference_is_refused_and_no_venue_price_fails_closed() {
        let now = 100_000_000_000;
        let venue = || Ok::<_, String>(q("9.99", "10.01"));
        let quote = Ok(q("9.99", "10.01"));
        let reason = |input, venue| {
            check_reference(input, venue, now, &RULES)
                .unwrap_err()
                .reason
        };
        // The cases: a 0.01 trade at a 10 market, half price, negative, none at all.
        assert_eq!(
            reason(Some((d("0.01"), now)), venue()),
            Reason::RefPriceDeviation
        );
        assert_eq!(
            reason(Some((d("5"), now)), venue()),
            Reason::RefPriceDeviation
        );
        assert_eq!(reason(Some((d("-1"), now)), venue()), Reason::RefPriceStale);
        assert_eq!(reason(Some((d("0"), now)), venue()), Reason::RefPriceStale);
        assert_eq!(
            reason(Some((d("10"), now - 5_000_000_001)), venue()),
            Reason::RefPriceStale
        );
        assert_eq!(reason(None, Err("HTTP 503".into())), Reason::NoRefPrice);
        assert_eq!(
            reason(Some((d("10"), now)), Ok(q("0", "0"))),
            Reason::NoRefPrice
        );
        assert_eq!(
            reason(None, Ok(q("10.2", "10.1"))),
            Reason::NoRefPrice,
            "crossed"
        );
        // Within the band (1 % of the 10 mid), or no input trade: the venue's quote.
        assert_eq!(
            check_reference(Some((d("10.1"), now)), venue(), now, &RULES),
            quote
        );
        assert_eq!(
            check_reference(Some((d("10"), now - 5_000_000_000)), venue(), now, &RULES),
            quote
        );
        assert_eq!(check_reference(None, venue(), now, &RULES), quote);
        let e = check_reference(Some((d("0.01"), now)), venue(), now, &RULES).unwrap_err();
        assert_eq!(e.caps["deviation_bps"].to_string(), "9990");
    }

    #[test]
    fn orders_are_priced_at_the_price_they_can_execute_at() {
        let quote = q("0.999", "1.001");
        let slip = d("50");
        assert_eq!(worst_price(Side::Buy, None, &quote, slip), d("1.006005"));
        assert_eq!(
            worst_price(Side::Buy, Some(d("0.5")), &quote, slip),
            d("0.5")
        );
        assert_eq!(worst_price(Side::Sell, None, &quote, slip), d("1.003995"));
        // The case: a sell limit of 100 at 0.05 while the market is near 1 is worth
        // about 100 USD, not 5.
        let p = worst_price(Side::Sell, Some(d("0.05")), &quote, slip);
        assert_eq!(p, d("1.003995"));
        assert_eq!(
            notional_cap(d("100"), p, d("10")).unwrap_err().reason,
            Reason::LiveMicroCap
        );
        assert_eq!(worst_price(Side::Sell, Some(d("2")), &quote, slip), d("2"));
        assert_eq!(ioc_limit(Side::Buy, &quote, slip), d("1.006005"));
        assert_eq!(ioc_limit(Side::Sell, &quote, slip), d("0.994005"));
    }
}
