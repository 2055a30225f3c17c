//! `txscore replay` on a small labelled history with a known answer.

use std::process::Command;

const HEADER: &str = "txn_id,type,card_token,member_id,amount,currency,channel,card_present,merchant_id,merchant_name,mcc,country,city,lat,lon,timestamp,fraud_label";

fn row(id: &str, card: &str, amount: &str, present: bool, minute: u32, fraud: &str) -> String {
    format!(
        "{id},purchase,{card},M-1,{amount},CNY,{},{present},MER-1,\"Fresh Mart, Pudong\",5411,CN,Shanghai,31.2304,121.4737,2026-11-22T10:{minute:02}:00Z,{fraud}",
        if present { "chip" } else { "online" }
    )
}

/// Runs `txscore replay` on a file of `lines` named `name`; its standard output, once it
/// succeeded.
fn replay(name: &str, lines: &[String]) -> String {
    let directory =
        std::env::temp_dir().join(format!("txscore-replay-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&directory).unwrap();
    let file = directory.join(name);
    std::fs::write(&file, lines.join("\n")).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_txscore"))
        .arg("replay")
        .arg(&file)
        .output()
        .unwrap();
    std::fs::remove_dir_all(&directory).unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

#[test]
fn replay_reports_precision_and_recall_per_rule() {
    let mut lines = vec![HEADER.to_owned()];
    // A legitimate card: ordinary spends, one unlabelled.
    for minute in 0..5 {
        let label = if minute == 4 { "" } else { "0" };
        lines.push(row(
            &format!("L-{minute}"),
            "tok_good",
            "120.00",
            true,
            minute * 10,
            label,
        ));
    }
    // A tested card: three probes, then a large online spend; all labelled fraud.
    for minute in 0..3 {
        lines.push(row(
            &format!("F-{minute}"),
            "tok_bad",
            "1.00",
            true,
            minute,
            "1",
        ));
    }
    lines.push(row("F-3", "tok_bad", "4800.00", false, 5, "1"));
    // A row that is not a valid transaction.
    lines.push(row("X-1", "tok_good", "-3.00", true, 59, "0"));

    let stdout = replay("history.csv", &lines);

    assert!(
        stdout.contains("9 transactions scored, 1 dead-lettered"),
        "{stdout}"
    );
    assert!(stdout.contains("8 labelled, 4 of them fraud"), "{stdout}");
    let columns = |rule: &str| -> Vec<String> {
        let line = stdout
            .lines()
            .find(|line| line.starts_with(rule))
            .unwrap_or_else(|| panic!("no {rule} row:\n{stdout}"));
        line[24..].split_whitespace().map(str::to_owned).collect()
    };
    // Only the large spend is card testing: 1 alert in 9, precise, a quarter of the fraud.
    assert_eq!(columns("card_testing"), ["1", "111.1", "1.00", "0.25"]);
    // The probes repeat merchant and amount a minute apart: duplicates, all fraud.
    assert_eq!(columns("duplicate"), ["2", "222.2", "1.00", "0.50"]);
}

/// Purchases dated at the edges of the calendar each panicked the process before; now each is a
/// dead letter and the replay finishes.
#[test]
fn replay_sets_aside_times_the_rules_cannot_reason_about() {
    let valid = r#"{"txn_id":"T-1","type":"purchase","card_token":"tok_1","member_id":"M-1","amount":"10.00","currency":"CNY","merchant":{"id":"MER-1","mcc":"5411","country":"CN"},"timestamp":"2026-11-22T10:00:00Z"}"#;
    let mut lines = vec![valid.to_owned()];
    for (n, at) in [
        "9999-12-31T23:59:00Z",
        "9999-12-31T23:59:59-01:00",
        "0000-01-01T00:30:00+01:00",
        "9999-12-20T00:00:00Z",
    ]
    .iter()
    .enumerate()
    {
        lines.push(
            valid
                .replace("T-1", &format!("T-{}", n + 2))
                .replace("2026-11-22T10:00:00Z", at),
        );
    }
    let stdout = replay("edges.jsonl", &lines);
    assert!(
        stdout.contains(r#"1 transactions scored, 4 dead-lettered {"invalid_field": 4}"#),
        "{stdout}"
    );
}
