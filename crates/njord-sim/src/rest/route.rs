//! The endpoints of `/api/v3/*`: which method and path is which, and the security each asks.

use axum::http::Method;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Sec {
    None,
    Key,
    Signed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Ep {
    Ping,
    Time,
    ExchangeInfo,
    Depth,
    Trades,
    AggTrades,
    Klines,
    TickerPrice,
    BookTicker,
    Ticker24,
    NewOrder,
    TestOrder,
    QueryOrder,
    CancelOrder,
    NewOco,
    QueryList,
    CancelList,
    OpenOrders,
    CancelAll,
    AllOrders,
    Account,
    MyTrades,
    UdsCreate,
    UdsKeep,
    UdsClose,
}

pub(super) fn route(method: &Method, path: &str) -> Option<(Ep, Sec)> {
    use Ep::*;
    let m = method.as_str();
    Some(match (m, path.strip_prefix("/api/v3/")?) {
        ("GET", "ping") => (Ping, Sec::None),
        ("GET", "time") => (Time, Sec::None),
        ("GET", "exchangeInfo") => (ExchangeInfo, Sec::None),
        ("GET", "depth") => (Depth, Sec::None),
        ("GET", "trades") => (Trades, Sec::None),
        ("GET", "aggTrades") => (AggTrades, Sec::None),
        ("GET", "klines") => (Klines, Sec::None),
        ("GET", "ticker/price") => (TickerPrice, Sec::None),
        ("GET", "ticker/bookTicker") => (BookTicker, Sec::None),
        ("GET", "ticker/24hr") => (Ticker24, Sec::None),
        ("POST", "order") => (NewOrder, Sec::Signed),
        ("POST", "order/test") => (TestOrder, Sec::Signed),
        ("GET", "order") => (QueryOrder, Sec::Signed),
        ("DELETE", "order") => (CancelOrder, Sec::Signed),
        ("POST", "order/oco") => (NewOco, Sec::Signed),
        ("GET", "orderList") => (QueryList, Sec::Signed),
        ("DELETE", "orderList") => (CancelList, Sec::Signed),
        ("GET", "openOrders") => (OpenOrders, Sec::Signed),
        ("DELETE", "openOrders") => (CancelAll, Sec::Signed),
        ("GET", "allOrders") => (AllOrders, Sec::Signed),
        ("GET", "account") => (Account, Sec::Signed),
        ("GET", "myTrades") => (MyTrades, Sec::Signed),
        ("POST", "userDataStream") => (UdsCreate, Sec::Key),
        ("PUT", "userDataStream") => (UdsKeep, Sec::Key),
        ("DELETE", "userDataStream") => (UdsClose, Sec::Key),
        _ => return None,
    })
}
