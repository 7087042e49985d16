//! Pagination over seeded lists, as every AWS list call does it: a page size capped by the
//! service, and an opaque next token. Our token is the offset of the next item in a fixed prefix,
//! so a token from another call or a stale one is rejected instead of silently restarting.

const TOKEN_PREFIX: &str = "gw-offset-";

/// Why a page could not be cut.
#[derive(Debug, PartialEq, Eq)]
pub enum PageError {
    /// The next token was not one we issued for a list of this length.
    BadToken,
    /// The page size was below 1.
    BadSize,
}

/// One page of `items`: the slice and the token for the rest, if any.
pub fn page<'a, T>(
    items: &'a [T],
    token: Option<&str>,
    size: Option<i64>,
    default_size: usize,
) -> Result<(&'a [T], Option<String>), PageError> {
    let start = match token.filter(|t| !t.is_empty()) {
        None => 0,
        Some(t) => parse_token(t)
            .filter(|&o| o <= items.len())
            .ok_or(PageError::BadToken)?,
    };
    let size = match size {
        None => default_size.max(1),
        Some(n) if n < 1 => return Err(PageError::BadSize),
        Some(n) => usize::try_from(n).unwrap_or(usize::MAX),
    };
    let end = start.saturating_add(size).min(items.len());
    let next = (end < items.len()).then(|| format!("{TOKEN_PREFIX}{end}"));
    Ok((&items[start..end], next))
}

fn parse_token(token: &str) -> Option<usize> {
    token.strip_prefix(TOKEN_PREFIX)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_all_pages() {
        let items: Vec<u32> = (0..5).collect();
        let (first, next) = page(&items, None, Some(2), 100).unwrap();
        assert_eq!(first, &[0, 1]);
        let (second, next) = page(&items, next.as_deref(), Some(2), 100).unwrap();
        assert_eq!(second, &[2, 3]);
        let (last, next) = page(&items, next.as_deref(), Some(2), 100).unwrap();
        assert_eq!((last, next), (&[4][..], None));
    }

    #[test]
    fn rejects_bad_tokens_and_sizes() {
        let items = [1, 2];
        assert_eq!(
            page(&items, Some("nope"), None, 10),
            Err(PageError::BadToken)
        );
        assert_eq!(
            page(&items, Some("gw-offset-3"), None, 10),
            Err(PageError::BadToken)
        );
        assert_eq!(page(&items, None, Some(0), 10), Err(PageError::BadSize));
        assert_eq!(
            page(&items, Some(""), Some(i64::MAX), 10).unwrap().0,
            &items
        );
        assert_eq!(page::<u8>(&[], None, None, 0).unwrap(), (&[][..], None));
    }
}
