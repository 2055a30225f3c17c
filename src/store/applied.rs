//! The input positions whose writes the store holds: one offset per input partition, kept in
//! the store itself (`applied.lua`), so that a store restarted from an empty or older dataset
//! is told from one that kept everything. Shared by the single-node and the cluster store.

pub const APPLIED_SCRIPT: &str = include_str!("applied.lua");

/// What one input partition's applied position must be, and what it becomes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedMark {
    /// The partition, as `<topic>:<partition>`.
    pub partition: String,
    /// The store must hold at least this offset (-1: no requirement).
    pub at_least: i64,
    /// The offset to hold from now on, where higher than what is held (-1: only check).
    pub next: i64,
}

/// The store holds less than a mark required: writes it acknowledged are gone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Behind {
    pub partition: String,
    /// What the store holds (-1: nothing).
    pub held: i64,
    pub at_least: i64,
}

/// A partition's field in the store's hash: `<topic>:<partition>`.
pub fn field(topic: &str, partition: i32) -> String {
    format!("{topic}:{partition}")
}

/// The script's arguments for `marks`.
pub fn script_args(marks: &[AppliedMark]) -> Vec<String> {
    marks
        .iter()
        .flat_map(|mark| {
            [
                mark.partition.clone(),
                mark.at_least.to_string(),
                mark.next.to_string(),
            ]
        })
        .collect()
}

/// Reads the script's answer back: `None` when every mark held.
pub fn behind(marks: &[AppliedMark], answer: Vec<String>) -> Option<Behind> {
    let [partition, held] = <[String; 2]>::try_from(answer).ok()?;
    let at_least = marks
        .iter()
        .find(|mark| mark.partition == partition)
        .map_or(-1, |mark| mark.at_least);
    Some(Behind {
        partition,
        held: held.parse().unwrap_or(-1),
        at_least,
    })
}
