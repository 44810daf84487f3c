//! The weights the window's analysis views read: the MLP's or the layer stack's, whichever
//! the run trains (both arrive from the worker as shared snapshots).

use std::sync::Arc;

use super::history::RunHistory;
use crate::model::Network;
use crate::model::stack::Stack;
use crate::train::analysis::ModelRef;

/// The latest weights of the run, shared (cheap to keep, and to send to another thread).
#[derive(Debug, Clone)]
pub enum SharedModel {
    /// A linear classifier or MLP.
    Mlp(Arc<Network<f32>>),
    /// A layer stack (a ConvNet).
    Stack(Arc<Stack<f32>>),
}

impl SharedModel {
    /// The latest weights of `history`'s run; `None` before the first arrive.
    pub fn of(history: &RunHistory) -> Option<Self> {
        let stack_run = history
            .info
            .as_ref()
            .is_some_and(|i| i.settings.start.uses_stack());
        if stack_run {
            history.stack.clone().map(SharedModel::Stack)
        } else {
            history.network.clone().map(SharedModel::Mlp)
        }
    }

    /// The weights, borrowed, as the analyses take them.
    pub fn view(&self) -> ModelRef<'_> {
        match self {
            SharedModel::Mlp(n) => ModelRef::Mlp(n),
            SharedModel::Stack(s) => ModelRef::Stack(s),
        }
    }
}
