//! State storage: versioned documents under string keys, read in bulk and written by atomic
//! compare-and-set groups.
//!
//! The store knows nothing of members or cards; the pipeline encodes those as documents.
//! Every group of writes shares one hash tag (see [`keys`]) so Redis Cluster can apply it
//! atomically, and every write names the version it expects, so two instances (or two topics)
//! writing the same member never overwrite each other: the loser sees a conflict and rescoring
//! starts from the winner's state.
//!
//! - [`keys`]: the key layout.
//! - [`redis`]: Redis, one server ([`redis_node`]) or a cluster ([`redis_cluster`]), with the
//!   compare-and-set script in [`cas`], the shared-counter script in [`claims`] and the
//!   applied-positions script in [`applied`].
//! - [`memory`]: the same semantics in process, for the embedded demo and replays.

pub mod applied;
pub mod cas;
pub mod claims;
pub mod keys;
pub mod memory;
pub mod redis;
pub mod redis_cluster;
pub mod redis_node;

use std::future::Future;
use std::time::Duration;

pub use applied::{AppliedMark, Behind};
pub use claims::{Claim, ClaimStep};
pub use keys::{Keyspace, Owner};
pub use memory::MemoryStore;
pub use redis::RedisStore;

/// A stored document and the version it is at (1 after the first write).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Versioned {
    pub version: u64,
    pub data: String,
}

/// Where a [`StateStore::scan`] continues: the node (of a cluster) and its SCAN cursor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ScanCursor {
    pub node: usize,
    pub position: u64,
}

/// One document write inside a [`WriteGroup`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Write {
    pub key: String,
    /// The version the writer read; 0 means the document must not exist yet.
    pub expected_version: u64,
    pub data: String,
    /// How long the document is kept; `None` keeps it until overwritten.
    pub ttl: Option<Duration>,
}

/// Entries pushed onto the front of a bounded list (newest first) when their group applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Append {
    pub key: String,
    /// Oldest first: the last entry ends up at the head of the list.
    pub entries: Vec<String>,
    /// The list is trimmed to this many entries.
    pub keep: usize,
}

/// A document the group read but does not write: it must still be at `version` (0: must not
/// exist) for the group to apply, so a group never acts on state another writer has changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub key: String,
    pub version: u64,
}

/// Writes applied all together or not at all. All keys of `writes`, `checks` and `appends`
/// share one hash tag.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WriteGroup {
    pub writes: Vec<Write>,
    pub checks: Vec<Check>,
    pub appends: Vec<Append>,
    /// Lookup entries (key, value) that hold facts of the input itself, such as which owner a
    /// card's state lives under. They may live in another hash slot, so they are set on their
    /// own, whatever the group's outcome: writing one twice, or for a group that is rescored,
    /// is harmless.
    pub index: Vec<(String, String)>,
}

/// What happened to one write group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupOutcome {
    Applied,
    /// Nothing was written: this key (written or checked) was not at the expected version.
    Conflict {
        key: String,
    },
}

/// The store is unreachable or answered something it should not have.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("redis: {0}")]
    Redis(#[from] ::redis::RedisError),
    #[error("store answered unexpectedly: {0}")]
    Protocol(String),
}

/// Versioned document storage with atomic multi-key compare-and-set.
pub trait StateStore: Send + Sync + 'static {
    /// Reads `keys` in one round trip; `None` for a key that does not exist.
    fn get_many(
        &self,
        keys: &[String],
    ) -> impl Future<Output = Result<Vec<Option<Versioned>>, StoreError>> + Send;

    /// Applies each group atomically, all groups in one round trip; one outcome per group.
    fn apply(
        &self,
        groups: &[WriteGroup],
    ) -> impl Future<Output = Result<Vec<GroupOutcome>, StoreError>> + Send;

    /// Reads a string value (an index entry).
    fn get_value(
        &self,
        key: &str,
    ) -> impl Future<Output = Result<Option<String>, StoreError>> + Send;

    /// The first `count` entries of a list written by [`Append`], newest first.
    fn list_head(
        &self,
        key: &str,
        count: usize,
    ) -> impl Future<Output = Result<Vec<String>, StoreError>> + Send;

    /// One page of the keys matching `pattern` (a glob with `*`), from `cursor` (start with
    /// the default); the next cursor, or `None` when every key has been visited. A key may be
    /// returned twice, never missed, as with Redis SCAN.
    fn scan(
        &self,
        pattern: &str,
        cursor: ScanCursor,
    ) -> impl Future<Output = Result<(Vec<String>, Option<ScanCursor>), StoreError>> + Send;

    /// Reserves or settles claims on shared counters (see [`claims`]), all in one round trip
    /// per node; the amount each claim holds afterwards.
    fn claim(
        &self,
        claims: &[Claim],
        step: ClaimStep,
    ) -> impl Future<Output = Result<Vec<i64>, StoreError>> + Send;

    /// Checks that the hash `key` holds each mark's partition at least at its `at_least`, and
    /// if all do, raises each to its `next`; atomically, in one round trip. `Some` names a
    /// partition the store holds less of than required: it lost acknowledged writes.
    fn advance_applied(
        &self,
        key: &str,
        marks: &[AppliedMark],
    ) -> impl Future<Output = Result<Option<Behind>, StoreError>> + Send;

    /// Checks the store answers, for readiness.
    fn ping(&self) -> impl Future<Output = Result<(), StoreError>> + Send;
}
