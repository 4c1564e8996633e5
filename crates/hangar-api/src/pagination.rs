//! Cursor pagination: a page of items and an opaque cursor for the next one.
//!
//! The cursor is the base64url encoding of the JSON key of the last item sent
//! (its sort value and id), so the next page starts strictly after it however the
//! table changed in between. Clients treat it as opaque.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::problem::Problem;

/// One page of a list.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Page<T> {
    /// The items of this page, in the requested order.
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// The query of a list that takes nothing but its page.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Items per page, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    #[param(min_length = 1, pattern = "^[A-Za-z0-9_-]+$")]
    pub cursor: Option<String>,
}

impl PageParams {
    /// The page size, or a 400 outside 1–200.
    pub fn limit(&self) -> Result<u32, Problem> {
        page_limit(self.limit, 50, 200)
    }

    /// The key the cursor holds, or a 400 for a cursor this list did not hand out.
    pub fn after<K: DeserializeOwned>(&self) -> Result<Option<K>, Problem> {
        self.cursor.as_deref().map(decode_cursor).transpose()
    }
}

impl<T> Page<T> {
    /// The page of `items` fetched as `limit + 1` rows: the extra row only tells
    /// that there is a next page, whose cursor is the key of the last item sent.
    pub fn from_extra_row<K: Serialize>(
        mut items: Vec<T>,
        limit: u32,
        key: impl Fn(&T) -> K,
    ) -> Self {
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        let next_cursor = if items.len() > limit {
            items.truncate(limit);
            items.last().map(|item| encode_cursor(&key(item)))
        } else {
            None
        };
        Self { items, next_cursor }
    }
}

/// The page size asked for, `default` when none was, or a 400 outside `1..=max`.
pub fn page_limit(limit: Option<u32>, default: u32, max: u32) -> Result<u32, Problem> {
    let limit = limit.unwrap_or(default);
    if (1..=max).contains(&limit) {
        Ok(limit)
    } else {
        Err(Problem::bad_request(format!(
            "limit: {limit} is not from 1 to {max}"
        )))
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_extra_row_makes_the_cursor_of_the_last_item_sent() {
        let page = Page::from_extra_row(vec![1, 2, 3], 2, |n| *n);
        assert_eq!(page.items, vec![1, 2]);
        assert_eq!(
            decode_cursor::<i32>(&page.next_cursor.unwrap()).ok(),
            Some(2)
        );
        let last = Page::from_extra_row(vec![1, 2], 2, |n| *n);
        assert_eq!((last.items, last.next_cursor), (vec![1, 2], None));
    }

    #[test]
    fn page_sizes_outside_their_range_are_refused() {
        assert_eq!(page_limit(None, 50, 200).ok(), Some(50));
        assert_eq!(page_limit(Some(200), 50, 200).ok(), Some(200));
        for bad in [0, 201] {
            let problem = page_limit(Some(bad), 50, 200).unwrap_err();
            assert_eq!(problem.status, 400);
            assert_eq!(
                problem.detail.unwrap(),
                format!("limit: {bad} is not from 1 to 200")
            );
        }
    }
}
