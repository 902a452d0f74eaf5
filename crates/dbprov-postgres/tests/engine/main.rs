//! The PostgreSQL engine against the throwaway PostgreSQL server of `dbprov-testkit`. One test binary, so
//! one server per run; each test uses its own uniquely named databases and roles.

mod common;
mod connect;
mod databases;
mod grants;
mod names;
mod roles;
