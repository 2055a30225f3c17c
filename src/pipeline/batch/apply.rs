//! Scoring a batch's owner groups and writing them, with the store's work and this process's
//! overlapped: the groups are scored a part at a time, and each part's writes (and its budget
//! reserve) go to the store while the next part is scored. Owners are disjoint, so the parts
//! never conflict with each other. Groups that reach a campaign budget are scored again once
//! what they draw is reserved; groups that met a concurrent writer are read afresh and scored
//! again in another round.

use super::GROUPS_PER_THREAD;
use super::{parallel, timed, BatchProcessor, Books, GroupPlan, Inbound, OwnerGroup};
use crate::pipeline::budgets::{self, BudgetClaim, Grants};
use crate::pipeline::owned_state::Held;
use crate::pipeline::BatchReport;
use crate::store::{ClaimStep, GroupOutcome, StateStore, StoreError, WriteGroup};
use std::collections::HashMap;
use std::sync::Arc;
use tokio::task::JoinHandle;

/// Each write group sent, with what became of it.
type Answered = Vec<(WriteGroup, GroupOutcome)>;

/// A part's writes on their way to the store, and the written groups' indices and plans (their
/// writes taken out and sent).
struct Dispatched {
    planned: Vec<(usize, GroupPlan)>,
    write: JoinHandle<Result<Answered, StoreError>>,
}

/// Plans sorted by what they still need: writing, or budget reserved first (what they ask).
#[derive(Default)]
struct Sorted {
    writes: Vec<(usize, GroupPlan)>,
    asking: Vec<(usize, Vec<BudgetClaim>)>,
}

/// A part's budget reserve on its way to the store, for the groups that asked.
struct Reserving {
    groups: Vec<usize>,
    asks: Vec<BudgetClaim>,
    reserve: JoinHandle<Result<Vec<i64>, StoreError>>,
}

/// A group to score again in the next round, and whether it met a concurrent writer (so its
/// documents must be read afresh) rather than waiting for budget.
struct Again {
    group: usize,
    conflicted: bool,
}

impl<S: StateStore> BatchProcessor<S> {
    /// Scores and writes owner groups until every one is applied, rescoring those that met a
    /// concurrent writer or waited for campaign budget; then settles their budget claims.
    pub(super) async fn apply_groups(
        &self,
        mut groups: Vec<OwnerGroup>,
        batch: &[Inbound<'_>],
        books: &Books<'_>,
    ) -> Result<BatchReport, StoreError> {
        let mut report = BatchReport::default();
        let mut grants = Grants::default();
        let mut settles = Vec::new();
        let mut conflict_rounds = 0;
        while !groups.is_empty() {
            let mut again = self
                .round(
                    &groups,
                    batch,
                    books,
                    &mut grants,
                    &mut report,
                    &mut settles,
                )
                .await?;
            again.sort_unstable_by_key(|again| again.group);
            let conflicted = again.iter().any(|again| again.conflicted);
            let mut slots: Vec<Option<OwnerGroup>> = groups.into_iter().map(Some).collect();
            groups = again
                .into_iter()
                .filter_map(|again| {
                    let mut group = slots[again.group].take()?;
                    group.fresh |= again.conflicted;
                    Some(group)
                })
                .collect();
            conflict_rounds += u32::from(conflicted);
            if !groups.is_empty() && conflict_rounds >= self.settings.max_conflict_rounds {
                return Err(StoreError::Protocol(format!(
                    "{} owner groups still conflicting after {conflict_rounds} rounds",
                    groups.len()
                )));
            }
        }
        if !settles.is_empty() {
            let claims = budgets::store_claims(&self.keys, &settles, self.settings.txn_record_ttl);
            timed("budget", self.store.claim(&claims, ClaimStep::Settle)).await?;
        }
        Ok(report)
    }

    /// One round over `groups`: load, score part by part while earlier parts are written,
    /// then score again and write the groups whose budget was reserved. What applied is merged
    /// into `report` and `settles`; what is left is returned.
    async fn round(
        &self,
        groups: &[OwnerGroup],
        batch: &[Inbound<'_>],
        books: &Books<'_>,
        grants: &mut Grants,
        report: &mut BatchReport,
        settles: &mut Vec<BudgetClaim>,
    ) -> Result<Vec<Again>, StoreError> {
        let loaded = self.load(groups).await?;
        let part_len = groups
            .len()
            .div_ceil(self.settings.store_concurrency.max(1))
            .max(1);
        let mut again = Vec::new();
        let mut writing = Vec::new();
        let mut reserving = Vec::new();
        for first in (0..groups.len()).step_by(part_len) {
            let indices: Vec<usize> = (first..groups.len().min(first + part_len)).collect();
            let part: Vec<&OwnerGroup> = indices.iter().map(|&index| &groups[index]).collect();
            let plans = self.plan_all(&part, &loaded, batch, books, grants);
            let Sorted { writes, asking } = sort_plans(indices, plans, report, settles);
            if !writes.is_empty() {
                writing.push(self.dispatch_writes(writes));
            }
            if !asking.is_empty() {
                reserving.push(self.dispatch_reserve(asking));
            }
            // Lets the tasks just spawned send their calls before this one scores again.
            tokio::task::yield_now().await;
        }
        let mut failure = None;
        for Reserving {
            groups: indices,
            asks,
            reserve,
        } in reserving
        {
            let Some(granted) = kept(joined(reserve).await, &mut failure) else {
                continue;
            };
            grants.extend(&asks, granted);
            let asked: Vec<&OwnerGroup> = indices.iter().map(|&index| &groups[index]).collect();
            let plans = self.plan_all(&asked, &loaded, batch, books, grants);
            let Sorted { writes, asking } = sort_plans(indices, plans, report, settles);
            // Their state moved them onto a budget their first scoring did not reach.
            again.extend(asking.into_iter().map(|(group, _)| Again {
                group,
                conflicted: false,
            }));
            if !writes.is_empty() {
                writing.push(self.dispatch_writes(writes));
            }
        }
        for Dispatched { planned, write } in writing {
            let Some(answered) = kept(joined(write).await, &mut failure) else {
                continue;
            };
            for ((index, plan), (written, outcome)) in planned.into_iter().zip(answered) {
                let group = &groups[index];
                match outcome {
                    GroupOutcome::Applied => {
                        self.remember_written(group, written);
                        report.merge(plan.report);
                        settles.extend(plan.settles);
                    }
                    GroupOutcome::Conflict { .. } => {
                        self.owned.forget(group.state_keys());
                        report.conflicts += 1;
                        again.push(Again {
                            group: index,
                            conflicted: true,
                        });
                    }
                }
            }
        }
        match failure {
            Some(error) => Err(error),
            None => Ok(again),
        }
    }

    /// Scores `groups` against the loaded documents, on every core. A group
    /// whose documents cannot be read is dead-lettered whole and its documents forgotten.
    fn plan_all(
        &self,
        groups: &[&OwnerGroup],
        loaded: &HashMap<&str, Held>,
        batch: &[Inbound<'_>],
        books: &Books<'_>,
        grants: &Grants,
    ) -> Vec<GroupPlan> {
        parallel::map(groups, GROUPS_PER_THREAD, |&group| {
            let mut plan = self
                .plan_group(group, loaded, batch, books, grants)
                .unwrap_or_else(|corrupt| {
                    self.owned.forget(group.state_keys());
                    let mut plan = GroupPlan::default();
                    for item in &group.items {
                        self.dead_letter(
                            &mut plan.report,
                            &batch[item.index],
                            "corrupt_state",
                            corrupt.to_string(),
                        );
                    }
                    plan
                });
            plan.writes.checks = self.checks(group, loaded, &plan.writes);
            plan
        })
    }

    /// Sends the planned groups' writes to the store in a task of their own, so they proceed
    /// while this task scores the next part.
    fn dispatch_writes(&self, mut planned: Vec<(usize, GroupPlan)>) -> Dispatched {
        let writes: Vec<WriteGroup> = planned
            .iter_mut()
            .map(|(_, plan)| std::mem::take(&mut plan.writes))
            .collect();
        let store = Arc::clone(&self.store);
        let write = tokio::spawn(async move {
            let outcomes = timed("write", store.apply(&writes)).await?;
            Ok(writes.into_iter().zip(outcomes).collect())
        });
        Dispatched { planned, write }
    }

    /// Sends the budget reserve for the groups that asked, in a task of its own.
    fn dispatch_reserve(&self, asking: Vec<(usize, Vec<BudgetClaim>)>) -> Reserving {
        let (groups, asks): (Vec<usize>, Vec<Vec<BudgetClaim>>) = asking.into_iter().unzip();
        let asks: Vec<BudgetClaim> = asks.into_iter().flatten().collect();
        let claims = budgets::store_claims(&self.keys, &asks, self.settings.txn_record_ttl);
        let store = Arc::clone(&self.store);
        let reserve =
            tokio::spawn(
                async move { timed("budget", store.claim(&claims, ClaimStep::Reserve)).await },
            );
        Reserving {
            groups,
            asks,
            reserve,
        }
    }
}

/// Sorts the plans of the groups at `indices`: one that asks for budget waits for it; one with
/// nothing to write or check is done (merged into `report` and `settles`); the rest are written.
fn sort_plans(
    indices: Vec<usize>,
    plans: Vec<GroupPlan>,
    report: &mut BatchReport,
    settles: &mut Vec<BudgetClaim>,
) -> Sorted {
    let mut sorted = Sorted::default();
    for (index, plan) in indices.into_iter().zip(plans) {
        if !plan.asks.is_empty() {
            sorted.asking.push((index, plan.asks));
        } else if plan.writes.writes.is_empty() && plan.writes.checks.is_empty() {
            report.merge(plan.report);
            settles.extend(plan.settles);
        } else {
            sorted.writes.push((index, plan));
        }
    }
    sorted
}

/// A call's answer, or `None` with its error kept in `failure` unless an earlier one is: the
/// round still awaits its other calls, so none is left running when it fails.
fn kept<T>(answer: Result<T, StoreError>, failure: &mut Option<StoreError>) -> Option<T> {
    answer
        .map_err(|error| {
            failure.get_or_insert(error);
        })
        .ok()
}

/// The answer of a store call made in a task of its own.
async fn joined<T>(task: JoinHandle<Result<T, StoreError>>) -> Result<T, StoreError> {
    task.await
        .unwrap_or_else(|failed| Err(StoreError::Protocol(format!("store call failed: {failed}"))))
}
