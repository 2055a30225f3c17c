//! What members hold, per programme: posted, pending and held points, shortfall, posted points
//! per funding party, and members per tier. Read by scanning every account in the store, so it is exact at the moment of
//! the scan; `txscore run` refreshes the `txscore_points_outstanding` and `txscore_members`
//! gauges from it periodically, and `txscore_campaign_budget_points` from the campaign
//! budgets' counters.

use crate::domain::MemberState;
use crate::rules::{RuleSet, RulesFeed};
use crate::store::{Keyspace, ScanCursor, StateStore, StoreError};
use std::collections::BTreeMap;
use std::time::Duration;

/// Totals of one programme's accounts, in `i128`: sums of many accounts, each bounded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProgramTotals {
    pub members: u64,
    /// Posted points: the liability members can spend.
    pub balance: i128,
    pub pending: i128,
    /// Part of `pending` held by fraud alerts.
    pub held: i128,
    pub shortfall: i128,
    pub members_by_tier: BTreeMap<String, u64>,
    /// Posted points by the party funding them (from the lots; `unattributed` for points
    /// credited before funders were tracked).
    pub balance_by_funder: BTreeMap<String, i128>,
}

/// Scans every account and adds them up by programme. Accounts that do not decode are
/// counted in the error.
pub async fn snapshot<S: StateStore>(
    store: &S,
    keys: &Keyspace,
) -> Result<BTreeMap<String, ProgramTotals>, StoreError> {
    let pattern = keys.account_pattern();
    let mut totals: BTreeMap<String, ProgramTotals> = BTreeMap::new();
    let mut cursor = Some(ScanCursor::default());
    while let Some(at) = cursor {
        let (page, next) = store.scan(&pattern, at).await?;
        cursor = next;
        let documents = store.get_many(&page).await?;
        for (key, document) in page.iter().zip(documents) {
            let (Some(program), Some(document)) = (Keyspace::program_of_account(key), document)
            else {
                continue;
            };
            let account: MemberState = serde_json::from_str(&document.data).map_err(|error| {
                StoreError::Protocol(format!("account {key} does not decode: {error}"))
            })?;
            let entry = totals.entry(program.to_owned()).or_default();
            entry.members += 1;
            entry.balance += i128::from(account.balance);
            entry.pending += i128::from(account.pending);
            entry.held += i128::from(account.held);
            entry.shortfall += i128::from(account.shortfall);
            *entry.members_by_tier.entry(account.tier).or_default() += 1;
            for lot in &account.lots {
                let funder = match lot.funded_by.as_str() {
                    "" => "unattributed",
                    funder => funder,
                };
                *entry
                    .balance_by_funder
                    .entry(funder.to_owned())
                    .or_default() += i128::from(lot.points);
            }
        }
    }
    Ok(totals)
}

/// A campaign's budget and the points drawn from it so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BudgetUse {
    pub program: String,
    pub campaign: String,
    pub budget: i64,
    pub drawn: i64,
}

/// The budgets of `rules`' campaigns and what has been drawn from each.
pub async fn budgets<S: StateStore>(
    store: &S,
    keys: &Keyspace,
    rules: &RuleSet,
) -> Result<Vec<BudgetUse>, StoreError> {
    let mut uses = Vec::new();
    for (program, rules) in &rules.programs {
        for campaign in &rules.earning.campaigns {
            let Some(budget) = campaign.budget else {
                continue;
            };
            let key = keys.campaign_budget(program, &campaign.id);
            let drawn = match store.get_value(&key).await? {
                Some(value) => value.parse().map_err(|_| {
                    StoreError::Protocol(format!("budget {key} holds `{value}`, not a number"))
                })?,
                None => 0,
            };
            uses.push(BudgetUse {
                program: program.clone(),
                campaign: campaign.id.clone(),
                budget,
                drawn,
            });
        }
    }
    Ok(uses)
}

/// Refreshes the liability and budget gauges every `interval` (budgets of the latest rules)
/// until the task is dropped.
pub async fn sample_periodically<S: StateStore>(
    store: S,
    keys: Keyspace,
    rules: RulesFeed,
    interval: Duration,
) {
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        match snapshot(&store, &keys).await {
            Ok(totals) => crate::telemetry::events::liability(&totals),
            Err(error) => tracing::warn!(%error, "liability scan failed"),
        }
        let book = rules.borrow().clone();
        match budgets(&store, &keys, book.latest()).await {
            Ok(uses) => crate::telemetry::events::campaign_budgets(&uses),
            Err(error) => tracing::warn!(%error, "campaign budget read failed"),
        }
    }
}
