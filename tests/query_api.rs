//! The query API over real Redis: bearer auth, 404s, ledger paging within the retained
//! window, card risk by token alone, and every response checked against docs/openapi.yaml.
//! Requests are plain blocking HTTP, so the server runs on a multi-threaded runtime.

mod common;

use common::{http_get, inbound, processor_settings, redis};
use serde_json::Value;
use txscore::api::{self, QueryApi};
use txscore::local_redis::LocalRedis;
use txscore::pipeline::{BatchProcessor, Destination};
use txscore::rules::{RuleBook, RuleSet};
use txscore::store::Keyspace;
use txscore::synth::SyntheticMessage;
use yaml_rust2::{Yaml, YamlLoader};

const TOKEN: &str = "test-token-0123456789";
const RETENTION: usize = 5;

fn message(card: &str, body: &str) -> SyntheticMessage {
    SyntheticMessage {
        key: card.into(),
        payload: format!(
            r#"{{"card_token":"{card}","program_id":"default","currency":"CNY",
            "merchant":{{"id":"MER-1","mcc":"5411","country":"CN"}},{body}}}"#
        )
        .into_bytes(),
    }
}

/// Eight purchases and a refund for M-1 (nine ledger events), and a card with no member.
fn stream() -> Vec<SyntheticMessage> {
    let mut messages: Vec<SyntheticMessage> = (1..=8)
        .map(|n| {
            message(
                "tok_1",
                &format!(
                    r#""txn_id":"T-{n}","type":"purchase","member_id":"M-1","amount":"{n}0.00",
                    "timestamp":"2026-11-22T10:0{n}:00Z""#
                ),
            )
        })
        .collect();
    messages.push(message(
        "tok_1",
        r#""txn_id":"R-1","type":"refund","original_txn_id":"T-1","member_id":"M-1",
        "amount":"10.00","timestamp":"2026-11-22T11:00:00Z""#,
    ));
    messages.push(message(
        "tok_9",
        r#""txn_id":"C-1","type":"purchase","amount":"5.00","timestamp":"2026-11-22T10:00:00Z""#,
    ));
    messages.push(message(
        "tok_2",
        &format!(
            r#""txn_id":"OLD-1","type":"purchase","member_id":"M-2","amount":"100.00","timestamp":"{}""#,
            twenty_four_months_ago()
        ),
    ));
    messages
}

/// Noon on the first day of the month 24 months before this one: points earned then expire
/// (under the shipped 24-month expiry) at the start of next month, within 31 days from now.
fn twenty_four_months_ago() -> String {
    let now = time::OffsetDateTime::now_utc();
    let index = now.year() * 12 + i32::from(u8::from(now.month())) - 1 - 24;
    format!(
        "{:04}-{:02}-01T12:00:00Z",
        index.div_euclid(12),
        index.rem_euclid(12) + 1
    )
}

struct Api {
    addr: String,
    ledger_ids: Vec<String>,
    openapi: Yaml,
}

impl Api {
    fn get(&self, path: &str) -> (u16, Value) {
        let auth = format!("Bearer {TOKEN}");
        self.get_with(path, &[("Authorization", &auth)])
    }

    fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> (u16, Value) {
        let (status, body) = http_get(&self.addr, path, headers).expect("the API answers");
        let value = serde_json::from_str(&body).unwrap_or_else(|_| panic!("JSON body: {body}"));
        (status, value)
    }

    /// GETs `path` and checks the response against the document's schema for `route`.
    fn documented(&self, route: &str, path: &str) -> (u16, Value) {
        let (status, value) = self.get(path);
        self.check(route, status, &value);
        (status, value)
    }

    fn check(&self, route: &str, status: u16, value: &Value) {
        let operation = &self.openapi["paths"][route]["get"];
        assert!(!operation.is_badvalue(), "{route} is not documented");
        let response = resolve(
            &self.openapi,
            &operation["responses"][status.to_string().as_str()],
        );
        assert!(
            !response.is_badvalue(),
            "{route} does not document status {status}"
        );
        let schema = &response["content"]["application/json"]["schema"];
        if let Err(error) = conforms(&self.openapi, value, schema, "$") {
            panic!("{route} {status} does not match docs/openapi.yaml: {error}\n{value:#}");
        }
    }
}

async fn start() -> (Api, LocalRedis) {
    let server = redis();
    let store = common::redis_store(&server).await;
    let mut settings = processor_settings();
    settings.ledger_retention = RETENTION;
    let processor = BatchProcessor::new(store.clone(), Keyspace::new("txscore"), settings);
    let rules: RuleBook = RuleSet::embedded_default().into();
    let messages = stream();
    let report = processor
        .process(&inbound(&messages), &rules)
        .await
        .unwrap();
    assert_eq!(report.scored, 11);
    let ledger_ids = report
        .outbound
        .iter()
        .filter(|out| out.destination == Destination::Ledger)
        .map(|out| {
            serde_json::from_str::<Value>(&out.payload).unwrap()["event_id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    let query = QueryApi {
        store,
        keys: Keyspace::new("txscore"),
        rules: rules.fixed(),
        ledger_retention: RETENTION,
    };
    let (addr, _task) = txscore::http::serve(
        "127.0.0.1:0".parse().unwrap(),
        api::routes(query, TOKEN.into()),
    )
    .await
    .unwrap();
    let text = std::fs::read_to_string("docs/openapi.yaml").unwrap();
    let openapi = YamlLoader::load_from_str(&text).unwrap().remove(0);
    let api = Api {
        addr: addr.to_string(),
        ledger_ids,
        openapi,
    };
    (api, server)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_without_the_bearer_token_are_refused() {
    let (api, _redis) = start().await;
    for path in ["/members/M-1", "/members/M-1/ledger", "/cards/tok_1/risk"] {
        let (status, body) = api.get_with(path, &[]);
        assert_eq!(status, 401, "{path}");
        assert_eq!(body["error"], "unauthorized");
        let (status, _) = api.get_with(path, &[("Authorization", "Bearer test-token-0123456788")]);
        assert_eq!(status, 401, "{path} with a wrong token");
        let (status, _) = api.get_with(path, &[("Authorization", TOKEN)]);
        assert_eq!(status, 401, "{path} without the Bearer scheme");
    }
    api.check(
        "/members/{member_id}",
        401,
        &api.get_with("/members/M-1", &[]).1,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_show_their_accounts_and_unknown_ids_are_404() {
    let (api, _redis) = start().await;
    let (status, member) = api.documented("/members/{member_id}", "/members/M-1");
    assert_eq!(status, 200);
    let account = &member["accounts"][0];
    assert_eq!(account["program_id"], "default");
    // 10+20+...+80 CNY at 1 point per CNY, doubled on a Sunday by the shipped weekend
    // campaign, plus the 500 welcome bonus on T-1; T-1's refund takes all of its 520 back.
    assert_eq!(account["balance"], 720 + 500 - 520);
    assert_eq!(account["txn_count"], 9);
    assert_eq!(account["tier_progress"]["next_tier"], "silver");

    let (_, old) = api.documented("/members/{member_id}", "/members/M-2");
    let account = &old["accounts"][0];
    assert!(account["balance"].as_i64().unwrap() >= 100);
    assert_eq!(account["expiring"]["days_60"], account["balance"], "{old}");
    assert_eq!(account["expiring"]["days_90"], account["balance"]);

    let (status, body) = api.documented("/members/{member_id}", "/members/M-404");
    assert_eq!((status, body["error"].as_str()), (404, Some("not_found")));
    let (status, body) = api.get("/members/4111111111111111");
    assert_eq!(status, 404);
    assert!(!body.to_string().contains("4111111111111111"), "{body}");
    let (status, _) = api.documented("/members/{member_id}/ledger", "/members/M-404/ledger");
    assert_eq!(status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ledger_pages_newest_first_through_the_retained_events() {
    let (api, _redis) = start().await;
    let newest: Vec<&String> = api
        .ledger_ids
        .iter()
        .filter(|id| !id.starts_with("C-") && !id.starts_with("OLD-"))
        .rev()
        .take(RETENTION)
        .collect();
    let mut seen = Vec::new();
    let mut path = "/members/M-1/ledger?limit=2".to_owned();
    loop {
        let (status, page) = api.documented("/members/{member_id}/ledger", &path);
        assert_eq!(status, 200, "{page}");
        let entries = page["entries"].as_array().unwrap();
        assert!(entries.len() <= 2);
        seen.extend(
            entries
                .iter()
                .map(|e| e["event_id"].as_str().unwrap().to_owned()),
        );
        match page["next_before"].as_str() {
            Some(before) => path = format!("/members/M-1/ledger?limit=2&before={before}"),
            None => break,
        }
    }
    assert_eq!(
        seen.iter().collect::<Vec<_>>(),
        newest,
        "pages hold the newest {RETENTION} events in order"
    );
    assert_eq!(seen[0], "R-1/points_reversed");

    let (status, _) = api.documented("/members/{member_id}/ledger", "/members/M-1/ledger?limit=0");
    assert_eq!(status, 400);
    let (status, _) = api.documented(
        "/members/{member_id}/ledger",
        "/members/M-1/ledger?limit=101",
    );
    assert_eq!(status, 400);
    for malformed in [
        "limit=null",
        "limit=-1",
        "limit=1e3",
        "limit=99999999999999999999999",
    ] {
        let (status, body) = api.documented(
            "/members/{member_id}/ledger",
            &format!("/members/M-1/ledger?{malformed}"),
        );
        assert_eq!(status, 400, "{malformed}: {body}");
        assert_eq!(body["error"], "bad_request", "{malformed}: {body}");
    }
    let (status, body) = api.documented(
        "/members/{member_id}/ledger",
        "/members/M-1/ledger?before=T-1/points_earned",
    );
    assert_eq!(
        status, 400,
        "an event beyond the retained window is not a cursor: {body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn card_risk_is_found_by_token_alone() {
    let (api, _redis) = start().await;
    let (status, card) = api.documented("/cards/{card_token}/risk", "/cards/tok_1/risk");
    assert_eq!(status, 200);
    assert_eq!(card["member_id"], "M-1");
    assert_eq!(card["spend_count"], 8);
    assert_eq!(card["recent"].as_array().unwrap().len(), 8);

    let (status, card) = api.documented("/cards/{card_token}/risk", "/cards/tok_9/risk");
    assert_eq!((status, &card["member_id"]), (200, &Value::Null));
    let (status, _) = api.documented("/cards/{card_token}/risk", "/cards/tok_none/risk");
    assert_eq!(status, 404);
}

#[test]
fn the_document_describes_exactly_the_served_routes() {
    let text = std::fs::read_to_string("docs/openapi.yaml").unwrap();
    let openapi = YamlLoader::load_from_str(&text).unwrap().remove(0);
    let mut documented: Vec<&str> = openapi["paths"]
        .as_hash()
        .unwrap()
        .keys()
        .map(|key| key.as_str().unwrap())
        .collect();
    let mut served = api::ROUTES.to_vec();
    documented.sort_unstable();
    served.sort_unstable();
    assert_eq!(documented, served);
}

/// Follows a `$ref` within the document.
fn resolve<'a>(doc: &'a Yaml, node: &'a Yaml) -> &'a Yaml {
    match node["$ref"].as_str() {
        Some(reference) => {
            let target = reference
                .strip_prefix("#/")
                .expect("local references only")
                .split('/')
                .fold(doc, |node, part| &node[part]);
            resolve(doc, target)
        }
        None => node,
    }
}

/// Checks `value` against an OpenAPI 3.0 schema: types, nullability, enums, required and
/// documented properties (no undocumented ones when `additionalProperties: false`).
fn conforms(doc: &Yaml, value: &Value, schema: &Yaml, at: &str) -> Result<(), String> {
    let schema = resolve(doc, schema);
    if value.is_null() {
        return match schema["nullable"].as_bool() {
            Some(true) => Ok(()),
            _ => Err(format!("{at} is null but not nullable")),
        };
    }
    if let Some(allowed) = schema["enum"].as_vec() {
        if !allowed.iter().any(|a| a.as_str() == value.as_str()) {
            return Err(format!(
                "{at} = {value} is not one of the documented values"
            ));
        }
    }
    let kind = schema["type"]
        .as_str()
        .ok_or(format!("{at}: schema has no type"))?;
    let matches = match kind {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        other => return Err(format!("{at}: unknown schema type {other}")),
    };
    if !matches {
        return Err(format!("{at} = {value} is not of type {kind}"));
    }
    if let Some(items) = value.as_array() {
        for (i, item) in items.iter().enumerate() {
            conforms(doc, item, &schema["items"], &format!("{at}[{i}]"))?;
        }
    }
    if let Some(object) = value.as_object() {
        for required in schema["required"].as_vec().into_iter().flatten() {
            let name = required.as_str().unwrap();
            if !object.contains_key(name) {
                return Err(format!("{at}.{name} is required but missing"));
            }
        }
        let properties = &schema["properties"];
        for (name, field) in object {
            let property = &properties[name.as_str()];
            if property.is_badvalue() {
                if schema["additionalProperties"].as_bool() == Some(false) {
                    return Err(format!("{at}.{name} is not documented"));
                }
                continue;
            }
            conforms(doc, field, property, &format!("{at}.{name}"))?;
        }
    }
    Ok(())
}

/// schemathesis (PyPI) generates requests from docs/openapi.yaml, hostile values included, and
/// checks every answer against the document: status codes, content types and bodies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_no_answer_that_breaks_the_document() {
    let (api, _redis) = start().await;
    let output = tokio::process::Command::new("schemathesis")
        .args([
            "run",
            "docs/openapi.yaml",
            "--no-color",
            "--seed",
            "20261202",
        ])
        .args(["--max-examples", "60", "--request-timeout", "10"])
        .args(["--url", &format!("http://{}", api.addr)])
        .args(["--header", &format!("Authorization: Bearer {TOKEN}")])
        .output()
        .await
        .expect("schemathesis runs (pip install schemathesis; .ci/run installs it)");
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "schemathesis found answers that break docs/openapi.yaml:\n{report}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        report.contains("passed"),
        "schemathesis ran no test case:\n{report}"
    );
}
