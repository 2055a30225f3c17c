//! The state documents (accounts, cards, card links) of the members this instance scores, kept
//! in memory between batches so a batch reads from the store only what it has not seen.
//!
//! Nothing here is trusted blindly: every document served from memory goes into its group's
//! compare-and-set as a write or a version check, so a document another writer moved (another
//! instance, the expiry sweep, an operator) refuses the group, which forgets what it held and
//! reads the store again. The store stays the durable copy and the fence; this is only the
//! part of it this instance has already read or written.
//!
//! Bounded by two generations: lookups promote entries to the young one, and when the young
//! one is full (in entries or in bytes) the old one is dropped, so recently used documents stay
//! and memory stays flat. The byte bound matters as much as the count: a member's account grows
//! with its activity window, from a few hundred bytes to tens of kilobytes.

use crate::store::Versioned;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// A document as held: shared, so serving it to a batch copies nothing; `None` when known
/// absent.
pub type Held = Option<Arc<Versioned>>;

/// Documents as this instance last read or wrote them; `None` is a document known absent.
pub struct OwnedState {
    generations: Mutex<Generations>,
    /// Entries per generation; 0 keeps nothing.
    generation_size: usize,
    /// Bytes of keys and documents per generation; 0 keeps nothing.
    generation_bytes: usize,
}

#[derive(Default)]
struct Generations {
    young: HashMap<String, Held>,
    old: HashMap<String, Held>,
    /// Bytes of the keys and documents in each generation.
    young_bytes: usize,
    old_bytes: usize,
    /// The assignment the documents were gathered in.
    epoch: Option<u64>,
}

/// Bytes an entry holds: its key and its document's text.
fn size_of(key: &str, doc: &Held) -> usize {
    key.len() + doc.as_ref().map_or(0, |doc| doc.data.len())
}

impl Generations {
    fn take_old(&mut self, key: &str) -> Option<(String, Held)> {
        let (key, doc) = self.old.remove_entry(key)?;
        self.old_bytes = self.old_bytes.saturating_sub(size_of(&key, &doc));
        Some((key, doc))
    }

    fn put_young(&mut self, key: String, doc: Held) {
        self.young_bytes += size_of(&key, &doc);
        let key_bytes = key.len();
        if let Some(replaced) = self.young.insert(key, doc) {
            let replaced_bytes = key_bytes + replaced.as_ref().map_or(0, |doc| doc.data.len());
            self.young_bytes = self.young_bytes.saturating_sub(replaced_bytes);
        }
    }

    fn take_young(&mut self, key: &str) {
        if let Some((key, doc)) = self.young.remove_entry(key) {
            self.young_bytes = self.young_bytes.saturating_sub(size_of(&key, &doc));
        }
    }
}

impl OwnedState {
    /// Keeps at most about `capacity` documents, and about `capacity_bytes` of their keys and
    /// texts.
    pub fn new(capacity: usize, capacity_bytes: usize) -> Self {
        OwnedState {
            generations: Mutex::default(),
            generation_size: capacity / 2,
            generation_bytes: capacity_bytes / 2,
        }
    }

    /// The document under `key` as last seen, if it is held: `Some(None)` when it was absent.
    pub fn get(&self, key: &str) -> Option<Held> {
        let mut generations = self.lock();
        if let Some(doc) = generations.young.get(key) {
            return Some(doc.clone());
        }
        let (key, doc) = generations.take_old(key)?;
        generations.put_young(key, doc.clone());
        self.roll_if_full(&mut generations);
        Some(doc)
    }

    /// Holds `doc` as the current state under `key`.
    pub fn remember(&self, key: &str, doc: Held) {
        if self.generation_size == 0 || self.generation_bytes == 0 {
            return;
        }
        let mut generations = self.lock();
        generations.take_old(key);
        generations.put_young(key.to_owned(), doc);
        self.roll_if_full(&mut generations);
    }

    /// Drops what is held under `keys`: the next batch reads them from the store.
    pub fn forget<'a>(&self, keys: impl IntoIterator<Item = &'a String>) {
        let mut generations = self.lock();
        for key in keys {
            generations.take_young(key);
            generations.take_old(key);
        }
    }

    /// Drops everything held when `epoch`, the consumer's assignment, is not the one the
    /// documents were gathered in: members of partitions now owned elsewhere are written by
    /// others, and holding them would only cost memory and refused groups.
    pub fn hold_for(&self, epoch: u64) {
        let mut generations = self.lock();
        if generations.epoch != Some(epoch) {
            *generations = Generations {
                epoch: Some(epoch),
                ..Generations::default()
            };
        }
    }

    /// Documents held.
    pub fn len(&self) -> usize {
        let generations = self.lock();
        generations.young.len() + generations.old.len()
    }

    /// Bytes of the keys and documents held.
    pub fn bytes(&self) -> usize {
        let generations = self.lock();
        generations.young_bytes + generations.old_bytes
    }

    fn roll_if_full(&self, generations: &mut Generations) {
        if generations.young.len() >= self.generation_size
            || generations.young_bytes >= self.generation_bytes
        {
            generations.old = std::mem::take(&mut generations.young);
            generations.old_bytes = std::mem::take(&mut generations.young_bytes);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Generations> {
        self.generations.lock().expect("owned-state lock")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(version: u64) -> Held {
        Some(Arc::new(Versioned {
            version,
            data: format!("v{version}"),
        }))
    }

    #[test]
    fn holds_documents_and_known_absences() {
        let state = OwnedState::new(100, 1 << 20);
        assert_eq!(state.get("a"), None);
        state.remember("a", doc(1));
        state.remember("b", None);
        assert_eq!(state.get("a"), Some(doc(1)));
        assert_eq!(state.get("b"), Some(None));
        state.remember("a", doc(2));
        assert_eq!(state.get("a"), Some(doc(2)));
        state.forget(&["a".to_owned()]);
        assert_eq!(state.get("a"), None);
    }

    #[test]
    fn a_new_assignment_drops_everything() {
        let state = OwnedState::new(100, 1 << 20);
        state.hold_for(1);
        state.remember("a", doc(1));
        state.hold_for(1);
        assert_eq!(state.get("a"), Some(doc(1)));
        state.hold_for(2);
        assert_eq!(state.len(), 0);
    }

    #[test]
    fn stays_bounded_and_keeps_what_is_used() {
        let state = OwnedState::new(10, 1 << 20);
        state.remember("hot", doc(1));
        for n in 0..1000 {
            state.remember(&format!("k{n}"), doc(n));
            assert_eq!(state.get("hot"), Some(doc(1)), "after {n} others");
            assert!(state.len() <= 10, "{} held", state.len());
        }
        assert_eq!(state.get("k0"), None, "cold entries are dropped");
    }

    #[test]
    fn counts_the_bytes_it_holds() {
        let state = OwnedState::new(4, 1 << 20);
        state.remember("a", doc(1)); // "a" + "v1"
        state.remember("a", doc(2)); // replaced in the young generation
        assert_eq!(state.bytes(), 3);
        state.remember("bb", None);
        assert_eq!(state.bytes(), 3 + 2);
        state.remember("a", doc(100)); // replaced: "a" + "v100"
        assert_eq!(state.bytes(), 5 + 2);
        // Two entries make a generation: "c" rolls the young one ("a", "c") to old, and the
        // old one ("bb") is dropped with its bytes.
        state.remember("c", doc(2));
        assert_eq!(state.get("bb"), None);
        assert_eq!(state.get("a"), Some(doc(100)), "promoted back to young");
        assert_eq!(state.bytes(), 5 + 3);
        state.forget(&["a".to_owned(), "zz".to_owned()]);
        assert_eq!(state.bytes(), 3);
        for n in 0..50 {
            state.remember(&format!("k{n}"), doc(n));
        }
        let held = state.bytes();
        assert!(
            held <= 4 * 4,
            "{held} bytes held for at most four entries of four bytes"
        );
        state.hold_for(9);
        assert_eq!(state.bytes(), 0);
    }

    #[test]
    fn stays_within_its_bytes_whatever_the_count() {
        let state = OwnedState::new(1_000, 1_000);
        let large = |n: u64| {
            Some(Arc::new(Versioned {
                version: n,
                data: "x".repeat(100),
            }))
        };
        for n in 0..100 {
            state.remember(&format!("k{n}"), large(n));
            assert!(state.bytes() <= 1_000 + 104, "{} bytes held", state.bytes());
        }
        assert!(state.len() < 20, "{} documents held", state.len());
        assert_eq!(state.get("k99"), Some(large(99)), "the newest stays");
    }

    #[test]
    fn capacity_zero_holds_nothing() {
        let state = OwnedState::new(0, 1 << 20);
        state.remember("a", doc(1));
        assert_eq!(state.get("a"), None);
    }
}
