//! The processing pipeline, from consumed batch to committed offsets.
//!
//! - [`batch`]: one batch through decode, load, score, compare-and-set: no Kafka here, so it is
//!   tested directly against both stores.
//! - `budgets`: campaign budgets all members draw from, claimed per transaction.
//! - [`contain`]: a panic on one input dead-letters that input, not the process.
//! - `inputs`: what each input topic's messages decode to, their owners and document keys.
//! - `parallel`: decoding and scoring spread over the cores.
//! - `ownership`: the owner of a transaction whose message does not name it, decided once.
//! - `owner_log`: the record format of the internal topic that gives each owner's inputs one
//!   order of record.
//! - `report`: outputs by destination and the report of how a batch's messages fared.
//! - `owned_state`: the state documents this instance holds in memory between batches.
//! - [`documents`]: typed working copies of the stored documents a batch reads and writes.
//! - [`expiry_sweep`]: expiring the lots of members with no events, exactly once.
//! - `topics`: the topic names, one type for the configuration, the consumer, the decoder and
//!   the producer.
//! - [`runner`]: the Kafka loop: gather a batch, process it, publish its outputs, wait for the
//!   acks, and only then store its offsets.

pub mod batch;
mod budgets;
pub mod contain;
mod documents;
pub mod expiry_sweep;
mod inputs;
mod owned_state;
mod owner_log;
mod ownership;
mod parallel;
mod report;
pub mod runner;
mod topics;

pub use batch::{BatchProcessor, BatchReport, Destination, Inbound, Outbound, ProcessorSettings};
pub use runner::{FaultInjection, Pipeline, PipelineError, RunSummary};
pub use topics::Topics;
