//! The parameters of order endpoints: a new order and an order reference.

use super::params::{Params, illegal, mandatory, not_required};
use crate::matching::{ListRef, NewOco, NewOrder, OrdType, OrderRef, Tif};
use crate::wire::RespType;
use crate::{ApiError, Sim, parse_side};
use njord::venue::binanceus::errors;

pub(super) fn order_ref(p: &mut Params) -> Result<OrderRef, ApiError> {
    let id = p.uint("orderId")?;
    let cid = p.client_id("origClientOrderId")?;
    match (id, cid) {
        (Some(id), _) => Ok(OrderRef::Id(id)),
        (None, Some(c)) => Ok(OrderRef::Client(c)),
        (None, None) => Err(ApiError::bad(
            errors::MANDATORY_PARAM_EMPTY_OR_MALFORMED,
            "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!",
        )),
    }
}

pub(super) fn parse_new_order(sim: &Sim, p: &mut Params) -> Result<(NewOrder, RespType), ApiError> {
    let symbol = p.symbol(true)?.unwrap_or_default();
    let side = p.req("side")?;
    let side =
        parse_side(&side).ok_or_else(|| ApiError::bad(errors::INVALID_SIDE, "Invalid side."))?;
    let ty = p.req("type")?;
    let ord_type = match ty.as_str() {
        "LIMIT" => OrdType::Limit,
        "MARKET" => OrdType::Market,
        "LIMIT_MAKER" => OrdType::LimitMaker,
        "STOP_LOSS_LIMIT" => OrdType::StopLossLimit,
        "TAKE_PROFIT_LIMIT" => OrdType::TakeProfitLimit,
        // Binance.US lists neither in a symbol's orderTypes.
        "STOP_LOSS" => return Err(unsupported("Stop loss")),
        "TAKE_PROFIT" => return Err(unsupported("Take profit")),
        _ => {
            return Err(ApiError::bad(
                errors::INVALID_ORDER_TYPE,
                "Invalid orderType.",
            ));
        }
    };
    let tif =
        match p.get("timeInForce") {
            None => None,
            Some(t) => Some(Tif::parse(&t).ok_or_else(|| {
                ApiError::bad(errors::INVALID_TIME_IN_FORCE, "Invalid timeInForce.")
            })?),
        };
    let qty = p.dec("quantity")?;
    let quote_qty = p.dec("quoteOrderQty")?;
    let price = p.dec("price")?;
    let stop_price = p.dec("stopPrice")?;
    let iceberg_qty = p.dec("icebergQty")?;
    if p.has("trailingDelta") {
        return Err(not_required("trailingDelta"));
    }
    if iceberg_qty.is_some() && !matches!(ord_type, OrdType::Limit | OrdType::LimitMaker) {
        return Err(not_required("icebergQty"));
    }
    match (ord_type.is_conditional(), stop_price) {
        (true, None) => return Err(mandatory("stopPrice")),
        (false, Some(_)) => return Err(not_required("stopPrice")),
        _ => {}
    }
    match ord_type {
        OrdType::Limit
        | OrdType::LimitMaker
        | OrdType::StopLossLimit
        | OrdType::TakeProfitLimit => {
            if ord_type != OrdType::LimitMaker && tif.is_none() {
                return Err(mandatory("timeInForce"));
            }
            if ord_type == OrdType::LimitMaker && tif.is_some() {
                return Err(not_required("timeInForce"));
            }
            if qty.is_none() {
                return Err(mandatory("quantity"));
            }
            if price.is_none() {
                return Err(mandatory("price"));
            }
            if quote_qty.is_some() {
                return Err(not_required("quoteOrderQty"));
            }
        }
        OrdType::Market => {
            if tif.is_some() {
                return Err(not_required("timeInForce"));
            }
            if price.is_some() {
                return Err(not_required("price"));
            }
            match (qty, quote_qty) {
                (None, None) => {
                    return Err(ApiError::bad(
                        errors::MANDATORY_PARAM_EMPTY_OR_MALFORMED,
                        "Param 'quantity' or 'quoteOrderQty' must be sent, but both were empty/null!",
                    ));
                }
                (Some(_), Some(_)) => return Err(not_required("quoteOrderQty")),
                _ => {}
            }
        }
    }
    let client_id = match p.client_id("newClientOrderId")? {
        Some(c) => c,
        None => sim.fresh_client_id(),
    };
    let rt = match p.get("newOrderRespType").as_deref() {
        None if ord_type == OrdType::LimitMaker => RespType::Ack,
        None | Some("FULL") => RespType::Full,
        Some("ACK") => RespType::Ack,
        Some("RESULT") => RespType::Result,
        Some(_) => return Err(illegal("newOrderRespType", "ACK, RESULT, FULL")),
    };
    if let Some(m) = p.get("selfTradePreventionMode")
        && m != "NONE"
    {
        return Err(illegal("selfTradePreventionMode", "NONE"));
    }
    Ok((
        NewOrder {
            symbol,
            side,
            ord_type,
            tif,
            qty,
            quote_qty,
            price,
            stop_price,
            iceberg_qty,
            client_id,
        },
        rt,
    ))
}

fn unsupported(what: &str) -> ApiError {
    ApiError::bad(
        errors::NEW_ORDER_REJECTED,
        format!("{what} orders are not supported for this symbol."),
    )
}

/// `POST /api/v3/order/oco`: Binance.US has no STOP_LOSS type, so the stop leg is a
/// STOP_LOSS_LIMIT and `stopLimitPrice` with `stopLimitTimeInForce` are required.
pub(super) fn parse_new_oco(sim: &Sim, p: &mut Params) -> Result<NewOco, ApiError> {
    let symbol = p.symbol(true)?.unwrap_or_default();
    let side = p.req("side")?;
    let side =
        parse_side(&side).ok_or_else(|| ApiError::bad(errors::INVALID_SIDE, "Invalid side."))?;
    let qty = p.dec("quantity")?.ok_or_else(|| mandatory("quantity"))?;
    let price = p.dec("price")?.ok_or_else(|| mandatory("price"))?;
    let stop_price = p.dec("stopPrice")?.ok_or_else(|| mandatory("stopPrice"))?;
    let stop_limit_price = p
        .dec("stopLimitPrice")?
        .ok_or_else(|| unsupported("Stop loss"))?;
    let stop_tif = p
        .get("stopLimitTimeInForce")
        .ok_or_else(|| mandatory("stopLimitTimeInForce"))?;
    let stop_tif = Tif::parse(&stop_tif)
        .ok_or_else(|| ApiError::bad(errors::INVALID_TIME_IN_FORCE, "Invalid timeInForce."))?;
    for k in ["limitIcebergQty", "stopIcebergQty", "trailingDelta"] {
        if p.has(k) {
            return Err(not_required(k));
        }
    }
    let mut id = |k: &str| -> Result<String, ApiError> {
        Ok(match p.client_id(k)? {
            Some(c) => c,
            None => sim.fresh_client_id(),
        })
    };
    let list_client_id = id("listClientOrderId")?;
    let limit_client_id = id("limitClientOrderId")?;
    let stop_client_id = id("stopClientOrderId")?;
    match p.get("newOrderRespType").as_deref() {
        None | Some("ACK" | "RESULT" | "FULL") => {}
        Some(_) => return Err(illegal("newOrderRespType", "ACK, RESULT, FULL")),
    }
    Ok(NewOco {
        symbol,
        side,
        qty,
        list_client_id,
        limit_client_id,
        price,
        stop_client_id,
        stop_price,
        stop_limit_price,
        stop_tif,
    })
}

/// The list a `DELETE` or `GET /api/v3/orderList` names.
pub(super) fn list_ref(p: &mut Params) -> Result<ListRef, ApiError> {
    let id = p.uint("orderListId")?;
    let cid = p.client_id("listClientOrderId")?;
    match (id, cid) {
        (Some(id), _) => Ok(ListRef::Id(id)),
        (None, Some(c)) => Ok(ListRef::Client(c)),
        (None, None) => Err(ApiError::bad(
            errors::MANDATORY_PARAM_EMPTY_OR_MALFORMED,
            "Param 'listClientOrderId' or 'orderListId' must be sent, but both were empty/null!",
        )),
    }
}
