//! Secrets: typed, validated, encrypted at rest, versioned.

use reef_core::secret::{SecretMeta, SecretValues, parse_tags};
use reef_core::{Actor, Operation, OrgId, OrgRef, Page, PageRequest, SecretId, SecretName, SecretType};
use reef_store::StoreError;
use reef_store::secrets::{SecretDeletion, SecretFilter, SecretRef, SecretVersion};

use crate::{App, AppError};

/// A secret to create.
#[derive(Debug)]
pub struct NewSecret {
    /// Its name, unique in the organization.
    pub name: SecretName,
    /// Its type.
    pub secret_type: SecretType,
    /// Its values.
    pub values: SecretValues,
    /// Its tags.
    pub tags: Vec<String>,
}

/// A change to a secret. Values, when given, replace all values and make a new version.
#[derive(Debug, Default)]
pub struct SecretChange {
    /// The new values.
    pub values: Option<SecretValues>,
    /// The new tags.
    pub tags: Option<Vec<String>>,
    /// When given, the update happens only if this is still the current version.
    pub expected_version: Option<u32>,
}

/// A secret as a caller sees it: metadata, and values when asked for and allowed.
#[derive(Debug)]
pub struct SecretView {
    /// Everything but the values.
    pub meta: SecretMeta,
    /// The values of the requested version.
    pub values: Option<SecretValues>,
}

fn validate(secret_type: SecretType, values: &SecretValues) -> Result<(), AppError> {
    secret_type.validate(values.expose()).map_err(|e| AppError::Invalid {
        code: "invalid_secret",
        message: format!("the {secret_type} secret is not valid: {e}"),
        problems: e.problems,
    })
}

fn tags(tags: Vec<String>) -> Result<Vec<String>, AppError> {
    parse_tags(tags).map_err(|e| AppError::invalid("invalid_tag", e.to_string()))
}

impl App {
    async fn seal(&self, org: OrgId, id: SecretId, version: u32, values: &SecretValues) -> Result<String, AppError> {
        Ok(self.secrets.store(org, id, version, values.expose()).await?)
    }

    /// The values of version `version` of a secret; the caller has checked the caller's role.
    pub(crate) async fn secret_values(&self, meta: &SecretMeta, version: u32) -> Result<SecretValues, AppError> {
        let sealed =
            self.store.secret_sealed(meta.id, version).await?.ok_or(AppError::NotFound { kind: "secret version" })?;
        Ok(self.secrets.load(meta.org_id, meta.id, version, &sealed).await?)
    }

    /// Deletes, where they are kept, values recorded as garbage (left by a Vault outage, say);
    /// run periodically. Returns how many were deleted.
    pub async fn collect_secret_garbage(&self) -> Result<u64, AppError> {
        crate::secret_backend::collect_garbage(&self.store, &self.secrets).await
    }

    /// Deletes values kept outside the database that nothing points at any more: `unused`,
    /// and whatever else is recorded as garbage. A failure (Vault down) leaves them recorded
    /// for the next time, and is logged: the call it belongs to has its outcome.
    async fn discard(&self, unused: Option<&str>) {
        if let Some(stored) = unused
            && crate::secret_backend::kept_outside(stored)
            && let Err(e) = self.store.add_garbage(&[stored.to_owned()]).await
        {
            tracing::warn!(error = %e, "an unused secret value could not be recorded for deletion");
        }
        if let Err(e) = crate::secret_backend::collect_garbage(&self.store, &self.secrets).await {
            tracing::warn!(error = %e, "unused secret values could not be deleted from their backend yet");
        }
    }

    pub(crate) async fn find_secret(&self, org: OrgId, secret: &SecretRef) -> Result<SecretMeta, AppError> {
        self.store.secret(org, secret).await?.ok_or(AppError::NotFound { kind: "secret" })
    }

    /// Creates a secret after checking its fields against its type.
    pub async fn create_secret(&self, actor: &Actor, org: &OrgRef, new: NewSecret) -> Result<SecretMeta, AppError> {
        let (found, _) = self.authorize(actor, org, Operation::ReadSecretMetadata).await?;
        let name = new.name.clone();
        let result = async {
            self.authorize(actor, org, Operation::WriteSecrets).await?;
            validate(new.secret_type, &new.values)?;
            let now = self.now();
            let meta = SecretMeta {
                id: SecretId::new(),
                org_id: found.id,
                name: new.name,
                secret_type: new.secret_type,
                tags: tags(new.tags)?,
                fields: new.values.field_names(),
                version: 1,
                created_by: actor.user_id,
                created_at: now,
                updated_at: now,
            };
            let sealed = self.seal(found.id, meta.id, 1, &new.values).await?;
            let inserted = self.store.insert_secret(&meta, &sealed).await;
            if inserted.is_err() {
                self.discard(Some(&sealed)).await;
            }
            inserted.map_err(|e| match e {
                StoreError::Duplicate => {
                    AppError::conflict("name_taken", format!("a secret named `{name}` already exists"))
                }
                e => e.into(),
            })?;
            Ok(meta)
        }
        .await;
        self.record(actor, Some(found.id), "secret.create", "secret", name.as_str(), &result).await;
        result
    }

    /// An organization's secrets: metadata only.
    pub async fn list_secrets(
        &self,
        actor: &Actor,
        org: &OrgRef,
        filter: &SecretFilter,
        page: &PageRequest,
    ) -> Result<Page<SecretMeta>, AppError> {
        let (org, _) = self.authorize(actor, org, Operation::ReadSecretMetadata).await?;
        Ok(self.store.secrets(org.id, filter, page).await?)
    }

    /// A secret's metadata and, when `reveal` is set, its values (current version unless
    /// `version` is given). Values need the admin role.
    pub async fn get_secret(
        &self,
        actor: &Actor,
        org: &OrgRef,
        secret: &SecretRef,
        reveal: bool,
        version: Option<u32>,
    ) -> Result<SecretView, AppError> {
        let (found, _) = self.authorize(actor, org, Operation::ReadSecretMetadata).await?;
        let meta = self.find_secret(found.id, secret).await?;
        if !reveal {
            return Ok(SecretView { meta, values: None });
        }
        let result = async {
            self.authorize(actor, org, Operation::ReadSecretValues).await?;
            self.secret_values(&meta, version.unwrap_or(meta.version)).await
        }
        .await;
        // Reading values is not a mutation, but who read which credential is worth knowing.
        self.record(actor, Some(found.id), "secret.reveal", "secret", &meta.id.to_string(), &result).await;
        Ok(SecretView { meta, values: Some(result?) })
    }

    /// A secret's versions, newest first.
    pub async fn secret_versions(
        &self,
        actor: &Actor,
        org: &OrgRef,
        secret: &SecretRef,
    ) -> Result<Vec<SecretVersion>, AppError> {
        let (found, _) = self.authorize(actor, org, Operation::ReadSecretMetadata).await?;
        let meta = self.find_secret(found.id, secret).await?;
        Ok(self.store.secret_versions(meta.id).await?)
    }

    /// Changes a secret's values (making a new version) or tags.
    pub async fn update_secret(
        &self,
        actor: &Actor,
        org: &OrgRef,
        secret: &SecretRef,
        change: SecretChange,
    ) -> Result<SecretMeta, AppError> {
        let (found, _) = self.authorize(actor, org, Operation::ReadSecretMetadata).await?;
        let meta = self.find_secret(found.id, secret).await?;
        let result = async {
            self.authorize(actor, org, Operation::WriteSecrets).await?;
            if let Some(expected) = change.expected_version
                && expected != meta.version
            {
                return Err(AppError::conflict(
                    "version_mismatch",
                    format!("the secret is at version {}, not {expected}: read it again and retry", meta.version),
                ));
            }
            let mut updated = meta.clone();
            updated.updated_at = self.now();
            if let Some(t) = change.tags {
                updated.tags = tags(t)?;
            }
            let sealed = match &change.values {
                Some(values) => {
                    validate(meta.secret_type, values)?;
                    updated.version = meta.version + 1;
                    updated.fields = values.field_names();
                    Some(self.seal(found.id, meta.id, updated.version, values).await?)
                }
                None => None,
            };
            let written = self.store.update_secret(&updated, meta.version, sealed.as_deref(), actor.user_id).await;
            if !matches!(written, Ok(true))
                && let Some(sealed) = &sealed
            {
                self.discard(Some(sealed)).await;
            }
            if !written? {
                return Err(AppError::conflict(
                    "version_mismatch",
                    "the secret was changed concurrently: read it again and retry",
                ));
            }
            Ok(updated)
        }
        .await;
        self.record(actor, Some(found.id), "secret.update", "secret", &meta.id.to_string(), &result).await;
        result
    }

    /// Deletes a secret and all its versions, unless something uses it.
    pub async fn delete_secret(&self, actor: &Actor, org: &OrgRef, secret: &SecretRef) -> Result<(), AppError> {
        let (found, _) = self.authorize(actor, org, Operation::ReadSecretMetadata).await?;
        let meta = self.find_secret(found.id, secret).await?;
        let result = async {
            self.authorize(actor, org, Operation::WriteSecrets).await?;
            match self.store.delete_secret(found.id, meta.id).await? {
                SecretDeletion::Deleted => {
                    self.discard(None).await;
                    Ok(())
                }
                SecretDeletion::NotFound => Err(AppError::NotFound { kind: "secret" }),
                SecretDeletion::InUse(users) => Err(AppError::conflict(
                    "secret_in_use",
                    format!("the secret is in use by {}; remove those first", users.join(", ")),
                )),
            }
        }
        .await;
        self.record(actor, Some(found.id), "secret.delete", "secret", &meta.id.to_string(), &result).await;
        result
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use reef_core::OrgName;
    use reef_store::Store;
    use reef_store::crypto::SecretCipher;

    use super::*;
    use crate::AppConfig;

    #[tokio::test]
    async fn a_secret_in_use_is_not_deleted_and_answers_secret_in_use() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("reef.db").display());
        let store = Store::connect(&url).await.unwrap();
        let app = App::new(store.clone(), SecretCipher::new(&[1u8; 32]), AppConfig::default());
        let boot = app.bootstrap().await.unwrap().unwrap();
        let actor = app.authenticate(&boot.token.secret).await.unwrap();
        let org = OrgRef::Name(OrgName::parse("default").unwrap());
        let values =
            BTreeMap::from([("username".to_owned(), "u".to_owned()), ("password".to_owned(), "p-12345678".to_owned())]);
        let new = NewSecret {
            name: SecretName::parse("db").unwrap(),
            secret_type: SecretType::Password,
            values: SecretValues::new(values),
            tags: vec![],
        };
        let meta = app.create_secret(&actor, &org, new).await.unwrap();
        store.add_secret_use(meta.id, "cluster/test").await.unwrap();

        let secret = SecretRef::Id(meta.id);
        let err = app.delete_secret(&actor, &org, &secret).await.unwrap_err();
        assert_eq!(err.code(), "secret_in_use");
        assert!(err.to_string().contains("cluster/test"), "{err}");
        assert!(app.get_secret(&actor, &org, &secret, false, None).await.is_ok(), "the secret was deleted");

        store.remove_secret_use(meta.id, "cluster/test").await.unwrap();
        app.delete_secret(&actor, &org, &secret).await.unwrap();
    }
}
