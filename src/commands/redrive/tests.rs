use super::*;
use crate::wire::SourcePosition;

const INPUTS: [&str; 4] = ["transactions", "reviews", "commands", "member-events"];

fn dead_letter(kind: &str, topic: &str, payload: &[u8], keep: usize) -> Vec<u8> {
    let source = SourcePosition {
        topic: topic.into(),
        partition: 3,
        offset: 41,
    };
    let record = DlqRecord::new(payload, keep, source, kind, "why".into());
    serde_json::to_vec(&record).expect("serialises")
}

fn selecting(kinds: &[&str], since_ms: Option<i64>) -> Selection {
    Selection {
        kinds: kinds.iter().map(|kind| kind.to_string()).collect(),
        since_ms,
    }
}

const REFUND: &[u8] = br#"{"txn_id":"R-1","type":"refund","original_txn_id":"T-1"}"#;

#[test]
fn a_selected_whole_dead_letter_goes_back_to_its_input_topic_as_it_was_sent() {
    let record = dead_letter("unknown_original", "transactions", REFUND, 1024);
    assert_eq!(
        verdict(
            &record,
            Some(5),
            &selecting(&["unknown_original"], None),
            &INPUTS
        ),
        Verdict::Resend {
            kind: "unknown_original".into(),
            topic: "transactions".into(),
            payload: REFUND.to_vec(),
        }
    );
}

#[test]
fn other_kinds_and_older_records_are_left_alone() {
    let record = dead_letter("unknown_original", "transactions", REFUND, 1024);
    let other = selecting(&["unknown_program"], None);
    let not_selected = Verdict::NotSelected {
        kind: "unknown_original".into(),
    };
    assert_eq!(verdict(&record, Some(5), &other, &INPUTS), not_selected);
    let since = selecting(&["unknown_original"], Some(1_000));
    assert_eq!(verdict(&record, Some(999), &since, &INPUTS), not_selected);
    assert_eq!(verdict(&record, None, &since, &INPUTS), not_selected);
    assert!(matches!(
        verdict(&record, Some(1_000), &since, &INPUTS),
        Verdict::Resend { .. }
    ));
}

#[test]
fn what_cannot_be_sent_again_is_counted_with_its_reason() {
    let all = selecting(
        &["unknown_original", "raw_pan", "unreadable_owner_log"],
        None,
    );
    let cut = dead_letter("unknown_original", "transactions", REFUND, 10);
    assert_eq!(
        verdict(&cut, Some(5), &all, &INPUTS),
        Verdict::Unsendable {
            kind: "unknown_original".into(),
            reason: "the record holds only part of the message"
        }
    );
    let masked = dead_letter(
        "raw_pan",
        "transactions",
        br#"{"card_number":"4111111111111111"}"#,
        1024,
    );
    assert_eq!(
        verdict(&masked, Some(5), &all, &INPUTS),
        Verdict::Unsendable {
            kind: "raw_pan".into(),
            reason: "it carried a card number, which the record masks"
        }
    );
    let internal = dead_letter("unreadable_owner_log", "txscore-by-owner", REFUND, 1024);
    assert_eq!(
        verdict(&internal, Some(5), &all, &INPUTS),
        Verdict::Unsendable {
            kind: "unreadable_owner_log".into(),
            reason: "it was not read from an input topic"
        }
    );
    assert_eq!(
        verdict(b"{\"not\":\"a dead letter\"}", Some(5), &all, &INPUTS),
        Verdict::Unreadable
    );
}

#[test]
fn raw_pan_cannot_be_asked_for() {
    assert!(redrivable_kind("raw_pan").is_err());
    assert_eq!(redrivable_kind("too_late").as_deref(), Ok("too_late"));
}

#[test]
fn counts_are_listed_by_kind_or_as_none() {
    assert_eq!(listed(&BTreeMap::new()), "none");
    let counts = BTreeMap::from([("too_late".to_owned(), 2), ("malformed_json".to_owned(), 1)]);
    assert_eq!(listed(&counts), "malformed_json 1, too_late 2");
}

#[test]
fn a_message_is_sent_once_however_many_dead_letters_hold_it() {
    let outgoing = |topic: &str, key: Option<&str>, payload: &str| Outgoing {
        kind: "unknown_original".into(),
        topic: topic.into(),
        key: key.map(|key| key.as_bytes().to_vec()),
        payload: payload.as_bytes().to_vec(),
    };
    let (kept, copies) = first_copies(vec![
        outgoing("transactions", Some("tok-1"), "R-2"),
        outgoing("transactions", Some("tok-1"), "R-1"),
        outgoing("transactions", Some("tok-1"), "R-2"),
        outgoing("transactions", Some("tok-2"), "R-2"),
        outgoing("transactions", None, "R-2"),
        outgoing("commands", Some("tok-1"), "R-2"),
        outgoing("transactions", Some("tok-1"), "R-2"),
    ]);
    assert_eq!(copies, 2);
    let text = |bytes: &[u8]| String::from_utf8(bytes.to_vec()).unwrap();
    let kept: Vec<String> = kept
        .iter()
        .map(|message| {
            let key = message.key.as_deref().map_or("-".into(), text);
            format!("{}/{key}/{}", message.topic, text(&message.payload))
        })
        .collect();
    assert_eq!(
        kept,
        [
            "transactions/tok-1/R-2",
            "transactions/tok-1/R-1",
            "transactions/tok-2/R-2",
            "transactions/-/R-2",
            "commands/tok-1/R-2",
        ],
        "first copies, in the order they were read"
    );
}
