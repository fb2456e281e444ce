//! Venue adapters. Each venue lives in its own folder so a second one is a sibling; what is
//! venue-neutral (how a symbol is named on each side) lives here.

pub mod binanceus;

/// A current-thread runtime for a shell thread that makes blocking calls: njord-alert's
/// deliveries and polls, njord-ctl's probes, preflight and cancels.
pub fn blocking_runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("runtime: {e}"))
}

/// An HTTP client for webhooks and Njord's own endpoints: no proxy (a loopback address must
/// stay on loopback), each request at most `timeout`.
pub fn http_client(timeout: std::time::Duration) -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(timeout)
        .build()
        .map_err(|e| format!("HTTP client: {e}"))
}

/// The `Authorization` value of a bearer token; none for an absent or empty one.
pub fn bearer(token: Option<&str>) -> Option<String> {
    token
        .filter(|t| !t.is_empty())
        .map(|t| format!("Bearer {t}"))
}

/// A failed request's message with its causes, the URL left out (a signed query carries a
/// signature). A connect error past DNS and TCP is the TLS handshake, which rustls words
/// obscurely ("received corrupt message"): it is named.
pub fn request_error(e: reqwest::Error) -> String {
    let connect = e.is_connect();
    let msg = with_causes(&e.without_url());
    if connect && !msg.contains("dns error") && !msg.contains("tcp connect") {
        format!("TLS handshake failed: {msg}")
    } else {
        msg
    }
}

/// An error with its causes, `outer: cause: root cause`. reqwest's own message ("error
/// sending request for url") hides whether DNS, a refused connection or TLS failed; the
/// causes say which. A cause already quoted by the message before it is not repeated.
pub fn with_causes(e: &dyn std::error::Error) -> String {
    let mut msg = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let text = c.to_string();
        if !msg.contains(&text) {
            msg.push_str(": ");
            msg.push_str(&text);
        }
        cause = c.source();
    }
    msg
}

/// One symbol as Njord and the venue name it: `ATOM/USDT`, `ATOMUSDT`, `atomusdt`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VenueSymbol {
    /// Njord's name, `BASE/QUOTE`.
    pub pair: String,
    /// The venue's REST name (`ATOMUSDT`).
    pub venue: String,
    /// The prefix of the venue's stream names (`atomusdt`).
    pub stream: String,
}
