//! The shape of an intent's order: which prices and options its type needs, takes or refuses.
//! A wrong shape is `invalid_intent`, with the field and the problem in the decision's caps.
//!
//! | type | `limit_price` | `stop_price` | `trail` | `time_in_force` | `post_only` |
//! |---|---|---|---|---|---|
//! | `market` | ignored | no | no | no | no |
//! | `limit` | required | no | no | gtc, ioc, fok | without ioc/fok |
//! | `stop_market` | ignored | required, or `trail` | or `stop_price` | no | no |
//! | `stop_limit` | required | required, or `trail` | or `stop_price` | gtc, ioc, fok | no |
//! | `take_profit_limit` | required | required | no | gtc, ioc, fok | no |
//!
//! `oco` (any type) names a group: when one order of the group fills or triggers, the others
//! are cancelled. `exec` (market and limit, no `oco`) must be a valid execution algorithm
//! ([`crate::exec::spec`]); risk checks the parent once, for its full notional.

use crate::event::{Intent, OrderType, Side, TimeInForce, Trail};
use crate::exec::spec::Memo;
use rust_decimal::Decimal;

/// The prices and options of a well-shaped intent.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Shape {
    pub order_type: OrderType,
    pub limit: Option<Decimal>,
    pub stop: Option<Decimal>,
    pub trail: Option<Trail>,
    pub time_in_force: Option<TimeInForce>,
}

/// A field and what is wrong with it.
pub type Problem = (String, String);

fn problem(field: &str, text: impl Into<String>) -> Problem {
    (field.to_string(), text.into())
}

/// Checks the fields the type needs and refuses those it cannot take (`exec` through
/// `specs`, which parses a spec shared by many intents once).
pub fn shape(i: &Intent<'_>, order_type: OrderType, specs: &mut Memo) -> Result<Shape, Problem> {
    let name = order_type.as_str();
    let limit = if order_type.has_limit() {
        match i.limit_price {
            Some(p) if p > Decimal::ZERO => Some(p),
            _ => {
                let text = format!("a {name} order needs a positive limit_price");
                return Err(problem("limit_price", text));
            }
        }
    } else {
        None
    };
    let trail = match i.trail {
        None => None,
        Some(_) if !matches!(order_type, OrderType::StopMarket | OrderType::StopLimit) => {
            let text = "trail is for stop_market and stop_limit orders";
            return Err(problem("trail", text));
        }
        Some(_) if i.stop_price.is_some() => {
            return Err(problem("trail", "give stop_price or trail, not both"));
        }
        // Any side proves the distance well formed; the price is only a probe.
        Some(t) if t.stop(Side::Sell, Decimal::ONE_HUNDRED).is_some() => Some(t),
        Some(_) => {
            let text = "trail needs exactly one of bps (0 < bps < 10000) or amount (> 0)";
            return Err(problem("trail", text));
        }
    };
    let stop = match (order_type.is_triggered(), i.stop_price) {
        (false, None) => None,
        (false, Some(_)) => {
            let text = "stop_price is for stop_market, stop_limit and take_profit_limit orders";
            return Err(problem("stop_price", text));
        }
        (true, Some(p)) if p > Decimal::ZERO => Some(p),
        (true, None) if trail.is_some() => None,
        (true, _) => {
            let text = format!("a {name} order needs a positive stop_price");
            return Err(problem("stop_price", text));
        }
    };
    let Some(time_in_force) = i.time_in_force() else {
        return Err(problem("time_in_force", "must be gtc, ioc or fok"));
    };
    if time_in_force.is_some() && !order_type.has_limit() {
        let text = format!("a {name} order takes no time_in_force (it has no limit price)");
        return Err(problem("time_in_force", text));
    }
    if i.post_only {
        if order_type != OrderType::Limit {
            return Err(problem("post_only", "post_only is for limit orders"));
        }
        if matches!(time_in_force, Some(TimeInForce::Ioc | TimeInForce::Fok)) {
            let text = "a post_only order rests: it cannot be ioc or fok";
            return Err(problem("post_only", text));
        }
    }
    if i.oco.as_deref() == Some("") {
        return Err(problem("oco", "must not be empty"));
    }
    if let Some(exec) = &i.exec {
        if !matches!(order_type, OrderType::Market | OrderType::Limit) {
            return Err(problem(
                "exec",
                "an execution algorithm works market and limit orders",
            ));
        }
        if i.oco.is_some() {
            return Err(problem("exec", "a parent order cannot be in an oco group"));
        }
        if let Err((key, text)) = specs.parse(exec) {
            return Err((key, text));
        }
    }
    Ok(Shape {
        order_type,
        limit,
        stop,
        trail,
        time_in_force,
    })
}

impl Shape {
    /// A problem if the stop is on the wrong side of `last` (the order would trigger at once,
    /// which the exchange refuses): a sell stop belongs below the market, a sell take-profit
    /// above it, and the other way round for a buy.
    pub fn wrong_side(&self, side: Side, last: Decimal) -> Option<Problem> {
        let stop = self.stop?;
        if !self.order_type.triggers(side, stop, last) {
            return None;
        }
        let kind = self.order_type.as_str();
        let belongs = if self.order_type.triggers_on_rise(side) {
            "above"
        } else {
            "below"
        };
        let side = side.as_str();
        let text = format!(
            "a {side} {kind} at {stop} would trigger at once: the last trade is {last} (its stop belongs {belongs} the market)"
        );
        Some(problem("stop_price", text))
    }

    /// The price the order's notional is valued at, and its source: the higher of stop and
    /// limit (what it can trade at once triggered); a trailing stop without a limit at the
    /// stop it starts from (a sell's is below `last`, so at `last`; a buy's above it);
    /// `None` for market and limit orders (valued as before).
    pub fn trigger_value(
        &self,
        side: Side,
        last: Option<Decimal>,
    ) -> Option<(Decimal, &'static str)> {
        if !self.order_type.is_triggered() {
            return None;
        }
        let stop = self.stop.map(|s| (s, "stop_price"));
        let limit = self.limit.map(|l| (l, "limit_price"));
        let trail = match (self.trail, last) {
            (Some(t), Some(p)) => match t.stop(side, p) {
                Some(s) if s > p => Some((s, "trail")),
                _ => Some((p, "last_trade")),
            },
            _ => None,
        };
        [stop, limit, trail]
            .into_iter()
            .flatten()
            .max_by(|a, b| a.0.cmp(&b.0))
    }
}
