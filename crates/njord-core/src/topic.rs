//! Redis channels of events (DESIGN §4): which topic an event is published on, which pattern
//! subscribes to a kind, and which kind a topic carries (for payloads without `kind`).

use crate::config::Topics;
use crate::event::{Event, Kind};

impl Topics {
    fn template(&self, kind: Kind) -> &str {
        match kind {
            Kind::Trade => &self.trades,
            Kind::Book => &self.book,
            Kind::Ticker => &self.ticker,
            Kind::Bar => &self.ohlcv,
            Kind::Intent => &self.intents,
            Kind::Decision => &self.decisions,
            Kind::Order => &self.orders,
            Kind::Cancel => &self.cancels,
            Kind::Fill => &self.fills,
            Kind::Position => &self.positions,
            Kind::Echo => &self.echo,
            Kind::Ack => &self.acks,
            Kind::OrderUpdate => &self.order_updates,
            Kind::Balance => &self.balances,
        }
    }

    /// The channel an event is published on; the symbol keeps its slash.
    pub fn for_event(&self, ev: &Event<'_>) -> String {
        let t = self.template(ev.kind());
        let mut s = t.replace("{symbol}", ev.symbol().unwrap_or(""));
        if let Event::Bar(b) = ev {
            s = s.replace("{timeframe}", &b.timeframe);
        }
        s
    }

    /// The subscription pattern for every topic of a kind (`md.trades.*`).
    pub fn pattern(&self, kind: Kind) -> String {
        self.template(kind)
            .replace("{symbol}", "*")
            .replace("{timeframe}", "*")
    }

    /// The pattern for one symbol of a kind (`md.trades.ATOM/USDT`).
    pub fn for_symbol(&self, kind: Kind, symbol: &str) -> String {
        self.template(kind)
            .replace("{symbol}", symbol)
            .replace("{timeframe}", "*")
    }

    /// The kind a channel carries, by matching it against every template.
    pub fn kind_of(&self, topic: &str) -> Option<Kind> {
        Kind::ALL
            .into_iter()
            .find(|k| glob_match(&self.pattern(*k), topic))
    }
}

/// Redis-style glob: `*` any run, `?` one character, `\` escapes. Used by the in-memory bus
/// and topic→kind mapping so both agree with Redis.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ti < t.len() {
        if pi < p.len() && p[pi] == '\\' && pi + 1 < p.len() && p[pi + 1] == t[ti] {
            pi += 2;
            ti += 1;
        } else if pi < p.len()
            && (p[pi] == '?' || (p[pi] == t[ti] && p[pi] != '*' && p[pi] != '\\'))
        {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::decode;

    #[test]
    fn canonical_topics() {
        let t = Topics::default();
        let tr = decode(r#"{"kind":"trade","symbol":"ATOM/USDT","trade_id":"1","price":1,"qty":1,"side":"buy","ts_ns":1}"#).unwrap();
        assert_eq!(t.for_event(&tr), "md.trades.ATOM/USDT");
        let bar = decode(r#"{"kind":"bar","symbol":"ATOM/USDT","timeframe":"1m","ts_open_ns":0,"ts_close_ns":60,"open":1,"high":1,"low":1,"close":1,"volume":1,"trades":1}"#).unwrap();
        assert_eq!(t.for_event(&bar), "md.ohlcv.1m.ATOM/USDT");
        assert_eq!(t.pattern(Kind::Trade), "md.trades.*");
        assert_eq!(t.kind_of("md.trades.ATOM/USDT"), Some(Kind::Trade));
        assert_eq!(t.kind_of("md.ohlcv.5m.BTC/USD"), Some(Kind::Bar));
        assert_eq!(t.kind_of("risk.decisions"), Some(Kind::Decision));
        assert_eq!(t.kind_of("nope"), None);
    }

    #[test]
    fn globs() {
        assert!(glob_match("md.*", "md.trades.A/B"));
        assert!(glob_match("a?c", "abc"));
        assert!(!glob_match("a?c", "ac"));
        assert!(glob_match("*", ""));
        assert!(!glob_match("md.trades.*", "md.book.X"));
        assert!(glob_match("a\\*", "a*"));
        assert!(!glob_match("a\\*", "ab"));
    }
}
