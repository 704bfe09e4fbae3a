//! An orchestrate task's page: its newest run, the orchestration's token use and budget, and
//! its conversation with Corral.

use corral_engine::{Orchestration, OrchestratorMessage};
use serde::{Deserialize, Serialize};
use specta::Type;

use super::RunDto;

#[derive(Debug, Clone, Serialize, Deserialize, Type)]
pub struct OrchestrationDto {
    /// The orchestrator's newest run: its state, its branch (the one result) and its checks.
    pub run: Option<RunDto>,
    /// Tokens its own runs and its subtasks' used, as Corral's gateway counted them.
    pub tokens_used: f64,
    /// `orchestrate-budget-tokens`; `None`: no budget.
    pub budget_tokens: Option<f64>,
    pub messages: Vec<OrchestratorMessageDto>,
}

/// One entry of the orchestrator's conversation with Corral.
#[derive(Debug, Clone, Serialize, Deserialize, Type)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum OrchestratorMessageDto {
    /// What its agent said.
    Said { at: f64, text: String },
    /// Corral woke it, telling it this.
    Woken {
        at: f64,
        reason: corral_core::WakeReason,
        message: String,
    },
    /// It called `finish`.
    Finished { at: f64, summary: String },
}

impl From<&Orchestration> for OrchestrationDto {
    fn from(o: &Orchestration) -> Self {
        OrchestrationDto {
            run: o.run.as_ref().map(RunDto::from),
            tokens_used: o.tokens_used as f64,
            budget_tokens: o.budget_tokens.map(|b| b as f64),
            messages: o
                .messages
                .iter()
                .map(|m| match m {
                    OrchestratorMessage::Said { at, text } => OrchestratorMessageDto::Said {
                        at: at.0 as f64,
                        text: text.clone(),
                    },
                    OrchestratorMessage::Woken {
                        at,
                        reason,
                        message,
                    } => OrchestratorMessageDto::Woken {
                        at: at.0 as f64,
                        reason: *reason,
                        message: message.clone(),
                    },
                    OrchestratorMessage::Finished { at, summary } => {
                        OrchestratorMessageDto::Finished {
                            at: at.0 as f64,
                            summary: summary.clone(),
                        }
                    }
                })
                .collect(),
        }
    }
}
