//! Training settings as one plain serde struct (TOML on disk), validated with messages that
//! name the wrong value.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::optimizer::{OptimizerKind, OptimizerSettings};
use crate::data::{DataRequest, DatasetKind, Preprocess, SplitKind};
use crate::model::{Activation, InitKind, LossKind};

/// Learning-rate schedule kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum, Default)]
#[serde(rename_all = "kebab-case")]
pub enum ScheduleKind {
    /// η stays as set.
    #[default]
    Constant,
    /// η ← η·decay after every epoch.
    Exp,
    /// η ← η·step_factor every step_every epochs.
    Step,
    /// Triangular cycles between eta_min and eta_max, half-cycle half_cycle steps.
    Cyclic,
}

impl ScheduleKind {
    /// All kinds, in menu order.
    pub const ALL: [ScheduleKind; 4] = [
        ScheduleKind::Constant,
        ScheduleKind::Exp,
        ScheduleKind::Step,
        ScheduleKind::Cyclic,
    ];
}

/// Every setting of a training run. Field names are the TOML keys and match the CLI flags.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainConfig {
    /// Data set to train on.
    pub dataset: DatasetKind,
    /// Directory holding the data set's files (`None`: look in the default places).
    pub data: Option<PathBuf>,
    /// Training/validation split.
    pub split: SplitKind,
    /// Validation images held out by the `all` split.
    pub val: usize,
    /// Use at most this many training images.
    pub train_limit: Option<usize>,
    /// Input normalisation.
    pub preprocess: Preprocess,
    /// Epochs to train.
    pub epochs: usize,
    /// Mini-batch size.
    pub batch: usize,
    /// Learning rate η.
    pub eta: f64,
    /// L2 strength λ.
    pub lambda: f64,
    /// Loss function.
    pub loss: LossKind,
    /// Learning-rate schedule.
    pub schedule: ScheduleKind,
    /// Per-epoch factor of the `exp` schedule.
    pub decay: f64,
    /// Epochs between drops of the `step` schedule.
    pub step_every: usize,
    /// Factor of each drop of the `step` schedule.
    pub step_factor: f64,
    /// Lowest η of the `cyclic` schedule.
    pub eta_min: f64,
    /// Highest η of the `cyclic` schedule.
    pub eta_max: f64,
    /// Steps from eta_min to eta_max in the `cyclic` schedule.
    pub half_cycle: usize,
    /// Probability of mirroring a training image left–right.
    pub flip: f64,
    /// Shuffle the training set every epoch.
    pub shuffle: bool,
    /// Weight initialisation.
    pub init: InitKind,
    /// σ of the `gaussian` initialisation.
    pub sigma: f64,
    /// Hidden-layer widths; empty for a linear classifier.
    pub hidden: Vec<usize>,
    /// Activation of the hidden layers.
    pub activation: Activation,
    /// Seed of every random choice (initialisation, shuffling, flips, synthetic data).
    pub seed: u64,
    /// Side of the square images an image folder is resized to.
    pub image_size: usize,
    /// Batch normalisation after every hidden layer's linear part.
    pub batch_norm: bool,
    /// Update rule.
    pub optimizer: OptimizerKind,
    /// μ of the momentum and Nesterov optimisers.
    pub momentum: f64,
    /// β₁ of Adam.
    pub beta1: f64,
    /// β₂ of Adam; also RMSProp's decay.
    pub beta2: f64,
    /// ε of RMSProp and Adam.
    pub eps: f64,
    /// Probability of dropping a hidden unit's output in training (inverted dropout).
    pub dropout: f64,
}

impl Default for TrainConfig {
    /// The classic setting of the course: λ=0.1, η=0.001, batch 100, 40 epochs.
    fn default() -> Self {
        TrainConfig {
            dataset: DatasetKind::Cifar10,
            data: None,
            split: SplitKind::Classic,
            val: 1000,
            train_limit: None,
            preprocess: Preprocess::Standardize,
            epochs: 40,
            batch: 100,
            eta: 0.001,
            lambda: 0.1,
            loss: LossKind::Ce,
            schedule: ScheduleKind::Constant,
            decay: 0.9,
            step_every: 10,
            step_factor: 0.1,
            eta_min: 1e-5,
            eta_max: 0.1,
            half_cycle: 500,
            flip: 0.0,
            shuffle: true,
            init: InitKind::Gaussian,
            sigma: 0.01,
            hidden: Vec::new(),
            activation: Activation::Relu,
            seed: 0,
            image_size: 32,
            batch_norm: false,
            optimizer: OptimizerKind::Sgd,
            momentum: 0.9,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            dropout: 0.0,
        }
    }
}

/// A setting's TOML value as people read it: strings without quotes, the rest as TOML.
pub fn setting_text(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A setting outside its allowed range, or a config file that cannot be read.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ConfigError {
    /// `name` = `value` is not in `allowed`.
    #[error("{name} = {value} is out of range: {allowed}")]
    OutOfRange {
        /// The setting's name (TOML key / CLI flag).
        name: &'static str,
        /// The offending value, as written.
        value: String,
        /// The allowed range, in words.
        allowed: &'static str,
    },
    /// The config file could not be read or parsed.
    #[error("{path}: {message}")]
    File {
        /// The file.
        path: String,
        /// What went wrong.
        message: String,
    },
}

fn check(
    ok: bool,
    name: &'static str,
    value: impl ToString,
    allowed: &'static str,
) -> Result<(), ConfigError> {
    if ok {
        Ok(())
    } else {
        Err(ConfigError::OutOfRange {
            name,
            value: value.to_string(),
            allowed,
        })
    }
}

impl TrainConfig {
    /// One line describing the model, e.g. "linear classifier, softmax cross-entropy, λ=0.1
    /// η=0.001 batch 100".
    pub fn describe_model(&self) -> String {
        let mut arch = if self.hidden.is_empty() {
            "linear classifier".to_string()
        } else {
            format!("MLP {:?} {:?}", self.hidden, self.activation).to_lowercase()
        };
        if self.batch_norm && !self.hidden.is_empty() {
            arch.push_str(" + batch norm");
        }
        if self.dropout > 0.0 && !self.hidden.is_empty() {
            arch.push_str(&format!(" + dropout {}", self.dropout));
        }
        if self.optimizer != OptimizerKind::Sgd {
            arch.push_str(&format!(", {}", self.optimizer.label()));
        }
        format!(
            "{arch}, {}, λ={} η={} batch {}",
            self.loss.label(),
            self.lambda,
            self.eta,
            self.batch
        )
    }

    /// Checks every value; the error names the first wrong one and its allowed range.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let finite_pos = |v: f64| v.is_finite() && v > 0.0;
        check(
            self.epochs >= 1 && self.epochs <= 100_000,
            "epochs",
            self.epochs,
            "1 to 100000",
        )?;
        check(
            self.batch >= 1 && self.batch <= 100_000,
            "batch",
            self.batch,
            "1 to 100000",
        )?;
        check(finite_pos(self.eta), "eta", self.eta, "a number > 0")?;
        check(
            self.lambda.is_finite() && self.lambda >= 0.0,
            "lambda",
            self.lambda,
            "a number >= 0",
        )?;
        check(
            finite_pos(self.decay) && self.decay <= 1.0,
            "decay",
            self.decay,
            "0 < decay <= 1",
        )?;
        check(
            self.step_every >= 1,
            "step_every",
            self.step_every,
            "at least 1",
        )?;
        check(
            finite_pos(self.step_factor) && self.step_factor <= 1.0,
            "step_factor",
            self.step_factor,
            "0 < factor <= 1",
        )?;
        check(
            finite_pos(self.eta_min),
            "eta_min",
            self.eta_min,
            "a number > 0",
        )?;
        check(
            finite_pos(self.eta_max) && self.eta_max >= self.eta_min,
            "eta_max",
            self.eta_max,
            "a number >= eta_min",
        )?;
        check(
            self.half_cycle >= 1,
            "half_cycle",
            self.half_cycle,
            "at least 1 step",
        )?;
        check(
            (0.0..=1.0).contains(&self.flip),
            "flip",
            self.flip,
            "a probability in 0..=1",
        )?;
        check(
            self.sigma.is_finite() && self.sigma > 0.0,
            "sigma",
            self.sigma,
            "a number > 0",
        )?;
        check(
            self.hidden.len() <= 8,
            "hidden",
            format!("{:?}", self.hidden),
            "at most 8 hidden layers",
        )?;
        for &w in &self.hidden {
            check(
                (1..=4096).contains(&w),
                "hidden",
                format!("{:?}", self.hidden),
                "widths 1 to 4096",
            )?;
        }
        check(
            self.val >= 1,
            "val",
            self.val,
            "at least 1 validation image",
        )?;
        if let Some(limit) = self.train_limit {
            check(limit >= 1, "train_limit", limit, "at least 1")?;
        }
        check(
            self.momentum.is_finite() && (0.0..1.0).contains(&self.momentum),
            "momentum",
            self.momentum,
            "0 <= momentum < 1",
        )?;
        check(
            self.beta1.is_finite() && (0.0..1.0).contains(&self.beta1),
            "beta1",
            self.beta1,
            "0 <= beta1 < 1",
        )?;
        check(
            self.beta2.is_finite() && (0.0..1.0).contains(&self.beta2),
            "beta2",
            self.beta2,
            "0 <= beta2 < 1",
        )?;
        check(
            finite_pos(self.eps) && self.eps <= 1.0,
            "eps",
            self.eps,
            "0 < eps <= 1",
        )?;
        check(
            self.dropout.is_finite() && (0.0..0.95).contains(&self.dropout),
            "dropout",
            self.dropout,
            "a probability in 0 to 0.95",
        )?;
        check(
            (8..=128).contains(&self.image_size),
            "image_size",
            self.image_size,
            "8 to 128 pixels",
        )?;
        Ok(())
    }

    /// Reads a TOML file; unknown keys are errors so that typos do not pass silently.
    pub fn from_toml_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::File {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        Self::from_toml(&text).map_err(|message| ConfigError::File {
            path: path.display().to_string(),
            message,
        })
    }

    /// This config with the keys of `overrides` replaced (e.g. a preset or a sweep point),
    /// validated. Errors name the key: an unknown one, a wrong type, or a value out of range.
    pub fn with_overrides(&self, overrides: &toml::Table) -> Result<TrainConfig, String> {
        let mut table = toml::Table::try_from(self).map_err(|e| e.to_string())?;
        for (k, v) in overrides {
            // `lambda = 0` means 0.0: let integers stand in for floats.
            let v = match (table.get(k), v) {
                (Some(toml::Value::Float(_)), toml::Value::Integer(i)) => {
                    toml::Value::Float(*i as f64)
                }
                _ => v.clone(),
            };
            table.insert(k.clone(), v);
        }
        let config: TrainConfig = table
            .try_into()
            .map_err(|e: toml::de::Error| e.message().to_string())?;
        config.validate().map_err(|e| e.to_string())?;
        Ok(config)
    }

    /// Parses TOML text.
    pub fn from_toml(text: &str) -> Result<Self, String> {
        toml::from_str(text).map_err(|e| e.message().to_string())
    }

    /// The TOML text of this config.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_else(|e| format!("# could not serialise: {e}\n"))
    }

    /// The part of the config that decides which data is loaded.
    pub fn data_request(&self) -> DataRequest {
        DataRequest {
            kind: self.dataset,
            dir: self.data.clone(),
            split: self.split,
            val: self.val,
            train_limit: self.train_limit,
            seed: self.seed,
            image_size: self.image_size,
        }
    }

    /// The settings that can change while training runs.
    pub fn live(&self) -> LiveParams {
        LiveParams {
            eta: self.eta,
            lambda: self.lambda,
            batch: self.batch,
            decay: self.decay,
            loss: self.loss,
            optimizer: self.optimizer,
        }
    }

    /// The optimiser's settings.
    pub fn optimizer_settings(&self) -> OptimizerSettings {
        OptimizerSettings {
            kind: self.optimizer,
            momentum: self.momentum,
            beta1: self.beta1,
            beta2: self.beta2,
            eps: self.eps,
        }
    }

    /// Applies live settings to this config.
    pub fn set_live(&mut self, live: &LiveParams) {
        self.eta = live.eta;
        self.lambda = live.lambda;
        self.batch = live.batch;
        self.decay = live.decay;
        self.loss = live.loss;
        self.optimizer = live.optimizer;
    }
}

/// Hyperparameters that take effect at the next step of a running training.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LiveParams {
    /// Learning rate η (the base of the schedule).
    pub eta: f64,
    /// L2 strength λ.
    pub lambda: f64,
    /// Mini-batch size.
    pub batch: usize,
    /// Per-epoch decay of the `exp` schedule.
    pub decay: f64,
    /// Loss function.
    pub loss: LossKind,
    /// Update rule; a change restarts the optimiser's state at the next step.
    #[serde(default)]
    pub optimizer: OptimizerKind,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_roundtrip_through_toml() {
        let c = TrainConfig::default();
        c.validate().unwrap();
        let back = TrainConfig::from_toml(&c.to_toml()).unwrap();
        assert_eq!(back, c);
    }

    #[test]
    fn out_of_range_values_name_the_setting() {
        let bad = [
            TrainConfig {
                batch: 0,
                ..Default::default()
            },
            TrainConfig {
                eta: -1.0,
                ..Default::default()
            },
            TrainConfig {
                flip: 2.0,
                ..Default::default()
            },
            TrainConfig {
                hidden: vec![50, 0],
                ..Default::default()
            },
            TrainConfig {
                lambda: f64::NAN,
                ..Default::default()
            },
            TrainConfig {
                dropout: 1.0,
                ..Default::default()
            },
            TrainConfig {
                momentum: 1.5,
                ..Default::default()
            },
            TrainConfig {
                beta2: -0.1,
                ..Default::default()
            },
        ];
        let names = [
            "batch", "eta", "flip", "hidden", "lambda", "dropout", "momentum", "beta2",
        ];
        for (c, name) in bad.iter().zip(names) {
            let err = c.validate().unwrap_err();
            assert!(err.to_string().starts_with(name), "{err}");
            assert!(err.to_string().contains("range"), "{err}");
        }
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let err = TrainConfig::from_toml("etaa = 0.1").unwrap_err();
        assert!(err.contains("etaa"), "{err}");
    }
}
