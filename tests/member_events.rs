//! Member events through the real pipeline: bonuses for enrolment (once), sign-in (once a
//! day) and surveys, a referral paid to the referrer when the referred member's first purchase
//! posts (the bonus travels through the commands topic), a tier override, a freeze that
//! refuses redemptions, a card link that gives member-less transactions their member, a pooled
//! card that earns into its household pool whatever member it names, and an invalid referral
//! dead-lettered.

mod common;

use common::Stack;
use common::{balances, error_kinds, ledger_events, progressed, txscore_feed};
use txscore::synth::SyntheticMessage;

const RULES: &str = r#"version = "members-1"
[programs.default]
base_currency = "CNY"
points_per_unit = "1"
default_tier = "standard"
tiers = { standard = "1", gold = "2" }
[programs.default.bonuses]
enrolment = 500
sign_in = 5
survey = 50
referral = 1000
"#;

fn message(key: &str, body: String) -> SyntheticMessage {
    SyntheticMessage {
        key: key.into(),
        payload: body.into_bytes(),
    }
}

fn member_event(id: &str, member: &str, fields: &str) -> SyntheticMessage {
    message(
        member,
        format!(
            r#"{{"event_id":"{id}","member_id":"{member}",{fields},"timestamp":"2026-11-20T09:00:00Z"}}"#
        ),
    )
}

fn purchase(txn: &str, card: &str, member: Option<&str>) -> SyntheticMessage {
    let member = member.map_or(String::new(), |m| format!(r#""member_id":"{m}","#));
    message(
        card,
        format!(
            r#"{{"txn_id":"{txn}","type":"purchase","card_token":"{card}",{member}"amount":"100",
            "currency":"CNY","merchant":{{"id":"MER-1","mcc":"5411","country":"CN"}},
            "timestamp":"2026-11-20T10:00:00Z"}}"#
        ),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn member_events_earn_bonuses_link_cards_pay_referrals_and_freeze_accounts() {
    let Stack {
        broker,
        store,
        running,
        redis: _redis,
    } = Stack::start("members", RULES, |config| {
        config.processor.pooled_cards = true
    })
    .await;

    let events = [
        member_event("E-1", "M-A", r#""type":"enrolled""#),
        member_event("E-1", "M-A", r#""type":"enrolled""#),
        member_event("E-2", "M-A", r#""type":"enrolled""#),
        member_event("E-3", "M-A", r#""type":"signed_in""#),
        member_event("E-4", "M-A", r#""type":"signed_in""#),
        member_event("E-5", "M-A", r#""type":"survey_completed""#),
        member_event("E-6", "M-B", r#""type":"referred","referrer_id":"M-A""#),
        member_event("E-7", "M-A", r#""type":"tier_override","tier":"gold""#),
        member_event("E-8", "M-A", r#""type":"frozen""#),
        member_event("E-9", "M-C", r#""type":"card_linked","card_token":"tok_c""#),
        member_event("E-10", "M-B", r#""type":"referred","referrer_id":"M-D""#),
        member_event(
            "E-11",
            "POOL",
            r#""type":"card_linked","card_token":"tok_p","pool":true"#,
        ),
    ];
    txscore_feed(&broker.brokers, &broker.topics.member_events, &events).await;
    progressed(&running.health, events.len() as u64).await;

    broker
        .feed(&[
            purchase("T-B", "tok_b", Some("M-B")),
            purchase("T-C", "tok_c", None),
            purchase("T-A", "tok_a", Some("M-A")),
            purchase("T-P", "tok_p", Some("M-X")),
            purchase("T-Q", "tok_c", Some("M-Q")),
        ])
        .await;
    broker.ledger_events(11);
    txscore_feed(
        &broker.brokers,
        &broker.topics.commands,
        &[message(
            "M-A",
            r#"{"command_id":"C-1","type":"redeem","member_id":"M-A","points":10,"reward":"r",
            "timestamp":"2026-11-21T10:00:00Z"}"#
                .into(),
        )],
    )
    .await;
    let ledger = broker.ledger_events(12);
    let dead = broker.dead_letters(1);
    running.stop().await.unwrap();

    let events = ledger_events(&ledger);
    let ids: Vec<&str> = events.keys().map(String::as_str).collect();
    assert_eq!(
        ids,
        [
            "C-1/redemption_rejected",
            "E-1/bonus_earned",
            "E-3/bonus_earned",
            "E-5/bonus_earned",
            "E-7/tier_changed:gold",
            "E-8/account_frozen",
            "T-A/points_earned",
            "T-B/points_earned",
            "T-B/referral/bonus_earned",
            "T-C/points_earned",
            "T-P/points_earned",
            "T-Q/points_earned",
        ]
    );
    assert_eq!(
        events["T-A/points_earned"]["points"], 200,
        "gold by override earns x2"
    );
    assert_eq!(
        events["T-C/points_earned"]["member_id"], "M-C",
        "the linked card's member"
    );
    assert_eq!(events["T-B/referral/bonus_earned"]["member_id"], "M-A");
    assert!(events["C-1/redemption_rejected"]["breakdown"][0]["detail"]
        .as_str()
        .unwrap()
        .contains("frozen"));
    let accounts = ["M-A", "M-B", "M-C"].map(|m| format!("txscore:{{m:{m}}}:account:default"));
    let after = balances(&store, &accounts).await;
    assert_eq!(after[&accounts[0]].0, 500 + 5 + 50 + 1000 + 200);
    assert_eq!(after[&accounts[1]].0, 100);
    assert_eq!(after[&accounts[2]].0, 100);
    assert_eq!(error_kinds(&dead), ["invalid_event"]);
}
