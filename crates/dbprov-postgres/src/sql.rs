//! Pure SQL builders: validated names in, [`Statement`]s out, every identifier and literal through
//! [`SqlBuilder`]. The catalog queries (static text with bound parameters) live in [`catalog`].

pub(crate) mod catalog;
pub(crate) mod database;
pub(crate) mod grant;
pub(crate) mod role;

use dbprov_core::model::PgPrivilege;
use dbprov_core::{Dialect, EngineError, SqlBuilder, Statement};

pub(crate) fn builder() -> SqlBuilder {
    SqlBuilder::new(Dialect::Postgres)
}

pub(crate) fn finish(builder: SqlBuilder) -> Result<Statement, EngineError> {
    builder.build().map_err(EngineError::from)
}

/// `SELECT, INSERT`: privilege keywords are static text.
pub(crate) fn privileges(builder: &mut SqlBuilder, privileges: &[PgPrivilege]) {
    builder.list(privileges.iter(), |builder, privilege| {
        builder.push(privilege.keyword());
    });
}

/// `TRUE` / `FALSE`.
pub(crate) fn boolean(builder: &mut SqlBuilder, value: bool) {
    builder.push(if value { "true" } else { "false" });
}

/// A dotted setting name (`work_mem`, `myapp.tenant`), each part quoted.
pub(crate) fn setting_name(builder: &mut SqlBuilder, name: &str) {
    for (index, part) in name.split('.').enumerate() {
        if index > 0 {
            builder.push(".");
        }
        builder.ident(part);
    }
}
