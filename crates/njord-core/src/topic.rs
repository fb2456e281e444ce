//! Redis channels of events (DESIGN §4): which topic an event is published on, which pattern
//! subscribes to a kind, and which kind a topic carries (for payloads without `kind`).

use crate::config::Topics;
use crate::event::{Event, Kind};
use std::ffi::c_char;

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
            Kind::Allocation => &self.allocations,
            Kind::AllocationRejected => &self.allocation_rejections,
            Kind::ReconcileBreak => &self.reconcile_breaks,
            Kind::ExecStatus => &self.exec_status,
            Kind::Regime => &self.regime,
        }
    }

    /// The channel an event is published on; the symbol keeps its slash. A parent order
    /// (one that carries `exec`) goes to njord-exec alone.
    pub fn for_event(&self, ev: &Event<'_>) -> String {
        if let Event::Order(o) = ev
            && o.exec.is_some()
        {
            return self.exec_parents.clone();
        }
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

/// Redis's glob, byte for byte: `stringmatchlen` in Redis's src/util.c (case-sensitive, as
/// `PSUBSCRIBE` uses it), so stdio and in-memory routing deliver exactly what Redis would.
/// Its rules, including the corners a channel name or pattern can hit:
/// - `*` matches any run of bytes (`**` is one `*`), `?` exactly one byte (not one `char`).
/// - `[abc]` matches one byte of the set, `[^abc]` one byte outside it. A `]` right after `[`
///   or `[^` closes the set: `[]` matches nothing, `[^]` any byte.
/// - `a-z` in a set is a range, a reversed one (`z-a`) is swapped; the ends compare as C `char`
///   (signed on x86-64). A range may end at the `]`: `[a-]` is the range `]`..=`a`, and the set
///   goes on.
/// - `\x` matches `x`, outside and inside sets; a `\` that ends the pattern or set matches `\`.
/// - A `[` without its `]` takes the rest of the pattern as its set: `[` alone matches nothing,
///   `[^` any byte.
/// - The empty text matches only the empty pattern: `*` does not match `""`.
/// - "Protection against abusive patterns" (CVE-2024-31228): Redis follows at most 1000 nested
///   `*` runs; a pattern with more, not counting one that ends it, matches nothing.
///
/// Redis recurses at each `*`; this walks the pattern once, going back only to just after the
/// last `*` seen, so it takes at most pattern × text steps, never allocates and never panics.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    glob_match_bytes(pattern.as_bytes(), text.as_bytes())
}

/// How many `*` runs Redis follows: the 1001st that does not end the pattern makes it report no
/// match, whatever the text (`if (nesting > 1000) return 0;`, since Redis 7.2.6 and 7.4.1, and
/// in Debian's patched 7.0.15).
const MAX_NESTED_STARS: usize = 1000;

/// [`glob_match`] on raw bytes: Redis channels and patterns are binary.
pub fn glob_match_bytes(pattern: &[u8], text: &[u8]) -> bool {
    if text.is_empty() {
        return pattern.is_empty();
    }
    let (mut p, mut t) = (0, 0);
    // After a `*`: where the rest of the pattern starts, and the text the `*` has eaten up to.
    let mut after_star: Option<(usize, usize)> = None;
    let mut stars = 0;
    while t < text.len() {
        if pattern.get(p) == Some(&b'*') {
            while pattern.get(p) == Some(&b'*') {
                p += 1;
            }
            if p == pattern.len() {
                return true;
            }
            stars += 1;
            if stars > MAX_NESTED_STARS {
                return false;
            }
            after_star = Some((p, t));
            continue;
        }
        match token_matches(pattern, p, text[t]) {
            Some(next) => {
                p = next;
                t += 1;
            }
            // Let the last `*` eat one more byte and retry the rest from there; the tokens
            // between `*`s each take one byte, so an earlier `*` could not do better.
            None => match after_star {
                Some((rest, eaten)) => {
                    after_star = Some((rest, eaten + 1));
                    p = rest;
                    t = eaten + 1;
                }
                None => return false,
            },
        }
    }
    while pattern.get(p) == Some(&b'*') {
        p += 1;
    }
    p == pattern.len()
}

/// Whether the non-`*` token at `p` matches `byte`, and if so where the next token starts;
/// `None` also when the pattern is used up.
fn token_matches(pattern: &[u8], p: usize, byte: u8) -> Option<usize> {
    let (matched, next) = match *pattern.get(p)? {
        b'?' => (true, p + 1),
        b'[' => set_matches(pattern, p + 1, byte),
        b'\\' if p + 1 < pattern.len() => (pattern[p + 1] == byte, p + 2),
        literal => (literal == byte, p + 1),
    };
    matched.then_some(next)
}

/// The set that starts at `p` (just past its `[`): whether it matches `byte`, and where the
/// next token starts. The arms are Redis's tests, in Redis's order.
fn set_matches(pattern: &[u8], mut p: usize, byte: u8) -> (bool, usize) {
    let negated = pattern.get(p) == Some(&b'^');
    if negated {
        p += 1;
    }
    let mut matched = false;
    loop {
        match pattern[p..] {
            [b'\\', escaped, ..] => {
                matched |= escaped == byte;
                p += 2;
            }
            [b']', ..] => {
                p += 1;
                break;
            }
            [] => break,
            [start, b'-', end, ..] => {
                matched |= range_contains(start, end, byte);
                p += 3;
            }
            [member, ..] => {
                matched |= member == byte;
                p += 1;
            }
        }
    }
    (matched != negated, p)
}

/// Redis reads range ends and the byte as C `char`: signed on x86-64 (`[a-\xff]` holds
/// `\x00`..=`a` and `\xff`), unsigned on aarch64, so `c_char` agrees with a Redis built for the
/// same target.
fn range_contains(start: u8, end: u8, byte: u8) -> bool {
    let (start, end, byte) = (start as c_char, end as c_char, byte as c_char);
    start.min(end) <= byte && byte <= start.max(end)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::decode;
    use proptest::prelude::*;

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

    /// (pattern, text, whether Redis matches): one row per rule of [`glob_match`].
    const GLOB_TABLE: &[(&str, &str, bool)] = &[
        ("md.*", "md.trades.A/B", true),
        ("md.trades.*", "md.book.X", false),
        ("a?c", "abc", true),
        ("a?c", "ac", false),
        ("?", "é", false), // `?` is one byte; `é` is two
        ("??", "é", true),
        ("a**b", "axyb", true),
        ("*?*", "x", true),
        ("*?*", "", false),
        ("*", "", false), // Redis: the empty text matches only the empty pattern
        ("", "", true),
        ("", "a", false),
        ("a*", "a", true),
        ("a*b*c", "abxbc", true),
        ("a*b*c", "abxbcx", false),
        ("[abc]", "b", true),
        ("[abc]", "d", false),
        ("[^abc]", "d", true),
        ("[^abc]", "a", false),
        ("[a-c]x", "bx", true),
        ("[c-a]", "b", true), // reversed ranges are swapped
        ("[a-c]", "d", false),
        ("[a-c-e]", "-", true), // after a range, `-e` is `-` then `e`
        ("[a-c-e]", "d", false),
        ("[]", "]", false),  // `]` right after `[` closes an empty set
        ("[^]", "x", true),  // … so its negation matches any byte
        ("[]]", "]", false), // `[]` matches no byte, so nothing follows it
        ("[]]", "]]", false),
        ("[^]]", "x]", true),
        ("[\\]]", "]", true), // escaped `]` inside a set
        ("[\\-]", "-", true),
        ("[a-]", "_", true), // `[a-]`: the range `]`..=`a`, set left open
        ("[a-]", "b", false),
        ("[a-]", "-", false),
        ("[", "[", false), // an unterminated `[` with nothing in it matches nothing
        ("[^", "x", true), // … and negated, any byte
        ("[ab", "b", true), // an unterminated set runs to the end of the pattern
        ("[\\", "\\", true), // a `\` that ends a set is itself
        ("\\*", "*", true),
        ("\\*", "x", false),
        ("\\?", "?", true),
        ("\\[a]", "[a]", true),
        ("\\a", "a", true),
        ("a\\", "a\\", true), // a trailing `\` matches `\`
        ("a\\", "a", false),
        ("A", "a", false), // case-sensitive, as `PSUBSCRIBE` is
        // Range ends compare as C `char`: where it is signed (x86-64), 0xC3 sorts below `A`.
        ("[a-é]", "A", c_char::MIN != 0),
    ];

    #[test]
    fn glob_table_follows_redis_rules() {
        for &(pattern, text, expected) in GLOB_TABLE {
            assert_eq!(
                glob_match(pattern, text),
                expected,
                "{pattern:?} on {text:?}"
            );
        }
    }

    #[test]
    fn glob_table_agrees_with_redis_recursive_algorithm() {
        for &(pattern, text, _) in GLOB_TABLE {
            assert_eq!(
                glob_match(pattern, text),
                redis_stringmatchlen(pattern.as_bytes(), text.as_bytes()),
                "{pattern:?} on {text:?}"
            );
        }
    }

    #[test]
    fn glob_gives_up_past_redis_star_nesting_limit() {
        let text = "a".repeat(MAX_NESTED_STARS + 1);
        let at_limit = "*a".repeat(MAX_NESTED_STARS);
        let past_limit = "*a".repeat(MAX_NESTED_STARS + 1);
        assert!(glob_match(&at_limit, &text));
        assert!(!glob_match(&past_limit, &text));
        // A last `*` run ends the pattern: Redis matches it without recursing.
        assert!(glob_match(&format!("{at_limit}*"), &text));
        // Redis's regression test for CVE-2024-31228 answers at once.
        assert!(!glob_match(&"*?".repeat(50_000), &"a".repeat(50_000)));
    }

    #[test]
    fn glob_stays_bounded_on_backtracking_patterns() {
        // Exponential for naive backtracking (CVE-2022-36021's pattern), pattern × text here.
        let pattern = format!("{}b", "a*".repeat(500));
        assert!(!glob_match(&pattern, &"a".repeat(5_000)));
    }

    /// Redis's `stringmatchlen_impl` (src/util.c, nocase off) transcribed line by line, with
    /// its recursion, `skipLongerMatches` and nesting limit: the oracle for the proptest.
    /// Indexes stand for C pointers, and reading at the pattern's end gives C's `\0`.
    fn redis_stringmatchlen(pattern: &[u8], string: &[u8]) -> bool {
        fn imp(
            p: &[u8],
            mut pi: usize,
            s: &[u8],
            mut si: usize,
            skip_longer_matches: &mut bool,
            nesting: usize,
        ) -> bool {
            let at = |i: usize| p.get(i).copied().unwrap_or(0);
            if nesting > 1000 {
                return false;
            }
            while pi < p.len() && si < s.len() {
                match p[pi] {
                    b'*' => {
                        while pi < p.len() && at(pi + 1) == b'*' {
                            pi += 1;
                        }
                        if p.len() - pi == 1 {
                            return true;
                        }
                        while si < s.len() {
                            if imp(p, pi + 1, s, si, skip_longer_matches, nesting + 1) {
                                return true;
                            }
                            if *skip_longer_matches {
                                return false;
                            }
                            si += 1;
                        }
                        *skip_longer_matches = true;
                        return false;
                    }
                    b'?' => si += 1,
                    b'[' => {
                        pi += 1;
                        let not = at(pi) == b'^';
                        if not {
                            pi += 1;
                        }
                        let mut matched = false;
                        loop {
                            if at(pi) == b'\\' && p.len() - pi >= 2 {
                                pi += 1;
                                matched |= p[pi] == s[si];
                            } else if at(pi) == b']' {
                                break;
                            } else if pi == p.len() {
                                pi -= 1;
                                break;
                            } else if p.len() - pi >= 3 && p[pi + 1] == b'-' {
                                let start = p[pi] as c_char;
                                let end = p[pi + 2] as c_char;
                                let c = s[si] as c_char;
                                let (start, end) = if start > end {
                                    (end, start)
                                } else {
                                    (start, end)
                                };
                                pi += 2;
                                matched |= c >= start && c <= end;
                            } else {
                                matched |= p[pi] == s[si];
                            }
                            pi += 1;
                        }
                        if not {
                            matched = !matched;
                        }
                        if !matched {
                            return false;
                        }
                        si += 1;
                    }
                    other => {
                        if other == b'\\' && p.len() - pi >= 2 {
                            pi += 1;
                        }
                        if p[pi] != s[si] {
                            return false;
                        }
                        si += 1;
                    }
                }
                pi += 1;
                if si == s.len() {
                    while at(pi) == b'*' {
                        pi += 1;
                    }
                    break;
                }
            }
            pi == p.len() && si == s.len()
        }
        imp(pattern, 0, string, 0, &mut false, 0)
    }

    /// Bytes that exercise every branch: the syntax, a range's ends, a high byte.
    fn glob_bytes(max_len: usize) -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(
            proptest::sample::select(b"*?[]^-\\a\xc3".to_vec()),
            0..max_len,
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(10_000))]

        #[test]
        fn glob_agrees_with_redis_recursive_algorithm(pattern in glob_bytes(10), text in glob_bytes(6)) {
            prop_assert_eq!(
                glob_match_bytes(&pattern, &text),
                redis_stringmatchlen(&pattern, &text),
                "{:?} on {:?}", String::from_utf8_lossy(&pattern), String::from_utf8_lossy(&text)
            );
        }

        #[test]
        fn glob_never_panics(pattern in proptest::collection::vec(any::<u8>(), 0..64), text in proptest::collection::vec(any::<u8>(), 0..64)) {
            glob_match_bytes(&pattern, &text);
        }
    }
}
