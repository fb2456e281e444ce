//! Binance's error codes (the `code` of an error body, `{"code":-2010,"msg":"…"}`), named as
//! in the exchange's "Error codes" documentation. The one table that both the venue client
//! (which decides what an answer means) and njord-sim (which gives those answers) use.

/// An unknown error occurred while processing the request.
pub const UNKNOWN: i64 = -1000;
/// Internal error; unable to process your request. Please try again.
pub const DISCONNECTED: i64 = -1001;
/// Too many requests; the request weight limit was exceeded (HTTP 429, then 418 bans).
pub const TOO_MANY_REQUESTS: i64 = -1003;
/// Timeout waiting for response from backend server. Send status unknown; execution status
/// unknown: the order must be looked up before anything is resent.
pub const TIMEOUT: i64 = -1007;
/// The request was rejected by a symbol filter (`Filter failure: LOT_SIZE`, …).
pub const FILTER_FAILURE: i64 = -1013;
/// Too many new orders (the order-count limits).
pub const TOO_MANY_ORDERS: i64 = -1015;
/// Timestamp for this request is outside of the recvWindow (or ahead of the server's time).
pub const INVALID_TIMESTAMP: i64 = -1021;
/// Signature for this request is not valid.
pub const INVALID_SIGNATURE: i64 = -1022;
/// Illegal characters found in a parameter.
pub const ILLEGAL_CHARS: i64 = -1100;
/// Too many parameters sent for this endpoint.
pub const TOO_MANY_PARAMETERS: i64 = -1101;
/// A mandatory parameter was not sent, was empty/null, or malformed.
pub const MANDATORY_PARAM_EMPTY_OR_MALFORMED: i64 = -1102;
/// An unknown number of parameters was sent that were not read.
pub const UNREAD_PARAMETERS: i64 = -1104;
/// A parameter was empty.
pub const PARAM_EMPTY: i64 = -1105;
/// A parameter was sent when not required.
pub const PARAM_NOT_REQUIRED: i64 = -1106;
/// Invalid timeInForce.
pub const INVALID_TIME_IN_FORCE: i64 = -1115;
/// Invalid orderType.
pub const INVALID_ORDER_TYPE: i64 = -1116;
/// Invalid side.
pub const INVALID_SIDE: i64 = -1117;
/// Invalid symbol.
pub const INVALID_SYMBOL: i64 = -1121;
/// This listenKey does not exist (expired or closed): the user stream needs a new one.
pub const INVALID_LISTEN_KEY: i64 = -1125;
/// recvWindow must be less than 60000.
pub const BAD_RECV_WINDOW: i64 = -1131;
/// NEW_ORDER_REJECTED: the order was refused (insufficient balance, duplicate client order
/// id, …); `msg` says which.
pub const NEW_ORDER_REJECTED: i64 = -2010;
/// CANCEL_REJECTED: the order to cancel is unknown or already final.
pub const CANCEL_REJECTED: i64 = -2011;
/// NO_SUCH_ORDER: order does not exist.
pub const NO_SUCH_ORDER: i64 = -2013;
/// API-key format invalid.
pub const BAD_API_KEY_FMT: i64 = -2014;
/// Invalid API-key, IP, or permissions for action.
pub const REJECTED_MBX_KEY: i64 = -2015;
