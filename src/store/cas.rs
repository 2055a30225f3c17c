//! The compare-and-set script (`cas.lua`) and how a [`WriteGroup`] becomes one call of it:
//! shared by the single-node and the cluster store.

use super::{GroupOutcome, StoreError, WriteGroup};

pub const CAS_SCRIPT: &str = include_str!("cas.lua");

/// The keys and arguments of one script call for `group`.
pub fn script_call(group: &WriteGroup) -> (Vec<&str>, Vec<String>) {
    let keys = group
        .writes
        .iter()
        .map(|write| write.key.as_str())
        .chain(group.checks.iter().map(|check| check.key.as_str()))
        .chain(group.appends.iter().map(|append| append.key.as_str()))
        .collect();
    let mut args = vec![
        group.writes.len().to_string(),
        group.checks.len().to_string(),
    ];
    for write in &group.writes {
        let ttl_ms = write.ttl.map_or(0, |ttl| ttl.as_millis());
        args.extend([
            write.expected_version.to_string(),
            write.data.clone(),
            ttl_ms.to_string(),
        ]);
    }
    args.extend(group.checks.iter().map(|check| check.version.to_string()));
    for append in &group.appends {
        args.extend([append.entries.len().to_string(), append.keep.to_string()]);
        args.extend(append.entries.iter().cloned());
    }
    (keys, args)
}

/// What the script's answer for `group` means: 0 applied, else the 1-based index of the
/// document (written, then checked) that was not at its expected version.
pub fn outcome(answer: usize, group: &WriteGroup) -> Result<GroupOutcome, StoreError> {
    if answer == 0 {
        return Ok(GroupOutcome::Applied);
    }
    group
        .writes
        .iter()
        .map(|write| &write.key)
        .chain(group.checks.iter().map(|check| &check.key))
        .nth(answer - 1)
        .map(|key| GroupOutcome::Conflict { key: key.clone() })
        .ok_or_else(|| StoreError::Protocol(format!("script returned key index {answer}")))
}
