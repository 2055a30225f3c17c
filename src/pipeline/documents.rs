//! Working copies of stored documents: decoded once per batch attempt, changed in memory as
//! transactions are scored in order, and turned into compare-and-set writes at the end.

use crate::store::{Versioned, Write};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::collections::HashMap;
use std::time::Duration;

/// A document as loaded, plus whether scoring changed it.
#[derive(Debug)]
struct Doc<T> {
    version: u64,
    value: Option<T>,
    dirty: bool,
}

/// The documents of one type that one owner group reads and writes.
#[derive(Debug)]
pub struct Documents<T> {
    docs: HashMap<String, Doc<T>>,
    ttl: Option<Duration>,
}

/// A stored document that does not decode: state written by something else, or corrupted.
#[derive(Debug, thiserror::Error)]
#[error("stored document {key} is not valid: {reason}")]
pub struct CorruptDocument {
    pub key: String,
    pub reason: String,
}

impl<T: Serialize + DeserializeOwned + Clone> Documents<T> {
    pub fn new(ttl: Option<Duration>) -> Self {
        Documents {
            docs: HashMap::new(),
            ttl,
        }
    }

    /// Adds a loaded document (or its absence) under `key`, unless one is there already (a
    /// group's inputs share documents, and each is decoded once).
    pub fn insert_loaded(
        &mut self,
        key: &str,
        loaded: Option<&Versioned>,
    ) -> Result<(), CorruptDocument> {
        if self.docs.contains_key(key) {
            return Ok(());
        }
        let (version, value) = match loaded {
            None => (0, None),
            Some(doc) => {
                let value = serde_json::from_str(&doc.data).map_err(|e| CorruptDocument {
                    key: key.to_owned(),
                    reason: e.to_string(),
                })?;
                (doc.version, Some(value))
            }
        };
        self.docs.insert(
            key.to_owned(),
            Doc {
                version,
                value,
                dirty: false,
            },
        );
        Ok(())
    }

    /// The current value under `key`, if any. Keys must have been loaded.
    pub fn get(&self, key: &str) -> Option<&T> {
        self.docs.get(key).and_then(|doc| doc.value.as_ref())
    }

    /// Whether `key` did not exist when loaded.
    pub fn is_new(&self, key: &str) -> bool {
        self.docs.get(key).is_some_and(|doc| doc.version == 0)
    }

    /// Replaces the value under a loaded key.
    pub fn set(&mut self, key: &str, value: T) {
        let doc = self
            .docs
            .get_mut(key)
            .expect("documents are loaded before they are set");
        doc.value = Some(value);
        doc.dirty = true;
    }

    /// Compare-and-set writes for every changed document.
    pub fn writes(&self) -> impl Iterator<Item = Write> + '_ {
        self.docs
            .iter()
            .filter(|(_, doc)| doc.dirty)
            .map(|(key, doc)| Write {
                key: key.clone(),
                expected_version: doc.version,
                data: serde_json::to_string(
                    doc.value.as_ref().expect("dirty documents have a value"),
                )
                .expect("state types serialise"),
                ttl: self.ttl,
            })
    }
}
