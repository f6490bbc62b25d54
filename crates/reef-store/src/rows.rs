//! Conversions between domain values and their portable column forms.

use chrono::{DateTime, TimeZone, Utc};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::StoreError;

pub(crate) fn millis(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

pub(crate) fn time(ms: i64, column: &'static str) -> Result<DateTime<Utc>, StoreError> {
    Utc.timestamp_millis_opt(ms).single().ok_or(StoreError::Corrupt { column })
}

pub(crate) fn get_str(row: &AnyRow, column: &'static str) -> Result<String, StoreError> {
    row.try_get::<String, _>(column).map_err(|_| StoreError::Corrupt { column })
}

pub(crate) fn get_opt_str(row: &AnyRow, column: &'static str) -> Result<Option<String>, StoreError> {
    row.try_get::<Option<String>, _>(column).map_err(|_| StoreError::Corrupt { column })
}

pub(crate) fn get_i64(row: &AnyRow, column: &'static str) -> Result<i64, StoreError> {
    row.try_get::<i64, _>(column).map_err(|_| StoreError::Corrupt { column })
}

pub(crate) fn get_time(row: &AnyRow, column: &'static str) -> Result<DateTime<Utc>, StoreError> {
    time(get_i64(row, column)?, column)
}

pub(crate) fn get_opt_time(row: &AnyRow, column: &'static str) -> Result<Option<DateTime<Utc>>, StoreError> {
    match row.try_get::<Option<i64>, _>(column).map_err(|_| StoreError::Corrupt { column })? {
        Some(ms) => time(ms, column).map(Some),
        None => Ok(None),
    }
}

pub(crate) fn parse<T: std::str::FromStr>(s: &str, column: &'static str) -> Result<T, StoreError> {
    s.parse().map_err(|_| StoreError::Corrupt { column })
}

pub(crate) fn get_parsed<T: std::str::FromStr>(row: &AnyRow, column: &'static str) -> Result<T, StoreError> {
    parse(&get_str(row, column)?, column)
}

/// Wraps a query so that it returns its rows as one JSON array of arrays (one array per row,
/// `columns` in order), in a single text column named `page`. The order of the rows is not
/// guaranteed: callers sort what they decode.
pub(crate) fn aggregate(backend: crate::Backend, inner: &str, columns: &str) -> String {
    match backend {
        crate::Backend::Sqlite => {
            format!("SELECT json_group_array(json_array({columns})) AS page FROM ({inner}) AS page_rows")
        }
        crate::Backend::Postgres => format!(
            "SELECT COALESCE(json_agg(json_build_array({columns})), '[]'::json)::text AS page FROM ({inner}) AS page_rows"
        ),
    }
}
