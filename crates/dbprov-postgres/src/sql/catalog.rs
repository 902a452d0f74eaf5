//! The catalog queries: static text, bound parameters, `::text` casts so `name` columns decode as strings.
//! Each answers a whole batch (`= ANY($1)`), never one object.

/// Facts read once at connect time.
pub(crate) const SERVER_FACTS: &str = "\
SELECT version() AS version,
       current_setting('server_version') AS server_version,
       current_user::text AS current_user,
       COALESCE((SELECT rolsuper FROM pg_roles WHERE rolname = current_user), false) AS superuser";

/// Databases by name ($1 text[]).
pub(crate) const DATABASES: &str = "\
SELECT d.datname::text AS name,
       pg_get_userbyid(d.datdba)::text AS owner,
       pg_encoding_to_char(d.encoding)::text AS encoding,
       d.datcollate::text AS lc_collate,
       d.datctype::text AS lc_ctype,
       t.spcname::text AS tablespace,
       d.datconnlimit AS connection_limit,
       d.datistemplate AS is_template,
       d.datallowconn AS allow_connections
FROM pg_database d
LEFT JOIN pg_tablespace t ON t.oid = d.dattablespace
WHERE d.datname::text = ANY($1)";

/// Extensions of the current database.
pub(crate) const EXTENSIONS: &str = "\
SELECT e.extname::text AS name, n.nspname::text AS schema, e.extversion AS version
FROM pg_extension e
JOIN pg_namespace n ON n.oid = e.extnamespace";

/// Schemas of the current database, without the system ones.
pub(crate) const SCHEMAS: &str = "\
SELECT n.nspname::text AS name, pg_get_userbyid(n.nspowner)::text AS owner
FROM pg_namespace n
WHERE n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'";

/// The columns both role queries share; `pg_shdepend` answers where a role owns objects or holds privileges:
/// per database (`dbid`), and for shared objects (`dbid = 0`) privileges on a database count for that database
/// and anything else (tablespaces, parameters) for the database the admin is connected to, where
/// `DROP OWNED` can clear it. Owning a database is reported separately.
macro_rules! role_columns {
    () => {
        "r.rolname::text AS name, r.rolcanlogin AS login, r.rolsuper AS superuser, r.rolcreatedb AS createdb,
       r.rolcreaterole AS createrole, r.rolinherit AS inherit, r.rolreplication AS replication,
       r.rolbypassrls AS bypassrls, r.rolconnlimit AS connection_limit,
       CASE
           WHEN r.rolvaliduntil IS NULL THEN NULL
           WHEN r.rolvaliduntil = 'infinity' THEN 'infinity'
           WHEN r.rolvaliduntil = '-infinity' THEN '-infinity'
           ELSE to_char(r.rolvaliduntil AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')
       END AS valid_until,
       COALESCE(r.rolconfig, '{}'::text[]) AS config,
       ARRAY(SELECT g.rolname::text FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid
             WHERE m.member = r.oid ORDER BY 1) AS member_of,
       ARRAY(SELECT DISTINCT d.datname::text
             FROM pg_shdepend s
             JOIN pg_database d ON d.oid = CASE
                 WHEN s.dbid <> 0 THEN s.dbid
                 WHEN s.classid = 'pg_database'::regclass THEN s.objid
                 ELSE (SELECT oid FROM pg_database WHERE datname = current_database())
             END
             WHERE s.refclassid = 'pg_authid'::regclass AND s.refobjid = r.oid AND s.deptype <> 'p'
               AND NOT (s.dbid = 0 AND s.classid = 'pg_database'::regclass AND s.deptype = 'o')
             ORDER BY 1) AS dependent_databases,
       ARRAY(SELECT d.datname::text FROM pg_database d WHERE d.datdba = r.oid ORDER BY 1) AS owned_databases"
    };
}

/// Roles by name ($1 text[]), with the stored password verifier (superusers only can read `pg_authid`).
pub(crate) const ROLES_WITH_PASSWORD: &str = concat!(
    "SELECT ",
    role_columns!(),
    ", true AS password_readable, a.rolpassword AS password
FROM pg_roles r
JOIN pg_authid a ON a.oid = r.oid
WHERE r.rolname::text = ANY($1)"
);

/// Roles by name ($1 text[]) for an admin that cannot read `pg_authid`.
pub(crate) const ROLES: &str = concat!(
    "SELECT ",
    role_columns!(),
    ", false AS password_readable, NULL::text AS password
FROM pg_roles r
WHERE r.rolname::text = ANY($1)"
);

/// Database ACLs: one row per requested database ($1 text[]), plus one per privilege of a requested grantee
/// ($2 text[]).
pub(crate) const DATABASE_ACLS: &str = "\
SELECT d.datname::text AS database, pg_get_userbyid(d.datdba)::text AS owner,
       d.datallowconn AS allow_connections, a.grantee, a.privilege_type, a.is_grantable
FROM pg_database d
LEFT JOIN LATERAL (
    SELECT g.rolname::text AS grantee, x.privilege_type, x.is_grantable
    FROM aclexplode(d.datacl) x
    JOIN pg_roles g ON g.oid = x.grantee
    WHERE g.rolname::text = ANY($2)
) a ON true
WHERE d.datname::text = ANY($1)";

/// Schemas of the current database with their owners, and the privileges of the grantees ($1 text[]).
pub(crate) const SCHEMA_ACLS: &str = "\
SELECT n.nspname::text AS schema, pg_get_userbyid(n.nspowner)::text AS owner,
       a.grantee, a.privilege_type, a.is_grantable
FROM pg_namespace n
LEFT JOIN LATERAL (
    SELECT g.rolname::text AS grantee, x.privilege_type, x.is_grantable
    FROM aclexplode(n.nspacl) x
    JOIN pg_roles g ON g.oid = x.grantee
    WHERE g.rolname::text = ANY($1)
) a ON true
WHERE n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'";

/// Tables, views, materialized views, foreign and partitioned tables and sequences of the current database
/// with their owners, and the privileges of the grantees ($1 text[]).
pub(crate) const RELATION_ACLS: &str = "\
SELECT n.nspname::text AS schema, c.relname::text AS name, pg_get_userbyid(c.relowner)::text AS owner,
       c.relkind = 'S' AS is_sequence,
       a.grantee, a.privilege_type, a.is_grantable
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN LATERAL (
    SELECT g.rolname::text AS grantee, x.privilege_type, x.is_grantable
    FROM aclexplode(c.relacl) x
    JOIN pg_roles g ON g.oid = x.grantee
    WHERE g.rolname::text = ANY($1)
) a ON true
WHERE c.relkind IN ('r', 'v', 'm', 'f', 'p', 'S')
  AND n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'";

/// Functions, procedures and aggregates of the current database with their owners and signatures, and the
/// privileges of the grantees ($1 text[]).
pub(crate) const ROUTINE_ACLS: &str = "\
SELECT n.nspname::text AS schema, p.proname::text AS name, p.oid::regprocedure::text AS signature,
       pg_get_userbyid(p.proowner)::text AS owner,
       a.grantee, a.privilege_type, a.is_grantable
FROM pg_proc p
JOIN pg_namespace n ON n.oid = p.pronamespace
LEFT JOIN LATERAL (
    SELECT g.rolname::text AS grantee, x.privilege_type, x.is_grantable
    FROM aclexplode(p.proacl) x
    JOIN pg_roles g ON g.oid = x.grantee
    WHERE g.rolname::text = ANY($1)
) a ON true
WHERE n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'";

/// Default privileges of the current database granted to the grantees ($1 text[]).
pub(crate) const DEFAULT_ACLS: &str = "\
SELECT pg_get_userbyid(d.defaclrole)::text AS for_role, n.nspname::text AS schema,
       d.defaclobjtype::text AS object_type,
       g.rolname::text AS grantee, x.privilege_type, x.is_grantable
FROM pg_default_acl d
LEFT JOIN pg_namespace n ON n.oid = d.defaclnamespace
CROSS JOIN LATERAL aclexplode(d.defaclacl) x
JOIN pg_roles g ON g.oid = x.grantee
WHERE g.rolname::text = ANY($1)";
