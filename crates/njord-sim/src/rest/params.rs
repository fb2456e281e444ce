//! Query and body parameters with Binance's checks and error codes.

use crate::ApiError;
use njord::venue::binanceus::errors;
use rust_decimal::Decimal;
use std::collections::HashSet;

/// Query and body parameters, tracking which were read so leftovers are -1104.
pub(super) struct Params {
    pairs: Vec<(String, String)>,
    read: HashSet<String>,
}

pub(super) fn illegal(name: &str, range: &str) -> ApiError {
    ApiError::bad(
        errors::ILLEGAL_CHARS,
        format!("Illegal characters found in parameter '{name}'; legal range is '{range}'."),
    )
}

pub(super) fn mandatory(name: &str) -> ApiError {
    ApiError::bad(
        errors::MANDATORY_PARAM_EMPTY_OR_MALFORMED,
        format!("Mandatory parameter '{name}' was not sent, was empty/null, or malformed."),
    )
}

pub(super) fn not_required(name: &str) -> ApiError {
    ApiError::bad(
        errors::PARAM_NOT_REQUIRED,
        format!("Parameter '{name}' sent when not required."),
    )
}

const DECIMAL_RANGE: &str = r"^([0-9]{1,20})(\.[0-9]{1,20})?$";

impl Params {
    pub(super) fn parse(query: &str, body: &str) -> Result<Params, ApiError> {
        let decode = |s: &str| -> Result<Vec<(String, String)>, ApiError> {
            serde_urlencoded::from_str::<Vec<(String, String)>>(s).map_err(|_| {
                ApiError::bad(
                    errors::ILLEGAL_CHARS,
                    "Illegal characters found in a parameter.",
                )
            })
        };
        let q = decode(query)?;
        let b = decode(body)?;
        let mut pairs: Vec<(String, String)> = Vec::with_capacity(q.len() + b.len());
        for part in [&q, &b] {
            let mut seen = HashSet::new();
            for (k, _) in part.iter() {
                if !seen.insert(k.as_str()) {
                    return Err(ApiError::bad(
                        errors::TOO_MANY_PARAMETERS,
                        "Duplicate values for a parameter detected.",
                    ));
                }
            }
        }
        pairs.extend(q);
        // The query string wins over the body for a parameter sent in both.
        for (k, v) in b {
            if !pairs.iter().any(|(pk, _)| *pk == k) {
                pairs.push((k, v));
            }
        }
        for (k, v) in &pairs {
            if v.is_empty() {
                return Err(ApiError::bad(
                    errors::PARAM_EMPTY,
                    format!("Parameter '{k}' was empty."),
                ));
            }
        }
        Ok(Params {
            pairs,
            read: HashSet::new(),
        })
    }

    pub(super) fn has(&self, k: &str) -> bool {
        self.pairs.iter().any(|(pk, _)| pk == k)
    }

    pub(super) fn peek(&self, k: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(pk, _)| pk == k)
            .map(|(_, v)| v.as_str())
    }

    pub(super) fn get(&mut self, k: &str) -> Option<String> {
        let v = self.peek(k).map(str::to_string);
        if v.is_some() {
            self.read.insert(k.to_string());
        }
        v
    }

    pub(super) fn req(&mut self, k: &str) -> Result<String, ApiError> {
        self.get(k).ok_or_else(|| mandatory(k))
    }

    pub(super) fn dec(&mut self, k: &str) -> Result<Option<Decimal>, ApiError> {
        let Some(v) = self.get(k) else {
            return Ok(None);
        };
        let ok_chars = v.bytes().all(|b| b.is_ascii_digit() || b == b'.')
            && v.bytes().filter(|b| *b == b'.').count() <= 1
            && !v.starts_with('.')
            && !v.ends_with('.');
        if !ok_chars || v.len() > 41 {
            return Err(illegal(k, DECIMAL_RANGE));
        }
        v.parse::<Decimal>()
            .map(Some)
            .map_err(|_| illegal(k, DECIMAL_RANGE))
    }

    pub(super) fn uint(&mut self, k: &str) -> Result<Option<u64>, ApiError> {
        let Some(v) = self.get(k) else {
            return Ok(None);
        };
        if v.len() > 20 || !v.bytes().all(|b| b.is_ascii_digit()) {
            return Err(illegal(k, "^[0-9]{1,20}$"));
        }
        v.parse().map(Some).map_err(|_| illegal(k, "^[0-9]{1,20}$"))
    }

    pub(super) fn int(&mut self, k: &str) -> Result<Option<i64>, ApiError> {
        let Some(v) = self.get(k) else {
            return Ok(None);
        };
        v.parse()
            .map(Some)
            .map_err(|_| illegal(k, "^-?[0-9]{1,20}$"))
    }

    /// `symbol`, checked for legal characters (then known by the core: -1121).
    pub(super) fn symbol(&mut self, required: bool) -> Result<Option<String>, ApiError> {
        match self.get("symbol") {
            None if required => Err(mandatory("symbol")),
            None => Ok(None),
            Some(s) => {
                let legal = (1..=20).contains(&s.len())
                    && s.bytes().all(|b| {
                        b.is_ascii_uppercase() || b.is_ascii_digit() || b"-_.".contains(&b)
                    });
                if legal {
                    Ok(Some(s))
                } else {
                    Err(illegal("symbol", "^[A-Z0-9-_.]{1,20}$"))
                }
            }
        }
    }

    pub(super) fn client_id(&mut self, k: &str) -> Result<Option<String>, ApiError> {
        let Some(v) = self.get(k) else {
            return Ok(None);
        };
        let legal = (1..=36).contains(&v.len())
            && v.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._:/-".contains(&b));
        if legal {
            Ok(Some(v))
        } else {
            Err(illegal(k, r"^[\.A-Z\:/a-z0-9_-]{1,36}$"))
        }
    }

    pub(super) fn limit(&mut self, default: usize, max: usize) -> Result<usize, ApiError> {
        Ok(self
            .uint("limit")?
            .map(|l| (l as usize).clamp(1, max))
            .unwrap_or(default))
    }

    /// Every parameter sent must have been read.
    pub(super) fn finish(&self) -> Result<(), ApiError> {
        let (read, sent) = (self.read.len(), self.pairs.len());
        if read < sent {
            return Err(ApiError::bad(
                errors::UNREAD_PARAMETERS,
                format!(
                    "Not all sent parameters were read; read '{read}' parameter(s) but was sent '{sent}'."
                ),
            ));
        }
        Ok(())
    }
}
