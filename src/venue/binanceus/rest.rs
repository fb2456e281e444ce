//! The public market-data calls ingest needs: `exchangeInfo`, `trades` and `depth`.
//! Signing and order endpoints live in their own modules.

use super::book::Snapshot;
use super::symbols::ExchangeInfo;
use crate::event::Level;
use crate::num;
use rust_decimal::Decimal;
use serde::Deserialize;
use std::time::Duration;

/// Most trades `GET /api/v3/trades` returns in one call.
pub const TRADES_LIMIT_MAX: u32 = 1000;

#[derive(Debug, thiserror::Error)]
pub enum RestError {
    #[error("GET {url}: {msg}")]
    Transport { url: String, msg: String },
    #[error("GET {url}: HTTP {status}: {body}")]
    Status {
        url: String,
        status: u16,
        body: String,
        /// `Retry-After`, in seconds, on 429/418.
        retry_after: Option<u64>,
    },
    #[error("GET {url}: unexpected body: {msg}")]
    Body { url: String, msg: String },
}

/// One trade of `GET /api/v3/trades`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RestTrade {
    pub id: u64,
    #[serde(with = "num")]
    pub price: Decimal,
    #[serde(with = "num")]
    pub qty: Decimal,
    pub time: i64,
    pub is_buyer_maker: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Depth {
    last_update_id: u64,
    bids: Vec<Level>,
    asks: Vec<Level>,
}

/// A client of the public REST API at `base` (from config; never a built-in address).
#[derive(Debug, Clone)]
pub struct Rest {
    base: String,
    http: reqwest::Client,
}

impl Rest {
    pub fn new(base: &str, timeout: Duration) -> Result<Self, RestError> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .no_proxy()
            .user_agent(concat!("njord/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| RestError::Transport {
                url: base.to_string(),
                msg: e.to_string(),
            })?;
        crate::telemetry::http();
        Ok(Rest {
            base: base.trim_end_matches('/').to_string(),
            http,
        })
    }

    async fn get<T: serde::de::DeserializeOwned>(&self, path_query: &str) -> Result<T, RestError> {
        let url = format!("{}{path_query}", self.base);
        let transport = |e: reqwest::Error| RestError::Transport {
            url: url.clone(),
            msg: crate::venue::request_error(e),
        };
        let endpoint = format!("GET {}", path_query.split('?').next().unwrap_or(path_query));
        let resp = match self.http.get(&url).send().await {
            Ok(r) => r,
            Err(e) => {
                crate::telemetry::http().request(&endpoint, None, None);
                return Err(transport(e));
            }
        };
        let status = resp.status().as_u16();
        let used = resp
            .headers()
            .get("x-mbx-used-weight-1m")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok());
        crate::telemetry::http().request(&endpoint, Some(status), used);
        let retry_after = resp
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok());
        let body = resp.bytes().await.map_err(transport)?;
        if status != 200 {
            return Err(RestError::Status {
                url,
                status,
                body: String::from_utf8_lossy(&body).chars().take(300).collect(),
                retry_after,
            });
        }
        serde_json::from_slice(&body).map_err(|e| RestError::Body {
            url,
            msg: e.to_string(),
        })
    }

    /// `GET /api/v3/exchangeInfo`: every listed symbol.
    pub async fn exchange_info(&self) -> Result<ExchangeInfo, RestError> {
        self.get("/api/v3/exchangeInfo").await
    }

    /// `GET /api/v3/trades`: the most recent `limit` trades, oldest first.
    pub async fn recent_trades(
        &self,
        symbol: &str,
        limit: u32,
    ) -> Result<Vec<RestTrade>, RestError> {
        let limit = limit.clamp(1, TRADES_LIMIT_MAX);
        self.get(&format!("/api/v3/trades?symbol={symbol}&limit={limit}"))
            .await
    }

    /// `GET /api/v3/depth`: a snapshot of `limit` levels a side.
    pub async fn depth(&self, symbol: &str, limit: u32) -> Result<Snapshot, RestError> {
        let d: Depth = self
            .get(&format!("/api/v3/depth?symbol={symbol}&limit={limit}"))
            .await?;
        Ok(Snapshot {
            last_update_id: d.last_update_id,
            bids: d.bids,
            asks: d.asks,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_trades_and_depth_bodies() {
        let t: Vec<RestTrade> = serde_json::from_str(
            r#"[{"id":28457,"price":"4.00000100","qty":"12.00000000","quoteQty":"48.000012","time":1499865549590,"isBuyerMaker":true,"isBestMatch":true}]"#,
        )
        .unwrap();
        assert_eq!(t[0].id, 28457);
        assert_eq!(t[0].price.to_string(), "4.00000100");
        let d: Depth = serde_json::from_str(
            r#"{"lastUpdateId":1027024,"bids":[["4.00000000","431.00000000"]],"asks":[["4.00000200","12.00000000"]]}"#,
        )
        .unwrap();
        assert_eq!(
            (d.last_update_id, d.bids.len(), d.asks.len()),
            (1027024, 1, 1)
        );
    }
}
