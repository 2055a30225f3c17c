//! Scoring one owner group against the documents loaded for it: each input in offset order
//! against working copies, replays re-emitting their stored outputs, and the writes, ledger
//! appends and budget claims that result.

use super::{BatchProcessor, Books, GroupPlan, Inbound, Item, Outbound, OwnerGroup};
use crate::domain::record::OutputTopic;
use crate::domain::{CardLink, CardState, MemberState, TxnRecord};
use crate::pipeline::budgets::{Grants, GroupBudgets};
use crate::pipeline::contain::{contain, Contained, Stage};
use crate::pipeline::documents::{CorruptDocument, Documents};
use crate::pipeline::inputs::{Applies, ItemKeys, Rules, Working};
use crate::pipeline::owned_state::Held;
use crate::pipeline::report::encode_outputs;
use crate::scoring;
use crate::store::{Append, StateStore};
use std::collections::HashMap;

impl<S: StateStore> BatchProcessor<S> {
    pub(super) fn plan_group(
        &self,
        group: &OwnerGroup,
        loaded: &HashMap<&str, Held>,
        batch: &[Inbound<'_>],
        books: &Books<'_>,
        grants: &Grants,
    ) -> Result<GroupPlan, CorruptDocument> {
        let ttl = Some(self.settings.txn_record_ttl);
        let mut accounts = Documents::<MemberState>::new(None);
        let mut cards = Documents::<CardState>::new(None);
        let mut records = Documents::<TxnRecord>::new(ttl);
        let mut links = Documents::<CardLink>::new(None);
        let stored = |key: &String| loaded[key.as_str()].as_deref();
        for ItemKeys {
            record,
            card,
            account,
            original,
            link,
            counter_account,
        } in group.items.iter().map(|item| &item.keys)
        {
            if let Some(account) = counter_account {
                accounts.insert_loaded(account, stored(account))?;
            }
            if let Some(link) = link {
                links.insert_loaded(link, stored(link))?;
            }
            records.insert_loaded(record, stored(record))?;
            if let Some(card) = card {
                cards.insert_loaded(card, stored(card))?;
            }
            if let Some(account) = account {
                accounts.insert_loaded(account, stored(account))?;
            }
            if let Some(original) = original {
                records.insert_loaded(original, stored(original))?;
            }
        }

        let member_id = group.owner.member();
        let mut plan = GroupPlan::default();
        let mut budgets = GroupBudgets::new(&group.owner, grants);
        let mut ledger_entries = Vec::new();
        for Item { index, input, keys } in &group.items {
            if let Some(record) = records.get(&keys.record) {
                if let Some(conflict) = input.conflicts_with(record) {
                    self.dead_letter(&mut plan.report, &batch[*index], "txn_conflict", conflict);
                    continue;
                }
                budgets.replayed(input, record);
                plan.report.replayed += 1;
                plan.report
                    .outbound
                    .extend(record.outputs.iter().map(Outbound::from));
                continue;
            }
            let working = Working {
                member_id,
                member: keys
                    .account
                    .as_ref()
                    .and_then(|key| accounts.get(key))
                    .cloned(),
                card: keys
                    .card
                    .as_ref()
                    .map(|key| cards.get(key).cloned().unwrap_or_default()),
                original: keys.original.as_ref().and_then(|key| records.get(key)),
                counter: keys
                    .counter_account
                    .as_ref()
                    .and_then(|key| accounts.get(key))
                    .cloned(),
                budget: budgets.room(input),
            };
            let room = working.budget.clone();
            let at = input.event_time();
            let rules = Rules {
                live: books.live.in_force_at(at),
                shadow: books.shadow.map(|book| book.in_force_at(at)),
            };
            let decided = contain(Stage::Score, || {
                input
                    .apply(working, rules)
                    .and_then(scoring::Decision::bounded)
                    .map(|decision| {
                        let outputs = encode_outputs(&decision);
                        (decision, outputs)
                    })
            });
            let draws = match &decided {
                Ok(Ok((decision, _))) => decision.records.budget.as_ref(),
                _ => None,
            };
            budgets.scored(input, &room, draws, rules.live);
            let (decision, outputs) = match decided {
                Ok(Ok(decided)) => decided,
                Ok(Err(rejection)) => {
                    self.dead_letter(
                        &mut plan.report,
                        &batch[*index],
                        rejection.kind(),
                        rejection.to_string(),
                    );
                    continue;
                }
                Err(panic) => {
                    self.dead_letter(
                        &mut plan.report,
                        &batch[*index],
                        Contained::KIND,
                        panic.reason(),
                    );
                    continue;
                }
            };

            ledger_entries.extend(
                outputs
                    .iter()
                    .filter(|output| output.topic == OutputTopic::Ledger)
                    .map(|output| output.payload.text().to_owned()),
            );
            plan.report.record_applied(at, &decision);
            plan.report
                .outbound
                .extend(outputs.iter().map(Outbound::from));
            if let (Some(key), Some(member)) = (&keys.account, decision.member) {
                accounts.set(key, member);
            }
            if let (Some(key), Some(member)) = (&keys.counter_account, decision.counter_member) {
                accounts.set(key, member);
            }
            if let (Some(key), Some(card)) = (&keys.card, decision.card) {
                if let (true, Some(token)) = (cards.is_new(key), input.card_token()) {
                    let index = self.keys.card_owner(token);
                    plan.writes.index.push((index, group.owner.tag()));
                }
                cards.set(key, card);
            }
            if let (Some(key), Some(link)) = (&keys.link, decision.link) {
                links.set(key, link);
            }
            let changes = decision.records;
            let original_changed =
                changes.original_earning.is_some() || changes.original_debit.is_some();
            if let (Some(key), true) = (&keys.original, original_changed) {
                let mut original = records
                    .get(key)
                    .cloned()
                    .expect("an original that was changed was loaded");
                budgets.original_kept(input, &original);
                if changes.original_earning.is_some() {
                    original.earning = changes.original_earning;
                }
                if changes.original_debit.is_some() {
                    original.debit = changes.original_debit;
                }
                records.set(key, original);
            }
            records.set(
                &keys.record,
                TxnRecord {
                    outputs,
                    earning: changes.earning,
                    debit: changes.debit,
                    budget: changes.budget,
                    fingerprint: input.fingerprint(),
                },
            );
        }
        plan.asks = budgets.asks;
        plan.settles = budgets.settles;
        plan.writes.writes = accounts
            .writes()
            .chain(cards.writes())
            .chain(records.writes())
            .chain(links.writes())
            .collect();
        if !ledger_entries.is_empty() && self.settings.ledger_retention > 0 {
            plan.writes.appends.push(Append {
                key: self.keys.ledger(&group.owner),
                entries: ledger_entries,
                keep: self.settings.ledger_retention,
            });
        }
        Ok(plan)
    }
}
