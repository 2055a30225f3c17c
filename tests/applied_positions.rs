//! The store's applied positions behave the same in Redis and in memory: raised only upwards,
//! checked atomically, and a failed check writes nothing.

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

#[tokio::test]
async fn in_redis() {
    let server = redis();
    let store = common::redis_store(&server).await;
    positions_rise_and_are_checked(&store).await;
}

#[tokio::test]
async fn in_memory() {
    positions_rise_and_are_checked(&MemoryStore::new()).await;
}
