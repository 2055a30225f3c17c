//! The compare-and-set script (`cas.lua`) and how [`WriteGroup`]s become one call of it:
//! shared by the single-node store (all of a batch's groups in one call) and the cluster
//! store (one call per group, each group being one hash slot).

use super::{GroupOutcome, StoreError, WriteGroup};
use redis::{RedisWrite, ToRedisArgs};

pub const CAS_SCRIPT: &str = include_str!("cas.lua");

/// One argument of a script call, borrowed where it is text so documents are not copied.
#[derive(Debug, Clone, Copy)]
pub enum Arg<'a> {
    Number(u64),
    Text(&'a str),
}

impl ToRedisArgs for Arg<'_> {
    fn write_redis_args<W: ?Sized + RedisWrite>(&self, out: &mut W) {
        match self {
            Arg::Number(number) => out.write_arg_fmt(number),
            Arg::Text(text) => out.write_arg(text.as_bytes()),
        }
    }
}

/// The keys and arguments of one script call applying `groups`.
pub fn script_call(groups: &[WriteGroup]) -> (Vec<&str>, Vec<Arg<'_>>) {
    let mut keys = Vec::new();
    let mut args = vec![Arg::Number(groups.len() as u64)];
    for group in groups {
        keys.extend(group.writes.iter().map(|write| write.key.as_str()));
        keys.extend(group.checks.iter().map(|check| check.key.as_str()));
        keys.extend(group.appends.iter().map(|append| append.key.as_str()));
        args.extend([
            Arg::Number(group.writes.len() as u64),
            Arg::Number(group.checks.len() as u64),
            Arg::Number(group.appends.len() as u64),
        ]);
        for write in &group.writes {
            let ttl_ms = write.ttl.map_or(0, |ttl| ttl.as_millis());
            args.extend([
                Arg::Number(write.expected_version),
                Arg::Number(write.expected_version + 1),
                Arg::Text(&write.data),
                Arg::Number(u64::try_from(ttl_ms).unwrap_or(u64::MAX)),
            ]);
        }
        args.extend(group.checks.iter().map(|check| Arg::Number(check.version)));
        for append in &group.appends {
            args.extend([
                Arg::Number(append.entries.len() as u64),
                Arg::Number(append.keep.saturating_sub(1) as u64),
            ]);
            args.extend(append.entries.iter().map(|entry| Arg::Text(entry)));
        }
    }
    (keys, args)
}

/// What the script's answers for `groups` mean, one outcome per group.
pub fn outcomes(answers: &[usize], groups: &[WriteGroup]) -> Result<Vec<GroupOutcome>, StoreError> {
    if answers.len() != groups.len() {
        return Err(StoreError::Protocol(format!(
            "script answered for {} groups of {}",
            answers.len(),
            groups.len()
        )));
    }
    answers
        .iter()
        .zip(groups)
        .map(|(answer, group)| outcome(*answer, group))
        .collect()
}

/// 0 applied, else the 1-based index of the document (written, then checked) that was not at
/// its expected version.
fn outcome(answer: usize, group: &WriteGroup) -> Result<GroupOutcome, StoreError> {
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
