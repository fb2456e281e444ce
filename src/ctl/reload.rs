//! `njord-ctl reload`, the pure part: a stage's effective configuration as a hash, the keys a
//! reload changed, and which of them the stage applies while running (the rest need a
//! restart, and are said so rather than ignored).

use serde_json::Value;

/// The keys each binary re-reads on SIGHUP. njord-strat also re-reads its strategies file,
/// which is not part of the configuration.
fn reloadable(binary: &str) -> &'static [&'static str] {
    match binary {
        "njord-risk" => &[
            "risk.per_order_usd_cap",
            "risk.daily_loss_usd_cap",
            "risk.orders_per_min_cap",
            "risk.max_ref_age_ms",
        ],
        _ => &[],
    }
}

/// The sections of the configuration a binary reads besides the ones every stage reads
/// (`app`, `logging`, `journal`, `redis`, `telemetry`, `kill`); `None`: all of them. A key
/// of another section changes nothing for it.
fn sections(binary: &str) -> Option<&'static [&'static str]> {
    Some(match binary {
        "njord-risk" => &["risk", "exchange", "exec"],
        "njord-broker" => &["broker", "exchange", "risk", "api_keys"],
        "njord-ingest" => &["ingest", "exchange"],
        "njord-bars" => &["bars"],
        "njord-strat" => &["strat"],
        "njord-paper" => &["paper"],
        "njord-portfolio" => &["risk"],
        "njord-exec" => &["exec", "risk"],
        "njord-alert" => &["risk", "api_keys"],
        _ => return None,
    })
}

/// Whether `binary` reads the dotted `key`.
fn reads(binary: &str, key: &str) -> bool {
    let section = key.split('.').next().unwrap_or("");
    ["app", "logging", "journal", "redis", "telemetry", "kill"].contains(&section)
        || sections(binary).is_none_or(|s| s.contains(&section))
}

/// Every leaf of a configuration by its dotted key.
fn leaves(v: &Value, prefix: &str, out: &mut Vec<(String, Value)>) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            for (k, x) in m {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                leaves(x, &key, out);
            }
        }
        other => out.push((prefix.to_string(), other.clone())),
    }
}

/// What changed between two configurations of a stage, split into what `binary` applies on
/// SIGHUP and what needs a restart.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize)]
pub struct Change {
    pub applied: Vec<String>,
    pub needs_restart: Vec<String>,
}

pub fn diff(binary: &str, old: &Value, new: &Value) -> Change {
    let (mut a, mut b) = (Vec::new(), Vec::new());
    leaves(old, "", &mut a);
    leaves(new, "", &mut b);
    let mut keys: Vec<&String> = a
        .iter()
        .map(|(k, _)| k)
        .chain(b.iter().map(|(k, _)| k))
        .collect();
    keys.sort();
    keys.dedup();
    let get = |list: &[(String, Value)], k: &str| {
        list.iter().find(|(x, _)| x == k).map(|(_, v)| v.clone())
    };
    let mut change = Change::default();
    for k in keys.into_iter().filter(|k| reads(binary, k)) {
        if get(&a, k) != get(&b, k) {
            if reloadable(binary).contains(&k.as_str()) {
                change.applied.push(k.clone());
            } else {
                change.needs_restart.push(k.clone());
            }
        }
    }
    change
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_change_is_applied_or_needs_a_restart_by_key() {
        let old = json!({"risk": {"per_order_usd_cap": 250, "kill_switch_file": "a"}, "journal": {"dir": "x"}});
        let new = json!({"risk": {"per_order_usd_cap": 100, "kill_switch_file": "a"}, "journal": {"dir": "y"}, "extra": {"k": 1}});
        let c = diff("njord-risk", &old, &new);
        assert_eq!(c.applied, ["risk.per_order_usd_cap"]);
        assert_eq!(c.needs_restart, ["journal.dir"]);
        // A program Njord does not know reads everything.
        assert_eq!(
            diff("sh", &old, &new).needs_restart,
            ["extra.k", "journal.dir", "risk.per_order_usd_cap"]
        );
        // A section a binary does not read changes nothing for it.
        let c = diff("njord-bars", &old, &new);
        assert!(c.applied.is_empty());
        assert_eq!(c.needs_restart, ["journal.dir"]);
        assert_eq!(
            crate::config::effective_hash(&old),
            crate::config::effective_hash(&old.clone())
        );
        assert_ne!(
            crate::config::effective_hash(&old),
            crate::config::effective_hash(&new)
        );
        assert_eq!(crate::config::effective_hash(&old).len(), 16);
    }
}
