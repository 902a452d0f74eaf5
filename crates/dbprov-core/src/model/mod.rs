//! The engine-neutral model: what is declared (`*Spec`) and what a server reports (`*State`).
//!
//! Fields under `postgres` / `mysql` apply to one engine only; [`crate::model::validate`] rejects a spec
//! that asks an engine for something it cannot do, before any connection opens.

pub mod catalog;
pub mod database;
pub mod grant;
pub mod privilege;
pub mod role;
pub mod validate;

pub use catalog::{Catalog, CatalogRequest, DatabaseRequest, GrantScope};
pub use database::{
    DatabaseSpec, DatabaseState, MySqlDatabaseOptions, MySqlDatabaseState, PgDatabaseOptions,
    PgDatabaseState, PgExtension, PgExtensionState, PgSchema, PgSchemaState, SqliteDatabaseState,
};
pub use grant::{
    GrantSpec, GrantState, MySqlColumnGrant, MySqlGrantAtom, MySqlGrantState, MySqlGrants, MySqlObject,
    MySqlPrivilegeSet, MySqlRoutineGrant, MySqlTableGrant, ObjectSelector, PgDefaultPrivilege, PgGrantAtom,
    PgGrantState, PgGrants, PgObject, PgObjectGrant, PgRelation, PgRoutine, PgSchemaGrant,
};
pub use privilege::{MySqlPrivilege, MySqlRoutineKind, PgDefaultObjectType, PgPrivilege, PrivilegeError};
pub use role::{
    DropRoleOptions, MySqlAccountOptions, MySqlAccountState, MySqlTlsRequirement, MySqlUserState,
    OwnedObjectsPolicy, PasswordLockTime, PasswordSpec, PasswordState, PgRoleOptions, PgRoleState, RoleSpec,
    RoleState,
};
