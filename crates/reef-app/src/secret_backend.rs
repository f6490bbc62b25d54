//! Where secret values live: sealed in the database under the master key (the built-in
//! backend, the default), or in Vault/OpenBao's KV v2 engine with only a reference in the
//! database. The text stored for a version says which: `v1.<key id>.<ciphertext>` or
//! `vault:<mount>:<path>`, so a server reads values of either kind whichever backend it writes
//! to, and values can move between backends one by one while servers run.
//!
//! Also the two passes over every stored value: sealing again under the newest master key
//! after a rotation, and moving secret values from one backend to the other. Both replace a
//! value only if it is unchanged since it was read, and can be interrupted and run again.

use std::collections::BTreeMap;
use std::sync::Arc;

use rand::RngCore as _;
use reef_core::secret::SecretValues;
use reef_core::{ClusterId, OrgId, SecretId};
use reef_store::Store;
use reef_store::crypto::{CryptoError, SecretCipher};
use reef_store::sealed::{SealedCursor, SealedKind, SealedPlace, SealedValue};
use sha2::{Digest as _, Sha256};
use zeroize::Zeroizing;

use crate::AppError;
use crate::vault::{Vault, VaultError};

const VAULT_PREFIX: &str = "vault:";

/// Which backend new secret values go to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendKind {
    /// Sealed in the database.
    Builtin,
    /// In Vault's KV v2 engine.
    Vault,
}

impl std::fmt::Display for BackendKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            BackendKind::Builtin => "builtin",
            BackendKind::Vault => "vault",
        })
    }
}

/// Why a value could not be stored or loaded.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// The built-in cipher failed (an unknown key, a corrupt value).
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    /// Vault failed.
    #[error(transparent)]
    Vault(#[from] VaultError),
    /// A value is stored in Vault, and this server has no Vault configured.
    #[error("the value is kept in Vault, and this server has no Vault configured (--vault-addr)")]
    NoVault,
    /// The stored values are not a JSON object of strings.
    #[error("stored secret values are unreadable")]
    Unreadable,
}

impl From<BackendError> for AppError {
    fn from(e: BackendError) -> Self {
        match e {
            BackendError::Vault(VaultError::Unavailable { .. }) => AppError::DependencyDown {
                code: "secret_backend_unavailable",
                message: format!("{e}; secrets' values cannot be read or written until it is back"),
            },
            BackendError::Vault(VaultError::Denied { .. }) => {
                AppError::DependencyFailed { code: "secret_backend_refused", message: e.to_string() }
            }
            BackendError::NoVault => {
                AppError::DependencyDown { code: "secret_backend_unavailable", message: e.to_string() }
            }
            BackendError::Vault(_) => {
                AppError::DependencyFailed { code: "secret_backend_failed", message: e.to_string() }
            }
            BackendError::Crypto(e) => AppError::Internal(e.into()),
            BackendError::Unreadable => AppError::Internal(reef_store::StoreError::Corrupt { column: "secret values" }),
        }
    }
}

/// The context a secret's version is sealed under.
pub(crate) fn secret_context(org: OrgId, id: SecretId, version: u32) -> String {
    format!("secret/{org}/{id}/{version}")
}

/// The context a cluster's kubeconfig is sealed under: it opens for that cluster only.
pub(crate) fn kubeconfig_context(org: OrgId, cluster: ClusterId) -> String {
    format!("cluster/{org}/{cluster}/kubeconfig")
}

fn context(place: &SealedPlace) -> String {
    match *place {
        SealedPlace::SecretVersion { org, secret, version } => secret_context(org, secret, version),
        SealedPlace::Kubeconfig { org, cluster } => kubeconfig_context(org, cluster),
    }
}

/// Stores and loads secret values in the configured backend. Cheap to clone.
#[derive(Debug, Clone)]
pub struct SecretBackend {
    cipher: SecretCipher,
    vault: Option<Arc<Vault>>,
    writes_to: BackendKind,
}

impl From<SecretCipher> for SecretBackend {
    fn from(cipher: SecretCipher) -> Self {
        SecretBackend { cipher, vault: None, writes_to: BackendKind::Builtin }
    }
}

impl SecretBackend {
    /// Values sealed by `cipher`; when `vault` is given, values in Vault are read too, and
    /// new values go to `writes_to`.
    pub fn new(cipher: SecretCipher, vault: Option<Vault>, writes_to: BackendKind) -> Result<Self, BackendError> {
        if writes_to == BackendKind::Vault && vault.is_none() {
            return Err(BackendError::NoVault);
        }
        Ok(SecretBackend { cipher, vault: vault.map(Arc::new), writes_to })
    }

    /// The cipher under the master key (which also seals kubeconfigs, whatever the backend).
    pub fn cipher(&self) -> &SecretCipher {
        &self.cipher
    }

    /// Where new values go.
    pub fn writes_to(&self) -> BackendKind {
        self.writes_to
    }

    fn vault(&self) -> Result<&Vault, BackendError> {
        self.vault.as_deref().ok_or(BackendError::NoVault)
    }

    /// Stores the values of version `version` of a secret in `kind`'s backend; returns the text
    /// to keep in the database. In Vault the path ends with `suffix`, or a random one.
    async fn store_in(
        &self,
        kind: BackendKind,
        org: OrgId,
        secret: SecretId,
        version: u32,
        values: &BTreeMap<String, String>,
        suffix: Option<String>,
    ) -> Result<String, BackendError> {
        match kind {
            BackendKind::Builtin => {
                let json = Zeroizing::new(serde_json::to_vec(values).map_err(|_| BackendError::Unreadable)?);
                Ok(self.cipher.seal(&json, &secret_context(org, secret, version))?)
            }
            BackendKind::Vault => {
                let vault = self.vault()?;
                // A random suffix: two writers racing for one version each get their own
                // path, and the loser's cannot overwrite the winner's.
                let suffix = suffix.unwrap_or_else(|| {
                    let mut nonce = [0u8; 6];
                    rand::rng().fill_bytes(&mut nonce);
                    hex(&nonce)
                });
                let path = format!("{}/orgs/{org}/secrets/{secret}/{version}-{suffix}", vault.prefix());
                vault.write(&path, values).await?;
                Ok(format!("{VAULT_PREFIX}{}:{path}", vault.mount()))
            }
        }
    }

    /// Stores the values of version `version` of a secret where new values go.
    pub async fn store(
        &self,
        org: OrgId,
        secret: SecretId,
        version: u32,
        values: &BTreeMap<String, String>,
    ) -> Result<String, BackendError> {
        self.store_in(self.writes_to, org, secret, version, values, None).await
    }

    /// Loads the values of version `version` of a secret from the text kept for it.
    pub async fn load(
        &self,
        org: OrgId,
        secret: SecretId,
        version: u32,
        stored: &str,
    ) -> Result<SecretValues, BackendError> {
        match vault_path(stored) {
            Some((_mount, path)) => Ok(self.vault()?.read(path).await?),
            None => {
                let json = self.cipher.open(stored, &secret_context(org, secret, version))?;
                serde_json::from_slice(&json).map_err(|_| BackendError::Unreadable)
            }
        }
    }

    /// Deletes what `stored` refers to, when it is kept outside the database. Sealed values go
    /// with their row.
    pub async fn forget(&self, stored: &str) -> Result<(), BackendError> {
        match vault_path(stored) {
            Some((_, path)) => Ok(self.vault()?.delete(path).await?),
            None => Ok(()),
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Deletes, where they are kept, the copies recorded as garbage (values of deleted secrets,
/// copies left by a move). Stops at the first failure (Vault down, say): they stay recorded
/// for the next time. Returns how many were deleted.
pub async fn collect_garbage(store: &Store, backend: &SecretBackend) -> Result<u64, AppError> {
    let mut deleted = 0;
    loop {
        let page = store.garbage(PAGE).await?;
        if page.is_empty() {
            return Ok(deleted);
        }
        for stored in &page {
            backend.forget(stored).await?;
            store.remove_garbage(stored).await?;
            deleted += 1;
        }
    }
}

/// Whether `stored` refers to a value kept outside the database (in Vault).
pub(crate) fn kept_outside(stored: &str) -> bool {
    vault_path(stored).is_some()
}

/// The mount and path of a value kept in Vault, or `None` for a sealed value.
fn vault_path(stored: &str) -> Option<(&str, &str)> {
    stored.strip_prefix(VAULT_PREFIX)?.split_once(':')
}

/// What a pass over stored values did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PassReport {
    /// Values looked at.
    pub examined: u64,
    /// Values rewritten.
    pub changed: u64,
    /// Values that changed under the pass (a server wrote them meanwhile) and were left as
    /// they are: already in their new form, since servers write in it.
    pub raced: u64,
}

const PAGE: u32 = 100;

/// Seals every sealed value (secrets' values and kubeconfigs) that is not sealed under the
/// current sealing key again under it. `progress` is called after each page.
pub async fn reseal_all(
    store: &Store,
    backend: &SecretBackend,
    mut progress: impl FnMut(&PassReport),
) -> Result<PassReport, AppError> {
    let cipher = backend.cipher();
    let mut report = PassReport::default();
    for kind in [SealedKind::SecretVersions, SealedKind::Kubeconfigs] {
        let mut cursor = SealedCursor::default();
        loop {
            let (page, next) = store.sealed_values(kind, &cursor, PAGE).await?;
            if page.is_empty() {
                break;
            }
            let sealing = cipher.key_id();
            for value in &page {
                report.examined += 1;
                match SecretCipher::sealed_by(&value.stored) {
                    Some(key) if key != sealing => {}
                    _ => continue,
                }
                let context = context(&value.place);
                let plain = cipher.open(&value.stored, &context).map_err(BackendError::from)?;
                let sealed = cipher.seal(&plain, &context).map_err(BackendError::from)?;
                if store.replace_sealed(value, &sealed).await? {
                    report.changed += 1;
                } else {
                    report.raced += 1;
                }
            }
            progress(&report);
            cursor = next;
        }
    }
    Ok(report)
}

/// Moves every secret's values to the backend `to`: each value kept elsewhere is written there,
/// the database row is pointed at it, and the old copy is deleted. `progress` is called after
/// each page. Stopped at any point, a second run finishes the work: a value is only ever
/// pointed at once its copy is written.
pub async fn migrate_all(
    store: &Store,
    backend: &SecretBackend,
    to: BackendKind,
    mut progress: impl FnMut(&PassReport),
) -> Result<PassReport, AppError> {
    if to == BackendKind::Vault {
        backend.vault()?;
    }
    // Copies an interrupted run left behind first.
    collect_garbage(store, backend).await?;
    let mut report = PassReport::default();
    let mut cursor = SealedCursor::default();
    loop {
        let (page, next) = store.sealed_values(SealedKind::SecretVersions, &cursor, PAGE).await?;
        if page.is_empty() {
            break;
        }
        for value in &page {
            report.examined += 1;
            migrate_one(store, backend, to, value, &mut report).await?;
        }
        progress(&report);
        cursor = next;
    }
    collect_garbage(store, backend).await?;
    Ok(report)
}

async fn migrate_one(
    store: &Store,
    backend: &SecretBackend,
    to: BackendKind,
    value: &SealedValue,
    report: &mut PassReport,
) -> Result<(), AppError> {
    let SealedPlace::SecretVersion { org, secret, version } = value.place else { return Ok(()) };
    let in_vault = kept_outside(&value.stored);
    if in_vault == (to == BackendKind::Vault) {
        return Ok(());
    }
    let values = backend.load(org, secret, version, &value.stored).await?;
    // In Vault, the path is named after the value it replaces: a run that stops after writing
    // it and before pointing at it writes the same path again when run again, leaving nothing.
    let suffix = hex(&Sha256::digest(value.stored.as_bytes())[..6]);
    let stored = backend.store_in(to, org, secret, version, values.expose(), Some(suffix)).await?;
    // The old copy, when kept in Vault, is recorded as garbage in the same transaction that
    // stops pointing at it, and deleted at the end.
    if store.replace_sealed_leaving(value, &stored, in_vault).await? {
        report.changed += 1;
    } else {
        report.raced += 1;
        // The row changed meanwhile: the copy just written is not pointed at.
        if to == BackendKind::Vault {
            store.add_garbage(&[stored]).await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_text_says_which_backend_holds_the_value() {
        assert_eq!(
            vault_path("vault:secret:reef/orgs/o/secrets/s/1-ab"),
            Some(("secret", "reef/orgs/o/secrets/s/1-ab"))
        );
        assert_eq!(vault_path("v1.abcd.AAAA"), None);
    }
}
