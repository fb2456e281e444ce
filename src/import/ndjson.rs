//! NDJSON trades or candles written by other tools, with or without `kind`: a line with
//! `ts_open_ns` is a bar, any other a trade (the original Python Njord's payloads included).
//! Each line is re-written as a canonical Njord event.

use super::Format;
use crate::event::{Event, Kind, decode_as};

pub struct Ndjson;

impl Format for Ndjson {
    fn command(&self) -> &'static str {
        "ndjson"
    }
    fn what(&self) -> String {
        "NDJSON trades or bars (one JSON object a line, e.g. \
         {\"symbol\",\"price\",\"qty\",\"side\",\"ts_ns\",\"trade_id\"})"
            .into()
    }
    fn row<'a>(&'a self, row: &'a str, _lineno: u64) -> Result<Option<Event<'a>>, String> {
        let hint = if row.contains("\"ts_open_ns\"") {
            Kind::Bar
        } else {
            Kind::Trade
        };
        match decode_as(row, hint).map_err(|e| e.to_string())? {
            ev @ (Event::Trade(_) | Event::Bar(_)) => Ok(Some(ev)),
            other => Err(format!(
                "a `{}` event; only trades and bars are imported",
                other.kind().as_str()
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_without_kind_become_events() {
        let t = r#"{"symbol":"A/B","price":"0.10","qty":2,"side":"buy","ts_ns":5,"trade_id":"7"}"#;
        let ev = Ndjson.row(t, 1).unwrap().unwrap();
        assert!(matches!(ev, Event::Trade(_)));
        assert!(
            ev.to_json().starts_with(r#"{"kind":"trade""#),
            "{}",
            ev.to_json()
        );
        let b = r#"{"symbol":"A/B","timeframe":"1m","ts_open_ns":0,"ts_close_ns":60000000000,"open":1,"high":1,"low":1,"close":1,"volume":0,"trades":0}"#;
        assert!(matches!(Ndjson.row(b, 1).unwrap(), Some(Event::Bar(_))));
        assert!(Ndjson.row("not json", 1).is_err());
        let e = Ndjson
            .row(r#"{"kind":"cancel","intent_id":"x","ts_ns":1}"#, 1)
            .unwrap_err();
        assert!(e.contains("only trades and bars"), "{e}");
    }
}
