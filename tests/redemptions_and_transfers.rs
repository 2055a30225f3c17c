//! Redemptions and transfers through the real pipeline: commands debit the oldest lots or are
//! refused in the ledger, a cancellation gives points back once, a transfer's credit travels
//! back through the commands topic and is honoured only against a real debit, and a refund
//! after the points were spent records a shortfall.

mod common;

use common::{balances, error_kinds, ledger_events, progressed};
use common::{txscore_feed, Stack};
use serde_json::Value;
use txscore::store::StateStore;
use txscore::synth::SyntheticMessage;

const RULES: &str = r#"version = "commands-1"
[programs.default]
base_currency = "CNY"
points_per_unit = "1"
default_tier = "standard"
tiers = { standard = "1" }
max_transfer_points = 1000
[programs.default.expiry]
months = 24
"#;

fn message(key: &str, body: String) -> SyntheticMessage {
    SyntheticMessage {
        key: key.into(),
        payload: body.into_bytes(),
    }
}

fn purchase(txn: &str, member: &str, amount: &str) -> SyntheticMessage {
    message(
        &format!("tok_{member}"),
        format!(
            r#"{{"txn_id":"{txn}","type":"purchase","card_token":"tok_{member}","member_id":"{member}",
            "amount":"{amount}","currency":"CNY","merchant":{{"id":"MER-1","mcc":"5411","country":"CN"}},
            "timestamp":"2026-11-20T10:00:00Z"}}"#
        ),
    )
}

fn command(id: &str, member: &str, fields: &str) -> SyntheticMessage {
    message(
        member,
        format!(
            r#"{{"command_id":"{id}","member_id":"{member}",{fields},"timestamp":"2026-11-21T10:00:00Z"}}"#
        ),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redemptions_cancellations_and_transfers_move_points_exactly_once() {
    let Stack {
        broker,
        store,
        running,
        redis: _redis,
    } = Stack::start("commands", RULES, |_| {}).await;

    broker
        .feed(&[
            purchase("T-A", "M-A", "1000"),
            purchase("T-B", "M-B", "100"),
            purchase("T-C", "M-C", "100"),
        ])
        .await;
    progressed(&running.health, 3).await;

    let redeem = r#""type":"redeem","reward":"voucher-30""#;
    txscore_feed(
        &broker.brokers,
        &broker.topics.commands,
        &[
            command("C-1", "M-A", &format!("{redeem},\"points\":300")),
            command("C-1", "M-A", &format!("{redeem},\"points\":300")),
            command("C-2", "M-A", &format!("{redeem},\"points\":5000")),
            command("C-3", "M-A", r#""type":"cancel_redemption","redemption_id":"C-1""#),
            command("C-4", "M-A", r#""type":"cancel_redemption","redemption_id":"C-1""#),
            command("C-5", "M-A", r#""type":"transfer","to_member_id":"M-B","points":200"#),
            command(
                "C-6/credit",
                "M-B",
                r#""type":"transfer_credit","transfer_id":"C-999","from_member_id":"M-A","points":500"#,
            ),
            command("C-7", "M-C", &format!("{redeem},\"points\":100")),
        ],
    )
    .await;
    // The refund comes after M-C spent the points.
    broker.ledger_events(9);
    broker
        .feed(&[message(
            "tok_M-C",
            r#"{"txn_id":"R-C","type":"refund","original_txn_id":"T-C","card_token":"tok_M-C",
            "member_id":"M-C","amount":"100","currency":"CNY",
            "merchant":{"id":"MER-1","mcc":"5411","country":"CN"},"timestamp":"2026-11-22T10:00:00Z"}"#
                .into(),
        )])
        .await;
    let ledger = broker.ledger_events(10);
    let dead = broker.dead_letters(2);
    running.stop().await.unwrap();

    let events = ledger_events(&ledger);
    let ids: Vec<&str> = events.keys().map(String::as_str).collect();
    assert_eq!(
        ids,
        [
            "C-1/points_redeemed",
            "C-2/redemption_rejected",
            "C-3/redemption_cancelled",
            "C-5/credit/transfer_received",
            "C-5/points_transferred",
            "C-7/points_redeemed",
            "R-C/points_reversed",
            "T-A/points_earned",
            "T-B/points_earned",
            "T-C/points_earned",
        ]
    );
    let redeemed = &events["C-1/points_redeemed"];
    assert_eq!(redeemed["breakdown"][0]["rule"], "lot:2026-11");
    assert_eq!(redeemed["breakdown"][0]["funded_by"], "issuer");
    assert_eq!(events["C-2/redemption_rejected"]["points"], 0);
    assert_eq!(events["C-5/credit/transfer_received"]["balance_after"], 300);

    let accounts = ["M-A", "M-B", "M-C"].map(|m| format!("txscore:{{m:{m}}}:account:default"));
    let after = balances(&store, &accounts).await;
    assert_eq!(after[&accounts[0]].0, 1000 - 300 + 300 - 200);
    assert_eq!(after[&accounts[1]].0, 100 + 200);
    assert_eq!(after[&accounts[2]].0, 0);
    let m_c = store.get_many(&[accounts[2].clone()]).await.unwrap();
    let m_c: Value = serde_json::from_str(&m_c[0].as_ref().unwrap().data).unwrap();
    assert_eq!(
        m_c["shortfall"], 100,
        "the refund found the points already spent"
    );

    assert_eq!(
        error_kinds(&dead),
        ["already_cancelled", "unknown_original"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copy_of_a_published_transfer_credit_under_a_new_id_credits_nothing() {
    let stack = Stack::start("transfer-credit-copy", RULES, |_| {}).await;
    let broker = &stack.broker;
    broker
        .feed(&[
            purchase("T-A", "M-A", "1000"),
            purchase("T-B", "M-B", "100"),
        ])
        .await;
    progressed(&stack.running.health, 2).await;
    txscore_feed(
        &broker.brokers,
        &broker.topics.commands,
        &[command(
            "C-5",
            "M-A",
            r#""type":"transfer","to_member_id":"M-B","points":500"#,
        )],
    )
    .await;
    broker.ledger_events(4);
    broker.wait_consumed(&broker.topics.commands);
    // What txscore published on the commands topic: the credit, keyed by the receiver.
    let published = common::read_to_end(&broker.brokers, &broker.topics.commands, false);
    let credit = published
        .iter()
        .find(|(_, payload)| payload.contains("transfer_credit"))
        .expect("the credit was published")
        .1
        .clone();
    assert!(credit.contains(r#""command_id":"C-5/credit""#), "{credit}");
    let copies = [
        credit.replace(
            r#""command_id":"C-5/credit""#,
            r#""command_id":"C-5/credit-2""#,
        ),
        credit.replace(r#""command_id":"C-5/credit""#, r#""command_id":"X-1""#),
        credit.clone(),
    ];
    let copies: Vec<SyntheticMessage> = copies.iter().map(|c| message("M-B", c.clone())).collect();
    txscore_feed(&broker.brokers, &broker.topics.commands, &copies).await;
    broker.wait_consumed(&broker.topics.commands);
    let ledger = common::read_to_end(&broker.brokers, &broker.topics.ledger, false);
    let dead = common::read_to_end(&broker.brokers, &broker.topics.dlq, false);
    stack.running.stop().await.unwrap();

    let received = ledger
        .iter()
        .filter(|(_, payload)| payload.contains("transfer_received"))
        .count();
    assert_eq!(
        received, 2,
        "the credit and the exact copy's replay, nothing more"
    );
    assert_eq!(error_kinds(&dead), ["unknown_original", "unknown_original"]);
    let accounts = ["M-A", "M-B"].map(|m| format!("txscore:{{m:{m}}}:account:default"));
    let after = balances(&stack.store, &accounts).await;
    assert_eq!(after[&accounts[0]].0, 500);
    assert_eq!(after[&accounts[1]].0, 600, "credited once");
}
