//! Secrets: typed sets of named values that belong to one organization.
//!
//! Values live in [`SecretValues`], whose `Debug` never shows them and whose memory is wiped
//! when dropped, so that a stray `{:?}` in a log line cannot leak a credential.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use zeroize::Zeroize;

use crate::id::{OrgId, SecretId, UserId};
use crate::name::SecretName;
use crate::secret_type::SecretType;

/// A secret's values by field name.
#[derive(Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct SecretValues(BTreeMap<String, String>);

impl SecretValues {
    /// Wraps a field map.
    pub fn new(values: BTreeMap<String, String>) -> Self {
        SecretValues(values)
    }

    /// The fields and their values.
    pub fn expose(&self) -> &BTreeMap<String, String> {
        &self.0
    }

    /// Takes the fields and their values out.
    pub fn into_inner(mut self) -> BTreeMap<String, String> {
        std::mem::take(&mut self.0)
    }

    /// The field names, without values.
    pub fn field_names(&self) -> Vec<String> {
        self.0.keys().cloned().collect()
    }
}

impl fmt::Debug for SecretValues {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.0.keys().map(|k| (k, "<redacted>"))).finish()
    }
}

impl Drop for SecretValues {
    fn drop(&mut self) {
        for value in self.0.values_mut() {
            value.zeroize();
        }
    }
}

/// What anyone who may see a secret may know about it: everything but its values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretMeta {
    /// The secret's id.
    pub id: SecretId,
    /// The organization that owns it.
    pub org_id: OrgId,
    /// Its name, unique in the organization.
    pub name: SecretName,
    /// Its type, which fixes its fields.
    pub secret_type: SecretType,
    /// Free-form tags for grouping and search.
    pub tags: Vec<String>,
    /// The names of its fields.
    pub fields: Vec<String>,
    /// The current version, starting at 1; every update adds one.
    pub version: u32,
    /// Who created it.
    pub created_by: UserId,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When its current version was written.
    pub updated_at: DateTime<Utc>,
}

/// A tag that is empty, too long or has characters outside `[A-Za-z0-9._:/=-]`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid tag: tags are 1 to 128 characters from A-Z a-z 0-9 . _ : / = -")]
pub struct InvalidTag;

/// Checks and normalises a list of tags: each valid, duplicates removed, sorted.
pub fn parse_tags(tags: Vec<String>) -> Result<Vec<String>, InvalidTag> {
    let mut out = Vec::with_capacity(tags.len());
    for tag in tags {
        let ok = !tag.is_empty()
            && tag.len() <= 128
            && tag.bytes().all(|b| b.is_ascii_alphanumeric() || b"._:/=-".contains(&b));
        if !ok {
            return Err(InvalidTag);
        }
        out.push(tag);
    }
    out.sort();
    out.dedup();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_shows_values() {
        let v = SecretValues::new(BTreeMap::from([("password".to_owned(), "hunter2".to_owned())]));
        let shown = format!("{v:?}");
        assert!(shown.contains("password"));
        assert!(!shown.contains("hunter2"));
    }

    #[test]
    fn tags_are_sorted_and_deduplicated() {
        let tags = parse_tags(vec!["b".into(), "a".into(), "b".into()]).unwrap();
        assert_eq!(tags, vec!["a", "b"]);
        assert!(parse_tags(vec!["has space".into()]).is_err());
    }
}
