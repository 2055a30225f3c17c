//! Property: however a stream is cut into batches, and whatever is delivered again (redelivered
//! batches, upstream duplicates), the final balances are those of processing it once.

mod common;

use common::{balances, inbound, processor_settings, rules, Reference};
use proptest::prelude::*;
use txscore::pipeline::BatchProcessor;
use txscore::store::{Keyspace, MemoryStore};
use txscore::synth::{generate, StreamSpec, SyntheticMessage};

fn stream() -> Vec<SyntheticMessage> {
    generate(&StreamSpec {
        transactions: 300,
        cards: 20,
        burst_every: 100,
        ..StreamSpec::default()
    })
}

/// Delivers `messages` in batches cut at `cuts`, re-delivering every batch whose index is in
/// `redeliver` and duplicating the messages at `duplicates` right after themselves.
fn deliveries(
    messages: &[SyntheticMessage],
    cuts: &[usize],
    redeliver: &[usize],
    duplicates: &[usize],
) -> Vec<Vec<SyntheticMessage>> {
    let mut with_duplicates = Vec::new();
    for (index, message) in messages.iter().enumerate() {
        with_duplicates.push(message.clone());
        if duplicates.contains(&index) {
            with_duplicates.push(message.clone());
        }
    }
    let mut bounds: Vec<usize> = cuts.iter().map(|cut| cut % with_duplicates.len()).collect();
    bounds.extend([0, with_duplicates.len()]);
    bounds.sort_unstable();
    bounds.dedup();
    let mut batches = Vec::new();
    for (index, window) in bounds.windows(2).enumerate() {
        let batch = with_duplicates[window[0]..window[1]].to_vec();
        if redeliver.contains(&index) {
            batches.push(batch.clone());
        }
        batches.push(batch);
    }
    batches
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn redelivery_and_duplicates_never_change_a_balance_twice(
        cuts in proptest::collection::vec(0usize..400, 0..12),
        redeliver in proptest::collection::vec(0usize..12, 0..6),
        duplicates in proptest::collection::vec(0usize..300, 0..20),
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        runtime.block_on(async {
            let messages = stream();
            let reference = Reference::of(&messages).await;
            let processor = BatchProcessor::new(MemoryStore::new(), Keyspace::new("txscore"), processor_settings());
            let rules = rules();
            for batch in deliveries(&messages, &cuts, &redeliver, &duplicates) {
                processor.process(&inbound(&batch), &rules).await.unwrap();
            }
            let keys = reference.account_keys();
            prop_assert_eq!(balances(processor.store(), &keys).await, reference.balances().await);
            Ok(())
        })?;
    }
}
