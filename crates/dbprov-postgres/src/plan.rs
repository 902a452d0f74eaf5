//! Pure planning: a declaration and the catalog in, a [`dbprov_core::Plan`] out. Nothing here opens a
//! connection; the server facts read at connect time are passed in.

mod database;
mod drop_role;
mod grant;
mod role;

pub(crate) use database::{plan_database, plan_drop_database};
pub(crate) use drop_role::plan_drop_role;
pub(crate) use grant::plan_grants;
pub(crate) use role::plan_role;

/// A sorted, comma-separated rendering for drift reports.
pub(crate) fn join<T: std::fmt::Display>(items: impl IntoIterator<Item = T>) -> String {
    let rendered: Vec<String> = items.into_iter().map(|item| item.to_string()).collect();
    if rendered.is_empty() {
        "<none>".to_owned()
    } else {
        rendered.join(", ")
    }
}
