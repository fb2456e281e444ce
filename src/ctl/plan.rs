//! `njord-ctl plan`: a session's wiring, checked before anything starts, and its process
//! graph. Pure: the session and the topics of the configuration in, problems and text out.

use super::session::{REDIS, SIM, Session, Stage};
use crate::config::Topics;
use std::collections::BTreeMap;
use std::fmt::Write;

/// The environment variable prefix that overrides a topic (`NJORD__REDIS__TOPICS__ORDERS`).
const TOPIC_ENV: &str = "NJORD__REDIS__TOPICS__";

/// What is wrong with the wiring, each naming the stage and the topic; empty when nothing is.
pub fn check(session: &Session, topics: &Topics) -> Vec<String> {
    let mut problems = Vec::new();
    if let Err(e) = session.start_order() {
        problems.push(e);
    }
    for st in &session.stages {
        let mine = stage_topics(&session.env, st, topics);
        for (verb, list) in [("consumes", &st.consumes), ("produces", &st.produces)] {
            for t in list {
                if !mine.iter().any(|m| overlaps(m, t)) {
                    problems.push(format!(
                        "stage {}: {verb} `{t}`, which its configuration does not name (its topics: {})",
                        st.name,
                        mine.join(", ")
                    ));
                }
            }
        }
        for t in &st.consumes {
            let produced = on(session, t, |p| &p.produces).any(|p| p.name != st.name);
            if !produced {
                problems.push(format!(
                    "stage {}: consumes `{t}`, which no stage of the session produces",
                    st.name
                ));
            }
        }
    }
    // One producer of orders per account: two would send every order twice.
    let mut by_account: Vec<(&str, &str)> = Vec::new();
    for st in &session.stages {
        let orders = effective(&session.env, st, topics).orders;
        // A risk engine publishes orders whether or not the file says so. njord-exec's are
        // the children of risk's parents: the same decisions, not a second source.
        let by_binary = st.binary == "njord-risk";
        let declared =
            st.binary != "njord-exec" && st.produces.iter().any(|t| overlaps(t, &orders));
        if by_binary || declared {
            let account = st.account.as_deref().unwrap_or("default");
            if let Some((_, other)) = by_account.iter().find(|(a, _)| *a == account) {
                problems.push(format!(
                    "stage {}: produces `{orders}` for account {account}, as stage {other} does: one stage per account may produce orders",
                    st.name
                ));
            } else {
                by_account.push((account, &st.name));
            }
        }
    }
    // One booker of fills: a live broker books the venue's fills into positions and
    // `njord:pnl:day`; a paper trader beside it would book its own fills of the same orders,
    // so risk would count the day's loss twice or see the two flip.
    let live = session
        .stages
        .iter()
        .find(|st| st.binary == "njord-broker" && st.live);
    if let Some(broker) = live {
        for paper in session
            .stages
            .iter()
            .filter(|st| st.binary == "njord-paper")
        {
            problems.push(format!(
                "stage {}: njord-paper books its own fills into positions and njord:pnl:day beside the live broker {}, which books the venue's: leave it out of a live session",
                paper.name, broker.name
            ));
        }
    }
    problems
}

/// The process graph: what starts in which order, and who feeds whom.
pub fn graph(session: &Session) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "session {}: {} stages, state in {}",
        session.name,
        session.stages.len(),
        session.state_dir.display()
    );
    if let Some(port) = session.redis {
        let port = if port == 0 {
            "any free port".to_string()
        } else {
            format!("port {port}")
        };
        let _ = writeln!(
            out,
            "  {REDIS:<12} redis-server (managed, loopback, {port})"
        );
    }
    if let Some(args) = &session.sim {
        let _ = writeln!(out, "  {SIM:<12} njord-sim serve {}", args.join(" "));
    }
    let order = session.start_order().unwrap_or_default();
    for st in order {
        let live = if st.live { " [live]" } else { "" };
        let _ = writeln!(
            out,
            "  {:<12} {} {}{live}",
            st.name,
            st.binary,
            st.args.join(" ")
        );
        if !st.depends_on.is_empty() {
            let _ = writeln!(out, "  {:<12}   after {}", "", st.depends_on.join(", "));
        }
        for t in &st.consumes {
            let from: Vec<&str> = on(session, t, |p| &p.produces)
                .map(|p| p.name.as_str())
                .collect();
            let _ = writeln!(out, "  {:<12}   ← {t} from {}", "", from.join(", "));
        }
        for t in &st.produces {
            let to: Vec<&str> = on(session, t, |c| &c.consumes)
                .map(|c| c.name.as_str())
                .collect();
            let to = if to.is_empty() {
                "(no stage of the session)".to_string()
            } else {
                to.join(", ")
            };
            let _ = writeln!(out, "  {:<12}   → {t} to {to}", "");
        }
    }
    out
}

/// The stage's topics: the configuration's, with the session's and the stage's environment
/// overrides.
fn effective(session_env: &BTreeMap<String, String>, st: &Stage, topics: &Topics) -> Topics {
    let mut v = serde_json::to_value(topics).unwrap_or_default();
    for (k, val) in session_env.iter().chain(&st.env) {
        if let Some(key) = k.strip_prefix(TOPIC_ENV)
            && let Some(slot) = v.get_mut(key.to_ascii_lowercase())
        {
            *slot = serde_json::Value::String(val.clone());
        }
    }
    serde_json::from_value(v).unwrap_or_else(|_| topics.clone())
}

/// Every topic the stage's configuration names, as subscription patterns (`{symbol}` and
/// `{timeframe}` become `*`).
fn stage_topics(
    session_env: &BTreeMap<String, String>,
    st: &Stage,
    topics: &Topics,
) -> Vec<String> {
    let v = serde_json::to_value(effective(session_env, st, topics)).unwrap_or_default();
    let mut all: Vec<String> = v
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(_, t)| t.as_str())
        .map(|t| t.replace("{symbol}", "*").replace("{timeframe}", "*"))
        .collect();
    all.sort();
    all.dedup();
    all
}

/// The stages whose `side` (what they consume, or produce) can name the channel `topic`.
fn on<'a>(
    session: &'a Session,
    topic: &'a str,
    side: fn(&Stage) -> &Vec<String>,
) -> impl Iterator<Item = &'a Stage> {
    session
        .stages
        .iter()
        .filter(move |s| side(s).iter().any(|q| overlaps(q, topic)))
}

/// Whether two topics or patterns (Redis globs: `*` any run, `?` one character) can name the
/// same channel.
pub fn overlaps(a: &str, b: &str) -> bool {
    glob(a.as_bytes(), b.as_bytes()) || glob(b.as_bytes(), a.as_bytes())
}

/// Whether pattern `p` matches text `t` (`t`'s own wildcards are literal characters).
fn glob(p: &[u8], t: &[u8]) -> bool {
    match (p.first(), t.first()) {
        (None, None) => true,
        (Some(b'*'), _) => glob(&p[1..], t) || (!t.is_empty() && glob(p, &t[1..])),
        (Some(b'?'), Some(_)) => glob(&p[1..], &t[1..]),
        (Some(a), Some(b)) if a == b => glob(&p[1..], &t[1..]),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(text: &str) -> Session {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("session.yaml");
        std::fs::write(&path, text).unwrap();
        Session::load(&path).unwrap()
    }

    const GOOD: &str = "name: t
stages:
  - {name: ingest, binary: njord-ingest, produces: [md.trades.ATOM/USDT]}
  - {name: strat, binary: njord-strat, consumes: ['md.trades.*'], produces: [strat.intent], depends_on: [ingest]}
  - {name: risk, binary: njord-risk, consumes: [strat.intent, 'md.trades.*'], produces: [orders.accepted, risk.decisions], depends_on: [strat]}
";

    #[test]
    fn a_wired_session_passes_and_its_graph_shows_who_feeds_whom() {
        let s = session(GOOD);
        assert_eq!(check(&s, &Topics::default()), Vec::<String>::new());
        let g = graph(&s);
        assert!(g.contains("← md.trades.* from ingest"), "{g}");
        assert!(g.contains("→ strat.intent to risk"), "{g}");
        let order: Vec<&str> = s
            .start_order()
            .unwrap()
            .iter()
            .map(|s| s.name.as_str())
            .collect();
        assert_eq!(order, ["ingest", "strat", "risk"]);
    }

    #[test]
    fn miswiring_names_the_stage_and_the_topic() {
        // A typo: no producer, and not a topic of risk's configuration.
        let s = session(&GOOD.replace("consumes: [strat.intent,", "consumes: [strat.intents,"));
        let p = check(&s, &Topics::default());
        assert!(
            p.iter()
                .any(|e| e.contains("stage risk: consumes `strat.intents`, which no stage")),
            "{p:?}"
        );
        assert!(
            p.iter().any(|e| e.contains(
                "stage risk: consumes `strat.intents`, which its configuration does not name"
            )),
            "{p:?}"
        );
        // The stage's own override makes another spelling right.
        let s = session(&GOOD.replace(
            "  - {name: risk, binary: njord-risk,",
            "  - {name: risk, binary: njord-risk, env: {NJORD__REDIS__TOPICS__INTENTS: strat.intents},",
        )
        .replace("produces: [strat.intent]", "produces: [strat.intents]")
        .replace("consumes: [strat.intent,", "consumes: [strat.intents,"));
        let p = check(&s, &Topics::default());
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(
            p[0].contains("stage strat: produces `strat.intents`"),
            "{p:?}"
        );
        // Two producers of orders for one account.
        let two = format!(
            "{GOOD}  - {{name: risk2, binary: njord-risk, consumes: [strat.intent], produces: [orders.accepted]}}\n"
        );
        let p = check(&session(&two), &Topics::default());
        assert!(
            p.iter().any(|e| e.contains(
                "stage risk2: produces `orders.accepted` for account default, as stage risk does"
            )),
            "{p:?}"
        );
        let split = two.replace(
            "produces: [orders.accepted]}",
            "produces: [orders.accepted], account: sub}",
        );
        assert!(check(&session(&split), &Topics::default()).is_empty());
        // A cycle.
        let cyc = GOOD.replace(
            "produces: [md.trades.ATOM/USDT]}",
            "produces: [md.trades.ATOM/USDT], depends_on: [risk]}",
        );
        let p = check(&session(&cyc), &Topics::default());
        assert!(p.iter().any(|e| e.contains("cycle")), "{p:?}");
        // A paper trader beside a live broker, not beside a dry-run one.
        let both = format!(
            "{GOOD}  - {{name: broker, binary: njord-broker, live: true}}\n  - {{name: paper, binary: njord-paper}}\n"
        );
        let p = check(&session(&both), &Topics::default());
        assert!(
            p.iter().any(|e| e.contains(
                "stage paper: njord-paper books its own fills into positions and njord:pnl:day beside the live broker broker"
            )),
            "{p:?}"
        );
        let dry = both.replace("live: true", "live: false");
        assert!(check(&session(&dry), &Topics::default()).is_empty());
    }

    #[test]
    fn globs_overlap_either_way() {
        assert!(overlaps("md.trades.*", "md.trades.ATOM/USDT"));
        assert!(overlaps("md.trades.ATOM/USDT", "md.trades.*"));
        assert!(overlaps("md.ohlcv.*.*", "md.ohlcv.1m.ATOM/USDT"));
        assert!(!overlaps("md.trades.*", "md.book.ATOM/USDT"));
        assert!(overlaps("fills.ne?", "fills.new"));
    }
}
