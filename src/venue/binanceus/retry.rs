//! When a signed REST request is retried, waited for or given up (pure): `Retry-After`, the
//! request-weight slowdown and the classification of answers. How often and how long between
//! tries is the core's `backoff::RetryPolicy`.

use super::errors;
use serde_json::Value;
use std::time::Duration;

/// `Retry-After` in seconds (Binance never sends the HTTP-date form).
pub fn parse_retry_after(v: Option<&str>) -> Option<Duration> {
    v?.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// How long to hold requests so the used weight stays under `pct`% of the limit: until the
/// next minute window (Binance's windows start on the minute) once the threshold is reached.
/// `used` was reported at `reported_ms`; a count from an earlier window no longer applies.
pub fn weight_wait(
    used: u32,
    reported_ms: i64,
    limit: u32,
    pct: u32,
    server_ms: i64,
) -> Option<Duration> {
    if reported_ms.div_euclid(60_000) != server_ms.div_euclid(60_000)
        || limit == 0
        || u64::from(used) * 100 < u64::from(limit) * u64::from(pct.min(100))
    {
        return None;
    }
    let into = server_ms.rem_euclid(60_000);
    Some(Duration::from_millis((60_000 - into) as u64 + 50))
}

/// What one HTTP exchange amounted to.
#[derive(Debug, Clone, PartialEq)]
pub enum Class {
    Ok,
    /// 429 or 418: not processed; wait and retry. `ban` for 418.
    Limited {
        ban: bool,
    },
    /// 5xx: the request may or may not have been executed.
    Unknown,
    /// `-1021`: our clock is off; re-measure and retry once.
    ClockSkew,
    /// Any other answer: final.
    Rejected {
        code: i64,
        msg: String,
    },
}

/// Classifies a response by status and Binance error body.
pub fn classify(status: u16, body: &Value) -> Class {
    let code = body.get("code").and_then(Value::as_i64).unwrap_or(0);
    let msg = body
        .get("msg")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    match status {
        200..=299 => Class::Ok,
        429 => Class::Limited { ban: false },
        418 => Class::Limited { ban: true },
        500..=599 => Class::Unknown,
        _ if code == errors::INVALID_TIMESTAMP => Class::ClockSkew,
        _ => Class::Rejected { code, msg },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_is_whole_seconds() {
        assert_eq!(parse_retry_after(Some(" 7 ")), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after(Some("soon")), None);
    }

    #[test]
    fn weight_slows_down_before_the_limit() {
        assert_eq!(weight_wait(1079, 120_400, 1200, 90, 120_500), None);
        assert_eq!(
            weight_wait(1080, 120_400, 1200, 90, 120_500),
            Some(Duration::from_millis(59_550))
        );
        assert_eq!(
            weight_wait(1199, 119_999, 1200, 90, 120_500),
            None,
            "a count from the previous minute"
        );
        assert_eq!(weight_wait(5, 0, 0, 90, 0), None);
    }

    #[test]
    fn classification_only_trusts_what_it_knows() {
        let j = |s: &str| serde_json::from_str::<Value>(s).unwrap();
        assert_eq!(classify(200, &j("{}")), Class::Ok);
        assert_eq!(classify(429, &j("{}")), Class::Limited { ban: false });
        assert_eq!(classify(418, &j("{}")), Class::Limited { ban: true });
        assert_eq!(classify(503, &Value::Null), Class::Unknown);
        assert_eq!(
            classify(
                400,
                &j(
                    r#"{"code":-1021,"msg":"Timestamp for this request is outside of the recvWindow."}"#
                )
            ),
            Class::ClockSkew
        );
        assert_eq!(
            classify(
                400,
                &j(
                    r#"{"code":-2010,"msg":"Account has insufficient balance for requested action."}"#
                )
            ),
            Class::Rejected {
                code: -2010,
                msg: "Account has insufficient balance for requested action.".into()
            }
        );
    }
}
