//! Page tokens: opaque to clients, bound to the query they continue.
//!
//! A token carries the last key returned and a hash of the request's filters, so
//! a token reused with other filters, or forged, is `INVALID_ARGUMENT` rather
//! than a silently wrong page.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use crate::error::ApiError;

/// Page size when the request gives 0.
pub const DEFAULT_PAGE_SIZE: i64 = 50;
/// Largest page size accepted.
pub const MAX_PAGE_SIZE: i64 = 500;

/// Validates `page_size`: 0 means the default; negative or too large is an error.
pub fn page_size(requested: i32) -> Result<i64, ApiError> {
    match i64::from(requested) {
        0 => Ok(DEFAULT_PAGE_SIZE),
        n if n < 0 => Err(ApiError::invalid("page_size", "must not be negative")),
        n if n > MAX_PAGE_SIZE => Err(ApiError::invalid(
            "page_size",
            format!("must be at most {MAX_PAGE_SIZE}"),
        )),
        n => Ok(n),
    }
}

/// A hash of the filters a token belongs to; pass every filter field.
pub fn filter_fingerprint(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_be_bytes());
        h.update(p.as_bytes());
    }
    hex::encode(&h.finalize()[..8])
}

/// Encodes the position after `last_key` for the query with `fingerprint`.
pub fn encode_token(last_key: i64, fingerprint: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("v1:{last_key}:{fingerprint}"))
}

/// Decodes a token for the query with `fingerprint`; empty means the first page.
pub fn decode_token(token: &str, fingerprint: &str) -> Result<Option<i64>, ApiError> {
    if token.is_empty() {
        return Ok(None);
    }
    let bad = || ApiError::invalid("page_token", "is not a token returned for this query");
    let raw = URL_SAFE_NO_PAD.decode(token).map_err(|_| bad())?;
    let text = String::from_utf8(raw).map_err(|_| bad())?;
    let mut parts = text.splitn(3, ':');
    match (parts.next(), parts.next(), parts.next()) {
        (Some("v1"), Some(key), Some(fp)) if fp == fingerprint => {
            key.parse::<i64>().map(Some).map_err(|_| bad())
        }
        _ => Err(bad()),
    }
}

/// Trims a page fetched with one row too many (`size + 1`) and returns the
/// token of the next page: empty when this is the last one.
pub fn next_page<T>(
    rows: &mut Vec<T>,
    size: i64,
    key: impl Fn(&T) -> i64,
    fingerprint: &str,
) -> String {
    if rows.len() as i64 <= size {
        return String::new();
    }
    rows.truncate(size as usize);
    rows.last()
        .map(|r| encode_token(key(r), fingerprint))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_only_for_the_same_filters() {
        let fp = filter_fingerprint(&["a", "b"]);
        let token = encode_token(42, &fp);
        assert_eq!(decode_token(&token, &fp).expect("valid"), Some(42));
        assert!(decode_token(&token, &filter_fingerprint(&["a", "c"])).is_err());
        assert!(decode_token("!!!", &fp).is_err());
        assert_eq!(decode_token("", &fp).expect("first page"), None);
    }

    #[test]
    fn page_sizes_are_bounded() {
        assert_eq!(page_size(0).expect("default"), DEFAULT_PAGE_SIZE);
        assert!(page_size(-1).is_err());
        assert!(page_size(501).is_err());
        assert_eq!(page_size(7).expect("ok"), 7);
    }
}
