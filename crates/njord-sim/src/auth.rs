//! Binance request signing: HMAC-SHA256 over the query string followed by the body, each
//! as sent and without its `signature` parameter; and the `timestamp` / `recvWindow` rule.

use super::ApiError;
use hmac::{Hmac, KeyInit, Mac};
use njord::venue::binanceus::errors;
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The hex HMAC-SHA256 of `payload` under `secret`, as a client computes it.
pub fn sign(secret: &str, payload: &str) -> String {
    // HMAC takes keys of any length, so this cannot fail.
    let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC accepts any key");
    mac.update(payload.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Whether `signature` (hex, either case) signs `payload`; compared in constant time.
pub fn verify(secret: &str, payload: &str, signature: &str) -> bool {
    let Ok(tag) = hex::decode(signature) else {
        return false;
    };
    let Ok(mut mac) = HmacSha256::new_from_slice(secret.as_bytes()) else {
        return false;
    };
    mac.update(payload.as_bytes());
    mac.verify_slice(&tag).is_ok()
}

/// Removes `signature=…` from a raw `a=1&b=2` string, keeping every other byte as sent.
fn without_signature(raw: &str) -> String {
    raw.split('&')
        .filter(|p| !p.starts_with("signature="))
        .collect::<Vec<_>>()
        .join("&")
}

/// What was signed: the query string, then the body, both without `signature`.
pub fn signed_payload(query: &str, body: &str) -> String {
    let mut s = without_signature(query);
    s.push_str(&without_signature(body));
    s
}

/// Binance's rule: accept when `timestamp < server + 1000` and `server - timestamp <= recvWindow`.
pub fn check_timestamp(timestamp: i64, recv_window: i64, server_ms: i64) -> Result<(), ApiError> {
    if timestamp >= server_ms.saturating_add(1000) {
        return Err(ApiError::bad(
            errors::INVALID_TIMESTAMP,
            "Timestamp for this request was 1000ms ahead of the server's time.",
        ));
    }
    if server_ms.saturating_sub(timestamp) > recv_window {
        return Err(ApiError::bad(
            errors::INVALID_TIMESTAMP,
            "Timestamp for this request is outside of the recvWindow.",
        ));
    }
    Ok(())
}

/// An API key is well formed when it is 1 to 128 ASCII letters and digits.
pub fn key_well_formed(key: &str) -> bool {
    (1..=128).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;
    const SECRET: &str = super::super::DEFAULT_API_SECRET;

    #[test]
    fn binance_documented_examples() {
        let q = "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559";
        let sig = "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71";
        assert_eq!(sign(SECRET, q), sig);
        assert!(verify(
            SECRET,
            &signed_payload(&format!("{q}&signature={sig}"), ""),
            sig
        ));
        let p = signed_payload(
            "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC",
            "quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559&signature=x",
        );
        assert_eq!(
            sign(SECRET, &p),
            "0fd168b8ddb4876a0358a8d14d0c9f3da0e9b20c5d52b2a00fcf7d1c602f9a77"
        );
        assert!(!verify(SECRET, &p.replace("0.1", "0.2"), sig));
        assert!(!verify(SECRET, &p, "zz"));
    }

    #[test]
    fn timestamps() {
        assert!(check_timestamp(1000, 5000, 1000).is_ok());
        assert!(check_timestamp(1999, 5000, 1000).is_ok());
        assert!(
            check_timestamp(2000, 5000, 1000)
                .unwrap_err()
                .msg
                .contains("ahead")
        );
        assert!(
            check_timestamp(1000, 5000, 7000)
                .unwrap_err()
                .msg
                .contains("recvWindow")
        );
    }
}
