//! The expiry sweep (`txscore expire --as-of`): expires the due lots of members who have had
//! no event to do it lazily. Every account is scanned; one with lots due by the as-of time is
//! written with a compare-and-set, together with a record of the sweep's outputs for it, so
//! running the same sweep again (after a crash before publishing, say) re-emits the same
//! events and expires nothing twice.

use super::documents::{CorruptDocument, Documents};
use super::Outbound;
use crate::domain::record::{OutputMessage, OutputTopic, Payload};
use crate::domain::{MemberState, TxnRecord};
use crate::rules::RuleBook;
use crate::scoring::expiry;
use crate::store::{
    Append, GroupOutcome, Keyspace, Owner, ScanCursor, StateStore, StoreError, WriteGroup,
};
use time::OffsetDateTime;

/// What a sweep did.
#[derive(Debug, Default)]
pub struct SweepReport {
    /// Ledger events to publish, new and re-emitted.
    pub outbound: Vec<Outbound>,
    pub accounts_scanned: u64,
    /// Accounts whose lots expired in this run.
    pub accounts_expired: u64,
    pub points_expired: i128,
}

#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Corrupt(#[from] CorruptDocument),
    #[error("account {0}: {1}")]
    Rules(String, crate::scoring::Rejection),
    #[error("account {0} kept changing under the sweep")]
    Contended(String),
}

pub struct ExpirySweep<'a, S> {
    pub store: &'a S,
    pub keys: &'a Keyspace,
    pub rules: &'a RuleBook,
    pub ledger_retention: usize,
    /// How long the sweep's records are kept (as transaction records are).
    pub record_ttl: std::time::Duration,
}

impl<S: StateStore> ExpirySweep<'_, S> {
    pub async fn run(&self, as_of: OffsetDateTime) -> Result<SweepReport, SweepError> {
        let trigger = format!(
            "expire@{}",
            as_of
                .format(&time::format_description::well_known::Rfc3339)
                .expect("UTC times format")
        );
        let mut report = SweepReport::default();
        let pattern = self.keys.account_pattern();
        let mut cursor = Some(ScanCursor::default());
        while let Some(at) = cursor {
            let (page, next) = self.store.scan(&pattern, at).await?;
            cursor = next;
            for key in page {
                report.accounts_scanned += 1;
                self.sweep_account(&key, &trigger, as_of, &mut report)
                    .await?;
            }
        }
        Ok(report)
    }

    /// Expires one account's due lots, retrying on a concurrent write.
    async fn sweep_account(
        &self,
        account_key: &str,
        trigger: &str,
        as_of: OffsetDateTime,
        report: &mut SweepReport,
    ) -> Result<(), SweepError> {
        let Some((member_id, program_id)) = parse_account_key(account_key) else {
            return Ok(());
        };
        let owner = Owner::Member(member_id.to_owned());
        let record_key = self.keys.sweep(&owner, trigger, program_id);
        for _ in 0..8 {
            let loaded = self
                .store
                .get_many(&[account_key.to_owned(), record_key.clone()])
                .await?;
            let mut accounts = Documents::<MemberState>::new(None);
            let mut records = Documents::<TxnRecord>::new(Some(self.record_ttl));
            accounts.insert_loaded(account_key, loaded[0].as_ref())?;
            records.insert_loaded(&record_key, loaded[1].as_ref())?;
            if let Some(record) = records.get(&record_key) {
                report
                    .outbound
                    .extend(record.outputs.iter().map(Outbound::from));
                return Ok(());
            }
            let Some(member) = accounts.get(account_key) else {
                return Ok(());
            };
            let rules = self.rules.in_force_at(as_of);
            // Each account's events are its own (ids never contain ':', so this reads back).
            let sweep_id = format!("{trigger}:{member_id}:{program_id}");
            let swept = expiry::sweep(member, member_id, program_id, &sweep_id, as_of, rules)
                .map_err(|rejection| SweepError::Rules(account_key.to_owned(), rejection))?;
            let Some((member, events)) = swept else {
                return Ok(());
            };
            let points: i64 = events.iter().map(|event| -event.points).sum();
            let outputs: Vec<OutputMessage> = events
                .iter()
                .map(|event| OutputMessage {
                    topic: OutputTopic::Ledger,
                    key: member_id.to_owned(),
                    payload: Payload::encode(event),
                })
                .collect();
            accounts.set(account_key, member);
            records.set(
                &record_key,
                TxnRecord {
                    outputs: outputs.clone(),
                    earning: None,
                    debit: None,
                    budget: None,
                    fingerprint: None,
                },
            );
            let mut group = WriteGroup {
                writes: accounts.writes().chain(records.writes()).collect(),
                ..WriteGroup::default()
            };
            if self.ledger_retention > 0 {
                group.appends.push(Append {
                    key: self.keys.ledger(&owner),
                    entries: outputs
                        .iter()
                        .map(|output| output.payload.text().to_owned())
                        .collect(),
                    keep: self.ledger_retention,
                });
            }
            match self.store.apply(&[group]).await?.pop() {
                Some(GroupOutcome::Applied) => {
                    report.accounts_expired += 1;
                    report.points_expired += i128::from(points);
                    report.outbound.extend(outputs.iter().map(Outbound::from));
                    return Ok(());
                }
                _ => continue,
            }
        }
        Err(SweepError::Contended(account_key.to_owned()))
    }
}

/// The member and programme of an account key (`<prefix>:{m:<member>}:account:<program>`).
fn parse_account_key(key: &str) -> Option<(&str, &str)> {
    let program = Keyspace::program_of_account(key)?;
    let start = key.find("{m:")? + 3;
    let end = start + key[start..].find('}')?;
    Some((&key[start..end], program))
}
