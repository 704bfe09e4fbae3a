//! What a run asked of the network, as the window shows it.

use corral_core::BlockRule;
use serde::{Deserialize, Serialize};
use specta::Type;

/// Why the gateway refused a request (`corral_core::BlockRule`, its numbers as JS numbers).
#[derive(Debug, Clone, Serialize, Deserialize, Type)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum BlockRuleDto {
    NotAllowed,
    PrivateAddress { address: String },
    NotModelEndpoint,
    BadPlaceholder,
    RunEnded,
    BudgetSpent { budget: f64, used: f64 },
    TooLarge { limit: f64 },
    Malformed,
}

impl From<&BlockRule> for BlockRuleDto {
    fn from(rule: &BlockRule) -> Self {
        match rule {
            BlockRule::NotAllowed => BlockRuleDto::NotAllowed,
            BlockRule::PrivateAddress { address } => BlockRuleDto::PrivateAddress {
                address: address.clone(),
            },
            BlockRule::NotModelEndpoint => BlockRuleDto::NotModelEndpoint,
            BlockRule::BadPlaceholder => BlockRuleDto::BadPlaceholder,
            BlockRule::RunEnded => BlockRuleDto::RunEnded,
            BlockRule::BudgetSpent { budget, used } => BlockRuleDto::BudgetSpent {
                budget: *budget as f64,
                used: *used as f64,
            },
            BlockRule::TooLarge { limit } => BlockRuleDto::TooLarge {
                limit: *limit as f64,
            },
            BlockRule::Malformed => BlockRuleDto::Malformed,
        }
    }
}
