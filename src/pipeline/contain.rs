//! The last line of defence: a panic while decoding or scoring one input is contained to that
//! input, which goes to the dead-letter topic as `internal_error` while the batch goes on.
//!
//! Nothing here is expected to fire: inputs are bounded at the edge and arithmetic is checked.
//! It exists so that a bug found by some future message costs one dead-letter record and an
//! alert, not a partition that crash-loops on the same offset forever.

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Where in the pipeline a contained panic happened (a metric label).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Decode,
    Score,
}

impl Stage {
    pub const ALL: [Stage; 2] = [Stage::Decode, Stage::Score];

    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Decode => "decode",
            Stage::Score => "score",
        }
    }

    fn doing(self) -> &'static str {
        match self {
            Stage::Decode => "decoding",
            Stage::Score => "scoring",
        }
    }
}

/// A panic contained to one input: where it happened and its message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contained {
    pub stage: Stage,
    pub message: String,
}

impl Contained {
    /// The dead-letter kind of an input whose processing panicked.
    pub const KIND: &'static str = "internal_error";

    /// The dead-letter reason: what failed, and that the input can be replayed.
    pub fn reason(&self) -> String {
        format!(
            "txscore failed while {} this input ({}); it was set aside so the partition goes \
             on, and can be replayed once fixed",
            self.stage.doing(),
            self.message
        )
    }
}

/// Runs `work`; a panic inside it becomes [`Contained`], logged and counted.
///
/// `work` must leave nothing half-changed that the caller keeps using after a panic: callers
/// pass closures that compute a result from borrowed state and apply it only on success.
pub fn contain<T>(stage: Stage, work: impl FnOnce() -> T) -> Result<T, Contained> {
    catch_unwind(AssertUnwindSafe(work)).map_err(|payload| {
        let message = panic_message(payload.as_ref());
        tracing::error!(stage = stage.as_str(), %message, "contained a panic; the input goes to the DLQ");
        crate::telemetry::events::internal_error(stage);
        Contained { stage, message }
    })
}

fn panic_message(payload: &(dyn Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|text| (*text).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic without a message".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_an_error_with_its_message() {
        let caught = contain(Stage::Score, || -> u32 { panic!("scoring bug {}", 7) });
        assert_eq!(
            caught.map_err(|panic| panic.message),
            Err("scoring bug 7".to_owned())
        );
        assert_eq!(contain(Stage::Decode, || 5), Ok(5));
    }
}
