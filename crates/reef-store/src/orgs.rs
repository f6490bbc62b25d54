//! Organizations and memberships.

use chrono::{DateTime, Utc};
use reef_core::{Member, OrgId, OrgName, OrgRef, Organization, Page, PageRequest, Role, UserId};
use sqlx::AssertSqlSafe;
use sqlx::any::AnyRow;

use crate::rows::{get_parsed, get_time, millis};
use crate::{Store, StoreError};

fn org(row: &AnyRow) -> Result<Organization, StoreError> {
    Ok(Organization {
        id: get_parsed(row, "id")?,
        name: get_parsed(row, "name")?,
        created_at: get_time(row, "created_at")?,
    })
}

fn member(row: &AnyRow) -> Result<Member, StoreError> {
    Ok(Member {
        org_id: get_parsed(row, "org_id")?,
        user_id: get_parsed(row, "user_id")?,
        username: get_parsed(row, "username")?,
        role: get_parsed(row, "role")?,
        joined_at: get_time(row, "created_at")?,
    })
}

fn ref_condition(r: &OrgRef) -> (&'static str, String) {
    match r {
        OrgRef::Id(id) => ("o.id", id.to_string()),
        OrgRef::Name(name) => ("o.name", name.as_str().to_owned()),
    }
}

impl Store {
    /// Creates an organization with `owner` as its first owner, atomically.
    pub async fn create_org(
        &self,
        id: OrgId,
        name: &OrgName,
        owner: UserId,
        now: DateTime<Utc>,
    ) -> Result<Organization, StoreError> {
        let mut tx = self.pool().begin().await.map_err(StoreError::from_sqlx)?;
        sqlx::query("INSERT INTO orgs (id, name, created_by, created_at) VALUES ($1, $2, $3, $4)")
            .bind(id.to_string())
            .bind(name.as_str().to_owned())
            .bind(owner.to_string())
            .bind(millis(now))
            .execute(&mut *tx)
            .await
            .map_err(StoreError::from_sqlx)?;
        sqlx::query("INSERT INTO memberships (org_id, user_id, role, created_at) VALUES ($1, $2, $3, $4)")
            .bind(id.to_string())
            .bind(owner.to_string())
            .bind(Role::Owner.as_str())
            .bind(millis(now))
            .execute(&mut *tx)
            .await
            .map_err(StoreError::from_sqlx)?;
        tx.commit().await.map_err(StoreError::from_sqlx)?;
        Ok(Organization { id, name: name.clone(), created_at: now })
    }

    /// The organization `org` names and `user`'s role in it, or `None` when it does not exist
    /// or `user` is not a member: the two cases are deliberately indistinguishable.
    pub async fn org_membership(
        &self,
        which: &OrgRef,
        user: UserId,
    ) -> Result<Option<(Organization, Role)>, StoreError> {
        let (column, value) = ref_condition(which);
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT o.id, o.name, o.created_at, m.role FROM orgs o \
             JOIN memberships m ON m.org_id = o.id WHERE {column} = $1 AND m.user_id = $2"
        )))
        .bind(value)
        .bind(user.to_string())
        .fetch_optional(self.pool())
        .await
        .map_err(StoreError::from_sqlx)?;
        match row {
            Some(row) => Ok(Some((org(&row)?, get_parsed(&row, "role")?))),
            None => Ok(None),
        }
    }

    /// The organization named `name`, whoever asks: for configuration that names
    /// organizations (single sign-on's group mapping), not for answering a caller.
    pub async fn org_by_name(&self, name: &OrgName) -> Result<Option<Organization>, StoreError> {
        let row = sqlx::query("SELECT id, name, created_at FROM orgs WHERE name = $1")
            .bind(name.as_str().to_owned())
            .fetch_optional(self.pool())
            .await
            .map_err(StoreError::from_sqlx)?;
        row.as_ref().map(org).transpose()
    }

    /// The organizations `user` belongs to, with their role, ordered by id.
    pub async fn orgs_of_user(
        &self,
        user: UserId,
        page: &PageRequest,
    ) -> Result<Page<(Organization, Role)>, StoreError> {
        let after = page.after.as_ref().map(|c| c.key().to_owned()).unwrap_or_default();
        let rows = sqlx::query(
            "SELECT o.id, o.name, o.created_at, m.role FROM orgs o JOIN memberships m ON m.org_id = o.id \
             WHERE m.user_id = $1 AND o.id > $2 ORDER BY o.id LIMIT $3",
        )
        .bind(user.to_string())
        .bind(after)
        .bind(i64::from(page.limit) + 1)
        .fetch_all(self.pool())
        .await
        .map_err(StoreError::from_sqlx)?;
        let items =
            rows.iter().map(|r| Ok((org(r)?, get_parsed(r, "role")?))).collect::<Result<Vec<_>, StoreError>>()?;
        Ok(Page::from_rows(items, page.limit, |(o, _)| o.id.to_string()))
    }

    /// Deletes an organization and, by cascade, its memberships and secrets.
    pub async fn delete_org(&self, id: OrgId) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM orgs WHERE id = $1")
            .bind(id.to_string())
            .execute(self.pool())
            .await
            .map_err(StoreError::from_sqlx)?;
        Ok(done.rows_affected() > 0)
    }

    /// An organization's members, ordered by user id.
    pub async fn members(&self, org_id: OrgId, page: &PageRequest) -> Result<Page<Member>, StoreError> {
        let after = page.after.as_ref().map(|c| c.key().to_owned()).unwrap_or_default();
        let rows = sqlx::query(
            "SELECT m.org_id, m.user_id, u.username, m.role, m.created_at FROM memberships m \
             JOIN users u ON u.id = m.user_id WHERE m.org_id = $1 AND m.user_id > $2 ORDER BY m.user_id LIMIT $3",
        )
        .bind(org_id.to_string())
        .bind(after)
        .bind(i64::from(page.limit) + 1)
        .fetch_all(self.pool())
        .await
        .map_err(StoreError::from_sqlx)?;
        let items = rows.iter().map(member).collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_rows(items, page.limit, |m| m.user_id.to_string()))
    }

    /// One member of an organization.
    pub async fn member(&self, org_id: OrgId, user_id: UserId) -> Result<Option<Member>, StoreError> {
        let row = sqlx::query(
            "SELECT m.org_id, m.user_id, u.username, m.role, m.created_at FROM memberships m \
             JOIN users u ON u.id = m.user_id WHERE m.org_id = $1 AND m.user_id = $2",
        )
        .bind(org_id.to_string())
        .bind(user_id.to_string())
        .fetch_optional(self.pool())
        .await
        .map_err(StoreError::from_sqlx)?;
        row.as_ref().map(member).transpose()
    }

    /// Adds a member; [`StoreError::Duplicate`] when the user already is one.
    pub async fn add_member(
        &self,
        org_id: OrgId,
        user_id: UserId,
        role: Role,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO memberships (org_id, user_id, role, created_at) VALUES ($1, $2, $3, $4)")
            .bind(org_id.to_string())
            .bind(user_id.to_string())
            .bind(role.as_str())
            .bind(millis(now))
            .execute(self.pool())
            .await
            .map_err(StoreError::from_sqlx)?;
        Ok(())
    }

    /// Changes a member's role, unless that would leave the organization without an owner.
    /// Returns `Ok(false)` when the user is not a member.
    pub async fn set_member_role(
        &self,
        org_id: OrgId,
        user_id: UserId,
        role: Role,
    ) -> Result<MemberChange, StoreError> {
        let mut tx = self.pool().begin().await.map_err(StoreError::from_sqlx)?;
        lock_org(&mut tx, org_id).await?;
        let current: Option<(String,)> =
            sqlx::query_as("SELECT role FROM memberships WHERE org_id = $1 AND user_id = $2")
                .bind(org_id.to_string())
                .bind(user_id.to_string())
                .fetch_optional(&mut *tx)
                .await
                .map_err(StoreError::from_sqlx)?;
        let refused = match current {
            None => Some(MemberChange::NotMember),
            Some((current,)) if current == Role::Owner.as_str() && role != Role::Owner => {
                (owners(&mut tx, org_id).await? <= 1).then_some(MemberChange::LastOwner)
            }
            Some(_) => None,
        };
        if let Some(refused) = refused {
            // Ended now, not when the connection goes back to the pool: an open write
            // transaction would make the next writer's fail on SQLite.
            tx.rollback().await.map_err(StoreError::from_sqlx)?;
            return Ok(refused);
        }
        sqlx::query("UPDATE memberships SET role = $1 WHERE org_id = $2 AND user_id = $3")
            .bind(role.as_str())
            .bind(org_id.to_string())
            .bind(user_id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(StoreError::from_sqlx)?;
        tx.commit().await.map_err(StoreError::from_sqlx)?;
        Ok(MemberChange::Done)
    }

    /// Removes a member, unless they are the organization's last owner.
    pub async fn remove_member(&self, org_id: OrgId, user_id: UserId) -> Result<MemberChange, StoreError> {
        let mut tx = self.pool().begin().await.map_err(StoreError::from_sqlx)?;
        lock_org(&mut tx, org_id).await?;
        let current: Option<(String,)> =
            sqlx::query_as("SELECT role FROM memberships WHERE org_id = $1 AND user_id = $2")
                .bind(org_id.to_string())
                .bind(user_id.to_string())
                .fetch_optional(&mut *tx)
                .await
                .map_err(StoreError::from_sqlx)?;
        let refused = match current {
            None => Some(MemberChange::NotMember),
            Some((current,)) if current == Role::Owner.as_str() => {
                (owners(&mut tx, org_id).await? <= 1).then_some(MemberChange::LastOwner)
            }
            Some(_) => None,
        };
        if let Some(refused) = refused {
            tx.rollback().await.map_err(StoreError::from_sqlx)?;
            return Ok(refused);
        }
        sqlx::query("DELETE FROM memberships WHERE org_id = $1 AND user_id = $2")
            .bind(org_id.to_string())
            .bind(user_id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(StoreError::from_sqlx)?;
        tx.commit().await.map_err(StoreError::from_sqlx)?;
        Ok(MemberChange::Done)
    }
}

/// The result of changing or removing a membership.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberChange {
    /// The change was made.
    Done,
    /// The user is not a member.
    NotMember,
    /// The change would leave the organization without an owner; nothing was changed.
    LastOwner,
}

/// Serializes changes to an organization's memberships until `tx` ends, so that two changes
/// cannot both count "another owner remains" and together remove every owner. A no-op write
/// to the org's row: PostgreSQL locks the row, SQLite takes its write lock at once (and waits
/// for it, instead of failing when a concurrent writer commits first).
async fn lock_org(tx: &mut sqlx::Transaction<'_, sqlx::Any>, org_id: OrgId) -> Result<(), StoreError> {
    sqlx::query("UPDATE orgs SET created_at = created_at WHERE id = $1")
        .bind(org_id.to_string())
        .execute(&mut **tx)
        .await
        .map_err(StoreError::from_sqlx)?;
    Ok(())
}

async fn owners(tx: &mut sqlx::Transaction<'_, sqlx::Any>, org_id: OrgId) -> Result<i64, StoreError> {
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM memberships WHERE org_id = $1 AND role = $2")
        .bind(org_id.to_string())
        .bind(Role::Owner.as_str())
        .fetch_one(&mut **tx)
        .await
        .map_err(StoreError::from_sqlx)?;
    Ok(n)
}
