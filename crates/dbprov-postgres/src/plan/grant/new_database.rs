//! Grants in a database that does not exist yet (it may be created earlier in the same run).

use dbprov_core::model::{GrantSpec, ObjectSelector, PgObject};
use dbprov_core::{Drift, EngineError, Plan, Statement};

use super::render::{Renderer, describe};
use super::{Class, SchemaObjectKind, object_grants};
use crate::sql::grant::{self as sql, DefaultChange, DefaultScope, GrantTarget, RoutineRef};

impl Renderer<'_> {
    /// The database does not exist yet (it may be created earlier in the same run): everything declared is
    /// granted, `All` selectors as `ON ALL ... IN SCHEMA`, named objects by name.
    pub(super) fn plan_for_new_database(
        &self,
        spec: &GrantSpec,
        current_user: &str,
    ) -> Result<Plan, EngineError> {
        let mut plan = Plan::default();
        let pg = &spec.postgres;
        let grantee = self.grantee;
        let push = |plan: &mut Plan, class: Class, statement: Statement, what: String| {
            plan.drift.push(Drift::new(
                self.label,
                what.clone(),
                "granted",
                "<database does not exist>",
            ));
            plan.push(self.step(
                &class,
                statement,
                format!("grant privileges on {what} to {grantee}"),
            ));
        };
        if !pg.database.is_empty() {
            let statement = sql::grant(
                &pg.database,
                &GrantTarget::Database(self.database),
                grantee,
                pg.database_with_grant_option,
            )?;
            push(
                &mut plan,
                Class::Database,
                statement,
                format!("database {}", self.database),
            );
        }
        for grant in &pg.schemas {
            if grant.privileges.is_empty() {
                continue;
            }
            let target = GrantTarget::Schemas(vec![grant.schema.as_str()]);
            let statement = sql::grant(&grant.privileges, &target, grantee, grant.with_grant_option)?;
            push(
                &mut plan,
                Class::Schema,
                statement,
                format!("schema {}", grant.schema),
            );
        }
        for (grants, kind) in object_grants(spec) {
            for grant in grants {
                if grant.privileges.is_empty() {
                    continue;
                }
                let schema = grant.schema.as_str();
                let target = match &grant.objects {
                    ObjectSelector::All => kind.all_in_schema(schema),
                    ObjectSelector::Named(names) => {
                        if let Some(signature) = names.iter().find(|name| name.as_str().contains('(')) {
                            return Err(EngineError::invalid_spec(
                                self.label,
                                kind.field(),
                                format!(
                                    "routine {schema}.{signature} is named by signature, which can only be matched \
                                     once database {} exists",
                                    self.database
                                ),
                            ));
                        }
                        let pairs: Vec<(&str, &str)> =
                            names.iter().map(|name| (schema, name.as_str())).collect();
                        match kind {
                            SchemaObjectKind::Table => GrantTarget::Tables(pairs),
                            SchemaObjectKind::Sequence => GrantTarget::Sequences(pairs),
                            SchemaObjectKind::Routine => GrantTarget::Routines(
                                pairs
                                    .into_iter()
                                    .map(|(schema, name)| RoutineRef::Name { schema, name })
                                    .collect(),
                            ),
                        }
                    }
                };
                let statement = sql::grant(&grant.privileges, &target, grantee, grant.with_grant_option)?;
                let class = match kind {
                    SchemaObjectKind::Table => Class::Table,
                    SchemaObjectKind::Sequence => Class::Sequence,
                    SchemaObjectKind::Routine => Class::Routine,
                };
                push(
                    &mut plan,
                    class,
                    statement,
                    format!("{} in schema {schema}", kind.field()),
                );
            }
        }
        for default in &pg.default_privileges {
            let for_role = default
                .for_role
                .as_ref()
                .map(|role| role.as_str())
                .unwrap_or(current_user);
            if for_role == grantee || default.privileges.is_empty() {
                continue;
            }
            let object = PgObject::DefaultPrivileges {
                for_role: for_role.to_owned(),
                schema: default.schema.as_ref().map(|schema| schema.as_str().to_owned()),
                object_type: default.object_type,
            };
            let scope = DefaultScope {
                for_role,
                schema: default.schema.as_ref().map(|schema| schema.as_str()),
                object_type: default.object_type,
            };
            let statement = sql::alter_default_privileges(
                scope,
                DefaultChange::Grant {
                    with_grant_option: default.with_grant_option,
                },
                &default.privileges,
                grantee,
            )?;
            push(
                &mut plan,
                Class::Default(object.clone()),
                statement,
                describe(&object),
            );
        }
        Ok(plan)
    }
}
