//! The two engines a [`super::Session`] trains: the MLP's ([`Trainer`], linear classifiers
//! and multilayer perceptrons set with `hidden`) and the layer stack's ([`StackTrainer`],
//! networks set with `layers`). [`Learner`] gives the session the operations it needs from
//! either, so steps, evaluations, live changes, the divergence rule, the summary and the run
//! folder are the same for both; [`Model`] is either engine's weights.

use std::sync::Arc;
use std::time::Duration;

use super::config::{ConfigError, LiveParams, TrainConfig};
use super::metrics::{EpochMetrics, Evaluation, Summary};
use super::record::{RunSettings, SettingChange};
use super::stack_trainer::StackTrainer;
use super::steps::EvalPoint;
use super::trainer::{StepOutcome, Subset, Trainer};
use crate::data::{Normalizer, Splits};
use crate::model::Network;
use crate::model::stack::Stack;

/// A network's weights: an MLP's (a linear classifier has no hidden layer) or a layer
/// stack's.
#[derive(Debug, Clone, PartialEq)]
pub enum Model {
    /// A linear classifier or multilayer perceptron (`hidden`).
    Mlp(Network<f32>),
    /// A stack of layers (`layers`): a ConvNet or any other stack.
    Stack(Stack<f32>),
}

impl Model {
    /// Whether every weight is finite.
    pub fn is_finite(&self) -> bool {
        match self {
            Model::Mlp(n) => n.is_finite(),
            Model::Stack(s) => s.is_finite(),
        }
    }
    /// The MLP's weights; `None` for a layer stack.
    pub fn network(&self) -> Option<&Network<f32>> {
        match self {
            Model::Mlp(n) => Some(n),
            Model::Stack(_) => None,
        }
    }
    /// The layer stack; `None` for an MLP.
    pub fn stack(&self) -> Option<&Stack<f32>> {
        match self {
            Model::Mlp(_) => None,
            Model::Stack(s) => Some(s),
        }
    }
    /// Inputs per image.
    pub fn input_dim(&self) -> usize {
        match self {
            Model::Mlp(n) => n.input_dim(),
            Model::Stack(s) => s.input_shape().size(),
        }
    }
    /// Number of classes.
    pub fn classes(&self) -> usize {
        match self {
            Model::Mlp(n) => n.classes(),
            Model::Stack(s) => s.classes(),
        }
    }
    /// The architecture in words, for messages: an MLP's layer sizes ("3072-50-10"), a
    /// stack's layers and input ("patchify 4:10, relu → 10 classes, on 32×32×3").
    pub fn describe(&self) -> String {
        match self {
            Model::Mlp(n) => std::iter::once(n.input_dim())
                .chain(n.hidden())
                .chain([n.classes()])
                .map(|v| v.to_string())
                .collect::<Vec<_>>()
                .join("-"),
            Model::Stack(s) => format!(
                "{} → {} classes, on {}",
                crate::model::layers::to_text(&s.specs[..s.specs.len().saturating_sub(1)]),
                s.classes(),
                s.input_shape()
            ),
        }
    }
    /// Whether `self` has the architecture of `other` (same kind, layers and sizes), so its
    /// weights can take `other`'s place.
    pub fn same_shape(&self, other: &Model) -> bool {
        match (self, other) {
            (Model::Mlp(a), Model::Mlp(b)) => {
                a.input_dim() == b.input_dim()
                    && a.classes() == b.classes()
                    && a.hidden() == b.hidden()
            }
            (Model::Stack(a), Model::Stack(b)) => {
                a.specs == b.specs
                    && a.shapes == b.shapes
                    && a.params()
                        .iter()
                        .map(|p| p.len())
                        .eq(b.params().iter().map(|p| p.len()))
            }
            _ => false,
        }
    }
}

/// Either engine, as the session drives it.
pub enum Learner {
    /// The MLP's engine.
    Network(Box<Trainer>),
    /// The layer stack's engine.
    Stack(Box<StackTrainer>),
}

/// Calls the same method on whichever engine it is.
macro_rules! either {
    ($self:expr, $t:ident => $e:expr) => {
        match $self {
            Learner::Network($t) => $e,
            Learner::Stack($t) => $e,
        }
    };
}

impl Learner {
    /// The engine `config` asks for: a layer stack when `layers` is set, else the MLP.
    pub fn new(
        config: TrainConfig,
        data: Arc<Splits>,
        normalizer: Option<Arc<Normalizer>>,
    ) -> Result<Self, ConfigError> {
        Ok(if config.uses_stack() {
            Learner::Stack(Box::new(StackTrainer::new(config, data, normalizer)?))
        } else {
            Learner::Network(Box::new(Trainer::new(config, data, normalizer)?))
        })
    }
    /// The MLP's engine; `None` for a layer stack.
    pub fn trainer(&self) -> Option<&Trainer> {
        match self {
            Learner::Network(t) => Some(t),
            Learner::Stack(_) => None,
        }
    }
    /// The layer stack's engine; `None` for an MLP.
    pub fn stack_trainer(&self) -> Option<&StackTrainer> {
        match self {
            Learner::Network(_) => None,
            Learner::Stack(t) => Some(t),
        }
    }
    /// The weights as they are now (a copy).
    pub fn model(&self) -> Model {
        match self {
            Learner::Network(t) => Model::Mlp(t.network().clone()),
            Learner::Stack(t) => Model::Stack(t.stack().clone()),
        }
    }
    /// Whether every weight is finite now (without copying them).
    pub fn is_finite(&self) -> bool {
        match self {
            Learner::Network(t) => t.network().is_finite(),
            Learner::Stack(t) => t.stack().is_finite(),
        }
    }
    /// Puts `model` in place of the weights (the last good ones after a divergence); a
    /// model of the other kind is refused (false).
    pub fn set_model(&mut self, model: Model) -> bool {
        match (self, model) {
            (Learner::Network(t), Model::Mlp(n)) => t.set_network(n),
            (Learner::Stack(t), Model::Stack(s)) => t.set_stack(s),
            _ => return false,
        }
        true
    }
    /// Continues a saved run: its weights, its epochs and its setting changes. A model of
    /// the other kind is refused (false).
    pub fn restore(
        &mut self,
        model: Model,
        history: Vec<EpochMetrics>,
        changes: Vec<SettingChange>,
    ) -> bool {
        match (self, model) {
            (Learner::Network(t), Model::Mlp(n)) => t.restore(n, history, changes),
            (Learner::Stack(t), Model::Stack(s)) => t.restore(s, history, changes),
            _ => return false,
        }
        true
    }
    /// The record of the run's settings.
    pub fn settings(&self) -> &RunSettings {
        either!(self, t => t.settings())
    }
    /// The data.
    pub fn data(&self) -> &Arc<Splits> {
        either!(self, t => t.data())
    }
    /// The input normaliser.
    pub fn normalizer(&self) -> &Arc<Normalizer> {
        either!(self, t => t.normalizer())
    }
    /// Metrics of every completed epoch.
    pub fn history(&self) -> &[EpochMetrics] {
        either!(self, t => t.history())
    }
    /// Epochs completed.
    pub fn epochs_done(&self) -> usize {
        either!(self, t => t.epochs_done())
    }
    /// Steps taken.
    pub fn steps_done(&self) -> usize {
        either!(self, t => t.steps_done())
    }
    /// Images already used in the current epoch.
    pub fn images_into_epoch(&self) -> usize {
        either!(self, t => t.images_into_epoch())
    }
    /// Whether the planned epochs (or counted cycles) are done.
    pub fn is_finished(&self) -> bool {
        either!(self, t => t.is_finished())
    }
    /// The learning rate the next step uses.
    pub fn current_eta(&self) -> f64 {
        either!(self, t => t.current_eta())
    }
    /// The live hyperparameters.
    pub fn live(&self) -> LiveParams {
        either!(self, t => t.live())
    }
    /// Checks live hyperparameters without applying them.
    pub fn check_live(&self, live: &LiveParams) -> Result<(), ConfigError> {
        either!(self, t => t.check_live(live))
    }
    /// Changes live hyperparameters from the next step on; the recorded change, if any.
    pub fn set_live(&mut self, live: LiveParams) -> Result<Option<SettingChange>, ConfigError> {
        either!(self, t => t.set_live(live))
    }
    /// Plans `extra` more epochs; the recorded change.
    pub fn extend(&mut self, extra: usize) -> SettingChange {
        either!(self, t => t.extend(extra))
    }
    /// Sets how many threads steps and evaluation use.
    pub fn set_threads(&mut self, threads: usize) {
        either!(self, t => t.set_threads(threads))
    }
    /// Steps for about `budget` (or to the end of the epoch, an evaluation due, a loss that
    /// is not finite), calling `on_step` after each.
    pub fn steps_for(
        &mut self,
        budget: Duration,
        on_step: impl FnMut(&StepOutcome) + Send,
    ) -> StepOutcome {
        either!(self, t => t.steps_for(budget, on_step))
    }
    /// Whether the last step ends an evaluation interval.
    pub fn eval_due(&self) -> bool {
        either!(self, t => t.eval_due())
    }
    /// Evaluates the training and validation sets within an epoch.
    pub fn evaluate_point(&self) -> EvalPoint {
        either!(self, t => t.evaluate_point())
    }
    /// Closes the epoch the last step completed.
    pub fn finish_epoch(&mut self) -> EpochMetrics {
        either!(self, t => t.finish_epoch())
    }
    /// Evaluates one of the sets with the weights as they are.
    pub fn evaluate(&self, which: Subset) -> Evaluation {
        either!(self, t => t.evaluate(which))
    }
    /// The summary so far, with `test` the test evaluation.
    pub fn summary(&self, test: &Evaluation, seconds: f64) -> Summary {
        either!(self, t => t.summary(test, seconds))
    }
}
