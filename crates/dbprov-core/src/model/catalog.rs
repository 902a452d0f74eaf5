//! Batched catalog reads: one request names everything a reconcile needs, and the engine answers it with a
//! few queries (not one per object).

use std::collections::{BTreeMap, BTreeSet};

use crate::model::database::DatabaseState;
use crate::model::grant::GrantState;
use crate::model::role::RoleState;
use crate::name::Name;

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DatabaseRequest {
    pub name: Name,
    /// Also read what lives inside the database (PostgreSQL extensions and schemas), which costs a
    /// connection into it.
    pub inside: bool,
}

/// The grants of one grantee in one database.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GrantScope {
    pub grantee: Name,
    pub database: Name,
}

/// What to read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CatalogRequest {
    pub databases: Vec<DatabaseRequest>,
    pub roles: Vec<Name>,
    pub grants: Vec<GrantScope>,
    /// Grant scopes (also listed in `grants`) whose declaration, now and as last applied, only concerns the
    /// database itself (PostgreSQL `CONNECT`/`CREATE`/`TEMPORARY`): the engine may skip reading the objects
    /// inside the database, which costs a connection into it. Engines that read everything in one pass ignore it.
    pub database_level_grants: BTreeSet<GrantScope>,
}

impl CatalogRequest {
    pub fn database(mut self, name: Name, inside: bool) -> Self {
        self.databases.push(DatabaseRequest { name, inside });
        self
    }

    pub fn role(mut self, name: Name) -> Self {
        self.roles.push(name);
        self
    }

    pub fn grant(mut self, grantee: Name, database: Name) -> Self {
        self.grants.push(GrantScope { grantee, database });
        self
    }

    /// Like [`CatalogRequest::grant`], for a scope that only manages privileges on the database itself.
    pub fn grant_database_level(mut self, grantee: Name, database: Name) -> Self {
        let scope = GrantScope { grantee, database };
        self.database_level_grants.insert(scope.clone());
        self.grants.push(scope);
        self
    }

    /// Whether the objects inside `database` need reading for the requested grants.
    pub fn needs_inside_grants(&self, database: &Name) -> bool {
        self.grants
            .iter()
            .any(|scope| &scope.database == database && !self.database_level_grants.contains(scope))
    }

    pub fn merge(&mut self, other: CatalogRequest) {
        self.databases.extend(other.databases);
        self.roles.extend(other.roles);
        self.grants.extend(other.grants);
        self.database_level_grants.extend(other.database_level_grants);
    }
}

/// What was read. A requested object missing from a map does not exist on the server.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Catalog {
    pub databases: BTreeMap<Name, DatabaseState>,
    pub roles: BTreeMap<Name, RoleState>,
    pub grants: BTreeMap<GrantScope, GrantState>,
    /// How many queries the read issued (reported by benchmarks and `plan --verbose`).
    pub queries: u32,
}

impl Catalog {
    pub fn database(&self, name: &Name) -> Option<&DatabaseState> {
        self.databases.get(name)
    }

    pub fn role(&self, name: &Name) -> Option<&RoleState> {
        self.roles.get(name)
    }

    pub fn grants_of(&self, grantee: &Name, database: &Name) -> Option<&GrantState> {
        self.grants.get(&GrantScope {
            grantee: grantee.clone(),
            database: database.clone(),
        })
    }
}
