//! Roles and the permissions each one grants (CONTRACT.md, "Role → permission table").

use std::fmt;

/// An ordered role: each includes every permission of the ones below it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Read-only.
    Viewer,
    /// Read and change environments, use connectors (alias `editor`).
    Developer,
    /// Everything, including sharing and deleting.
    Admin,
}

impl Role {
    /// All roles, weakest first.
    pub const ALL: [Role; 3] = [Role::Viewer, Role::Developer, Role::Admin];

    /// Parses `viewer`, `developer`, `editor` (= developer) or `admin`.
    pub fn parse(s: &str) -> Result<Self, String> {
        match s {
            "viewer" => Ok(Self::Viewer),
            "developer" | "editor" => Ok(Self::Developer),
            "admin" => Ok(Self::Admin),
            other => Err(format!(
                "unknown role {other:?}; expected viewer, developer, editor or admin"
            )),
        }
    }

    /// The canonical name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Viewer => "viewer",
            Self::Developer => "developer",
            Self::Admin => "admin",
        }
    }

    /// The permissions this role grants.
    pub fn permissions(self) -> impl Iterator<Item = Permission> {
        Permission::ALL
            .iter()
            .copied()
            .filter(move |p| p.min_role() <= self)
    }

    /// Whether this role grants `permission`.
    pub fn grants(self, permission: Permission) -> bool {
        permission.min_role() <= self
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

macro_rules! permissions {
    ($($variant:ident = $name:literal : $role:ident,)*) => {
        /// A permission on an entity, named as in conda-store (`environment::read`).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Permission { $(
            #[doc = $name]
            $variant,
        )* }

        impl Permission {
            /// Every permission, in table order.
            pub const ALL: &'static [Permission] = &[$(Permission::$variant,)*];

            /// The wire name.
            pub fn as_str(self) -> &'static str {
                match self { $(Permission::$variant => $name,)* }
            }

            /// The weakest role that grants it.
            pub fn min_role(self) -> Role {
                match self { $(Permission::$variant => Role::$role,)* }
            }
        }
    };
}

permissions! {
    EnvironmentRead = "environment::read": Viewer,
    NamespaceRead = "namespace::read": Viewer,
    NamespaceRoleMappingRead = "namespace-role-mapping::read": Viewer,
    ServiceAccountRead = "service-account::read": Viewer,
    ConnectorRead = "connector::read": Viewer,
    EnvironmentCreate = "environment::create": Developer,
    EnvironmentUpdate = "environment::update": Developer,
    EnvironmentSolve = "environment::solve": Developer,
    BuildCancel = "build::cancel": Developer,
    SettingRead = "setting::read": Developer,
    ConnectorUse = "connector::use": Developer,
    EnvironmentDelete = "environment::delete": Admin,
    BuildDelete = "build::delete": Admin,
    NamespaceCreate = "namespace::create": Admin,
    NamespaceUpdate = "namespace::update": Admin,
    NamespaceDelete = "namespace::delete": Admin,
    NamespaceRoleMappingCreate = "namespace-role-mapping::create": Admin,
    NamespaceRoleMappingUpdate = "namespace-role-mapping::update": Admin,
    NamespaceRoleMappingDelete = "namespace-role-mapping::delete": Admin,
    SettingUpdate = "setting::update": Admin,
    ServiceAccountCreate = "service-account::create": Admin,
    ServiceAccountUpdate = "service-account::update": Admin,
    ServiceAccountDelete = "service-account::delete": Admin,
    ApiKeyManage = "api-key::manage": Admin,
    ConnectorCreate = "connector::create": Admin,
    ConnectorUpdate = "connector::update": Admin,
    ConnectorDelete = "connector::delete": Admin,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_nested_sets_of_permissions() {
        let viewer: Vec<_> = Role::Viewer.permissions().collect();
        let developer: Vec<_> = Role::Developer.permissions().collect();
        let admin: Vec<_> = Role::Admin.permissions().collect();
        assert_eq!(viewer.len(), 5);
        assert_eq!(developer.len(), 11);
        assert_eq!(admin.len(), Permission::ALL.len());
        assert!(viewer.iter().all(|p| developer.contains(p)));
        assert!(developer.iter().all(|p| admin.contains(p)));
    }

    #[test]
    fn editor_is_an_alias_of_developer() {
        assert_eq!(Role::parse("editor"), Ok(Role::Developer));
        assert!(Role::parse("Admin").is_err());
        assert!(Role::Developer.grants(Permission::ConnectorUse));
        assert!(!Role::Developer.grants(Permission::ApiKeyManage));
    }
}
