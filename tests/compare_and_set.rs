//! The stores' compare-and-set behaves the same in Redis and in memory: a group applies only
//! when every document it writes and every document it only checks is at the version it names,
//! a refused group writes nothing, appends nothing, and names the document that moved, and
//! groups sent together succeed or fail each on its own.

mod common;

use common::redis;
use txscore::store::{
    Append, Check, GroupOutcome, MemoryStore, StateStore, Versioned, Write, WriteGroup,
};

const ACCOUNT: &str = "t:{m:1}:account:default";
const CARD: &str = "t:{m:1}:card:tok";
const RECORD: &str = "t:{m:1}:txn:T-1";
const LEDGER: &str = "t:{m:1}:ledger";

fn write(key: &str, expected_version: u64, data: &str) -> Write {
    Write {
        key: key.to_owned(),
        expected_version,
        data: data.to_owned(),
        ttl: None,
    }
}

fn check(key: &str, version: u64) -> Check {
    Check {
        key: key.to_owned(),
        version,
    }
}

fn group(writes: Vec<Write>, checks: Vec<Check>) -> WriteGroup {
    WriteGroup {
        writes,
        checks,
        appends: vec![Append {
            key: LEDGER.to_owned(),
            entries: vec!["event".to_owned()],
            keep: 10,
        }],
        index: Vec::new(),
    }
}

async fn apply(store: &impl StateStore, group: WriteGroup) -> GroupOutcome {
    let mut outcomes = store.apply(&[group]).await.expect("store answers");
    assert_eq!(outcomes.len(), 1);
    outcomes.remove(0)
}

async fn read(store: &impl StateStore, key: &str) -> Option<Versioned> {
    store.get_many(&[key.to_owned()]).await.unwrap().remove(0)
}

async fn checks_fence_what_a_group_only_read(store: &impl StateStore) {
    let created = group(vec![write(ACCOUNT, 0, "a1"), write(CARD, 0, "c1")], vec![]);
    assert_eq!(apply(store, created).await, GroupOutcome::Applied);

    let stale_check = group(vec![write(ACCOUNT, 1, "a2")], vec![check(CARD, 0)]);
    assert_eq!(
        apply(store, stale_check).await,
        GroupOutcome::Conflict { key: CARD.into() },
        "a checked document that moved refuses the group"
    );
    assert_eq!(read(store, ACCOUNT).await.unwrap().data, "a1");
    assert_eq!(store.list_head(LEDGER, 10).await.unwrap().len(), 1);

    let absent_check = group(vec![write(ACCOUNT, 1, "a2")], vec![check(RECORD, 0)]);
    assert_eq!(apply(store, absent_check).await, GroupOutcome::Applied);
    assert_eq!(
        read(store, ACCOUNT).await,
        Some(Versioned {
            version: 2,
            data: "a2".into()
        })
    );
    assert_eq!(
        read(store, CARD).await.unwrap().version,
        1,
        "a check writes nothing"
    );

    let present_record = group(vec![write(RECORD, 0, "r1")], vec![]);
    assert_eq!(apply(store, present_record).await, GroupOutcome::Applied);
    let presumed_absent = group(vec![write(ACCOUNT, 2, "a3")], vec![check(RECORD, 0)]);
    assert_eq!(
        apply(store, presumed_absent).await,
        GroupOutcome::Conflict { key: RECORD.into() },
        "version 0 means the document must not exist"
    );

    let stale_write = group(vec![write(ACCOUNT, 1, "a3")], vec![check(CARD, 1)]);
    assert_eq!(
        apply(store, stale_write).await,
        GroupOutcome::Conflict {
            key: ACCOUNT.into()
        }
    );
    let only_checks = group(vec![], vec![check(CARD, 1), check(RECORD, 1)]);
    assert_eq!(apply(store, only_checks).await, GroupOutcome::Applied);
    assert_eq!(
        store.list_head(LEDGER, 10).await.unwrap().len(),
        4,
        "appends follow the groups that applied, and only those"
    );
}

/// More groups than one script call takes, every third refused: the others apply regardless,
/// and each group's outcome lands at its own position.
async fn groups_sent_together_stay_independent(store: &impl StateStore) {
    let account = |n: usize| format!("t:{{m:g{n}}}:account:default");
    let ledger = |n: usize| format!("t:{{m:g{n}}}:ledger");
    let created: Vec<WriteGroup> = (0..70)
        .map(|n| WriteGroup {
            writes: vec![write(&account(n), 0, "first")],
            ..WriteGroup::default()
        })
        .collect();
    let outcomes = store.apply(&created).await.unwrap();
    assert!(outcomes
        .iter()
        .all(|outcome| *outcome == GroupOutcome::Applied));

    let second: Vec<WriteGroup> = (0..70)
        .map(|n| WriteGroup {
            writes: vec![write(&account(n), u64::from(n % 3 != 0), "second")],
            appends: vec![Append {
                key: ledger(n),
                entries: vec![format!("event {n}")],
                keep: 5,
            }],
            ..WriteGroup::default()
        })
        .collect();
    let outcomes = store.apply(&second).await.unwrap();
    for (n, outcome) in outcomes.iter().enumerate() {
        let expected = if n % 3 == 0 {
            GroupOutcome::Conflict { key: account(n) }
        } else {
            GroupOutcome::Applied
        };
        assert_eq!(*outcome, expected, "group {n}");
        let held = read(store, &account(n)).await.unwrap();
        let data = if n % 3 == 0 { "first" } else { "second" };
        assert_eq!(
            (held.version, held.data.as_str()),
            (1 + u64::from(n % 3 != 0), data)
        );
        assert_eq!(
            store.list_head(&ledger(n), 5).await.unwrap().len(),
            usize::from(n % 3 != 0)
        );
    }
}

/// A list holds the newest `keep` entries, newest first, however many arrive at once: a
/// push of more entries than one script call unpacks at a time included.
async fn appends_keep_the_newest_entries(store: &impl StateStore) {
    let key = "t:{m:list}:ledger";
    let append = |entries: Vec<String>, keep: usize| WriteGroup {
        appends: vec![Append {
            key: key.to_owned(),
            entries,
            keep,
        }],
        ..WriteGroup::default()
    };
    let named = |names: &[&str]| names.iter().map(|name| (*name).to_owned()).collect();
    apply(store, append(named(&["a", "b"]), 3)).await;
    assert_eq!(store.list_head(key, 10).await.unwrap(), ["b", "a"]);
    apply(store, append(named(&["c", "d", "e"]), 3)).await;
    assert_eq!(store.list_head(key, 10).await.unwrap(), ["e", "d", "c"]);
    apply(store, append(Vec::new(), 3)).await;
    assert_eq!(store.list_head(key, 10).await.unwrap(), ["e", "d", "c"]);

    let many: Vec<String> = (0..2_500).map(|n| format!("event {n}")).collect();
    apply(store, append(many, 2_000)).await;
    let held = store.list_head(key, 5_000).await.unwrap();
    assert_eq!(held.len(), 2_000);
    assert_eq!(
        (held[0].as_str(), held[1_999].as_str()),
        ("event 2499", "event 500")
    );
}

#[tokio::test]
async fn in_redis() {
    let server = redis();
    let store = common::redis_store(&server).await;
    checks_fence_what_a_group_only_read(&store).await;
    groups_sent_together_stay_independent(&store).await;
    appends_keep_the_newest_entries(&store).await;
}

#[tokio::test]
async fn in_memory() {
    let store = MemoryStore::new();
    checks_fence_what_a_group_only_read(&store).await;
    groups_sent_together_stay_independent(&store).await;
    appends_keep_the_newest_entries(&store).await;
}
