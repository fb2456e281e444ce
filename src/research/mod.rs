//! Research exports: events to Parquet and Arrow IPC with exact decimals and UTC timestamps,
//! and those files read back as the NDJSON lines they came from.
//!
//! NDJSON stays canonical. [`export`] turns journals (any kind, the backtester's `equity`
//! samples too) into columns: one table of columns per kind ([`schema`]), `*_ns` as
//! `timestamp[ns, tz=UTC]`, money as `decimal128(38, s)` with the column's largest scale,
//! labels dictionary-encoded, nested objects as JSON text. [`read`] goes back: every reader of
//! journals (cat, verify, validate, replay, the backtester) sees a Parquet or Arrow file as the
//! canonical NDJSON lines of its rows, numbered by row.

pub mod columnar;
pub mod export;
pub mod features;
pub mod read;
pub mod schema;

#[cfg(test)]
pub(crate) mod tests;
