//! Organization members and their roles.

use reef_core::{Actor, Member, Operation, OrgRef, Page, PageRequest, Role, UserName};
use reef_store::orgs::MemberChange;

use crate::{App, AppError};

/// Only an owner may grant the owner role or change an owner's membership.
fn check_owner_rules(actor_role: Role, target_current: Option<Role>, target_new: Option<Role>) -> Result<(), AppError> {
    let touches_owner = target_current == Some(Role::Owner) || target_new == Some(Role::Owner);
    if touches_owner && actor_role != Role::Owner {
        return Err(AppError::Forbidden { role: actor_role, needed: Role::Owner });
    }
    Ok(())
}

fn last_owner() -> AppError {
    AppError::conflict("last_owner", "an organization needs at least one owner: make another member owner first")
}

impl App {
    /// An organization's members.
    pub async fn list_members(
        &self,
        actor: &Actor,
        org: &OrgRef,
        page: &PageRequest,
    ) -> Result<Page<Member>, AppError> {
        let (org, _) = self.authorize(actor, org, Operation::ListMembers).await?;
        Ok(self.store.members(org.id, page).await?)
    }

    /// Adds an existing user to an organization. Admins add members; only owners add owners.
    pub async fn add_member(
        &self,
        actor: &Actor,
        org: &OrgRef,
        username: &UserName,
        role: Role,
    ) -> Result<Member, AppError> {
        let (found, _) = self.authorize(actor, org, Operation::ListMembers).await?;
        let result = async {
            let (_, actor_role) = self.authorize(actor, org, Operation::ManageMembers).await?;
            check_owner_rules(actor_role, None, Some(role))?;
            let user = self.store.user_by_name(username).await?.ok_or(AppError::NotFound { kind: "user" })?;
            self.memberships.forget_org(found.id);
            self.store.add_member(found.id, user.id, role, self.now()).await.map_err(|e| match e {
                reef_store::StoreError::Duplicate => {
                    AppError::conflict("already_member", format!("`{username}` is already a member"))
                }
                e => e.into(),
            })?;
            self.store.member(found.id, user.id).await?.ok_or(AppError::NotFound { kind: "member" })
        }
        .await;
        self.record(actor, Some(found.id), "member.add", "member", username.as_str(), &result).await;
        result
    }

    /// Changes a member's role.
    pub async fn set_member_role(
        &self,
        actor: &Actor,
        org: &OrgRef,
        username: &UserName,
        role: Role,
    ) -> Result<Member, AppError> {
        let (found, _) = self.authorize(actor, org, Operation::ListMembers).await?;
        let result = async {
            let (_, actor_role) = self.authorize(actor, org, Operation::ManageMembers).await?;
            let user = self.store.user_by_name(username).await?.ok_or(AppError::NotFound { kind: "member" })?;
            let current = self.store.member(found.id, user.id).await?.ok_or(AppError::NotFound { kind: "member" })?;
            check_owner_rules(actor_role, Some(current.role), Some(role))?;
            let changed = self.store.set_member_role(found.id, user.id, role).await;
            self.memberships.forget_org(found.id);
            match changed? {
                MemberChange::Done => {}
                MemberChange::NotMember => return Err(AppError::NotFound { kind: "member" }),
                MemberChange::LastOwner => return Err(last_owner()),
            }
            self.store.member(found.id, user.id).await?.ok_or(AppError::NotFound { kind: "member" })
        }
        .await;
        self.record(actor, Some(found.id), "member.update", "member", username.as_str(), &result).await;
        result
    }

    /// Removes a member from an organization.
    pub async fn remove_member(&self, actor: &Actor, org: &OrgRef, username: &UserName) -> Result<(), AppError> {
        let (found, _) = self.authorize(actor, org, Operation::ListMembers).await?;
        let result = async {
            let (_, actor_role) = self.authorize(actor, org, Operation::ManageMembers).await?;
            let user = self.store.user_by_name(username).await?.ok_or(AppError::NotFound { kind: "member" })?;
            let current = self.store.member(found.id, user.id).await?.ok_or(AppError::NotFound { kind: "member" })?;
            check_owner_rules(actor_role, Some(current.role), None)?;
            let removed = self.store.remove_member(found.id, user.id).await;
            self.memberships.forget_org(found.id);
            match removed? {
                MemberChange::Done => Ok(()),
                MemberChange::NotMember => Err(AppError::NotFound { kind: "member" }),
                MemberChange::LastOwner => Err(last_owner()),
            }
        }
        .await;
        self.record(actor, Some(found.id), "member.remove", "member", username.as_str(), &result).await;
        result
    }
}
