//! Claims on shared counters: the claims script (`claims.lua`) and its arguments, shared by the
//! single-node and the cluster store. A claim key is written once per claimant, so reserving
//! or settling twice (a redelivered message, a rescored group) moves the counter once.

use std::time::Duration;

pub const CLAIMS_SCRIPT: &str = include_str!("claims.lua");

/// One claimant's share of a counter that all claims together keep within a limit. The counter
/// and claim keys share one hash tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub counter: String,
    pub claim: String,
    /// Wanted (reserve) or final (settle) amount.
    pub amount: i64,
    /// The counter's limit, for reserve.
    pub limit: i64,
    /// How long the claim key is kept: as long as the claimant may be redelivered.
    pub ttl: Duration,
}

/// What a claims script call does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimStep {
    /// Grants up to the amount within the limit, once per claim key.
    Reserve,
    /// Sets the claim to exactly its amount.
    Settle,
}

/// The keys and arguments of the script call for `claim`.
pub fn script_call(claim: &Claim, step: ClaimStep) -> ([&str; 2], [String; 4]) {
    let step = match step {
        ClaimStep::Reserve => "reserve",
        ClaimStep::Settle => "settle",
    };
    (
        [claim.counter.as_str(), claim.claim.as_str()],
        [
            step.to_owned(),
            claim.amount.to_string(),
            claim.limit.to_string(),
            claim.ttl.as_millis().max(1).to_string(),
        ],
    )
}
