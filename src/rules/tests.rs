use super::*;
use crate::domain::alert::Action;
use crate::domain::Severity;

fn with_program(program: &str) -> String {
    format!("version = \"t1\"\n[programs.default]\n{program}\n")
}

const GOOD_PROGRAM: &str = r#"base_currency = "CNY"
points_per_unit = "1"
default_tier = "standard"
tiers = { standard = "1", gold = "1.5" }
fx = { USD = "7.10" }"#;

#[test]
fn shipped_rules_are_valid() {
    let rules = RuleSet::embedded_default();
    assert!(rules.programs.contains_key("default"));
    assert!(!rules.fraud.velocity.is_empty());
}

#[test]
fn base_currency_gets_rate_one_and_defaults_apply() {
    let rules = RuleSet::from_toml(&with_program(GOOD_PROGRAM)).unwrap();
    let program = &rules.programs["default"];
    assert_eq!(program.fx["CNY"], Decimal::ONE);
    assert_eq!(program.rounding, Rounding::Floor);
    assert_eq!(rules.fraud.actions[&Severity::High], Action::Flag);
}

#[test]
fn errors_name_the_field() {
    let cases = [
        (
            GOOD_PROGRAM.replace("default_tier = \"standard\"", "default_tier = \"bronze\""),
            "programs.default.default_tier",
        ),
        (
            GOOD_PROGRAM.replace("\"7.10\"", "\"-1\""),
            "programs.default.fx.USD",
        ),
        (
            format!("{GOOD_PROGRAM}\nrounding = \"sideways\""),
            "programs.default.rounding",
        ),
        (
            GOOD_PROGRAM.replace("\"CNY\"", "\"yuan\""),
            "programs.default.base_currency",
        ),
    ];
    for (program, field) in cases {
        let error = RuleSet::from_toml(&with_program(&program))
            .unwrap_err()
            .to_string();
        assert!(error.contains(field), "`{error}` should name {field}");
    }
}

#[test]
fn unknown_fields_are_rejected_by_name() {
    let error =
        RuleSet::from_toml(&with_program(&format!("{GOOD_PROGRAM}\nbonus = 3"))).unwrap_err();
    assert!(error.to_string().contains("bonus"), "{error}");
}

#[test]
fn velocity_rules_are_checked() {
    let text = format!(
        "{}\n[[fraud.velocity]]\nid = \"v\"\nmax_count = 3\nwindow_minutes = 0\nscore = 0.5\n",
        with_program(GOOD_PROGRAM)
    );
    let error = RuleSet::from_toml(&text).unwrap_err().to_string();
    assert!(
        error.contains("fraud.velocity[0].window_minutes"),
        "{error}"
    );
    let text = text
        .replace("window_minutes = 0", "window_minutes = 5")
        .replace("0.5", "1.5");
    let error = RuleSet::from_toml(&text).unwrap_err().to_string();
    assert!(error.contains("fraud.velocity[0].score"), "{error}");
}

#[test]
fn rounding_policies() {
    let value = Decimal::new(25, 1); // 2.5
    assert_eq!(Rounding::Floor.apply(value), Decimal::from(2));
    assert_eq!(Rounding::Ceil.apply(value), Decimal::from(3));
    assert_eq!(Rounding::HalfUp.apply(value), Decimal::from(3));
    assert_eq!(Rounding::HalfEven.apply(value), Decimal::from(2));
}
