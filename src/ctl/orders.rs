//! `njord-ctl down --cancel-all`: every resting order of the configured symbols cancelled at
//! the venue, by its client order id, before the session stops and once more after, for an
//! order placed while it was stopping.

use crate::config::Config;
use crate::venue::binanceus::venue::BinanceUs;

/// Cancels every open order of `cfg.exchange.symbols`: the orders cancelled (`SYMBOL
/// client-id`), and what failed. One failure does not stop the others.
pub fn cancel_all(cfg: &Config) -> (Vec<String>, Vec<String>) {
    let url = &cfg.exchange.rest_url;
    let (mut done, mut failed) = (Vec::new(), Vec::new());
    let venue = match BinanceUs::from_config(cfg, false) {
        Ok(v) => v,
        Err(e) => return (done, vec![format!("{url}: {e}")]),
    };
    let rest = &venue.rest;
    let rt = match crate::venue::blocking_runtime() {
        Ok(rt) => rt,
        Err(e) => return (done, vec![e]),
    };
    rt.block_on(async {
        if let Err(e) = rest.sync_time().await {
            failed.push(format!("{url}: {e}"));
        }
        for s in &cfg.exchange.symbols {
            let open = match rest.fetch_open_orders(Some(s)).await {
                Ok(o) => o,
                Err(e) => {
                    failed.push(format!("{url}: {s}: {e}"));
                    continue;
                }
            };
            for o in open {
                // `Ok(false)`: it filled or was cancelled meanwhile; it no longer rests.
                match rest.cancel(s, &o.client_order_id).await {
                    Ok(true) => done.push(format!("{s} {}", o.client_order_id)),
                    Ok(false) => {}
                    Err(e) => failed.push(format!("{url}: cancel {s} {}: {e}", o.client_order_id)),
                }
            }
        }
    });
    (done, failed)
}
