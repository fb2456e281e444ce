//! Stable reason codes (DESIGN §8): why the risk engine denied an intent, why the broker
//! refused to send an order, why the paper trader rejected one. A code never changes meaning;
//! details go in the event's `caps`; new codes are added, never renamed.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// Risk: a field is missing or out of range (qty ≤ 0, a limit order without a price, …).
    InvalidIntent,
    /// Risk: this intent id was already allowed.
    DuplicateIntent,
    /// Risk and broker: the kill switch is tripped, or its state cannot be read.
    Halted,
    /// Risk, broker and paper: no price yet to value the order with.
    NoRefPrice,
    /// Risk: the order's notional is above `risk.per_order_usd_cap`.
    PerOrderUsdCap,
    /// Risk: today's loss has reached `risk.daily_loss_usd_cap`.
    DailyLossUsdCap,
    /// Risk: more than `risk.orders_per_min_cap` orders in the last minute.
    OrdersPerMinCap,
    /// Broker: a live order above the 10 USD live cap (or `broker.live_max_notional_usd`).
    LiveMicroCap,
    /// Paper: the free balance cannot pay for the order (or hold the asset sold).
    InsufficientBalance,
    /// Paper: the order cannot be valued (its symbol is not BASE/QUOTE, or its notional
    /// overflows).
    InvalidOrder,
    /// Paper: `paper.max_open_orders` orders are resting or waiting already.
    OpenOrdersCap,
    /// Risk and broker: the reference price is not positive, or older than the configured
    /// age (`risk.max_ref_age_ms`, `broker.max_ref_age_ms`).
    RefPriceStale,
    /// Broker: the reference price differs from the venue's own top of book by more than
    /// `broker.max_deviation_bps`.
    RefPriceDeviation,
    /// Portfolio: the weight bounds and group caps cannot all hold.
    InfeasibleBounds,
    /// Portfolio: the covariance matrix cannot be inverted or is too ill-conditioned.
    SingularCovariance,
    /// Portfolio: too few return samples to estimate from.
    InsufficientHistory,
    /// Portfolio: the optimiser did not converge.
    SolverFailed,
    /// Portfolio: past its drawdown limit, the portfolio only takes intents that reduce
    /// exposure.
    PortfolioReduceOnly,
    /// Portfolio: the strategy is past its own drawdown limit (weight 0); only reducing
    /// intents pass.
    StrategyDrawdown,
    /// Portfolio: the strategy has no capital left for the order (or holds nothing to sell).
    StrategyCapital,
    /// Exec: the parent's quantity is not a multiple of the symbol's lot step.
    LotStep,
    /// Risk: another leg of the intent's `group_id` (the other leg of a pair) was denied.
    GroupLegDenied,
    /// Risk: not every leg of the intent's group (`group_size`) came before another intent
    /// or the end of the input.
    GroupIncomplete,
}

impl Reason {
    /// Every code, in the order of the documentation's table.
    pub const ALL: [Reason; 23] = [
        Reason::InvalidIntent,
        Reason::DuplicateIntent,
        Reason::Halted,
        Reason::NoRefPrice,
        Reason::PerOrderUsdCap,
        Reason::DailyLossUsdCap,
        Reason::OrdersPerMinCap,
        Reason::LiveMicroCap,
        Reason::InsufficientBalance,
        Reason::InvalidOrder,
        Reason::OpenOrdersCap,
        Reason::RefPriceStale,
        Reason::RefPriceDeviation,
        Reason::InfeasibleBounds,
        Reason::SingularCovariance,
        Reason::InsufficientHistory,
        Reason::SolverFailed,
        Reason::PortfolioReduceOnly,
        Reason::StrategyDrawdown,
        Reason::StrategyCapital,
        Reason::LotStep,
        Reason::GroupLegDenied,
        Reason::GroupIncomplete,
    ];

    /// The code as written in events.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::InvalidIntent => "invalid_intent",
            Reason::DuplicateIntent => "duplicate_intent",
            Reason::Halted => "halted",
            Reason::NoRefPrice => "no_ref_price",
            Reason::PerOrderUsdCap => "per_order_usd_cap",
            Reason::DailyLossUsdCap => "daily_loss_usd_cap",
            Reason::OrdersPerMinCap => "orders_per_min_cap",
            Reason::LiveMicroCap => "live_micro_cap",
            Reason::InsufficientBalance => "insufficient_balance",
            Reason::InvalidOrder => "invalid_order",
            Reason::OpenOrdersCap => "open_orders_cap",
            Reason::RefPriceStale => "ref_price_stale",
            Reason::RefPriceDeviation => "ref_price_deviation",
            Reason::InfeasibleBounds => "infeasible_bounds",
            Reason::SingularCovariance => "singular_covariance",
            Reason::InsufficientHistory => "insufficient_history",
            Reason::SolverFailed => "solver_failed",
            Reason::PortfolioReduceOnly => "portfolio_reduce_only",
            Reason::StrategyDrawdown => "strategy_drawdown",
            Reason::StrategyCapital => "strategy_capital",
            Reason::LotStep => "lot_step",
            Reason::GroupLegDenied => "group_leg_denied",
            Reason::GroupIncomplete => "group_incomplete",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_writes_and_reads_as_str() {
        for r in Reason::ALL {
            let json = serde_json::to_string(&r).unwrap();
            assert_eq!(json, format!("\"{}\"", r.as_str()));
            assert_eq!(serde_json::from_str::<Reason>(&json).unwrap(), r);
        }
        assert!(serde_json::from_str::<Reason>("\"nope\"").is_err());
    }
}
