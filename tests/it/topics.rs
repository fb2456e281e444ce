//! Pattern subscriptions equal Redis's: every pattern of a table, subscribed with `PSUBSCRIBE`
//! on a real `redis-server`, is delivered exactly the channels that `glob_match` (stdio and
//! in-memory routing) matches.

use crate::support::RedisServer;

use njord::topic::glob_match;
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

/// One pattern per syntax element and corner of Redis's glob.
const PATTERNS: &[&str] = &[
    "",
    "*",
    "?",
    "??",
    "*?*",
    "**",
    "a*",
    "a*b",
    "a**b",
    "*b",
    "md.*",
    "md.trades.*",
    "md.?????.*",
    "*.*",
    "*:*",
    "[abc]",
    "[^abc]",
    "[a-c]",
    "[c-a]",
    "[a-c-e]",
    "[a-]",
    "[-a]",
    "[]",
    "[^]",
    "[]]",
    "[^]]",
    "[",
    "[^",
    "[ab",
    "[\\]]",
    "[\\",
    "[\\-]",
    "[[]",
    "[*?]",
    "[a-é]",
    "\\*",
    "\\?",
    "\\[*",
    "\\a",
    "a\\",
    "\\",
    "*\\\\*",
    "*\\**",
    "*]",
    "A",
    "é",
];

/// Channel names with every byte the patterns treat specially, the empty name, a two-byte
/// character and canonical topics.
const CHANNELS: &[&str] = &[
    "",
    "a",
    "b",
    "d",
    "e",
    "A",
    "-",
    "_",
    "^",
    "ab",
    "acb",
    "axxb",
    "a*b",
    "[",
    "]",
    "[]",
    "]]",
    "x]",
    "[a]",
    "\\",
    "a\\",
    "\\\\",
    "*",
    "?",
    "**",
    ".",
    ":",
    "a.b:c",
    "é",
    "md.trades.ATOM/USDT",
    "md.book.ATOM/USDT",
    "md.trades.",
    "md.ohlcv.1m.BTC/USD",
];

/// Published last: once its message on its own pattern arrives, every earlier publish has been
/// delivered (one publishing connection, one subscribing connection, both in order).
const SENTINEL: &str = "njord.topics.sentinel";

#[test]
fn redis_psubscribe_and_glob_match_agree_on_every_channel() {
    // Redis follows 1000 nested `*` runs and gives up on the 1001st.
    let past_nesting_limit = "*a".repeat(1001);
    let at_nesting_limit = "*a".repeat(1000);
    let long_channel = "a".repeat(1001);
    let patterns: Vec<&str> = PATTERNS
        .iter()
        .copied()
        .chain([past_nesting_limit.as_str(), at_nesting_limit.as_str()])
        .collect();
    let channels: Vec<&str> = CHANNELS
        .iter()
        .copied()
        .chain([long_channel.as_str()])
        .collect();
    assert_eq!(
        patterns.iter().collect::<BTreeSet<_>>().len(),
        patterns.len(),
        "Redis subscribes a repeated pattern once"
    );

    let redis = RedisServer::start();
    let mut sub_conn = redis.conn();
    let mut pubsub = sub_conn.as_pubsub();
    // Redis registers every pattern of the command before it confirms the first, and
    // `psubscribe` waits for that confirmation.
    pubsub
        .psubscribe(patterns.iter().chain([&SENTINEL]).collect::<Vec<_>>())
        .unwrap();
    pubsub
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();

    let mut pub_conn = redis.conn();
    let mut receivers = BTreeMap::new();
    for &channel in channels.iter().chain([&SENTINEL]) {
        let count: usize = redis::cmd("PUBLISH")
            .arg(channel)
            .arg("x")
            .query(&mut pub_conn)
            .unwrap();
        receivers.insert(channel, count);
    }

    let mut delivered: BTreeSet<(String, String)> = BTreeSet::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        assert!(Instant::now() < deadline, "no sentinel from Redis");
        let message = pubsub
            .get_message()
            .expect("a pmessage before the sentinel");
        let channel: String = message.get_channel().unwrap();
        let pattern: String = message.get_pattern().unwrap();
        if channel == SENTINEL {
            if pattern == SENTINEL {
                break;
            }
            continue;
        }
        delivered.insert((pattern, channel));
    }

    let mut disagreements = Vec::new();
    for &channel in &channels {
        let by_redis: BTreeSet<&str> = delivered
            .iter()
            .filter(|(_, c)| c == channel)
            .map(|(p, _)| p.as_str())
            .collect();
        assert_eq!(
            by_redis.len(),
            receivers[channel],
            "PUBLISH {channel:?} counted other deliveries than arrived"
        );
        for &pattern in &patterns {
            let by_redis = by_redis.contains(pattern);
            if glob_match(pattern, channel) != by_redis {
                disagreements.push(format!(
                    "{pattern:?} on {channel:?}: Redis {by_redis}, glob_match {}",
                    !by_redis
                ));
            }
        }
    }
    assert!(
        disagreements.is_empty(),
        "glob_match disagrees with Redis:\n{}",
        disagreements.join("\n")
    );
    // The table reaches both sides of the corners it is there for.
    assert!(!delivered.contains(&(past_nesting_limit.clone(), long_channel.clone())));
    assert!(delivered.contains(&(at_nesting_limit.clone(), long_channel.clone())));
}
