//! Cursor pagination: a page of items and an opaque cursor for the next one.
//!
//! The cursor is the base64url encoding of the JSON key of the last item sent
//! (its sort value and id), so the next page starts strictly after it however the
//! table changed in between. Clients treat it as opaque.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use serde::de::DeserializeOwned;
use utoipa::ToSchema;

use crate::problem::Problem;

/// One page of a list.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Page<T> {
    /// The items of this page, in the requested order.
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// Encodes a cursor from the key of the last item of a page.
pub fn encode_cursor<K: Serialize>(key: &K) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(key).unwrap_or_default())
}

/// Decodes a cursor made by [`encode_cursor`]; a 400 if it was not.
pub fn decode_cursor<K: DeserializeOwned>(cursor: &str) -> Result<K, Problem> {
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or_else(bad_cursor)
}

/// 400 for a cursor that did not come from the list it is passed to.
pub fn bad_cursor() -> Problem {
    Problem::bad_request(
        "cursor: not a cursor from this list; pass the `next_cursor` of the previous page",
    )
}
