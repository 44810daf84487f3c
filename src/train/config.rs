//! Training settings as one plain serde struct (TOML on disk), validated with messages that
//! name the wrong value.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::optimizer::{OptimizerKind, OptimizerSettings};
use crate::data::plane::{Feature, PlanePoint};
use crate::data::{DataRequest, DatasetKind, PlaneRequest, Preprocess, SplitKind};
use crate::model::{Activation, InitKind, LossKind};
use crate::words::Words;

/// The most threads a run may be given (far above any core count it was measured on; the
/// threads only have to be started).
pub const MAX_THREADS: usize = 256;

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
    /// Label smoothing ε of the loss's targets (0: one-hot; see [`crate::model::loss::Loss`]).
    pub label_smoothing: f64,
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
    /// Steps from eta_min to eta_max in the `cyclic` schedule (of its first cycle, when
    /// `cycles` is set).
    pub half_cycle: usize,
    /// Cycles of the `cyclic` schedule, after which the run ends (its epochs follow from
    /// them); 0: cycles repeat until `epochs` are done.
    pub cycles: usize,
    /// Each cycle's half-cycle is this times the previous one's (with `cycles`).
    pub cycle_growth: f64,
    /// Probability of mirroring a training image left–right.
    pub flip: f64,
    /// Largest shift, in pixels, of a training image's random translation (0: none).
    pub translate: usize,
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
    /// Threads that share each training step and the evaluation (`None`: one per core, or
    /// one when `TRAINVIZ_ONE_THREAD` is set). Results agree up to float rounding for any
    /// count; sweeps and races divide it among the runs they train at once.
    pub threads: Option<usize>,
    /// The network as a stack of layers in words (`"patchify 4:10, relu, dense 50, relu"`,
    /// see [`crate::model::layers`]); empty for the MLP that `hidden` describes. A stack
    /// trains on the layer engine ([`crate::model::stack`]).
    pub layers: String,
    /// Update steps between evaluations of the training and validation sets; 0: once per
    /// epoch, at its end (every epoch's end is evaluated either way).
    pub eval_every: usize,
    /// L1 strength λ₁: the cost adds λ₁·Σ|W| over the weight matrices (not the biases).
    pub l1: f64,
    /// Data in the plane: points in all (training, validation and test).
    pub points: usize,
    /// Data in the plane: σ of the Gaussian jitter of every point, in plane units.
    pub noise: f64,
    /// Data in the plane: share of the points held out (half validation, half test).
    pub test_share: f64,
    /// Data in the plane: number of classes (spiral arms, rings, …), 2 to 5.
    pub classes: usize,
    /// Data in the plane: the network's inputs, computed from each point (x₁, x₂).
    pub features: Vec<Feature>,
    /// Data in the plane: points added by hand (clicked in) to the training set.
    pub added_points: Vec<PlanePoint>,
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
            label_smoothing: 0.0,
            schedule: ScheduleKind::Constant,
            decay: 0.9,
            step_every: 10,
            step_factor: 0.1,
            eta_min: 1e-5,
            eta_max: 0.1,
            half_cycle: 500,
            cycles: 0,
            cycle_growth: 1.0,
            flip: 0.0,
            translate: 0,
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
            threads: None,
            layers: String::new(),
            eval_every: 0,
            l1: 0.0,
            points: 600,
            noise: 0.1,
            test_share: 0.3,
            classes: 2,
            features: vec![Feature::X1, Feature::X2],
            added_points: Vec::new(),
        }
    }
}

impl TrainConfig {
    /// The playground's starting settings for data set `dataset` in the plane: a tanh
    /// network of two hidden layers of 8 trained by Adam (η 0.03, batch 10, no λ) for 300
    /// epochs, which takes the two-arm spiral to 98 % training accuracy (seed 0; seeds 1
    /// and 3 the same, seed 2 90 %) in a few seconds.
    pub fn plane(dataset: DatasetKind) -> TrainConfig {
        TrainConfig {
            dataset,
            epochs: 300,
            batch: 10,
            eta: 0.03,
            lambda: 0.0,
            init: InitKind::Xavier,
            hidden: vec![8, 8],
            activation: Activation::Tanh,
            optimizer: OptimizerKind::Adam,
            ..TrainConfig::default()
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
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
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
    /// Settings text that is not TOML of the settings: bad syntax, an unknown key (so that
    /// typos do not pass silently), a value of the wrong type.
    #[error("{}{message}", line.map(|l| format!("line {l}: ")).unwrap_or_default())]
    Toml {
        /// The line of the text it was found on (1-based), when the text is known.
        line: Option<usize>,
        /// What is wrong, in the TOML reader's words (it names the key).
        message: String,
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

impl ConfigError {
    /// The TOML reader's error `e`, on the line of `text` it points at (when `text` is what
    /// was read).
    pub fn toml(e: &toml::de::Error, text: Option<&str>) -> Self {
        let line = text
            .zip(e.span())
            // Bytes, not a str slice: a span that fell inside a character must not panic.
            .map(|(t, span)| {
                let before = &t.as_bytes()[..span.start.min(t.len())];
                before.iter().filter(|&&b| b == b'\n').count() + 1
            });
        ConfigError::Toml {
            line,
            message: e.message().to_string(),
        }
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
        use crate::format::number;
        format!("{} to {}", number(self.min), number(self.max))
    }
    /// Checks a value; the error names the setting and its range.
    pub fn check(&self, value: f64) -> Result<(), ConfigError> {
        check(
            value.is_finite() && self.range().contains(&value),
            self.key,
            crate::format::number(value),
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
        "Cyclic schedule: steps from the lowest η to the highest (in the first cycle, when the cycles are counted).";
    CYCLES: "cycles", "cycles", 0.0, 50.0, false,
        "Cyclic schedule: train this many cycles of η and stop there (the epochs follow from them, the last one may be cut short); 0: cycles repeat until the epochs are done.";
    CYCLE_GROWTH: "cycle_growth", "cycle growth", 1.0, 4.0, false,
        "Cyclic schedule with counted cycles: each cycle's half-cycle is this many times the last one's (2: cycles that double).";
    FLIP: "flip", "flip probability", 0.0, 1.0, false,
        "Probability of mirroring a training image left–right (augmentation).";
    TRANSLATE: "translate", "translation (pixels)", 0.0, 16.0, false,
        "Shift each training image by a random whole number of pixels from −P to P across and down (augmentation); the pixels shifted in are the training set's mean pixel, i.e. input 0.";
    LABEL_SMOOTHING: "label_smoothing", "label smoothing ε", 0.0, 0.99, false,
        "Softmax cross-entropy and BCE: the true class's target is 1−ε and each other class's ε/(K−1), instead of 1 and 0 (not with the SVM loss).";
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
    L1: "l1", "λ₁ L1 penalty", 0.0, 10.0, true,
        "L1 penalty: cost = mean loss + λ·Σ‖W‖² + λ₁·Σ|W|; pushes weights to exactly 0 (set at the start).";
    POINTS: "points", "points", 40.0, 100_000.0, true,
        "Data in the plane: points in all (training, validation and test), split evenly between the classes.";
    NOISE: "noise", "noise", 0.0, 3.0, false,
        "Data in the plane: σ of the random jitter of every point (the plane spans −6 to 6).";
    TEST_SHARE: "test_share", "share held out", 0.1, 0.9, false,
        "Data in the plane: share of each class's points held out, half for validation, half for testing.";
    CLASSES: "classes", "classes", 2.0, 5.0, false,
        "Data in the plane: number of classes (spiral arms, rings, blobs, moons).";
    DROPOUT: "dropout", "dropout", 0.0, 0.9, false,
        "Share of hidden units switched off at random in each training step (inverted dropout; none when evaluating).";
    EVAL_EVERY: "eval_every", "evaluate every (steps)", 0.0, 1_000_000.0, false,
        "Update steps between evaluations of the training and validation sets, for curves against the update step (0: once per epoch, at its end; every epoch's end is evaluated either way).";
}

/// Most steps the counted cycles of a cyclic schedule may take in all.
const MAX_CYCLE_STEPS: f64 = 1e8;

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

/// Hidden-layer widths that cannot be read: which part is wrong, and what is allowed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum HiddenLayersError {
    /// Nothing between two commas (or after the last).
    #[error(
        "hidden layers: width {position} is missing; allowed: {}",
        hidden_allowed()
    )]
    Missing {
        /// Which width, counted from 1.
        position: usize,
    },
    /// A part that is not a whole number.
    #[error(
        "hidden layers: \"{part}\" is not a whole number; allowed: {}",
        hidden_allowed()
    )]
    NotWhole {
        /// The part as typed.
        part: String,
    },
    /// A width outside 1..=[`MAX_WIDTH`].
    #[error(
        "hidden layers: width {width} is out of range; allowed: {}",
        hidden_allowed()
    )]
    Width {
        /// The width.
        width: usize,
    },
    /// More than [`MAX_HIDDEN_LAYERS`] layers.
    #[error(
        "hidden layers: {count} layers are too many; allowed: {}",
        hidden_allowed()
    )]
    TooMany {
        /// How many were given.
        count: usize,
    },
}

/// Hidden-layer widths typed as "100,50" (empty: none). Every part must be a width: the
/// error names the wrong part ("50,,abc" and "0" are refused) and what is allowed.
pub fn parse_hidden(text: &str) -> Result<Vec<usize>, HiddenLayersError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(Vec::new());
    }
    let mut widths = Vec::new();
    for (i, part) in text.split(',').map(str::trim).enumerate() {
        if part.is_empty() {
            return Err(HiddenLayersError::Missing { position: i + 1 });
        }
        let width: usize = part.parse().map_err(|_| HiddenLayersError::NotWhole {
            part: part.to_string(),
        })?;
        if !(1..=MAX_WIDTH).contains(&width) {
            return Err(HiddenLayersError::Width { width });
        }
        widths.push(width);
    }
    if widths.len() > MAX_HIDDEN_LAYERS {
        return Err(HiddenLayersError::TooMany {
            count: widths.len(),
        });
    }
    Ok(widths)
}

/// The name people read for a setting's TOML key (its key when it has no other).
pub fn setting_label(key: &str) -> &str {
    match key {
        "eta" => "η",
        "lambda" => "λ",
        "l1" => "λ₁",
        "sigma" => "σ",
        "features" => "input features",
        "added_points" => "points added by hand",
        "loss" => "loss",
        "dataset" => "data set",
        "data" => "data folder",
        "preprocess" => "preprocessing",
        "train_limit" => "training images used",
        "schedule" => "η schedule",
        "shuffle" => "shuffle each epoch",
        "init" => "weight init",
        "hidden" => "hidden layers",
        // Short, as run titles, presets and races say it; hover texts spell it out.
        "batch_norm" => "batch norm",
        "optimizer" => "optimiser",
        "layers" => "layers",
        "label_smoothing" => "smoothing ε",
        "translate" => "translation",
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
        self.check_schedule()?;
        EVAL_EVERY.check(self.eval_every as f64)?;
        FLIP.check(self.flip)?;
        TRANSLATE.check(self.translate as f64)?;
        LABEL_SMOOTHING.check(self.label_smoothing)?;
        check(
            self.label_smoothing == 0.0 || self.loss != LossKind::Svm,
            "label_smoothing",
            crate::format::number(self.label_smoothing),
            "0 with the SVM loss (its hinge on margins has no targets to smooth)",
        )?;
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
        if let Some(threads) = self.threads {
            let most = MAX_THREADS;
            check(
                (1..=most).contains(&threads),
                "threads",
                threads,
                &format!("1 to {most}"),
            )?;
        }
        IMAGE_SIZE.check(self.image_size as f64)?;
        L1.check(self.l1)?;
        if self.dataset.is_plane() {
            self.check_plane()?;
        }
        self.check_layers()?;
        Ok(())
    }

    /// The steps and the learning rate's schedule: epochs, batch, η and λ, the step and
    /// cyclic schedules' values, and that the cycles fit in [`MAX_CYCLE_STEPS`].
    fn check_schedule(&self) -> Result<(), ConfigError> {
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
            crate::format::number(self.eta_max),
            "at least eta_min",
        )?;
        HALF_CYCLE.check(self.half_cycle as f64)?;
        CYCLES.check(self.cycles as f64)?;
        CYCLE_GROWTH.check(self.cycle_growth)?;
        check(
            self.cycles == 0 || self.schedule == ScheduleKind::Cyclic,
            "cycles",
            self.cycles,
            "0 unless schedule = cyclic (they count the cyclic schedule's cycles)",
        )?;
        let steps = cycle_steps_estimate(self);
        check(
            steps <= MAX_CYCLE_STEPS,
            "cycles",
            self.cycles,
            &format!(
                "cycles of at most {} steps in all (these take {})",
                crate::format::number(MAX_CYCLE_STEPS),
                crate::format::number(steps)
            ),
        )?;
        Ok(())
    }

    /// The values of a data set of points in the plane: how many, their noise, the test
    /// share, the classes, the inputs computed from each point and the points added by hand.
    fn check_plane(&self) -> Result<(), ConfigError> {
        POINTS.check(self.points as f64)?;
        NOISE.check(self.noise)?;
        TEST_SHARE.check(self.test_share)?;
        CLASSES.check(self.classes as f64)?;
        let least = crate::data::plane::least_points(self.classes);
        check(
            self.points >= least,
            "points",
            self.points,
            &format!("at least {least} for {} classes", self.classes),
        )?;
        if let Err(e) = crate::data::plane::check_features(&self.features) {
            return Err(ConfigError::OutOfRange {
                name: "features",
                value: self
                    .features
                    .iter()
                    .map(|f| f.key())
                    .collect::<Vec<_>>()
                    .join(","),
                allowed: e.to_string(),
            });
        }
        for p in &self.added_points {
            check(
                usize::from(p.label) < self.classes && p.x.iter().all(|v| v.is_finite()),
                "added_points",
                format!("({}, {}) of class {}", p.x[0], p.x[1], p.label),
                "finite points of the data set's classes",
            )?;
        }
        Ok(())
    }

    /// True when the network is a layer stack (`layers` set) rather than the MLP.
    pub fn uses_stack(&self) -> bool {
        !self.layers.trim().is_empty()
    }

    /// `layers` parses, and is not mixed with the MLP's own settings (which it replaces).
    fn check_layers(&self) -> Result<(), ConfigError> {
        if !self.uses_stack() {
            return Ok(());
        }
        crate::model::layers::parse(&self.layers).map_err(|e| ConfigError::OutOfRange {
            name: "layers",
            value: format!("\"{}\"", self.layers),
            allowed: e.to_string(),
        })?;
        let mixed = [
            (!self.hidden.is_empty(), "hidden"),
            (self.batch_norm, "batch_norm"),
            (self.dropout > 0.0, "dropout"),
        ];
        for (set, name) in mixed {
            check(
                !set,
                name,
                "set",
                "not with layers: write \"dense N\", \"bn\" or \"dropout P\" in the layers instead",
            )?;
        }
        Ok(())
    }

    /// Reads a TOML file; unknown keys are errors so that typos do not pass silently.
    pub fn from_toml_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::File {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        Self::from_toml(&text).map_err(|e| ConfigError::File {
            path: path.display().to_string(),
            message: e.to_string(),
        })
    }

    /// This config with the keys of `overrides` replaced (e.g. a preset or a sweep point),
    /// validated. Errors name the key: an unknown one, a wrong type, or a value out of range.
    pub fn with_overrides(&self, overrides: &toml::Table) -> Result<TrainConfig, ConfigError> {
        let mut table = toml::Table::try_from(self).map_err(|e| ConfigError::Toml {
            line: None,
            message: e.to_string(),
        })?;
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
            .map_err(|e: toml::de::Error| ConfigError::toml(&e, None))?;
        config.validate()?;
        Ok(config)
    }

    /// Parses TOML text; the error names the key and its line.
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError::toml(&e, Some(text)))
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
            plane: PlaneRequest {
                points: self.points,
                noise: self.noise,
                test_share: self.test_share,
                classes: self.classes,
                features: self.features.clone(),
                added: self.added_points.clone(),
            },
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

/// [`super::schedule::cycle_steps`] in floating point, 0 without counted cycles: for validation, before the
/// sum could overflow.
pub(super) fn cycle_steps_estimate(config: &TrainConfig) -> f64 {
    if config.schedule != ScheduleKind::Cyclic {
        return 0.0;
    }
    (0..config.cycles)
        .map(|k| 2.0 * (config.half_cycle as f64 * config.cycle_growth.powi(k as i32)).round())
        .sum()
}

impl Words for ScheduleKind {
    fn all() -> &'static [Self] {
        &ScheduleKind::ALL
    }
    fn label(self) -> &'static str {
        match self {
            ScheduleKind::Constant => "Constant η",
            ScheduleKind::Exp => "Exponential decay",
            ScheduleKind::Step => "Step decay",
            ScheduleKind::Cyclic => "Cyclic (triangular)",
        }
    }
    fn explain(self) -> &'static str {
        match self {
            ScheduleKind::Constant => "η stays as set.",
            ScheduleKind::Exp => "η is multiplied by the decay factor after every epoch.",
            ScheduleKind::Step => "η is multiplied by the step factor every few epochs.",
            ScheduleKind::Cyclic => "η goes up and down between η min and η max.",
        }
    }
}

/// Every variant name of the setting enums as Rust prints it (`Ce`, `Relu`, `Cifar10`…),
/// for tests that check none of them reaches the screen.
pub fn code_names() -> Vec<String> {
    // A variant whose name is already the word people write ("Adam") is no code name.
    fn names<T: Words + std::fmt::Debug>() -> impl Iterator<Item = String> {
        T::all()
            .iter()
            .map(|v| (format!("{v:?}"), v.label()))
            .filter(|(code, label)| code != label)
            .map(|(code, _)| code)
    }
    names::<LossKind>()
        .chain(names::<Activation>())
        .chain(names::<InitKind>())
        .chain(names::<ScheduleKind>())
        .chain(names::<DatasetKind>())
        .chain(names::<SplitKind>())
        .chain(names::<Preprocess>())
        .chain(names::<OptimizerKind>())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A case of a refused setting: what it changes in the default settings, and what the
    /// error names.
    type Refused = (fn(&mut TrainConfig), &'static str);

    #[test]
    fn layers_parse_and_do_not_mix_with_the_mlp_settings() {
        let ok = TrainConfig {
            layers: "patchify 4:10, relu, dense 50, relu".into(),
            ..Default::default()
        };
        assert!(ok.validate().is_ok() && ok.uses_stack());
        assert!(!TrainConfig::default().uses_stack());
        let bad = TrainConfig {
            layers: "patchify 4".into(),
            ..Default::default()
        };
        let err = bad.validate().expect_err("no filter count").to_string();
        assert!(
            err.contains("layers") && err.contains("patchify F:N"),
            "{err}"
        );
        let mixed = TrainConfig {
            hidden: vec![50],
            ..ok.clone()
        };
        let err = mixed
            .validate()
            .expect_err("hidden with layers")
            .to_string();
        assert!(err.contains("hidden"), "{err}");
        let adam = TrainConfig {
            optimizer: OptimizerKind::Adam,
            ..ok.clone()
        };
        adam.validate()
            .expect("every optimiser trains a layer stack");
        let back = TrainConfig::from_toml(&ok.to_toml()).expect("round trip");
        assert_eq!(back.layers, ok.layers);
    }

    #[test]
    fn defaults_are_valid_and_roundtrip_through_toml() {
        let c = TrainConfig::default();
        c.validate().unwrap();
        let back = TrainConfig::from_toml(&c.to_toml()).unwrap();
        assert_eq!(back, c);
    }

    #[test]
    fn out_of_range_values_name_the_setting() {
        let bad: [Refused; 9] = [
            (|c| c.batch = 0, "batch"),
            (|c| c.eta = -1.0, "eta"),
            (|c| c.flip = 2.0, "flip"),
            (|c| c.hidden = vec![50, 0], "hidden"),
            (|c| c.lambda = f64::NAN, "lambda"),
            (|c| c.dropout = 1.0, "dropout"),
            (|c| c.momentum = 1.5, "momentum"),
            (|c| c.beta2 = -0.1, "beta2"),
            (|c| c.threads = Some(0), "threads"),
        ];
        for (change, name) in bad {
            let mut c = TrainConfig::default();
            change(&mut c);
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
            let mut c: TrainConfig = t.try_into().unwrap();
            if c.validate().is_ok() {
                // The points' settings are checked only for data in the plane.
                c.dataset = crate::data::DatasetKind::Spiral;
            }
            let err = c.validate().unwrap_err().to_string();
            assert!(err.starts_with(s.key), "{err}");
        }
    }

    /// A config.toml written before label smoothing, counted cycles and translations
    /// existed loads, with all three off.
    #[test]
    fn old_config_files_load_without_the_new_keys() {
        let old = "epochs = 12\nbatch = 100\neta = 0.001\nlambda = 0.005\nloss = \"ce\"\n\
                   schedule = \"cyclic\"\neta_min = 1e-5\neta_max = 0.1\nhalf_cycle = 980\n\
                   flip = 0.0\nhidden = [50]\n";
        let c = TrainConfig::from_toml(old).unwrap();
        assert_eq!(
            (c.label_smoothing, c.cycles, c.cycle_growth, c.translate),
            (0.0, 0, 1.0, 0)
        );
        c.validate().unwrap();
        let new = TrainConfig::from_toml(
            "schedule = \"cyclic\"\ncycles = 3\ncycle_growth = 2.0\ntranslate = 4\nlabel_smoothing = 0.1",
        )
        .unwrap();
        assert_eq!(
            (
                new.label_smoothing,
                new.cycles,
                new.cycle_growth,
                new.translate
            ),
            (0.1, 3, 2.0, 4)
        );
        new.validate().unwrap();
    }

    /// Wrong values of the new settings are named with the value and what is allowed.
    #[test]
    fn new_settings_validate_with_clear_messages() {
        let cases: [Refused; 5] = [
            (
                |c| c.label_smoothing = 1.0,
                "label_smoothing = 1 is out of range: 0 to 0.99",
            ),
            (
                |c| (c.label_smoothing, c.loss) = (0.1, LossKind::Svm),
                "label_smoothing = 0.1 is out of range: 0 with the SVM loss",
            ),
            (
                |c| c.cycles = 3,
                "cycles = 3 is out of range: 0 unless schedule = cyclic",
            ),
            (
                |c| (c.schedule, c.cycles, c.cycle_growth) = (ScheduleKind::Cyclic, 40, 2.0),
                "cycles = 40 is out of range: cycles of at most 1e8 steps in all",
            ),
            (
                |c| c.translate = 17,
                "translate = 17 is out of range: 0 to 16",
            ),
        ];
        for (change, want) in cases {
            let mut c = TrainConfig::default();
            change(&mut c);
            let err = c.validate().unwrap_err().to_string();
            assert!(err.starts_with(want), "{err}");
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
            let e = parse_hidden(junk).unwrap_err().to_string();
            assert!(
                e.starts_with("hidden layers") && e.contains("allowed"),
                "{junk}: {e}"
            );
        }
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let err = TrainConfig::from_toml("etaa = 0.1")
            .unwrap_err()
            .to_string();
        assert!(err.contains("etaa"), "{err}");
    }

    #[test]
    fn a_toml_error_carries_its_line() {
        let err = TrainConfig::from_toml("eta = 0.1\n\nlamda = 0.5\n").unwrap_err();
        assert!(
            matches!(&err, ConfigError::Toml { line: Some(3), message } if message.contains("lamda")),
            "{err:?}"
        );
        assert!(err.to_string().starts_with("line 3: "), "{err}");
        let wrong_type = TrainConfig::default()
            .with_overrides(&toml::toml! { epochs = "ten" })
            .unwrap_err();
        assert!(
            matches!(&wrong_type, ConfigError::Toml { line: None, .. }),
            "{wrong_type:?}"
        );
        let out_of_range = TrainConfig::default()
            .with_overrides(&toml::toml! { eta = -1.0 })
            .unwrap_err();
        assert!(
            matches!(out_of_range, ConfigError::OutOfRange { name: "eta", .. }),
            "the range check names its setting"
        );
    }
}

#[cfg(test)]
mod words_tests {
    use super::*;

    #[test]
    fn no_label_is_a_code_name() {
        let codes = code_names();
        assert!(codes.contains(&"Ce".to_string()));
        fn labels<T: Words>() -> Vec<&'static str> {
            T::all().iter().map(|v| v.label()).collect()
        }
        let all: Vec<&str> = [
            labels::<LossKind>(),
            labels::<Activation>(),
            labels::<InitKind>(),
            labels::<ScheduleKind>(),
            labels::<DatasetKind>(),
            labels::<SplitKind>(),
            labels::<Preprocess>(),
            labels::<OptimizerKind>(),
        ]
        .concat();
        for l in &all {
            assert!(!codes.iter().any(|c| c == l), "{l} is a code name");
        }
        assert!(all.contains(&"Binary cross-entropy (sigmoid)"));
        assert!(all.contains(&"Fashion-MNIST"));
    }

    #[test]
    fn the_engine_names_choices_with_the_same_words() {
        use crate::train::{RunSettings, TrainConfig};
        let s = RunSettings::new(TrainConfig {
            loss: LossKind::Svm,
            hidden: vec![50],
            activation: Activation::Sigmoid,
            schedule: ScheduleKind::Exp,
            ..Default::default()
        });
        let title = s.title();
        for words in [
            "Multiclass SVM (hinge)",
            "Logistic sigmoid",
            "exponential decay",
        ] {
            assert!(title.contains(words), "{title}");
        }
        assert_eq!(s.setting_text("loss"), LossKind::Svm.label());
        assert_eq!(s.setting_text("dataset"), "CIFAR-10");
        assert_eq!(s.setting_text("init"), InitKind::Gaussian.label());
        assert_eq!(s.setting_text("schedule"), "Exponential decay");
        assert_eq!(s.setting_text("optimizer"), OptimizerKind::Sgd.label());
        assert_eq!(s.setting_text("hidden"), "50");
    }
}
