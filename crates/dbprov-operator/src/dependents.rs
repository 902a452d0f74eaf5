//! Objects that must be gone before another can be deleted: deleting them needs it. A `Database`,
//! `DatabaseUser` or `DatabaseRole` is dropped through its instance (so the instance waits for them); a
//! `DatabaseGrant` is revoked through its user or role and names its `databaseRef` (so those wait for it); an
//! `OAuth2Client` is removed through its database and credentials user (so those wait for it).
//! Pure: the caller passes every object it knows.

use dbprov_api::v1alpha1::{DatabaseGrant, OAuth2Client, ObjectReference};
use dbprov_api::{Kind, Resource};
use dbprov_reconcile::ObjectRef;
use dbprov_reconcile::instance::instance_ref;

fn namespace_of(resource: &Resource) -> &str {
    resource.namespace().unwrap_or("default")
}

/// The instance an object lives on, when it names one.
fn instance_of(resource: &Resource) -> Option<ObjectRef> {
    let namespace = namespace_of(resource);
    match resource {
        Resource::Database(object) => instance_ref(
            object.spec.instance_ref.as_ref(),
            object.spec.cluster_instance_ref.as_ref(),
            namespace,
        )
        .ok(),
        Resource::DatabaseUser(object) => instance_ref(
            object.spec.instance_ref.as_ref(),
            object.spec.cluster_instance_ref.as_ref(),
            namespace,
        )
        .ok(),
        Resource::DatabaseRole(object) => instance_ref(
            object.spec.instance_ref.as_ref(),
            object.spec.cluster_instance_ref.as_ref(),
            namespace,
        )
        .ok(),
        _ => None,
    }
}

/// The objects a grant refers to: its user or role, and its `databaseRef`.
fn grant_references(grant: &DatabaseGrant) -> Vec<ObjectRef> {
    let namespace = grant.metadata.namespace.as_deref().unwrap_or("default");
    let reference = |kind: Kind, name: &str, explicit: Option<&str>| {
        ObjectRef::new(kind, Some(explicit.unwrap_or(namespace)), name)
    };
    let mut references = Vec::new();
    if let Some(user) = &grant.spec.user_ref {
        references.push(reference(
            Kind::DatabaseUser,
            &user.name,
            user.namespace.as_deref(),
        ));
    }
    if let Some(role) = &grant.spec.role_ref {
        references.push(reference(
            Kind::DatabaseRole,
            &role.name,
            role.namespace.as_deref(),
        ));
    }
    if let Some(database) = &grant.spec.database_ref {
        references.push(reference(
            Kind::Database,
            &database.name,
            database.namespace.as_deref(),
        ));
    }
    references
}

/// The objects an OAuth2 client's deletion goes through: its database and the user whose credentials it
/// uses (removing the client's row needs both).
fn oauth2_client_references(client: &OAuth2Client) -> Vec<ObjectRef> {
    let namespace = client.metadata.namespace.as_deref().unwrap_or("default");
    let reference = |kind: Kind, target: &ObjectReference| {
        ObjectRef::new(
            kind,
            Some(target.namespace.as_deref().unwrap_or(namespace)),
            &target.name,
        )
    };
    let mut references = vec![reference(Kind::Database, &client.spec.database_ref)];
    if let Some(credentials) = &client.spec.credentials {
        references.push(reference(Kind::DatabaseUser, &credentials.user_ref));
    }
    references
}

/// The objects among `all` whose deletion needs `object` to still exist, sorted.
pub fn dependents(object: &ObjectRef, all: &[Resource]) -> Vec<ObjectRef> {
    let mut found: Vec<ObjectRef> = match object.kind {
        Kind::DatabaseInstance | Kind::ClusterDatabaseInstance => all
            .iter()
            .filter(|resource| instance_of(resource).as_ref() == Some(object))
            .filter_map(ObjectRef::of)
            .collect(),
        Kind::Database | Kind::DatabaseUser | Kind::DatabaseRole => all
            .iter()
            .filter(|resource| match resource {
                Resource::DatabaseGrant(grant) => grant_references(grant).contains(object),
                Resource::OAuth2Client(client) => oauth2_client_references(client).contains(object),
                _ => false,
            })
            .filter_map(ObjectRef::of)
            .collect(),
        // Nothing is deleted through a grant (nor through kinds other features add).
        _ => Vec::new(),
    };
    found.retain(|dependent| dependent != object);
    found.sort();
    found.dedup();
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(value: serde_json::Value) -> Resource {
        dbprov_api::parse_document(value).expect("valid test object")
    }

    fn object(kind: &str, name: &str, spec: serde_json::Value) -> Resource {
        parse(serde_json::json!({
            "apiVersion": "dbops.dbprovision.io/v1alpha1",
            "kind": kind,
            "metadata": {"name": name, "namespace": "team"},
            "spec": spec
        }))
    }

    fn world() -> Vec<Resource> {
        vec![
            object(
                "DatabaseInstance",
                "pg",
                serde_json::json!({
                    "engine": "postgres", "connection": {"host": "pg", "port": 5432}
                }),
            ),
            object(
                "Database",
                "app-db",
                serde_json::json!({"instanceRef": {"name": "pg"}, "name": "app"}),
            ),
            object(
                "Database",
                "other-db",
                serde_json::json!({"instanceRef": {"name": "other"}, "name": "o"}),
            ),
            object(
                "DatabaseUser",
                "app",
                serde_json::json!({"instanceRef": {"name": "pg"}, "username": "app"}),
            ),
            object(
                "DatabaseRole",
                "readers",
                serde_json::json!({
                    "clusterInstanceRef": {"name": "shared"}, "roleName": "readers"
                }),
            ),
            object(
                "DatabaseGrant",
                "app-grant",
                serde_json::json!({
                    "userRef": {"name": "app"}, "databaseRef": {"name": "app-db"},
                    "postgres": {"grants": [{"database": "app", "privileges": ["CONNECT"]}]}
                }),
            ),
            object(
                "DatabaseGrant",
                "readers-grant",
                serde_json::json!({
                    "roleRef": {"name": "readers"},
                    "postgres": {"grants": [{"database": "app", "privileges": ["CONNECT"]}]}
                }),
            ),
        ]
    }

    fn names(found: Vec<ObjectRef>) -> Vec<String> {
        found
            .into_iter()
            .map(|object| format!("{}/{}", object.kind, object.name))
            .collect()
    }

    #[test]
    fn an_instance_waits_for_the_objects_on_it() {
        let instance = ObjectRef::new(Kind::DatabaseInstance, Some("team"), "pg");
        assert_eq!(
            names(dependents(&instance, &world())),
            ["Database/app-db", "DatabaseUser/app"]
        );
        let cluster = ObjectRef::new(Kind::ClusterDatabaseInstance, None, "shared");
        assert_eq!(names(dependents(&cluster, &world())), ["DatabaseRole/readers"]);
        let elsewhere = ObjectRef::new(Kind::DatabaseInstance, Some("other-team"), "pg");
        assert!(dependents(&elsewhere, &world()).is_empty());
    }

    #[test]
    fn users_roles_and_databases_wait_for_the_grants_naming_them() {
        let user = ObjectRef::new(Kind::DatabaseUser, Some("team"), "app");
        assert_eq!(names(dependents(&user, &world())), ["DatabaseGrant/app-grant"]);
        let role = ObjectRef::new(Kind::DatabaseRole, Some("team"), "readers");
        assert_eq!(
            names(dependents(&role, &world())),
            ["DatabaseGrant/readers-grant"]
        );
        let database = ObjectRef::new(Kind::Database, Some("team"), "app-db");
        assert_eq!(
            names(dependents(&database, &world())),
            ["DatabaseGrant/app-grant"]
        );
        let grant = ObjectRef::new(Kind::DatabaseGrant, Some("team"), "app-grant");
        assert!(dependents(&grant, &world()).is_empty());
    }

    #[test]
    fn databases_and_credential_users_wait_for_their_oauth2_clients() {
        let mut all = world();
        all.push(object(
            "OAuth2Client",
            "billing",
            serde_json::json!({
                "databaseRef": {"name": "app-db"}, "credentials": {"userRef": {"name": "app"}},
                "grantTypes": ["client_credentials"]
            }),
        ));
        let database = ObjectRef::new(Kind::Database, Some("team"), "app-db");
        assert_eq!(
            names(dependents(&database, &all)),
            ["DatabaseGrant/app-grant", "OAuth2Client/billing"]
        );
        let user = ObjectRef::new(Kind::DatabaseUser, Some("team"), "app");
        assert_eq!(
            names(dependents(&user, &all)),
            ["DatabaseGrant/app-grant", "OAuth2Client/billing"]
        );
        let other = ObjectRef::new(Kind::Database, Some("team"), "other-db");
        assert!(dependents(&other, &all).is_empty());
    }
}
