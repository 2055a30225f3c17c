//! The store's applied positions behave the same in Redis and in memory: raised only upwards,
//! checked atomically, and a failed check writes nothing; a call over more partitions than the
//! script reads or writes at once, or naming one twice, does the same.

mod common;

use common::redis;
use txscore::store::{AppliedMark, Behind, MemoryStore, StateStore};

const KEY: &str = "txscore:{applied}";

fn mark(partition: &str, at_least: i64, next: i64) -> AppliedMark {
    AppliedMark {
        partition: partition.to_owned(),
        at_least,
        next,
    }
}

async fn check(store: &impl StateStore, marks: &[AppliedMark]) -> Option<Behind> {
    store
        .advance_applied(KEY, marks)
        .await
        .expect("store answers")
}

async fn positions_rise_and_are_checked(store: &impl StateStore) {
    let behind = check(store, &[mark("transactions:0", 5, -1)]).await;
    assert_eq!(
        behind,
        Some(Behind {
            partition: "transactions:0".into(),
            held: -1,
            at_least: 5
        }),
        "an empty store holds nothing"
    );
    assert_eq!(check(store, &[mark("transactions:0", -1, 10)]).await, None);
    assert_eq!(check(store, &[mark("transactions:0", 10, 7)]).await, None);
    assert_eq!(
        check(store, &[mark("transactions:0", 11, -1)]).await,
        Some(Behind {
            partition: "transactions:0".into(),
            held: 10,
            at_least: 11
        }),
        "a lower next never lowers it"
    );

    let refused = check(
        store,
        &[mark("transactions:0", 10, 20), mark("commands:3", 5, 9)],
    )
    .await;
    assert_eq!(
        refused.map(|behind| behind.partition),
        Some("commands:3".into())
    );
    assert_eq!(
        check(store, &[mark("transactions:0", 11, -1)])
            .await
            .map(|behind| behind.held),
        Some(10),
        "a failed check raised nothing"
    );
    assert_eq!(check(store, &[]).await, None);
}

/// More marks than the script's chunk of a thousand, and a partition named twice.
async fn many_partitions_at_once(store: &impl StateStore) {
    let partition = |index: usize| format!("transactions:{index}");
    let raised: Vec<AppliedMark> = (0..2_500)
        .map(|index| mark(&partition(index), -1, 100 + index as i64))
        .collect();
    assert_eq!(check(store, &raised).await, None);
    let held: Vec<AppliedMark> = (0..2_500)
        .map(|index| mark(&partition(index), 100 + index as i64, -1))
        .collect();
    assert_eq!(check(store, &held).await, None, "every position was raised");

    let mut one_short = held.clone();
    one_short[2_400].at_least += 1;
    one_short[2_499].next = 9_000;
    assert_eq!(
        check(store, &one_short).await,
        Some(Behind {
            partition: partition(2_400),
            held: 2_500,
            at_least: 2_501
        }),
        "a mark past the first thousand is checked"
    );
    assert_eq!(
        check(store, &[mark(&partition(2_499), 2_599, -1)]).await,
        None,
        "and the refused call raised nothing"
    );
    assert!(check(store, &[mark(&partition(2_499), 2_600, -1)])
        .await
        .is_some());

    let twice = [
        mark(&partition(7), -1, 5_000),
        mark(&partition(7), -1, 4_000),
        mark(&partition(8), -1, 4_000),
        mark(&partition(8), -1, 5_000),
    ];
    assert_eq!(check(store, &twice).await, None);
    for index in [7, 8] {
        assert_eq!(
            check(store, &[mark(&partition(index), 5_001, -1)])
                .await
                .map(|behind| behind.held),
            Some(5_000),
            "a partition named twice keeps the higher position, in either order"
        );
    }
}

#[tokio::test]
async fn in_redis() {
    let server = redis();
    let store = common::redis_store(&server).await;
    positions_rise_and_are_checked(&store).await;
    many_partitions_at_once(&store).await;
}

#[tokio::test]
async fn in_memory() {
    let store = MemoryStore::new();
    positions_rise_and_are_checked(&store).await;
    many_partitions_at_once(&store).await;
}
