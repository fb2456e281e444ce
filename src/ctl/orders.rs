//! `njord-ctl down --cancel-all`: every resting order of the configured symbols cancelled at
//! the venue, by its client order id, before the session stops and once more after, for an
//! order placed while it was stopping.

use crate::config::Config;
use crate::venue::binanceus::venue::BinanceUs;

/// Cancels every open order of `cfg.exchange.symbols`; returns them as `SYMBOL client-id`.
pub fn cancel_all(cfg: &Config) -> Result<Vec<String>, String> {
    let url = &cfg.exchange.rest_url;
    let venue = BinanceUs::from_config(cfg, false).map_err(|e| format!("{url}: {e}"))?;
    let rest = &venue.rest;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("runtime: {e}"))?;
    rt.block_on(async {
        rest.sync_time().await.map_err(|e| format!("{url}: {e}"))?;
        let mut done = Vec::new();
        for s in &cfg.exchange.symbols {
            let open = rest
                .fetch_open_orders(Some(s))
                .await
                .map_err(|e| format!("{url}: {s}: {e}"))?;
            for o in open {
                // `false`: it filled or was cancelled meanwhile; it no longer rests either way.
                let cancelled = rest
                    .cancel(s, &o.client_order_id)
                    .await
                    .map_err(|e| format!("{url}: cancel {s} {}: {e}", o.client_order_id))?;
                if cancelled {
                    done.push(format!("{s} {}", o.client_order_id));
                }
            }
        }
        Ok(done)
    })
}
