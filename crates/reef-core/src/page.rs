//! Keyset pagination. A list returns at most `limit` items in a stable order and a cursor
//! that resumes after the last one, so pages stay correct while items are added or removed.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The page size used when a caller gives none.
pub const DEFAULT_LIMIT: u32 = 50;
/// The largest page a caller may ask for.
pub const MAX_LIMIT: u32 = 1000;

/// An opaque position in a list: the sort key of the last item of the previous page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor(String);

/// A cursor string that this server did not produce.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid cursor (pass back the `next_cursor` of the previous page unchanged)")]
pub struct InvalidCursor;

impl Cursor {
    /// A cursor positioned after the item whose sort key is `key`.
    pub fn after(key: &str) -> Self {
        Cursor(key.to_owned())
    }

    /// The sort key of the last item already returned.
    pub fn key(&self) -> &str {
        &self.0
    }

    /// The cursor's form on the wire.
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.0.as_bytes())
    }

    /// Parses a cursor from its form on the wire.
    pub fn decode(s: &str) -> Result<Self, InvalidCursor> {
        let bytes = URL_SAFE_NO_PAD.decode(s).map_err(|_| InvalidCursor)?;
        let key = String::from_utf8(bytes).map_err(|_| InvalidCursor)?;
        if key.is_empty() || key.len() > 512 {
            return Err(InvalidCursor);
        }
        Ok(Cursor(key))
    }
}

/// What page of a list to return.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    /// At most this many items, between 1 and [`MAX_LIMIT`].
    pub limit: u32,
    /// Start after this position; the first page when `None`.
    pub after: Option<Cursor>,
}

/// A page size outside 1..=MAX_LIMIT.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("limit must be between 1 and {MAX_LIMIT}")]
pub struct InvalidLimit;

impl PageRequest {
    /// Builds a page request from the optional parameters a caller sent.
    pub fn new(limit: Option<u32>, after: Option<Cursor>) -> Result<Self, InvalidLimit> {
        let limit = limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(InvalidLimit);
        }
        Ok(PageRequest { limit, after })
    }

    /// The first page with the default size.
    pub fn first() -> Self {
        PageRequest { limit: DEFAULT_LIMIT, after: None }
    }
}

/// One page of a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    /// The items, in the list's order.
    pub items: Vec<T>,
    /// Where the next page starts; `None` on the last page.
    pub next: Option<Cursor>,
}

impl<T> Page<T> {
    /// Builds a page from up to `limit + 1` rows fetched in order: the extra row, if present,
    /// only proves that another page exists.
    pub fn from_rows(mut rows: Vec<T>, limit: u32, key: impl Fn(&T) -> String) -> Self {
        let limit = limit as usize;
        let next = if rows.len() > limit {
            rows.truncate(limit);
            rows.last().map(|last| Cursor::after(&key(last)))
        } else {
            None
        };
        Page { items: rows, next }
    }

    /// Converts every item, keeping the cursor.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page { items: self.items.into_iter().map(f).collect(), next: self.next }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_survives_its_wire_form() {
        let c = Cursor::after("0190a4c4-7f7c-7000-8000-000000000000");
        assert_eq!(Cursor::decode(&c.encode()), Ok(c));
    }

    #[test]
    fn garbage_is_not_a_cursor() {
        assert_eq!(Cursor::decode("!!!"), Err(InvalidCursor));
        assert_eq!(Cursor::decode(""), Err(InvalidCursor));
    }

    #[test]
    fn the_extra_row_becomes_the_next_cursor() {
        let page = Page::from_rows(vec![1, 2, 3], 2, |n| n.to_string());
        assert_eq!(page.items, vec![1, 2]);
        assert_eq!(page.next, Some(Cursor::after("2")));
        let last = Page::from_rows(vec![1, 2], 2, |n| n.to_string());
        assert_eq!(last.next, None);
    }

    #[test]
    fn limits_outside_the_range_are_refused() {
        assert!(PageRequest::new(Some(0), None).is_err());
        assert!(PageRequest::new(Some(MAX_LIMIT + 1), None).is_err());
        assert_eq!(PageRequest::new(None, None).map(|p| p.limit), Ok(DEFAULT_LIMIT));
    }
}
