//! Where a batch's documents come from: state documents from what this instance holds in
//! memory, each input's own record presumed new, the rest from the store; the version checks
//! that fence all of it in the group's compare-and-set; and what an applied group leaves
//! behind in memory.

use super::{timed, BatchProcessor, OwnerGroup};
use crate::pipeline::owned_state::Held;
use crate::store::{Check, StateStore, StoreError, Versioned, WriteGroup};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

impl<S: StateStore> BatchProcessor<S> {
    /// The documents `groups` read: state documents from memory where it holds them (unless a
    /// group must read afresh), each input's own record presumed absent (its check in the
    /// group's write proves it), everything else from the store in one round trip.
    pub(super) async fn load<'g>(
        &self,
        groups: &'g [OwnerGroup],
    ) -> Result<HashMap<&'g str, Held>, StoreError> {
        let mut loaded: HashMap<&str, Held> = HashMap::new();
        let mut fetching: HashSet<&str> = HashSet::new();
        let mut fetch: Vec<String> = Vec::new();
        let mut presumed: Vec<&str> = Vec::new();
        for group in groups {
            for item in &group.items {
                for key in item.keys.state() {
                    if loaded.contains_key(key.as_str()) || fetching.contains(key.as_str()) {
                        continue;
                    }
                    match (!group.fresh).then(|| self.owned.get(key)).flatten() {
                        Some(held) => {
                            loaded.insert(key, held);
                        }
                        None => {
                            fetching.insert(key);
                            fetch.push(key.clone());
                        }
                    }
                }
                let record = (!group.fresh).then_some(&item.keys.record);
                presumed.extend(record.map(String::as_str));
                let read = item.keys.original.iter();
                for key in read.chain((group.fresh).then_some(&item.keys.record)) {
                    if fetching.insert(key) {
                        fetch.push(key.clone());
                    }
                }
            }
        }
        let docs = timed("read", self.store.get_many(&fetch)).await?;
        let state: HashSet<&str> = groups
            .iter()
            .flat_map(OwnerGroup::state_keys)
            .map(String::as_str)
            .collect();
        for (key, doc) in fetch.iter().zip(docs) {
            let doc = doc.map(Arc::new);
            let key: &str = fetching
                .get(key.as_str())
                .expect("every fetched key was listed");
            if state.contains(key) {
                self.owned.remember(key, doc.clone());
            }
            loaded.insert(key, doc);
        }
        let held_or_read = loaded.len() as u64;
        let mut presumed_new = 0;
        for key in presumed {
            if let std::collections::hash_map::Entry::Vacant(entry) = loaded.entry(key) {
                entry.insert(None);
                presumed_new += 1;
            }
        }
        crate::telemetry::events::state_loaded(
            held_or_read - fetch.len() as u64,
            presumed_new,
            fetch.len() as u64,
            self.owned.len(),
            self.owned.bytes(),
        );
        Ok(loaded)
    }

    /// Version checks for the documents under the group's own tag that it read and does not
    /// write: what it scored against must still hold when its writes apply.
    pub(super) fn checks(
        &self,
        group: &OwnerGroup,
        loaded: &HashMap<&str, Held>,
        writes: &WriteGroup,
    ) -> Vec<Check> {
        let written: HashSet<&str> = writes.writes.iter().map(|w| w.key.as_str()).collect();
        let own = self.keys.owner_prefix(&group.owner);
        let mut checked = HashSet::new();
        let mut checks = Vec::new();
        for item in &group.items {
            let read = item.keys.state().chain(&item.keys.original);
            for key in std::iter::once(&item.keys.record).chain(read) {
                if written.contains(key.as_str())
                    || !key.starts_with(&own)
                    || !checked.insert(key.as_str())
                {
                    continue;
                }
                let version = loaded
                    .get(key.as_str())
                    .and_then(Option::as_ref)
                    .map_or(0, |doc| doc.version);
                checks.push(Check {
                    key: key.clone(),
                    version,
                });
            }
        }
        checks
    }

    /// Holds the state documents an applied group wrote, at their new versions.
    pub(super) fn remember_written(&self, group: &OwnerGroup, written: WriteGroup) {
        let state: HashSet<&String> = group.state_keys().collect();
        for write in written.writes {
            if state.contains(&write.key) {
                let held = Versioned {
                    version: write.expected_version + 1,
                    data: write.data,
                };
                self.owned.remember(&write.key, Some(Arc::new(held)));
            }
        }
    }
}
