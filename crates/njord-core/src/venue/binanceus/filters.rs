//! Symbol filters from `exchangeInfo`, applied before an order is sent, pure.
//!
//! Quantity is rounded down to `stepSize` (never more than asked). Price is rounded to
//! `tickSize` on the passive side (buys down, sells up), so rounding never makes an order
//! more aggressive. The minimum notional is checked here with a clear error instead of the
//! venue's terse `-1013 Filter failure: NOTIONAL`.

use crate::event::{OrderType, Side};
use rust_decimal::Decimal;
use serde_json::Value;
use std::collections::HashMap;

#[derive(Debug, Clone, PartialEq, Default)]
pub struct SymbolFilters {
    pub tick_size: Decimal,
    pub min_price: Decimal,
    pub max_price: Decimal,
    pub step_size: Decimal,
    pub min_qty: Decimal,
    pub max_qty: Decimal,
    pub min_notional: Decimal,
    pub apply_min_to_market: bool,
    /// The symbol's `orderTypes` (`LIMIT`, `LIMIT_MAKER`, `STOP_LOSS_LIMIT`, …).
    pub order_types: Vec<String>,
    /// `ocoAllowed`: one-cancels-other lists may be placed.
    pub oco_allowed: bool,
    /// `icebergAllowed`, and the ICEBERG_PARTS filter's `limit` (0: not listed).
    pub iceberg_allowed: bool,
    pub iceberg_parts: u32,
}

/// An order that passed the filters, with its rounded numbers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Prepared {
    pub qty: Decimal,
    pub price: Option<Decimal>,
}

/// Rounds `x` down to a multiple of `step` (unchanged when `step` is 0: no filter).
pub fn floor_to(x: Decimal, step: Decimal) -> Decimal {
    if step.is_zero() {
        return x;
    }
    ((x / step).floor() * step).normalize()
}

/// Rounds `x` up to a multiple of `step`.
pub fn ceil_to(x: Decimal, step: Decimal) -> Decimal {
    if step.is_zero() {
        return x;
    }
    ((x / step).ceil() * step).normalize()
}

impl SymbolFilters {
    /// Whether the venue holds orders of this type (a `type` of `orderTypes`, or `OCO`) on
    /// the symbol. An `exchangeInfo` without `orderTypes` allows `LIMIT` and `MARKET`.
    pub fn supports(&self, venue_type: &str) -> bool {
        match venue_type {
            "OCO" => self.oco_allowed,
            t if self.order_types.is_empty() => matches!(t, "LIMIT" | "MARKET"),
            t => self.order_types.iter().any(|x| x == t),
        }
    }

    /// Rounds a stop price to `tickSize` so that the order triggers no later than asked:
    /// toward the market it waits for (a sell stop-loss up, a sell take-profit down, a buy
    /// the other way round).
    pub fn prepare_stop(
        &self,
        side: Side,
        order_type: OrderType,
        stop: Decimal,
    ) -> Result<Decimal, String> {
        let r = if order_type.triggers_on_rise(side) {
            floor_to(stop, self.tick_size)
        } else {
            ceil_to(stop, self.tick_size)
        };
        if r <= Decimal::ZERO || r < self.min_price {
            return Err(format!(
                "stop price {stop} rounds to {r} with tickSize {}, below minPrice {}",
                self.tick_size.normalize(),
                self.min_price.normalize()
            ));
        }
        if !self.max_price.is_zero() && r > self.max_price {
            return Err(format!(
                "stop price {r} above maxPrice {}",
                self.max_price.normalize()
            ));
        }
        Ok(r)
    }

    /// Rounds the quantity an iceberg shows down to `stepSize` and checks it against the
    /// symbol's rules: icebergs allowed, less than the order, at most ICEBERG_PARTS parts.
    pub fn prepare_iceberg(&self, qty: Decimal, shown: Decimal) -> Result<Decimal, String> {
        if !self.iceberg_allowed {
            return Err("the symbol does not allow icebergs (icebergAllowed: false)".into());
        }
        let s = floor_to(shown, self.step_size);
        if s <= Decimal::ZERO || s < self.min_qty || s >= qty {
            return Err(format!(
                "iceberg_qty {shown} rounds to {s}: it must be at least minQty {} and below the order's {qty}",
                self.min_qty.normalize()
            ));
        }
        // `s` > 0 here; an overflow (no LOT_SIZE, a dust `s`) counts as too many parts.
        let parts = qty.checked_div(s).map_or(Decimal::MAX, |p| p.ceil());
        if self.iceberg_parts > 0 && parts > Decimal::from(self.iceberg_parts) {
            return Err(format!(
                "iceberg_qty {s} cuts {qty} into {parts} parts, above the venue's ICEBERG_PARTS limit {}",
                self.iceberg_parts
            ));
        }
        Ok(s)
    }

    /// Applies the filters. `market_price` measures the notional of market orders.
    pub fn prepare(
        &self,
        side: Side,
        order_type: OrderType,
        qty: Decimal,
        limit_price: Option<Decimal>,
        market_price: Option<Decimal>,
    ) -> Result<Prepared, String> {
        let q = floor_to(qty, self.step_size);
        if q <= Decimal::ZERO || q < self.min_qty {
            return Err(format!(
                "quantity {qty} rounds down to {q} with stepSize {}, below minQty {}",
                self.step_size.normalize(),
                self.min_qty.normalize()
            ));
        }
        if !self.max_qty.is_zero() && q > self.max_qty {
            return Err(format!(
                "quantity {q} above maxQty {}",
                self.max_qty.normalize()
            ));
        }
        let price = match (order_type, limit_price) {
            (t, None) if t.has_limit() => {
                return Err(format!("a {} order needs a limit_price", t.as_str()));
            }
            (t, Some(p)) if t.has_limit() => {
                let r = match side {
                    Side::Buy => floor_to(p, self.tick_size),
                    Side::Sell => ceil_to(p, self.tick_size),
                };
                if r <= Decimal::ZERO || r < self.min_price {
                    return Err(format!(
                        "price {p} rounds to {r} with tickSize {}, below minPrice {}",
                        self.tick_size.normalize(),
                        self.min_price.normalize()
                    ));
                }
                if !self.max_price.is_zero() && r > self.max_price {
                    return Err(format!(
                        "price {r} above maxPrice {}",
                        self.max_price.normalize()
                    ));
                }
                Some(r)
            }
            (OrderType::Market, _) => None,
            (t, _) => {
                return Err(format!(
                    "{} orders are not placed on this venue",
                    t.as_str()
                ));
            }
        };
        let notional_price = price.or(if self.apply_min_to_market {
            market_price
        } else {
            None
        });
        if let Some(p) = notional_price {
            let notional = q * p;
            if notional < self.min_notional {
                return Err(format!(
                    "notional {} (qty {q} × price {p}) below the venue's minimum {} (NOTIONAL filter)",
                    notional.normalize(),
                    self.min_notional.normalize()
                ));
            }
        }
        Ok(Prepared { qty: q, price })
    }
}

fn dec_field(v: &Value, k: &str) -> Decimal {
    v.get(k)
        .and_then(|x| match x {
            Value::String(s) => crate::num::parse_decimal(s).ok(),
            Value::Number(n) => crate::num::parse_decimal(&n.to_string()).ok(),
            _ => None,
        })
        .unwrap_or_default()
}

/// Filters and the request-weight limit read from an `exchangeInfo` answer.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExchangeInfo {
    /// By venue symbol (`ATOMUSDT`).
    pub symbols: HashMap<String, SymbolFilters>,
    /// REQUEST_WEIGHT per minute, when listed.
    pub weight_per_min: Option<u32>,
}

/// Parses `exchangeInfo`; unknown filters are ignored, missing numbers mean "no limit".
pub fn parse_exchange_info(v: &Value) -> ExchangeInfo {
    let mut info = ExchangeInfo::default();
    for rl in v
        .get("rateLimits")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if rl.get("rateLimitType").and_then(Value::as_str) == Some("REQUEST_WEIGHT")
            && rl.get("interval").and_then(Value::as_str) == Some("MINUTE")
            && rl.get("intervalNum").and_then(Value::as_u64) == Some(1)
        {
            info.weight_per_min = rl
                .get("limit")
                .and_then(Value::as_u64)
                .and_then(|l| u32::try_from(l).ok());
        }
    }
    for s in v
        .get("symbols")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(name) = s.get("symbol").and_then(Value::as_str) else {
            continue;
        };
        let mut f = SymbolFilters::default();
        for flt in s
            .get("filters")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            match flt.get("filterType").and_then(Value::as_str) {
                Some("PRICE_FILTER") => {
                    f.tick_size = dec_field(flt, "tickSize");
                    f.min_price = dec_field(flt, "minPrice");
                    f.max_price = dec_field(flt, "maxPrice");
                }
                Some("LOT_SIZE") => {
                    f.step_size = dec_field(flt, "stepSize");
                    f.min_qty = dec_field(flt, "minQty");
                    f.max_qty = dec_field(flt, "maxQty");
                }
                Some("ICEBERG_PARTS") => {
                    f.iceberg_parts = flt
                        .get("limit")
                        .and_then(Value::as_u64)
                        .and_then(|l| u32::try_from(l).ok())
                        .unwrap_or(0);
                }
                Some("NOTIONAL") | Some("MIN_NOTIONAL") => {
                    f.min_notional = dec_field(flt, "minNotional");
                    f.apply_min_to_market = flt
                        .get("applyMinToMarket")
                        .or_else(|| flt.get("applyToMarket"))
                        .and_then(Value::as_bool)
                        .unwrap_or(true);
                }
                _ => {}
            }
        }
        f.order_types = s
            .get("orderTypes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect();
        f.oco_allowed = s.get("ocoAllowed").and_then(Value::as_bool) == Some(true);
        f.iceberg_allowed = s.get("icebergAllowed").and_then(Value::as_bool) == Some(true);
        info.symbols.insert(name.to_string(), f);
    }
    info
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    fn atom() -> SymbolFilters {
        let v: Value = serde_json::from_str(
            r#"{"rateLimits":[{"rateLimitType":"REQUEST_WEIGHT","interval":"MINUTE","intervalNum":1,"limit":1200}],
            "symbols":[{"symbol":"ATOMUSDT","filters":[
            {"filterType":"PRICE_FILTER","minPrice":"0.00100000","maxPrice":"100000.00000000","tickSize":"0.00100000"},
            {"filterType":"LOT_SIZE","minQty":"0.01000000","maxQty":"90000.00000000","stepSize":"0.01000000"},
            {"filterType":"NOTIONAL","minNotional":"1.00000000","applyMinToMarket":true}]}]}"#,
        )
        .unwrap();
        let info = parse_exchange_info(&v);
        assert_eq!(info.weight_per_min, Some(1200));
        info.symbols["ATOMUSDT"].clone()
    }

    #[test]
    fn rounds_passively_and_checks_notional() {
        let f = atom();
        let p = f
            .prepare(
                Side::Buy,
                OrderType::Limit,
                d("1.239"),
                Some(d("5.0129")),
                None,
            )
            .unwrap();
        assert_eq!((p.qty, p.price), (d("1.23"), Some(d("5.012"))));
        let p = f
            .prepare(
                Side::Sell,
                OrderType::Limit,
                d("1.239"),
                Some(d("5.0121")),
                None,
            )
            .unwrap();
        assert_eq!(p.price, Some(d("5.013")));
        let e = f
            .prepare(Side::Buy, OrderType::Limit, d("0.1"), Some(d("5")), None)
            .unwrap_err();
        assert!(e.contains("notional 0.5") && e.contains("minimum 1"), "{e}");
        let e = f
            .prepare(Side::Buy, OrderType::Market, d("0.009"), None, Some(d("5")))
            .unwrap_err();
        assert!(e.contains("minQty"), "{e}");
        assert!(
            f.prepare(Side::Buy, OrderType::Market, d("0.1"), None, Some(d("5")))
                .is_err()
        );
        assert!(
            f.prepare(Side::Buy, OrderType::Limit, d("1"), None, None)
                .is_err()
        );
    }

    #[test]
    fn order_types_and_stop_rounding() {
        let mut f = atom();
        assert!(f.supports("LIMIT") && f.supports("MARKET"));
        assert!(!f.supports("STOP_LOSS_LIMIT") && !f.supports("OCO"));
        let v: Value = serde_json::from_str(
            r#"{"symbols":[{"symbol":"ATOMUSDT","filters":[],"ocoAllowed":true,
            "orderTypes":["LIMIT","LIMIT_MAKER","MARKET","STOP_LOSS_LIMIT","TAKE_PROFIT_LIMIT"]}]}"#,
        )
        .unwrap();
        let listed = &parse_exchange_info(&v).symbols["ATOMUSDT"];
        assert!(listed.supports("STOP_LOSS_LIMIT") && listed.supports("OCO"));
        assert!(
            !listed.supports("STOP_LOSS"),
            "Binance.US has no stop-market"
        );
        // Each stop rounds toward the market it waits for: it never triggers later.
        let r = |side, ty, s| f.prepare_stop(side, ty, d(s)).unwrap();
        assert_eq!(r(Side::Sell, OrderType::StopLimit, "4.5001"), d("4.501"));
        assert_eq!(r(Side::Buy, OrderType::StopLimit, "5.5009"), d("5.5"));
        assert_eq!(
            r(Side::Sell, OrderType::TakeProfitLimit, "5.5009"),
            d("5.5")
        );
        assert_eq!(
            r(Side::Buy, OrderType::TakeProfitLimit, "4.5001"),
            d("4.501")
        );
        f.min_price = d("1");
        assert!(
            f.prepare_stop(Side::Sell, OrderType::StopLimit, d("0.5"))
                .is_err()
        );
        let p = f
            .prepare(
                Side::Sell,
                OrderType::StopLimit,
                d("1"),
                Some(d("4.4001")),
                None,
            )
            .unwrap();
        assert_eq!(p.price, Some(d("4.401")));
    }

    #[test]
    fn icebergs_need_the_symbol_to_allow_them_and_fit_its_parts() {
        let mut f = atom();
        assert!(
            f.prepare_iceberg(d("10"), d("2")).is_err(),
            "icebergAllowed false"
        );
        f.iceberg_allowed = true;
        f.iceberg_parts = 10;
        assert_eq!(f.prepare_iceberg(d("10"), d("2.009")).unwrap(), d("2"));
        for shown in ["0.5", "10", "0.001", "0"] {
            let e = f.prepare_iceberg(d("10"), d(shown)).unwrap_err();
            assert!(
                e.contains("ICEBERG_PARTS")
                    || e.contains("below the order")
                    || e.contains("minQty"),
                "{shown}: {e}"
            );
        }
    }

    #[test]
    fn rounding_helpers() {
        assert_eq!(floor_to(d("0.129"), d("0.01")), d("0.12"));
        assert_eq!(ceil_to(d("0.121"), d("0.01")), d("0.13"));
        assert_eq!(floor_to(d("7"), Decimal::ZERO), d("7"));
    }
}
