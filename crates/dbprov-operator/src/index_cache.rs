//! The grant index (who is granted what, across objects) rebuilt only when a declaration changed, not at
//! every reconcile: building it reads every database, role and grant.

use std::sync::Arc;

use dbprov_reconcile::index::GrantIndex;
use dbprov_reconcile::{Context, Failure};
use tokio::sync::Mutex;

#[derive(Default)]
pub struct IndexCache {
    current: Mutex<Option<(u64, Arc<GrantIndex>)>>,
}

impl IndexCache {
    /// The index for the declarations `fingerprint` identifies, building it when they changed.
    pub async fn get(&self, ctx: &Context, fingerprint: u64) -> Result<Arc<GrantIndex>, Failure> {
        // Held while building, so concurrent reconciles wait for one build instead of each doing it.
        let mut current = self.current.lock().await;
        if let Some((built_for, index)) = current.as_ref()
            && *built_for == fingerprint
        {
            return Ok(index.clone());
        }
        let index = Arc::new(GrantIndex::build(ctx).await?);
        *current = Some((fingerprint, index.clone()));
        Ok(index)
    }
}
