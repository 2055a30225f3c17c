//! An in-process store with the same compare-and-set semantics as Redis. Used by the embedded
//! demo and by `replay`; documents never expire here.

use super::{GroupOutcome, StateStore, StoreError, Versioned, WriteGroup};
use std::collections::HashMap;
use std::sync::Mutex;

#[derive(Debug, Default)]
pub struct MemoryStore {
    documents: Mutex<HashMap<String, Versioned>>,
}

impl MemoryStore {
    pub fn new() -> Self {
        MemoryStore::default()
    }

    /// Number of stored documents.
    pub fn len(&self) -> usize {
        self.documents.lock().expect("store lock").len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every stored key, sorted.
    pub fn keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self
            .documents
            .lock()
            .expect("store lock")
            .keys()
            .cloned()
            .collect();
        keys.sort();
        keys
    }
}

impl StateStore for MemoryStore {
    async fn get_many(&self, keys: &[String]) -> Result<Vec<Option<Versioned>>, StoreError> {
        let documents = self.documents.lock().expect("store lock");
        Ok(keys.iter().map(|key| documents.get(key).cloned()).collect())
    }

    async fn apply(&self, groups: &[WriteGroup]) -> Result<Vec<GroupOutcome>, StoreError> {
        let mut documents = self.documents.lock().expect("store lock");
        Ok(groups
            .iter()
            .map(|group| {
                let stale = group.writes.iter().find(|write| {
                    documents.get(&write.key).map_or(0, |doc| doc.version) != write.expected_version
                });
                if let Some(write) = stale {
                    return GroupOutcome::Conflict {
                        key: write.key.clone(),
                    };
                }
                for write in &group.writes {
                    documents.insert(
                        write.key.clone(),
                        Versioned {
                            version: write.expected_version + 1,
                            data: write.data.clone(),
                        },
                    );
                }
                GroupOutcome::Applied
            })
            .collect())
    }

    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }
}
