//! Organizations.

use reef_core::{Actor, Operation, OrgId, OrgName, OrgRef, Organization, Page, PageRequest, Role};

use crate::{App, AppError};

impl App {
    /// The organization `org` names and the caller's role in it, if the role allows `op`.
    /// A caller who is not a member gets `NotFound`, exactly as for an organization that does
    /// not exist.
    pub(crate) async fn authorize(
        &self,
        actor: &Actor,
        org: &OrgRef,
        op: Operation,
    ) -> Result<(Organization, Role), AppError> {
        let (org, role) = match self.memberships.get(actor.user_id, org) {
            Some(found) => found,
            None => {
                let Some((found, role)) = self.store.org_membership(org, actor.user_id).await? else {
                    return Err(AppError::NotFound { kind: "organization" });
                };
                self.memberships.insert(actor.user_id, org, &found, role);
                (found, role)
            }
        };
        if !role.allows(op) {
            return Err(AppError::Forbidden { role, needed: op.minimum_role() });
        }
        Ok((org, role))
    }

    /// Creates an organization with the caller as its owner.
    pub async fn create_org(&self, actor: &Actor, name: OrgName) -> Result<Organization, AppError> {
        let result = self.store.create_org(OrgId::new(), &name, actor.user_id, self.now()).await.map_err(|e| match e {
            reef_store::StoreError::Duplicate => {
                AppError::conflict("name_taken", format!("an organization named `{name}` already exists"))
            }
            e => e.into(),
        });
        let org_id = result.as_ref().ok().map(|o| o.id);
        self.record(actor, org_id, "organization.create", "organization", name.as_str(), &result).await;
        result
    }

    /// The organizations the caller belongs to, with the caller's role in each.
    pub async fn list_orgs(&self, actor: &Actor, page: &PageRequest) -> Result<Page<(Organization, Role)>, AppError> {
        Ok(self.store.orgs_of_user(actor.user_id, page).await?)
    }

    /// One organization the caller belongs to, with the caller's role.
    pub async fn get_org(&self, actor: &Actor, org: &OrgRef) -> Result<(Organization, Role), AppError> {
        self.authorize(actor, org, Operation::ReadOrganization).await
    }

    /// Deletes an organization and everything in it. Owners only.
    pub async fn delete_org(&self, actor: &Actor, org: &OrgRef) -> Result<(), AppError> {
        let (found, _) = self.authorize(actor, org, Operation::ReadOrganization).await?;
        let result = match self.authorize(actor, org, Operation::DeleteOrganization).await {
            Ok(_) => {
                let deleted = self.store.delete_org(found.id).await.map(|_| ()).map_err(AppError::from);
                self.memberships.forget_org(found.id);
                deleted
            }
            Err(e) => Err(e),
        };
        self.record(actor, Some(found.id), "organization.delete", "organization", found.name.as_str(), &result).await;
        result
    }
}
