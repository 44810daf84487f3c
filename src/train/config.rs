//! Training settings as one plain serde struct (TOML on disk), validated with messages that
//! name the wrong value.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::optimizer::{OptimizerKind, OptimizerSettings};
use crate::data::{DataRequest, DatasetKind, Preprocess, SplitKind};
use crate::model::{Activation, InitKind, LossKind};

/// Learning-rate schedule kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
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
        allowed: String,
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
    allowed: &str,
) -> Result<(), ConfigError> {
    if ok {
        Ok(())
    } else {
        Err(ConfigError::OutOfRange {
            name,
            value: value.to_string(),
            allowed: allowed.to_string(),
        })
    }
}

/// A numeric setting: its TOML key (= CLI flag), the name people read, what it does, and the
/// values the engine accepts. Validation, the window's sliders and the CLI's help all read
/// these, so the three cannot disagree.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NumericSetting {
    /// TOML key; the CLI flag is the same with dashes.
    pub key: &'static str,
    /// Short name for people, e.g. "η learning rate".
    pub label: &'static str,
    /// What it does, for tooltips and `--help`.
    pub help: &'static str,
    /// Smallest allowed value.
    pub min: f64,
    /// Largest allowed value.
    pub max: f64,
    /// Whether a slider should be logarithmic.
    pub log: bool,
}

impl NumericSetting {
    /// The allowed values, for sliders.
    pub fn range(&self) -> std::ops::RangeInclusive<f64> {
        self.min..=self.max
    }
    /// The allowed range in words.
    pub fn allowed(&self) -> String {
        use super::record::number;
        format!("{} to {}", number(self.min), number(self.max))
    }
    /// Checks a value; the error names the setting and its range.
    pub fn check(&self, value: f64) -> Result<(), ConfigError> {
        check(
            value.is_finite() && self.range().contains(&value),
            self.key,
            super::record::number(value),
            &self.allowed(),
        )
    }
}

macro_rules! numeric_settings {
    ($($name:ident: $key:literal, $label:literal, $min:expr, $max:expr, $log:expr, $help:literal;)*) => {
        $(
            #[doc = concat!("The `", $key, "` setting: ", $help)]
            pub const $name: NumericSetting = NumericSetting {
                key: $key, label: $label, help: $help, min: $min, max: $max, log: $log,
            };
        )*
        /// Every numeric setting.
        pub const NUMERIC_SETTINGS: &[NumericSetting] = &[$($name),*];
    };
}

numeric_settings! {
    EPOCHS: "epochs", "epochs", 1.0, 100_000.0, true, "Passes over the training set.";
    BATCH: "batch", "batch size", 1.0, 10_000.0, true, "Images per gradient step.";
    ETA: "eta", "η learning rate", 1e-7, 100.0, true,
        "Step size of gradient descent (the base of the schedule). Too large diverges, too small crawls.";
    LAMBDA: "lambda", "λ L2 penalty", 0.0, 100.0, true,
        "Weight decay: cost = mean loss + λ·Σ‖W‖². Larger λ gives smoother templates.";
    DECAY: "decay", "decay per epoch", 0.01, 1.0, false,
        "Exponential schedule: η ← η·decay after every epoch.";
    STEP_EVERY: "step_every", "epochs per drop", 1.0, 10_000.0, true,
        "Step schedule: epochs between drops of η.";
    STEP_FACTOR: "step_factor", "drop factor", 0.001, 1.0, true,
        "Step schedule: η is multiplied by this at every drop.";
    ETA_MIN: "eta_min", "lowest η", 1e-7, 100.0, true, "Cyclic schedule: the lowest η.";
    ETA_MAX: "eta_max", "highest η", 1e-7, 100.0, true, "Cyclic schedule: the highest η.";
    HALF_CYCLE: "half_cycle", "half-cycle (steps)", 1.0, 1_000_000.0, true,
        "Cyclic schedule: steps from the lowest η to the highest.";
    FLIP: "flip", "flip probability", 0.0, 1.0, false,
        "Probability of mirroring a training image left–right (augmentation).";
    SIGMA: "sigma", "σ of the initial weights", 1e-6, 10.0, true,
        "Standard deviation of the Gaussian initialisation.";
    VAL: "val", "validation images", 1.0, 49_999.0, true,
        "Images held out for validation by the all-data split.";
    IMAGE_SIZE: "image_size", "image size (pixels)", 8.0, 128.0, false,
        "Side of the square images an image folder is resized to.";
    MOMENTUM: "momentum", "momentum", 0.0, 0.999, false,
        "Momentum and Nesterov: the share of the last step kept in the next.";
    BETA1: "beta1", "β₁", 0.0, 0.999, false, "Adam: decay of the running mean of gradients.";
    BETA2: "beta2", "β₂", 0.0, 0.99999, false,
        "Adam and RMSProp: decay of the running mean of squared gradients.";
    EPS: "eps", "ε", 1e-12, 1.0, true,
        "Adam and RMSProp: added to the root of the squared-gradient mean, against division by 0.";
    DROPOUT: "dropout", "dropout", 0.0, 0.9, false,
        "Share of hidden units switched off at random in each training step (inverted dropout; none when evaluating).";
}

/// Most hidden layers a model may have.
pub const MAX_HIDDEN_LAYERS: usize = 8;
/// Most units a hidden layer may have.
pub const MAX_WIDTH: usize = 4096;
/// The hidden-layer widths allowed, in words (for messages and tooltips).
pub fn hidden_allowed() -> String {
    format!(
        "up to {MAX_HIDDEN_LAYERS} widths of 1 to {MAX_WIDTH}, separated by commas (empty: a linear classifier)"
    )
}

/// Hidden-layer widths typed as "100,50" (empty: none). Every part must be a width: the
/// error names the wrong part ("50,,abc" and "0" are refused) and what is allowed.
pub fn parse_hidden(text: &str) -> Result<Vec<usize>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(Vec::new());
    }
    let why = |what: String| format!("hidden layers: {what}; allowed: {}", hidden_allowed());
    let mut widths = Vec::new();
    for (i, part) in text.split(',').map(str::trim).enumerate() {
        if part.is_empty() {
            return Err(why(format!("width {} is missing", i + 1)));
        }
        let w: usize = part
            .parse()
            .map_err(|_| why(format!("\"{part}\" is not a whole number")))?;
        if !(1..=MAX_WIDTH).contains(&w) {
            return Err(why(format!("width {w} is out of range")));
        }
        widths.push(w);
    }
    if widths.len() > MAX_HIDDEN_LAYERS {
        return Err(why(format!("{} layers are too many", widths.len())));
    }
    Ok(widths)
}

/// The name people read for a setting's TOML key (its key when it has no other).
pub fn setting_label(key: &str) -> &str {
    match key {
        "eta" => "η",
        "lambda" => "λ",
        "sigma" => "σ",
        "loss" => "loss",
        "dataset" => "data set",
        "data" => "data folder",
        "preprocess" => "preprocessing",
        "train_limit" => "training images used",
        "schedule" => "η schedule",
        "shuffle" => "shuffle each epoch",
        "init" => "weight init",
        "hidden" => "hidden layers",
        "batch_norm" => "batch normalisation",
        "optimizer" => "optimiser",
        _ => NUMERIC_SETTINGS
            .iter()
            .find(|s| s.key == key)
            .map_or(key, |s| s.label),
    }
}

impl TrainConfig {
    /// The live part of these settings replaced by `live` (the rest as it is).
    pub fn with_live(&self, live: &LiveParams) -> TrainConfig {
        let mut c = self.clone();
        c.set_live(live);
        c
    }

    /// Checks every value; the error names the first wrong one and its allowed range.
    pub fn validate(&self) -> Result<(), ConfigError> {
        EPOCHS.check(self.epochs as f64)?;
        BATCH.check(self.batch as f64)?;
        ETA.check(self.eta)?;
        LAMBDA.check(self.lambda)?;
        DECAY.check(self.decay)?;
        STEP_EVERY.check(self.step_every as f64)?;
        STEP_FACTOR.check(self.step_factor)?;
        ETA_MIN.check(self.eta_min)?;
        ETA_MAX.check(self.eta_max)?;
        check(
            self.eta_max >= self.eta_min,
            "eta_max",
            super::record::number(self.eta_max),
            "at least eta_min",
        )?;
        HALF_CYCLE.check(self.half_cycle as f64)?;
        FLIP.check(self.flip)?;
        SIGMA.check(self.sigma)?;
        check(
            self.hidden.len() <= MAX_HIDDEN_LAYERS,
            "hidden",
            format!("{:?}", self.hidden),
            &format!("at most {MAX_HIDDEN_LAYERS} hidden layers"),
        )?;
        for &w in &self.hidden {
            check(
                (1..=MAX_WIDTH).contains(&w),
                "hidden",
                format!("{:?}", self.hidden),
                &format!("widths 1 to {MAX_WIDTH}"),
            )?;
        }
        VAL.check(self.val as f64)?;
        if let Some(limit) = self.train_limit {
            check(limit >= 1, "train_limit", limit, "at least 1")?;
        }
        MOMENTUM.check(self.momentum)?;
        BETA1.check(self.beta1)?;
        BETA2.check(self.beta2)?;
        EPS.check(self.eps)?;
        DROPOUT.check(self.dropout)?;
        IMAGE_SIZE.check(self.image_size as f64)?;
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
    fn every_numeric_setting_is_a_key_and_its_bounds_validate() {
        let table = toml::Table::try_from(TrainConfig::default()).unwrap();
        for s in NUMERIC_SETTINGS {
            assert!(table.contains_key(s.key), "{}", s.key);
            assert!(
                s.check(s.min).is_ok() && s.check(s.max).is_ok(),
                "{}",
                s.key
            );
            assert!(s.check(s.max * 1.5 + 1.0).is_err(), "{}", s.key);
            assert!(s.check(f64::NAN).is_err(), "{}", s.key);
            let mut t = table.clone();
            let v = if matches!(t[s.key], toml::Value::Integer(_)) {
                toml::Value::Integer(s.max as i64 + 1)
            } else {
                toml::Value::Float(s.max * 2.0 + 1.0)
            };
            t.insert(s.key.to_string(), v);
            let c: TrainConfig = t.try_into().unwrap();
            let err = c.validate().unwrap_err().to_string();
            assert!(err.starts_with(s.key), "{err}");
        }
    }

    #[test]
    fn hidden_widths_must_all_be_widths() {
        assert_eq!(parse_hidden(""), Ok(vec![]));
        assert_eq!(parse_hidden(" 100, 50 "), Ok(vec![100, 50]));
        for junk in [
            "50,,abc",
            "0",
            "50,",
            "abc",
            "5000",
            "1,1,1,1,1,1,1,1,1",
            "-3",
        ] {
            let e = parse_hidden(junk).unwrap_err();
            assert!(
                e.starts_with("hidden layers") && e.contains("allowed"),
                "{junk}: {e}"
            );
        }
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let err = TrainConfig::from_toml("etaa = 0.1").unwrap_err();
        assert!(err.contains("etaa"), "{err}");
    }
}
