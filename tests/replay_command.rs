//! `txscore replay` on a small labelled history with a known answer.

use std::process::Command;

const HEADER: &str = "txn_id,type,card_token,member_id,amount,currency,channel,card_present,merchant_id,merchant_name,mcc,country,city,lat,lon,timestamp,fraud_label";

fn row(id: &str, card: &str, amount: &str, present: bool, minute: u32, fraud: &str) -> String {
    format!(
        "{id},purchase,{card},M-1,{amount},CNY,{},{present},MER-1,\"Fresh Mart, Pudong\",5411,CN,Shanghai,31.2304,121.4737,2026-11-22T10:{minute:02}:00Z,{fraud}",
        if present { "chip" } else { "online" }
    )
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

    let directory = std::env::temp_dir().join(format!("txscore-replay-{}", std::process::id()));
    std::fs::create_dir_all(&directory).unwrap();
    let file = directory.join("history.csv");
    std::fs::write(&file, lines.join("\n")).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_txscore"))
        .arg("replay")
        .arg(&file)
        .output()
        .unwrap();
    std::fs::remove_dir_all(&directory).unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );

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
