//! What each endpoint does with its parameters and the venue, once the request is admitted.

use super::order_params::{list_ref, order_ref, parse_new_oco, parse_new_order};
use super::params::{Params, illegal};
use super::route::Ep;
use crate::wire;
use crate::{ApiError, Sim};
use serde_json::{Value, json};

pub(super) fn dispatch(
    sim: &Sim,
    st: &mut crate::State,
    ep: Ep,
    p: &mut Params,
    now: i64,
) -> Result<Value, ApiError> {
    let v = dispatch_inner(sim, st, ep, p, now)?;
    p.finish()?;
    Ok(v)
}

fn dispatch_inner(
    sim: &Sim,
    st: &mut crate::State,
    ep: Ep,
    p: &mut Params,
    now: i64,
) -> Result<Value, ApiError> {
    let ex = &mut st.ex;
    Ok(match ep {
        Ep::Ping => json!({}),
        Ep::Time => json!({"serverTime": now}),
        Ep::ExchangeInfo => {
            let mut wanted: Vec<String> = Vec::new();
            if let Some(s) = p.symbol(false)? {
                wanted.push(s);
            }
            if let Some(list) = p.get("symbols") {
                let v: Vec<String> = serde_json::from_str(&list).map_err(|_| {
                    illegal(
                        "symbols",
                        r#"^\["[A-Z0-9-_.]{1,20}"(,"[A-Z0-9-_.]{1,20}"){0,}\]$"#,
                    )
                })?;
                wanted.extend(v);
            }
            for w in &wanted {
                ex.market(w)?;
            }
            let symbols: Vec<Value> = ex
                .markets()
                .iter()
                .filter(|m| wanted.is_empty() || wanted.contains(&m.spec.name))
                .map(wire::symbol_info)
                .collect();
            json!({
                "timezone": "UTC",
                "serverTime": now,
                "rateLimits": wire::rate_limits(&sim.settings.limits),
                "exchangeFilters": [],
                "symbols": symbols,
            })
        }
        Ep::Depth => {
            let m = ex.market(&p.symbol(true)?.unwrap_or_default())?;
            let limit = p.limit(100, 5000)?;
            let (b, a) = ex.book(m, limit);
            wire::depth(ex.markets()[m].update_id, &b, &a)
        }
        Ep::Trades => {
            let m = ex.market(&p.symbol(true)?.unwrap_or_default())?;
            let limit = p.limit(500, 1000)?;
            let r = &ex.markets()[m].recent;
            Value::Array(
                r.iter()
                    .skip(r.len().saturating_sub(limit))
                    .map(wire::trade)
                    .collect(),
            )
        }
        Ep::AggTrades => {
            let m = ex.market(&p.symbol(true)?.unwrap_or_default())?;
            let from = p.uint("fromId")?;
            let start = p.int("startTime")?;
            let end = p.int("endTime")?;
            let limit = p.limit(500, 1000)?;
            let h = &sim.history[m];
            let sel: Vec<Value> = match from {
                Some(f) => h[h.partition_point(|t| t.id < f)..]
                    .iter()
                    .filter(|t| end.is_none_or(|e| t.time <= e))
                    .take(limit)
                    .map(wire::agg_trade)
                    .collect(),
                None if start.is_some() || end.is_some() => h
                    [start.map_or(0, |s| h.partition_point(|t| t.time < s))..]
                    .iter()
                    .take_while(|t| end.is_none_or(|e| t.time <= e))
                    .take(limit)
                    .map(wire::agg_trade)
                    .collect(),
                None => {
                    let r = &ex.markets()[m].recent;
                    r.iter()
                        .skip(r.len().saturating_sub(limit))
                        .map(wire::agg_trade)
                        .collect()
                }
            };
            Value::Array(sel)
        }
        Ep::Klines => {
            let m = ex.market(&p.symbol(true)?.unwrap_or_default())?;
            let iv = p.req("interval")?;
            let ms = crate::klines::interval_ms(&iv).ok_or_else(|| {
                illegal(
                    "interval",
                    "1s 1m 3m 5m 15m 30m 1h 2h 4h 6h 8h 12h 1d 3d 1w",
                )
            })?;
            let start = p.int("startTime")?;
            let end = p.int("endTime")?;
            let limit = p.limit(500, 1000)?;
            p.get("timeZone");
            Value::Array(
                crate::klines::klines(&sim.history[m], ms, start, end, limit)
                    .iter()
                    .map(wire::kline)
                    .collect(),
            )
        }
        Ep::TickerPrice | Ep::BookTicker | Ep::Ticker24 => {
            let one = p.symbol(false)?;
            let ms: Vec<usize> = match &one {
                Some(s) => vec![ex.market(s)?],
                None => (0..ex.markets().len()).collect(),
            };
            let mut out: Vec<Value> = ms
                .into_iter()
                .map(|m| {
                    let mk = &ex.markets()[m];
                    let (b, a) = ex.book(m, 1);
                    match ep {
                        Ep::TickerPrice => wire::ticker_price(mk),
                        Ep::BookTicker => wire::book_ticker(mk, &b, &a),
                        _ => wire::ticker_24h(mk, &b, &a, now),
                    }
                })
                .collect();
            if one.is_some() {
                out.pop().unwrap_or(Value::Null)
            } else {
                Value::Array(out)
            }
        }
        Ep::NewOrder | Ep::TestOrder => {
            let (req, rt) = parse_new_order(sim, p)?;
            if ep == Ep::TestOrder {
                p.get("computeCommissionRates");
            }
            p.finish()?;
            let o = ex.new_order(req, now, ep == Ep::TestOrder)?;
            sim.flush_user_events(st);
            if ep == Ep::TestOrder {
                json!({})
            } else {
                wire::new_order(&o, rt)
            }
        }
        Ep::QueryOrder => {
            let s = p.symbol(true)?.unwrap_or_default();
            let r = order_ref(p)?;
            p.finish()?;
            wire::query_order(ex.query(&s, &r)?)
        }
        Ep::CancelOrder => {
            let s = p.symbol(true)?.unwrap_or_default();
            let r = order_ref(p)?;
            let new_cid = p
                .client_id("newClientOrderId")?
                .unwrap_or_else(|| sim.fresh_client_id());
            p.get("cancelRestrictions");
            p.finish()?;
            let o = ex.cancel(&s, &r, now)?;
            sim.flush_user_events(st);
            wire::canceled(&o, &new_cid, now)
        }
        Ep::NewOco => {
            let req = parse_new_oco(sim, p)?;
            p.finish()?;
            let list = ex.new_oco(req, now)?;
            sim.flush_user_events(st);
            let (list, legs) = st.ex.query_list(&crate::matching::ListRef::Id(list.id))?;
            let legs: Vec<_> = legs.into_iter().cloned().collect();
            let done = st.ex.list_done(&list);
            let report = |o: &crate::matching::Order| wire::new_order(o, wire::RespType::Result);
            wire::order_list(&list, &legs, done, Some(&report))
        }
        Ep::QueryList => {
            let r = list_ref(p)?;
            p.finish()?;
            let (list, legs) = ex.query_list(&r)?;
            let legs: Vec<_> = legs.into_iter().cloned().collect();
            wire::order_list(&list, &legs, ex.list_done(&list), None)
        }
        Ep::CancelList => {
            let s = p.symbol(true)?.unwrap_or_default();
            let r = list_ref(p)?;
            p.get("newClientOrderId");
            p.finish()?;
            let (list, legs) = ex.cancel_list(&s, &r, now)?;
            sim.flush_user_events(st);
            let report = |o: &crate::matching::Order| wire::canceled(o, &o.client_id, now);
            wire::order_list(&list, &legs, true, Some(&report))
        }
        Ep::CancelAll => {
            let s = p.symbol(true)?.unwrap_or_default();
            p.finish()?;
            let os = ex.cancel_all(&s, now)?;
            sim.flush_user_events(st);
            Value::Array(
                os.iter()
                    .map(|o| wire::canceled(o, &sim.fresh_client_id(), now))
                    .collect(),
            )
        }
        Ep::OpenOrders => {
            let s = p.symbol(false)?;
            Value::Array(
                ex.open_orders(s.as_deref())?
                    .into_iter()
                    .map(wire::query_order)
                    .collect(),
            )
        }
        Ep::AllOrders => {
            let s = p.symbol(true)?.unwrap_or_default();
            let from = p.uint("orderId")?;
            let start = p.int("startTime")?;
            let end = p.int("endTime")?;
            let limit = p.limit(500, 1000)?;
            Value::Array(
                ex.all_orders(&s)?
                    .into_iter()
                    .filter(|o| from.is_none_or(|f| o.id >= f))
                    .filter(|o| {
                        start.is_none_or(|t| o.time >= t) && end.is_none_or(|t| o.time <= t)
                    })
                    .take(limit)
                    .map(wire::query_order)
                    .collect(),
            )
        }
        Ep::Account => {
            p.get("omitZeroBalances");
            wire::account(ex, now)
        }
        Ep::MyTrades => {
            let s = p.symbol(true)?.unwrap_or_default();
            let oid = p.uint("orderId")?;
            let from = p.uint("fromId")?;
            let start = p.int("startTime")?;
            let end = p.int("endTime")?;
            let limit = p.limit(500, 1000)?;
            Value::Array(
                ex.my_trades(&s)?
                    .into_iter()
                    .filter(|f| oid.is_none_or(|o| f.order_id == o))
                    .filter(|f| from.is_none_or(|x| f.trade_id >= x))
                    .filter(|f| {
                        start.is_none_or(|t| f.time >= t) && end.is_none_or(|t| f.time <= t)
                    })
                    .take(limit)
                    .map(wire::my_trade)
                    .collect(),
            )
        }
        Ep::UdsCreate => json!({"listenKey": st.keys.create(now)}),
        Ep::UdsKeep => {
            let k = p.req("listenKey")?;
            st.keys.keepalive(&k, now)?;
            json!({})
        }
        Ep::UdsClose => {
            let k = p.req("listenKey")?;
            st.keys.close(&k)?;
            json!({})
        }
    })
}
