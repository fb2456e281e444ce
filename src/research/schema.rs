//! The columns of each event kind in Parquet and Arrow: one table, in the order the NDJSON
//! writer writes the fields, so every export and every reader agrees on names and types.

use arrow::datatypes::{DataType, Field, TimeUnit};
use njord_core::event::Kind;
use std::sync::Arc;

/// Bumped when a column changes meaning or type; written in every file's metadata.
pub const SCHEMA_VERSION: &str = "1";

/// Key-value metadata keys of an exported file.
pub mod meta {
    pub const SCHEMA_VERSION: &str = "njord.schema_version";
    pub const VERSION: &str = "njord.version";
    pub const SOURCES: &str = "njord.sources";
    pub const ROWS: &str = "njord.rows";
    /// In a Hive layout the kind and symbol are the partition's, not columns.
    pub const KIND: &str = "njord.kind";
    pub const SYMBOL: &str = "njord.symbol";
}

/// How a field is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ty {
    /// `*_ns` event times: `timestamp[ns, tz=UTC]`.
    Time,
    /// Prices, quantities, fees, PnL: `decimal128(38, s)`, `s` the largest scale in the column.
    Decimal,
    /// Free text (ids): `utf8`.
    Text,
    /// Few distinct values (symbol, side, kind, reason…): dictionary-encoded `utf8`.
    Label,
    Int,
    UInt,
    Bool,
    /// Nested objects and arrays (`meta`, `caps`, book levels) as their compact JSON text.
    Json,
}

/// One column of a kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Col {
    pub name: &'static str,
    pub ty: Ty,
    /// Present in every row of the kind.
    pub required: bool,
}

const fn req(name: &'static str, ty: Ty) -> Col {
    Col {
        name,
        ty,
        required: true,
    }
}

const fn opt(name: &'static str, ty: Ty) -> Col {
    Col {
        name,
        ty,
        required: false,
    }
}

use Ty::*;

/// An exported record's kind: an event kind, or the backtester's `equity` samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RecordKind {
    Event(Kind),
    Equity,
}

impl RecordKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RecordKind::Event(k) => k.as_str(),
            RecordKind::Equity => "equity",
        }
    }

    pub fn parse(s: &str) -> Option<RecordKind> {
        match s {
            "equity" => Some(RecordKind::Equity),
            _ => Kind::parse(s).map(RecordKind::Event),
        }
    }

    /// Every kind, in the order columns of a mixed file are laid out.
    pub fn all() -> impl Iterator<Item = RecordKind> {
        Kind::ALL
            .into_iter()
            .map(RecordKind::Event)
            .chain([RecordKind::Equity])
    }

    /// The kind's columns, without `kind` itself.
    pub fn columns(self) -> &'static [Col] {
        let RecordKind::Event(k) = self else {
            const EQUITY: &[Col] = &[
                req("ts_ns", Time),
                req("equity", Decimal),
                req("cash", Decimal),
                req("position_value", Decimal),
            ];
            return EQUITY;
        };
        match k {
            Kind::Trade => {
                const C: &[Col] = &[
                    req("venue", Label),
                    req("symbol", Label),
                    req("trade_id", Text),
                    req("price", Decimal),
                    req("qty", Decimal),
                    req("side", Label),
                    req("ts_ns", Time),
                    opt("ts_local_ns", Time),
                ];
                C
            }
            Kind::Book => {
                const C: &[Col] = &[
                    opt("venue", Label),
                    req("symbol", Label),
                    req("bids", Json),
                    req("asks", Json),
                    opt("checksum", Int),
                    req("ts_ns", Time),
                ];
                C
            }
            Kind::Ticker => {
                const C: &[Col] = &[
                    opt("venue", Label),
                    req("symbol", Label),
                    opt("last", Decimal),
                    req("bid", Decimal),
                    req("ask", Decimal),
                    opt("bid_qty", Decimal),
                    opt("ask_qty", Decimal),
                    opt("volume", Decimal),
                    req("ts_ns", Time),
                ];
                C
            }
            Kind::Bar => {
                const C: &[Col] = &[
                    req("symbol", Label),
                    req("timeframe", Label),
                    req("ts_open_ns", Time),
                    req("ts_close_ns", Time),
                    req("open", Decimal),
                    req("high", Decimal),
                    req("low", Decimal),
                    req("close", Decimal),
                    req("volume", Decimal),
                    req("trades", UInt),
                ];
                C
            }
            Kind::Intent => {
                const C: &[Col] = &[
                    opt("id", Text),
                    req("ts_ns", Time),
                    req("strategy_id", Label),
                    req("symbol", Label),
                    req("side", Label),
                    req("type", Label),
                    req("qty", Decimal),
                    opt("limit_price", Decimal),
                    opt("stop_price", Decimal),
                    opt("trail", Json),
                    opt("time_in_force", Label),
                    opt("post_only", Bool),
                    opt("oco", Text),
                    opt("exec", Json),
                    opt("group_id", Text),
                    opt("group_size", Int),
                    opt("meta", Json),
                ];
                C
            }
            Kind::Decision => {
                const C: &[Col] = &[
                    req("intent_id", Text),
                    req("allowed", Bool),
                    opt("reason", Label),
                    opt("caps", Json),
                    req("ts_ns", Time),
                ];
                C
            }
            Kind::Order => {
                const C: &[Col] = &[
                    req("intent_id", Text),
                    opt("strategy_id", Label),
                    req("venue", Label),
                    req("symbol", Label),
                    req("side", Label),
                    req("type", Label),
                    req("qty", Decimal),
                    opt("limit_price", Decimal),
                    opt("stop_price", Decimal),
                    opt("trail", Json),
                    opt("time_in_force", Label),
                    opt("post_only", Bool),
                    opt("oco", Text),
                    opt("exec", Json),
                    opt("iceberg_qty", Decimal),
                    opt("group_id", Text),
                    req("ts_accepted_ns", Time),
                ];
                C
            }
            Kind::Cancel => {
                const C: &[Col] = &[req("intent_id", Text), req("ts_ns", Time)];
                C
            }
            Kind::Fill => {
                const C: &[Col] = &[
                    req("order_id", Text),
                    req("intent_id", Text),
                    opt("strategy_id", Label),
                    req("symbol", Label),
                    req("side", Label),
                    req("qty", Decimal),
                    req("price", Decimal),
                    req("fee", Decimal),
                    req("fee_asset", Label),
                    req("liquidity", Label),
                    req("ts_fill_ns", Time),
                ];
                C
            }
            Kind::Position => {
                const C: &[Col] = &[
                    req("symbol", Label),
                    opt("strategy_id", Label),
                    req("qty", Decimal),
                    req("avg_price", Decimal),
                    req("realized_pnl", Decimal),
                    req("fees", Decimal),
                    req("realized_pnl_day", Decimal),
                    req("ts_ns", Time),
                ];
                C
            }
            Kind::Echo => {
                const C: &[Col] = &[
                    req("intent_id", Text),
                    req("client_order_id", Text),
                    opt("strategy_id", Label),
                    req("venue", Label),
                    req("symbol", Label),
                    req("side", Label),
                    req("type", Label),
                    req("qty", Decimal),
                    opt("limit_price", Decimal),
                    req("ts_ns", Time),
                ];
                C
            }
            Kind::Ack => {
                const C: &[Col] = &[
                    opt("intent_id", Text),
                    req("client_order_id", Text),
                    req("exchange_order_id", Text),
                    req("ts_ns", Time),
                ];
                C
            }
            Kind::OrderUpdate => {
                const C: &[Col] = &[
                    opt("symbol", Label),
                    req("exchange_order_id", Text),
                    req("client_order_id", Text),
                    req("status", Label),
                    opt("reason", Label),
                    req("filled_qty", Decimal),
                    req("avg_price", Decimal),
                    req("ts_ns", Time),
                ];
                C
            }
            Kind::Balance => {
                const C: &[Col] = &[
                    req("asset", Label),
                    req("free", Decimal),
                    req("locked", Decimal),
                    req("ts_ns", Time),
                ];
                C
            }
            Kind::Allocation => {
                const C: &[Col] = &[
                    req("portfolio", Label),
                    req("strategy_id", Label),
                    req("weight", Decimal),
                    req("capital", Decimal),
                    req("method", Label),
                    req("reason", Label),
                    opt("meta", Json),
                    req("ts_ns", Time),
                ];
                C
            }
            Kind::AllocationRejected => {
                const C: &[Col] = &[
                    req("portfolio", Label),
                    req("method", Label),
                    req("reason", Label),
                    req("detail", Text),
                    req("ts_ns", Time),
                ];
                C
            }
            Kind::ReconcileBreak => {
                const C: &[Col] = &[
                    req("portfolio", Label),
                    req("asset", Label),
                    req("ledger_qty", Decimal),
                    req("venue_qty", Decimal),
                    req("diff", Decimal),
                    req("ts_ns", Time),
                ];
                C
            }
            Kind::ExecStatus => {
                const C: &[Col] = &[
                    req("parent_id", Text),
                    opt("strategy_id", Label),
                    req("symbol", Label),
                    req("side", Label),
                    req("algo", Label),
                    req("state", Label),
                    req("qty", Decimal),
                    req("sent", Decimal),
                    req("filled", Decimal),
                    req("avg_price", Decimal),
                    req("remaining", Decimal),
                    req("children", UInt),
                    opt("reason", Label),
                    req("ts_ns", Time),
                ];
                C
            }
            Kind::Regime => {
                const C: &[Col] = &[
                    req("strategy_id", Label),
                    req("symbol", Label),
                    req("regime", Label),
                    req("previous", Label),
                    req("level", Decimal),
                    req("ts_ns", Time),
                ];
                C
            }
        }
    }

    /// The column whose time orders the rows (the event's own time).
    pub fn time_column(self) -> &'static str {
        match self {
            RecordKind::Event(Kind::Bar) => "ts_close_ns",
            RecordKind::Event(Kind::Order) => "ts_accepted_ns",
            RecordKind::Event(Kind::Fill) => "ts_fill_ns",
            _ => "ts_ns",
        }
    }
}

/// The Arrow type a column is written with (`scale` for decimals).
pub fn arrow_type(ty: Ty, scale: i8) -> DataType {
    match ty {
        Time => DataType::Timestamp(TimeUnit::Nanosecond, Some(Arc::from("UTC"))),
        Decimal => DataType::Decimal128(38, scale),
        Text | Json => DataType::Utf8,
        Label => DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)),
        Int => DataType::Int64,
        UInt => DataType::UInt64,
        Bool => DataType::Boolean,
    }
}

/// The Arrow field of a column.
pub fn field(name: &str, ty: Ty, scale: i8, nullable: bool) -> Field {
    Field::new(name, arrow_type(ty, scale), nullable)
}

/// What a reader expects of a column, for error messages.
pub fn expected(ty: Ty) -> &'static str {
    match ty {
        Time => "timestamp with time zone UTC",
        Decimal => "decimal128 (exact decimals)",
        Text | Label => "utf8 text (plain or dictionary)",
        Json => "utf8 JSON text",
        Int => "a signed integer",
        UInt => "an unsigned integer",
        Bool => "boolean",
    }
}

/// The suffix of the float companions `--float64` adds; readers skip those columns.
pub const F64_SUFFIX: &str = "_f64";

#[cfg(test)]
mod tests {
    use super::*;
    use njord_core::event::Event;

    /// Every field an event writes has a column of the right kind: nothing is dropped on export.
    #[test]
    fn every_written_field_has_a_column() {
        for line in super::super::tests::every_kind_lines() {
            let v: serde_json::Value = serde_json::from_str(&line).unwrap();
            let obj = v.as_object().unwrap();
            let kind = RecordKind::parse(obj["kind"].as_str().unwrap()).unwrap();
            let cols = kind.columns();
            for key in obj.keys().filter(|k| *k != "kind") {
                assert!(
                    cols.iter().any(|c| c.name == key),
                    "{}: no column for `{key}`",
                    kind.as_str()
                );
            }
            for c in cols.iter().filter(|c| c.required) {
                assert!(
                    obj.contains_key(c.name),
                    "{}: `{}` missing",
                    kind.as_str(),
                    c.name
                );
            }
            if let RecordKind::Event(k) = kind {
                let ev = njord_core::event::decode(&line).unwrap();
                assert_eq!(ev.kind(), k);
                assert_eq!(Event::kind(&ev).as_str(), kind.as_str());
            }
        }
    }
}
