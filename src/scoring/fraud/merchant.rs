//! Merchant risk: a high-risk category, a merchant new to the card, a spend abroad, a large
//! card-not-present spend. Each is its own rule with its own score.

use super::{Finding, FraudRule, SpendContext};
use crate::domain::CardState;
use crate::rules::fraud::RuleMeta;
use crate::rules::fraud::{
    CardNotPresentRule, CrossBorderRule, NewMerchantRule, RiskyCategoryRule,
};

impl FraudRule for RiskyCategoryRule {
    fn meta(&self) -> &RuleMeta {
        &self.meta
    }

    fn evaluate(&self, spend: &SpendContext<'_>, _card: &CardState) -> Option<Finding> {
        let merchant = &spend.txn.merchant;
        self.mccs.contains(&merchant.mcc).then(|| {
            self.meta.finding(format!(
                "merchant {} is in high-risk category {}",
                merchant.id, merchant.mcc
            ))
        })
    }
}

impl FraudRule for NewMerchantRule {
    fn meta(&self) -> &RuleMeta {
        &self.meta
    }

    fn evaluate(&self, spend: &SpendContext<'_>, card: &CardState) -> Option<Finding> {
        let merchant = &spend.txn.merchant;
        if card.spend_count < self.warmup || card.knows_merchant(&merchant.id) {
            return None;
        }
        let category = if card.knows_category(&merchant.mcc) {
            String::new()
        } else {
            format!(", in category {} also never seen", merchant.mcc)
        };
        Some(self.meta.finding(format!(
            "first spend at merchant {}{category} after {} spends on this card",
            merchant.id, card.spend_count
        )))
    }
}

impl FraudRule for CrossBorderRule {
    fn meta(&self) -> &RuleMeta {
        &self.meta
    }

    fn evaluate(&self, spend: &SpendContext<'_>, card: &CardState) -> Option<Finding> {
        let country = &spend.txn.merchant.country;
        let home = card.home_country.as_ref().filter(|home| *home != country)?;
        (spend.amount >= self.min_amount).then(|| {
            self.meta.finding(format!(
                "{} {} spent in {country}; this card is used in person in {home}",
                spend.amount.round_dp(2),
                spend.currency
            ))
        })
    }
}

impl FraudRule for CardNotPresentRule {
    fn meta(&self) -> &RuleMeta {
        &self.meta
    }

    fn evaluate(&self, spend: &SpendContext<'_>, _card: &CardState) -> Option<Finding> {
        (!spend.txn.card_present && spend.amount >= self.min_amount).then(|| {
            self.meta.finding(format!(
                "card-not-present spend of {} {} ({} channel), at or above {}",
                spend.amount.round_dp(2),
                spend.currency,
                spend.txn.channel,
                self.min_amount
            ))
        })
    }
}
