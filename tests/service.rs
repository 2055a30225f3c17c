//! `txscore run` as an operator runs it: a config file plus environment overrides, the HTTP
//! endpoints while it works, a clean exit on SIGTERM, and a clear error for a bad config.

mod common;

use common::{by_event_id, count, distinct_events, http_get, read_topic, redis, Broker, Reference};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use txscore::synth::{generate, StreamSpec};
use txscore::telemetry::catalogue;

const BINARY: &str = env!("CARGO_BIN_EXE_txscore");

fn get(addr: &str, path: &str) -> Option<(u16, String)> {
    http_get(addr, path, &[])
}

fn wait_until(what: &str, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !ready() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn free_addr() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().to_string()
}

fn terminate(child: &Child) {
    let status = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(status.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_serves_health_and_metrics_and_stops_cleanly_on_sigterm() {
    let broker = Broker::start("service", 4).await;
    let server = redis();
    let messages = generate(&StreamSpec {
        transactions: 800,
        cards: 80,
        ..StreamSpec::default()
    });
    let reference = Reference::of(&messages).await;
    broker.feed(&messages).await;

    let directory = std::env::temp_dir().join(format!("txscore-service-{}", std::process::id()));
    std::fs::create_dir_all(&directory).unwrap();
    let config = directory.join("txscore.toml");
    let rules = directory.join("rules.toml");
    std::fs::write(&rules, with_untouched_budget(&common::rules_toml())).unwrap();
    std::fs::write(
        &config,
        format!(
            "rules = {:?}\n[kafka]\nbrokers = \"overridden-by-environment:1\"\n{}\
             [pipeline]\nmax_batch = 100\n[metrics]\nliability_scan_secs = 1\n",
            rules.display().to_string(),
            common::topics_table(&broker.topics),
        ),
    )
    .unwrap();
    let addr = free_addr();
    let child = Command::new(BINARY)
        .args(["run", "--config"])
        .arg(&config)
        .env("TXSCORE_BROKERS", &broker.brokers)
        .env("TXSCORE_GROUP_ID", &broker.group)
        .env("TXSCORE_REDIS_URL", server.url())
        .env("TXSCORE_METRICS_ADDR", &addr)
        .env("TXSCORE_API_TOKEN", "service-test-token-0123456789abcdef")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();

    wait_until("/readyz", || {
        get(&addr, "/readyz").is_some_and(|(status, _)| status == 200)
    });
    let ledger = read_topic(
        &broker.brokers,
        &broker.topics.ledger,
        Duration::from_secs(60),
        distinct_events(reference.ledger_ids.len()),
    );
    assert_eq!(by_event_id(&ledger).len(), reference.ledger_ids.len());

    let (status, body) = get(&addr, "/healthz").unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"alive\":true"), "{body}");
    let balances = reference.balances().await;
    let (key, (balance, _)) = balances.iter().next().unwrap();
    let member = &key[key.find("{m:").unwrap() + 3..key.find('}').unwrap()];
    let bearer = [(
        "Authorization",
        "Bearer service-test-token-0123456789abcdef",
    )];
    let (status, body) = http_get(&addr, &format!("/members/{member}"), &bearer).unwrap();
    assert_eq!(status, 200, "{body}");
    let view: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(view["accounts"][0]["balance"], *balance, "{body}");
    let (status, _) = get(&addr, &format!("/members/{member}")).unwrap();
    assert_eq!(status, 401, "the query API requires the token");
    wait_until("messages in /metrics", || {
        get(&addr, "/metrics")
            .is_some_and(|(_, body)| body.contains("txscore_messages_total{outcome=\"scored\"}"))
    });
    let total_balance: i64 = balances.values().map(|(balance, _)| balance).sum();
    let total_pending: i64 = balances.values().map(|(_, pending)| pending).sum();
    wait_until("the liability scan to count every account", || {
        get(&addr, "/metrics").is_some_and(|(_, body)| {
            let gauge = |state: &str| {
                let series =
                    format!("txscore_points_outstanding{{program=\"default\",state=\"{state}\"}} ");
                body.lines()
                    .find_map(|line| line.strip_prefix(series.as_str()))
                    .and_then(|value| value.parse::<f64>().ok())
            };
            gauge("balance") == Some(total_balance as f64)
                && gauge("pending") == Some(total_pending as f64)
        })
    });
    wait_until("the budget gauge", || {
        get(&addr, "/metrics").is_some_and(|(_, body)| {
            body.contains(
                "txscore_campaign_budget_points{program=\"default\",campaign=\"untouched\",state=\"budget\"} 5000",
            ) && body.contains(
                "txscore_campaign_budget_points{program=\"default\",campaign=\"untouched\",state=\"drawn\"} 0",
            )
        })
    });
    wait_until("consumer lag from librdkafka statistics", || {
        get(&addr, "/metrics").is_some_and(|(_, body)| body.contains("txscore_consumer_lag{"))
    });
    let (_, metrics) = get(&addr, "/metrics").unwrap();
    for name in [
        catalogue::MESSAGES,
        catalogue::DEAD_LETTERS,
        catalogue::POINTS,
        catalogue::OUTPUTS,
        catalogue::BATCH_SIZE,
        catalogue::BATCH_DURATION,
        catalogue::EVENT_TIME_LAG,
        catalogue::STORE_DURATION,
        catalogue::LAST_PROGRESS,
        catalogue::RULES_INFO,
        catalogue::BUILD_INFO,
        catalogue::REBALANCES,
        catalogue::RULES_RELOADS,
        catalogue::LATE_SPENDS,
        catalogue::POINTS_OUTSTANDING,
        catalogue::MEMBERS,
        catalogue::CAMPAIGN_BUDGET,
        catalogue::OWNED_BYTES,
    ] {
        assert!(metrics.contains(name), "{name} missing from /metrics");
    }
    assert!(metrics.contains("txscore_dead_letters_total{reason=\"raw_pan\"}"));
    let referenced = common::metrics_referenced_by_dashboards_and_alerts();
    assert!(
        referenced.len() > 10,
        "dashboards and alert rules name metrics: {referenced:?}"
    );
    for name in referenced {
        let exported = metrics.lines().any(|line| {
            line.strip_prefix(name.as_str())
                .is_some_and(|after| after.starts_with(['{', ' ']))
        });
        assert!(
            exported,
            "{name} is named by a dashboard or alert rule but not exported"
        );
    }
    assert!(!metrics.contains("M-0"), "no member ids in labels");

    let mut child = child;
    terminate(&child);
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "txscore did not exit within 30 s of SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "exit status {status}");
    std::fs::remove_dir_all(directory).unwrap();
}

#[test]
fn a_bad_config_fails_at_start_naming_the_field() {
    let directory = std::env::temp_dir().join(format!("txscore-badconfig-{}", std::process::id()));
    std::fs::create_dir_all(&directory).unwrap();
    let config = directory.join("txscore.toml");
    std::fs::write(&config, "[pipeline]\nmax_batch = 0\n").unwrap();
    let output = Command::new(BINARY)
        .args(["run", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("pipeline.max_batch"), "{stderr}");

    std::fs::write(&config, "[redis]\nurl = \"redis://x\"\npasword = \"y\"\n").unwrap();
    let output = Command::new(BINARY)
        .args(["run", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success() && stderr.contains("pasword"),
        "{stderr}"
    );
    std::fs::remove_dir_all(directory).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generate_writes_the_synthetic_stream_to_a_topic() {
    let broker = Broker::start("generate", 2).await;
    let output = Command::new(BINARY)
        .args([
            "generate",
            "--brokers",
            &broker.brokers,
            "--topic",
            &broker.topics.transactions,
        ])
        .args(["--transactions", "300", "--cards", "30"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let written = read_topic(
        &broker.brokers,
        &broker.topics.transactions,
        Duration::from_secs(30),
        count(300),
    );
    assert_eq!(written.len(), 300);
    let expected = generate(&StreamSpec {
        transactions: 300,
        cards: 30,
        ..StreamSpec::default()
    });
    let mut payloads: Vec<&str> = written
        .iter()
        .map(|(_, payload)| payload.as_str())
        .collect();
    let mut generated: Vec<String> = expected
        .iter()
        .map(|m| String::from_utf8_lossy(&m.payload).into_owned())
        .collect();
    payloads.sort_unstable();
    generated.sort_unstable();
    assert_eq!(payloads, generated, "the same seed gives the same stream");
}

#[test]
fn rules_explain_shows_every_line_a_transaction_would_earn_without_storing_anything() {
    let output = Command::new(BINARY)
        .args(["rules", "explain", "--txn"])
        .arg(
            r#"{"txn_id":"T-1","type":"purchase","card_token":"tok_1","member_id":"M-1",
            "amount":"256.80","currency":"CNY","merchant":{"id":"MER-9","mcc":"5812","country":"CN"},
            "timestamp":"2026-11-22T10:15:30Z"}"#,
        )
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{text}");
    for expected in [
        "points_earned: 1527 points",
        "rate:dining: 256.8 CNY x 2 points per CNY [funded by issuer]",
        "campaign:double_points_weekends",
        "campaign:welcome_bonus: first-purchase bonus of 500",
        "rounding: floor of 1527.2",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settlement_reports_what_the_ledger_issued_and_what_members_hold() {
    let broker = Broker::start("settlement", 2).await;
    let server = redis();
    let messages = generate(&StreamSpec {
        transactions: 300,
        cards: 30,
        ..StreamSpec::default()
    });
    let reference = Reference::of(&messages).await;
    broker.feed(&messages).await;
    // Exactly-once output: each ledger partition ends in a commit marker, not a message.
    let mut config = broker.config(&server, 100);
    config.kafka.transactional_id = Some("settlement-0".into());
    let running =
        common::Running::start(&config, txscore::pipeline::FaultInjection::default()).await;
    broker.ledger_events(reference.ledger_ids.len());
    running.stop().await.unwrap();

    let directory = std::env::temp_dir().join(format!("txscore-settlement-{}", std::process::id()));
    std::fs::create_dir_all(&directory).unwrap();
    let file = directory.join("txscore.toml");
    std::fs::write(
        &file,
        format!("[kafka.topics]\nledger = \"{}\"\n", broker.topics.ledger),
    )
    .unwrap();
    let output = Command::new(BINARY)
        .args([
            "settlement",
            "--from",
            "2026-11-01",
            "--to",
            "2026-12-01",
            "--config",
        ])
        .arg(&file)
        .env("TXSCORE_BROKERS", &broker.brokers)
        .env("TXSCORE_REDIS_URL", server.url())
        .output()
        .unwrap();
    std::fs::remove_dir_all(&directory).unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&output.stderr)
    );

    let issued: i64 = reference
        .ledger_points
        .iter()
        .filter(|(id, _)| id.ends_with("/points_earned"))
        .map(|(_, points)| points)
        .sum();
    let reported = |label: &str| -> i64 {
        text.lines()
            .find(|line| line.trim_start().starts_with(label))
            .and_then(|line| line.split_whitespace().last())
            .and_then(|value| value.parse().ok())
            .unwrap_or_else(|| panic!("no {label:?} in:\n{text}"))
    };
    // One row per funding party: issued, redeemed, expired, reversed, outstanding now.
    let funders: Vec<Vec<i64>> = text
        .lines()
        .filter_map(|line| {
            let values: Vec<i64> = line
                .split_whitespace()
                .skip(1)
                .map(|value| value.parse().ok())
                .collect::<Option<_>>()?;
            (values.len() == 5).then_some(values)
        })
        .collect();
    assert!(funders.len() >= 2, "the issuer and the merchant: {text}");
    let column = |index: usize| funders.iter().map(|row| row[index]).sum::<i64>();
    assert_eq!(column(0), issued, "{text}");
    for row in &funders {
        assert_eq!(
            row[0] - row[1] - row[2] - row[3],
            row[4],
            "the stream starts in the period, so each funder's flows reconcile to what is \
             outstanding: {text}"
        );
    }
    let reversed: i64 = reference
        .ledger_points
        .iter()
        .filter(|(id, _)| id.ends_with("/points_reversed"))
        .map(|(_, points)| -points)
        .sum();
    assert_eq!(reported("reversed"), reversed);
    let posted: i64 = reference
        .balances()
        .await
        .values()
        .map(|(balance, _)| balance)
        .sum();
    assert!(
        text.contains(&format!("outstanding now: {posted} posted")),
        "{text}"
    );
    assert_eq!(column(4), posted, "the funders hold every posted point");
}

/// `rules` plus a budgeted campaign at a merchant the test stream never visits, so budget
/// gauges are exported without changing what the stream earns.
fn with_untouched_budget(rules: &str) -> String {
    let mut rules: toml::Table = rules.parse().unwrap();
    let campaigns = rules["programs"]["default"]["earning"]
        .get("campaigns")
        .cloned()
        .unwrap_or(toml::Value::Array(Vec::new()));
    let mut campaigns = campaigns.as_array().unwrap().clone();
    campaigns.push(toml::Value::Table(
        r#"id = "untouched"
start = "2026-01-01T00:00:00Z"
end = "2028-01-01T00:00:00Z"
merchants = ["MER-NOWHERE"]
bonus = 10
budget = 5000
"#
        .parse()
        .unwrap(),
    ));
    rules["programs"]["default"]["earning"]
        .as_table_mut()
        .unwrap()
        .insert("campaigns".into(), toml::Value::Array(campaigns));
    toml::to_string(&rules).unwrap()
}
