//! Orders at Binance.US over signed REST: the filters applied before sending, validation
//! (`order/test`), one placement attempt, cancels and lookups by client order id.

use super::errors;
use super::rest_client::{Auth, RestClient};
use super::wire::parse_order;
use crate::broker::{BrokerError, BrokerOrderAck, BrokerOrderReq, BrokerOrderUpdate};
use crate::event::{Side, compact_symbol};
use crate::num::to_plain_string;
use rust_decimal::Decimal;

/// The only -2010 message that means "this client order id is live already".
pub const DUPLICATE_ORDER_MSG: &str = "Duplicate order sent.";

impl RestClient {
    /// Whether the symbol's `orderTypes` list `venue_type` (or `ocoAllowed`, for `OCO`).
    pub fn supports(&self, symbol: &str, venue_type: &str) -> bool {
        self.filters_of(symbol)
            .is_some_and(|f| f.supports(venue_type))
    }

    /// Applies the symbol's filters and its order types; the request comes back with
    /// rounded numbers.
    pub fn prepare(
        &self,
        req: &BrokerOrderReq,
        market_price: Option<Decimal>,
    ) -> Result<BrokerOrderReq, BrokerError> {
        let refuse = |reason: String| BrokerError::Filter {
            client_order_id: req.client_order_id.clone(),
            reason,
        };
        let f = self.filters_of(&req.symbol).ok_or_else(|| {
            refuse(format!(
                "symbol {} is not listed by the venue's exchangeInfo",
                req.symbol
            ))
        })?;
        let ty = req.venue_type();
        if !f.supports(ty) {
            return Err(refuse(format!(
                "{ty} is not among {}'s orderTypes ({})",
                req.symbol,
                f.order_types.join(", ")
            )));
        }
        let p = f
            .prepare(
                req.side,
                req.order_type,
                req.qty,
                req.limit_price,
                market_price,
            )
            .map_err(refuse)?;
        let stop_price = req
            .stop_price
            .map(|s| f.prepare_stop(req.side, req.order_type, s))
            .transpose()
            .map_err(refuse)?;
        let iceberg_qty = req
            .iceberg_qty
            .map(|s| f.prepare_iceberg(p.qty, s))
            .transpose()
            .map_err(refuse)?;
        Ok(BrokerOrderReq {
            qty: p.qty,
            limit_price: p.price,
            stop_price,
            iceberg_qty,
            ..req.clone()
        })
    }

    /// The parameters of a new order, in the order they are signed.
    pub fn order_params(req: &BrokerOrderReq) -> Vec<(&'static str, String)> {
        let mut p = vec![
            ("symbol", compact_symbol(&req.symbol)),
            (
                "side",
                match req.side {
                    Side::Buy => "BUY",
                    Side::Sell => "SELL",
                }
                .to_string(),
            ),
            ("type", req.venue_type().to_string()),
        ];
        // LIMIT_MAKER takes no time in force: it rests or is refused.
        if req.order_type.has_limit() && req.venue_type() != "LIMIT_MAKER" {
            p.push((
                "timeInForce",
                req.time_in_force.as_str().to_ascii_uppercase(),
            ));
        }
        p.push(("quantity", to_plain_string(&req.qty)));
        if let Some(px) = req.limit_price.filter(|_| req.order_type.has_limit()) {
            p.push(("price", to_plain_string(&px)));
        }
        if let Some(stop) = req.stop_price.filter(|_| req.order_type.is_triggered()) {
            p.push(("stopPrice", to_plain_string(&stop)));
        }
        if let Some(shown) = req.iceberg_qty {
            p.push(("icebergQty", to_plain_string(&shown)));
        }
        p.push(("newClientOrderId", req.client_order_id.clone()));
        p.push(("newOrderRespType", "RESULT".into()));
        p
    }

    /// `POST /api/v3/order/test`: the venue validates the order without placing it.
    pub async fn test_order(&self, req: &BrokerOrderReq) -> Result<(), BrokerError> {
        let p = Self::order_params(req);
        let params: Vec<(&str, &str)> = p.iter().map(|(k, v)| (*k, v.as_str())).collect();
        self.request(
            reqwest::Method::POST,
            "/api/v3/order/test",
            &params,
            Auth::Signed,
            true,
        )
        .await
        .map(|_| ())
    }

    fn refuse_if_read_only(&self, what: &'static str) -> Result<(), BrokerError> {
        if self.read_only {
            Err(BrokerError::ReadOnly(what))
        } else {
            Ok(())
        }
    }

    /// Sends the order once (`POST /api/v3/order`, never retried blindly): a lost answer
    /// (timeout, 5xx, dropped connection) is [`BrokerError::Unknown`], and the caller looks
    /// the order up by its client id before any resend (`broker::placement`).
    pub async fn place(&self, req: &BrokerOrderReq) -> Result<BrokerOrderAck, BrokerError> {
        self.refuse_if_read_only("place")?;
        // Rounding is idempotent, so a request the caller already prepared is unchanged.
        let req = self.prepare(req, None)?;
        let p = Self::order_params(&req);
        let params: Vec<(&str, &str)> = p.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let sent = self
            .request(
                reqwest::Method::POST,
                "/api/v3/order",
                &params,
                Auth::Signed,
                false,
            )
            .await;
        match sent {
            Ok(v) => parse_order(&v, |s| self.pair_of(s))
                .map(|u| u.to_ack())
                .ok_or_else(|| BrokerError::Protocol {
                    endpoint: "POST /api/v3/order".into(),
                    msg: format!("order {} answer without a status", req.client_order_id),
                }),
            Err(BrokerError::Venue {
                code: errors::NEW_ORDER_REJECTED,
                msg,
                ..
            }) if msg == DUPLICATE_ORDER_MSG => {
                Err(BrokerError::ClientOrderIdInUse(req.client_order_id))
            }
            Err(e) => Err(e),
        }
    }

    /// `POST /api/v3/order/oco`, once, as [`RestClient::place`]: the limit leg's price, the
    /// stop leg's stop and limit prices, each leg's client order id.
    pub async fn place_oco(
        &self,
        limit: &BrokerOrderReq,
        stop: &BrokerOrderReq,
    ) -> Result<Vec<BrokerOrderAck>, BrokerError> {
        self.refuse_if_read_only("place")?;
        let (limit, stop) = (self.prepare(limit, None)?, self.prepare(stop, None)?);
        let missing = |what: &str| BrokerError::Filter {
            client_order_id: stop.client_order_id.clone(),
            reason: format!("an OCO list needs {what}"),
        };
        let price = limit.limit_price.ok_or_else(|| missing("a limit price"))?;
        let stop_price = stop.stop_price.ok_or_else(|| missing("a stop price"))?;
        let stop_limit = stop
            .limit_price
            .ok_or_else(|| missing("a stop limit price"))?;
        let mut p = Self::order_params(&limit);
        p.retain(|(k, _)| matches!(*k, "symbol" | "side" | "quantity"));
        p.extend([
            ("limitClientOrderId", limit.client_order_id.clone()),
            ("price", to_plain_string(&price)),
            ("stopClientOrderId", stop.client_order_id.clone()),
            ("stopPrice", to_plain_string(&stop_price)),
            ("stopLimitPrice", to_plain_string(&stop_limit)),
            (
                "stopLimitTimeInForce",
                stop.time_in_force.as_str().to_ascii_uppercase(),
            ),
            ("newOrderRespType", "RESULT".into()),
        ]);
        let params: Vec<(&str, &str)> = p.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let endpoint = "POST /api/v3/order/oco";
        let sent = self
            .request(
                reqwest::Method::POST,
                "/api/v3/order/oco",
                &params,
                Auth::Signed,
                false,
            )
            .await;
        match sent {
            Ok(v) => {
                let acks: Vec<BrokerOrderAck> = v
                    .get("orderReports")
                    .and_then(serde_json::Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|o| parse_order(o, |s| self.pair_of(s)))
                    .map(|u| u.to_ack())
                    .collect();
                if acks.len() == 2 {
                    Ok(acks)
                } else {
                    Err(BrokerError::Protocol {
                        endpoint: endpoint.into(),
                        msg: format!(
                            "list of {} answered with {} order reports, not 2",
                            limit.client_order_id,
                            acks.len()
                        ),
                    })
                }
            }
            Err(BrokerError::Venue {
                code: errors::NEW_ORDER_REJECTED,
                msg,
                ..
            }) if msg == DUPLICATE_ORDER_MSG => {
                Err(BrokerError::ClientOrderIdInUse(limit.client_order_id))
            }
            Err(e) => Err(e),
        }
    }

    /// Cancels by client order id; `false` when the venue no longer has it open.
    pub async fn cancel(&self, symbol: &str, client_order_id: &str) -> Result<bool, BrokerError> {
        self.refuse_if_read_only("cancel")?;
        let s = compact_symbol(symbol);
        match self
            .request(
                reqwest::Method::DELETE,
                "/api/v3/order",
                &[("symbol", &s), ("origClientOrderId", client_order_id)],
                Auth::Signed,
                true,
            )
            .await
        {
            Ok(_) => Ok(true),
            Err(BrokerError::Venue {
                code: errors::CANCEL_REJECTED,
                ..
            }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Open orders, of one symbol or of all.
    pub async fn fetch_open_orders(
        &self,
        symbol: Option<&str>,
    ) -> Result<Vec<BrokerOrderUpdate>, BrokerError> {
        let s = symbol.map(compact_symbol);
        let params: Vec<(&str, &str)> = s.iter().map(|s| ("symbol", s.as_str())).collect();
        let v = self
            .request(
                reqwest::Method::GET,
                "/api/v3/openOrders",
                &params,
                Auth::Signed,
                true,
            )
            .await?;
        Ok(v.as_array()
            .into_iter()
            .flatten()
            .filter_map(|o| parse_order(o, |s| self.pair_of(s)))
            .collect())
    }

    /// Every order of a symbol since `since_ms` (`GET /api/v3/allOrders`, weight 20, at most
    /// 1000 a page): the first page by `startTime` (the venue allows at most 24 hours back),
    /// the next ones from the last order id seen.
    pub async fn recent_orders(
        &self,
        symbol: &str,
        since_ms: i64,
    ) -> Result<Vec<BrokerOrderUpdate>, BrokerError> {
        const PAGE: usize = 1000;
        const MAX_BACK_MS: i64 = 24 * 60 * 60 * 1000 - 60_000;
        let s = compact_symbol(symbol);
        let start = since_ms.max(self.server_now_ms() - MAX_BACK_MS).to_string();
        let limit = PAGE.to_string();
        let mut all: Vec<BrokerOrderUpdate> = Vec::new();
        let mut from_id: Option<String> = None;
        loop {
            let mut params = vec![("symbol", s.as_str()), ("limit", limit.as_str())];
            match &from_id {
                Some(id) => params.push(("orderId", id.as_str())),
                None => params.push(("startTime", start.as_str())),
            }
            let v = self
                .request(
                    reqwest::Method::GET,
                    "/api/v3/allOrders",
                    &params,
                    Auth::Signed,
                    true,
                )
                .await?;
            let page = v.as_array().map_or(&[][..], Vec::as_slice);
            let last_id = page
                .iter()
                .filter_map(|o| o.get("orderId").and_then(serde_json::Value::as_u64))
                .max();
            all.extend(
                page.iter()
                    .filter_map(|o| parse_order(o, |s| self.pair_of(s))),
            );
            match last_id {
                Some(id) if page.len() >= PAGE => from_id = Some((id + 1).to_string()),
                _ => return Ok(all),
            }
        }
    }

    /// The order with this client order id, open or not; `None` when the venue has none.
    pub async fn lookup(
        &self,
        symbol: &str,
        client_order_id: &str,
    ) -> Result<Option<BrokerOrderUpdate>, BrokerError> {
        let s = compact_symbol(symbol);
        match self
            .request(
                reqwest::Method::GET,
                "/api/v3/order",
                &[("symbol", &s), ("origClientOrderId", client_order_id)],
                Auth::Signed,
                true,
            )
            .await
        {
            Ok(v) => Ok(parse_order(&v, |s| self.pair_of(s))),
            Err(BrokerError::Venue {
                code: errors::NO_SUCH_ORDER,
                ..
            }) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests;
