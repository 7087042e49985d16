//! Query-string decoding with the API server's value syntax, and the strict parameter lists.
//!
//! A real API server ignores parameters it does not know; the stand-in refuses them with 400
//! instead, so a client that misspells `labelSelector` fails a test rather than silently listing
//! everything.

use super::status::ApiError;

/// Parameters of list (and the watch the stand-in refuses).
pub const LIST: &[&str] = &[
    "labelSelector",
    "fieldSelector",
    "limit",
    "continue",
    "resourceVersion",
    "resourceVersionMatch",
    "timeoutSeconds",
    "allowWatchBookmarks",
    "sendInitialEvents",
    "watch",
    "pretty",
];

/// Parameters of get.
pub const GET: &[&str] = &["resourceVersion", "pretty"];

/// Parameters of `pods/{name}/log`.
pub const LOG: &[&str] = &[
    "container",
    "follow",
    "limitBytes",
    "pretty",
    "previous",
    "sinceSeconds",
    "sinceTime",
    "tailLines",
    "timestamps",
    "insecureSkipTLSVerifyBackend",
];

/// Parameters of discovery documents.
pub const DISCOVERY: &[&str] = &["pretty", "timeout"];

/// The decoded query string, in order.
#[derive(Debug, Clone, Default)]
pub struct Query(Vec<(String, String)>);

impl Query {
    pub fn parse(raw: Option<&str>) -> Self {
        let pairs = url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        Self(pairs)
    }

    /// 400 for the first parameter not in `known`.
    pub fn check_known(&self, known: &[&str], operation: &str) -> Result<(), ApiError> {
        match self.0.iter().find(|(k, _)| !known.contains(&k.as_str())) {
            None => Ok(()),
            Some((k, _)) => Err(ApiError::bad_request(format!(
                "unknown query parameter \"{k}\" for {operation}; accepted: {}",
                known.join(", ")
            ))),
        }
    }

    /// The first value of `key`, as Go's `url.Values.Get` returns it.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// A boolean in `strconv.ParseBool` syntax; absent or empty is false.
    pub fn flag(&self, key: &str) -> Result<bool, ApiError> {
        match self.get(key).unwrap_or_default() {
            "" | "0" | "f" | "F" | "false" | "FALSE" | "False" => Ok(false),
            "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(true),
            other => Err(ApiError::bad_request(format!(
                "{key}: strconv.ParseBool: parsing \"{other}\": invalid syntax"
            ))),
        }
    }

    /// A base-10 integer; absent or empty is `None`.
    pub fn int(&self, key: &str) -> Result<Option<i64>, ApiError> {
        match self.get(key).filter(|v| !v.is_empty()) {
            None => Ok(None),
            Some(v) => v.parse().map(Some).map_err(|_| {
                ApiError::bad_request(format!(
                    "{key}: strconv.ParseInt: parsing \"{v}\": invalid syntax"
                ))
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_and_checks() {
        let q = Query::parse(Some("labelSelector=app%3Dweb&limit=2&watch=1&limit=9"));
        assert_eq!(q.get("labelSelector"), Some("app=web"));
        assert_eq!(q.int("limit").unwrap(), Some(2));
        assert!(q.flag("watch").unwrap());
        assert!(!q.flag("pretty").unwrap());
        assert!(q.check_known(LIST, "list").is_ok());
        assert_eq!(q.check_known(GET, "get").unwrap_err().code, 400);
    }

    #[test]
    fn bad_values_are_400() {
        let q = Query::parse(Some("limit=ten&watch=yes"));
        assert_eq!(q.int("limit").unwrap_err().code, 400);
        assert_eq!(q.flag("watch").unwrap_err().code, 400);
        assert_eq!(Query::parse(None).int("limit").unwrap(), None);
    }
}
