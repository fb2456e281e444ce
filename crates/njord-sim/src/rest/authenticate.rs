//! Authentication of `USER_STREAM` and `SIGNED` endpoints, and the signature verdict the
//! journal records.

use super::params::{Params, mandatory};
use super::route::Sec;
use crate::{ApiError, Sim, auth};
use axum::http::HeaderMap;
use njord::venue::binanceus::errors;
use rust_decimal::Decimal;

/// The signature verdict written to the journal.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum SigVerdict {
    NotRequired,
    Valid,
    Invalid,
    Missing,
}

impl SigVerdict {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            SigVerdict::NotRequired => "not_required",
            SigVerdict::Valid => "valid",
            SigVerdict::Invalid => "invalid",
            SigVerdict::Missing => "missing",
        }
    }
}

/// API key, then `timestamp`, `recvWindow` and `signature`, in Binance's order.
#[allow(clippy::too_many_arguments)]
pub(super) fn authenticate(
    sim: &Sim,
    sec: Sec,
    query: &str,
    body: &str,
    headers: &HeaderMap,
    params: &mut Params,
    now: i64,
    verdict: &mut SigVerdict,
) -> Result<(), ApiError> {
    if sec == Sec::None {
        return Ok(());
    }
    let key = headers
        .get("x-mbx-apikey")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !auth::key_well_formed(key) {
        return Err(ApiError::new(
            401,
            errors::BAD_API_KEY_FMT,
            "API-key format invalid.",
        ));
    }
    let Some((_, secret)) = sim.settings.api_keys.iter().find(|(k, _)| k == key) else {
        return Err(ApiError::new(
            401,
            errors::REJECTED_MBX_KEY,
            "Invalid API-key, IP, or permissions for action.",
        ));
    };
    if sec == Sec::Key {
        return Ok(());
    }
    let ts = params
        .int("timestamp")?
        .ok_or_else(|| mandatory("timestamp"))?;
    let recv = match params.dec("recvWindow")? {
        None => 5000,
        Some(r) if r > Decimal::from(60_000) => {
            return Err(ApiError::bad(
                errors::BAD_RECV_WINDOW,
                "recvWindow must be less than 60000",
            ));
        }
        Some(r) => r.trunc().try_into().unwrap_or(5000i64),
    };
    let Some(sig) = params.get("signature") else {
        *verdict = SigVerdict::Missing;
        return Err(mandatory("signature"));
    };
    if !auth::verify(secret, &auth::signed_payload(query, body), &sig) {
        *verdict = SigVerdict::Invalid;
        return Err(ApiError::bad(
            errors::INVALID_SIGNATURE,
            "Signature for this request is not valid.",
        ));
    }
    *verdict = SigVerdict::Valid;
    if sim.settings.check_timestamp {
        auth::check_timestamp(ts, recv, now)?;
    }
    Ok(())
}
