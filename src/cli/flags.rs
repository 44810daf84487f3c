//! The settings flags (`--eta`, `--preset`, `--config`…) and how they layer over a preset, a
//! settings file and the defaults into one [`TrainConfig`].

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;

use crate::data::plane::Feature;
use crate::data::{self, DatasetKind, Preprocess, SplitKind};
use crate::model::{Activation, InitKind, LossKind};
use crate::train::config as settings;

use crate::train::{OptimizerKind, ScheduleKind, TrainConfig};

/// Every training setting as an optional flag; unset flags keep the config file's or the
/// default value.
#[derive(Debug, Args, Default, Clone)]
pub struct TrainArgs {
    /// TOML file with settings (same keys as the flags, underscores for dashes).
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    /// Data directory (CIFAR-10 or Fashion-MNIST files).
    #[arg(long, global = true)]
    pub data: Option<PathBuf>,
    /// Data set: cifar10, fashion-mnist, folder, synthetic, or points in the plane: spiral,
    /// circle, xor, gauss, moons (these start from the playground's settings: 2 × 8 tanh,
    /// Adam η 0.03, batch 10, 300 epochs); default: CIFAR-10 when found, else synthetic.
    #[arg(long, value_parser = by_name::<DatasetKind>, global = true)]
    pub dataset: Option<DatasetKind>,
    /// classic: batch 1 / batch 2; all: all batches minus --val.
    #[arg(long, value_parser = by_name::<SplitKind>, global = true)]
    pub split: Option<SplitKind>,
    /// See [`crate::train::config::VAL`].
    #[arg(long, help = settings::VAL.help, global = true)]
    pub val: Option<usize>,
    /// Use at most N training images.
    #[arg(long, global = true)]
    pub train_limit: Option<usize>,
    /// Input normalisation.
    #[arg(long, value_parser = by_name::<Preprocess>, global = true)]
    pub preprocess: Option<Preprocess>,
    /// See [`crate::train::config::EPOCHS`].
    #[arg(long, help = settings::EPOCHS.help, global = true)]
    pub epochs: Option<usize>,
    /// See [`crate::train::config::BATCH`].
    #[arg(long, help = settings::BATCH.help, global = true)]
    pub batch: Option<usize>,
    /// See [`crate::train::config::ETA`].
    #[arg(long, help = settings::ETA.help, global = true)]
    pub eta: Option<f64>,
    /// See [`crate::train::config::LAMBDA`].
    #[arg(long = "lambda", help = settings::LAMBDA.help, global = true)]
    pub lambda: Option<f64>,
    /// Loss: ce (softmax cross-entropy), bce (sigmoids), svm (hinge).
    #[arg(long, value_parser = by_name::<LossKind>, global = true)]
    pub loss: Option<LossKind>,
    /// See [`crate::train::config::LABEL_SMOOTHING`].
    #[arg(long, help = settings::LABEL_SMOOTHING.help, global = true)]
    pub label_smoothing: Option<f64>,
    /// Learning-rate schedule.
    #[arg(long, value_parser = by_name::<ScheduleKind>, global = true)]
    pub schedule: Option<ScheduleKind>,
    /// See [`crate::train::config::DECAY`].
    #[arg(long, help = settings::DECAY.help, global = true)]
    pub decay: Option<f64>,
    /// See [`crate::train::config::STEP_EVERY`].
    #[arg(long, help = settings::STEP_EVERY.help, global = true)]
    pub step_every: Option<usize>,
    /// See [`crate::train::config::STEP_FACTOR`].
    #[arg(long, help = settings::STEP_FACTOR.help, global = true)]
    pub step_factor: Option<f64>,
    /// See [`crate::train::config::ETA_MIN`].
    #[arg(long, help = settings::ETA_MIN.help, global = true)]
    pub eta_min: Option<f64>,
    /// See [`crate::train::config::ETA_MAX`].
    #[arg(long, help = settings::ETA_MAX.help, global = true)]
    pub eta_max: Option<f64>,
    /// See [`crate::train::config::HALF_CYCLE`].
    #[arg(long, help = settings::HALF_CYCLE.help, global = true)]
    pub half_cycle: Option<usize>,
    /// See [`crate::train::config::CYCLES`].
    #[arg(long, help = settings::CYCLES.help, global = true)]
    pub cycles: Option<usize>,
    /// See [`crate::train::config::CYCLE_GROWTH`].
    #[arg(long, help = settings::CYCLE_GROWTH.help, global = true)]
    pub cycle_growth: Option<f64>,
    /// See [`crate::train::config::FLIP`].
    #[arg(long, help = settings::FLIP.help, global = true)]
    pub flip: Option<f64>,
    /// See [`crate::train::config::TRANSLATE`].
    #[arg(long, help = settings::TRANSLATE.help, global = true)]
    pub translate: Option<usize>,
    /// Keep the training order fixed.
    #[arg(long, global = true)]
    pub no_shuffle: bool,
    /// Weight initialisation.
    #[arg(long, value_parser = by_name::<InitKind>, global = true)]
    pub init: Option<InitKind>,
    /// See [`crate::train::config::SIGMA`].
    #[arg(long, help = settings::SIGMA.help, global = true)]
    pub sigma: Option<f64>,
    /// Hidden-layer widths, e.g. 50 or 50,50 (empty: linear classifier).
    #[arg(long, value_delimiter = ',', global = true)]
    pub hidden: Option<Vec<usize>>,
    /// Activation of hidden layers.
    #[arg(long, value_parser = by_name::<Activation>, global = true)]
    pub activation: Option<Activation>,
    /// The network as layers in words instead of --hidden, e.g. "patchify 4:10, relu, dense
    /// 50, relu"; forms: patchify F:N, conv K:N, pool 2, flatten, dense N, relu, tanh,
    /// sigmoid, bn, dropout P (the output layer is implied).
    #[arg(long, global = true)]
    pub layers: Option<String>,
    /// Random seed.
    #[arg(long, global = true)]
    pub seed: Option<u64>,
    /// See [`crate::train::config::IMAGE_SIZE`].
    #[arg(long, help = settings::IMAGE_SIZE.help, global = true)]
    pub image_size: Option<usize>,
    /// Batch normalisation after every hidden layer's linear part.
    #[arg(long, global = true)]
    pub batch_norm: bool,
    /// Update rule: sgd, momentum, nesterov, rmsprop or adam.
    #[arg(long, value_parser = by_name::<OptimizerKind>, global = true)]
    pub optimizer: Option<OptimizerKind>,
    /// μ of the momentum and Nesterov optimisers (default 0.9).
    #[arg(long, global = true)]
    pub momentum: Option<f64>,
    /// β₁ of Adam (default 0.9).
    #[arg(long, global = true)]
    pub beta1: Option<f64>,
    /// β₂ of Adam and RMSProp's decay (default 0.999).
    #[arg(long, global = true)]
    pub beta2: Option<f64>,
    /// ε of RMSProp and Adam (default 1e-8).
    #[arg(long, global = true)]
    pub eps: Option<f64>,
    /// Probability of dropping a hidden unit's output while training (inverted dropout).
    #[arg(long, global = true)]
    pub dropout: Option<f64>,
    /// See [`crate::train::config::EVAL_EVERY`].
    #[arg(long, help = settings::EVAL_EVERY.help, global = true)]
    pub eval_every: Option<usize>,
    /// See [`crate::train::config::L1`].
    #[arg(long, help = settings::L1.help, global = true)]
    pub l1: Option<f64>,
    /// See [`crate::train::config::POINTS`]. Not global: `embed` has its own `--points`.
    #[arg(long, help = settings::POINTS.help)]
    pub points: Option<usize>,
    /// See [`crate::train::config::NOISE`].
    #[arg(long, help = settings::NOISE.help, global = true)]
    pub noise: Option<f64>,
    /// See [`crate::train::config::TEST_SHARE`].
    #[arg(long, help = settings::TEST_SHARE.help, global = true)]
    pub test_share: Option<f64>,
    /// See [`crate::train::config::CLASSES`].
    #[arg(long, help = settings::CLASSES.help, global = true)]
    pub classes: Option<usize>,
    /// Data in the plane: the network's inputs, comma-separated from x1, x2, x1sq, x2sq,
    /// x1x2, sinx1, sinx2 (default x1,x2).
    #[arg(long, value_delimiter = ',', value_parser = by_name::<Feature>, global = true)]
    pub features: Option<Vec<Feature>>,
    /// Start from a preset of the course's settings (see `trainviz presets`); the config
    /// file and flags override it.
    #[arg(long, global = true)]
    pub preset: Option<String>,
    /// Threads that share each training step and the evaluation (default: one per core, or
    /// one with TRAINVIZ_ONE_THREAD set); sweeps divide them among the points they train
    /// at once, and `bench` times with this many.
    #[arg(long, global = true)]
    pub threads: Option<usize>,
}

impl TrainArgs {
    /// The settings for a fresh start: defaults, then the preset, then the config file, then
    /// the flags; with no data named anywhere, CIFAR-10 when found, else the synthetic set.
    pub fn resolve(&self) -> Result<TrainConfig> {
        let (mut c, mut named_data) = self.apply(&TrainConfig::default())?;
        if c.dataset.is_plane() && self.preset.is_none() {
            // Data in the plane starts from the playground's settings (a small tanh network
            // trained by Adam), not the course's CIFAR-10 ones.
            (c, named_data) = self.apply(&TrainConfig::plane(c.dataset))?;
        }
        if !named_data {
            c.dataset = if data::default_cifar_dir().is_some() {
                DatasetKind::Cifar10
            } else {
                DatasetKind::Synthetic
            };
        }
        c.validate()?;
        Ok(c)
    }

    /// `base` (e.g. the window's remembered settings) with only what these flags name
    /// changed: a preset replaces the whole configuration but the data location, a config
    /// file sets its keys, each flag its setting.
    pub fn apply_to(&self, base: &TrainConfig) -> Result<TrainConfig> {
        let (c, _) = self.apply(base)?;
        c.validate()?;
        Ok(c)
    }

    /// The settings and whether the data set was named (by flag, data folder or file).
    fn apply(&self, base: &TrainConfig) -> Result<(TrainConfig, bool)> {
        let mut start = base.clone();
        if let Some(name) = &self.preset {
            let preset = crate::runs::presets::find(name).with_context(|| {
                format!(
                    "unknown preset {name:?}; presets: {}",
                    crate::runs::presets::names()
                )
            })?;
            start = preset
                .config(&start)
                .map_err(|e| anyhow::anyhow!("preset {name}: {e}"))?;
        }
        let (mut c, file_sets_dataset) = match &self.config {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read config file {}", path.display()))?;
                let table: toml::Table = toml::from_str(&text)
                    .map_err(|e| anyhow::anyhow!("{}: {}", path.display(), e.message()))?;
                let c = start
                    .with_overrides(&table)
                    .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
                (
                    c,
                    table.contains_key("dataset") || table.contains_key("data"),
                )
            }
            None => (start, false),
        };
        macro_rules! set {
            ($($field:ident),*) => { $( if let Some(v) = &self.$field { c.$field = v.clone(); } )* };
        }
        set!(
            split, val, preprocess, epochs, batch, eta, lambda, loss, schedule, decay
        );
        set!(
            step_every,
            step_factor,
            eta_min,
            eta_max,
            half_cycle,
            flip,
            init,
            sigma,
            hidden
        );
        set!(activation, seed, image_size, layers);
        set!(optimizer, momentum, beta1, beta2, eps, dropout, eval_every);
        set!(label_smoothing, cycles, cycle_growth, translate);
        set!(l1, points, noise, test_share, classes, features);
        if self.batch_norm {
            c.batch_norm = true;
        }
        if self.train_limit.is_some() {
            c.train_limit = self.train_limit;
        }
        if self.threads.is_some() {
            c.threads = self.threads;
        }
        if self.no_shuffle {
            c.shuffle = false;
        }
        if let Some(dir) = &self.data {
            c.data = Some(dir.clone());
            c.dataset = data::detect_kind(dir);
        }
        if let Some(d) = self.dataset {
            c.dataset = d;
        }
        let preset_sets_dataset = (self.preset.as_deref())
            .and_then(crate::runs::presets::find)
            .is_some_and(|p| p.names_dataset());
        let named = self.dataset.is_some()
            || self.data.is_some()
            || file_sets_dataset
            || preset_sets_dataset;
        Ok((c, named))
    }
}

/// Parses a setting's value by its TOML name (`ce`, `fashion-mnist`, …), so the engine's
/// types need no command-line derive; the error lists the names allowed.
pub(super) fn by_name<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, String> {
    T::deserialize(toml::Value::String(text.to_string())).map_err(|e| e.to_string())
}
