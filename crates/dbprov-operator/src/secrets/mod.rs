//! Secrets: the Kubernetes-backed [`dbprov_reconcile::SecretStore`], a per-reconcile read-through layer, and the
//! operator's copies of instance credentials that deletion falls back to.

mod copies;
mod kube_store;
mod read_through;

pub use copies::{CredentialCopies, WithCopies, copy_name, instance_secret_sources};
pub use kube_store::{FIELD_MANAGER, KubeSecrets, to_secret};
pub use read_through::ReadThrough;
