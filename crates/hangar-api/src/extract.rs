//! Request extractors whose rejections are problem documents naming what was wrong:
//! the unknown or malformed query parameter, the body field, the size limit.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::problem::Problem;

/// Query parameters deserialized into `T`. Declare `T` with
/// `#[serde(deny_unknown_fields)]` so that an unknown parameter is a 400 naming it
/// and the parameters allowed.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| Self(q.0))
            .map_err(|rejection: QueryRejection| {
                let text = rejection.body_text();
                let detail = text
                    .strip_prefix("Failed to deserialize query string: ")
                    .unwrap_or(&text);
                Problem::bad_request(format!("query string: {}", plain_types(detail)))
            })
    }
}

/// A JSON body deserialized into `T`: 415 without a JSON content type, 413 above
/// the route's body limit, 400 for malformed JSON, 422 for a well-formed body with a
/// missing, unknown or mistyped field (named, with its line and column).
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        axum::Json::<T>::from_request(request, state)
            .await
            .map(|j| Self(j.0))
            .map_err(json_problem)
    }
}

/// The problem for a rejected JSON body.
pub fn json_problem(rejection: JsonRejection) -> Problem {
    let text = rejection.body_text();
    match rejection {
        JsonRejection::JsonDataError(_) => Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-body",
            "Invalid body",
        )
        .with_detail(plain_types(
            text.strip_prefix("Failed to deserialize the JSON body into the target type: ")
                .unwrap_or(&text),
        )),
        JsonRejection::MissingJsonContentType(_) => Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "Unsupported media type",
        )
        .with_detail("send the body as JSON with `Content-Type: application/json`"),
        other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => payload_too_large(),
        _ => Problem::bad_request(text),
    }
}

/// 413 for a body above the limit (`http.body_limit` unless a route sets its own).
pub fn payload_too_large() -> Problem {
    Problem::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload-too-large",
        "Payload too large",
    )
    .with_detail("the request body is larger than this endpoint accepts (http.body_limit)")
}

/// An integer read from JSON, where `291.0` is the integer 291 as JSON Schema
/// says, and `291.5` is refused with "expected an integer".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WholeNumber(pub i64);

impl<'de> serde::Deserialize<'de> for WholeNumber {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = WholeNumber;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an integer")
            }

            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<WholeNumber, E> {
                Ok(WholeNumber(v))
            }

            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<WholeNumber, E> {
                i64::try_from(v)
                    .map(WholeNumber)
                    .map_err(|_| E::invalid_value(serde::de::Unexpected::Unsigned(v), &self))
            }

            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<WholeNumber, E> {
                // Exactly representable whole numbers only: no rounding.
                const LIMIT: f64 = 9_007_199_254_740_992.0; // 2^53
                if v.fract() == 0.0 && v.abs() <= LIMIT {
                    #[allow(clippy::cast_possible_truncation)]
                    Ok(WholeNumber(v as i64))
                } else {
                    Err(E::invalid_value(serde::de::Unexpected::Float(v), &self))
                }
            }
        }
        d.deserialize_any(Visitor)
    }
}

/// Rewrites serde's wording of a type mismatch for the client: the names of Rust
/// types (`i64`, `struct MovieInput`) mean nothing to a caller of the API.
pub(crate) fn plain_types(message: &str) -> String {
    const WORDS: [(&str, &str); 14] = [
        ("expected i64", "expected an integer"),
        ("expected i32", "expected an integer"),
        ("expected i16", "expected an integer"),
        ("expected i8", "expected an integer"),
        ("expected u64", "expected a non-negative integer"),
        ("expected u32", "expected a non-negative integer"),
        ("expected u16", "expected a non-negative integer"),
        ("expected u8", "expected a non-negative integer"),
        ("expected usize", "expected a non-negative integer"),
        ("expected f64", "expected a number"),
        ("expected f32", "expected a number"),
        ("expected a boolean", "expected true or false"),
        ("expected unit", "expected null"),
        ("expected a borrowed string", "expected a string"),
    ];
    let mut out = message.to_owned();
    for (from, to) in WORDS {
        out = replace_word(&out, from, to);
    }
    // `expected struct X` / `expected enum X` / `expected tuple struct X`.
    for (from, to) in [
        ("expected tuple struct ", "expected a JSON array"),
        ("expected struct ", "expected a JSON object"),
        ("expected enum ", "expected one of the documented values"),
    ] {
        while let Some(at) = out.find(from) {
            let name_end = out[at + from.len()..]
                .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                .map_or(out.len(), |n| at + from.len() + n);
            out.replace_range(at..name_end, to);
        }
    }
    out
}

/// Replaces `from` where it is not followed by more of a word (`i64` but not `i640`).
fn replace_word(text: &str, from: &str, to: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(from) {
        let after = &rest[at + from.len()..];
        out.push_str(&rest[..at]);
        if after.starts_with(|c: char| c.is_alphanumeric() || c == '_') {
            out.push_str(from);
        } else {
            out.push_str(to);
        }
        rest = after;
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_numbers_are_integers_and_fractions_are_not() {
        let read = |json: &str| serde_json::from_str::<WholeNumber>(json).map(|n| n.0);
        assert_eq!(read("291").ok(), Some(291));
        assert_eq!(read("291.0").ok(), Some(291));
        assert_eq!(read("-3.0").ok(), Some(-3));
        assert_eq!(read("1e3").ok(), Some(1000));
        let err = read("291.5").unwrap_err().to_string();
        assert!(err.contains("expected an integer"), "{err}");
        assert!(read("1e300").is_err());
        assert!(read("\"7\"").is_err());
    }

    #[test]
    fn rust_type_names_become_plain_words() {
        assert_eq!(
            plain_types("invalid type: floating point `291.5`, expected i64 at line 1 column 9"),
            "invalid type: floating point `291.5`, expected an integer at line 1 column 9"
        );
        assert_eq!(
            plain_types("invalid type: sequence, expected struct MovieInput at line 1 column 0"),
            "invalid type: sequence, expected a JSON object at line 1 column 0"
        );
        assert_eq!(
            plain_types("expected u32"),
            "expected a non-negative integer"
        );
        assert_eq!(plain_types("unknown field `x`"), "unknown field `x`");
    }
}
