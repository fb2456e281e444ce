//! The parameters of order endpoints: a new order and an order reference.

use super::params::{Params, illegal, mandatory, not_required};
use crate::matching::{NewOrder, OrdType, OrderRef, Tif};
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
    for k in ["stopPrice", "icebergQty", "trailingDelta"] {
        if p.has(k) {
            return Err(not_required(k));
        }
    }
    match ord_type {
        OrdType::Limit | OrdType::LimitMaker => {
            if ord_type == OrdType::Limit && tif.is_none() {
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
        None => format!("sim{:019}", sim.next_id()),
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
            client_id,
        },
        rt,
    ))
}
