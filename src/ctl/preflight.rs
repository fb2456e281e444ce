//! The live preflight: what must hold before a session trades real money, checked and
//! printed as a checklist by `njord-ctl preflight` and before `up` of a session with a live
//! stage. It reads that stage's own configuration (its file, the session's and its
//! environment) and asks the venue, read-only.

use crate::app;
use crate::config::{Env, Loaded};
use crate::kill;
use crate::venue::binanceus::rest_client::Auth;
use crate::venue::binanceus::venue::BinanceUs;
use njord_core::broker::BrokerError;
use njord_core::broker::guard::{self, KillRead};
use serde_json::Value;

/// One line of the checklist.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    pub name: &'static str,
    pub ok: bool,
    pub detail: String,
}

fn check(name: &'static str, result: Result<String, String>) -> Check {
    match result {
        Ok(detail) => Check {
            name,
            ok: true,
            detail,
        },
        Err(detail) => Check {
            name,
            ok: false,
            detail,
        },
    }
}

/// Every check, in order, of a live stage's configuration `loaded`; `enable`: the value of
/// `NJORD_ENABLE_LIVE` in its environment; `bus`: the session's Redis, whose kill key is read
/// too.
pub fn run(loaded: &Loaded, enable: Option<&str>, bus: Option<&str>) -> Vec<Check> {
    let cfg = &loaded.config;
    let mut out = Vec::new();
    out.push(check(
        "live mode",
        if guard::live_enabled(cfg.app.env, enable) {
            Ok("app.env is live and NJORD_ENABLE_LIVE=1".into())
        } else {
            Err(format!(
                "app.env is {} and NJORD_ENABLE_LIVE is {}: live needs live and 1",
                match cfg.app.env {
                    Env::Live => "live",
                    _ => "not live",
                },
                enable.unwrap_or("unset")
            ))
        },
    ));
    out.push(check("kill switch", kill_switch(loaded, bus)));
    out.push(check(
        "secrets file",
        match (&loaded.secrets, loaded.check_secrets_private()) {
            (_, Err(e)) => Err(e.to_string()),
            (Some((path, _)), Ok(())) => Ok(format!("{} has mode 600", path.display())),
            (None, Ok(())) => Ok("no secrets file: keys come from the environment".into()),
        },
    ));
    let cap = guard::effective_cap(cfg.broker.live_max_notional_usd);
    out.push(check(
        "live cap",
        if cap > rust_decimal::Decimal::ZERO {
            Ok(format!(
                "orders above {} USD are refused (live_micro_cap)",
                cap.normalize()
            ))
        } else {
            Err("broker.live_max_notional_usd is 0: no order could pass".into())
        },
    ));
    let venue = match BinanceUs::from_config(cfg, true) {
        Ok(v) => v,
        Err(e) => {
            for name in ["API key", "clock", "balances and open orders"] {
                out.push(check(name, Err(e.to_string())));
            }
            return out;
        }
    };
    let rt = match crate::venue::blocking_runtime() {
        Ok(rt) => rt,
        Err(e) => {
            out.push(check("API key", Err(e)));
            return out;
        }
    };
    let rest = &venue.rest;
    let url = &cfg.exchange.rest_url;
    out.push(check(
        "API key",
        rt.block_on(async {
            let account = rest
                .request(reqwest::Method::GET, "/api/v3/account", &[], Auth::Signed, true)
                .await
                .map_err(|e| format!("{url}: {e}"))?;
            if account["canTrade"] != Value::Bool(true) {
                return Err("the venue says the account cannot trade (canTrade)".into());
            }
            // The key's own permissions, where the venue reports them.
            let key = rest
                .request(
                    reqwest::Method::GET,
                    "/sapi/v1/account/apiRestrictions",
                    &[],
                    Auth::Signed,
                    false,
                )
                .await;
            // Fail closed: only a venue without the endpoint (404) passes unreported.
            match key {
                Ok(v) if v["enableWithdrawals"] == Value::Bool(false) => {
                    Ok("it can trade and cannot withdraw".into())
                }
                Ok(_) => Err(
                    "the key can withdraw (enableWithdrawals is not false): use a key that can only trade"
                        .into(),
                ),
                Err(BrokerError::Venue { status: 404, .. }) => Ok("it can trade; the venue does not report whether the key can withdraw (check its permissions on the venue's site)".into()),
                Err(e) => Err(format!("the key's permissions could not be read: {e}")),
            }
        }),
    ));
    let window = cfg.broker.recv_window_ms.min(60_000) as i64;
    out.push(check(
        "clock",
        rt.block_on(rest.sync_time())
            .map_err(|e| format!("{url}: {e}"))
            .and_then(|offset| {
                if offset.abs() * 2 < window {
                    Ok(format!(
                        "{offset} ms from the venue's, within half of recvWindow {window} ms"
                    ))
                } else {
                    Err(format!(
                        "{offset} ms from the venue's: more than half of recvWindow {window} ms (sync the clock)"
                    ))
                }
            }),
    ));
    out.push(check(
        "balances and open orders",
        rt.block_on(async {
            let balances = rest
                .fetch_balances()
                .await
                .map_err(|e| format!("{url}: {e}"))?;
            let mut open = 0;
            for s in &cfg.exchange.symbols {
                open += rest
                    .fetch_open_orders(Some(s))
                    .await
                    .map_err(|e| format!("{url}: {s}: {e}"))?
                    .len();
            }
            Ok(format!(
                "{} balances and {open} open orders fetched; the broker reconciles them at its start",
                balances.balances.len()
            ))
        }),
    ));
    out
}

/// The kill switch, file and Redis key: readable (fail closed) and clear.
fn kill_switch(loaded: &Loaded, bus: Option<&str>) -> Result<String, String> {
    let risk = &loaded.config.risk;
    let mut read = vec![(
        format!("file {}", risk.kill_switch_file.display()),
        kill::file_state(&risk.kill_switch_file),
    )];
    if let Some(url) = bus {
        let state = match app::connect(url, loaded) {
            Ok(mut b) => kill::redis_state(&mut b, &risk.kill_switch_key, &mut false),
            Err(e) => KillRead::Unreadable(e.to_string()),
        };
        read.push((format!("redis {url} {}", risk.kill_switch_key), state));
    }
    let mut clear = Vec::new();
    for (name, state) in read {
        match state {
            KillRead::Clear => clear.push(name),
            KillRead::Tripped => return Err(format!("{name} is tripped")),
            KillRead::Unreadable(e) => return Err(format!("{name} cannot be read ({e})")),
        }
    }
    Ok(format!("{} clear", clear.join(" and ")))
}

/// The checklist as printed.
pub fn text(checks: &[Check]) -> String {
    checks
        .iter()
        .map(|c| {
            format!(
                "  {}  {}: {}\n",
                if c.ok { "ok  " } else { "FAIL" },
                c.name,
                c.detail
            )
        })
        .collect()
}
