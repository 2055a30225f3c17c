//! An in-process store with the same compare-and-set semantics as Redis. Used by the embedded
//! demo and by `replay`; documents never expire here.

use super::{
    AppliedMark, Behind, Claim, ClaimStep, GroupOutcome, ScanCursor, StateStore, StoreError,
    Versioned, WriteGroup,
};
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

#[derive(Debug, Default)]
pub struct MemoryStore {
    documents: Mutex<HashMap<String, Versioned>>,
    lists: Mutex<HashMap<String, VecDeque<String>>>,
    values: Mutex<HashMap<String, String>>,
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
        let mut lists = self.lists.lock().expect("store lock");
        self.values
            .lock()
            .expect("store lock")
            .extend(groups.iter().flat_map(|group| group.index.iter().cloned()));
        Ok(groups
            .iter()
            .map(|group| {
                let version = |key: &str| documents.get(key).map_or(0, |doc| doc.version);
                let stale = group
                    .writes
                    .iter()
                    .map(|write| (&write.key, write.expected_version))
                    .chain(group.checks.iter().map(|check| (&check.key, check.version)))
                    .find(|(key, expected)| version(key) != *expected);
                if let Some((key, _)) = stale {
                    return GroupOutcome::Conflict { key: key.clone() };
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
                for append in &group.appends {
                    let list = lists.entry(append.key.clone()).or_default();
                    for entry in &append.entries {
                        list.push_front(entry.clone());
                    }
                    list.truncate(append.keep);
                }
                GroupOutcome::Applied
            })
            .collect())
    }

    async fn get_value(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(self.values.lock().expect("store lock").get(key).cloned())
    }

    async fn list_head(&self, key: &str, count: usize) -> Result<Vec<String>, StoreError> {
        let lists = self.lists.lock().expect("store lock");
        Ok(lists
            .get(key)
            .map(|list| list.iter().take(count).cloned().collect())
            .unwrap_or_default())
    }

    /// Every matching document key in one page (the store is small and in process).
    async fn scan(
        &self,
        pattern: &str,
        _cursor: ScanCursor,
    ) -> Result<(Vec<String>, Option<ScanCursor>), StoreError> {
        let keys = self.keys();
        Ok((
            keys.into_iter()
                .filter(|key| glob_matches(pattern, key))
                .collect(),
            None,
        ))
    }

    /// Counters and claims are values, as in Redis (claims never expire here).
    async fn claim(&self, claims: &[Claim], step: ClaimStep) -> Result<Vec<i64>, StoreError> {
        let mut values = self.values.lock().expect("store lock");
        let number = |values: &HashMap<String, String>, key: &str| {
            values.get(key).and_then(|value| value.parse::<i64>().ok())
        };
        Ok(claims
            .iter()
            .map(|claim| {
                let claimed = number(&values, &claim.claim);
                let amount = match (step, claimed) {
                    (ClaimStep::Reserve, Some(granted)) => return granted,
                    (ClaimStep::Reserve, None) => {
                        let used = number(&values, &claim.counter).unwrap_or(0);
                        claim.amount.min(claim.limit - used).max(0)
                    }
                    (ClaimStep::Settle, _) => claim.amount,
                };
                let counter =
                    number(&values, &claim.counter).unwrap_or(0) + amount - claimed.unwrap_or(0);
                values.insert(claim.counter.clone(), counter.to_string());
                values.insert(claim.claim.clone(), amount.to_string());
                amount
            })
            .collect())
    }

    /// Positions are values named `<key>/<partition>`.
    async fn advance_applied(
        &self,
        key: &str,
        marks: &[AppliedMark],
    ) -> Result<Option<Behind>, StoreError> {
        let mut values = self.values.lock().expect("store lock");
        let field = |mark: &AppliedMark| format!("{key}/{}", mark.partition);
        let held = |values: &HashMap<String, String>, mark: &AppliedMark| {
            values
                .get(&field(mark))
                .and_then(|value| value.parse::<i64>().ok())
                .unwrap_or(-1)
        };
        if let Some(mark) = marks
            .iter()
            .find(|mark| held(&values, mark) < mark.at_least)
        {
            return Ok(Some(Behind {
                partition: mark.partition.clone(),
                held: held(&values, mark),
                at_least: mark.at_least,
            }));
        }
        for mark in marks {
            if mark.next > held(&values, mark) {
                values.insert(field(mark), mark.next.to_string());
            }
        }
        Ok(None)
    }

    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }
}

/// Whether `text` matches `pattern`, where `*` stands for any run of characters.
fn glob_matches(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

#[cfg(test)]
mod tests {
    use super::glob_matches;

    #[test]
    fn globs_match_like_redis_stars() {
        assert!(glob_matches(
            "p:{m:*}:account:*",
            "p:{m:M-1}:account:default"
        ));
        assert!(!glob_matches("p:{m:*}:account:*", "p:{m:M-1}:card:tok"));
        assert!(glob_matches("abc", "abc"));
        assert!(!glob_matches("abc", "abcd"));
        assert!(glob_matches("a*c", "ac"));
        assert!(!glob_matches("a*ca", "aca*"));
    }
}
